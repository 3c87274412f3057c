//! The robustness dataset of Jung et al. (ICLR 2023): NAS-Bench-201 networks after standard
//! (not adversarial) training, attacked at several radii.
//!
//! Layout: `meta.json` with `ids` (the cell strings in NAS-Bench-201 order, checked against ours),
//! `isomorph` and `epsilons` (one list shared by all attacks, or one list per attack key); and per
//! data set a folder of `<key>_accuracy.json` files holding `[dataset][key]["accuracy"][uid]`: a
//! number for `clean`, and for an attack a list aligned with that attack's epsilons. Radii of
//! 3/255 and 8/255 fill the benchmark's columns; other radii have no column and are skipped.
//! Accuracies given in percent (any value above 1) are scaled to fractions.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use robbench_space::Space;
use serde_json::Value;

use super::{dataset_name, full_train_size, provenance, test_metrics, Imported};
use crate::protocol::{self, Protocol};
use robbench_vocab::progress::Progress;
use robbench_vocab::TrainAttack;

pub const SOURCE: &str = "robustness-dataset";
const PROTOCOL: &str = "standard";

/// Attack key prefixes and the benchmark column stem they fill.
const ATTACKS: [(&str, &str); 4] =
    [("fgsm", "fgsm"), ("pgd", "pgd"), ("aa_apgd-ce", "apgd"), ("aa_square", "square")];

fn column_for(stem: &str, eps: f64) -> Option<&'static str> {
    // Radii are published in units of 1/255 or as fractions; accept either.
    let r = if eps < 1.0 { eps * 255.0 } else { eps };
    let radius = if (r - 3.0).abs() < 1e-6 {
        3
    } else if (r - 8.0).abs() < 1e-6 {
        8
    } else {
        return None;
    };
    Some(match (stem, radius) {
        ("fgsm", 3) => "fgsm3",
        ("fgsm", 8) => "fgsm8",
        ("pgd", 3) => "pgd3",
        ("pgd", 8) => "pgd8",
        ("apgd", 3) => "apgd3",
        ("apgd", 8) => "apgd8",
        ("square", 3) => "square3",
        ("square", 8) => "square8",
        _ => return None,
    })
}

fn read_json(path: &Path) -> Result<(Value, Vec<u8>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not valid JSON", path.display()))?;
    Ok((v, bytes))
}

fn epsilons_for(meta: &Value, key: &str, meta_path: &Path) -> Result<Vec<f64>> {
    let eps =
        meta.get("epsilons").ok_or_else(|| anyhow!("{}: no \"epsilons\"", meta_path.display()))?;
    let list = match eps {
        Value::Array(_) => eps,
        Value::Object(m) => {
            let base = key.split('@').next().unwrap_or(key);
            m.get(key)
                .or_else(|| m.get(base))
                .ok_or_else(|| anyhow!("{}: no epsilons for attack '{key}'", meta_path.display()))?
        }
        _ => bail!("{}: \"epsilons\" must be a list or an object of lists", meta_path.display()),
    };
    list.as_array()
        .ok_or_else(|| anyhow!("{}: epsilons for '{key}' must be a list", meta_path.display()))?
        .iter()
        .map(|v| {
            v.as_f64()
                .ok_or_else(|| anyhow!("{}: epsilon {v} is not a number", meta_path.display()))
        })
        .collect()
}

