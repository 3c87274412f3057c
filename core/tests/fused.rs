//! Runs trained together as one fused network equal the same runs trained one by one: weights,
//! BatchNorm statistics and curves, on digits (three seeds, standard and adversarial training)
//! and on CIFAR-shaped images of two data sets with different class counts. A fused group
//! stopped after an epoch resumes to the same weights, and images of other sizes are refused.

use std::collections::HashMap;
use std::path::Path;

use robbench_core::data::{self, Dataset, Split};
use robbench_core::space::Space;
use robbench_core::train::{self, Protocol, RunSpec, TrainSpec, Trained};
use tch::{Device, Kind, Tensor};

/// libtorch's generator (initialisation) is process-wide: one test at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn train_runs(arch: i64, p: &Protocol, runs: Vec<RunSpec>) -> Vec<Trained> {
    let spec = TrainSpec {
        cell: Space::get().cell(arch).unwrap(),
        protocol: p,
        device: Device::Cpu,
        runs,
        stop: Default::default(),
    };
    train::train(&spec, |_| {}).unwrap().unwrap()
}

/// How far apart two runs' variables are: the norm of the difference of all of them (weights,
/// BatchNorm parameters and statistics) over the norm of the first run's.
fn rel_diff(a: &Trained, b: &Trained) -> f64 {
    let va: HashMap<String, Tensor> = a.vs.variables();
    let vb: HashMap<String, Tensor> = b.vs.variables();
    assert_eq!(va.len(), vb.len());
    let (mut diff, mut norm) = (0.0, 0.0);
    for (name, x) in &va {
        let y = &vb[name];
        assert_eq!(x.size(), y.size(), "{name}");
        diff += (x - y).square().sum(Kind::Double).double_value(&[]);
        norm += x.square().sum(Kind::Double).double_value(&[]);
    }
    (diff / norm).sqrt()
}

/// On CPU each run's share of a fused convolution is computed on its own (see `model`), so a
/// fused run is bit-identical to the same run trained alone: weights, BatchNorm statistics and
/// curves (but the seconds).
fn assert_same(fused: &[Trained], alone: &[Trained]) {
    for (i, (f, a)) in fused.iter().zip(alone).enumerate() {
        let d = rel_diff(f, a);
        assert_eq!(d, 0.0, "run {i}: fused and alone differ by {d:e} (relative)");
        assert_eq!(f.curves.len(), a.curves.len());
        for (cf, ca) in f.curves.iter().zip(&a.curves) {
            assert_eq!(
                (cf.epoch, cf.lr, cf.train_loss, cf.train_adv_acc),
                (ca.epoch, ca.lr, ca.train_loss, ca.train_adv_acc),
                "run {i}"
            );
        }
    }
}

fn digits_runs<'a>(split: &'a Split, dirs: &'a [&'a Path]) -> Vec<RunSpec<'a>> {
    dirs.iter()
        .enumerate()
        .map(|(i, dir)| RunSpec { dataset: Dataset::Digits, seed: i as u64, train: split, dir })
        .collect()
}

#[test]
fn three_seeds_fused_equal_three_separate_runs() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let split = data::load(Dataset::Digits, None, true).unwrap();
    for attack in [train::TrainAttack::None, train::TrainAttack::Pgd] {
        let p = Protocol {
            epochs: 2,
            batch_size: 64,
            n_train: Some(256),
            train_attack: attack,
            train_steps: 3,
            ..Protocol::paper()
        };
        let root = tmp.path().join(attack.name());
        let f: Vec<_> = (0..3).map(|i| root.join(format!("fused{i}"))).collect();
        let s: Vec<_> = (0..3).map(|i| root.join(format!("alone{i}"))).collect();
        let fr: Vec<&Path> = f.iter().map(|p| p.as_path()).collect();
        // Arch 1000 has a dead edge and a none edge, so pruning takes part too.
        let fused = train_runs(1000, &p, digits_runs(&split, &fr));
        let alone: Vec<Trained> = s
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let run =
                    RunSpec { dataset: Dataset::Digits, seed: i as u64, train: &split, dir: d };
                train_runs(1000, &p, vec![run]).pop().unwrap()
            })
            .collect();
        assert_same(&fused, &alone);
        // The runs really are different runs, so equality is not trivial.
        assert!(rel_diff(&alone[0], &alone[1]) > 0.01);
        // Each fused run's folder holds a resume state and weights of its own network's shape.
        for d in &f {
            let w = Tensor::read_safetensors(d.join("weights.safetensors")).unwrap();
            let stem = w.iter().find(|(n, _)| n == "stem.0.weight").unwrap();
            assert_eq!(stem.1.size(), [16, 3, 3, 3]);
            assert!(d.join("resume.safetensors").exists());
        }
    }
}

