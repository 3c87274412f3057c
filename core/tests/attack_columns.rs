//! `train::evaluate` fills every accuracy column of the `metrics` table, and nothing else.

use robbench_core::data::{self, Dataset};
use robbench_core::space::Space;
use robbench_core::train::{self, init, ATTACKS};
use tch::Device;

#[test]
fn attacks_are_the_metrics_accuracy_columns() {
    let ddl = include_str!("../../schema/tables.sql");
    let metrics = &ddl[ddl.find("CREATE TABLE metrics").unwrap()..];
    let metrics = &metrics[..metrics.find(");").unwrap()];
    let columns: Vec<&str> = metrics.lines().filter(|l| l.contains(" DOUBLE CHECK")).map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(columns, ATTACKS);
}

#[test]
fn every_column_is_evaluated_and_the_minimum_norm_attacks_stay_below_clean() {
    let cell = Space::get().cell(2581).unwrap();
    let (_vs, net) = init(&cell, Dataset::Digits, 0, Device::Cpu);
    let eval = data::load(Dataset::Digits, None, false).unwrap();
    let attacks: Vec<String> = ATTACKS.iter().map(|a| a.to_string()).collect();
    let e = train::evaluate(&net, &eval, &attacks, Some(12), Device::Cpu, 500, 0).unwrap();
    let names: Vec<&str> = e.metrics.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ATTACKS);
    let get = |k: &str| e.metrics.iter().find(|(a, _)| a == k).unwrap().1;
    for (name, v) in &e.metrics {
        assert!((0.0..=1.0).contains(v), "{name}: {v}");
        // These attack only what is classified correctly, so they cannot raise accuracy.
        if ["apgd", "aa", "square"].iter().any(|p| name.starts_with(p)) {
            assert!(*v <= get("clean"), "{name} {v} above clean {}", get("clean"));
        }
    }
    let bad = train::evaluate(&net, &eval, &["aa9".to_string()], Some(4), Device::Cpu, 5, 0).unwrap_err();
    assert!(bad.to_string().contains("attack 'aa9' is not available"), "{bad}");
}
