//! AutoAttack "standard" (Croce and Hein, ICML 2020), L-infinity: APGD-CE, APGD-T, FAB-T and
//! Square run one after another, each on the points every earlier attack failed on, so the
//! result is the per-image worst case over the four. Each attack starts from the same seed, as
//! in the reference composition.
//!
//! AutoAttack's own sanity checks run alongside and come back as warnings (they do not change
//! the result): a forward pass that is not deterministic, outputs that look like
//! probabilities rather than logits, images whose loss gradient is exactly zero, and Square
//! (a black-box attack) succeeding where the white-box attacks failed. Each points at an
//! evaluation that may overstate robustness.

use tch::nn::ModuleT;
use tch::{Kind, Tensor};

use super::{Apgd, Fab, Square};

#[derive(Clone, Copy, Debug)]
pub struct AutoAttack {
    pub eps: f64,
    pub apgd_steps: usize,
    pub fab_steps: usize,
    pub n_targets: usize,
    pub square_queries: usize,
    pub seed: u64,
}

/// What an AutoAttack run found.
pub struct Outcome {
    /// Adversarial images (the input where every attack failed).
    pub adv: Tensor,
    /// Which images are still classified correctly.
    pub robust: Tensor,
    /// Images still classified correctly after each stage (clean, then each attack in turn),
    /// and the seconds the stage took.
    pub stages: Vec<(&'static str, i64, f64)>,
    /// The sanity checks that fired, in words.
    pub warnings: Vec<String>,
}

/// The fraction of the batch by which Square may lower the white-box attacks' robust accuracy
/// before the check fires (the reference's threshold).
const SQUARE_MARGIN: f64 = 0.002;

impl AutoAttack {
    /// The standard version: APGD-CE and APGD-T with 100 iterations, 9 targets for APGD-T and
    /// FAB-T (100 iterations), Square with 5,000 queries, seed 0.
    pub fn standard(eps: f64) -> AutoAttack {
        AutoAttack {
            eps,
            apgd_steps: 100,
            fab_steps: 100,
            n_targets: 9,
            square_queries: 5000,
            seed: 0,
        }
    }

    pub fn run(&self, net: &dyn ModuleT, x: &Tensor, y: &Tensor) -> Outcome {
        let mut warnings = checks(net, x, y);
        let mut remaining = super::Remaining::new(net, x, y);
        let mut stages = vec![("clean", remaining.count(), 0.0)];
        let classes = tch::no_grad(|| net.forward_t(&x.narrow(0, 0, 1), false)).size()[1] as usize;
        // The targeted attacks need n_targets wrong classes (and targeted DLR four classes).
        let n_targets = self.n_targets.min(classes.saturating_sub(1));
        let apgd_ce = Apgd { seed: self.seed, ..Apgd::ce(self.eps, self.apgd_steps) };
        let apgd_t =
            Apgd { seed: self.seed, ..Apgd::targeted(self.eps, self.apgd_steps, n_targets) };
        let fab_t = Fab::targeted(self.eps, self.fab_steps, n_targets);
        let square =
            Square { queries: self.square_queries, seed: self.seed, ..Square::standard(self.eps) };
        type Attack<'a> = Box<dyn Fn(&Tensor, &Tensor) -> (Tensor, Tensor) + 'a>;
        let mut attacks: Vec<(&'static str, Attack)> =
            vec![("apgd-ce", Box::new(|xs, ys| apgd_ce.run(net, xs, ys)))];
        if classes >= 4 {
            attacks.push(("apgd-t", Box::new(|xs, ys| apgd_t.run(net, xs, ys))));
        }
        attacks.push(("fab-t", Box::new(|xs, ys| fab_t.run(net, xs, ys))));
        attacks.push(("square", Box::new(|xs, ys| square.run(net, xs, ys))));
        for (name, attack) in attacks {
            let start = std::time::Instant::now();
            remaining.attack(attack);
            stages.push((name, remaining.count(), start.elapsed().as_secs_f64()));
        }
        let n = x.size()[0] as f64;
        let white_box = stages[stages.len() - 2].1;
        let after_square = stages[stages.len() - 1].1;
        if (after_square as f64) < white_box as f64 - SQUARE_MARGIN * n {
            warnings.push(format!(
                "Square (black-box) fooled {} of {} images that APGD-CE, APGD-T and FAB-T could not ({:.2} points of robust accuracy): the gradients may be obfuscated and the white-box attacks unreliable on this network",
                white_box - after_square,
                x.size()[0],
                100.0 * (white_box - after_square) as f64 / n
            ));
        }
        let (adv, robust) = remaining.into_parts();
        Outcome { adv, robust, stages, warnings }
    }
}

/// AutoAttack's checks on a batch before attacking it (the reference's thresholds).
pub fn checks(net: &dyn ModuleT, x: &Tensor, y: &Tensor) -> Vec<String> {
    let mut warnings = Vec::new();
    // Two passes, as the reference: a deterministic network gives equal outputs.
    let outputs: Vec<Tensor> = (0..2).map(|_| tch::no_grad(|| net.forward_t(x, false))).collect();
    let unit = |o: &Tensor| o / (o.square().sum_dim_intlist(1, true, Kind::Float).sqrt() + 1e-10);
    let correct = |o: &Tensor| {
        o.argmax(-1, false).eq_tensor(y).to_kind(Kind::Int64).sum(Kind::Int64).int64_value(&[])
    };
    let max_diff = (unit(&outputs[0]) - unit(&outputs[1])).abs().max().double_value(&[]);
    let counts: Vec<i64> = outputs.iter().map(correct).collect();
    if max_diff > 1e-5 || counts[0] != counts[1] {
        warnings.push(format!(
            "the network's forward pass is randomised (two passes over the same images differ by up to {max_diff:.2e} in normalised outputs; correct counts {counts:?}): attacks without expectation over the randomness overstate its robustness"
        ));
    }
    let o = &outputs[0];
    let sums_to_one =
        (o.sum_dim_intlist(1, false, Kind::Float) - 1.0).abs().lt(1e-5).all().int64_value(&[]) == 1;
    if o.max().double_value(&[]) < 1.0 + 1e-5 && o.min().double_value(&[]) > -1e-5 && sums_to_one {
        warnings.push("the network's outputs look like probabilities (in [0, 1], summing to 1), not logits: the attacks' losses expect logits".to_string());
    }
    let xg = x.detach().set_requires_grad(true);
    let loss = net.forward_t(&xg, false).cross_entropy_loss::<Tensor>(
        y,
        None,
        tch::Reduction::Sum,
        -100,
        0.0,
    );
    let g = Tensor::run_backward(&[loss], &[&xg], false, false).pop().unwrap();
    let g = super::defined_or_zero(g, &xg);
    let zero = g
        .reshape([x.size()[0], -1])
        .abs()
        .sum_dim_intlist(1, false, Kind::Float)
        .eq(0.0)
        .to_kind(Kind::Int64)
        .sum(Kind::Int64)
        .int64_value(&[]);
    if zero > 0 {
        warnings.push(format!("{zero} of {} images have an exactly zero loss gradient: gradient-based attacks cannot move them, so their robustness may be overstated", x.size()[0]));
    }
    warnings
}
