//! NAS search strategies over the NAS-Bench-201 space, against an oracle that gives an
//! architecture's value: the benchmark's table, a training-free score, or real training. No
//! database here; the `search(...)` SQL function (`sql::search`) builds the oracle.
//!
//! The budget counts distinct architectures: a query of an architecture isomorphic to one
//! already queried in the trial costs nothing and adds no step (NAS-Bench-201 has 15,625 cell
//! strings but 6,466 distinct networks). A budget in simulated GPU time may be given as well:
//! each new query is charged the seconds its training took (`TimeBudget`), and the trial ends
//! once they reach the budget. Only the architectures in the oracle's space can be
//! queried: those with a value (a proxy's space is the architectures it was computed for) that
//! meet the parameter, FLOP and hardware limits.
//!
//! With a second objective (a cost to minimise, such as a device's latency), every strategy also
//! reports, after each query, the front of what it has queried and its hypervolume against a
//! stated reference point, so single- and multi-objective strategies compare by hypervolume
//! over budget.

mod bananas;
mod nsga2;
pub mod pareto;
mod single;
mod trial;

use std::collections::HashMap;

use anyhow::{bail, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use robbench_vocab::progress::Progress;

use crate::predict::Model;
use trial::Trial;

/// A search strategy and its settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Algorithm {
    /// Random search: architectures uniformly at random, each once.
    Random,
    /// Regularized evolution (Real et al. 2019) as NAS-Bench-201 runs it: a population of
    /// `population` random architectures; then repeatedly the best of `sample_size` drawn from
    /// the population (with replacement) is mutated (one edge changed to another operation),
    /// the child joins and the oldest member leaves.
    Evolution { population: usize, sample_size: usize },
    /// Local search as NASLib's: from a random architecture, query its 24 one-edge neighbours
    /// (in random order) and move to the best if it improves; at a local optimum restart from a
    /// random architecture.
    Local,
    /// NSGA-II (Deb et al., 2002) over the value and the cost, as pymoo runs it on a discrete
    /// space: a random population; each generation `population` children, each from two
    /// parents picked by binary tournament (lower rank, then larger crowding distance), by
    /// uniform crossover of the six edges and then a mutation of each edge with probability
    /// 1/6; children already queried are bred again (duplicate elimination); the next
    /// population is the best `population` of parents and children by rank and crowding.
    Nsga2 { population: usize },
    /// BANANAS (White et al., 2021) as NASLib runs it, with robbench's random forest as the
    /// predictor: `initial` random architectures; then repeatedly the forest is fitted on all
    /// queried so far, `candidates` are drawn by mutating (one edge) the two best queried, and
    /// the `batch` candidates with the largest independent Thompson sample (a draw from a normal
    /// of the trees' mean and spread, per candidate) are queried. Only candidates with
    /// features (`Problem::features`) are searched; `model` is the surrogate's.
    Bananas { initial: usize, batch: usize, candidates: usize, trees: usize, model: Model },
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Random => "rs",
            Algorithm::Evolution { .. } => "re",
            Algorithm::Local => "ls",
            Algorithm::Nsga2 { .. } => "nsga2",
            Algorithm::Bananas { .. } => "bananas",
        }
    }
}

/// What a search asks of an architecture: its value, or None where it has none (then it is not
/// part of the searched space and costs nothing).
pub trait Oracle {
    fn value(&mut self, arch: usize) -> Result<Option<f64>>;

    /// The seconds the last value took to obtain (a training's), where the oracle knows them;
    /// otherwise a time budget charges what `TimeBudget` records.
    fn seconds(&self) -> Option<f64> {
        None
    }
}

/// Values known in advance (a table or a score), by unique architecture.
impl Oracle for HashMap<usize, f64> {
    fn value(&mut self, arch: usize) -> Result<Option<f64>> {
        Ok(self.get(&arch).copied())
    }
}

/// One query of a trial: its step (1..=budget), the architecture (its unique representative)
/// and value, and the best so far; with a second objective, the architecture's cost, the front
/// of the architectures queried so far (sorted) and its hypervolume.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub trial: usize,
    pub step: usize,
    pub arch: usize,
    pub value: f64,
    pub best_arch: usize,
    pub best_value: f64,
    pub cost: Option<f64>,
    pub front: Vec<usize>,
    pub hypervolume: Option<f64>,
    /// The simulated GPU seconds charged so far in the trial, this query included (0 without a
    /// time budget).
    pub seconds: f64,
}