/// CIFAR-shaped random images, labels below `classes`.
fn fake_split(n: i64, classes: i64, seed: i64) -> Split {
    tch::manual_seed(seed);
    Split {
        images: Tensor::randint(256, [n, 3, 32, 32], (Kind::Uint8, Device::Cpu)),
        labels: Tensor::randint(classes, [n], (Kind::Int64, Device::Cpu)),
        scale: 255.0,
    }
}

#[test]
fn data_sets_with_other_class_counts_fuse() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let c10 = fake_split(64, 10, 1);
    let c100 = fake_split(64, 100, 2);
    let p = Protocol {
        epochs: 1,
        batch_size: 32,
        train_attack: train::TrainAttack::None,
        ..Protocol::paper()
    };
    let d: Vec<_> = (0..4).map(|i| tmp.path().join(i.to_string())).collect();
    let runs = |a: usize, b: usize| {
        vec![
            RunSpec { dataset: Dataset::Cifar10, seed: 0, train: &c10, dir: &d[a] },
            RunSpec { dataset: Dataset::Cifar100, seed: 0, train: &c100, dir: &d[b] },
        ]
    };
    let fused = train_runs(2581, &p, runs(0, 1));
    let mut alone = Vec::new();
    for run in runs(2, 3) {
        alone.push(train_runs(2581, &p, vec![run]).pop().unwrap());
    }
    assert_eq!(fused[1].vs.variables()["classifier.weight"].size(), [100, 64]);
    assert_same(&fused, &alone);
}

#[test]
fn images_of_other_sizes_do_not_fuse() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let digits = data::load(Dataset::Digits, None, true).unwrap();
    let c10 = fake_split(64, 10, 1);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let spec = TrainSpec {
        cell: Space::get().cell(1).unwrap(),
        protocol: &Protocol { epochs: 1, ..Protocol::paper() },
        device: Device::Cpu,
        runs: vec![
            RunSpec { dataset: Dataset::Digits, seed: 0, train: &digits, dir: &a },
            RunSpec { dataset: Dataset::Cifar10, seed: 0, train: &c10, dir: &b },
        ],
        stop: Default::default(),
    };
    let err = train::train(&spec, |_| {}).err().unwrap().to_string();
    assert!(err.contains("differ in size"), "{err}");
    assert!(!a.join("resume.safetensors").exists() && !b.join("resume.safetensors").exists());
}

#[test]
fn a_fused_group_resumes_where_each_run_stopped() {
    let _serial = serial();
    // Two epochs at once, against one epoch, then the second from the resume files.
    let tmp = tempfile::tempdir().unwrap();
    let split = data::load(Dataset::Digits, None, true).unwrap();
    let p2 = Protocol {
        epochs: 2,
        batch_size: 64,
        n_train: Some(128),
        train_attack: train::TrainAttack::None,
        ..Protocol::paper()
    };
    let d: Vec<_> = (0..4).map(|i| tmp.path().join(i.to_string())).collect();
    let whole = train_runs(1, &p2, digits_runs(&split, &[&d[0], &d[1]]));
    // The same group stopped (as Ctrl-C stops it) after the first epoch, then run again.
    let steps = 2; // 128 images / 64
    let mut seen = 0;
    let dirs = [d[2].as_path(), d[3].as_path()];
    let spec = TrainSpec {
        cell: Space::get().cell(1).unwrap(),
        protocol: &p2,
        device: Device::Cpu,
        runs: digits_runs(&split, &dirs),
        stop: Default::default(),
    };
    let stopped = train::train(&spec, |pr| {
        seen += 1;
        if pr.epoch == 0 && pr.step == steps {
            spec.stop.request();
        }
    })
    .unwrap();
    spec.stop.clear();
    assert!(stopped.is_none() && seen == steps);
    let resumed = train::train(&spec, |_| {}).unwrap().unwrap();
    for (w, r) in whole.iter().zip(&resumed) {
        assert_eq!(rel_diff(w, r), 0.0, "a resumed fused run differs from the whole one");
        assert_eq!(r.curves.len(), 2);
    }
}
