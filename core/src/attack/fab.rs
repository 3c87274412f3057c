//! FAB-T (Croce and Hein, ICML 2020; AutoAttack's targeted variant), L-infinity: a minimum-norm
//! attack. Each step linearises the decision boundary between the true class and one target
//! class at the current point, projects both the current point and the original image onto that
//! hyperplane within the image box (an exact L-infinity projection), and moves to a convex
//! combination of the two projections (weight on the original at most alpha_max, overshooting
//! by eta). Once a point crosses the boundary it is pulled back towards the original by beta,
//! and the smallest adversarial perturbation found so far is kept. Only perturbations within
//! eps count as successes. Targets: the k-th highest-scoring class, k = 2..n_targets+1, one
//! after another on the points still robust.
//!
//! Without restarts FAB-T draws no random numbers; the step, the projection (including its
//! binary search over the sorted breakpoints) and the success rule follow the reference
//! implementation (auto-attack, as packaged by torchattacks), so the same network and images
//! give the same points.

use tch::nn::ModuleT;
use tch::{Kind, Tensor};

#[derive(Clone, Copy, Debug)]
pub struct Fab {
    pub eps: f64,
    pub steps: usize,
    pub n_targets: usize,
    /// Largest weight of the original image's projection in a step.
    pub alpha_max: f64,
    /// Overshooting factor of a step.
    pub eta: f64,
    /// Pull-back towards the original image after a success.
    pub beta: f64,
}

impl Fab {
    /// FAB-T with `steps` iterations per target and `n_targets` targets (AutoAttack: 100, 9).
    pub fn targeted(eps: f64, steps: usize, n_targets: usize) -> Fab {
        Fab { eps, steps, n_targets, alpha_max: 0.1, eta: 1.05, beta: 0.9 }
    }

    /// Attacks the images the network classifies correctly; returns the adversarial images (the
    /// input where no attack succeeded within eps) and which images are still classified
    /// correctly.
    pub fn run(&self, net: &dyn ModuleT, x: &Tensor, y: &Tensor) -> (Tensor, Tensor) {
        let mut remaining = super::Remaining::new(net, x, y);
        for k in 2..self.n_targets as i64 + 2 {
            remaining.attack(|xs, ys| {
                let found = self.single_run(net, xs, ys, k);
                let dist = (xs - &found).abs().reshape([xs.size()[0], -1]).amax(&[1i64][..], false);
                let predicted = tch::no_grad(|| net.forward_t(&found, false).argmax(-1, false));
                (found, predicted.eq_tensor(ys).logical_or(&dist.gt(self.eps)))
            });
        }
        remaining.into_parts()
    }

    /// One run against the k-th highest-scoring class on images that are all classified
    /// correctly: the smallest adversarial point found for each (the image where none was).
    fn single_run(&self, net: &dyn ModuleT, x: &Tensor, y: &Tensor, k: i64) -> Tensor {
        let n = x.size()[0];
        let predict = |z: &Tensor| tch::no_grad(|| net.forward_t(z, false).argmax(-1, false));
        let target = tch::no_grad(|| {
            let (_, order) = net.forward_t(x, false).sort(-1, false);
            let classes = order.size()[1];
            order.select(1, classes - k)
        });
        let flat = |t: &Tensor| t.reshape([n, -1]);
        let x0 = flat(x);
        let mut x1 = x.copy();
        let mut best = x.copy();
        let mut best_dist = Tensor::full([n], 1e10, (Kind::Float, x.device()));
        for _ in 0..self.steps {
            // The boundary between y and the target, linearised at x1: w . z = b.
            let xg = x1.detach().set_requires_grad(true);
            let logits = net.forward_t(&xg, false);
            let diff = (logits.gather(1, &y.unsqueeze(1), false)
                - logits.gather(1, &target.unsqueeze(1), false))
            .squeeze_dim(1)
            .neg();
            let g =
                Tensor::run_backward(&[diff.sum(Kind::Float)], &[&xg], false, false).pop().unwrap();
            let g = super::defined_or_zero(g, &xg);
            let x_next = tch::no_grad(|| {
                let w = flat(&g);
                let b = -diff.detach() + (&w * flat(&x1)).sum_dim_intlist(1, false, Kind::Float);
                let d = project_linf(
                    &Tensor::cat(&[flat(&x1), x0.shallow_clone()], 0),
                    &Tensor::cat(&[&w, &w], 0),
                    &Tensor::cat(&[&b, &b], 0),
                );
                let to_current = d.narrow(0, 0, n).view_as(x);
                let to_original = d.narrow(0, n, n).view_as(x);
                let size = d.abs().amax(&[1i64][..], true).clamp_min(1e-8).reshape([-1, 1, 1, 1]);
                let (a1, a2) = (size.narrow(0, 0, n), size.narrow(0, n, n));
                let alpha = (&a1 / (&a1 + &a2)).clamp(0.0, self.alpha_max);
                let moved: Tensor = (&x1 + to_current * self.eta) * (1.0 - &alpha)
                    + (x + to_original * self.eta) * &alpha;
                moved.clamp(0.0, 1.0)
            });
            x1 = x_next;
            let is_adv = predict(&x1).ne_tensor(y);
            if is_adv.any().int64_value(&[]) == 1 {
                tch::no_grad(|| {
                    let dist = flat(&(&x1 - x)).abs().amax(&[1i64][..], false);
                    let better = is_adv.logical_and(&dist.lt_tensor(&best_dist));
                    best = x1.where_self(&better.reshape([-1, 1, 1, 1]), &best);
                    best_dist = dist.where_self(&better, &best_dist);
                    let pulled = x + (&x1 - x) * self.beta;
                    x1 = pulled.where_self(&is_adv.reshape([-1, 1, 1, 1]), &x1);
                });
            }
        }
        let found = best_dist.lt(1e10).reshape([-1, 1, 1, 1]);
        best.where_self(&found, x)
    }
}

