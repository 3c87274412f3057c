//! Training-free scores of a network on one batch: the NTK family of NAS-RobBench-201 (clean,
//! robust, twice-perturbed and mixed kernels, TE-NAS's condition number, KNAS) and the
//! NAS-Bench-Suite-Zero proxies with their published recipes (the `foresight` code of
//! Abdelfattah et al. and NASLib's additions).
//!
//! Conventions shared by all scores, so a reference computation can follow them:
//! - Every forward pass of a batch runs in one BatchNorm mode (`train_mode`; TE-NAS and the
//!   proxies use training mode), the attacks that perturb the inputs included. Training mode
//!   reads no running statistics and eval mode updates none, so no score depends on which
//!   other scores ran before it.
//! - The NTK Jacobian J (B x P) has as row i the gradient of image i's summed logits with
//!   respect to every trainable parameter (all of them, sorted by name), from one forward pass
//!   of the whole batch (TE-NAS's per-image backward). Kernels are formed in float64.
//! - The proxies' "weights" are those of the convolutions and the classifier (tensors of rank 2
//!   or more), as foresight's `Conv2d`/`Linear` layer filter; their loss is the mean
//!   cross-entropy of the batch.
//! - Inputs are images in [0, 1]; the recipes that act in the network's normalised input space
//!   (jacov's input gradient, synflow's all-ones input) do so there.

use anyhow::{bail, Result};
use tch::nn::{self, ModuleT};
use tch::{Kind, Tensor};

use crate::attack::{self, Pgd};
use crate::data::Dataset;
use crate::model::{self, Network, Taps};
use crate::space::{self, Cell};

pub use robbench_vocab::{Score, ScoreAttack as Attack, ScoreInputs as Inputs};

/// What one score needs besides the network and the batch.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub score: Score,
    /// Attack radius; None = the score's default (8/255 for the robust family, else 0).
    pub eps: Option<f64>,
    pub attack: Attack,
    pub beta: f64,
    pub train_mode: bool,
}

impl Config {
    /// The radius actually used, or None where the score's inputs are not attacked.
    pub fn effective_eps(&self) -> Option<f64> {
        self.score.effective_eps(self.eps)
    }

    pub fn validate(&self) -> Result<()> {
        if let Some(e) = self.eps {
            if !(e.is_finite() && (0.0..=1.0).contains(&e)) {
                bail!("eps must be in [0, 1], got {e}");
            }
        }
        if !(self.beta.is_finite() && (0.0..=1.0).contains(&self.beta)) {
            bail!("beta must be in [0, 1], got {}", self.beta);
        }
        Ok(())
    }
}

/// The batch as the score needs it: clean images `x` with labels `y` and, on demand, the
/// attacked images A(x) and A(A(x)).
pub struct Batch {
    pub x: Tensor,
    pub y: Tensor,
    attacked: Option<Tensor>,
    twice: Option<Tensor>,
    /// NTK Jacobians already computed, by input (the kernels of one batch share them).
    jacobians: [Option<Tensor>; 3],
}

#[derive(Clone, Copy)]
enum Which {
    Clean = 0,
    Attacked = 1,
    Twice = 2,
}

impl Batch {
    pub fn new(x: Tensor, y: Tensor) -> Batch {
        Batch { x, y, attacked: None, twice: None, jacobians: [None, None, None] }
    }

    fn input(&self, w: Which) -> &Tensor {
        let t = match w {
            Which::Clean => Some(&self.x),
            Which::Attacked => self.attacked.as_ref(),
            Which::Twice => self.twice.as_ref(),
        };
        t.expect("scores::prepare runs the attacks first")
    }

    /// The NTK Jacobian on one of the inputs, computed once per batch (valid because every
    /// pass of a batch runs in one BatchNorm mode and training mode reads no running statistics).
    fn jacobian(&mut self, s: &Subject, train: bool, w: Which) -> Tensor {
        if self.jacobians[w as usize].is_none() {
            let j = ntk_jacobian(s.net, s.vs, self.input(w), train);
            self.jacobians[w as usize] = Some(j);
        }
        self.jacobians[w as usize].as_ref().unwrap().shallow_clone()
    }
}

fn attack(net: &Network, cfg: &Config, eps: f64, x: &Tensor, y: &Tensor) -> Tensor {
    match cfg.attack {
        Attack::Fgsm => attack::fgsm_t(net, x, y, eps, cfg.train_mode),
        Attack::Pgd => Pgd { eps, alpha: eps / 4.0, steps: 7, random_start: true }.run_t(
            net,
            x,
            y,
            cfg.train_mode,
        ),
    }
}

