//! `evaluate(run_id := ID | checkpoint := PATH, arch, dataset, attacks, n_eval, seed, ...)`:
//! attacks a trained network and returns its `metrics` row.
//!
//! For a recorded run the row also carries the run's recorded metrics (when they were taken on
//! the same images), so `INSERT OR REPLACE INTO metrics FROM evaluate(run_id := ..., attacks :=
//! ['apgd8'])` adds columns to a run without losing the others. Accuracies are cached per
//! checkpoint contents, images and seed under `<bench>/cache/evaluate/`, so a repeated call
//! attacks nothing again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};
use arrow::record_batch::RecordBatch;
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::table_fn::{any_type, archs, declare, opt_i64, opt_str, BoxError, Computed};
use super::train::{check_attacks, warnings_text, worker, TrainContext, ATTACKS, DATASETS};
use crate::store::rows::{self, Row};

pub struct Bind {
    ctx: TrainContext,
    run_id: String,
    arch: i64,
    dataset: String,
    seed: i64,
    checkpoint: PathBuf,
    attacks: Vec<String>,
    n_eval: Option<i64>,
    /// The run's recorded metrics row, if any.
    recorded: Option<HashMap<String, Option<String>>>,
    data_dir: Option<String>,
    device: String,
}

/// The trained network a call names: a recorded run, or a checkpoint with its arch and dataset.
pub struct Network {
    pub run_id: String,
    pub arch: i64,
    pub dataset: String,
    pub seed: i64,
    pub checkpoint: PathBuf,
    /// The run's recorded metrics row, if any.
    pub recorded: Option<HashMap<String, Option<String>>>,
}

/// Resolves `run_id := ` or `checkpoint := ` (with `arch`, `dataset`, `seed`) for `function`.
pub fn network(bind: &BindInfo, ctx: &TrainContext, function: &str) -> Result<Network> {
    let c = &ctx.catalog;
    let given_arch = match bind.get_named_parameter("arch").filter(|v| !v.is_null()) {
        None => None,
        Some(v) => match archs(&v).with_context(|| format!("{function}: arch"))?.as_slice() {
            [a] => Some(*a),
            _ => bail!("{function}: one architecture at a time"),
        },
    };
    let given_dataset = opt_str(bind, "dataset");
    let given_seed = opt_i64(bind, "seed");
    let n = match (opt_str(bind, "run_id"), opt_str(bind, "checkpoint")) {
        (Some(_), Some(_)) => bail!("{function}: pass run_id or checkpoint, not both"),
        (None, None) => bail!("{function}: which network? pass run_id := '...' (a trained run) or checkpoint := 'file.safetensors' with arch and dataset"),
        (Some(id), None) => {
            let run = c.lookup("runs", "run_id", &id)?.ok_or_else(|| anyhow!("{function}: no run '{id}' in this benchmark"))?;
            let field = |k: &str| run.get(k).cloned().flatten();
            let arch: i64 = field("arch").and_then(|s| s.parse().ok()).ok_or_else(|| anyhow!("{function}: run '{id}' has no arch"))?;
            let dataset = field("dataset").unwrap_or_default();
            let ckpt = field("checkpoint").ok_or_else(|| anyhow!("{function}: run '{id}' has no checkpoint (imported runs have no weights)"))?;
            if given_arch.is_some_and(|a| a != arch) || given_dataset.as_ref().is_some_and(|d| *d != dataset) {
                bail!("{function}: run '{id}' is arch {arch} on {dataset}, not what arch/dataset say");
            }
            let seed = given_seed.or_else(|| field("seed").and_then(|s| s.parse().ok())).unwrap_or(0);
            let recorded = c.lookup("metrics", "run_id", &id)?;
            Network { run_id: id, arch, dataset, seed, checkpoint: PathBuf::from(ckpt), recorded }
        }
        (None, Some(path)) => {
            let arch = given_arch.ok_or_else(|| anyhow!("{function}: a checkpoint needs arch := (its architecture)"))?;
            let dataset = given_dataset.unwrap_or_else(|| "cifar10".into());
            // A checkpoint evaluated before has a metrics row under this id, to merge with.
            let run_id = format!("checkpoint:{path}");
            let recorded = c.lookup("metrics", "run_id", &run_id)?;
            Network { run_id, arch, dataset, seed: given_seed.unwrap_or(0), checkpoint: PathBuf::from(path), recorded }
        }
    };
    if !DATASETS.contains(&n.dataset.as_str()) {
        bail!("{function}: unknown dataset '{}' (expected {})", n.dataset, DATASETS.join(", "));
    }
    if !n.checkpoint.is_file() {
        bail!("{function}: checkpoint {} does not exist", n.checkpoint.display());
    }
    if n.seed < 0 {
        bail!("{function}: seed must be non-negative, got {}", n.seed);
    }
    Ok(n)
}

