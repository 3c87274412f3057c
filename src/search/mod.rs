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

pub mod pareto;

use std::collections::{HashMap, HashSet, VecDeque};

use anyhow::{bail, Result};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use robbench_space::Space;
use robbench_vocab::progress::Progress;

use crate::predict::{Forest, Model};

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

/// Known children in a row after which evolution queries a new architecture at random.
const STALLED: usize = 1000;

struct Trial<'a> {
    trial: usize,
    problem: &'a Problem,
    oracle: &'a mut dyn Oracle,
    rng: ChaCha8Rng,
    allowed: HashSet<usize>,
    /// Values of the architectures queried (or found to have none) in this trial.
    known: HashMap<usize, Option<f64>>,
    queries: Vec<Query>,
    /// Architectures of the space found to have no value (the oracle's space is smaller).
    missing: usize,
    /// With a second objective: the non-dominated architectures queried so far, with their
    /// objectives as "larger is better".
    archive: Vec<(usize, [f64; 2])>,
    /// Simulated GPU seconds charged so far.
    seconds: f64,
}

impl<'a> Trial<'a> {
    fn new(
        trial: usize,
        problem: &'a Problem,
        oracle: &'a mut dyn Oracle,
        rng: ChaCha8Rng,
    ) -> Self {
        let allowed = problem.candidates.iter().copied().collect();
        Trial {
            trial,
            problem,
            oracle,
            rng,
            allowed,
            known: HashMap::new(),
            queries: Vec::new(),
            missing: 0,
            archive: Vec::new(),
            seconds: 0.0,
        }
    }

    fn done(&self) -> bool {
        self.queries.len() >= self.problem.budget
            || self.known.len() >= self.problem.candidates.len()
            || self.problem.time.as_ref().is_some_and(|t| self.seconds >= t.seconds)
    }

    /// `a` is better than `b` in the search's direction.
    fn better(&self, a: f64, b: f64) -> bool {
        if self.problem.maximize {
            a > b
        } else {
            a < b
        }
    }

    /// Queries `arch` (any index; its representative is queried): its value, or None outside
    /// the space. Only a new architecture with a value takes a step of the budget.
    fn query(&mut self, arch: usize) -> Result<Option<f64>> {
        let arch = Space::get().uid(arch as i64).expect("an index of the space");
        if !self.allowed.contains(&arch) {
            return Ok(None);
        }
        if let Some(v) = self.known.get(&arch) {
            return Ok(*v);
        }
        let v = self.oracle.value(arch)?.filter(|v| v.is_finite());
        self.known.insert(arch, v);
        let Some(value) = v else {
            self.missing += 1;
            return Ok(None);
        };
        if let Some(t) = &self.problem.time {
            let charged = self.oracle.seconds().or_else(|| t.recorded.get(&arch).copied());
            self.seconds += charged.filter(|s| s.is_finite() && *s >= 0.0).unwrap_or(t.default);
        }
        let (best_arch, best_value) = match self.queries.last() {
            Some(q) if !self.better(value, q.best_value) => (q.best_arch, q.best_value),
            _ => (arch, value),
        };
        let (mut cost, mut front, mut hypervolume) = (None, Vec::new(), None);
        if let Some(costs) = &self.problem.costs {
            let c = costs.values[&arch];
            let point = self.objectives(arch, value);
            if !self.archive.iter().any(|(_, p)| dominated(&point, p)) {
                self.archive.retain(|(_, p)| !dominated(p, &point));
                self.archive.push((arch, point));
            }
            let reference = self.objectives_of(costs.reference.0, costs.reference.1);
            let points: Vec<(f64, f64)> = self.archive.iter().map(|(_, p)| (p[0], p[1])).collect();
            front = self.archive.iter().map(|(a, _)| *a).collect();
            front.sort_unstable();
            cost = Some(c);
            hypervolume = Some(pareto::hypervolume(&points, (reference[0], reference[1])));
        }
        self.queries.push(Query {
            trial: self.trial,
            step: self.queries.len() + 1,
            arch,
            value,
            best_arch,
            best_value,
            cost,
            front,
            hypervolume,
            seconds: self.seconds,
        });
        Ok(v)
    }

