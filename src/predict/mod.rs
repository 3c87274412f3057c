//! Surrogates of a benchmark column: tree ensembles fitted on a few labelled architectures,
//! predicting every other from features that cost nothing (the cell's graph, zero-cost proxies,
//! standard-training accuracy). No database here: `sql::predict` gathers rows and features.
//!
//! Each model is scikit-learn's, with its defaults unless `Model` says otherwise, built from
//! smartcore's trees so that the spread of the trees' predictions is the ensemble's
//! uncertainty: the random forest from regression trees each fitted with its bootstrap sample
//! as weights (how scikit-learn draws it too); extra trees from one-tree smartcore ensembles
//! (random thresholds, no bootstrap).

pub mod features;

use anyhow::{anyhow, bail, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use smartcore::ensemble::extra_trees_regressor::{
    ExtraTreesRegressor, ExtraTreesRegressorParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::tree::decision_tree_regressor::{
    DecisionTreeRegressor, DecisionTreeRegressorParameters,
};

type Tree = DecisionTreeRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>;
type ExtraTree = ExtraTreesRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>;

/// The trees of a model unless a call says otherwise (the anchors' 300).
pub const TREES: usize = 300;

/// The ridge penalty of `Model::RidgeForest` (scikit-learn's `Ridge` default).
pub const RIDGE_ALPHA: f64 = 1.0;

/// A surrogate model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// `RandomForestRegressor()`: bootstrap samples, the best split over every feature.
    Forest,
    /// `ExtraTreesRegressor(max_features=0.5)`: the whole sample, a random threshold per
    /// feature, the best of half the features at each split.
    ExtraTrees,
    /// `Ridge(alpha=1)` on the features as given, then a random forest on its residuals: the
    /// linear part generalises from few labels where the features add up (the one-hot edges),
    /// the trees learn what it misses.
    RidgeForest,
}

impl Model {
    pub const ALL: [Model; 3] = [Model::Forest, Model::ExtraTrees, Model::RidgeForest];

    pub fn name(self) -> &'static str {
        match self {
            Model::Forest => "forest",
            Model::ExtraTrees => "extra_trees",
            Model::RidgeForest => "ridge_forest",
        }
    }

    pub fn parse(s: &str) -> Result<Model> {
        Model::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Model::ALL.iter().map(|m| m.name()).collect();
            anyhow!("unknown model '{s}' ({})", names.join(", "))
        })
    }
}

enum Member {
    Tree(Tree),
    Extra(ExtraTree),
}

/// A linear model with an intercept: `w . x + b`.
struct Linear {
    w: Vec<f64>,
    b: f64,
}

impl Linear {
    fn predict(&self, x: &[f64]) -> f64 {
        self.b + self.w.iter().zip(x).map(|(w, v)| w * v).sum::<f64>()
    }
}

/// Ridge regression as scikit-learn's `Ridge` solves it: centred features and target (the
/// intercept is not penalised), then (X'X + alpha I) w = X'y by Cholesky. Written here because
/// smartcore's ridge fits no intercept unless it also rescales, and refuses fewer rows than
/// features.
fn ridge(x: &[Vec<f64>], y: &[f64], alpha: f64) -> Result<Linear> {
    let (n, p) = (x.len(), x[0].len());
    let mean_x: Vec<f64> = (0..p).map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n as f64).collect();
    let mean_y = y.iter().sum::<f64>() / n as f64;
    let mut a = vec![vec![0.0; p]; p];
    let mut rhs = vec![0.0; p];
    for (r, &t) in x.iter().zip(y) {
        let c: Vec<f64> = r.iter().zip(&mean_x).map(|(v, m)| v - m).collect();
        for i in 0..p {
            rhs[i] += c[i] * (t - mean_y);
            for j in 0..=i {
                a[i][j] += c[i] * c[j];
            }
        }
    }
    // Cholesky of the lower triangle, A = L L'.
    for i in 0..p {
        a[i][i] += alpha;
        for j in 0..=i {
            let s = a[i][j] - (0..j).map(|k| a[i][k] * a[j][k]).sum::<f64>();
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    bail!("ridge: the features' Gram matrix is not positive definite");
                }
                a[i][i] = s.sqrt();
            } else {
                a[i][j] = s / a[j][j];
            }
        }
    }
    let mut z = vec![0.0; p];
    for i in 0..p {
        z[i] = (rhs[i] - (0..i).map(|k| a[i][k] * z[k]).sum::<f64>()) / a[i][i];
    }
    let mut w = vec![0.0; p];
    for i in (0..p).rev() {
        w[i] = (z[i] - (i + 1..p).map(|k| a[k][i] * w[k]).sum::<f64>()) / a[i][i];
    }
    let b = mean_y - w.iter().zip(&mean_x).map(|(w, m)| w * m).sum::<f64>();
    Ok(Linear { w, b })
}

pub struct Forest {
    members: Vec<Member>,
    linear: Option<Linear>,
}

fn matrix(x: &[Vec<f64>]) -> Result<DenseMatrix<f64>> {
    DenseMatrix::from_2d_vec(&x.to_vec()).map_err(|e| anyhow!("features: {e}"))
}

