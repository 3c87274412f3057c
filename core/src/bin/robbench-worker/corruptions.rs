//! `robbench-worker corruptions`: accuracy of a trained network on CIFAR-10-C / CIFAR-100-C,
//! per corruption and severity, written as JSON to `--out` (atomically).

use std::path::PathBuf;

use anyhow::{bail, Result};
use robbench_core::data::Dataset;
use robbench_core::space::Space;
use robbench_core::{attack, checkpoint, corruptions, train};
use tch::Kind;

use crate::parse_device;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long)]
    arch: i64,
    #[arg(long)]
    dataset: String,
    #[arg(long)]
    checkpoint: PathBuf,
    /// The CIFAR-10-C (or -100-C) folder
    #[arg(long)]
    data_dir: PathBuf,
    #[arg(long, value_delimiter = ',', required = true)]
    corruptions: Vec<String>,
    #[arg(long, value_delimiter = ',', required = true)]
    severities: Vec<i64>,
    #[arg(long)]
    n_eval: Option<i64>,
    #[arg(long, default_value = "auto")]
    device: String,
    #[arg(long)]
    threads: Option<i32>,
    #[arg(long)]
    out: PathBuf,
}

pub fn run(a: Args) -> Result<bool> {
    let cell = Space::get().cell(a.arch)?;
    let dataset = Dataset::parse(&a.dataset)?;
    if !matches!(dataset, Dataset::Cifar10 | Dataset::Cifar100) {
        bail!("corruption benchmarks exist for cifar10 and cifar100, not {}", dataset.name());
    }
    let device = parse_device(&a.device)?;
    if let Some(t) = a.threads {
        tch::set_num_threads(t);
    }
    let (mut vs, net) = train::init(&cell, dataset, 0, device);
    checkpoint::load(&mut vs, &a.checkpoint)?;
    let mut rows = Vec::new();
    for c in &a.corruptions {
        for &s in &a.severities {
            let split = corruptions::load(&a.data_dir, c, s, a.n_eval)?;
            let top = split.labels.max().int64_value(&[]);
            if top >= dataset.num_classes() || split.labels.min().int64_value(&[]) < 0 {
                bail!("{}: labels outside 0..{} for {}", a.data_dir.join("labels.npy").display(), dataset.num_classes() - 1, dataset.name());
            }
            let n = split.len();
            let mut correct = 0;
            let mut start = 0;
            while start < n {
                let len = 500.min(n - start);
                let (x, y) = split.range(start, len, device);
                correct += attack::correct(&net, &x, &y.to_kind(Kind::Int64));
                start += len;
            }
            rows.push(serde_json::json!({"corruption": c, "severity": s, "accuracy": correct as f64 / n as f64, "n_eval": n}));
        }
    }
    crate::write_json(&a.out, &serde_json::to_value(&rows)?)?;
    Ok(true)
}
