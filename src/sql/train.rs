//! `train(arch, dataset := 'cifar10', seed := 0, ...)`: trains and evaluates each listed
//! architecture under the protocol (the paper's by default) and returns one `metrics` row per
//! run, so `INSERT INTO metrics FROM train(...)` fills the benchmark.
//!
//! Each run is trained by the `robbench-worker` binary in a folder of its own under
//! `<bench>/checkpoints/`, which holds its epoch checkpoint (so an interrupted run resumes), its
//! weights and its `result.json`. As each run finishes, its `runs` row and `curves` rows are
//! written durably; a run whose result is recorded is returned without training again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use serde_json::Value as Json;

use super::table_fn::{any_type, archs, declare, opt_f64, opt_i64, opt_str, BoxError};
use crate::store::rows::{self, Row};
use crate::protocol::Protocol;
use crate::store::Catalog;

/// Process-wide settings from the command line that the SQL functions honour.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub device: Option<String>,
    pub threads: Option<u32>,
    pub shard: Option<(u32, u32)>,
}

/// What `train` needs from the session: the benchmark and the command line's settings.
#[derive(Clone)]
pub struct TrainContext {
    pub catalog: Arc<Catalog>,
    pub settings: Settings,
}

pub const DATASETS: [&str; 4] = ["cifar10", "cifar100", "imagenet16-120", "digits"];
/// The metrics columns the worker's attack suite fills (robbench-core's `train::ATTACKS`; this
/// binary does not link libtorch, so the list is stated here too and a test compares the two).
pub const ATTACKS: [&str; 16] = ["clean", "fgsm3", "fgsm8", "pgd3", "pgd8", "apgd3", "apgd8", "aa3", "aa8", "square3", "square8", "pgd16", "pgd32", "pgd64", "pgd128", "pgd255"];

/// Checks a call's `attacks := [...]` against the metrics columns the suite fills.
pub fn check_attacks(function: &str, attacks: &[String]) -> Result<()> {
    match attacks.iter().find(|a| !ATTACKS.contains(&a.as_str())) {
        Some(a) => bail!("{function}: unknown attack '{a}' (metrics columns: {})", ATTACKS.join(", ")),
        None if attacks.is_empty() => bail!("{function}: attacks is empty (metrics columns: {})", ATTACKS.join(", ")),
        None => Ok(()),
    }
}

