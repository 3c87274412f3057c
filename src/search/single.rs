//! The single-objective strategies: random search, regularized evolution, local search.

use std::collections::VecDeque;

use anyhow::Result;
use rand::seq::SliceRandom;
use rand::Rng;
use robbench_space::Space;

use super::trial::{Trial, STALLED};

impl Trial<'_> {
    pub(super) fn random(&mut self) -> Result<()> {
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

    pub(super) fn evolution(&mut self, size: usize, sample_size: usize) -> Result<()> {
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

    pub(super) fn local(&mut self) -> Result<()> {
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