/// A budget in simulated GPU time: each new query is charged `recorded` seconds for its
/// architecture (or what the oracle reports), else `default`; a trial queries while less than
/// `seconds` have been charged, so its last query may end past the budget.
#[derive(Clone, Debug)]
pub struct TimeBudget {
    pub seconds: f64,
    pub recorded: HashMap<usize, f64>,
    pub default: f64,
}

/// The paper's cost of one 50-epoch adversarial training on CIFAR-10: 1.84 T4-GPU-hours, charged
/// where a table records no training time.
pub const PAPER_RUN_SECONDS: f64 = 1.84 * 3600.0;

/// A second objective, minimised: a cost known for every candidate, and the reference point
/// `(value, cost)` of the hypervolume (a point counts only where it is better in both).
#[derive(Clone, Debug)]
pub struct Costs {
    pub values: HashMap<usize, f64>,
    pub reference: (f64, f64),
}

/// A search problem: the architectures that may be queried, the direction, the budget.
pub struct Problem {
    /// Unique representatives that may be queried (meeting the limits), sorted.
    pub candidates: Vec<usize>,
    pub maximize: bool,
    pub budget: usize,
    pub trials: usize,
    pub seed: u64,
    /// The second objective, if any (every candidate has a cost).
    pub costs: Option<Costs>,
    /// A budget in simulated GPU time, besides `budget`.
    pub time: Option<TimeBudget>,
    /// Each candidate's features, for a predictor-guided strategy.
    pub features: Option<HashMap<usize, Vec<f64>>>,
}

/// Runs `problem.trials` trials of `algorithm`; the same seed gives the same queries.
pub fn run(algorithm: Algorithm, problem: &Problem, oracle: &mut dyn Oracle) -> Result<Vec<Query>> {
    run_reporting(algorithm, problem, oracle, &Progress::hidden())
}

/// [`run`], reporting each finished trial to `progress`.
pub fn run_reporting(
    algorithm: Algorithm,
    problem: &Problem,
    oracle: &mut dyn Oracle,
    progress: &Progress,
) -> Result<Vec<Query>> {
    if problem.budget == 0 {
        bail!("budget must be positive");
    }
    if problem.budget > problem.candidates.len() {
        bail!(
            "budget {} is larger than the space searched ({} architectures)",
            problem.budget,
            problem.candidates.len()
        );
    }
    if let Algorithm::Evolution { population, sample_size } = algorithm {
        if population == 0 || sample_size == 0 {
            bail!("population and sample_size must be positive");
        }
    }
    if let Algorithm::Nsga2 { population } = algorithm {
        if population < 2 {
            bail!("nsga2 needs a population of 2 or more, got {population}");
        }
        if problem.costs.is_none() {
            bail!("nsga2 is multi-objective: name the second objective (objective := 'latency' or 'energy')");
        }
    }
    if let Algorithm::Bananas { initial, batch, candidates, trees, .. } = algorithm {
        for (name, v, min) in [
            ("initial", initial, 2),
            ("batch", batch, 1),
            ("candidates", candidates, 1),
            ("trees", trees, 1),
        ] {
            if v < min {
                bail!("bananas: {name} must be {min} or more, got {v}");
            }
        }
        let Some(f) = &problem.features else {
            bail!("internal: bananas without features");
        };
        if let Some(a) = problem.candidates.iter().find(|a| !f.contains_key(a)) {
            bail!("internal: candidate {a} has no features");
        }
    }
    if let Some(t) = &problem.time {
        if !(t.seconds > 0.0 && t.seconds.is_finite()) {
            bail!("budget_seconds must be positive, got {}", t.seconds);
        }
    }
    if let Some(c) = &problem.costs {
        if let Some(a) = problem.candidates.iter().find(|a| !c.values.contains_key(a)) {
            bail!("internal: candidate {a} has no cost");
        }
    }
    let mut out = Vec::with_capacity(problem.trials * problem.budget);
    let mut task = progress.task(format!("search {}", algorithm.name()), problem.trials as u64);
    for trial in 0..problem.trials {
        let mut rng = ChaCha8Rng::seed_from_u64(problem.seed);
        rng.set_stream(trial as u64);
        let mut t = Trial::new(trial, problem, oracle, rng);
        match algorithm {
            Algorithm::Random => t.random()?,
            Algorithm::Evolution { population, sample_size } => {
                t.evolution(population, sample_size)?
            }
            Algorithm::Local => t.local()?,
            Algorithm::Nsga2 { population } => t.nsga2(population)?,
            Algorithm::Bananas { initial, batch, candidates, trees, model } => {
                t.bananas(initial, batch, candidates, trees, model)?
            }
        }
        out.extend(t.queries);
        task.inc(1);
    }
    task.finish();
    Ok(out)
}

#[cfg(test)]
mod tests;