impl Forest {
    /// Fits `model` with `trees` trees on the rows `x` (features) and `y` (target); the same
    /// seed gives the same model.
    pub fn fit(model: Model, x: &[Vec<f64>], y: &[f64], trees: usize, seed: u64) -> Result<Forest> {
        if x.len() != y.len() {
            bail!("internal: {} feature rows for {} targets", x.len(), y.len());
        }
        if x.len() < 2 {
            bail!("a model needs at least 2 labelled rows, got {}", x.len());
        }
        let m = matrix(x)?;
        let linear = match model {
            Model::RidgeForest => Some(ridge(x, y, RIDGE_ALPHA)?),
            Model::Forest | Model::ExtraTrees => None,
        };
        let y: Vec<f64> = match &linear {
            Some(l) => x.iter().zip(y).map(|(r, t)| t - l.predict(r)).collect(),
            None => y.to_vec(),
        };
        let n = y.len();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut members = Vec::with_capacity(trees);
        for _ in 0..trees {
            let member = match model {
                Model::Forest | Model::RidgeForest => {
                    let mut weights = vec![0.0; n];
                    for _ in 0..n {
                        weights[rng.gen_range(0..n)] += 1.0;
                    }
                    let params = DecisionTreeRegressorParameters {
                        seed: Some(rng.gen()),
                        ..DecisionTreeRegressorParameters::default()
                    };
                    Member::Tree(
                        Tree::fit_with_weights(&m, &y, &weights, params)
                            .map_err(|e| anyhow!("fitting a tree: {e}"))?,
                    )
                }
                Model::ExtraTrees => {
                    let params = ExtraTreesRegressorParameters::default()
                        .with_n_trees(1)
                        .with_m((x[0].len() / 2).max(1))
                        .with_seed(rng.gen());
                    Member::Extra(
                        ExtraTree::fit(&m, &y, params)
                            .map_err(|e| anyhow!("fitting a tree: {e}"))?,
                    )
                }
            };
            members.push(member);
        }
        Ok(Forest { members, linear })
    }

    /// The mean and the standard deviation over the trees of each row's prediction.
    pub fn predict(&self, x: &[Vec<f64>]) -> Result<(Vec<f64>, Vec<f64>)> {
        let m = matrix(x)?;
        let mut sum = vec![0.0; x.len()];
        let mut sq = vec![0.0; x.len()];
        for t in &self.members {
            let p = match t {
                Member::Tree(t) => t.predict(&m),
                Member::Extra(t) => t.predict(&m),
            }
            .map_err(|e| anyhow!("predicting: {e}"))?;
            for (i, v) in p.into_iter().enumerate() {
                sum[i] += v;
                sq[i] += v * v;
            }
        }
        let k = self.members.len() as f64;
        let mut mean: Vec<f64> = sum.iter().map(|s| s / k).collect();
        let std = sq.iter().zip(&mean).map(|(q, m)| (q / k - m * m).max(0.0).sqrt()).collect();
        if let Some(l) = &self.linear {
            for (m, r) in mean.iter_mut().zip(x) {
                *m += l.predict(r);
            }
        }
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
        for model in Model::ALL {
            let f = Forest::fit(model, &x, &y, 50, 3).unwrap();
            let (mean, std) = f.predict(&[vec![0.9, 1.0], vec![0.1, 1.0]]).unwrap();
            assert!(mean[0] > 0.9 && mean[1] < 0.1, "{model:?}: {mean:?}");
            assert!(std.iter().all(|&s| s < 0.3), "{model:?}: {std:?}");
            let again = Forest::fit(model, &x, &y, 50, 3).unwrap().predict(&x).unwrap();
            assert_eq!(again, f.predict(&x).unwrap(), "{model:?}: same seed, same forest");
            assert!(Forest::fit(model, &x[..1], &y[..1], 5, 0).is_err());
        }
    }

    /// The ridge part against the normal equations solved exactly: y = 2 x0 - x1 + 3 with no
    /// noise and a tiny penalty gives back the plane; with alpha = 1 on two centred points the
    /// closed form w = sxy / (sxx + alpha).
    #[test]
    fn ridge_matches_its_closed_form() {
        let x: Vec<Vec<f64>> = (0..20).map(|i| vec![i as f64, ((i * 7) % 5) as f64]).collect();
        let y: Vec<f64> = x.iter().map(|r| 2.0 * r[0] - r[1] + 3.0).collect();
        let l = ridge(&x, &y, 1e-9).unwrap();
        assert!((l.w[0] - 2.0).abs() < 1e-6 && (l.w[1] + 1.0).abs() < 1e-6, "{:?}", l.w);
        assert!((l.b - 3.0).abs() < 1e-6, "{}", l.b);
        let l = ridge(&[vec![0.0], vec![2.0]], &[1.0, 5.0], 1.0).unwrap();
        // centred x = -1, 1; y = -2, 2: sxy = 4, sxx = 2: w = 4 / 3, b = 3 - w.
        assert!((l.w[0] - 4.0 / 3.0).abs() < 1e-12 && (l.b - (3.0 - 4.0 / 3.0)).abs() < 1e-12);
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
