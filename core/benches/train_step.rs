//! One PGD-7 adversarial-training step at batch 256 on CIFAR-shaped images (3x32x32, 10
//! classes), CPU: robbench against the same step in PyTorch eager with torchattacks' PGD, in the
//! same run and on the same architecture. Reports images per second and the ratio.
//!
//! Run: `make bench` (needs the reference venv: ROBBENCH_PYTHON).

use std::process::Command;
use std::time::Instant;

use robbench_core::data::Dataset;
use robbench_core::space::Space;
use robbench_core::train::{adversarial_step, init, trainables, Protocol};
use tch::{Device, Kind, Tensor};

const ARCH: i64 = 2581; // the benchmark's most robust CIFAR-10 cell: five 3x3 convolutions
const BATCH: i64 = 256;
const STEPS: usize = 3;

fn main() {
    let threads = tch::get_num_threads();
    let cell = Space::get().cell(ARCH).unwrap();
    let (vs, net) = init(&cell, Dataset::Cifar10, 0, Device::Cpu);
    let params = trainables(&vs);
    let mut buffers: Vec<Option<Tensor>> = params.iter().map(|_| None).collect();
    let p = Protocol::paper();
    let x = Tensor::rand([BATCH, 3, 32, 32], (Kind::Float, Device::Cpu));
    let y = Tensor::randint(10, [BATCH], (Kind::Int64, Device::Cpu));
    adversarial_step(&net, &params, &mut buffers, &x, &y, &p, (0.01, 0.9)); // warm-up
    let t = Instant::now();
    for _ in 0..STEPS {
        adversarial_step(&net, &params, &mut buffers, &x, &y, &p, (0.01, 0.9));
    }
    let ours = (STEPS as i64 * BATCH) as f64 / t.elapsed().as_secs_f64();

    let py = std::env::var("ROBBENCH_PYTHON")
        .expect("ROBBENCH_PYTHON is not set: run through `make bench`");
    let out = Command::new(py)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/python/train_step_bench.py"))
        .args([
            Space::get().cell(ARCH).unwrap().to_string(),
            BATCH.to_string(),
            STEPS.to_string(),
            threads.to_string(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let theirs: f64 = String::from_utf8(out.stdout).unwrap().trim().parse().unwrap();
    println!(
        "PGD-7 adversarial training step, batch {BATCH}, 3x32x32, arch {ARCH}, CPU, {threads} threads: \
         robbench {ours:.1} img/s, PyTorch eager + torchattacks {theirs:.1} img/s, ratio {:.2}",
        ours / theirs
    );
}
