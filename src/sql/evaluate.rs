//! `evaluate(run_id := ID | checkpoint := PATH, arch, dataset, attacks, n_eval, seed, ...)`:
//! attacks a trained network and returns its `metrics` row.
//!
//! For a recorded run the row also carries the run's recorded metrics (when they were taken on
//! the same images), so `INSERT OR REPLACE INTO metrics FROM evaluate(run_id := ..., attacks :=
//! ['apgd8'])` adds columns to a run without losing the others. Accuracies are cached per
//! checkpoint contents, images and seed under `<bench>/cache/evaluate/`, so a repeated call
//! attacks nothing again.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use duckdb::vtab::BindInfo;
use robbench_vocab::worker::{Compute, EvaluateRequest, EvaluateResult, Evaluation, Request};
use robbench_vocab::{durable, Attack, Dataset, Dtype};
use sha2::{Digest, Sha256};

use super::params;
use super::table_fn::{archs, opt_i64, opt_str, ComputeRows};
use super::train::{attacks_arg, dtype_arg, TrainContext};
use crate::store::rows::{self, Row};
use crate::store::Record;
use crate::worker;

/// The `evaluate()` table function.
pub struct Evaluate;

pub struct Bind {
    ctx: TrainContext,
    targets: Vec<Target>,
    attacks: Vec<Attack>,
    data_dir: Option<PathBuf>,
    compute: Compute,
}

/// One network to evaluate and the images to evaluate it on.
struct Target {
    net: Network,
    n_eval: Option<i64>,
    dtype: Dtype,
}

/// The trained network a call names: a recorded run, or a checkpoint with its arch and dataset.
pub struct Network {
    pub run_id: String,
    pub arch: i64,
    pub dataset: Dataset,
    pub seed: u64,
    pub checkpoint: PathBuf,
    /// The run's recorded metrics row, if any.
    pub recorded: Option<Record>,
}

/// What a call says about the network(s) besides their names.
struct Given {
    arch: Option<i64>,
    dataset: Option<Dataset>,
    seed: Option<i64>,
}

/// Resolves `run_id := ` (one id, or a list of ids: those of this process's shard) or
/// `checkpoint := ` (with `arch`, `dataset`, `seed`) for `function`.
pub fn networks(bind: &BindInfo, ctx: &TrainContext) -> Result<Vec<Network>> {
    let c = &ctx.catalog;
    let arch = match bind.get_named_parameter("arch").filter(|v| !v.is_null()) {
        None => None,
        Some(v) => match archs(&v).with_context(|| "arch")?.as_slice() {
            [a] => Some(*a),
            _ => bail!("one architecture at a time"),
        },
    };
    let dataset = opt_str(bind, "dataset").map(|d| Dataset::parse(&d)).transpose()?;
    let seed = opt_i64(bind, "seed");
    if let Some(s) = seed.filter(|&s| s < 0) {
        bail!("seed must be non-negative, got {s}");
    }
    let given = Given { arch, dataset, seed };
    // A list is split between the shards (by a hash of each id, so that shards that computed
    // the list at different moments still agree); a single id is evaluated by every process.
    let run_ids: Option<Vec<String>> =
        bind.get_named_parameter("run_id").filter(|v| !v.is_null()).map(|v| match v.to_list() {
            Some(list) => {
                list.iter().map(|x| x.to_string()).filter(|id| ctx.in_shard_key(id)).collect()
            }
            None => vec![v.to_string()],
        });
    let nets = match (run_ids, opt_str(bind, "checkpoint")) {
        (Some(_), Some(_)) => bail!("pass run_id or checkpoint, not both"),
        (None, None) => bail!(
            "which network? pass run_id := '...' (a trained run, or a list of them) or checkpoint := 'file.safetensors' with arch and dataset"
        ),
        (Some(ids), None) => {
            let keys: HashSet<String> = ids.iter().cloned().collect();
            let runs = c.lookup_many("runs", "run_id", &keys)?;
            let mut metrics = c.lookup_many("metrics", "run_id", &keys)?;
            let mut nets = Vec::with_capacity(ids.len());
            for id in ids {
                let run = runs
                    .get(&id)
                    .ok_or_else(|| anyhow!("no run '{id}' in this benchmark"))?;
                nets.push(run_network(ctx, &given, id.clone(), run, metrics.remove(&id))?);
            }
            nets
        }
        (None, Some(path)) => {
            let arch = given
                .arch
                .ok_or_else(|| anyhow!("a checkpoint needs arch := (its architecture)"))?;
            let dataset = given.dataset.unwrap_or(Dataset::Cifar10);
            // A checkpoint evaluated before has a metrics row under this id, to merge with.
            let run_id = format!("checkpoint:{path}");
            let recorded = c.lookup("metrics", "run_id", &run_id)?;
            let seed = given.seed.unwrap_or(0) as u64;
            vec![Network { run_id, arch, dataset, seed, checkpoint: PathBuf::from(path), recorded }]
        }
    };
    for n in &nets {
        if !n.checkpoint.is_file() {
            bail!("checkpoint {} does not exist", n.checkpoint.display());
        }
    }
    Ok(nets)
}

