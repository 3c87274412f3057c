//! BANANAS: a predictor-guided search with robbench's random forest.

use anyhow::Result;
use rand::Rng;
use robbench_space::Space;

use super::trial::Trial;
use crate::predict::{Forest, Model};

impl Trial<'_> {
    pub(super) fn bananas(
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
