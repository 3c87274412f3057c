//! APGD (Croce and Hein, ICML 2020), L-infinity: gradient steps with momentum 0.75 whose size
//! starts at 2 eps and halves, per image, at checkpoints where the loss oscillated or stopped
//! improving (checkpoints p_j: the first after 22 % of the iterations, then shrinking by 3 % of
//! them down to 6 %), restarting from the best point found. Losses: cross-entropy, DLR, and
//! targeted DLR (APGD-T: the k-th highest-scoring class as target, k = 2..n_targets+1, one
//! after another on the points still robust).
//!
//! The update, the checkpoint rule (with its look-back across the start of the loss record) and
//! the order of random draws follow the reference implementation (auto-attack, as packaged by
//! torchattacks), so a run with the same seed starts from the same points.

use tch::nn::ModuleT;
use tch::{Kind, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    Ce,
    Dlr,
    /// Targeted DLR, over `n_targets` targets.
    TargetedDlr {
        n_targets: usize,
    },
}

#[derive(Clone, Copy, Debug)]
pub struct Apgd {
    pub eps: f64,
    pub steps: usize,
    pub restarts: usize,
    pub seed: u64,
    pub loss: Loss,
    /// The oscillation threshold rho.
    pub rho: f64,
}

impl Apgd {
    /// APGD-CE with `steps` iterations, one restart, seed 0 (the paper's apgd3/apgd8: 20 steps).
    pub fn ce(eps: f64, steps: usize) -> Apgd {
        Apgd { eps, steps, restarts: 1, seed: 0, loss: Loss::Ce, rho: 0.75 }
    }

    /// APGD-T with `steps` iterations and `n_targets` target classes (AutoAttack: 100, 9).
    pub fn targeted(eps: f64, steps: usize, n_targets: usize) -> Apgd {
        Apgd { eps, steps, restarts: 1, seed: 0, loss: Loss::TargetedDlr { n_targets }, rho: 0.75 }
    }

    /// Attacks the images the network classifies correctly; returns the adversarial images (the
    /// input where no attack succeeded) and which images are still classified correctly.
    pub fn run(&self, net: &dyn ModuleT, x: &Tensor, y: &Tensor) -> (Tensor, Tensor) {
        let mut remaining = super::Remaining::new(net, x, y);
        tch::manual_seed(self.seed as i64);
        let targets: Vec<Option<i64>> = match self.loss {
            Loss::TargetedDlr { n_targets } => (2..n_targets as i64 + 2).map(Some).collect(),
            _ => vec![None],
        };
        for target in targets {
            for _ in 0..self.restarts {
                remaining.attack(|xs, ys| {
                    let (still, found) = self.single_run(net, xs, ys, target);
                    (found, still)
                });
            }
        }
        remaining.into_parts()
    }

    /// Per-image losses and their gradient with respect to the images, and the logits.
    fn loss_grad(
        &self,
        net: &dyn ModuleT,
        x: &Tensor,
        y: &Tensor,
        target: Option<&Tensor>,
    ) -> (Tensor, Tensor, Tensor) {
        let x = x.detach().set_requires_grad(true);
        let logits = net.forward_t(&x, false);
        let loss = match (self.loss, target) {
            (Loss::Ce, _) => logits
                .log_softmax(-1, Kind::Float)
                .gather(1, &y.unsqueeze(1), false)
                .squeeze_dim(1)
                .neg(),
            (Loss::Dlr, _) => dlr(&logits, y),
            (Loss::TargetedDlr { .. }, Some(t)) => dlr_targeted(&logits, y, t),
            (Loss::TargetedDlr { .. }, None) => unreachable!("targeted DLR without a target"),
        };
        let g = Tensor::run_backward(&[loss.sum(Kind::Float)], &[&x], false, false).pop().unwrap();
        let g = super::defined_or_zero(g, &x);
        (loss.detach(), g, logits.detach())
    }