/// The `warnings` column for the attacks of a row: the worker's warnings (a JSON object of
/// attack -> messages) as 'attack: message' lines, in metrics column order; NULL when none.
pub fn warnings_text(warnings: &Json, attacks: &[String]) -> Option<String> {
    let lines: Vec<String> = ATTACKS
        .iter()
        .filter(|a| attacks.iter().any(|x| x == *a))
        .flat_map(|a| warnings[*a].as_array().into_iter().flatten().filter_map(|w| w.as_str()).map(move |w| format!("{a}: {w}")))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

struct Job {
    arch: i64,
    run_id: String,
    dir: PathBuf,
}

pub struct Bind {
    ctx: TrainContext,
    jobs: Vec<Job>,
    dataset: String,
    seed: i64,
    protocol: Protocol,
    attacks: Vec<String>,
    n_eval: Option<i64>,
    data_dir: Option<String>,
    device: String,
}

fn bind_train(bind: &BindInfo) -> Result<Bind> {
    let ctx = unsafe { &*bind.get_extra_info::<TrainContext>() }.clone();
    let arch_value = Some(bind.get_parameter(0)).filter(|v| !v.is_null()).ok_or_else(|| anyhow!("train: which architectures? pass arch := id, cell string or list of ids"))?;
    let archs = archs(&arch_value).context("train: arch")?;
    if archs.is_empty() {
        bail!("train: the arch list is empty");
    }
    let dataset = opt_str(bind, "dataset").unwrap_or_else(|| "cifar10".into());
    if !DATASETS.contains(&dataset.as_str()) {
        bail!("train: unknown dataset '{dataset}' (expected {})", DATASETS.join(", "));
    }
    let seed = opt_i64(bind, "seed").unwrap_or(0);
    if seed < 0 {
        bail!("train: seed must be non-negative, got {seed}");
    }
    let p = Protocol::paper();
    let positive = |name: &str, v: Option<i64>, default: i64| -> Result<i64> {
        let x = v.unwrap_or(default);
        if x <= 0 {
            bail!("train: {name} must be positive, got {x}");
        }
        Ok(x)
    };
    let protocol = Protocol {
        name: String::new(),
        epochs: positive("epochs", opt_i64(bind, "epochs"), p.epochs)?,
        batch_size: positive("batch_size", opt_i64(bind, "batch_size"), p.batch_size)?,
        lr_max: opt_f64(bind, "lr_max")?.unwrap_or(p.lr_max),
        momentum: opt_f64(bind, "momentum")?.unwrap_or(p.momentum),
        weight_decay: opt_f64(bind, "weight_decay")?.unwrap_or(p.weight_decay),
        train_attack: opt_str(bind, "train_attack").unwrap_or(p.train_attack.clone()),
        train_eps: opt_f64(bind, "train_eps")?.unwrap_or(p.train_eps),
        train_alpha: opt_f64(bind, "train_alpha")?.unwrap_or(p.train_alpha),
        train_steps: opt_i64(bind, "train_steps").unwrap_or(p.train_steps),
        n_train: opt_i64(bind, "n_train"),
    }
    .named();
    if !(0.0..1.0).contains(&protocol.momentum) || protocol.lr_max < 0.0 || protocol.weight_decay < 0.0 || protocol.train_eps < 0.0 || protocol.train_alpha < 0.0 || protocol.train_steps < 0 {
        bail!("train: momentum must be in [0, 1) and lr_max, weight_decay, train_eps, train_alpha, train_steps non-negative");
    }
    if !matches!(protocol.train_attack.as_str(), "pgd" | "none") {
        bail!("train: train_attack must be 'pgd' or 'none', got '{}'", protocol.train_attack);
    }
    if let Some(n) = protocol.n_train {
        positive("n_train", Some(n), 1)?;
    }
    let attacks: Vec<String> = match bind.get_named_parameter("attacks").filter(|v| !v.is_null()) {
        None => ["clean", "fgsm3", "fgsm8", "pgd3", "pgd8"].map(String::from).to_vec(),
        Some(v) => v.to_list().ok_or_else(|| anyhow!("train: attacks must be a list of metrics column names"))?.iter().map(|x| x.to_string()).collect(),
    };
    check_attacks("train", &attacks)?;
    let n_eval = opt_i64(bind, "n_eval");
    if let Some(n) = n_eval {
        positive("n_eval", Some(n), 1)?;
    }
    let device = opt_str(bind, "device").or(ctx.settings.device.clone()).unwrap_or_else(|| "auto".into());
    crate::parse_device(&device).map_err(|e| anyhow!("train: {e}"))?;
    if ctx.catalog.read_only {
        bail!("train: the benchmark is open read-only");
    }
    let mut jobs = Vec::new();
    for (pos, arch) in archs.into_iter().enumerate() {
        if let Some((i, n)) = ctx.settings.shard {
            if pos as u32 % n != i {
                continue;
            }
        }
        let run_id = format!("{}/{dataset}/{arch}/s{seed}", protocol.name);
        let dir = ctx.catalog.dir.join("checkpoints").join(run_id.replace('/', "-"));
        jobs.push(Job { arch, run_id, dir });
    }
    Ok(Bind { ctx, jobs, dataset, seed, protocol, attacks, n_eval, data_dir: opt_str(bind, "data_dir"), device })
}

pub fn worker() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("ROBBENCH_WORKER") {
        return Ok(p.into());
    }
    let exe = std::env::current_exe().context("cannot locate the robbench binary")?;
    let w = exe.with_file_name("robbench-worker");
    if !w.exists() {
        bail!("robbench-worker is not next to {} (build it with make build, or set ROBBENCH_WORKER)", exe.display());
    }
    Ok(w)
}

