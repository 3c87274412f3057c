//! `corruptions`: accuracy of a trained network on CIFAR-10-C / CIFAR-100-C, per corruption and
//! severity, written to `out`.

use anyhow::{bail, Result};
use robbench_vocab::durable;
use robbench_vocab::worker::{CorruptionRow, CorruptionsRequest, EVAL_BATCH};
use tch::Kind;

use super::{setup, Outcome};
use crate::data::corruptions;
use crate::space::Space;
use crate::{attack, checkpoint, train};

pub fn run(r: CorruptionsRequest) -> Result<Outcome> {
    let cell = Space::get().cell(r.arch)?;
    if !r.dataset.has_corruptions() {
        bail!("corruption benchmarks exist for cifar10 and cifar100, not {}", r.dataset);
    }
    let device = setup(&r.compute)?;
    let (mut vs, mut net) = train::init(&cell, r.dataset, 0, device);
    net.tune_for(device);
    checkpoint::load(&mut vs, &r.checkpoint)?;
    let mut rows = Vec::new();
    for &c in &r.corruptions {
        for &severity in &r.severities {
            let split = corruptions::load(&r.data_dir, c.name(), severity, r.n_eval)?;
            let top = split.labels.max().int64_value(&[]);
            if top >= r.dataset.num_classes() || split.labels.min().int64_value(&[]) < 0 {
                bail!(
                    "{}: labels outside 0..{} for {}",
                    r.data_dir.join("labels.npy").display(),
                    r.dataset.num_classes() - 1,
                    r.dataset
                );
            }
            let n = split.len();
            let mut correct = 0;
            let mut start = 0;
            while start < n {
                let len = EVAL_BATCH.min(n - start);
                let (x, y) = split.range(start, len, device);
                correct += attack::correct(&net, &x, &y.to_kind(Kind::Int64));
                start += len;
            }
            rows.push(CorruptionRow {
                corruption: c,
                severity,
                accuracy: correct as f64 / n as f64,
                n_eval: n,
            });
        }
    }
    durable::write_json(&r.out, &rows)?;
    Ok(Outcome::Done)
}