/// Runs the attacks a score needs (A(x), and A(A(x)) for the twice-perturbed kernels), before
/// any score is computed.
pub fn prepare(net: &Network, cfg: &Config, b: &mut Batch) {
    let Some(eps) = cfg.effective_eps() else { return };
    if b.attacked.is_none() {
        b.attacked = Some(attack(net, cfg, eps, &b.x, &b.y));
    }
    if matches!(cfg.score, Score::NtkTwice | Score::NtkMixedTwice) && b.twice.is_none() {
        let once = b.attacked.as_ref().unwrap();
        b.twice = Some(attack(net, cfg, eps, once, &b.y));
    }
}

/// Trainable parameters sorted by name (the Jacobian's column order).
fn parameters(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    crate::train::trainables(vs)
}

/// Conv and linear weights (rank 2 or more): foresight's `Conv2d`/`Linear` layers.
fn layer_weights(vs: &nn::VarStore) -> Vec<Tensor> {
    parameters(vs).into_iter().filter(|(_, t)| t.dim() >= 2).map(|(_, t)| t).collect()
}

/// Gradients of `out` with respect to `params`; zeros for a parameter `out` does not use (a
/// layer cut off from the output by `none` edges).
fn grads(out: &Tensor, params: &[Tensor], keep_graph: bool, create_graph: bool) -> Vec<Tensor> {
    let g = Tensor::run_backward(&[out], params, keep_graph, create_graph);
    g.into_iter().zip(params).map(|(g, p)| if g.defined() { g } else { p.zeros_like() }).collect()
}

/// Row i: the flattened gradient of `per_image[i]` with respect to `params`.
fn per_image_grads(per_image: &Tensor, params: &[Tensor]) -> Tensor {
    let n = per_image.size()[0];
    let rows: Vec<Tensor> = (0..n)
        .map(|i| {
            let g = grads(&per_image.get(i), params, true, false);
            Tensor::cat(&g.iter().map(|t| t.flatten(0, -1)).collect::<Vec<_>>(), 0)
        })
        .collect();
    Tensor::stack(&rows, 0)
}

/// The NTK Jacobian of the batch (TE-NAS: summed logits per image).
pub fn ntk_jacobian(net: &Network, vs: &nn::VarStore, x: &Tensor, train: bool) -> Tensor {
    let params: Vec<Tensor> = parameters(vs).into_iter().map(|(_, t)| t).collect();
    let logits = net.forward_t(x, train);
    per_image_grads(&logits.sum_dim_intlist(-1, false, Kind::Float), &params).to_kind(Kind::Double)
}

fn gram(a: &Tensor, b: &Tensor) -> Tensor {
    a.matmul(&b.tr())
}

/// Eigenvalues of a symmetric kernel, ascending.
fn eigenvalues(k: &Tensor) -> Tensor {
    let sym = (k + k.tr()) / 2.0;
    sym.linalg_eigvalsh("L")
}

fn smallest(k: &Tensor) -> f64 {
    eigenvalues(k).double_value(&[0])
}

/// (1-beta)^2 K + beta(1-beta)(C + C^T) + beta^2 R with K = J1 J1^T, C = J1 J2^T, R = J2 J2^T.
fn mixed(j1: &Tensor, j2: &Tensor, beta: f64) -> Tensor {
    let c = gram(j1, j2);
    gram(j1, j1) * ((1.0 - beta) * (1.0 - beta))
        + (&c + c.tr()) * (beta * (1.0 - beta))
        + gram(j2, j2) * (beta * beta)
}

fn cross_entropy(net: &Network, x: &Tensor, y: &Tensor, train: bool) -> Tensor {
    net.forward_t(x, train).cross_entropy_for_logits(y)
}

fn total(ts: impl IntoIterator<Item = Tensor>) -> f64 {
    ts.into_iter().map(|t| t.to_kind(Kind::Double).sum(Kind::Double).double_value(&[])).sum()
}

/// The network a score is computed on, with what building it again needs (synflow works on
/// a float64, BatchNorm-free copy).
pub struct Subject<'a> {
    pub cell: &'a Cell,
    pub dataset: Dataset,
    pub vs: &'a nn::VarStore,
    pub net: &'a Network,
}