/// A recorded result that covers this call's attacks and n_eval, if any.
fn recorded(b: &Bind, dir: &Path) -> Result<Option<Json>> {
    let path = dir.join("result.json");
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(None) };
    let r: Json = serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", path.display()))?;
    let covers = b.attacks.iter().all(|a| r["metrics"].get(a).is_some());
    let same_eval = r["n_eval_requested"].as_i64() == b.n_eval;
    Ok((covers && same_eval).then_some(r))
}

fn run_worker(b: &Bind, job: &Job, k: usize) -> Result<Json> {
    let p = &b.protocol;
    let mut cmd = Command::new(worker()?);
    cmd.arg("train").args(["--arch", &job.arch.to_string(), "--dataset", &b.dataset, "--seed", &b.seed.to_string()])
        .arg("--run-dir")
        .arg(&job.dir)
        .args(["--epochs", &p.epochs.to_string(), "--batch-size", &p.batch_size.to_string()])
        .args(["--lr-max", &p.lr_max.to_string(), "--momentum", &p.momentum.to_string(), "--weight-decay", &p.weight_decay.to_string()])
        .args(["--train-attack", &p.train_attack, "--train-eps", &p.train_eps.to_string(), "--train-alpha", &p.train_alpha.to_string()])
        .args(["--train-steps", &p.train_steps.to_string(), "--attacks", &b.attacks.join(","), "--device", &b.device])
        .args(["--label", &format!("run {}/{} arch {}", k + 1, b.jobs.len(), job.arch)]);
    if let Some(n) = p.n_train {
        cmd.args(["--n-train", &n.to_string()]);
    }
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
    match status.code() {
        Some(0) => {}
        Some(130) => bail!("train: stopped at a step boundary; run {} keeps its last epoch checkpoint in {} (run the statement again to resume)", job.run_id, job.dir.display()),
        _ => bail!("train: run {} (arch {}) failed ({status}); see the message above", job.run_id, job.arch),
    }
    recorded(b, &job.dir)?.ok_or_else(|| anyhow!("train: robbench-worker finished without a result in {}", job.dir.display()))
}

/// Writes the run's `runs` and `curves` rows, unless an earlier call already did.
fn record(b: &Bind, job: &Job, r: &Json) -> Result<()> {
    let c = &b.ctx.catalog;
    if c.contains("runs", "run_id", &job.run_id)? {
        return Ok(());
    }
    let p = &b.protocol;
    let curves: Vec<Row> = r["curves"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|e| {
            Row::new()
                .set("run_id", job.run_id.clone())
                .set("epoch", e[0].as_i64())
                .set("lr", e[1].as_f64())
                .set("train_loss", e[2].as_f64())
                .set("train_adv_acc", e[3].as_f64())
                .set("seconds", e[4].as_f64())
        })
        .collect();
    // Curves first: a runs row is the mark of a fully recorded run.
    c.append("curves", &rows::to_batch(&c.schema("curves")?, &curves)?)?;
    let run = p
        .row()
        .set("run_id", job.run_id.clone())
        .set("arch", job.arch)
        .set("dataset", b.dataset.clone())
        .set("seed", b.seed)
        .set("n_train", r["n_train"].as_i64())
        .set("source", "trained")
        .set("device", r["device"].as_str().map(str::to_string))
        .set("started_at", r["started_at"].as_i64().map(rows::Val::Timestamp).unwrap_or(rows::Val::Null))
        .set("finished_at", r["finished_at"].as_i64().map(rows::Val::Timestamp).unwrap_or(rows::Val::Null))
        .set("train_seconds", r["train_seconds"].as_f64())
        .set("eval_seconds", r["eval_seconds"].as_f64())
        .set("checkpoint", r["checkpoint"].as_str().map(str::to_string));
    c.append("runs", &rows::to_batch(&c.schema("runs")?, &[run])?)?;
    Ok(())
}

fn metrics_row(b: &Bind, job: &Job, r: &Json) -> Row {
    let mut m = Row::new()
        .set("run_id", job.run_id.clone())
        .set("arch", job.arch)
        .set("dataset", b.dataset.clone())
        .set("seed", b.seed)
        .set("split", "test")
        .set("n_eval", r["n_eval"].as_i64());
    for a in ATTACKS {
        if b.attacks.iter().any(|x| x == a) {
            m = m.set(a, r["metrics"][a].as_f64());
        }
    }
    m.set("warnings", warnings_text(&r["warnings"], &b.attacks))
}

