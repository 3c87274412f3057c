//! robbench-worker: the libtorch side of robbench's SQL functions, with no database in the
//! process; it also carries alone to a GPU machine.
//!
//! `train` trains and evaluates one network: it resumes from the run folder's last epoch
//! checkpoint, and on success writes `result.json` there (metrics, curves, timings) atomically.
//! Exit status 130 means it was stopped by Ctrl-C at a step boundary, its checkpoint kept.
//!
//! `evaluate` attacks a trained network from its checkpoint; `corruptions` measures it on
//! CIFAR-10-C / CIFAR-100-C.
//!
//! `scores` computes training-free scores of networks, appending one JSON line per
//! architecture and score to `--out` as each architecture finishes.

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use tch::Device;

#[derive(Parser, Debug)]
#[command(name = "robbench-worker", about = "robbench's libtorch side: train and evaluate a NAS-Bench-201 network, or score networks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train and evaluate one network (robbench's train())
    Train(train::Args),
    /// Accuracy on CIFAR-10-C / CIFAR-100-C (robbench's evaluate_corruptions())
    Corruptions(corruptions::Args),
    /// Attack a trained network from its checkpoint (robbench's evaluate())
    Evaluate(evaluate::Args),
    /// Training-free scores (robbench's scores())
    Scores(scores::Args),
}

mod corruptions;
mod evaluate;
mod scores;
mod train;

pub fn parse_device(s: &str) -> Result<Device> {
    Ok(match s {
        "auto" => Device::cuda_if_available(),
        "cpu" => Device::Cpu,
        "cuda" | "cuda:0" if tch::Cuda::is_available() => Device::Cuda(0),
        _ => match s.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(n)) if n < tch::Cuda::device_count() as usize => Device::Cuda(n),
            Some(Ok(_)) | None if s.starts_with("cuda") => {
                bail!("device '{s}': CUDA is not available here ({} GPU(s) visible to libtorch)", tch::Cuda::device_count())
            }
            _ => bail!("unknown device '{s}' (auto, cpu, cuda, cuda:N)"),
        },
    })
}

pub fn micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// Writes `value` as JSON to `path` so that a reader sees the old file or the whole new one:
/// robbench reads these files as the worker's answer, and a kill must not leave half of one.
pub fn write_json(path: &std::path::Path, value: &serde_json::Value) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, serde_json::to_string_pretty(value)?).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// An evaluation's metrics and warnings as JSON objects keyed by attack (robbench caches and
/// records both per attack); the warnings also go to stderr, where the person running the
/// statement sees them.
pub fn evaluation_json(e: &robbench_core::train::Evaluation) -> (serde_json::Value, serde_json::Value) {
    let metrics = e.metrics.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>();
    let mut warnings = serde_json::Map::new();
    for (attack, w) in &e.warnings {
        eprintln!("warning: {attack}: {w}");
        warnings.entry(attack.clone()).or_insert_with(|| serde_json::json!([])).as_array_mut().unwrap().push(serde_json::json!(w));
    }
    (serde_json::Value::Object(metrics), serde_json::Value::Object(warnings))
}

fn main() -> ExitCode {
    let _ = ctrlc::set_handler(|| robbench_core::train::STOP.store(true, Ordering::SeqCst));
    let result = match Cli::parse().command {
        Command::Train(args) => train::run(args),
        Command::Corruptions(args) => corruptions::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Scores(args) => scores::run(args),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("robbench-worker: stopped; the last epoch checkpoint is kept");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("robbench-worker: {e:#}");
            ExitCode::from(1)
        }
    }
}