fn bind_evaluate(bind: &BindInfo) -> Result<Bind> {
    let ctx = unsafe { &*bind.get_extra_info::<TrainContext>() }.clone();
    let Network { run_id, arch, dataset, seed, checkpoint, recorded } = network(bind, &ctx, "evaluate")?;
    let attacks: Vec<String> = match bind.get_named_parameter("attacks").filter(|v| !v.is_null()) {
        None => ["clean", "fgsm3", "fgsm8", "pgd3", "pgd8"].map(String::from).to_vec(),
        Some(v) => v.to_list().ok_or_else(|| anyhow!("evaluate: attacks must be a list of metrics column names"))?.iter().map(|x| x.to_string()).collect(),
    };
    check_attacks("evaluate", &attacks)?;
    let n_eval = opt_i64(bind, "n_eval");
    if n_eval.is_some_and(|n| n <= 0) {
        bail!("evaluate: n_eval must be positive");
    }
    let device = opt_str(bind, "device").or(ctx.settings.device.clone()).unwrap_or_else(|| "auto".into());
    crate::parse_device(&device).map_err(|e| anyhow!("evaluate: {e}"))?;
    Ok(Bind { ctx, run_id, arch, dataset, seed, checkpoint, attacks, n_eval, recorded, data_dir: opt_str(bind, "data_dir"), device })
}

fn cache_path(b: &Bind) -> Result<PathBuf> {
    let bytes = std::fs::read(&b.checkpoint).with_context(|| format!("evaluate: cannot read {}", b.checkpoint.display()))?;
    let key = format!("{:x}|{}|{}|{:?}|{}", Sha256::digest(&bytes), b.arch, b.dataset, b.n_eval, b.seed);
    let dir = b.ctx.catalog.dir.join("cache").join("evaluate");
    Ok(dir.join(format!("{}.json", &format!("{:x}", Sha256::digest(key.as_bytes()))[..16])))
}

fn run_worker(b: &Bind, attacks: &[String], out: &Path) -> Result<Json> {
    let mut cmd = Command::new(worker()?);
    cmd.arg("evaluate")
        .args(["--arch", &b.arch.to_string(), "--dataset", &b.dataset, "--seed", &b.seed.to_string()])
        .arg("--checkpoint")
        .arg(&b.checkpoint)
        .args(["--attacks", &attacks.join(","), "--device", &b.device])
        .arg("--out")
        .arg(out);
    if let Some(n) = b.n_eval {
        cmd.args(["--n-eval", &n.to_string()]);
    }
    if let Some(d) = &b.data_dir {
        cmd.args(["--data-dir", d]);
    }
    if let Some(t) = b.ctx.settings.threads {
        cmd.args(["--threads", &t.to_string()]);
    }
    let status = cmd.status().context("cannot start robbench-worker")?;
    if !status.success() {
        bail!("evaluate: robbench-worker failed ({status}); see the message above");
    }
    let text = std::fs::read_to_string(out).with_context(|| format!("evaluate: no result in {}", out.display()))?;
    Ok(serde_json::from_str(&text)?)
}

