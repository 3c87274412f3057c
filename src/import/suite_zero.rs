//! NAS-Bench-Suite-Zero's release for NAS-Bench-201, `zc_nasbench201.json` (Krishnakumar et
//! al., NeurIPS 2022 Datasets and Benchmarks): per data set (`cifar10`, `cifar100`,
//! `ImageNet16-120`), per cell (NASLib's op tuple as the key), each proxy's `score` and the
//! seconds it took (`time`), and NB201's `val_accuracy` (percent). The proxies become `scores`
//! rows, the accuracy a `standard` row; `dataset :=` keeps one data set.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use robbench_vocab::StandardAttack;
use serde_json::Value;

use super::companion::{self, Measure, Origin};
use super::zc_combine::{parse_net, read_bytes};
use super::{dataset_name, Imported, Options};

pub fn read(path: &Path, o: &Options, label: &str) -> Result<Imported> {
    let (dataset, progress) = (o.dataset.as_deref(), &o.progress);
    let file = path.display();
    let (bytes, prov) = read_bytes(path)?;
    let doc: Value =
        serde_json::from_slice(&bytes).with_context(|| format!("{file}: not valid JSON"))?;
    let Value::Object(tasks) = doc else {
        bail!("{file}: expected an object of data sets (cifar10, cifar100, ImageNet16-120)")
    };
    let only = dataset.map(dataset_name).transpose()?;
    let mut out = Imported::default();
    let mut bar = progress.task(label, tasks.len() as u64);
    for (task, cells) in &tasks {
        bar.inc(1);
        let name = dataset_name(task).with_context(|| format!("{file}: key '{task}'"))?;
        if only.is_some_and(|d| d != name) {
            continue;
        }
        let origin = Origin { dataset: name, provenance: &prov };
        let Value::Object(cells) = cells else {
            bail!("{file}: '{task}' is not an object of cells")
        };
        for (net, entry) in cells {
            let at = |what: &str| format!("{file}: {task} / {net} / {what}");
            let arch = parse_net(net).with_context(|| at("the key"))?;
            let Value::Object(entry) = entry else { bail!("{} is not an object", at("the cell")) };
            for (key, v) in entry {
                if key == "id" {
                    continue; // NASLib's own numbering, not NB201's index
                }
                match companion::measure(key) {
                    Some(Measure::Proxy(p)) => {
                        let score = number(v.get("score")).with_context(|| at(key))?;
                        let time = v.get("time").map(|t| number(Some(t))).transpose();
                        let time = time.with_context(|| at(&format!("{key}.time")))?;
                        out.scores.push(companion::proxy_row(
                            &origin,
                            arch,
                            p,
                            score,
                            time,
                            companion::SUITE_ZERO,
                        ));
                    }
                    Some(Measure::Standard { attack: StandardAttack::Clean, .. }) => {
                        let acc = number(Some(v)).with_context(|| at(key))?;
                        out.standard.push(
                            companion::standard_row(
                                &origin,
                                arch,
                                StandardAttack::Clean,
                                0.0,
                                acc,
                                companion::SUITE_ZERO,
                            )
                            .with_context(|| at(key))?,
                        );
                    }
                    _ => bail!(
                        "{}: unknown key (expected id, val_accuracy or a proxy: {})",
                        at(key),
                        robbench_vocab::names(robbench_vocab::Proxy::ALL, |p| p.name())
                    ),
                }
            }
        }
    }
    if out.scores.is_empty() && out.standard.is_empty() {
        match only {
            Some(d) => bail!("{file}: no cells for {d}"),
            None => bail!("{file}: no cells"),
        }
    }
    Ok(out)
}

fn number(v: Option<&Value>) -> Result<f64> {
    let v = v.ok_or_else(|| anyhow!("no 'score'"))?;
    v.as_f64().ok_or_else(|| anyhow!("{v} is not a number")).and_then(companion::finite)
}
