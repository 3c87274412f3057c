//! `train(arch, dataset := 'cifar10', seed := 0, ...)`: trains and evaluates each listed
//! architecture under the protocol (the paper's by default) and returns one `metrics` row per
//! run, so `INSERT INTO metrics FROM train(...)` fills the benchmark.
//!
//! Each run is trained by the `robbench-worker` binary in a folder of its own under
//! `<bench>/checkpoints/`, which holds its epoch checkpoint (so an interrupted run resumes), its
//! weights and its `result.json`. As each run finishes, its `runs` row and `curves` rows are
//! written durably; a run whose result is recorded is returned without training again.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use duckdb::core::{DataChunkHandle, LogicalTypeHandle};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use robbench_vocab::progress::Progress;
use robbench_vocab::worker::{Compute, Request, TrainRequest, TrainResult};
use robbench_vocab::{Attack, Dataset, DeviceSpec, Dtype, Protocol, TrainAttack};

use super::params;
use super::table_fn::{arch_arg, declare, opt_bool, opt_f64, opt_i64, opt_str, opt_values};
use super::table_fn::{refusal, streaming_context, BoxError, Streaming};
use crate::protocol;
use crate::store::rows::{self, Row};
use crate::store::{OnKey, Store};
use crate::worker::{self, Ended};

/// Process-wide settings from the command line that the SQL functions honour.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub device: Option<DeviceSpec>,
    pub threads: Option<u32>,
    pub shard: Option<(u32, u32)>,
    /// Where long calls show how far they are: a bar on a terminal's stderr by default, the
    /// notebook's or terminal's bar of the Python package.
    pub progress: Progress,
}

/// What the functions that run the worker need from the session: the benchmark and the
/// command line's settings.
#[derive(Clone)]
pub struct TrainContext {
    pub catalog: Arc<Store>,
    pub settings: Settings,
    /// The session's: asked by Ctrl-C, a running worker stops at its next step.
    pub stop: robbench_vocab::Stop,
    /// The named parameter that gives the compute device: `device`, except in `search`, where
    /// `device` is the hardware device of the latency limits and training takes
    /// `train_device`.
    pub device_param: &'static str,
    /// The named parameter that gives the training seeds: `seed`, except in `search`, whose
    /// `seed` draws its queries and whose training takes `train_seed`.
    pub seed_param: &'static str,
}

impl TrainContext {
    /// The call's `device :=`, else the command line's `--device`, and the thread limit.
    pub fn compute(&self, bind: &BindInfo) -> Result<Compute> {
        let device = match opt_str(bind, self.device_param) {
            Some(s) => DeviceSpec::parse(&s)?,
            None => self.settings.device.unwrap_or_default(),
        };
        Ok(Compute {
            device,
            threads: self.settings.threads.map(|t| t as i32),
            progress_lines: true,
        })
    }

    /// Whether this process's shard (`--shard I/N`) takes the item at `position` of a call's
    /// list.
    pub fn in_shard(&self, position: usize) -> bool {
        self.settings.shard.is_none_or(|(i, n)| position as u32 % n == i)
    }

    /// Whether this process's shard takes the item named `key` (a run id): by a hash of the
    /// name, so that shards which computed their lists at different moments still agree.
    pub fn in_shard_key(&self, key: &str) -> bool {
        use sha2::Digest;
        self.settings.shard.is_none_or(|(i, n)| {
            let h = sha2::Sha256::digest(key.as_bytes());
            let x = u64::from_le_bytes(h[..8].try_into().expect("8 bytes"));
            x % u64::from(n) == u64::from(i)
        })
    }

    /// Where a recorded path points: paths inside the benchmark folder are stored relative to
    /// it, so the folder can move; absolute paths (and those of folders from before) as given.
    pub fn resolve(&self, stored: &str) -> PathBuf {
        let p = Path::new(stored);
        let inside = self.catalog.dir.join(p);
        if p.is_relative() && inside.exists() {
            inside
        } else {
            p.to_path_buf()
        }
    }

    /// How a path inside the benchmark folder is stored: relative to the folder.
    pub fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.catalog.dir).unwrap_or(path).display().to_string()
    }
}

/// A call's data set (`dataset :=`, default cifar10).
pub fn dataset_arg(bind: &BindInfo) -> Result<Dataset> {
    let name = opt_str(bind, "dataset").unwrap_or_else(|| Dataset::Cifar10.name().into());
    Dataset::parse(&name)
}