fn compute(b: &Bind) -> Result<RecordBatch> {
    let c = &b.ctx.catalog;
    let path = cache_path(b)?;
    let mut cached: Json = std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_else(|| serde_json::json!({"metrics": {}}));
    if !cached["warnings"].is_object() {
        cached["warnings"] = serde_json::json!({});
    }
    let missing: Vec<String> = b.attacks.iter().filter(|a| cached["metrics"].get(a.as_str()).is_none()).cloned().collect();
    if !missing.is_empty() {
        let scratch = tempfile_path(c.read_only, &path);
        std::fs::create_dir_all(scratch.parent().unwrap())?;
        let r = run_worker(b, &missing, &scratch)?;
        for (k, v) in r["metrics"].as_object().into_iter().flatten() {
            cached["metrics"][k] = v.clone();
            // An attack that ran without warnings caches an empty list, not a missing one.
            cached["warnings"][k] = r["warnings"].get(k).cloned().unwrap_or_else(|| serde_json::json!([]));
        }
        cached["n_eval"] = r["n_eval"].clone();
        if c.read_only {
            let _ = std::fs::remove_file(&scratch);
        } else {
            let tmp = path.with_extension("json.tmp");
            std::fs::write(&tmp, serde_json::to_string_pretty(&cached)?)?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &path)?;
        }
    }
    let n_eval = cached["n_eval"].as_i64();
    let mut row = Row::new()
        .set("run_id", b.run_id.clone())
        .set("arch", b.arch)
        .set("dataset", b.dataset.clone())
        .set("seed", b.seed)
        .set("split", "test")
        .set("n_eval", n_eval);
    // The run's other metrics, and their warnings, when measured on the same images.
    let mut warnings = Vec::new();
    if let Some(rec) = &b.recorded {
        if rec.get("n_eval").cloned().flatten().and_then(|s| s.parse::<i64>().ok()) == n_eval {
            for a in ATTACKS {
                if let Some(v) = rec.get(a).cloned().flatten().and_then(|s| s.parse::<f64>().ok()) {
                    row = row.set(a, v);
                }
            }
            let recorded = rec.get("warnings").cloned().flatten().unwrap_or_default();
            let measured_now = |line: &&str| b.attacks.iter().any(|a| line.strip_prefix(a.as_str()).is_some_and(|rest| rest.starts_with(':')));
            warnings.extend(recorded.lines().filter(|l| !l.is_empty() && !measured_now(l)).map(str::to_string));
        }
    }
    for a in ATTACKS.iter().filter(|a| b.attacks.iter().any(|x| x == *a)) {
        row = row.set(a, cached["metrics"][*a].as_f64());
    }
    warnings.extend(warnings_text(&cached["warnings"], &b.attacks));
    let row = row.set("warnings", (!warnings.is_empty()).then(|| warnings.join("\n")));
    rows::to_batch(&c.schema("metrics")?, &[row])
}

/// Where the worker writes: beside the cache, or in the temporary folder for a read-only bench.
fn tempfile_path(read_only: bool, cache: &Path) -> PathBuf {
    let name = format!("{}.{}.worker.json", cache.file_stem().unwrap().to_string_lossy(), std::process::id());
    if read_only {
        std::env::temp_dir().join(name)
    } else {
        cache.with_file_name(name)
    }
}

pub struct Evaluate;

impl VTab for Evaluate {
    type BindData = Bind;
    type InitData = Computed;

    fn bind(bind: &BindInfo) -> Result<Bind, BoxError> {
        let b = bind_evaluate(bind).map_err(|e| format!("{e:#}"))?;
        declare(bind, &*b.ctx.catalog.schema("metrics")?)?;
        Ok(b)
    }

    fn init(_: &InitInfo) -> Result<Computed, BoxError> {
        Ok(Computed::default())
    }

    fn func(func: &TableFunctionInfo<Self>, output: &mut DataChunkHandle) -> Result<(), BoxError> {
        func.get_init_data().emit(output, || compute(func.get_bind_data()))
    }

    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        let t = |id| LogicalTypeHandle::from(id);
        Some(vec![
            ("run_id".to_string(), t(LogicalTypeId::Varchar)),
            ("checkpoint".into(), t(LogicalTypeId::Varchar)),
            ("arch".into(), any_type()),
            ("dataset".into(), t(LogicalTypeId::Varchar)),
            ("attacks".into(), LogicalTypeHandle::list(&t(LogicalTypeId::Varchar))),
            ("n_eval".into(), t(LogicalTypeId::Bigint)),
            ("seed".into(), t(LogicalTypeId::Bigint)),
            ("data_dir".into(), t(LogicalTypeId::Varchar)),
            ("device".into(), t(LogicalTypeId::Varchar)),
        ])
    }
}
