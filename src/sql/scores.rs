//! `scores(arch, dataset := 'cifar10', score := 'ntk_robust', ...)`: training-free scores of each
//! listed architecture, as rows of the `scores` table, so `INSERT INTO scores FROM scores(...)`
//! records them.
//!
//! The `robbench-worker scores` process computes them and appends each architecture's values to
//! a cache file under `<bench>/cache/scores/`, one file per configuration (everything but the
//! architectures and score names). A repeated call returns the cached values without computing
//! again, and an interrupted call keeps the architectures it finished.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use duckdb::core::LogicalTypeId;
use duckdb::vtab::BindInfo;
use robbench_vocab::worker::{Compute, ImageSource, Request, ScoreLine, ScoresRequest};
use robbench_vocab::{Dataset, Dtype, Score, ScoreAttack};
use sha2::{Digest, Sha256};

use super::params;
use super::table_fn::{arch_arg, opt_bool, opt_f64, opt_i64, opt_str, ComputeRows};
use super::train::{dataset_arg, dtype_arg, TrainContext};
use crate::store::rows::{self, Row};
use crate::worker;

/// The `scores()` table function.
pub struct Scores;

/// One call's configuration: everything that decides a value besides the architecture and score.
#[derive(Clone, Debug)]
struct Setup {
    dataset: Dataset,
    batch_size: i64,
    batch_offset: i64,
    eps: Option<f64>,
    attack: ScoreAttack,
    beta: f64,
    seed: u64,
    /// None = the default (true at initialisation, false for a checkpoint).
    train_mode: Option<bool>,
    checkpoint: Option<PathBuf>,
    source: ImageSource,
    dtype: Dtype,
}

impl Setup {
    /// The cache key: the configuration, with the checkpoint's contents rather than its path.
    /// Its format is frozen: caches already written are found by it.
    fn key(&self) -> Result<String> {
        let ckpt = match &self.checkpoint {
            None => String::new(),
            Some(p) => {
                let bytes = std::fs::read(p)
                    .with_context(|| format!("cannot read checkpoint {}", p.display()))?;
                format!("{:x}", Sha256::digest(&bytes))
            }
        };
        let text = format!(
            "{}|{}|{}|{:?}|{}|{}|{}|{:?}|{}|{}",
            self.dataset,
            self.batch_size,
            self.batch_offset,
            self.eps.map(f64::to_bits),
            self.attack,
            self.beta.to_bits(),
            self.seed,
            self.train_mode,
            ckpt,
            self.source
        );
        // Settings added later enter the key only when they differ from the default.
        let text = match self.dtype {
            Dtype::Fp32 => text,
            p => format!("{text}|{p}"),
        };
        Ok(format!("{:x}", Sha256::digest(text.as_bytes()))[..16].to_string())
    }
}

pub struct Bind {
    ctx: TrainContext,
    archs: Vec<i64>,
    scores: Vec<Score>,
    setup: Setup,
    data_dir: Option<PathBuf>,
    compute: Compute,
}

fn score_names(bind: &BindInfo) -> Result<Vec<Score>> {
    let names: Vec<String> = match bind.get_named_parameter("score").filter(|v| !v.is_null()) {
        None => vec![Score::NtkRobust.name().into()],
        Some(v) if v.logical_type_id() == LogicalTypeId::List => {
            v.to_list().unwrap_or_default().iter().map(|x| x.to_string()).collect()
        }
        Some(v) => vec![v.to_string()],
    };
    if names.is_empty() {
        bail!("the score list is empty");
    }
    names.iter().map(|n| Score::parse(n)).collect()
}

/// Cached values of one configuration: (arch, score) -> the worker's line.
fn read_cache(path: &Path) -> HashMap<(i64, Score), ScoreLine> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    // A line cut short by a crash is skipped: its architecture is computed again.
    text.lines()
        .filter_map(|l| serde_json::from_str::<ScoreLine>(l).ok())
        .map(|j| ((j.arch, j.score), j))
        .collect()
}

fn run_worker(b: &Bind, archs: &[i64], out: &Path) -> Result<()> {
    let s = &b.setup;
    let request = Request::Scores(ScoresRequest {
        archs: archs.to_vec(),
        dataset: s.dataset,
        scores: b.scores.clone(),
        batch_size: s.batch_size,
        batch_offset: s.batch_offset,
        eps: s.eps,
        attack: s.attack,
        beta: s.beta,
        seed: s.seed,
        train_mode: s.train_mode,
        checkpoint: s.checkpoint.clone(),
        source: s.source,
        data_dir: b.data_dir.clone(),
        dtype: s.dtype,
        compute: b.compute.clone(),
        out: out.to_path_buf(),
    });
    match worker::run(&request, &b.ctx.stop, &b.ctx.settings.progress)? {
        worker::Ended::Done => Ok(()),
        worker::Ended::Stopped => bail!(
            "stopped; the architectures already scored are kept (run the statement again to finish)"
        ),
    }
}

impl ComputeRows for Scores {
    type Context = TrainContext;
    type Bind = Bind;
    const FUNCTION: &'static params::Function = &params::SCORES;

