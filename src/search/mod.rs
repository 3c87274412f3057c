//! NAS search strategies over the NAS-Bench-201 space, against an oracle that gives an
//! architecture's value: the benchmark's table, a training-free score, or real training. No
//! database here; the `search(...)` SQL function (`sql::search`) builds the oracle.
//!
//! The budget counts distinct architectures: a query of an architecture isomorphic to one
//! already queried in the trial costs nothing and adds no step (NAS-Bench-201 has 15,625 cell
//! strings but 6,466 distinct networks). Only the architectures in the oracle's space can be
//! queried: those with a value (a proxy's space is the architectures it was computed for) that
//! meet the parameter and FLOP limits.

use std::collections::{HashMap, HashSet, VecDeque};

use anyhow::{bail, Result};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use robbench_space::Space;

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
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Random => "rs",
            Algorithm::Evolution { .. } => "re",
            Algorithm::Local => "ls",
        }
    }
}

/// What a search asks of an architecture: its value, or None where it has none (then it is not
/// part of the searched space and costs nothing).
pub trait Oracle {
    fn value(&mut self, arch: usize) -> Result<Option<f64>>;
}

/// Values known in advance (a table or a score), by unique architecture.
impl Oracle for HashMap<usize, f64> {
    fn value(&mut self, arch: usize) -> Result<Option<f64>> {
        Ok(self.get(&arch).copied())
    }
}

/// One query of a trial: its step (1..=budget), the architecture (its unique representative)
/// and value, and the best so far.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub trial: usize,
    pub step: usize,
    pub arch: usize,
    pub value: f64,
    pub best_arch: usize,
    pub best_value: f64,
}

/// A search problem: the architectures that may be queried, the direction, the budget.
pub struct Problem {
    /// Unique representatives that may be queried (meeting the limits), sorted.
    pub candidates: Vec<usize>,
    pub maximize: bool,
    pub budget: usize,
    pub trials: usize,
    pub seed: u64,
}

/// Runs `problem.trials` trials of `algorithm`; the same seed gives the same queries.
pub fn run(algorithm: Algorithm, problem: &Problem, oracle: &mut dyn Oracle) -> Result<Vec<Query>> {
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
    let mut out = Vec::with_capacity(problem.trials * problem.budget);
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
        }
        out.extend(t.queries);
    }
    Ok(out)
}

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
        }
    }

    fn done(&self) -> bool {
        self.queries.len() >= self.problem.budget
            || self.known.len() >= self.problem.candidates.len()
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
        let (best_arch, best_value) = match self.queries.last() {
            Some(q) if !self.better(value, q.best_value) => (q.best_arch, q.best_value),
            _ => (arch, value),
        };
        self.queries.push(Query {
            trial: self.trial,
            step: self.queries.len() + 1,
            arch,
            value,
            best_arch,
            best_value,
        });
        Ok(v)
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
        while !self.done() {
            let mut parent: Option<(usize, f64)> = None;
            for _ in 0..sample_size {
                let c = population[self.rng.gen_range(0..population.len())];
                if parent.is_none_or(|p| self.better(c.1, p.1)) {
                    parent = Some(c);
                }
            }
            let (parent, _) = parent.expect("a non-empty sample");
            let child = self.mutate(parent);
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
        Problem { candidates, maximize: true, budget, trials, seed: 1 }
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

    #[test]
    fn bad_budgets_are_refused() {
        let mut oracle = landscape();
        let e = run(Algorithm::Random, &problem(&oracle, 0, 1), &mut oracle).unwrap_err();
        assert!(e.to_string().contains("positive"), "{e}");
        let e = run(Algorithm::Random, &problem(&oracle, 7000, 1), &mut oracle).unwrap_err();
        assert!(e.to_string().contains("larger than the space searched (6466"), "{e}");
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
