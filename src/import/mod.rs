//! Published releases read into rows of the benchmark tables. No database here: the SQL
//! functions `read_nasrobbench201` and `read_robustness_dataset` wrap these readers.

pub mod nasrobbench201;
pub mod robustness;

use std::path::Path;

use anyhow::{bail, Result};
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
    Ok(match key {
        "cifar10" => "cifar10",
        "cifar100" => "cifar100",
        "imagenet" | "ImageNet16-120" | "imagenet16-120" | "ImageNet16" => "imagenet16-120",
        other => bail!("unknown data set '{other}' (expected cifar10, cifar100 or imagenet)"),
    })
}

/// Where imported rows came from: the file and its content hash.
pub fn provenance(path: &Path, bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{} sha256:{hex}", path.display())
}

pub struct ProtocolDefaults {
    pub protocol: &'static str,
    pub epochs: i64,
    pub batch_size: i64,
    pub lr_max: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    pub train_attack: &'static str,
    pub train_eps: f64,
    pub train_alpha: f64,
    pub train_steps: i64,
    pub n_train: i64,
}

pub fn protocol_row(p: &ProtocolDefaults) -> Row {
    Row::new()
        .set("protocol", p.protocol)
        .set("epochs", p.epochs)
        .set("batch_size", p.batch_size)
        .set("lr_max", p.lr_max)
        .set("momentum", p.momentum)
        .set("weight_decay", p.weight_decay)
        .set("train_attack", p.train_attack)
        .set("train_eps", p.train_eps)
        .set("train_alpha", p.train_alpha)
        .set("train_steps", p.train_steps)
        .set("n_train", p.n_train)
}
