//! One trial of a search: the architectures it may query, what it has queried and its values,
//! the budget it has left, and (with a second objective) the front it has found. The
//! strategies (`single.rs`, `nsga2.rs`, `bananas.rs`) drive it.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use robbench_space::Space;

use super::nsga2::dominated;
use super::{pareto, Oracle, Problem, Query};

/// Known children in a row after which evolution queries a new architecture at random.
pub(super) const STALLED: usize = 1000;

pub(super) struct Trial<'a> {
    pub(super) trial: usize,
    pub(super) problem: &'a Problem,
    pub(super) oracle: &'a mut dyn Oracle,
    pub(super) rng: ChaCha8Rng,
    pub(super) allowed: HashSet<usize>,
    /// Values of the architectures queried (or found to have none) in this trial.
    pub(super) known: HashMap<usize, Option<f64>>,
    pub(super) queries: Vec<Query>,
    /// Architectures of the space found to have no value (the oracle's space is smaller).
    pub(super) missing: usize,
    /// With a second objective: the non-dominated architectures queried so far, with their
    /// objectives as "larger is better".
    pub(super) archive: Vec<(usize, [f64; 2])>,
    /// Simulated GPU seconds charged so far.
    pub(super) seconds: f64,
}

impl<'a> Trial<'a> {
    pub(super) fn new(
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

    pub(super) fn done(&self) -> bool {
        self.queries.len() >= self.problem.budget
            || self.known.len() >= self.problem.candidates.len()
            || self.problem.time.as_ref().is_some_and(|t| self.seconds >= t.seconds)
    }

    /// `a` is better than `b` in the search's direction.
    pub(super) fn better(&self, a: f64, b: f64) -> bool {
        if self.problem.maximize {
            a > b
        } else {
            a < b
        }
    }

    /// Queries `arch` (any index; its representative is queried): its value, or None outside
    /// the space. Only a new architecture with a value takes a step of the budget.
    pub(super) fn query(&mut self, arch: usize) -> Result<Option<f64>> {
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
    pub(super) fn objectives_of(&self, value: f64, cost: f64) -> [f64; 2] {
        [if self.problem.maximize { value } else { -value }, -cost]
    }

    pub(super) fn objectives(&self, arch: usize, value: f64) -> [f64; 2] {
        let costs = self.problem.costs.as_ref().expect("a second objective");
        self.objectives_of(value, costs.values[&arch])
    }

    /// A random architecture of the space.
    pub(super) fn random_candidate(&mut self) -> usize {
        self.problem.candidates[self.rng.gen_range(0..self.problem.candidates.len())]
    }

    /// One edge of `parent` changed to another operation, among the mutations that stay in the
    /// space; where none does (a sparse space, e.g. a proxy's), a random architecture of it.
    pub(super) fn mutate(&mut self, parent: usize) -> usize {
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

    /// A random candidate not queried yet in this trial.
    pub(super) fn unqueried(&mut self) -> Option<usize> {
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