/// The one network a call names (`run_id := ` one id, or `checkpoint := `).
pub fn network(bind: &BindInfo, ctx: &TrainContext) -> Result<Network> {
    let mut nets = networks(bind, ctx)?;
    match nets.len() {
        1 => Ok(nets.remove(0)),
        n => bail!("one network at a time ({n} named for this shard)"),
    }
}

fn run_network(
    ctx: &TrainContext,
    given: &Given,
    id: String,
    run: &Record,
    recorded: Option<Record>,
) -> Result<Network> {
    let arch: i64 = run.int("arch")?.ok_or_else(|| anyhow!("run '{id}' has no arch"))?;
    let dataset = Dataset::parse(&run.text("dataset")?.unwrap_or_default())
        .with_context(|| format!("run '{id}'"))?;
    let ckpt = run
        .text("checkpoint")?
        .ok_or_else(|| anyhow!("run '{id}' has no checkpoint (imported runs have no weights)"))?;
    if given.arch.is_some_and(|a| a != arch) || given.dataset.is_some_and(|d| d != dataset) {
        bail!("run '{id}' is arch {arch} on {dataset}, not what arch/dataset say");
    }
    let seed = match given.seed {
        Some(s) => s,
        None => run.int("seed")?.unwrap_or(0),
    };
    let checkpoint = ctx.resolve(&ckpt);
    Ok(Network { run_id: id, arch, dataset, seed: seed as u64, checkpoint, recorded })
}

fn cache_path(b: &Bind, t: &Target) -> Result<PathBuf> {
    let n = &t.net;
    let bytes = std::fs::read(&n.checkpoint)
        .with_context(|| format!("cannot read {}", n.checkpoint.display()))?;
    let mut key =
        format!("{:x}|{}|{}|{:?}|{}", Sha256::digest(&bytes), n.arch, n.dataset, t.n_eval, n.seed);
    // The key's format is frozen for fp32 (caches already written are found by it).
    if t.dtype != Dtype::Fp32 {
        key.push_str(&format!("|{}", t.dtype));
    }
    let dir = b.ctx.catalog.dir.join("cache").join("evaluate");
    Ok(dir.join(format!("{}.json", &format!("{:x}", Sha256::digest(key.as_bytes()))[..16])))
}

fn run_worker(b: &Bind, t: &Target, attacks: &[Attack], out: &Path) -> Result<EvaluateResult> {
    let n = &t.net;
    let request = Request::Evaluate(EvaluateRequest {
        arch: n.arch,
        dataset: n.dataset,
        checkpoint: n.checkpoint.clone(),
        attacks: attacks.to_vec(),
        n_eval: t.n_eval,
        seed: n.seed,
        data_dir: b.data_dir.clone(),
        dtype: t.dtype,
        compute: b.compute.clone(),
        out: out.to_path_buf(),
    });
    match worker::run(&request, &b.ctx.stop, &b.ctx.settings.progress)? {
        worker::Ended::Done => worker::read(out),
        worker::Ended::Stopped => bail!("stopped"),
    }
}