    /// A value and a cost as two objectives, both larger-is-better.
    fn objectives_of(&self, value: f64, cost: f64) -> [f64; 2] {
        [if self.problem.maximize { value } else { -value }, -cost]
    }

    fn objectives(&self, arch: usize, value: f64) -> [f64; 2] {
        let costs = self.problem.costs.as_ref().expect("a second objective");
        self.objectives_of(value, costs.values[&arch])
    }

    /// A random architecture of the space.
    fn random_candidate(&mut self) -> usize {
        self.problem.candidates[self.rng.gen_range(0..self.problem.candidates.len())]
    }

    fn random(&mut self) -> Result<()> {
        let mut order = self.problem.candidates.clone();
        order.shuffle(&mut self.rng);
        for arch in order {
            if self.done() {
                break;
            }
            self.query(arch)?;
        }
        Ok(())
    }

    /// One edge of `parent` changed to another operation, among the mutations that stay in the
    /// space; where none does (a sparse space, e.g. a proxy's), a random architecture of it.
    fn mutate(&mut self, parent: usize) -> usize {
        let mut options: Vec<usize> = Space::get()
            .neighbours(parent)
            .into_iter()
            .filter(|&n| {
                let u = Space::get().uid(n as i64).expect("an index");
                self.allowed.contains(&u) && self.known.get(&u) != Some(&None)
            })
            .collect();
        options.dedup();
        match options.as_slice() {
            [] => self.random_candidate(),
            o => o[self.rng.gen_range(0..o.len())],
        }
    }

    fn evolution(&mut self, size: usize, sample_size: usize) -> Result<()> {
        let mut population: VecDeque<(usize, f64)> = VecDeque::with_capacity(size + 1);
        while population.len() < size && !self.done() {
            let arch = self.random_candidate();
            if let Some(v) = self.query(arch)? {
                population.push_back((Space::get().uid(arch as i64).expect("index"), v));
            }
        }
        // Children already queried cost nothing and change nothing; a population whose every
        // mutation is known would propose them for ever (a small space, a large budget).
        let mut stalled = 0;
        while !self.done() {
            let mut parent: Option<(usize, f64)> = None;
            for _ in 0..sample_size {
                let c = population[self.rng.gen_range(0..population.len())];
                if parent.is_none_or(|p| self.better(c.1, p.1)) {
                    parent = Some(c);
                }
            }
            let (parent, _) = parent.expect("a non-empty sample");
            let mut child = self.mutate(parent);
            let known = self.known.contains_key(&Space::get().uid(child as i64).expect("index"));
            stalled = if known { stalled + 1 } else { 0 };
            if stalled > STALLED {
                child = match self.unqueried() {
                    Some(c) => c,
                    None => break,
                };
                stalled = 0;
            }
            if let Some(v) = self.query(child)? {
                population.push_back((Space::get().uid(child as i64).expect("index"), v));
                population.pop_front();
            }
        }
        Ok(())
    }

    fn local(&mut self) -> Result<()> {
        let mut current: Option<(usize, f64)> = None;
        while !self.done() {
            let Some((arch, value)) = current else {
                let a = self.random_candidate();
                current = self.query(a)?.map(|v| (Space::get().uid(a as i64).expect("index"), v));
                continue;
            };
            let mut neighbours = Space::get().neighbours(arch).to_vec();
            neighbours.shuffle(&mut self.rng);
            let mut best: Option<(usize, f64)> = None;
            for n in neighbours {
                if self.done() {
                    return Ok(());
                }
                if let Some(v) = self.query(n)? {
                    if best.is_none_or(|b| self.better(v, b.1)) {
                        best = Some((Space::get().uid(n as i64).expect("index"), v));
                    }
                }
            }
            current = match best {
                Some(b) if self.better(b.1, value) => Some(b),
                // A local optimum: restart.
                _ => None,
            };
        }
        Ok(())
    }
}

