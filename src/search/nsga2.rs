//! NSGA-II over the value and a cost, as pymoo runs it on a discrete space.

use anyhow::Result;
use rand::Rng;
use robbench_space::Space;

use super::pareto;
use super::trial::Trial;

/// `b` dominates `a` (both larger-is-better).
pub(super) fn dominated(a: &[f64; 2], b: &[f64; 2]) -> bool {
    b[0] >= a[0] && b[1] >= a[1] && (b[0] > a[0] || b[1] > a[1])
}

impl Trial<'_> {
    pub(super) fn nsga2(&mut self, size: usize) -> Result<()> {
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
