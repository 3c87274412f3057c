//! L-infinity attacks on a network that takes images in [0, 1] and returns logits, with the
//! update rules of torchattacks (the reference the tests compare against): FGSM, and PGD with
//! an optional uniform random start, each step x + alpha * sign(grad) projected to the eps-ball
//! and to [0, 1]. The loss is the mean cross-entropy; the network is used as given (callers put
//! it in eval mode, as the paper's protocol does).

pub mod apgd;
pub mod autoattack;
pub mod fab;
pub mod square;

pub use apgd::Apgd;
pub use autoattack::AutoAttack;
pub use fab::Fab;
pub use square::Square;
use tch::nn::ModuleT;
use tch::{Kind, Tensor};

/// Gradient of the mean cross-entropy with respect to the images, BatchNorm in the given mode.
fn input_grad(net: &dyn ModuleT, x: &Tensor, y: &Tensor, train: bool) -> Tensor {
    let x = x.detach().set_requires_grad(true);
    let loss = net.forward_t(&x, train).cross_entropy_for_logits(y);
    let g = Tensor::run_backward(&[loss], &[&x], false, false);
    defined_or_zero(g.into_iter().next().unwrap(), &x)
}

/// A gradient, or zeros where libtorch leaves it undefined: a cell whose output no path from
/// its input reaches makes the logits independent of the images.
pub(crate) fn defined_or_zero(g: Tensor, like: &Tensor) -> Tensor {
    if g.defined() {
        g
    } else {
        like.zeros_like()
    }
}

/// FGSM: one signed-gradient step of size eps.
pub fn fgsm(net: &dyn ModuleT, x: &Tensor, y: &Tensor, eps: f64) -> Tensor {
    fgsm_t(net, x, y, eps, false)
}

/// FGSM with BatchNorm in the given mode (the training-free scores attack networks at
/// initialisation in training mode).
pub fn fgsm_t(net: &dyn ModuleT, x: &Tensor, y: &Tensor, eps: f64, train: bool) -> Tensor {
    let g = input_grad(net, x, y, train);
    (x + g.sign() * eps).clamp(0.0, 1.0).detach()
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pgd {
    pub eps: f64,
    pub alpha: f64,
    pub steps: usize,
    pub random_start: bool,
}

impl Pgd {
    /// The paper's evaluation PGD at radius eps: 20 steps of 2.5 * eps / 20, random start.
    pub fn eval(eps: f64) -> Pgd {
        Pgd { eps, alpha: 2.5 * eps / 20.0, steps: 20, random_start: true }
    }

    /// Adversarial examples, with the network in eval mode (as the paper attacks, also while
    /// training).
    pub fn run(&self, net: &dyn ModuleT, x: &Tensor, y: &Tensor) -> Tensor {
        self.run_t(net, x, y, false)
    }

    /// The attack with BatchNorm in the given mode.
    pub fn run_t(&self, net: &dyn ModuleT, x: &Tensor, y: &Tensor, train: bool) -> Tensor {
        let noise = self
            .random_start
            .then(|| Tensor::empty_like(&x.detach()).uniform_(-self.eps, self.eps));
        self.run_from(x, noise.as_ref(), |adv| input_grad(net, adv, y, train))
    }

    /// The attack from `x` + `noise` (the random start, uniform in the eps-ball; None: from
    /// `x`), with `grad` giving the loss's gradient with respect to the images.
    pub fn run_from(
        &self,
        x: &Tensor,
        noise: Option<&Tensor>,
        mut grad: impl FnMut(&Tensor) -> Tensor,
    ) -> Tensor {
        let x0 = x.detach();
        let mut adv = x0.shallow_clone();
        if let Some(noise) = noise {
            adv = (adv + noise).clamp(0.0, 1.0);
        }
        for _ in 0..self.steps {
            let g = defined_or_zero(grad(&adv), &adv);
            let stepped = adv.detach() + g.sign() * self.alpha;
            let delta = (stepped - &x0).clamp(-self.eps, self.eps);
            adv = (&x0 + delta).clamp(0.0, 1.0).detach();
        }
        adv
    }
}

/// Attacks applied one after another, each to the images every earlier one failed on: the
/// adversarial images so far and which images are still classified correctly (eval mode).
pub(crate) struct Remaining {
    x: Tensor,
    y: Tensor,
    adv: Tensor,
    robust: Tensor,
}

impl Remaining {
    /// Starts from the clean images; those misclassified already count as fooled.
    pub(crate) fn new(net: &dyn ModuleT, x: &Tensor, y: &Tensor) -> Remaining {
        let x = x.detach();
        let robust = tch::no_grad(|| net.forward_t(&x, false).argmax(-1, false).eq_tensor(y));
        Remaining { adv: x.copy(), x, y: y.shallow_clone(), robust }
    }

    /// Runs `attack` on the images still classified correctly (nothing when none are);
    /// `attack` returns its images and which of them are still classified correctly.
    pub(crate) fn attack(&mut self, attack: impl FnOnce(&Tensor, &Tensor) -> (Tensor, Tensor)) {
        let idx = self.robust.nonzero().squeeze_dim(1);
        if idx.numel() == 0 {
            return;
        }
        let (found, still) = attack(&self.x.index_select(0, &idx), &self.y.index_select(0, &idx));
        let fooled = still.logical_not().nonzero().squeeze_dim(1);
        let at = idx.index_select(0, &fooled);
        self.robust = self.robust.index_fill(0, &at, 0);
        self.adv = self.adv.index_copy(0, &at, &found.index_select(0, &fooled));
    }

    pub(crate) fn count(&self) -> i64 {
        self.robust.to_kind(Kind::Int64).sum(Kind::Int64).int64_value(&[])
    }

    /// The adversarial images (the input where every attack failed) and the robust mask.
    pub(crate) fn into_parts(self) -> (Tensor, Tensor) {
        (self.adv, self.robust)
    }
}

/// How many of `x` the network classifies correctly (eval mode, no gradients).
pub fn correct(net: &dyn ModuleT, x: &Tensor, y: &Tensor) -> i64 {
    tch::no_grad(|| {
        net.forward_t(x, false)
            .argmax(-1, false)
            .eq_tensor(y)
            .to_kind(Kind::Int64)
            .sum(Kind::Int64)
            .int64_value(&[])
    })
}