impl Trial<'_> {
    fn bananas(
        &mut self,
        initial: usize,
        batch: usize,
        candidates: usize,
        trees: usize,
        model: Model,
    ) -> Result<()> {
        let features = self.problem.features.as_ref().expect("checked in run");
        let space = Space::get();
        // (architecture, value as larger-is-better) of every query with a value.
        let mut queried: Vec<(usize, f64)> = Vec::new();
        let sign = if self.problem.maximize { 1.0 } else { -1.0 };
        while queried.len() < initial && !self.done() {
            let Some(a) = self.unqueried() else { break };
            if let Some(v) = self.query(a)? {
                queried.push((a, sign * v));
            }
        }
        while !self.done() {
            let x: Vec<Vec<f64>> = queried.iter().map(|(a, _)| features[a].clone()).collect();
            let y: Vec<f64> = queried.iter().map(|q| q.1).collect();
            let forest = Forest::fit(model, &x, &y, trees, self.rng.gen())?;
            let mut best = queried.clone();
            best.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut pool: Vec<usize> = Vec::new();
            let parents: Vec<usize> = best.iter().take(2).map(|b| b.0).collect();
            for &p in &parents {
                for _ in 0..candidates.div_ceil(parents.len()) {
                    let c = space.uid(self.mutate(p) as i64)?;
                    if self.allowed.contains(&c)
                        && !self.known.contains_key(&c)
                        && !pool.contains(&c)
                    {
                        pool.push(c);
                    }
                }
            }
            // Every mutation of the best is known: a new architecture at random.
            if pool.is_empty() {
                match self.unqueried() {
                    Some(a) => pool.push(a),
                    None => break,
                }
            }
            let rows: Vec<Vec<f64>> = pool.iter().map(|a| features[a].clone()).collect();
            let (mean, spread) = forest.predict(&rows)?;
            let mut acquisition: Vec<(f64, usize)> = pool
                .iter()
                .zip(mean.iter().zip(&spread))
                .map(|(&a, (m, s))| {
                    let z: f64 = self.rng.sample(rand_distr::StandardNormal);
                    (m + s * z, a)
                })
                .collect();
            acquisition.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for (_, a) in acquisition.into_iter().take(batch) {
                if self.done() {
                    break;
                }
                if let Some(v) = self.query(a)? {
                    queried.push((a, sign * v));
                }
            }
        }
        Ok(())
    }
}

/// `b` dominates `a` (both larger-is-better).
fn dominated(a: &[f64; 2], b: &[f64; 2]) -> bool {
    b[0] >= a[0] && b[1] >= a[1] && (b[0] > a[0] || b[1] > a[1])
}

