//! `evaluate_corruptions(run_id := ID | checkpoint := PATH, arch, dataset, corruptions,
//! severities, n_eval, data_dir, device)`: accuracy of a trained network on CIFAR-10-C or
//! CIFAR-100-C, one row per corruption and severity in the `corruptions` shape.
//!
//! The corruption folder is `data_dir :=`, else `$ROBBENCH_DATA/CIFAR-10-C` (or
//! `CIFAR-100-C`).

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use duckdb::vtab::BindInfo;
use robbench_vocab::worker::{Compute, CorruptionRow, CorruptionsRequest, Request};
use robbench_vocab::{Corruption, Dataset};

use super::evaluate::{network, Network};
use super::params;
use super::table_fn::{opt_i64, opt_str, opt_values, ComputeRows};
use super::train::TrainContext;
use crate::store::rows::{self, Row};
use crate::worker;

/// The `evaluate_corruptions()` table function.
pub struct EvaluateCorruptions;

pub struct Bind {
    ctx: TrainContext,
    net: Network,
    corruptions: Vec<Corruption>,
    severities: Vec<i64>,
    n_eval: Option<i64>,
    dir: PathBuf,
    compute: Compute,
}

impl ComputeRows for EvaluateCorruptions {
    type Context = TrainContext;
    type Bind = Bind;
    const FUNCTION: &'static params::Function = &params::EVALUATE_CORRUPTIONS;

    fn bind(bind: &BindInfo, ctx: &TrainContext) -> Result<Bind> {
        let net = network(bind, ctx)?;
        let folder = match net.dataset {
            Dataset::Cifar10 => "CIFAR-10-C",
            Dataset::Cifar100 => "CIFAR-100-C",
            other => {
                bail!("corruption benchmarks exist for cifar10 and cifar100, not {other}")
            }
        };
        let corruptions: Vec<Corruption> = match opt_values(bind, "corruptions") {
            None => Corruption::ALL.to_vec(),
            Some(v) => {
                v.iter().map(|x| Corruption::parse(&x.to_string())).collect::<Result<_>>()?
            }
        };
        let severities: Vec<i64> = match opt_values(bind, "severities") {
            None => Corruption::SEVERITIES.collect(),
            Some(v) => v.iter().map(|x| x.to_int64()).collect(),
        };
        if let Some(s) = severities.iter().find(|s| !Corruption::SEVERITIES.contains(*s)) {
            bail!("severity {s} is not in 1..5");
        }
        if corruptions.is_empty() || severities.is_empty() {
            bail!("nothing to evaluate (empty corruptions or severities)");
        }
        let n_eval = opt_i64(bind, "n_eval");
        if n_eval.is_some_and(|n| n <= 0) {
            bail!("n_eval must be positive");
        }
        let dir = match opt_str(bind, "data_dir") {
            Some(d) => PathBuf::from(d),
            None => std::env::var_os("ROBBENCH_DATA")
                .map(|d| PathBuf::from(d).join(folder))
                .ok_or_else(|| {
                    anyhow!("where is {folder}? pass data_dir := '...' or set ROBBENCH_DATA")
                })?,
        };
        if !dir.is_dir() {
            bail!("{} is not a folder", dir.display());
        }
        let compute = ctx.compute(bind)?;
        Ok(Bind { ctx: ctx.clone(), net, corruptions, severities, n_eval, dir, compute })
    }

    fn schema(b: &Bind) -> Result<SchemaRef> {
        b.ctx.catalog.schema("corruptions")
    }

    fn compute(b: &Bind) -> Result<RecordBatch> {
        let out =
            std::env::temp_dir().join(format!("robbench-corruptions-{}.json", std::process::id()));
        let request = Request::Corruptions(CorruptionsRequest {
            arch: b.net.arch,
            dataset: b.net.dataset,
            checkpoint: b.net.checkpoint.clone(),
            data_dir: b.dir.clone(),
            corruptions: b.corruptions.clone(),
            severities: b.severities.clone(),
            n_eval: b.n_eval,
            compute: b.compute.clone(),
            out: out.clone(),
        });
        let ended = worker::run(&request, &b.ctx.stop, &b.ctx.settings.progress)?;
        if ended == worker::Ended::Stopped {
            bail!("stopped");
        }
        let result: Result<Vec<CorruptionRow>> = worker::read(&out);
        let _ = std::fs::remove_file(&out);
        let rows: Vec<Row> = result?
            .into_iter()
            .map(|e| {
                Row::new()
                    .set("run_id", b.net.run_id.clone())
                    .set("corruption", e.corruption.name())
                    .set("severity", e.severity)
                    .set("accuracy", e.accuracy)
                    .set("n_eval", e.n_eval)
            })
            .collect();
        rows::to_batch(&b.ctx.catalog.schema("corruptions")?, &rows)
    }
}