/// The metrics row of one target: the cached accuracies, the missing ones measured now.
fn row(b: &Bind, t: &Target) -> Result<Row> {
    let c = &b.ctx.catalog;
    let path = cache_path(b, t)?;
    let mut cached: Evaluation = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_default(),
        Err(_) => Evaluation::default(),
    };
    let missing: Vec<Attack> =
        b.attacks.iter().copied().filter(|a| !cached.metrics.contains_key(a)).collect();
    if !missing.is_empty() {
        let scratch = tempfile_path(c.read_only, &path);
        std::fs::create_dir_all(scratch.parent().expect("a file in a folder"))?;
        let r = run_worker(b, t, &missing, &scratch);
        let _ = std::fs::remove_file(&scratch);
        let r = r?.evaluation;
        for (a, v) in r.metrics {
            cached.metrics.insert(a, v);
            // An attack that ran without warnings caches an empty list, not a missing one.
            cached.warnings.insert(a, r.warnings.get(&a).cloned().unwrap_or_default());
        }
        cached.n_eval = r.n_eval;
        if !c.read_only {
            durable::write_json(&path, &cached)?;
        }
    }
    let n = &t.net;
    let mut row = Row::new()
        .set("run_id", n.run_id.clone())
        .set("arch", n.arch)
        .set("dataset", n.dataset.name())
        .set("seed", n.seed as i64)
        .set("split", "test")
        .set("n_eval", cached.n_eval)
        .set("dtype", t.dtype.name());
    // The run's other metrics, and their warnings, when measured on the same images in the same
    // arithmetic.
    let mut warnings = Vec::new();
    if let Some(rec) = &n.recorded {
        let recorded_n = rec.int("n_eval")?;
        let recorded_dtype = rec.text("dtype")?;
        let same_dtype = recorded_dtype.as_deref().unwrap_or(Dtype::Fp32.name()) == t.dtype.name();
        if recorded_n == cached.n_eval && same_dtype {
            for a in Attack::ALL {
                if let Some(v) = rec.float(a.name())? {
                    row = row.set(a.name(), v);
                }
            }
            let recorded = rec.text("warnings")?.unwrap_or_default();
            let measured_now = |line: &&str| {
                b.attacks
                    .iter()
                    .any(|a| line.strip_prefix(a.name()).is_some_and(|rest| rest.starts_with(':')))
            };
            warnings.extend(
                recorded.lines().filter(|l| !l.is_empty() && !measured_now(l)).map(str::to_string),
            );
        }
    }
    for a in Attack::ALL.iter().filter(|a| b.attacks.contains(a)) {
        row = row.set(a.name(), cached.metrics.get(a).copied());
    }
    warnings.extend(cached.warnings_text(&b.attacks));
    Ok(row.set("warnings", (!warnings.is_empty()).then(|| warnings.join("\n"))))
}

/// Where the worker writes: beside the cache, or in the temporary folder for a read-only bench.
fn tempfile_path(read_only: bool, cache: &Path) -> PathBuf {
    let stem = cache.file_stem().unwrap_or_default().to_string_lossy();
    let name = format!("{stem}.{}.worker.json", std::process::id());
    if read_only {
        std::env::temp_dir().join(name)
    } else {
        cache.with_file_name(name)
    }
}

impl ComputeRows for Evaluate {
    type Context = TrainContext;
    type Bind = Bind;
    const FUNCTION: &'static params::Function = &params::EVALUATE;

    fn bind(bind: &BindInfo, ctx: &TrainContext) -> Result<Bind> {
        let nets = networks(bind, ctx)?;
        let attacks = attacks_arg(bind)?;
        let asked = opt_i64(bind, "n_eval");
        if asked.is_some_and(|n| n <= 0) {
            bail!("n_eval must be positive");
        }
        let asked_dtype = dtype_arg(bind)?;
        let targets = nets
            .into_iter()
            .map(|net| {
                // Likewise in the arithmetic its metrics were measured in (published rows: fp32).
                let recorded = match &net.recorded {
                    Some(r) => r.text("dtype")?,
                    None => None,
                };
                let recorded = recorded.and_then(|s| Dtype::parse(&s).ok());
                let dtype = asked_dtype.or(recorded).unwrap_or_default();
                // A recorded run is evaluated on the images its metrics were measured on, unless
                // told otherwise, so that its row keeps them.
                let recorded = match &net.recorded {
                    Some(r) => r.int("n_eval")?,
                    None => None,
                };
                if let (Some(a), Some(r)) = (asked, recorded) {
                    if a != r {
                        eprintln!(
                            "warning: evaluate: run '{}' was measured on {r} images and this call measures {a}; \
                             its row carries only this call's columns (its recorded ones are not merged)",
                            net.run_id
                        );
                    }
                }
                Ok(Target { net, n_eval: asked.or(recorded), dtype })
            })
            .collect::<Result<Vec<_>>>()?;
        let compute = ctx.compute(bind)?;
        let data_dir = opt_str(bind, "data_dir").map(PathBuf::from);
        Ok(Bind { ctx: ctx.clone(), targets, attacks, data_dir, compute })
    }

    fn schema(b: &Bind) -> Result<SchemaRef> {
        b.ctx.catalog.schema("metrics")
    }

    fn compute(b: &Bind) -> Result<RecordBatch> {
        let mut rows = Vec::with_capacity(b.targets.len());
        for (k, t) in b.targets.iter().enumerate() {
            if b.targets.len() > 1 {
                eprintln!("evaluate: run {}/{}: {}", k + 1, b.targets.len(), t.net.run_id);
            }
            rows.push(row(b, t)?);
        }
        rows::to_batch(&b.ctx.catalog.schema("metrics")?, &rows)
    }
}
