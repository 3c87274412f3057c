//! `robbench-worker evaluate`: attacks a trained network from its checkpoint; writes the
//! accuracies as JSON to `--out` (atomically).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use robbench_core::data::{self, Dataset};
use robbench_core::space::Space;
use robbench_core::{checkpoint, train};

use crate::{evaluation_json, parse_device, write_json};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long)]
    arch: i64,
    #[arg(long)]
    dataset: String,
    #[arg(long)]
    checkpoint: PathBuf,
    /// Comma-separated metrics columns
    #[arg(long, default_value = "clean,fgsm3,fgsm8,pgd3,pgd8")]
    attacks: String,
    #[arg(long)]
    n_eval: Option<i64>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long)]
    data_dir: Option<PathBuf>,
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
    let device = parse_device(&a.device)?;
    if let Some(t) = a.threads {
        tch::set_num_threads(t);
    }
    let attacks: Vec<String> = a.attacks.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    let (mut vs, net) = train::init(&cell, dataset, a.seed, device);
    checkpoint::load(&mut vs, &a.checkpoint)?;
    let eval_split = data::load(dataset, a.data_dir.as_deref(), false)?;
    let t0 = Instant::now();
    let evaluation = train::evaluate(&net, &eval_split, &attacks, a.n_eval, device, 500, a.seed)?;
    let (metrics, warnings) = evaluation_json(&evaluation);
    let n_eval = a.n_eval.map(|k| k.min(eval_split.len())).unwrap_or(eval_split.len());
    let result = serde_json::json!({
        "metrics": metrics,
        "warnings": warnings,
        "n_eval": n_eval,
        "eval_seconds": t0.elapsed().as_secs_f64(),
        "device": format!("{device:?}").to_lowercase(),
    });
    write_json(&a.out, &result)?;
    Ok(true)
}