/// The L-infinity projection of each row of `t` onto the hyperplane w . z = b within the box
/// [0, 1]^d: the smallest step d (in L-infinity) with t + d in the box and on the hyperplane,
/// found by a binary search over the coordinates sorted by how far they can move. Rows where no
/// such point exists get the box corner closest to the hyperplane.
fn project_linf(t: &Tensor, w: &Tensor, b: &Tensor) -> Tensor {
    let f = Kind::Float;
    let dim = w.size()[1];
    let side = ((w * t).sum_dim_intlist(1, false, f) - b).ge(0.0).to_kind(f) * 2.0 - 1.0;
    let w = w * side.unsqueeze(1);
    let b = b * &side;
    let a = w.lt(0.0).to_kind(f);
    let moves = w.ne(0.0).to_kind(f);
    let d = (&a - t) * &moves;
    let p = &a - t * (&a * 2.0 - 1.0);
    let order = p.argsort(1, false);
    let b = b - (&w * t).sum_dim_intlist(1, false, f);
    let b0 = (&w * &d).sum_dim_intlist(1, false, f);
    let reversed = order.flip([1]);
    let ws = w.gather(1, &reversed, false);
    let s = ws.abs().cumsum(1, f);
    let sb = (-&ws * d.gather(1, &reversed, false)).cumsum(1, f) + b0.unsqueeze(1);
    let last = |z: &Tensor| z.select(1, dim - 1);
    let b_all = last(&sb) - last(&s) * p.gather(1, &order.narrow(1, 0, 1), false).squeeze_dim(1);
    let unreachable = (&b - &b_all).gt(0.0);
    let searched = (&b - &b0).gt(0.0).logical_and(&unreachable.logical_not());

    let rows = searched.nonzero().squeeze_dim(1);
    let m = rows.size()[0];
    let (order_, sb_, s_, p_, b_) = (
        order.index_select(0, &rows),
        sb.index_select(0, &rows),
        s.index_select(0, &rows),
        p.index_select(0, &rows),
        b.index_select(0, &rows),
    );
    let mut lb = Tensor::zeros([m], (f, t.device()));
    let mut ub = Tensor::full([m], (dim - 1) as f64, (f, t.device()));
    for _ in 0..(dim as f64).log2().ceil() as usize {
        let mid = ((&lb + &ub) / 2.0).floor();
        let at = mid.to_kind(Kind::Int64).unsqueeze(1);
        let coord = order_.gather(1, &(-&at + (dim - 1)), false);
        let b2 = (sb_.gather(1, &at, false)
            - s_.gather(1, &at, false) * p_.gather(1, &coord, false))
        .squeeze_dim(1);
        let c = (&b_ - b2).gt(0.0);
        lb = mid.where_self(&c, &lb);
        ub = ub.where_self(&c, &mid);
    }
    let lb = lb.to_kind(Kind::Int64).unsqueeze(1);

    let mut d = d;
    let far = unreachable.nonzero().squeeze_dim(1);
    if far.numel() > 0 {
        let lambda = ((b.index_select(0, &far) - last(&sb).index_select(0, &far))
            / -last(&s).index_select(0, &far))
        .clamp_min(0.0)
        .unsqueeze(1);
        d = d.index_copy(0, &far, &((a.index_select(0, &far) * 2.0 - 1.0) * lambda));
    }
    let lambda = ((&b_ - sb_.gather(1, &lb, false).squeeze_dim(1))
        / -s_.gather(1, &lb, false).squeeze_dim(1))
    .clamp_min(0.0)
    .unsqueeze(1);
    let (d_, a_) = (d.index_select(0, &rows), a.index_select(0, &rows));
    let inside = lambda.minimum(&d_) * &a_ + (-&lambda).maximum(&d_) * (1.0 - &a_);
    d = d.index_copy(0, &rows, &inside);
    d * moves
}
