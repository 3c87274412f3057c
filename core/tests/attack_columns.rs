//! `evaluate` fills every accuracy column of the `metrics` table (robbench-vocab checks that
//! the columns are the attacks).

use robbench_core::data::{self, Dataset};
use robbench_core::evaluate::evaluate;
use robbench_core::space::Space;
use robbench_core::train::init;
use robbench_vocab::progress::Progress;
use robbench_vocab::{Attack, AttackKind};
use tch::Device;

#[test]
#[ignore = "full tier (make test): AutoAttack and Square at full strength, minutes"]
fn every_column_is_evaluated_and_the_minimum_norm_attacks_stay_below_clean() {
    let cell = Space::get().cell(2581).unwrap();
    let (_vs, net) = init(&cell, Dataset::Digits, 0, Device::Cpu);
    let eval = data::load(Dataset::Digits, None, false).unwrap();
    let e = evaluate(&net, &eval, Attack::ALL, Some(12), Device::Cpu, 500, 0, &Progress::hidden())
        .unwrap();
    assert_eq!(e.metrics.keys().copied().collect::<Vec<_>>(), Attack::ALL);
    assert_eq!(e.n_eval, Some(12));
    let clean = e.metrics[&Attack::Clean];
    for (a, v) in &e.metrics {
        assert!((0.0..=1.0).contains(v), "{a}: {v}");
        // These attack only what is classified correctly, so they cannot raise accuracy.
        if matches!(a.kind(), AttackKind::Apgd | AttackKind::AutoAttack | AttackKind::Square) {
            assert!(*v <= clean, "{a} {v} above clean {clean}");
        }
    }
}
