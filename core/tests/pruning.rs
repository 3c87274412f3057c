//! Edges that cannot reach a cell's output are not computed: the logits equal those of the
//! full network (every edge computed, as NAS-Bench-201's reference does), in both BatchNorm
//! modes, on architectures with such edges.

use robbench_core::data::Dataset;
use robbench_core::model::Taps;
use robbench_core::space::{Op, Space};
use robbench_core::train::init;
use robbench_vocab::progress::Progress;
use tch::{Device, Kind, Tensor};

#[test]
fn pruned_logits_equal_the_full_networks() {
    let space = Space::get();
    let with_dead: Vec<i64> = (0..space.len() as i64)
        .filter(|&a| {
            let c = space.cell(a).unwrap();
            let live = c.live_edges();
            (0..6).any(|e| c.0[e] != Op::None && !live[e])
        })
        .step_by(997)
        .collect();
    assert!(with_dead.len() >= 4, "{with_dead:?}");
    tch::manual_seed(0);
    let x = Tensor::rand([6, 3, 8, 8], (Kind::Float, Device::Cpu));
    for arch in with_dead {
        let cell = space.cell(arch).unwrap();
        let (_vs, net) = init(&cell, Dataset::Digits, 1, Device::Cpu);
        for train in [false, true] {
            let pruned = net.forward_taps(&x, &mut Taps::mode(train));
            let full = net.forward_taps(&x, &mut Taps { all_edges: true, ..Taps::mode(train) });
            assert!(pruned.equal(&full), "arch {arch} ({cell}), train mode {train}");
        }
    }
}

/// A cell whose output no path from its input reaches leaves the logits independent of the
/// images: the attacks' input gradient is zero (libtorch leaves it undefined), not a crash.
#[test]
fn a_cell_cut_off_from_its_input_is_attacked_without_failing() {
    use robbench_core::data;
    use robbench_core::evaluate::evaluate;
    use robbench_vocab::Attack;
    let arch = Space::get().resolve("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|").unwrap();
    let cell = Space::get().cell(arch as i64).unwrap();
    let (_vs, net) = init(&cell, Dataset::Digits, 0, Device::Cpu);
    let split = data::load(Dataset::Digits, None, false).unwrap();
    let attacks = [Attack::Clean, Attack::Fgsm8, Attack::Pgd8, Attack::Apgd8];
    let e = evaluate(&net, &split, &attacks, Some(50), Device::Cpu, 50, 0, &Progress::hidden())
        .unwrap();
    // The network answers every image alike, and no attack can change that.
    let clean = e.metrics[&Attack::Clean];
    for a in attacks {
        assert_eq!(e.metrics[&a], clean, "{a}");
    }
}
