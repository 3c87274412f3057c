//! NAS-RobBench-201 (Wu et al., ICLR 2024) in both published forms:
//!
//! - the project page's table (`acc={...}`): 3-seed means, AutoAttack a single run, one entry
//!   per unique architecture and, for the others, the id of their representative;
//! - the full release JSON `{dataset: {uid: {metric: {"1": v, "2": v, "3": v, "threeseed": v},
//!   "autoattack": v}}}`: per-seed values become per-seed runs; a metric given only as a mean
//!   stays a mean.
//!
//! AutoAttack was evaluated once per architecture, on a model the release does not name, so it
//! is kept as a run of its own with no seed rather than attached to an invented one.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use robbench_space::Space;
use robbench_vocab::progress::Progress;
use serde_json::{Map, Value};

use super::{dataset_name, full_train_size, provenance, test_metrics, Imported};
use crate::protocol::{self, Protocol};

pub const SOURCE_PAGE: &str = "nasrobbench201-page";
pub const SOURCE_RELEASE: &str = "nasrobbench201-release";

/// The release's metric keys (both spellings) and the benchmark column each fills.
const METRICS: [(&str, &str, &str); 5] = [
    ("val_acc", "val_acc", "clean"),
    ("val_fgsm_3_acc", "val_fgsm_3.0_acc", "fgsm3"),
    ("val_fgsm_8_acc", "val_fgsm_8.0_acc", "fgsm8"),
    ("val_pgd_3_acc", "val_pgd_3.0_acc", "pgd3"),
    ("val_pgd_8_acc", "val_pgd_8.0_acc", "pgd8"),
];

pub fn read(path: &Path, progress: &Progress, label: &str) -> Result<Imported> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let prov = provenance(path, text.as_bytes());
    let trimmed = text.trim_start();
    if let Some(rest) = trimmed.strip_prefix("acc=") {
        let body = rest.trim_end().trim_end_matches(';');
        let table: Map<String, Value> = serde_json::from_str(body).with_context(|| {
            format!("{}: the project-page table after 'acc=' is not valid JSON", path.display())
        })?;
        read_page(&table, Origin { source: SOURCE_PAGE, prov: &prov }, progress, label)
            .with_context(|| format!("{}", path.display()))
    } else {
        let doc: Value = serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not valid JSON (nor a project-page table starting with 'acc=')",
                path.display()
            )
        })?;
        let obj = doc
            .as_object()
            .ok_or_else(|| anyhow!("{}: the top level must be an object", path.display()))?;
        if obj.contains_key("") {
            read_page(obj, Origin { source: SOURCE_PAGE, prov: &prov }, progress, label)
                .with_context(|| format!("{}", path.display()))
        } else {
            read_release(obj, Origin { source: SOURCE_RELEASE, prov: &prov }, progress, label)
                .with_context(|| format!("{}", path.display()))
        }
    }
}

fn accuracy(v: &Value, what: &dyn Fn() -> String) -> Result<f64> {
    let x = v.as_f64().ok_or_else(|| anyhow!("{}: expected a number, found {v}", what()))?;
    if !x.is_finite() || !(0.0..=1.0).contains(&x) {
        bail!("{}: accuracy {x} is not in [0, 1]", what());
    }
    Ok(x)
}

fn parse_arch(key: &str, space: &Space) -> Result<usize> {
    let id: i64 = key
        .trim()
        .parse()
        .map_err(|_| anyhow!("architecture key '{key}' is not an integer index"))?;
    Ok(space.check(id)?)
}

fn run_id(dataset: &str, arch: usize, what: &str) -> String {
    format!("{}/{dataset}/{arch}/{what}", Protocol::PAPER_NAME)
}

/// Which run of an architecture a set of published values belongs to.
enum RunKind {
    /// One seed's values.
    Seed(i64),
    /// Means over this many seeds.
    Mean(i64),
    /// The single AutoAttack evaluation.
    AutoAttack,
}

