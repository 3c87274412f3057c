//! Edges that cannot reach a cell's output are not computed: the logits equal those of the
//! full network (every edge computed, as NAS-Bench-201's reference does), in both BatchNorm
//! modes, on architectures with such edges.

use robbench_core::data::Dataset;
use robbench_core::model::Taps;
use robbench_core::space::{Op, Space};
use robbench_core::train::init;
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
