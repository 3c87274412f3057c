//! The PGD-7 adversarial-training step (eps 8/255, step 2/255, then a train-mode SGD step), CPU:
//!
//! 1. robbench against PyTorch eager with torchattacks' PGD, in the same run, on 10 random
//!    unique architectures (CIFAR shapes, fp32): images per second, the mean and worst ratio;
//! 2. three runs fused into one network against the same three runs one after another, on
//!    digits and on CIFAR shapes;
//! 3. bf16 against fp32.
//!
//! Run: `make bench` (needs the reference venv: ROBBENCH_PYTHON), or one part:
//! `cargo bench -p robbench-core --bench train_step -- pytorch|fused|arithmetic`.
//! ROBBENCH_BENCH_BATCH sets the CIFAR batch (default 64; the protocol's is 256).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use robbench_core::data::Dataset;
use robbench_core::model::{self, Head, Network};
use robbench_core::rng::Rng;
use robbench_core::space::{Cell, Space};
use robbench_core::train::{adversarial_step, init, trainables, Dtype, Protocol};
use tch::{nn, Device, Kind, Tensor};

const STEPS: usize = 2;

/// A network of `runs` runs of `cell` (one: the plain network) on `dataset`, computing as
/// `train` does on CPU.
fn build(cell: &Cell, dataset: Dataset, runs: usize) -> (nn::VarStore, Network) {
    let (vs, mut net) = if runs == 1 {
        init(cell, dataset, 0, Device::Cpu)
    } else {
        let head = Head { num_classes: dataset.num_classes(), norm: dataset.normalization() };
        let vs = nn::VarStore::new(Device::Cpu);
        let net = model::network_of_runs(&vs.root(), cell, &vec![head; runs]);
        (vs, net)
    };
    net.tune_for(Device::Cpu);
    (vs, net)
}

/// Images per second of the training step on `net` (each run's batch of `batch` images).
fn images_per_second(vs: &nn::VarStore, net: &Network, dataset: Dataset, batch: i64) -> f64 {
    let runs = net.heads().len() as i64;
    let r = dataset.resolution();
    let p = Protocol::paper();
    let params = trainables(vs);
    let mut buffers: Vec<Option<Tensor>> = params.iter().map(|_| None).collect();
    let x = Tensor::rand([batch, 3 * runs, r, r], (Kind::Float, Device::Cpu));
    let ys: Vec<Tensor> = (0..runs)
        .map(|_| Tensor::randint(dataset.num_classes(), [batch], (Kind::Int64, Device::Cpu)))
        .collect();
    let noise = Tensor::rand_like(&x) * (2.0 * p.train_eps) - p.train_eps;
    let mut step =
        || adversarial_step(net, &params, &mut buffers, &x, &ys, Some(&noise), &p, (0.01, 0.9));
    step(); // warm-up
    let t = Instant::now();
    for _ in 0..STEPS {
        step();
    }
    (STEPS as i64 * batch * runs) as f64 / t.elapsed().as_secs_f64()
}

fn main() {
    let threads = tch::get_num_threads();
    let batch: i64 =
        std::env::var("ROBBENCH_BENCH_BATCH").ok().and_then(|b| b.parse().ok()).unwrap_or(64);
    // cargo passes `--bench`; a word picks one part.
    let only: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let part = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let space = Space::get();
    if part("pytorch") {
        against_pytorch(space, batch, threads);
    }
    let cell = space.cell(2581).unwrap();
    if part("fused") {
        fused(&cell, batch);
    }
    if part("arithmetic") {
        arithmetic(&cell, batch);
    }
}

fn against_pytorch(space: &Space, batch: i64, threads: i32) {
    let unique = space.representatives();
    let mut rng = Rng::new(2024);
    let archs: Vec<usize> =
        (0..10).map(|_| unique[rng.below(unique.len() as u64) as usize]).collect();

    println!("# 1. fp32 step against PyTorch eager + torchattacks: batch {batch}, 3x32x32, CPU, {threads} threads");
    let ours: Vec<f64> = archs
        .iter()
        .map(|&a| {
            let cell = space.cell(a as i64).unwrap();
            let (vs, net) = build(&cell, Dataset::Cifar10, 1);
            images_per_second(&vs, &net, Dataset::Cifar10, batch)
        })
        .collect();
    let args = [batch.to_string(), STEPS.to_string(), threads.to_string()].into_iter();
    let cells = archs.iter().map(|&a| space.cell(a as i64).unwrap().to_string());
    let theirs: Vec<f64> = common::python("train_step_bench.py", args.chain(cells))
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    let ratios: Vec<f64> = ours.iter().zip(&theirs).map(|(o, t)| o / t).collect();
    println!("| arch | robbench img/s | PyTorch img/s | ratio |\n| --- | --- | --- | --- |");
    for ((a, o), (t, r)) in archs.iter().zip(&ours).zip(theirs.iter().zip(&ratios)) {
        println!("| {a} | {o:.1} | {t:.1} | {r:.2} |");
    }
    let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
    let worst = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    println!("mean ratio {mean:.2}, worst {worst:.2}\n");
}

fn fused(cell: &Cell, batch: i64) {
    println!("# 2. three runs fused against three separate runs (fp32, arch 2581)");
    for (dataset, b) in [(Dataset::Digits, 256), (Dataset::Cifar10, batch)] {
        let (vs, net) = build(cell, dataset, 3);
        let fused = images_per_second(&vs, &net, dataset, b);
        let (vs, net) = build(cell, dataset, 1);
        let separate = images_per_second(&vs, &net, dataset, b);
        println!(
            "{dataset} batch {b}: fused {fused:.1} img/s, separate {separate:.1} img/s, ratio {:.2}",
            fused / separate
        );
    }
    println!();
}

fn arithmetic(cell: &Cell, batch: i64) {
    println!("# 3. ways of computing (arch 2581, CIFAR shapes, batch {batch})");
    let (vs, mut net) = build(cell, Dataset::Cifar10, 1);
    let mut measure = |dtype: Dtype, fold: bool, last: bool| {
        net.set_dtype(dtype);
        net.set_fold_batch_norm(fold);
        net.set_channels_last(last);
        images_per_second(&vs, &net, Dataset::Cifar10, batch)
    };
    let plain = measure(Dtype::Fp32, false, false);
    let fold = measure(Dtype::Fp32, true, false);
    let last = measure(Dtype::Fp32, false, true);
    let both = measure(Dtype::Fp32, true, true);
    let bf16 = measure(Dtype::Bf16, true, true);
    println!("| fp32 NCHW | + BatchNorm folded in the attack steps | channels-last | both (train's default) | bf16, both |");
    println!("| --- | --- | --- | --- | --- |");
    println!(
        "| {plain:.1} img/s | {fold:.1} ({:.2}x) | {last:.1} ({:.2}x) | {both:.1} ({:.2}x) | {bf16:.1} ({:.2}x of fp32 both) |",
        fold / plain,
        last / plain,
        both / plain,
        bf16 / both
    );
}