/// One score of the network on the batch (call `prepare` first for every score of a batch).
pub fn compute(s: &Subject, cfg: &Config, b: &mut Batch) -> Result<f64> {
    let train = cfg.train_mode;
    let which = if cfg.effective_eps().is_some() && cfg.score.inputs() == Inputs::Optional {
        Which::Attacked
    } else {
        Which::Clean
    };
    if cfg.score == Score::NtkCond {
        let j = b.jacobian(s, train, which);
        let e = eigenvalues(&gram(&j, &j));
        let n = e.size()[0];
        return Ok(e.double_value(&[n - 1]) / e.double_value(&[0]));
    }
    let kernel = |b: &mut Batch, w: Which| {
        let j = b.jacobian(s, train, w);
        gram(&j, &j)
    };
    let value = match cfg.score {
        Score::NtkClean => smallest(&kernel(b, Which::Clean)),
        Score::NtkRobust => smallest(&kernel(b, Which::Attacked)),
        Score::NtkTwice => smallest(&kernel(b, Which::Twice)),
        Score::NtkMixed | Score::NtkMixedTwice => {
            let other = if cfg.score == Score::NtkMixed { Which::Attacked } else { Which::Twice };
            let j1 = b.jacobian(s, train, Which::Clean);
            let j2 = b.jacobian(s, train, other);
            smallest(&mixed(&j1, &j2, cfg.beta))
        }
        _ => {
            let inputs = b.input(which).shallow_clone();
            other(s, cfg, &inputs, &b.y)
        }
    };
    Ok(value)
}