impl Trial<'_> {
    fn nsga2(&mut self, size: usize) -> Result<()> {
        let space = Space::get();
        let mut population: Vec<(usize, [f64; 2])> = Vec::with_capacity(2 * size);
        while population.len() < size && !self.done() {
            let Some(arch) = self.unqueried() else { break };
            if let Some(v) = self.query(arch)? {
                population.push((arch, self.objectives(arch, v)));
            }
        }
        while !self.done() {
            let points: Vec<Vec<f64>> = population.iter().map(|p| p.1.to_vec()).collect();
            let rank = pareto::ranks(&points);
            let crowd = crowding_by_front(&points, &rank);
            let mut children = Vec::with_capacity(size);
            while children.len() < size && !self.done() {
                let mut child = None;
                // Duplicate elimination: breed again while the child was queried before.
                for _ in 0..100 {
                    let a = self.tournament(&rank, &crowd);
                    let b = self.tournament(&rank, &crowd);
                    let c = space.uid(self.breed(population[a].0, population[b].0) as i64)?;
                    if self.allowed.contains(&c) && !self.known.contains_key(&c) {
                        child = Some(c);
                        break;
                    }
                }
                // A population whose every child is known: a new architecture at random.
                let Some(child) = child.or_else(|| self.unqueried()) else { break };
                if let Some(v) = self.query(child)? {
                    children.push((child, self.objectives(child, v)));
                }
            }
            population.extend(children);
            population = survivors(population, size);
        }
        Ok(())
    }

    /// Binary tournament: the lower rank, then the larger crowding distance, then the first.
    fn tournament(&mut self, rank: &[usize], crowd: &[f64]) -> usize {
        let a = self.rng.gen_range(0..rank.len());
        let b = self.rng.gen_range(0..rank.len());
        if rank[b] < rank[a] || (rank[b] == rank[a] && crowd[b] > crowd[a]) {
            b
        } else {
            a
        }
    }

    /// Uniform crossover of the parents' edges, then each edge mutated with probability 1/6 to
    /// another operation.
    fn breed(&mut self, a: usize, b: usize) -> usize {
        let space = Space::get();
        let (ca, cb) = (space.cell(a as i64).expect("index"), space.cell(b as i64).expect("index"));
        let mut ops = ca.0;
        for (e, op) in ops.iter_mut().enumerate() {
            if self.rng.gen_bool(0.5) {
                *op = cb.0[e];
            }
            if self.rng.gen_range(0..6) == 0 {
                let others: Vec<_> =
                    robbench_space::Op::ALL.into_iter().filter(|o| o != op).collect();
                *op = others[self.rng.gen_range(0..others.len())];
            }
        }
        space.index(&robbench_space::Cell(ops))
    }

    /// A random candidate not queried yet in this trial.
    fn unqueried(&mut self) -> Option<usize> {
        for _ in 0..64 {
            let a = self.random_candidate();
            if !self.known.contains_key(&a) {
                return Some(a);
            }
        }
        let left: Vec<usize> = self
            .problem
            .candidates
            .iter()
            .copied()
            .filter(|a| !self.known.contains_key(a))
            .collect();
        (!left.is_empty()).then(|| left[self.rng.gen_range(0..left.len())])
    }
}

/// Each point's crowding distance within its front.
fn crowding_by_front(points: &[Vec<f64>], rank: &[usize]) -> Vec<f64> {
    let mut crowd = vec![0.0; points.len()];
    for r in 0..=rank.iter().copied().max().unwrap_or(0) {
        let members: Vec<usize> = (0..points.len()).filter(|&i| rank[i] == r).collect();
        for (m, d) in members.iter().zip(pareto::crowding(points, &members)) {
            crowd[*m] = d;
        }
    }
    crowd
}

