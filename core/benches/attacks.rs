//! Images per second for PGD-20 and for AutoAttack standard at 8/255, CPU: robbench against
//! torchattacks (PyTorch eager) in the same run, on the same network, images and thread count,
//! with the robust accuracy each side reached.
//!
//! - Digits: a network (DIGITS_ARCH) trained here for a few epochs on the digits set (so robust
//!   accuracy means something), attacked on the 359 evaluation images (3x8x8): PGD-20 and AutoAttack
//!   (APGD-CE and APGD-T with 100 steps, FAB-T with 100 steps and 9 targets, Square with 5,000
//!   queries; torchattacks' attacks composed the standard way).
//! - CIFAR-shaped: PGD-20 on 256 random 3x32x32 images and a freshly initialised network (the
//!   throughput of the real input size; AutoAttack there costs hours on a small CPU).
//!
//! Run: `make bench` (needs the reference venv: ROBBENCH_PYTHON).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::trained_digits;
use robbench_core::attack::{self, AutoAttack, Pgd};
use robbench_core::data::Dataset;
use robbench_core::space::Space;
use robbench_core::train::init;
use tch::{Device, Kind, Tensor};

/// Digits: a light cell (1x1 convolutions and pooling), so that AutoAttack on both sides takes
/// minutes; CIFAR-shaped: 2581, five 3x3 convolutions, the most robust CIFAR-10 cell.
const DIGITS_ARCH: i64 = 3457;
const CIFAR_ARCH: i64 = 2581;
const CIFAR_BATCH: i64 = 256;
const EPS: f64 = 8.0 / 255.0;

fn reference(args: &[String]) -> Vec<f64> {
    common::python("attack_bench.py", args).split_whitespace().map(|s| s.parse().unwrap()).collect()
}

fn main() {
    let threads = tch::get_num_threads();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (t, x, y) = trained_digits(dir, DIGITS_ARCH, i64::MAX);
    let n = x.size()[0] as f64;

    tch::manual_seed(0);
    let start = Instant::now();
    let adv = Pgd::eval(EPS).run(&t.net, &x, &y);
    let pgd_seconds = start.elapsed().as_secs_f64();
    let pgd_correct = attack::correct(&t.net, &adv, &y);
    let start = Instant::now();
    let aa = AutoAttack::standard(EPS).run(&t.net, &x, &y);
    let aa_seconds = start.elapsed().as_secs_f64();
    let aa_correct = attack::correct(&t.net, &aa.adv, &y);
    let theirs = reference(&[threads.to_string(), "digits".into(), dir.display().to_string()]);
    let report = |name: &str, ours: f64, ours_correct: i64, theirs: f64, theirs_correct: f64| {
        println!(
            "{name}, digits ({n} images, 3x8x8), CPU, {threads} threads: robbench {:.1} img/s (robust {:.4}), torchattacks {:.1} img/s (robust {:.4}), speed ratio {:.2} (goal: at least 1.5)",
            n / ours,
            ours_correct as f64 / n,
            n / theirs,
            theirs_correct / n,
            theirs / ours
        )
    };
    report("PGD-20 8/255", pgd_seconds, pgd_correct, theirs[0], theirs[1]);
    report("AutoAttack standard 8/255", aa_seconds, aa_correct, theirs[2], theirs[3]);
    println!("AutoAttack stages (robust after each): {:?}", aa.stages);

    let cell = Space::get().cell(CIFAR_ARCH).unwrap();
    let (_vs, net) = init(&cell, Dataset::Cifar10, 0, Device::Cpu);
    let x = Tensor::rand([CIFAR_BATCH, 3, 32, 32], (Kind::Float, Device::Cpu));
    let y = Tensor::randint(10, [CIFAR_BATCH], (Kind::Int64, Device::Cpu));
    let _ = Pgd::eval(EPS).run(&net, &x.narrow(0, 0, 8), &y.narrow(0, 0, 8)); // warm-up
    let start = Instant::now();
    let _ = Pgd::eval(EPS).run(&net, &x, &y);
    let ours = start.elapsed().as_secs_f64();
    let theirs = reference(&[
        threads.to_string(),
        "cifar".into(),
        cell.to_string(),
        CIFAR_BATCH.to_string(),
    ])[0];
    println!(
        "PGD-20 8/255, CIFAR-shaped ({CIFAR_BATCH} random images, 3x32x32), CPU, {threads} threads: robbench {:.1} img/s, torchattacks {:.1} img/s, speed ratio {:.2} (goal: at least 1.5)",
        CIFAR_BATCH as f64 / ours,
        CIFAR_BATCH as f64 / theirs,
        theirs / ours
    );
}