/// A call's `dtype :=` ('fp32' or 'bf16'), if given.
pub fn dtype_arg(bind: &BindInfo) -> Result<Option<Dtype>> {
    opt_str(bind, "dtype").map(|s| Dtype::parse(&s)).transpose()
}

/// A call's data sets (`dataset :=` a name or a list of names, default cifar10).
fn datasets_arg(bind: &BindInfo) -> Result<Vec<Dataset>> {
    let Some(names) = opt_values(bind, "dataset") else {
        return Ok(vec![Dataset::Cifar10]);
    };
    if names.is_empty() {
        bail!("the dataset list is empty");
    }
    let mut out = Vec::new();
    for n in names {
        let d = Dataset::parse(&n.to_string())?;
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

/// A call's seeds (`seed :=` a number or a list of numbers, default 0).
fn seeds_arg(bind: &BindInfo, name: &str) -> Result<Vec<u64>> {
    let Some(values) = opt_values(bind, name) else {
        return Ok(vec![0]);
    };
    if values.is_empty() {
        bail!("the {name} list is empty");
    }
    let mut out = Vec::new();
    for x in values {
        let text = x.to_string();
        let seed: i64 =
            text.parse().map_err(|_| anyhow!("{name} must be a whole number, got '{text}'"))?;
        if seed < 0 {
            bail!("{name} must be non-negative, got {seed}");
        }
        if !out.contains(&(seed as u64)) {
            out.push(seed as u64);
        }
    }
    Ok(out)
}

/// A call's `attacks := [...]`: metrics column names, default the paper's cheap ones.
pub fn attacks_arg(bind: &BindInfo) -> Result<Vec<Attack>> {
    match opt_values(bind, "attacks") {
        None => Ok(Attack::DEFAULT.to_vec()),
        Some(v) => {
            let names: Vec<String> = v.iter().map(|x| x.to_string()).collect();
            Attack::parse_list(&names)
        }
    }
}

/// One run to train: its architecture, data set, seed, id and folder.
pub struct Job {
    pub arch: i64,
    pub dataset: Dataset,
    pub seed: u64,
    pub run_id: String,
    dir: PathBuf,
}

/// How a call trains: every setting but the architectures (train's, and search's with
/// `source := 'train'`).
pub struct Trainer {
    ctx: TrainContext,
    pub datasets: Vec<Dataset>,
    pub seeds: Vec<u64>,
    protocol: Protocol,
    /// Train an architecture's runs as one fused network (None: where that is faster, CUDA).
    fuse: Option<bool>,
    attacks: Vec<Attack>,
    n_eval: Option<i64>,
    data_dir: Option<PathBuf>,
    compute: Compute,
}

pub struct Bind {
    trainer: Trainer,
    jobs: Vec<Job>,
}

/// An optional count that must be positive.
fn positive(bind: &BindInfo, name: &str) -> Result<Option<usize>> {
    match opt_i64(bind, name) {
        Some(x) if x <= 0 => bail!("{name} must be positive, got {x}"),
        x => Ok(x.map(|x| x as usize)),
    }
}

fn bind_train(bind: &BindInfo) -> Result<Bind> {
    let ctx = streaming_context::<Train>(bind).clone();
    let archs = arch_arg(bind)?;
    let trainer = trainer_arg(bind, ctx.clone())?;
    // Shards take whole architectures, so that an architecture's runs can train together.
    let jobs = archs
        .into_iter()
        .enumerate()
        .filter(|(pos, _)| ctx.in_shard(*pos))
        .flat_map(|(_, arch)| {
            let t = &trainer;
            t.datasets.iter().flat_map(move |&d| t.seeds.iter().map(move |&s| t.job(arch, d, s)))
        })
        .collect();
    Ok(Bind { trainer, jobs })
}

/// A call's training settings (`dataset`, `seed`, the protocol's, `fuse`, `attacks`, `n_eval`,
/// `data_dir`, `device`).
pub fn trainer_arg(bind: &BindInfo, ctx: TrainContext) -> Result<Trainer> {
    let datasets = datasets_arg(bind)?;
    let seeds = seeds_arg(bind, ctx.seed_param)?;
    let p = Protocol::paper();
    let train_steps = match opt_i64(bind, "train_steps") {
        Some(x) if x < 0 => bail!("train_steps must be non-negative, got {x}"),
        x => x.map_or(p.train_steps, |x| x as usize),
    };
    let train_attack = match opt_str(bind, "train_attack") {
        Some(s) => TrainAttack::parse(&s)?,
        None => p.train_attack,
    };
    let protocol = Protocol {
        epochs: positive(bind, "epochs")?.unwrap_or(p.epochs),
        batch_size: positive(bind, "batch_size")?.unwrap_or(p.batch_size),
        lr_max: opt_f64(bind, "lr_max")?.unwrap_or(p.lr_max),
        momentum: opt_f64(bind, "momentum")?.unwrap_or(p.momentum),
        weight_decay: opt_f64(bind, "weight_decay")?.unwrap_or(p.weight_decay),
        train_attack,
        train_eps: opt_f64(bind, "train_eps")?.unwrap_or(p.train_eps),
        train_alpha: opt_f64(bind, "train_alpha")?.unwrap_or(p.train_alpha),
        train_steps,
        n_train: positive(bind, "n_train")?,
        train_beta: opt_f64(bind, "train_beta")?.unwrap_or(p.train_beta),
        dtype: dtype_arg(bind)?.unwrap_or(p.dtype),
    };
    protocol.validate()?;
    let attacks = attacks_arg(bind)?;
    let n_eval = positive(bind, "n_eval")?.map(|n| n as i64);
    let compute = ctx.compute(bind)?;
    if ctx.catalog.read_only {
        bail!("the benchmark is open read-only");
    }
    let data_dir = opt_str(bind, "data_dir").map(PathBuf::from);
    let fuse = opt_bool(bind, "fuse");
    Ok(Trainer { ctx, datasets, seeds, protocol, fuse, attacks, n_eval, data_dir, compute })
}

impl Trainer {
    pub fn catalog(&self) -> &Arc<Store> {
        &self.ctx.catalog
    }

    /// Makes sure the runs are evaluated under `attack` too.
    pub fn ensure_attack(&mut self, attack: Attack) {
        if !self.attacks.contains(&attack) {
            self.attacks.push(attack);
        }
    }

    /// The run of `arch` on `dataset` from `seed` under these settings.
    pub fn job(&self, arch: i64, dataset: Dataset, seed: u64) -> Job {
        let name = self.protocol.name();
        let run_id = format!("{name}/{dataset}/{arch}/s{seed}");
        let dir = self.ctx.catalog.dir.join("checkpoints").join(run_id.replace('/', "-"));
        Job { arch, dataset, seed, run_id, dir }
    }

    /// The run's result: recorded, or trained now (by the worker, with `others`: runs of the
    /// same architecture and image size, which train together with it) and recorded.
    pub fn run(&self, job: &Job, others: &[&Job], label: &str) -> Result<TrainResult> {
        let r = match recorded(self, &job.dir)? {
            Some(r) => r,
            None => {
                let mut group = vec![job];
                for o in others {
                    if o.arch == job.arch
                        && o.dataset.resolution() == job.dataset.resolution()
                        && recorded(self, &o.dir)?.is_none()
                    {
                        group.push(o);
                    }
                }
                let label = match group.len() {
                    1 => label.to_string(),
                    n => format!("{label} with {} more", n - 1),
                };
                run_worker(self, &group, &label)?;
                for o in &group[1..] {
                    if let Some(r) = recorded(self, &o.dir)? {
                        record(self, o, &r)?;
                    }
                }
                recorded(self, &job.dir)?.ok_or_else(|| {
                    anyhow!("robbench-worker finished without a result in {}", job.dir.display())
                })?
            }
        };
        record(self, job, &r)?;
        Ok(r)
    }
}

/// A recorded result that covers this call's attacks and n_eval, if any.
fn recorded(b: &Trainer, dir: &Path) -> Result<Option<TrainResult>> {
    let path = dir.join("result.json");
    if !path.exists() {
        return Ok(None);
    }
    let r: TrainResult = worker::read(&path)?;
    let covers = b.attacks.iter().all(|a| r.evaluation.metrics.contains_key(a));
    let same_eval = r.n_eval_requested == b.n_eval;
    Ok((covers && same_eval).then_some(r))
}

fn run_worker(b: &Trainer, jobs: &[&Job], label: &str) -> Result<()> {
    let job = jobs[0];
    let request = Request::Train(TrainRequest {
        arch: job.arch,
        dataset: jobs.iter().map(|j| j.dataset).collect(),
        seed: jobs.iter().map(|j| j.seed).collect(),
        run_dir: jobs.iter().map(|j| j.dir.clone()).collect(),
        protocol: b.protocol.clone(),
        fuse: b.fuse,
        n_eval: b.n_eval,
        attacks: b.attacks.clone(),
        data_dir: b.data_dir.clone(),
        compute: b.compute.clone(),
        label: label.to_string(),
    });
    match worker::run(&request, &b.ctx.stop, &b.ctx.settings.progress)? {
        Ended::Done => Ok(()),
        Ended::Stopped => bail!(
            "stopped at a step boundary; run {} keeps its last epoch checkpoint in {} (run the statement again to resume)",
            job.run_id,
            job.dir.display()
        ),
    }
}

/// Writes the run's `runs` and `curves` rows, unless an earlier call already did.
fn record(b: &Trainer, job: &Job, r: &TrainResult) -> Result<()> {
    let c = &b.ctx.catalog;
    // Recorded already (a rerun, or another process that trained the same run at once): the
    // keys of both appends make recording it twice add nothing.
    if c.contains("runs", "run_id", &job.run_id)? {
        return Ok(());
    }
    let curves: Vec<Row> = r
        .curves
        .iter()
        .map(|e| {
            Row::new()
                .set("run_id", job.run_id.clone())
                .set("epoch", e.epoch)
                .set("lr", e.lr)
                .set("train_loss", e.train_loss)
                .set("train_adv_acc", e.train_adv_acc)
                .set("seconds", e.seconds)
        })
        .collect();
    // Curves first: a runs row is the mark of a fully recorded run.
    c.append_rows("curves", &curves, OnKey::Ignore)?;
    let run = protocol::row(&b.protocol.name(), &b.protocol)
        .set("run_id", job.run_id.clone())
        .set("arch", job.arch)
        .set("dataset", job.dataset.name())
        .set("seed", job.seed as i64)
        .set("n_train", r.n_train)
        .set("source", "trained")
        .set("device", r.device.clone())
        .set("started_at", rows::Val::Timestamp(r.started_at))
        .set("finished_at", rows::Val::Timestamp(r.finished_at))
        .set("train_seconds", r.train_seconds)
        .set("eval_seconds", r.eval_seconds)
        .set("checkpoint", b.ctx.relative(&r.checkpoint));
    c.append_rows("runs", &[run], OnKey::Ignore)?;
    Ok(())
}

/// The `metrics` row of a run.
pub fn metrics_row(b: &Trainer, job: &Job, r: &TrainResult) -> Row {
    let mut m = Row::new()
        .set("run_id", job.run_id.clone())
        .set("arch", job.arch)
        .set("dataset", job.dataset.name())
        .set("seed", job.seed as i64)
        .set("split", "test")
        .set("n_eval", r.evaluation.n_eval)
        .set("dtype", b.protocol.dtype.name());
    for a in &b.attacks {
        m = m.set(a.name(), r.evaluation.metrics.get(a).copied());
    }
    m.set("warnings", r.evaluation.warnings_text(&b.attacks))
}

pub struct Train;

impl Streaming for Train {
    type Context = TrainContext;
    const FUNCTION: &'static params::Function = &params::TRAIN;
}

impl VTab for Train {
    type BindData = Bind;
    type InitData = AtomicUsize;

    fn bind(bind: &BindInfo) -> Result<Bind, BoxError> {
        let b = bind_train(bind).map_err(|e| refusal(Train::FUNCTION, &e))?;
        declare(bind, &*b.trainer.ctx.catalog.schema("metrics")?)?;
        Ok(b)
    }

    fn init(_: &InitInfo) -> Result<AtomicUsize, BoxError> {
        Ok(AtomicUsize::new(0))
    }

    fn func(func: &TableFunctionInfo<Self>, output: &mut DataChunkHandle) -> Result<(), BoxError> {
        next_run(func.get_bind_data(), func.get_init_data(), output)
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(Train::FUNCTION.positional())
    }

    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        Some(Train::FUNCTION.named_parameters())
    }
}

/// Trains (or looks up) the next run and emits its metrics row: one row per call.
fn next_run(b: &Bind, cursor: &AtomicUsize, output: &mut DataChunkHandle) -> Result<(), BoxError> {
    let k = cursor.fetch_add(1, Ordering::SeqCst);
    let Some(job) = b.jobs.get(k) else {
        output.set_len(0);
        return Ok(());
    };
    let t = &b.trainer;
    let others: Vec<&Job> = b.jobs[k + 1..].iter().collect();
    let label = format!("run {}/{} arch {}", k + 1, b.jobs.len(), job.arch);
    let row = t
        .run(job, &others, &label)
        .map(|r| metrics_row(t, job, &r))
        .map_err(|e| refusal(Train::FUNCTION, &e))?;
    let batch = rows::to_batch(&t.ctx.catalog.schema("metrics")?, &[row])?;
    duckdb::vtab::record_batch_to_duckdb_data_chunk(&batch, output)?;
    output.set_len(1);
    Ok(())
}