/// NSGA-II's environmental selection: whole fronts by rank, the last one cut by crowding.
fn survivors(all: Vec<(usize, [f64; 2])>, size: usize) -> Vec<(usize, [f64; 2])> {
    let points: Vec<Vec<f64>> = all.iter().map(|p| p.1.to_vec()).collect();
    let rank = pareto::ranks(&points);
    let crowd = crowding_by_front(&points, &rank);
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| {
        rank[a].cmp(&rank[b]).then(crowd[b].total_cmp(&crowd[a])).then(a.cmp(&b))
    });
    order.truncate(size);
    order.sort_unstable();
    order.into_iter().map(|i| all[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic landscape over all unique architectures: the value is the number of 3x3
    /// convolutions plus a small tie-break, so one-edge moves can climb it.
    fn landscape() -> HashMap<usize, f64> {
        let space = Space::get();
        space
            .representatives()
            .into_iter()
            .map(|a| {
                let cell = space.cell(a as i64).unwrap();
                let convs = cell.count(robbench_space::Op::Conv3x3) as f64;
                (a, convs + (a % 97) as f64 / 1000.0)
            })
            .collect()
    }

    fn problem(oracle: &HashMap<usize, f64>, budget: usize, trials: usize) -> Problem {
        let mut candidates: Vec<usize> = oracle.keys().copied().collect();
        candidates.sort();
        Problem {
            candidates,
            maximize: true,
            budget,
            trials,
            seed: 1,
            costs: None,
            time: None,
            features: None,
        }
    }

    #[test]
    fn steps_are_distinct_architectures_and_best_is_the_running_maximum() {
        let mut oracle = landscape();
        let p = problem(&oracle, 50, 3);
        for alg in [
            Algorithm::Random,
            Algorithm::Evolution { population: 10, sample_size: 3 },
            Algorithm::Local,
        ] {
            let q = run(alg, &p, &mut oracle).unwrap();
            assert_eq!(q.len(), 150, "{alg:?}");
            for trial in 0..3 {
                let t: Vec<&Query> = q.iter().filter(|x| x.trial == trial).collect();
                let archs: HashSet<usize> = t.iter().map(|x| x.arch).collect();
                assert_eq!(archs.len(), 50, "{alg:?}: repeats took steps");
                let mut best = f64::NEG_INFINITY;
                for (k, x) in t.iter().enumerate() {
                    assert_eq!(x.step, k + 1);
                    assert_eq!(x.value, oracle[&x.arch]);
                    best = best.max(x.value);
                    assert_eq!(x.best_value, best);
                    assert_eq!(oracle[&x.best_arch], best);
                }
            }
            assert_eq!(q, run(alg, &p, &mut oracle).unwrap(), "{alg:?}: same seed, same queries");
        }
    }

    /// A second objective that conflicts with the landscape: the number of 3x3 convolutions
    /// costs, a tie-break of its own.
    fn costs(oracle: &HashMap<usize, f64>) -> Costs {
        let space = Space::get();
        let values = oracle
            .keys()
            .map(|&a| {
                let convs = space.cell(a as i64).unwrap().count(robbench_space::Op::Conv3x3);
                (a, 2.0 * convs as f64 + (a % 13) as f64 / 100.0)
            })
            .collect();
        Costs { values, reference: (0.0, 20.0) }
    }

    /// The brute-force front of `archs` on (value up, cost down), sorted.
    fn brute_front(oracle: &HashMap<usize, f64>, c: &Costs, archs: &[usize]) -> Vec<usize> {
        let values = vec![
            archs.iter().map(|a| Some(oracle[a])).collect(),
            archs.iter().map(|a| Some(-c.values[a])).collect(),
        ];
        let on = pareto::front(&values, archs.len());
        let mut f: Vec<usize> = archs.iter().zip(on).filter(|(_, o)| *o).map(|(a, _)| *a).collect();
        f.sort_unstable();
        f
    }

    #[test]
    fn every_step_reports_the_brute_force_front_of_what_was_queried_and_its_hypervolume() {
        let mut oracle = landscape();
        let mut p = problem(&oracle, 60, 2);
        p.costs = Some(costs(&oracle));
        let c = p.costs.clone().unwrap();
        for alg in [Algorithm::Random, Algorithm::Nsga2 { population: 10 }, Algorithm::Local] {
            let q = run(alg, &p, &mut oracle).unwrap();
            assert_eq!(q.len(), 120, "{alg:?}");
            for trial in 0..2 {
                let t: Vec<&Query> = q.iter().filter(|x| x.trial == trial).collect();
                let mut seen = Vec::new();
                let mut hv = 0.0;
                for x in t {
                    seen.push(x.arch);
                    assert_eq!(x.cost, Some(c.values[&x.arch]));
                    assert_eq!(x.front, brute_front(&oracle, &c, &seen), "{alg:?} step {}", x.step);
                    let pts: Vec<(f64, f64)> =
                        x.front.iter().map(|a| (oracle[a], -c.values[a])).collect();
                    let want = pareto::hypervolume(&pts, (c.reference.0, -c.reference.1));
                    let got = x.hypervolume.unwrap();
                    assert_eq!(got, want);
                    assert!(got >= hv, "{alg:?}: hypervolume fell at step {}", x.step);
                    hv = got;
                }
            }
            assert_eq!(q, run(alg, &p, &mut oracle).unwrap(), "{alg:?}: same seed, same queries");
        }
    }

    #[test]
    fn nsga2_with_a_budget_covering_the_space_ends_on_the_true_front() {
        let full = landscape();
        // A smaller space, so a full budget stays quick: the cells without pooling.
        let mut oracle: HashMap<usize, f64> = full
            .into_iter()
            .filter(|(a, _)| {
                Space::get().cell(*a as i64).unwrap().count(robbench_space::Op::AvgPool3x3) == 0
            })
            .collect();
        let n = oracle.len();
        let mut p = problem(&oracle, n, 1);
        p.costs = Some(costs(&oracle));
        let c = p.costs.clone().unwrap();
        let q = run(Algorithm::Nsga2 { population: 20 }, &p, &mut oracle).unwrap();
        assert_eq!(q.len(), n, "every architecture once");
        let all: Vec<usize> = oracle.keys().copied().collect();
        assert_eq!(q.last().unwrap().front, brute_front(&oracle, &c, &all));
        // And it found most of the front well before the end.
        let half = &q[n / 2];
        assert!(half.hypervolume.unwrap() > 0.9 * q.last().unwrap().hypervolume.unwrap());
    }

    #[test]
    fn nsga2_needs_a_second_objective_and_a_population() {
        let mut oracle = landscape();
        let p = problem(&oracle, 20, 1);
        let e = run(Algorithm::Nsga2 { population: 10 }, &p, &mut oracle).unwrap_err();
        assert!(e.to_string().contains("objective := 'latency'"), "{e}");
        let mut p = problem(&oracle, 20, 1);
        p.costs = Some(costs(&oracle));
        let e = run(Algorithm::Nsga2 { population: 1 }, &p, &mut oracle).unwrap_err();
        assert!(e.to_string().contains("population of 2 or more"), "{e}");
    }

    /// A sparse space (few candidates, most mutations outside it) and the whole of it as the
    /// budget: every strategy ends, having queried each candidate once.
    #[test]
    fn a_budget_covering_a_sparse_space_ends() {
        let mut oracle: HashMap<usize, f64> =
            landscape().into_iter().filter(|(a, _)| a % 17 == 0).collect();
        let n = oracle.len();
        let p = problem(&oracle, n, 1);
        for alg in [Algorithm::Evolution { population: 10, sample_size: 3 }, Algorithm::Local] {
            let q = run(alg, &p, &mut oracle).unwrap();
            assert_eq!(q.len(), n, "{alg:?}");
        }
    }

    #[test]
    fn bad_budgets_are_refused() {
        let mut oracle = landscape();
        let e = run(Algorithm::Random, &problem(&oracle, 0, 1), &mut oracle).unwrap_err();
        assert!(e.to_string().contains("positive"), "{e}");
        let e = run(Algorithm::Random, &problem(&oracle, 7000, 1), &mut oracle).unwrap_err();
        assert!(e.to_string().contains("larger than the space searched (6466"), "{e}");
    }

    /// Graph features of every candidate, for the predictor-guided strategy.
    fn graph_features(oracle: &HashMap<usize, f64>) -> HashMap<usize, Vec<f64>> {
        let space = Space::get();
        oracle
            .keys()
            .map(|&a| (a, crate::predict::features::graph(&space.cell(a as i64).unwrap())))
            .collect()
    }

    #[test]
    fn bananas_learns_the_landscape_and_beats_random_search() {
        let mut oracle = landscape();
        let mut p = problem(&oracle, 60, 10);
        p.features = Some(graph_features(&oracle));
        let bananas = Algorithm::Bananas {
            initial: 10,
            batch: 5,
            candidates: 50,
            trees: 30,
            model: Model::ExtraTrees,
        };
        let q = run(bananas, &p, &mut oracle).unwrap();
        assert_eq!(q.len(), 600);
        let best = |q: &[Query]| {
            q.iter().filter(|x| x.step == 60).map(|x| x.best_value).sum::<f64>() / 10.0
        };
        for trial in 0..10 {
            let archs: HashSet<usize> =
                q.iter().filter(|x| x.trial == trial).map(|x| x.arch).collect();
            assert_eq!(archs.len(), 60, "each query a new architecture");
        }
        let rs = run(Algorithm::Random, &p, &mut oracle).unwrap();
        // The value counts 3x3 convolutions, which the graph features hold: the forest finds
        // the six-convolution cell (value 6.x) where random search rarely does.
        assert!(best(&q) > 5.9, "bananas mean best {}", best(&q));
        assert!(best(&q) > best(&rs) + 0.5, "bananas {} against rs {}", best(&q), best(&rs));
        assert_eq!(q, run(bananas, &p, &mut oracle).unwrap(), "same seed, same queries");
        // Minimising: it follows the fewest convolutions.
        p.maximize = false;
        let low = run(bananas, &p, &mut oracle).unwrap();
        assert!(low.iter().filter(|x| x.step == 60).all(|x| x.best_value < 1.0));
        p.features = Some(HashMap::new());
        let e = run(bananas, &p, &mut oracle).unwrap_err();
        assert!(e.to_string().contains("has no features"), "{e}");
        p.features = Some(graph_features(&oracle));
        let e = run(
            Algorithm::Bananas {
                initial: 1,
                batch: 5,
                candidates: 50,
                trees: 30,
                model: Model::ExtraTrees,
            },
            &p,
            &mut oracle,
        )
        .unwrap_err();
        assert!(e.to_string().contains("initial must be 2 or more"), "{e}");
    }

    #[test]
    fn a_time_budget_charges_each_new_query_and_stops_once_spent() {
        let mut oracle = landscape();
        // Recorded seconds for the architectures whose index is even; the rest the default.
        let recorded: HashMap<usize, f64> =
            oracle.keys().filter(|a| *a % 2 == 0).map(|&a| (a, 100.0 + a as f64)).collect();
        let mut p = problem(&oracle, 6466, 3);
        p.time =
            Some(TimeBudget { seconds: 20_000.0, recorded: recorded.clone(), default: 1000.0 });
        for alg in [Algorithm::Random, Algorithm::Local] {
            let q = run(alg, &p, &mut oracle).unwrap();
            for trial in 0..3 {
                let t: Vec<&Query> = q.iter().filter(|x| x.trial == trial).collect();
                let mut spent = 0.0;
                for x in &t {
                    assert!(spent < 20_000.0, "{alg:?}: queried after the budget was spent");
                    spent += recorded.get(&x.arch).copied().unwrap_or(1000.0);
                    assert_eq!(x.seconds, spent);
                }
                assert!(spent >= 20_000.0, "{alg:?}: stopped early at {spent}");
            }
        }
        p.time.as_mut().unwrap().seconds = 0.0;
        let e = run(Algorithm::Random, &p, &mut oracle).unwrap_err();
        assert!(e.to_string().contains("budget_seconds must be positive"), "{e}");
    }

    #[test]
    fn minimising_follows_the_smallest() {
        let mut oracle = landscape();
        let mut p = problem(&oracle, 30, 1);
        p.maximize = false;
        let q = run(Algorithm::Local, &p, &mut oracle).unwrap();
        let min = q.iter().map(|x| x.value).fold(f64::INFINITY, f64::min);
        assert_eq!(q.last().unwrap().best_value, min);
    }
}
