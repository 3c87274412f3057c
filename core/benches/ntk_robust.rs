//! Seconds per architecture for the robust NTK score (ntk_robust: PGD-7 at 8/255 in training
//! mode, then the NTK Jacobian of the attacked batch, its kernel and smallest eigenvalue) on
//! digits-shaped images (3x8x8, 10 classes), batch 32 (the setting of sql/fill/ntk_sample.sql;
//! 3x32x32 at batch 64 costs minutes per architecture on a small CPU), CPU: robbench against a
//! PyTorch eager reference of the same computation (TE-NAS's per-image backward), in the same
//! run, on the same architectures and thread count.
//!
//! Run: `make bench` (needs the reference venv: ROBBENCH_PYTHON).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use robbench_core::data::Dataset;
use robbench_core::scores::{self, Attack, Batch, Config, Score, Subject};
use robbench_core::space::Space;
use robbench_core::train::init;
use tch::{Device, Kind, Tensor};

/// A dense cell (five 3x3 convolutions), a mixed one, and a light one.
const ARCHS: [i64; 3] = [2581, 1000, 3];
const BATCH: i64 = 32;
const SIDE: i64 = 8;

fn main() {
    let threads = tch::get_num_threads();
    let space = Space::get();
    let cfg = Config {
        score: Score::NtkRobust,
        eps: Some(8.0 / 255.0),
        attack: Attack::Pgd,
        beta: 0.5,
        train_mode: true,
    };
    let mut ours = Vec::new();
    for arch in ARCHS {
        let cell = space.cell(arch).unwrap();
        let (vs, net) = init(&cell, Dataset::Digits, 0, Device::Cpu);
        let x = Tensor::rand([BATCH, 3, SIDE, SIDE], (Kind::Float, Device::Cpu));
        let y = Tensor::randint(10, [BATCH], (Kind::Int64, Device::Cpu));
        let subject = Subject { cell: &cell, dataset: Dataset::Digits, vs: &vs, net: &net };
        let t = Instant::now();
        let mut batch = Batch::new(x, y);
        scores::prepare(&net, &cfg, &mut batch);
        let value = scores::compute(&subject, &cfg, &mut batch).unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert!(value.is_finite());
        ours.push(secs);
    }
    let args = [BATCH.to_string(), SIDE.to_string(), threads.to_string()].into_iter();
    let cells = ARCHS.iter().map(|&a| space.cell(a).unwrap().to_string());
    let theirs: Vec<f64> = common::python("ntk_bench.py", args.chain(cells))
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect();
    for ((arch, o), t) in ARCHS.iter().zip(&ours).zip(&theirs) {
        println!("ntk_robust, arch {arch}, batch {BATCH}, 3x{SIDE}x{SIDE}, CPU, {threads} threads: robbench {o:.2} s, PyTorch eager {t:.2} s, ratio {:.2}", t / o);
    }
    let (so, st): (f64, f64) = (ours.iter().sum(), theirs.iter().sum());
    println!("ntk_robust per architecture (mean of {}): robbench {:.2} s, PyTorch {:.2} s, speed ratio {:.2} (goal: at least 1)", ARCHS.len(), so / ARCHS.len() as f64, st / ARCHS.len() as f64, st / so);
}
