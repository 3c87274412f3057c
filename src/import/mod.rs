//! Published releases read into rows of the benchmark tables. No database here: the SQL
//! functions `read_nasrobbench201` and `read_robustness_dataset` wrap these readers.

pub mod nasrobbench201;
pub mod robustness;

use std::path::Path;

use anyhow::{bail, Result};
use robbench_vocab::Dataset;
use sha2::{Digest, Sha256};

use crate::store::rows::Row;

/// Rows for `runs` and for `metrics`, in matching order.
#[derive(Default, Debug)]
pub struct Imported {
    pub runs: Vec<Row>,
    pub metrics: Vec<Row>,
}

/// The releases' data set keys, as robbench names them.
pub fn dataset_name(key: &str) -> Result<&'static str> {
    let d = match key {
        "cifar10" => Dataset::Cifar10,
        "cifar100" => Dataset::Cifar100,
        "imagenet" | "ImageNet16-120" | "imagenet16-120" | "ImageNet16" => Dataset::ImageNet16,
        other => bail!("unknown data set '{other}' (expected cifar10, cifar100 or imagenet)"),
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