pub fn read(dir: &Path, progress: &Progress, label: &str) -> Result<Imported> {
    let space = Space::get();
    let meta_path = dir.join("meta.json");
    let (meta, meta_bytes) = read_json(&meta_path)?;
    let ids = meta
        .get("ids")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("{}: no \"ids\" list", meta_path.display()))?;
    for (i, id) in ids.iter().enumerate() {
        let ours = space
            .cell(i as i64)
            .map_err(|_| anyhow!("{}: more than 15,625 ids", meta_path.display()))?
            .to_string();
        let theirs = match id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if theirs != ours && theirs != i.to_string() {
            bail!("{}: id {i} is '{theirs}', NAS-Bench-201 has '{ours}'", meta_path.display());
        }
    }
    if meta.get("isomorph").is_none() {
        bail!("{}: no \"isomorph\"", meta_path.display());
    }
    let prov = provenance(&meta_path, &meta_bytes);
    let mut ds_dirs: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .collect();
    ds_dirs.sort_by_key(|e| e.file_name());
    let mut out = Imported::default();
    let mut bar = progress.task(label, ds_dirs.len() as u64);
    for entry in ds_dirs {
        bar.inc(1);
        let ds_key = entry.file_name().to_string_lossy().into_owned();
        let dataset =
            dataset_name(&ds_key).with_context(|| format!("folder {}", entry.path().display()))?;
        // uid -> accumulated metric columns
        let mut acc: std::collections::BTreeMap<usize, Vec<(&'static str, f64)>> =
            Default::default();
        let mut files: Vec<_> =
            std::fs::read_dir(entry.path())?.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for file in files {
            let Some(key) = file
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix("_accuracy.json"))
                .map(str::to_string)
            else {
                continue;
            };
            let (doc, _) = read_json(&file)?;
            let table = doc
                .get(&ds_key)
                .and_then(|d| d.get(&key))
                .and_then(|k| k.get("accuracy"))
                .and_then(Value::as_object)
                .ok_or_else(|| {
                    anyhow!(
                        "{}: expected [\"{ds_key}\"][\"{key}\"][\"accuracy\"] to be an object",
                        file.display()
                    )
                })?;
            let percent = table
                .values()
                .flat_map(|v| match v {
                    Value::Array(a) => a.iter().filter_map(Value::as_f64).collect::<Vec<_>>(),
                    other => other.as_f64().into_iter().collect(),
                })
                .any(|x| x > 1.0);
            let divisor = if percent { 100.0 } else { 1.0 };
            let check = |x: Option<f64>, uid: &str| -> Result<f64> {
                let x = x.ok_or_else(|| {
                    anyhow!("{}: architecture {uid}: accuracy is not a number", file.display())
                })? / divisor;
                if !x.is_finite() || !(0.0..=1.0).contains(&x) {
                    bail!(
                        "{}: architecture {uid}: accuracy {} is out of range",
                        file.display(),
                        x * divisor
                    );
                }
                Ok(x)
            };
            let stem = ATTACKS
                .iter()
                .find(|(p, _)| key == *p || key.starts_with(&format!("{p}@")))
                .map(|a| a.1);
            for (uid, v) in table {
                let arch = space.check(uid.parse().map_err(|_| {
                    anyhow!("{}: architecture key '{uid}' is not an index", file.display())
                })?)?;
                if key == "clean" {
                    let x = match v {
                        Value::Array(a) if a.len() == 1 => a[0].as_f64(),
                        other => other.as_f64(),
                    };
                    acc.entry(arch).or_default().push(("clean", check(x, uid)?));
                } else if let Some(stem) = stem {
                    let eps = epsilons_for(&meta, &key, &meta_path)?;
                    let list = v.as_array().ok_or_else(|| {
                        anyhow!(
                            "{}: architecture {uid}: expected a list of accuracies",
                            file.display()
                        )
                    })?;
                    if list.len() != eps.len() {
                        bail!(
                            "{}: architecture {uid}: {} accuracies for {} epsilons",
                            file.display(),
                            list.len(),
                            eps.len()
                        );
                    }
                    for (e, x) in eps.iter().zip(list) {
                        if let Some(col) = column_for(stem, *e) {
                            acc.entry(arch).or_default().push((col, check(x.as_f64(), uid)?));
                        }
                    }
                }
            }
        }
        for (arch, values) in acc {
            let run_id = format!("{PROTOCOL}/{dataset}/{arch}/robustness-dataset");
            out.runs.push(
                protocol::row(
                    PROTOCOL,
                    // NAS-Bench-201's own training, whose weights the dataset attacked.
                    &Protocol {
                        epochs: 200,
                        batch_size: 256,
                        lr_max: 0.1,
                        momentum: 0.9,
                        weight_decay: 5e-4,
                        train_attack: TrainAttack::None,
                        train_eps: 0.0,
                        train_alpha: 0.0,
                        train_steps: 0,
                        n_train: Some(full_train_size(dataset) as usize),
                        ..Protocol::paper()
                    },
                )
                .set("run_id", run_id.clone())
                .set("arch", arch)
                .set("dataset", dataset)
                .set("source", SOURCE)
                .set("provenance", prov.clone()),
            );
            out.metrics.push(test_metrics(run_id, arch, dataset, values));
        }
    }
    Ok(out)
}
