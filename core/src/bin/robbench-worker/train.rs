//! `robbench-worker train`: one run of train(), resumable, its result in `result.json`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use robbench_core::data::{self, Dataset};
use robbench_core::space::Space;
use robbench_core::train::{self, Protocol, TrainSpec};

use crate::{evaluation_json, micros, parse_device, write_json};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long)]
    arch: i64,
    #[arg(long)]
    dataset: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Folder of this run: checkpoints, weights and result.json
    #[arg(long)]
    run_dir: PathBuf,
    #[arg(long, default_value_t = 50)]
    epochs: usize,
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    #[arg(long, default_value_t = 0.1)]
    lr_max: f64,
    #[arg(long, default_value_t = 0.9)]
    momentum: f64,
    #[arg(long, default_value_t = 5e-4)]
    weight_decay: f64,
    #[arg(long, default_value = "pgd")]
    train_attack: String,
    #[arg(long, default_value_t = 8.0 / 255.0)]
    train_eps: f64,
    #[arg(long, default_value_t = 2.0 / 255.0)]
    train_alpha: f64,
    #[arg(long, default_value_t = 7)]
    train_steps: usize,
    #[arg(long)]
    n_train: Option<usize>,
    #[arg(long)]
    n_eval: Option<i64>,
    /// Comma-separated metrics columns
    #[arg(long, default_value = "clean,fgsm3,fgsm8,pgd3,pgd8")]
    attacks: String,
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long, default_value = "auto")]
    device: String,
    #[arg(long)]
    threads: Option<i32>,
    /// Shown before the progress bar, e.g. "run 2/5 arch 2581"
    #[arg(long, default_value = "")]
    label: String,
}

pub fn run(a: Args) -> Result<bool> {
    let cell = Space::get().cell(a.arch)?;
    let dataset = Dataset::parse(&a.dataset)?;
    let device = parse_device(&a.device)?;
    if let Some(t) = a.threads {
        tch::set_num_threads(t);
    }
    let attacks: Vec<String> = a.attacks.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    let protocol = Protocol {
        epochs: a.epochs,
        batch_size: a.batch_size,
        lr_max: a.lr_max,
        momentum: a.momentum,
        weight_decay: a.weight_decay,
        train_attack: a.train_attack.clone(),
        train_eps: a.train_eps,
        train_alpha: a.train_alpha,
        train_steps: a.train_steps,
        n_train: a.n_train,
    };
    protocol.validate()?;
    let train_split = data::load(dataset, a.data_dir.as_deref(), true)?;
    let eval_split = data::load(dataset, a.data_dir.as_deref(), false)?;
    let n_train = a.n_train.map(|k| (k as i64).min(train_split.len())).unwrap_or(train_split.len());
    let steps = (n_train as usize).div_ceil(a.batch_size) * a.epochs;
    let started_at = micros();
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:25}] epoch {msg} eta {eta}")
            .unwrap()
            .progress_chars("=> "),
    );
    bar.set_prefix(a.label.clone());
    let spec = TrainSpec { cell, dataset, seed: a.seed, protocol: &protocol, device, dir: &a.run_dir };
    let trained = train::train(&spec, &train_split, |p| {
        bar.set_position((p.epoch * p.steps + p.step) as u64);
        bar.set_message(format!("{}/{} {:.0} img/s", p.epoch + 1, p.epochs, p.images_per_second));
    })?;
    bar.finish_and_clear();
    let Some(t) = trained else { return Ok(false) };
    let e0 = Instant::now();
    let evaluation = train::evaluate(&t.net, &eval_split, &attacks, a.n_eval, device, 500, a.seed)?;
    let (metrics, warnings) = evaluation_json(&evaluation);
    let eval_seconds = e0.elapsed().as_secs_f64();
    let n_eval = a.n_eval.map(|k| k.min(eval_split.len())).unwrap_or(eval_split.len());
    let result = serde_json::json!({
        "metrics": metrics,
        "warnings": warnings,
        "n_eval": n_eval,
        "n_eval_requested": a.n_eval,
        "n_train": n_train,
        "curves": t.curves.iter().map(|c| serde_json::json!([c.epoch, c.lr, c.train_loss, c.train_adv_acc, c.seconds])).collect::<Vec<_>>(),
        "train_seconds": t.train_seconds,
        "eval_seconds": eval_seconds,
        "device": format!("{device:?}").to_lowercase(),
        "started_at": started_at,
        "finished_at": micros(),
        "checkpoint": t.weights.display().to_string(),
    });
    write_json(&a.run_dir.join("result.json"), &result)?;
    Ok(true)
}

