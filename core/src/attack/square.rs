//! Square attack (Andriushchenko et al., ECCV 2020), L-infinity, score-based: starts from
//! vertical stripes of +-eps and, per query, proposes a random square of side s (shrinking with
//! the schedule of p, starting at p_init of the image) filled with +-2 eps per channel, kept when
//! the margin loss improves or the image becomes misclassified.
//!
//! The schedule (AutoAttack's: no rescaling for 5,000 queries), the margin loss and the order of
//! random draws follow the reference implementation (auto-attack, as packaged by torchattacks),
//! so a run with the same seed proposes the same squares.

use tch::nn::ModuleT;
use tch::{IndexOp, Kind, Tensor};

#[derive(Clone, Copy, Debug)]
pub struct Square {
    pub eps: f64,
    pub queries: usize,
    pub p_init: f64,
    pub restarts: usize,
    pub seed: u64,
}

impl Square {
    /// AutoAttack's Square: 5,000 queries, p_init 0.8, one restart, seed 0.
    pub fn standard(eps: f64) -> Square {
        Square { eps, queries: 5000, p_init: 0.8, restarts: 1, seed: 0 }
    }

    /// Attacks the images the network classifies correctly; returns the adversarial images and
    /// which images are still classified correctly.
    pub fn run(&self, net: &dyn ModuleT, x: &Tensor, y: &Tensor) -> (Tensor, Tensor) {
        tch::no_grad(|| {
            let mut remaining = super::Remaining::new(net, x, y);
            tch::manual_seed(self.seed as i64);
            for _ in 0..self.restarts {
                remaining.attack(|xs, ys| {
                    let found = self.single_run(net, xs, ys);
                    let still = net.forward_t(&found, false).argmax(-1, false).eq_tensor(ys);
                    (found, still)
                });
            }
            remaining.into_parts()
        })
    }

    /// The fraction of the image a square covers at query `it`.
    fn p(&self, it: usize) -> f64 {
        let d = match it {
            0..=10 => 1.0,
            11..=50 => 2.0,
            51..=200 => 4.0,
            201..=500 => 8.0,
            501..=1000 => 16.0,
            1001..=2000 => 32.0,
            2001..=4000 => 64.0,
            4001..=6000 => 128.0,
            6001..=8000 => 256.0,
            _ => 512.0,
        };
        self.p_init / d
    }

    fn single_run(&self, net: &dyn ModuleT, x: &Tensor, y: &Tensor) -> Tensor {
        let eps = self.eps;
        let size = x.size();
        let (c, h, w) = (size[1], size[2], size[3]);
        let device = x.device();
        let sign = |shape: &[i64]| {
            (Tensor::rand(shape, (Kind::Float, tch::Device::Cpu)) * 2.0 - 1.0)
                .sign()
                .to_device(device)
        };
        let mut x_best = (x + sign(&[size[0], c, 1, w]) * eps).clamp(0.0, 1.0);
        let (mut margin_min, mut loss_min) = margin_and_loss(net, &x_best, y);
        let features = (c * h * w) as f64;
        for it in 0..self.queries {
            let idx = margin_min.gt(0.0).nonzero().squeeze_dim(1);
            let x_curr = x.index_select(0, &idx);
            let best_curr = x_best.index_select(0, &idx);
            let y_curr = y.index_select(0, &idx);
            let margin_curr = margin_min.index_select(0, &idx);
            let loss_curr = loss_min.index_select(0, &idx);
            let s = ((self.p(it) * features / c as f64).sqrt().round() as i64).max(1);
            let vh = (Tensor::rand([1], (Kind::Float, tch::Device::Cpu)) * (h - s) as f64)
                .to_kind(Kind::Int64)
                .int64_value(&[0]);
            let vw = (Tensor::rand([1], (Kind::Float, tch::Device::Cpu)) * (w - s) as f64)
                .to_kind(Kind::Int64)
                .int64_value(&[0]);
            let deltas = Tensor::zeros([c, h, w], (Kind::Float, device));
            let mut window = deltas.i((.., vh..vh + s, vw..vw + s));
            window.copy_(&(sign(&[c, 1, 1]) * (2.0 * eps)).expand([c, s, s], false));
            let x_new = (&best_curr + &deltas)
                .max_other(&(&x_curr - eps))
                .min_other(&(&x_curr + eps))
                .clamp(0.0, 1.0);
            let (margin, loss) = margin_and_loss(net, &x_new, &y_curr);
            let improved = loss.lt_tensor(&loss_curr).to_kind(Kind::Float);
            loss_min =
                loss_min.index_copy(0, &idx, &(&improved * &loss + (1.0 - &improved) * &loss_curr));
            let improved = improved.maximum(&margin.le(0.0).to_kind(Kind::Float));
            margin_min = margin_min.index_copy(
                0,
                &idx,
                &(&improved * &margin + (1.0 - &improved) * &margin_curr),
            );
            let improved = improved.reshape([-1, 1, 1, 1]);
            x_best =
                x_best.index_copy(0, &idx, &(&improved * &x_new + (1.0 - &improved) * &best_curr));
            if margin_min.le(0.0).all().int64_value(&[]) == 1 {
                break;
            }
        }
        x_best
    }
}

/// The margin z_y - max_{i != y} z_i (the loss the attack minimises, and the success test).
fn margin_and_loss(net: &dyn ModuleT, x: &Tensor, y: &Tensor) -> (Tensor, Tensor) {
    let logits = net.forward_t(x, false);
    let correct = logits.gather(1, &y.unsqueeze(1), false).squeeze_dim(1);
    let others =
        logits.scatter_value(1, &y.unsqueeze(1), f64::NEG_INFINITY).amax(&[1i64][..], false);
    let margin = correct - others;
    (margin.shallow_clone(), margin)
}