    /// One run on images that are all classified correctly: (still correct, the point that
    /// fooled the network where one did).
    fn single_run(
        &self,
        net: &dyn ModuleT,
        x: &Tensor,
        y: &Tensor,
        target: Option<i64>,
    ) -> (Tensor, Tensor) {
        let (eps, steps) = (self.eps, self.steps);
        let n = x.size()[0];
        let per_image = |t: &Tensor| t.reshape([-1, 1, 1, 1]);
        let first = ((0.22 * steps as f64) as usize).max(1);
        let shortest = ((0.06 * steps as f64) as usize).max(1);
        let decrease = ((0.03 * steps as f64) as usize).max(1);

        let t = Tensor::rand(x.size(), (Kind::Float, x.device())) * 2.0 - 1.0;
        let scale = t.reshape([n, -1]).abs().amax(&[1i64][..], true).reshape([-1, 1, 1, 1]);
        let mut x_adv = (x + t * eps / scale).clamp(0.0, 1.0);
        let mut x_best = x_adv.copy();
        let mut x_best_adv = x_adv.copy();
        let target = target.map(|k| {
            let order = tch::no_grad(|| net.forward_t(x, false)).argsort(1, false);
            let classes = order.size()[1];
            order.select(1, classes - k)
        });
        let lower = x - eps;
        let upper = x + eps;
        let project = |z: Tensor| z.max_other(&lower).min_other(&upper).clamp(0.0, 1.0);

        let (loss, mut grad, logits) = self.loss_grad(net, &x_adv, y, target.as_ref());
        let mut grad_best = grad.copy();
        let mut robust = logits.argmax(-1, false).eq_tensor(y);
        let mut loss_best = loss;
        let mut step = Tensor::full([n, 1, 1, 1], 2.0 * eps, (Kind::Float, x.device()));
        let mut x_old = x_adv.copy();
        let mut losses: Vec<Tensor> =
            (0..steps).map(|_| Tensor::zeros([n], (Kind::Float, x.device()))).collect();
        let mut k = first;
        let mut since_check = 0;
        let mut loss_best_last_check = loss_best.copy();
        let mut reduced_last_check = Tensor::ones([n], (Kind::Bool, x.device()));

        for i in 0..steps {
            let momentum = if i > 0 { 0.75 } else { 1.0 };
            let z = tch::no_grad(|| {
                let moved = &x_adv - &x_old;
                let z = project(&x_adv + &step * grad.sign());
                project(&x_adv + (z - &x_adv) * momentum + moved * (1.0 - momentum))
            });
            x_old = x_adv;
            x_adv = z;
            let (loss, g, logits) = self.loss_grad(net, &x_adv, y, target.as_ref());
            grad = g;
            let pred = logits.argmax(-1, false).eq_tensor(y);
            robust = robust.logical_and(&pred);
            x_best_adv = x_best_adv.where_self(&per_image(&pred), &x_adv);
            losses[i] = loss.copy();
            let improved = loss.gt_tensor(&loss_best);
            x_best = x_adv.where_self(&per_image(&improved), &x_best);
            grad_best = grad.where_self(&per_image(&improved), &grad_best);
            loss_best = loss.where_self(&improved, &loss_best);

            since_check += 1;
            if since_check == k {
                // Oscillation: the loss rose in at most rho * k of the last k steps. The look-back
                // wraps to the end of the (still zero) record, as the reference's does.
                let mut rises = Tensor::zeros([n], (Kind::Float, x.device()));
                for c in 0..k {
                    let now = &losses[(i as i64 - c as i64).rem_euclid(steps as i64) as usize];
                    let before =
                        &losses[(i as i64 - c as i64 - 1).rem_euclid(steps as i64) as usize];
                    rises += now.gt_tensor(before).to_kind(Kind::Float);
                }
                let oscillating = rises.le(k as f64 * self.rho);
                let stalled = reduced_last_check
                    .logical_not()
                    .logical_and(&loss_best_last_check.ge_tensor(&loss_best));
                let reduce = oscillating.logical_or(&stalled);
                reduced_last_check = reduce.copy();
                loss_best_last_check = loss_best.copy();
                let r = per_image(&reduce);
                step = (&step / 2.0).where_self(&r, &step);
                x_adv = x_best.where_self(&r, &x_adv);
                grad = grad_best.where_self(&r, &grad);
                since_check = 0;
                k = k.saturating_sub(decrease).max(shortest);
            }
        }
        (robust, x_best_adv)
    }
}

/// DLR: -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3), z sorted decreasingly.
fn dlr(z: &Tensor, y: &Tensor) -> Tensor {
    let (sorted, order) = z.sort(1, false);
    let c = sorted.size()[1];
    let top_is_y = order.select(1, c - 1).eq_tensor(y).to_kind(Kind::Float);
    let zy = z.gather(1, &y.unsqueeze(1), false).squeeze_dim(1);
    let other = sorted.select(1, c - 2) * &top_is_y + sorted.select(1, c - 1) * (1.0 - &top_is_y);
    let margin: Tensor = zy - other;
    -margin / (sorted.select(1, c - 1) - sorted.select(1, c - 3) + 1e-12)
}

/// Targeted DLR: -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2).
fn dlr_targeted(z: &Tensor, y: &Tensor, t: &Tensor) -> Tensor {
    let (sorted, _) = z.sort(1, false);
    let c = sorted.size()[1];
    let zy = z.gather(1, &y.unsqueeze(1), false).squeeze_dim(1);
    let zt = z.gather(1, &t.unsqueeze(1), false).squeeze_dim(1);
    let margin: Tensor = zy - zt;
    -margin
        / (sorted.select(1, c - 1) - sorted.select(1, c - 3) * 0.5 - sorted.select(1, c - 4) * 0.5
            + 1e-12)
}
