//! The network against an independent PyTorch implementation (tests/python/nb201.py): weights
//! exported by robbench load strictly into PyTorch and give the same logits, and the reverse.

mod common;

use std::path::PathBuf;

use robbench_core::checkpoint;
use robbench_core::data::Dataset;
use robbench_core::space::Space;
use robbench_core::train::init;
use tch::nn::ModuleT;
use tch::{Device, Kind, Tensor};

#[test]
#[ignore = "full tier (make test): needs the Python venv (PyTorch)"]
fn logits_match_pytorch_both_ways_for_24_architectures() {
    let space = Space::get();
    let tmp = tempfile::tempdir().unwrap();
    // Spread over the space, plus cells with zero nodes and pure pooling / convolution.
    let mut archs: Vec<i64> = (0..20).map(|k| k * 781 + 13).collect();
    for s in [
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|none~1|nor_conv_3x3~2|",
        "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
    ] {
        archs.push(space.index_of(s).unwrap() as i64);
    }
    let datasets = [Dataset::Cifar10, Dataset::Cifar100, Dataset::ImageNet16, Dataset::Digits];
    let mut jobs: Vec<(PathBuf, i64, Dataset)> = Vec::new();
    for (k, &arch) in archs.iter().enumerate() {
        let ds = datasets[k % datasets.len()];
        let dir = tmp.path().join(format!("a{arch}"));
        std::fs::create_dir_all(&dir).unwrap();
        let cell = space.cell(arch).unwrap();
        let (vs, net) = init(&cell, ds, arch as u64, Device::Cpu);
        // Trained-looking BatchNorm statistics, so eval mode is really exercised.
        tch::no_grad(|| {
            for (name, mut t) in vs.variables() {
                if name.ends_with("running_mean") {
                    let _ = t.uniform_(-0.3, 0.3);
                } else if name.ends_with("running_var") {
                    let _ = t.uniform_(0.5, 1.5);
                }
            }
        });
        let r = ds.resolution();
        let x = Tensor::rand([6, 3, r, r], (Kind::Float, Device::Cpu));
        let logits = net.forward_t(&x, false);
        checkpoint::save(&vs, &dir.join("robbench.safetensors"), 0).unwrap();
        Tensor::write_safetensors(&[("x", &x)], dir.join("inputs.safetensors")).unwrap();
        Tensor::write_safetensors(&[("logits", &logits)], dir.join("robbench_logits.safetensors"))
            .unwrap();
        let n = ds.normalization();
        let join = |v: [f64; 3]| v.map(|x| format!("{x:.17}")).join(",");
        std::fs::write(
            dir.join("arch.txt"),
            format!("{cell}\n{}\n{}\n{}\n", ds.num_classes(), join(n.mean), join(n.std)),
        )
        .unwrap();
        jobs.push((dir, arch, ds));
    }
    let report = common::python("model_parity.py", jobs.iter().map(|j| j.0.clone()));
    let mut worst: f64 = 0.0;
    for line in report.lines() {
        let diff: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(diff < 1e-4, "robbench -> PyTorch: {line}");
        worst = worst.max(diff);
    }
    assert_eq!(report.lines().count(), jobs.len());
    // The reverse: PyTorch's weights (its own init, random BN statistics) in robbench.
    for (dir, arch, ds) in &jobs {
        let cell = space.cell(*arch).unwrap();
        let (mut vs, net) = init(&cell, *ds, 999, Device::Cpu);
        checkpoint::load(&mut vs, &dir.join("pytorch.safetensors")).unwrap();
        let x = Tensor::read_safetensors(dir.join("inputs.safetensors")).unwrap().remove(0).1;
        let theirs =
            Tensor::read_safetensors(dir.join("pytorch_logits.safetensors")).unwrap().remove(0).1;
        let diff = (net.forward_t(&x, false) - theirs).abs().max().double_value(&[]);
        assert!(diff < 1e-4, "PyTorch -> robbench, arch {arch}: {diff}");
        worst = worst.max(diff);
    }
    eprintln!(
        "max abs logit difference over {} architectures, both directions: {worst:e}",
        jobs.len()
    );
}

#[test]
fn checkpoint_of_another_architecture_is_refused() {
    let space = Space::get();
    let tmp = tempfile::tempdir().unwrap();
    let (vs, _) = init(&space.cell(0).unwrap(), Dataset::Cifar10, 0, Device::Cpu);
    let path = tmp.path().join("w.safetensors");
    checkpoint::save(&vs, &path, 3).unwrap();
    let (mut other, _) = init(&space.cell(3).unwrap(), Dataset::Cifar10, 0, Device::Cpu);
    let err = checkpoint::load(&mut other, &path).unwrap_err().to_string();
    assert!(err.contains("belongs to no layer"), "{err}");
    let (mut c100, _) = init(&space.cell(0).unwrap(), Dataset::Cifar100, 0, Device::Cpu);
    let err = checkpoint::load(&mut c100, &path).unwrap_err().to_string();
    assert!(err.contains("classifier") && err.contains("shape"), "{err}");
}
