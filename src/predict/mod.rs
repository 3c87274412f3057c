//! Surrogates of a benchmark column: a random forest fitted on a few labelled architectures,
//! predicting every other from features that cost nothing (the cell's graph, zero-cost proxies,
//! standard-training accuracy). No database here: `sql::predict` gathers rows and features.
//!
//! The forest is scikit-learn's `RandomForestRegressor` with its defaults (every feature at
//! every split, bootstrap samples, squared error, grown to pure leaves), built from smartcore's
//! regression trees: each tree is fitted with its bootstrap sample as weights (how scikit-learn
//! draws it too), so the spread of the trees' predictions is the ensemble's uncertainty.

pub mod features;

use anyhow::{anyhow, bail, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::tree::decision_tree_regressor::{
    DecisionTreeRegressor, DecisionTreeRegressorParameters,
};

type Tree = DecisionTreeRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>;

/// The trees of a forest unless a call says otherwise (the anchors' 300).
pub const TREES: usize = 300;

pub struct Forest {
    trees: Vec<Tree>,
}

fn matrix(x: &[Vec<f64>]) -> Result<DenseMatrix<f64>> {
    DenseMatrix::from_2d_vec(&x.to_vec()).map_err(|e| anyhow!("features: {e}"))
}

impl Forest {
    /// Fits `trees` trees on the rows `x` (features) and `y` (target); the same seed gives the
    /// same forest.
    pub fn fit(x: &[Vec<f64>], y: &[f64], trees: usize, seed: u64) -> Result<Forest> {
        if x.len() != y.len() {
            bail!("internal: {} feature rows for {} targets", x.len(), y.len());
        }
        if x.len() < 2 {
            bail!("a forest needs at least 2 labelled rows, got {}", x.len());
        }
        let m = matrix(x)?;
        let y = y.to_vec();
        let n = y.len();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut fitted = Vec::with_capacity(trees);
        for _ in 0..trees {
            let mut weights = vec![0.0; n];
            for _ in 0..n {
                weights[rng.gen_range(0..n)] += 1.0;
            }
            let params = DecisionTreeRegressorParameters {
                seed: Some(rng.gen()),
                ..DecisionTreeRegressorParameters::default()
            };
            let tree = Tree::fit_with_weights(&m, &y, &weights, params)
                .map_err(|e| anyhow!("fitting a tree: {e}"))?;
            fitted.push(tree);
        }
        Ok(Forest { trees: fitted })
    }

    /// The mean and the standard deviation over the trees of each row's prediction.
    pub fn predict(&self, x: &[Vec<f64>]) -> Result<(Vec<f64>, Vec<f64>)> {
        let m = matrix(x)?;
        let mut sum = vec![0.0; x.len()];
        let mut sq = vec![0.0; x.len()];
        for t in &self.trees {
            let p = t.predict(&m).map_err(|e| anyhow!("predicting: {e}"))?;
            for (i, v) in p.into_iter().enumerate() {
                sum[i] += v;
                sq[i] += v * v;
            }
        }
        let k = self.trees.len() as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / k).collect();
        let std = sq.iter().zip(&mean).map(|(q, m)| (q / k - m * m).max(0.0).sqrt()).collect();
        Ok((mean, std))
    }
}

/// Which of `n` rows train, for a draw of `k` with `seed`: a uniform sample without replacement.
pub fn draw(n: usize, k: usize, seed: u64) -> Vec<bool> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rand::seq::SliceRandom::shuffle(order.as_mut_slice(), &mut rng);
    let mut train = vec![false; n];
    for &i in order.iter().take(k) {
        train[i] = true;
    }
    train
}

/// Held-out quality: Kendall's tau-b and Spearman's rho of predictions against truth, and the
/// share of the true top `k` among the predicted top `k` (larger is better on both).
pub struct Quality {
    pub kendall: Option<f64>,
    pub spearman: Option<f64>,
    pub top_k_overlap: Option<f64>,
}

pub fn quality(predicted: &[f64], truth: &[f64], k: usize) -> Quality {
    let top = |v: &[f64]| -> Vec<usize> {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[b].total_cmp(&v[a]).then(a.cmp(&b)));
        idx.truncate(k);
        idx
    };
    let overlap = (k > 0 && truth.len() >= k).then(|| {
        let t: std::collections::HashSet<usize> = top(truth).into_iter().collect();
        top(predicted).iter().filter(|i| t.contains(i)).count() as f64 / k as f64
    });
    Quality {
        kendall: crate::stats::kendall_tau_b(predicted, truth),
        spearman: crate::stats::spearman(predicted, truth),
        top_k_overlap: overlap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forest_learns_a_step_and_is_deterministic() {
        // y = 1 where x0 > 0.5, else 0, with a useless second feature.
        let x: Vec<Vec<f64>> =
            (0..60).map(|i| vec![(i % 10) as f64 / 10.0, ((i * 7) % 13) as f64]).collect();
        let y: Vec<f64> = x.iter().map(|r| f64::from(u8::from(r[0] > 0.5))).collect();
        let f = Forest::fit(&x, &y, 50, 3).unwrap();
        let (mean, std) = f.predict(&[vec![0.9, 1.0], vec![0.1, 1.0]]).unwrap();
        assert!(mean[0] > 0.95 && mean[1] < 0.05, "{mean:?}");
        assert!(std.iter().all(|&s| s < 0.25), "{std:?}");
        let again = Forest::fit(&x, &y, 50, 3).unwrap().predict(&x).unwrap();
        assert_eq!(again, f.predict(&x).unwrap(), "same seed, same forest");
        assert!(Forest::fit(&x[..1], &y[..1], 5, 0).is_err());
    }

    #[test]
    fn draws_and_top_k() {
        let d = draw(100, 30, 7);
        assert_eq!(d.iter().filter(|&&t| t).count(), 30);
        assert_eq!(d, draw(100, 30, 7));
        assert_ne!(d, draw(100, 30, 8));
        let truth: Vec<f64> = (0..10).map(f64::from).collect();
        let q = quality(&truth, &truth, 3);
        assert_eq!((q.kendall, q.top_k_overlap), (Some(1.0), Some(1.0)));
        let reversed: Vec<f64> = truth.iter().map(|v| -v).collect();
        assert_eq!(quality(&reversed, &truth, 3).top_k_overlap, Some(0.0));
    }
}
