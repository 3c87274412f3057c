//! Several runs of one cell as one network: their variables side by side, and back.

use std::collections::HashMap;

use tch::{nn, Device, Tensor};

use super::RunState;
use crate::model::{self, Head, Network};
use crate::space::Cell;
use robbench_vocab::Protocol;

/// The variables of several runs' networks as one fused network's: each variable the runs'
/// variables of that name, concatenated along the first dimension.
pub(super) fn fuse(
    runs: &[RunState],
    device: Device,
    cell: &Cell,
    p: &Protocol,
) -> (nn::VarStore, Network) {
    let heads: Vec<Head> = runs
        .iter()
        .map(|r| Head {
            num_classes: r.spec.dataset.num_classes(),
            norm: r.spec.dataset.normalization(),
        })
        .collect();
    let vs = nn::VarStore::new(device);
    let mut net = model::network_of_runs(&vs.root(), cell, &heads);
    net.set_dtype(p.dtype);
    net.tune_for(device);
    let parts: Vec<HashMap<String, Tensor>> = runs.iter().map(|r| r.vars()).collect();
    tch::no_grad(|| {
        for (name, mut var) in vs.variables() {
            let pieces: Vec<&Tensor> = parts.iter().map(|m| &m[&name]).collect();
            var.copy_(&Tensor::cat(&pieces, 0));
        }
    });
    (vs, net)
}

/// Where each run's rows of each fused variable start, and how many there are.
pub(super) fn shares(runs: &[RunState]) -> Vec<HashMap<String, (i64, i64)>> {
    let mut next: HashMap<String, i64> = HashMap::new();
    runs.iter()
        .map(|r| {
            r.vars()
                .into_iter()
                .map(|(name, v)| {
                    let len = v.size()[0];
                    let start = next.entry(name.clone()).or_insert(0);
                    let at = (*start, len);
                    *start += len;
                    (name, at)
                })
                .collect()
        })
        .collect()
}

/// Copies the fused network's variables back into each run's own network.
pub(super) fn unfuse(fused: &nn::VarStore, runs: &mut [RunState]) {
    let all = fused.variables();
    let at = shares(runs);
    tch::no_grad(|| {
        for (r, at) in runs.iter().zip(&at) {
            for (name, mut var) in r.vars() {
                let (start, len) = at[&name];
                var.copy_(&all[&name].narrow(0, start, len));
            }
        }
    });
}