/// A release's JSON object.
type Doc = Map<String, Value>;

/// Where imported values come from: the release's form and the file.
struct Origin<'a> {
    source: &'a str,
    prov: &'a str,
}

fn push_run(
    out: &mut Imported,
    origin: &Origin,
    dataset: &str,
    arch: usize,
    kind: RunKind,
    values: Vec<(&'static str, f64)>,
) {
    let (what, seed, mean_of) = match kind {
        RunKind::Seed(s) => (format!("s{s}"), Some(s), None),
        RunKind::Mean(n) => ("mean".to_string(), None, Some(n)),
        RunKind::AutoAttack => ("autoattack".to_string(), None, None),
    };
    let (source, prov) = (origin.source, origin.prov);
    let id = run_id(dataset, arch, &what);
    out.runs.push(
        protocol::row(
            Protocol::PAPER_NAME,
            &Protocol { n_train: Some(full_train_size(dataset) as usize), ..Protocol::paper() },
        )
        .set("run_id", id.clone())
        .set("arch", arch)
        .set("dataset", dataset)
        .set("seed", seed)
        .set("source", source)
        .set("mean_of", mean_of)
        .set("provenance", prov),
    );
    out.metrics.push(test_metrics(id, arch, dataset, values).set("seed", seed));
}

fn read_page(table: &Doc, origin: Origin, progress: &Progress, label: &str) -> Result<Imported> {
    let space = Space::get();
    let header: Vec<String> = table
        .get("")
        .and_then(|h| h.as_array())
        .ok_or_else(|| anyhow!("the page table has no column list under key \"\""))?
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| anyhow!("column names must be strings, found {v}"))
        })
        .collect::<Result<_>>()?;
    // Column positions by (dataset, metric key), checked up front so a changed layout fails loudly.
    let mut columns: Vec<(String, &'static str, usize)> = Vec::new();
    for (pos, name) in header.iter().enumerate() {
        let (ds, metric) = name
            .split_once('#')
            .ok_or_else(|| anyhow!("column '{name}' is not <dataset>#<metric>"))?;
        let dataset = dataset_name(ds)?;
        let col = if metric == "autoattack" {
            "aa8"
        } else {
            METRICS
                .iter()
                .find(|(a, b, _)| *a == metric || *b == metric)
                .map(|m| m.2)
                .ok_or_else(|| anyhow!("column '{name}': unknown metric '{metric}'"))?
        };
        columns.push((dataset.to_string(), col, pos));
    }
    let datasets: Vec<String> = {
        let mut d: Vec<String> = columns.iter().map(|c| c.0.clone()).collect();
        d.dedup();
        d
    };
    let mut out = Imported::default();
    let mut keys: Vec<(usize, &Value)> = Vec::new();
    for (key, v) in table.iter().filter(|(k, _)| !k.is_empty()) {
        keys.push((parse_arch(key, space)?, v));
    }
    keys.sort_by_key(|k| k.0);
    let mut bar = progress.task(label, keys.len() as u64);
    for (arch, v) in keys {
        bar.inc(1);
        match v {
            Value::String(rep) => {
                let rep = parse_arch(rep, space).with_context(|| format!("architecture {arch}"))?;
                let ours = space.uid(arch as i64)?;
                if rep != ours {
                    bail!("architecture {arch}: the file names {rep} as its representative, NAS-Bench-201's isomorphism rule gives {ours}");
                }
            }
            Value::Array(values) => {
                if values.len() != header.len() {
                    bail!("architecture {arch}: {} values for {} columns", values.len(), header.len());
                }
                if space.uid(arch as i64)? != arch {
                    bail!("architecture {arch} carries results but is not the representative of its class ({})", space.uid(arch as i64)?);
                }
                for dataset in &datasets {
                    let mut means = Vec::new();
                    let mut aa = Vec::new();
                    for (_, col, pos) in columns.iter().filter(|c| &c.0 == dataset) {
                        let x = accuracy(&values[*pos], &|| format!("architecture {arch}, column {}", header[*pos]))?;
                        if *col == "aa8" { aa.push((*col, x)) } else { means.push((*col, x)) }
                    }
                    if !means.is_empty() {
                        push_run(&mut out, &origin, dataset, arch, RunKind::Mean(3), means);
                    }
                    if !aa.is_empty() {
                        push_run(&mut out, &origin, dataset, arch, RunKind::AutoAttack, aa);
                    }
                }
            }
            other => bail!("architecture {arch}: expected a list of accuracies or a representative id, found {other}"),
        }
    }
    Ok(out)
}