pub struct Train;

impl VTab for Train {
    type BindData = Bind;
    type InitData = AtomicUsize;

    fn bind(bind: &BindInfo) -> Result<Bind, BoxError> {
        let b = bind_train(bind).map_err(|e| format!("{e:#}"))?;
        declare(bind, &*b.ctx.catalog.schema("metrics")?)?;
        Ok(b)
    }

    fn init(_: &InitInfo) -> Result<AtomicUsize, BoxError> {
        Ok(AtomicUsize::new(0))
    }

    fn func(func: &TableFunctionInfo<Self>, output: &mut DataChunkHandle) -> Result<(), BoxError> {
        next_run(func.get_bind_data(), func.get_init_data(), output)
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![any_type()])
    }

    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        Some(named())
    }
}

/// Trains (or looks up) the next run and emits its metrics row: one row per call.
fn next_run(b: &Bind, cursor: &AtomicUsize, output: &mut DataChunkHandle) -> Result<(), BoxError> {
    let k = cursor.fetch_add(1, Ordering::SeqCst);
    let Some(job) = b.jobs.get(k) else {
        output.set_len(0);
        return Ok(());
    };
    let row = (|| -> Result<Row> {
        let r = match recorded(b, &job.dir)? {
            Some(r) => r,
            None => run_worker(b, job, k)?,
        };
        record(b, job, &r)?;
        Ok(metrics_row(b, job, &r))
    })()
    .map_err(|e| format!("{e:#}"))?;
    let batch = rows::to_batch(&b.ctx.catalog.schema("metrics")?, &[row])?;
    duckdb::vtab::record_batch_to_duckdb_data_chunk(&batch, output)?;
    output.set_len(1);
    Ok(())
}

fn named() -> Vec<(String, LogicalTypeHandle)> {
    let t = |id| LogicalTypeHandle::from(id);
    let mut v = vec![
        ("dataset".to_string(), t(LogicalTypeId::Varchar)),
        ("seed".into(), t(LogicalTypeId::Bigint)),
        ("epochs".into(), t(LogicalTypeId::Bigint)),
        ("batch_size".into(), t(LogicalTypeId::Bigint)),
        ("lr_max".into(), t(LogicalTypeId::Double)),
        ("momentum".into(), t(LogicalTypeId::Double)),
        ("weight_decay".into(), t(LogicalTypeId::Double)),
        ("train_attack".into(), t(LogicalTypeId::Varchar)),
        ("train_eps".into(), t(LogicalTypeId::Double)),
        ("train_alpha".into(), t(LogicalTypeId::Double)),
        ("train_steps".into(), t(LogicalTypeId::Bigint)),
        ("attacks".into(), LogicalTypeHandle::list(&t(LogicalTypeId::Varchar))),
        ("n_train".into(), t(LogicalTypeId::Bigint)),
        ("n_eval".into(), t(LogicalTypeId::Bigint)),
        ("data_dir".into(), t(LogicalTypeId::Varchar)),
        ("device".into(), t(LogicalTypeId::Varchar)),
    ];
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// `train` is a table macro over `robbench_train` (see `macro_over`).
pub fn macro_sql() -> String {
    super::table_fn::macro_over("train", "robbench_train", "arch", &named())
}

#[cfg(test)]
mod tests {
    /// Every accuracy column of `metrics` is an attack the suite fills, and nothing else is.
    #[test]
    fn attacks_are_the_metrics_accuracy_columns() {
        let ddl = crate::store::TABLES_SQL;
        let metrics = &ddl[ddl.find("CREATE TABLE metrics").unwrap()..];
        let metrics = &metrics[..metrics.find(");").unwrap()];
        let columns: Vec<&str> = metrics.lines().filter(|l| l.contains(" DOUBLE CHECK")).map(|l| l.split_whitespace().next().unwrap()).collect();
        assert_eq!(columns, super::ATTACKS);
    }
}