/// The scores outside the NTK kernels, on `inputs` (clean or attacked).
fn other(s: &Subject, cfg: &Config, inputs: &Tensor, y: &Tensor) -> f64 {
    let (net, vs, train) = (s.net, s.vs, cfg.train_mode);
    match cfg.score {
        Score::NtkClean
        | Score::NtkRobust
        | Score::NtkTwice
        | Score::NtkMixed
        | Score::NtkMixedTwice
        | Score::NtkCond => unreachable!("kernel scores are computed from the batch's Jacobians"),
        Score::Knas => {
            // KNAS: the mean of the Gram matrix of per-image loss gradients.
            let params: Vec<Tensor> = parameters(vs).into_iter().map(|(_, t)| t).collect();
            let logits = net.forward_t(inputs, train);
            let losses = logits
                .log_softmax(-1, Kind::Float)
                .gather(1, &y.unsqueeze(1), false)
                .squeeze_dim(1)
                .neg();
            let g = per_image_grads(&losses, &params).to_kind(Kind::Double);
            gram(&g, &g).mean(Kind::Double).double_value(&[])
        }
        Score::GradNorm | Score::Snip | Score::Plain => {
            let w = layer_weights(vs);
            let g = grads(&cross_entropy(net, inputs, y, train), &w, false, false);
            tch::no_grad(|| match cfg.score {
                Score::GradNorm => {
                    g.iter().map(|g| g.to_kind(Kind::Double).norm().double_value(&[])).sum()
                }
                Score::Snip => total(g.iter().zip(&w).map(|(g, w)| (g * w).abs())),
                _ => total(g.iter().zip(&w).map(|(g, w)| g * w)),
            })
        }
        Score::Grasp => {
            // foresight: g = dL/dw, then Hg = d(g . dL/dw)/dw with a second forward pass
            // differentiated twice; score -w . Hg.
            let w = layer_weights(vs);
            let g: Vec<Tensor> = grads(&cross_entropy(net, inputs, y, train), &w, false, false)
                .into_iter()
                .map(|t| t.detach())
                .collect();
            let gf = grads(&cross_entropy(net, inputs, y, train), &w, true, true);
            let z = g
                .iter()
                .zip(&gf)
                .map(|(a, b)| (a * b).sum(Kind::Float))
                .reduce(|a, b| a + b)
                .unwrap();
            let hg = grads(&z, &w, false, false);
            tch::no_grad(|| total(hg.iter().zip(&w).map(|(h, w)| -(w * h))))
        }
        Score::Fisher => {
            // foresight: per output channel k of each conv/linear layer, 0.5 * mean over the
            // batch of (sum over positions of activation * gradient)^2, spread over the
            // channel's weights.
            let mut taps = Taps { train, layer_outputs: Some(Vec::new()), ..Default::default() };
            let loss = net.forward_taps(inputs, &mut taps).cross_entropy_for_logits(y);
            let layers = taps.layer_outputs.unwrap();
            let zs: Vec<Tensor> = layers.iter().map(|l| l.zero.shallow_clone()).collect();
            let g = Tensor::run_backward(&[loss], &zs, false, false);
            tch::no_grad(|| {
                let mut sum = 0.0;
                for (l, g) in layers.iter().zip(g) {
                    if !g.defined() {
                        continue;
                    }
                    let ag = (&l.output * g).to_kind(Kind::Double);
                    let g_nk = if ag.dim() > 2 {
                        ag.sum_dim_intlist(&[2i64, 3][..], false, Kind::Double)
                    } else {
                        ag
                    };
                    let del_k = g_nk.pow_tensor_scalar(2).mean_dim(0, false, Kind::Double) * 0.5;
                    sum += del_k.sum(Kind::Double).double_value(&[]) * l.fan_in as f64;
                }
                sum
            })
        }
        Score::Jacov => {
            // Mellor et al.: input gradients of the summed outputs, in the normalised input
            // space; -sum(log(v + k) + 1/(v + k)) over the eigenvalues v of their correlation
            // matrix, k = 1e-5.
            let x = inputs.detach().set_requires_grad(true);
            let out = net.forward_t(&x, train);
            let g = &grads(&out.sum(Kind::Float), &[x], false, false)[0];
            let std = Tensor::from_slice(&s.dataset.normalization().std)
                .to_kind(Kind::Double)
                .to_device(g.device())
                .view([1, 3, 1, 1]);
            let jac = (g.to_kind(Kind::Double) * std).flatten(1, -1);
            let corr = jac.corrcoef();
            let v = eigenvalues(&corr) + 1e-5;
            -(v.log() + v.reciprocal()).sum(Kind::Double).double_value(&[])
        }
        Score::Nwot => {
            // Mellor et al. v2 (NASLib): K = sum over ReLUs of c c^T + (1-c)(1-c)^T, c the binary
            // codes of the ReLU inputs; score log|det K|.
            let mut taps = Taps { train, relu_inputs: Some(Vec::new()), ..Default::default() };
            let _ = tch::no_grad(|| net.forward_taps(inputs, &mut taps));
            let n = inputs.size()[0];
            let mut k = Tensor::zeros([n, n], (Kind::Double, inputs.device()));
            for r in taps.relu_inputs.unwrap() {
                let c = r.gt(0.0).to_kind(Kind::Double);
                let nc = 1.0 - &c;
                k += gram(&c, &c) + gram(&nc, &nc);
            }
            let (_, logabsdet) = Tensor::linalg_slogdet(&k);
            logabsdet.double_value(&[])
        }
        Score::Synflow => synflow(s),
        Score::L2Norm => tch::no_grad(|| {
            layer_weights(vs).iter().map(|w| w.to_kind(Kind::Double).norm().double_value(&[])).sum()
        }),
        Score::Params => parameters(vs).iter().map(|(_, t)| t.numel() as f64).sum(),
        Score::Flops => {
            let shape = space::NetShape {
                classes: s.dataset.num_classes() as usize,
                resolution: s.dataset.resolution() as usize,
            };
            space::mflops(s.cell, shape)
        }
    }
}

/// foresight's synflow: the network without BatchNorm, in float64, every parameter replaced by
/// its absolute value; an all-ones input (in the normalised space); sum of |w * dR/dw| over the
/// conv and linear weights, R the summed output.
fn synflow(s: &Subject) -> f64 {
    let device = s.vs.device();
    let mut vs = nn::VarStore::new(device);
    let net =
        model::network(&vs.root(), s.cell, s.dataset.num_classes(), s.dataset.normalization());
    vs.copy(s.vs).expect("a network built from the same cell has the same variables");
    vs.double();
    tch::no_grad(|| {
        for (_, mut t) in vs.variables() {
            let _ = t.abs_();
        }
    });
    let r = s.dataset.resolution();
    let ones = Tensor::ones([1, 3, r, r], (Kind::Double, device));
    let mut taps = Taps {
        train: false,
        skip_batch_norm: true,
        skip_normalization: true,
        ..Default::default()
    };
    let out = net.forward_taps(&ones, &mut taps).sum(Kind::Double);
    let w = layer_weights(&vs);
    let g = grads(&out, &w, false, false);
    tch::no_grad(|| total(g.iter().zip(&w).map(|(g, w)| (g * w).abs())))
}
