//! `evaluate_corruptions(run_id := ID | checkpoint := PATH, arch, dataset, corruptions,
//! severities, n_eval, data_dir, device)`: accuracy of a trained network on CIFAR-10-C or
//! CIFAR-100-C, one row per corruption and severity in the `corruptions` shape.
//!
//! The corruption folder is `data_dir :=`, else `$ROBBENCH_DATA/CIFAR-10-C` (or
//! `CIFAR-100-C`).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};
use arrow::record_batch::RecordBatch;
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use serde_json::Value as Json;

use super::evaluate::{network, Network};
use super::table_fn::{any_type, declare, opt_i64, opt_str, BoxError, Computed};
use super::train::{worker, TrainContext};
use crate::store::rows::{self, Row};

/// The 15 standard corruptions (robbench-core checks the files against the same list).
pub const CORRUPTIONS: [&str; 15] = [
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur", "zoom_blur", "snow", "frost", "fog",
    "brightness", "contrast", "elastic_transform", "pixelate", "jpeg_compression",
];

pub struct Bind {
    ctx: TrainContext,
    net: Network,
    corruptions: Vec<String>,
    severities: Vec<i64>,
    n_eval: Option<i64>,
    dir: PathBuf,
    device: String,
}

fn bind_corruptions(bind: &BindInfo) -> Result<Bind> {
    let ctx = unsafe { &*bind.get_extra_info::<TrainContext>() }.clone();
    let net = network(bind, &ctx, "evaluate_corruptions")?;
    let folder = match net.dataset.as_str() {
        "cifar10" => "CIFAR-10-C",
        "cifar100" => "CIFAR-100-C",
        other => bail!("evaluate_corruptions: corruption benchmarks exist for cifar10 and cifar100, not {other}"),
    };
    let corruptions: Vec<String> = match bind.get_named_parameter("corruptions").filter(|v| !v.is_null()) {
        None => CORRUPTIONS.map(String::from).to_vec(),
        Some(v) => v.to_list().ok_or_else(|| anyhow!("evaluate_corruptions: corruptions must be a list"))?.iter().map(|x| x.to_string()).collect(),
    };
    for c in &corruptions {
        if !CORRUPTIONS.contains(&c.as_str()) {
            bail!("evaluate_corruptions: unknown corruption '{c}' (expected {})", CORRUPTIONS.join(", "));
        }
    }
    let severities: Vec<i64> = match bind.get_named_parameter("severities").filter(|v| !v.is_null()) {
        None => (1..=5).collect(),
        Some(v) => v.to_list().ok_or_else(|| anyhow!("evaluate_corruptions: severities must be a list"))?.iter().map(|x| x.to_int64()).collect(),
    };
    if let Some(s) = severities.iter().find(|s| !(1..=5).contains(*s)) {
        bail!("evaluate_corruptions: severity {s} is not in 1..5");
    }
    if corruptions.is_empty() || severities.is_empty() {
        bail!("evaluate_corruptions: nothing to evaluate (empty corruptions or severities)");
    }
    let n_eval = opt_i64(bind, "n_eval");
    if n_eval.is_some_and(|n| n <= 0) {
        bail!("evaluate_corruptions: n_eval must be positive");
    }
    let dir = match opt_str(bind, "data_dir") {
        Some(d) => PathBuf::from(d),
        None => std::env::var_os("ROBBENCH_DATA")
            .map(|d| PathBuf::from(d).join(folder))
            .ok_or_else(|| anyhow!("evaluate_corruptions: where is {folder}? pass data_dir := '...' or set ROBBENCH_DATA"))?,
    };
    if !dir.is_dir() {
        bail!("evaluate_corruptions: {} is not a folder", dir.display());
    }
    let device = opt_str(bind, "device").or(ctx.settings.device.clone()).unwrap_or_else(|| "auto".into());
    crate::parse_device(&device).map_err(|e| anyhow!("evaluate_corruptions: {e}"))?;
    Ok(Bind { ctx, net, corruptions, severities, n_eval, dir, device })
}

fn compute(b: &Bind) -> Result<RecordBatch> {
    let out = std::env::temp_dir().join(format!("robbench-corruptions-{}.json", std::process::id()));
    let list = |v: Vec<String>| v.join(",");
    let mut cmd = Command::new(worker()?);
    cmd.arg("corruptions")
        .args(["--arch", &b.net.arch.to_string(), "--dataset", &b.net.dataset])
        .arg("--checkpoint")
        .arg(&b.net.checkpoint)
        .arg("--data-dir")
        .arg(&b.dir)
        .args(["--corruptions", &b.corruptions.join(","), "--severities", &list(b.severities.iter().map(i64::to_string).collect())])
        .args(["--device", &b.device])
        .arg("--out")
        .arg(&out);
    if let Some(n) = b.n_eval {
        cmd.args(["--n-eval", &n.to_string()]);
    }
    if let Some(t) = b.ctx.settings.threads {
        cmd.args(["--threads", &t.to_string()]);
    }
    let status = cmd.status().context("cannot start robbench-worker")?;
    if !status.success() {
        bail!("evaluate_corruptions: robbench-worker failed ({status}); see the message above");
    }
    let text = std::fs::read_to_string(&out).with_context(|| format!("evaluate_corruptions: no result in {}", out.display()))?;
    let _ = std::fs::remove_file(&out);
    let r: Json = serde_json::from_str(&text)?;
    let rows: Vec<Row> = r
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|e| {
            Row::new()
                .set("run_id", b.net.run_id.clone())
                .set("corruption", e["corruption"].as_str().map(str::to_string))
                .set("severity", e["severity"].as_i64())
                .set("accuracy", e["accuracy"].as_f64())
                .set("n_eval", e["n_eval"].as_i64())
        })
        .collect();
    rows::to_batch(&b.ctx.catalog.schema("corruptions")?, &rows)
}

pub struct EvaluateCorruptions;

impl VTab for EvaluateCorruptions {
    type BindData = Bind;
    type InitData = Computed;

    fn bind(bind: &BindInfo) -> Result<Bind, BoxError> {
        let b = bind_corruptions(bind).map_err(|e| format!("{e:#}"))?;
        declare(bind, &*b.ctx.catalog.schema("corruptions")?)?;
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
            ("seed".into(), t(LogicalTypeId::Bigint)),
            ("corruptions".into(), LogicalTypeHandle::list(&t(LogicalTypeId::Varchar))),
            ("severities".into(), LogicalTypeHandle::list(&t(LogicalTypeId::Bigint))),
            ("n_eval".into(), t(LogicalTypeId::Bigint)),
            ("data_dir".into(), t(LogicalTypeId::Varchar)),
            ("device".into(), t(LogicalTypeId::Varchar)),
        ])
    }
}