fn read_release(doc: &Doc, origin: Origin, progress: &Progress, label: &str) -> Result<Imported> {
    let space = Space::get();
    let mut out = Imported::default();
    let mut bar = progress.task(label, doc.len() as u64);
    for (ds_key, archs) in doc {
        bar.inc(1);
        let dataset = dataset_name(ds_key)?;
        let archs = archs
            .as_object()
            .ok_or_else(|| anyhow!("dataset '{ds_key}' must map architecture ids to results"))?;
        let mut keys: Vec<(usize, &Value)> = Vec::new();
        for (k, v) in archs {
            keys.push((parse_arch(k, space).with_context(|| format!("dataset '{ds_key}'"))?, v));
        }
        keys.sort_by_key(|k| k.0);
        for (arch, entry) in keys {
            let ctx = || format!("{ds_key}/{arch}");
            let entry = entry
                .as_object()
                .ok_or_else(|| anyhow!("{}: expected an object of metrics", ctx()))?;
            // seed -> [(column, value)]; "threeseed" alone means only the mean was published.
            let mut per_seed: std::collections::BTreeMap<i64, Vec<(&'static str, f64)>> =
                Default::default();
            let mut means: Vec<(&'static str, f64)> = Vec::new();
            let mut aa = Vec::new();
            for (metric, val) in entry {
                if metric == "autoattack" {
                    aa.push(("aa8", accuracy(val, &|| format!("{}: autoattack", ctx()))?));
                    continue;
                }
                let col = METRICS
                    .iter()
                    .find(|(a, b, _)| a == metric || b == metric)
                    .map(|m| m.2)
                    .ok_or_else(|| anyhow!("{}: unknown metric '{metric}'", ctx()))?;
                let seeds = val.as_object().ok_or_else(|| {
                    anyhow!("{}: metric '{metric}' must map seeds to values", ctx())
                })?;
                let mut has_seeds = false;
                for (s, v) in seeds {
                    if s == "threeseed" {
                        continue;
                    }
                    let seed: i64 = s.parse().map_err(|_| {
                        anyhow!("{}: metric '{metric}': seed key '{s}' is not an integer", ctx())
                    })?;
                    per_seed
                        .entry(seed)
                        .or_default()
                        .push((col, accuracy(v, &|| format!("{}: {metric} seed {s}", ctx()))?));
                    has_seeds = true;
                }
                if !has_seeds {
                    let v = seeds.get("threeseed").ok_or_else(|| {
                        anyhow!("{}: metric '{metric}' has neither seeds nor \"threeseed\"", ctx())
                    })?;
                    means.push((col, accuracy(v, &|| format!("{}: {metric} threeseed", ctx()))?));
                }
            }
            let n_seeds = per_seed.len().max(3) as i64;
            for (seed, values) in per_seed {
                push_run(&mut out, &origin, dataset, arch, RunKind::Seed(seed), values);
            }
            if !means.is_empty() {
                push_run(&mut out, &origin, dataset, arch, RunKind::Mean(n_seeds), means);
            }
            if !aa.is_empty() {
                push_run(&mut out, &origin, dataset, arch, RunKind::AutoAttack, aa);
            }
        }
    }
    Ok(out)
}