    fn bind(bind: &BindInfo, ctx: &TrainContext) -> Result<Bind> {
        let archs = arch_arg(bind)?;
        let scores = score_names(bind)?;
        let dataset = dataset_arg(bind)?;
        let batch_size = opt_i64(bind, "batch_size").unwrap_or(64);
        let batch_offset = opt_i64(bind, "batch_offset").unwrap_or(0);
        if batch_size <= 0 {
            bail!("batch_size must be positive, got {batch_size}");
        }
        if batch_offset < 0 {
            bail!("batch_offset must be non-negative, got {batch_offset}");
        }
        let source = opt_str(bind, "source").unwrap_or_else(|| ImageSource::Test.name().into());
        let source = ImageSource::parse(&source).map_err(|_| {
            anyhow!("source must be 'test' (the evaluation split) or 'noise', got '{source}'")
        })?;
        if source == ImageSource::Test {
            let n = dataset.eval_size();
            if batch_offset + batch_size > n {
                bail!(
                    "images {batch_offset}..{} asked for, but the {dataset} evaluation split has {n} images",
                    batch_offset + batch_size
                );
            }
        }
        let eps = opt_f64(bind, "eps")?;
        if let Some(e) = eps {
            if !(0.0..=1.0).contains(&e) {
                bail!("eps must be in [0, 1] (images are in [0, 1]), got {e}");
            }
        }
        let beta = opt_f64(bind, "beta")?.unwrap_or(0.5);
        if !(0.0..=1.0).contains(&beta) {
            bail!("beta must be in [0, 1], got {beta}");
        }
        let attack = opt_str(bind, "attack").unwrap_or_else(|| ScoreAttack::Pgd.name().into());
        let attack = ScoreAttack::parse(&attack)
            .map_err(|_| anyhow!("attack must be 'fgsm' or 'pgd', got '{attack}'"))?;
        let seed = opt_i64(bind, "seed").unwrap_or(0);
        if seed < 0 {
            bail!("seed must be non-negative, got {seed}");
        }
        let checkpoint = opt_str(bind, "checkpoint").map(PathBuf::from);
        if let Some(p) = &checkpoint {
            if !p.is_file() {
                bail!("checkpoint {} does not exist", p.display());
            }
            if archs.len() != 1 {
                bail!("a checkpoint holds one architecture; {} were listed", archs.len());
            }
        }
        let train_mode = opt_bool(bind, "train_mode");
        let compute = ctx.compute(bind)?;
        let archs = archs.into_iter().enumerate().filter(|(p, _)| ctx.in_shard(*p)).map(|(_, a)| a);
        let archs = archs.collect();
        let setup = Setup {
            dataset,
            batch_size,
            batch_offset,
            eps,
            attack,
            beta,
            seed: seed as u64,
            train_mode,
            checkpoint,
            source,
            dtype: dtype_arg(bind)?.unwrap_or_default(),
        };
        let data_dir = opt_str(bind, "data_dir").map(PathBuf::from);
        Ok(Bind { ctx: ctx.clone(), archs, scores, setup, data_dir, compute })
    }

    fn schema(b: &Bind) -> Result<SchemaRef> {
        b.ctx.catalog.schema("scores")
    }

    fn compute(b: &Bind) -> Result<RecordBatch> {
        let c = &b.ctx.catalog;
        // A read-only benchmark keeps no cache: values live as long as the statement.
        let scratch;
        let dir = if c.read_only {
            scratch = std::env::temp_dir().join(format!("robbench-scores-{}", std::process::id()));
            scratch.clone()
        } else {
            c.dir.join("cache").join("scores")
        };
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(format!("{}.jsonl", b.setup.key()?));
        let mut cache = read_cache(&path);
        let missing: Vec<i64> = b
            .archs
            .iter()
            .copied()
            .filter(|&a| b.scores.iter().any(|&s| !cache.contains_key(&(a, s))))
            .collect();
        if !missing.is_empty() {
            let result = run_worker(b, &missing, &path);
            cache = read_cache(&path);
            if c.read_only {
                let _ = std::fs::remove_dir_all(&dir);
            }
            result?;
        }
        let s = &b.setup;
        let mut out = Vec::new();
        for &arch in &b.archs {
            for &score in &b.scores {
                let j = cache.get(&(arch, score)).ok_or_else(|| {
                    anyhow!("robbench-worker left no value for arch {arch}, {score}")
                })?;
                out.push(
                    Row::new()
                        .set("arch", arch)
                        .set("dataset", s.dataset.name())
                        .set("score", score.name())
                        .set("value", j.value)
                        .set("batch_size", s.batch_size)
                        .set("seed", s.seed as i64)
                        .set("eps", j.eps)
                        .set("beta", j.beta)
                        .set("seconds", j.seconds)
                        .set("attack", j.attack.map(|a| a.name()))
                        .set("batch_offset", s.batch_offset)
                        .set("train_mode", j.train_mode)
                        .set("checkpoint", s.checkpoint.as_ref().map(|p| p.display().to_string()))
                        .set("source", s.source.name())
                        .set("dtype", s.dtype.name()),
                );
            }
        }
        rows::to_batch(&c.schema("scores")?, &out)
    }
}
