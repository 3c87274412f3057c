//! A run folder admits one trainer at a time.

use robbench_core::data::{self, Dataset};
use robbench_core::space::Space;
use robbench_core::train::{self, Protocol, RunSpec, TrainSpec};
use tch::Device;

#[test]
fn a_run_held_by_another_process_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let held = std::fs::File::create(tmp.path().join("lock")).unwrap();
    held.try_lock().unwrap();
    let protocol = Protocol { epochs: 1, n_train: Some(32), batch_size: 32, ..Protocol::paper() };
    let split = data::load(Dataset::Digits, None, true).unwrap();
    let spec = TrainSpec {
        cell: Space::get().cell(1).unwrap(),
        protocol: &protocol,
        device: Device::Cpu,
        runs: vec![RunSpec { dataset: Dataset::Digits, seed: 0, train: &split, dir: tmp.path() }],
        stop: Default::default(),
    };
    let err = train::train(&spec, |_| {}).err().expect("training a held run must fail");
    assert!(err.to_string().contains("being trained by another process"), "{err}");
    assert!(
        !tmp.path().join("resume.safetensors").exists(),
        "the refused trainer wrote a checkpoint"
    );
    drop(held);
    assert!(train::train(&spec, |_| {}).unwrap().is_some(), "once released, the run trains");
}
