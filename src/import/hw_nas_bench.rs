//! HW-NAS-Bench's release, `HW-NAS-Bench-v1_0.pickle` (Li et al., ICLR 2021): under
//! `nasbench201`, per data set (`cifar10`, `cifar100`, `ImageNet16-120`), per metric
//! (`edgegpu_latency`, `edgegpu_energy`, `raspi4_latency`, ...), a list of 15,625 values in
//! NB201's index order. Each cell and device becomes a `hardware` row; `config` (the network's
//! settings) and the arithmetic intensity are not stored. Read without Python
//! ([`robbench_vocab::pickle`]); `dataset :=` keeps one data set.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use robbench_space::N_ARCHS;
use robbench_vocab::pickle::{self, Value};
use robbench_vocab::HwDevice;

use super::companion::{self, Cost, Measure, Origin};
use super::zc_combine::read_bytes;
use super::{dataset_name, Imported, Options};

fn text(k: &Value) -> Option<&str> {
    match k {
        Value::Str(s) => Some(s),
        _ => None,
    }
}

pub fn read(path: &Path, o: &Options, label: &str) -> Result<Imported> {
    let (dataset, progress) = (o.dataset.as_deref(), &o.progress);
    let file = path.display();
    let (bytes, prov) = read_bytes(path)?;
    let root = pickle::parse(&bytes).with_context(|| format!("{file}: not a readable pickle"))?;
    let space = root.get("nasbench201").ok_or_else(|| {
        anyhow!("{file}: no key 'nasbench201' (HW-NAS-Bench's NAS-Bench-201 part)")
    })?;
    let Value::Dict(tasks) = space else { bail!("{file}: 'nasbench201' is not a dict") };
    let only = dataset.map(dataset_name).transpose()?;
    let mut out = Imported::default();
    let mut bar = progress.task(label, tasks.len() as u64);
    for (task, metrics) in tasks {
        bar.inc(1);
        let task = text(task).ok_or_else(|| anyhow!("{file}: a data set key is not text"))?;
        let name = dataset_name(task).with_context(|| format!("{file}: nasbench201 / {task}"))?;
        if only.is_some_and(|d| d != name) {
            continue;
        }
        let origin = Origin { dataset: name, provenance: &prov };
        let Value::Dict(metrics) = metrics else {
            bail!("{file}: nasbench201 / {task} is not a dict of metrics")
        };
        let mut costs: Vec<(HwDevice, Vec<Cost>)> = Vec::new();
        for (key, values) in metrics {
            let key = text(key).ok_or_else(|| anyhow!("{file}: a metric key is not text"))?;
            let at = format!("{file}: nasbench201 / {task} / {key}");
            let (device, cost) = match companion::measure(key) {
                Some(Measure::Hardware(d, c)) => (d, c),
                Some(Measure::Skipped) => continue,
                _ if key == "config" => continue,
                _ => bail!("{at}: unknown metric (expected config or {})", device_metrics()),
            };
            let values = numbers(values).with_context(|| at.clone())?;
            if values.len() != N_ARCHS {
                bail!("{at}: {} values, expected one per cell ({N_ARCHS})", values.len());
            }
            let slot = match costs.iter().position(|(d, _)| *d == device) {
                Some(k) => k,
                None => {
                    costs.push((device, vec![Cost::default(); N_ARCHS]));
                    costs.len() - 1
                }
            };
            for (arch, v) in values.into_iter().enumerate() {
                let v = companion::finite(v).with_context(|| format!("{at}[{arch}]"))?;
                costs[slot].1[arch].set(cost, v).with_context(|| format!("{at}[{arch}]"))?;
            }
        }
        for (device, per_arch) in costs {
            for (arch, cost) in per_arch.into_iter().enumerate() {
                out.hardware.push(companion::hardware_row(
                    &origin,
                    arch,
                    device,
                    cost,
                    companion::HW_NAS_BENCH,
                ));
            }
        }
    }
    if out.hardware.is_empty() {
        match only {
            Some(d) => bail!("{file}: no hardware metrics for {d}"),
            None => bail!("{file}: no hardware metrics"),
        }
    }
    Ok(out)
}

/// A list of numbers: Python floats or numpy scalars, or a numpy array of them.
fn numbers(v: &Value) -> Result<Vec<f64>> {
    match v {
        Value::List(items) | Value::Tuple(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| {
                pickle::as_number(x)
                    .ok_or_else(|| anyhow!("[{i}] is {}, not a number", pickle::describe(x)))
            })
            .collect(),
        other => {
            let a = pickle::as_array(other).context("expected a list of numbers")?;
            match a.dtype.trim_start_matches(['<', '=']) {
                "f8" => Ok(a
                    .data
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect()),
                "f4" => Ok(a
                    .data
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")) as f64)
                    .collect()),
                d => bail!("a numpy array of dtype {d}, expected float64 or float32"),
            }
        }
    }
}

fn device_metrics() -> String {
    HwDevice::ALL
        .iter()
        .map(|d| {
            if d.has_energy() {
                format!("{d}_latency, {d}_energy")
            } else {
                format!("{d}_latency")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
