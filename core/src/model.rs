//! NAS-Bench-201's cell network (C=16, N=5) in tch, with the input normalisation as its first
//! step so attacks work on images in [0, 1].
//!
//! Variable names are those of the PyTorch state_dict of NAS-Bench-201's `TinyNetwork`
//! (`stem.0.weight`, `cells.0.layers.1.op.1.weight`, `cells.5.downsample.1.weight`, ...,
//! `classifier.bias`), and variables are created in PyTorch's construction order with PyTorch's
//! default initialisation (conv and linear: kaiming-uniform with a = sqrt(5), i.e. U(-b, b),
//! b = 1/sqrt(fan_in), likewise the linear bias; BatchNorm weight 1, bias 0). The distributions
//! are PyTorch's; the draws for a given seed are not (yet) the same as PyTorch's.
//!
//! One network may hold several runs side by side ([`network_of_runs`], for fused training), and
//! compute in bf16 ([`Network::set_dtype`]), with eval-mode BatchNorm folded into the
//! convolutions and activations channels-last ([`Network::tune_for`]); each way computes what the
//! plain network does, to rounding.

use robbench_vocab::Dtype;
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

use crate::space::{Cell, Op, CELLS_PER_STAGE, EDGES, STAGE_CHANNELS};

pub use robbench_vocab::Normalization;

fn pytorch_uniform(fan_in: i64) -> nn::Init {
    let b = 1.0 / (fan_in as f64).sqrt();
    nn::Init::Uniform { lo: -b, up: b }
}

/// One run's share of a network: its classes and its input normalisation. A network of several
/// heads is several runs side by side (see [`network_of_runs`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Head {
    pub num_classes: i64,
    pub norm: Normalization,
}

/// A convolution without bias; with `groups` runs side by side, each group sees only its run's
/// channels.
#[derive(Debug)]
struct Conv {
    ws: Tensor,
    stride: i64,
    padding: i64,
    groups: i64,
}

impl Conv {
    /// `c_in` and `c_out` are one run's channels.
    fn new(p: nn::Path, groups: i64, c_in: i64, c_out: i64, k: i64, stride: i64) -> Conv {
        let ws = p.var("weight", &[groups * c_out, c_in, k, k], pytorch_uniform(c_in * k * k));
        Conv { ws, stride, padding: (k - 1) / 2, groups }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        self.forward_with(x, &self.ws, None)
    }

    /// The convolution with weights `ws` (this one's, or with a BatchNorm folded in) and a bias.
    fn forward_with(&self, x: &Tensor, ws: &Tensor, bias: Option<&Tensor>) -> Tensor {
        // In the input's dtype (a no-op for fp32); the fp32 weight keeps the gradient.
        let w = ws.to_kind(x.kind());
        let bias = bias.map(|b| b.to_kind(x.kind()));
        // On CPU, libtorch's grouped convolution is slower than one convolution per group
        // (2.6x at batch 256, 32x32, 3 groups of 16), and its input gradient was off by up to
        // 1e-2 (relative, one channel) on augmented digits where per-group convolutions agree
        // with float64 to 1e-6: so on CPU each run's share is convolved on its own.
        if self.groups > 1 && x.device() == Device::Cpu {
            let (c_in, c_out) = (w.size()[1], w.size()[0] / self.groups);
            let outs: Vec<Tensor> = (0..self.groups)
                .map(|g| {
                    x.narrow(1, g * c_in, c_in).conv2d(
                        &w.narrow(0, g * c_out, c_out),
                        bias.as_ref().map(|b| b.narrow(0, g * c_out, c_out)),
                        [self.stride, self.stride],
                        [self.padding, self.padding],
                        [1, 1],
                        1,
                    )
                })
                .collect();
            return Tensor::cat(&outs, 1);
        }
        x.conv2d(
            &w,
            bias,
            [self.stride, self.stride],
            [self.padding, self.padding],
            [1, 1],
            self.groups,
        )
    }
}

/// PyTorch's BatchNorm epsilon.
const BN_EPS: f64 = 1e-5;

fn batch_norm(p: nn::Path, c: i64) -> nn::BatchNorm {
    let cfg = nn::BatchNormConfig {
        ws_init: nn::Init::Const(1.0),
        bs_init: nn::Init::Const(0.0),
        eps: BN_EPS,
        ..Default::default()
    };
    nn::batch_norm2d(p, c, cfg)
}

/// A convolution followed by eval-mode BatchNorm as one convolution with a bias:
/// bn(conv(x, w)) = conv(x, w * s) + (beta - mean * s), s = gamma / sqrt(var + eps). The
/// gradients still reach `w`, gamma and beta.
fn folded(conv: &Conv, bn: &nn::BatchNorm) -> (Tensor, Tensor) {
    let (gamma, beta) = (bn.ws.as_ref().expect("affine"), bn.bs.as_ref().expect("affine"));
    let s = gamma * (&bn.running_var + BN_EPS).rsqrt();
    (&conv.ws * s.view([-1, 1, 1, 1]), beta - &bn.running_mean * &s)
}

/// ReLU, convolution (no bias), BatchNorm: NAS-Bench-201's `ReLUConvBN`, whose `op` holds them
/// at indices 0, 1, 2.
#[derive(Debug)]
struct ReluConvBn {
    conv: Conv,
    bn: nn::BatchNorm,
}

impl ReluConvBn {
    fn new(p: nn::Path, groups: i64, c_in: i64, c_out: i64, k: i64, stride: i64) -> Self {
        let op = &p / "op";
        ReluConvBn {
            conv: Conv::new(&op / 1, groups, c_in, c_out, k, stride),
            bn: batch_norm(&op / 2, groups * c_out),
        }
    }

    /// `fold`: eval-mode BatchNorm folded into the convolution.
    fn forward(&self, x: &Tensor, t: &mut Taps, fold: bool) -> Tensor {
        let r = x.relu_tapped(t);
        if fold {
            let (w, b) = folded(&self.conv, &self.bn);
            return self.conv.forward_with(&r, &w, Some(&b));
        }
        let y = t.conv(r, &self.conv);
        t.batch_norm(y, &self.bn)
    }
}

#[derive(Debug)]
enum Edge {
    Zero,
    Skip,
    AvgPool,
    Conv(Box<ReluConvBn>),
}

impl Edge {
    fn forward(&self, x: &Tensor, t: &mut Taps, fold: bool) -> Option<Tensor> {
        match self {
            // The reference multiplies by zero; a zero edge adds nothing, so it is skipped.
            Edge::Zero => None,
            Edge::Skip => Some(x.shallow_clone()),
            Edge::AvgPool => Some(x.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>)),
            Edge::Conv(c) => Some(c.forward(x, t, fold)),
        }
    }
}

#[derive(Debug)]
enum Block {
    /// NAS-Bench-201's `InferCell`: one layer per edge, in cell-string order, and which edges
    /// reach the cell's output (the others are built, for the checkpoint's names, but not run).
    Cell([Edge; 6], [bool; 6]),
    /// `ResNetBasicblock` with stride 2: conv_a, conv_b, and an AvgPool + 1x1 conv shortcut.
    Reduction { conv_a: Box<ReluConvBn>, conv_b: Box<ReluConvBn>, shortcut: Conv },
}

/// The network of one run, or of several runs of one cell side by side ("fused"): every
/// variable then holds the runs' variables of the same name one after another along its first
/// dimension, convolutions are grouped by run, and the input holds each run's images in its own
/// three channels. Runs never mix: a fused forward pass computes what each run's own network
/// would, in one set of (larger) kernels.
#[derive(Debug)]
pub struct Network {
    stem_conv: Conv,
    stem_bn: nn::BatchNorm,
    blocks: Vec<Block>,
    last_bn: nn::BatchNorm,
    classifier_ws: Tensor,
    classifier_bs: Tensor,
    heads: Vec<Head>,
    /// Channels of one run at the classifier.
    features: i64,
    mean: Tensor,
    std: Tensor,
    /// What convolutions and the classifier compute in (fp32 or bf16).
    kind: Kind,
    /// Activations stored channels-last (NHWC strides).
    channels_last: bool,
    /// Fold eval-mode BatchNorm into the convolutions before it.
    fold_batch_norm: bool,
}

/// Builds the network's variables under `p` (normally the VarStore root).
pub fn network(p: &nn::Path, cell: &Cell, num_classes: i64, norm: Normalization) -> Network {
    network_of_runs(p, cell, &[Head { num_classes, norm }])
}

/// The network of `heads.len()` runs of `cell` side by side (one head: the plain network).
pub fn network_of_runs(p: &nn::Path, cell: &Cell, heads: &[Head]) -> Network {
    assert!(!heads.is_empty(), "a network has at least one run");
    let g = heads.len() as i64;
    let c0 = STAGE_CHANNELS[0] as i64;
    let stem = p / "stem";
    let stem_conv = Conv::new(&stem / 0, g, 3, c0, 3, 1);
    let stem_bn = batch_norm(&stem / 1, g * c0);
    let cells = p / "cells";
    let mut blocks = Vec::new();
    let mut c_prev = c0;
    for (stage, &c) in STAGE_CHANNELS.iter().enumerate() {
        let c = c as i64;
        if stage > 0 {
            let b = &cells / blocks.len();
            blocks.push(Block::Reduction {
                conv_a: Box::new(ReluConvBn::new(&b / "conv_a", g, c_prev, c, 3, 2)),
                conv_b: Box::new(ReluConvBn::new(&b / "conv_b", g, c, c, 3, 1)),
                shortcut: Conv::new(&b / "downsample" / 1, g, c_prev, c, 1, 1),
            });
            c_prev = c;
        }
        for _ in 0..CELLS_PER_STAGE {
            let layers = &cells / blocks.len() / "layers";
            let edges = std::array::from_fn(|e| {
                let op = cell.ops()[e];
                match op {
                    Op::None => Edge::Zero,
                    Op::SkipConnect => Edge::Skip,
                    Op::AvgPool3x3 => Edge::AvgPool,
                    Op::Conv1x1 | Op::Conv3x3 => {
                        let k = op.kernel().unwrap() as i64;
                        Edge::Conv(Box::new(ReluConvBn::new(&layers / e, g, c, c, k, 1)))
                    }
                }
            });
            blocks.push(Block::Cell(edges, cell.live_edges()));
        }
    }
    let last_bn = batch_norm(p / "lastact" / 0, g * c_prev);
    // nn::linear's order and initialisation: weight, then bias, both U(-1/sqrt(fan_in), ..).
    let classes: i64 = heads.iter().map(|h| h.num_classes).sum();
    let lin = p / "classifier";
    let classifier_ws = lin.var("weight", &[classes, c_prev], pytorch_uniform(c_prev));
    let classifier_bs = lin.var("bias", &[classes], pytorch_uniform(c_prev));
    let device = p.device();
    let per_run = |f: fn(&Normalization) -> [f64; 3]| {
        let v: Vec<f32> = heads.iter().flat_map(|h| f(&h.norm)).map(|x| x as f32).collect();
        Tensor::from_slice(&v).view([1, 3 * g, 1, 1]).to_device(device)
    };
    Network {
        stem_conv,
        stem_bn,
        blocks,
        last_bn,
        classifier_ws,
        classifier_bs,
        heads: heads.to_vec(),
        features: c_prev,
        mean: per_run(|n| n.mean),
        std: per_run(|n| n.std),
        kind: Kind::Float,
        channels_last: false,
        fold_batch_norm: false,
    }
}

/// How a forward pass runs, and what it hands out on the way: the training-free scores need
/// the inputs of every ReLU (NASWOT), the outputs of every convolution and linear layer
/// (Fisher), and a pass without BatchNorm or input normalisation (SynFlow).
#[derive(Default)]
pub struct Taps {
    pub train: bool,
    /// Compute the edges that cannot reach the output too (as the reference does).
    pub all_edges: bool,
    pub skip_batch_norm: bool,
    pub skip_normalization: bool,
    /// Collects each ReLU's input, flattened to (batch, features), when set.
    pub relu_inputs: Option<Vec<Tensor>>,
    /// When set, each conv and linear output `a` becomes `a + z` with `z` a zero tensor that
    /// requires grad, and is kept: the gradient with respect to `z` is the gradient with respect
    /// to the layer's output.
    pub layer_outputs: Option<Vec<LayerTap>>,
}

pub struct LayerTap {
    /// The layer's output (detached).
    pub output: Tensor,
    /// The zero tensor added to it.
    pub zero: Tensor,
    /// Weights per output channel (in_channels x kernel area; in_features for linear).
    pub fan_in: i64,
}

impl Taps {
    pub fn mode(train: bool) -> Taps {
        Taps { train, ..Default::default() }
    }

    fn conv(&mut self, x: Tensor, conv: &Conv) -> Tensor {
        let fan_in = conv.ws.size()[1..].iter().product();
        self.layer_output(conv.forward(&x), fan_in)
    }

    fn layer_output(&mut self, a: Tensor, fan_in: i64) -> Tensor {
        match &mut self.layer_outputs {
            None => a,
            Some(v) => {
                let zero = a.zeros_like().set_requires_grad(true);
                let out = &a + &zero;
                v.push(LayerTap { output: a.detach().to_kind(Kind::Float), zero, fan_in });
                out
            }
        }
    }

    fn batch_norm(&self, x: Tensor, bn: &nn::BatchNorm) -> Tensor {
        if self.skip_batch_norm {
            x
        } else {
            x.apply_t(bn, self.train)
        }
    }
}

trait ReluTapped {
    fn relu_tapped(&self, t: &mut Taps) -> Tensor;
}

impl ReluTapped for Tensor {
    fn relu_tapped(&self, t: &mut Taps) -> Tensor {
        if let Some(v) = &mut t.relu_inputs {
            v.push(self.detach().flatten(1, -1).to_kind(Kind::Float));
        }
        self.relu()
    }
}

impl ModuleT for Network {
    /// Images in [0, 1], NCHW; returns logits (of a network of one run).
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.forward_taps(xs, &mut Taps::mode(train))
    }
}

impl Network {
    /// Computes in `dtype` from now on (the variables stay fp32).
    pub fn set_dtype(&mut self, dtype: Dtype) {
        self.kind = match dtype {
            Dtype::Fp32 => Kind::Float,
            Dtype::Bf16 => Kind::BFloat16,
        };
    }

    /// The ways of computing measured fastest for training and attacks on `device`
    /// (`core/benches/train_step.rs`): eval-mode BatchNorm folded, and on CPU activations
    /// stored channels-last. Results agree with the plain network's to rounding.
    pub fn tune_for(&mut self, device: Device) {
        self.set_fold_batch_norm(true);
        self.set_channels_last(device == Device::Cpu);
    }

    /// Folds eval-mode BatchNorm into the convolutions before it from now on (one pass over
    /// the activations fewer per layer, forward and backward).
    pub fn set_fold_batch_norm(&mut self, on: bool) {
        self.fold_batch_norm = on;
    }

    /// Stores activations channels-last (NHWC strides) from now on.
    pub fn set_channels_last(&mut self, on: bool) {
        self.channels_last = on;
    }

    /// The runs side by side in this network.
    pub fn heads(&self) -> &[Head] {
        &self.heads
    }

    /// The forward pass of a network of one run, with taps; `forward_t` is this with none.
    pub fn forward_taps(&self, xs: &Tensor, t: &mut Taps) -> Tensor {
        assert_eq!(self.heads.len(), 1, "a network of several runs has one logits per run");
        self.forward_runs(xs, t).pop().unwrap()
    }

    /// Each run's logits (fp32), from images holding each run's 3 channels in turn.
    pub fn forward_runs(&self, xs: &Tensor, t: &mut Taps) -> Vec<Tensor> {
        let x = if t.skip_normalization {
            xs.shallow_clone()
        } else {
            ((xs.to_kind(Kind::Float) - &self.mean) / &self.std).to_kind(self.kind)
        };
        let x = if self.channels_last {
            x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
        } else {
            x
        };
        // Eval mode with BatchNorm and no conv taps (which want the convolutions' own outputs).
        let fold =
            self.fold_batch_norm && !t.train && !t.skip_batch_norm && t.layer_outputs.is_none();
        let mut x = if fold {
            let (w, b) = folded(&self.stem_conv, &self.stem_bn);
            self.stem_conv.forward_with(&x, &w, Some(&b))
        } else {
            let x = t.conv(x, &self.stem_conv);
            t.batch_norm(x, &self.stem_bn)
        };
        for block in &self.blocks {
            x = match block {
                Block::Cell(edges, live) => {
                    // An edge whose output cannot reach the cell's output is not computed (the
                    // reference computes it and never uses it); the ReLU taps want every layer.
                    let every = t.all_edges || t.relu_inputs.is_some();
                    let mut nodes: Vec<Tensor> = vec![x];
                    for node in 1..=3 {
                        let mut sum: Option<Tensor> = None;
                        for (e, &(to, from)) in EDGES.iter().enumerate() {
                            if to != node || !(live[e] || every) {
                                continue;
                            }
                            if let Some(y) = edges[e].forward(&nodes[from], t, fold) {
                                sum = Some(match sum {
                                    Some(s) => s + y,
                                    None => y,
                                });
                            }
                        }
                        // A node with only zero edges is zero, of the input's shape.
                        nodes.push(sum.unwrap_or_else(|| nodes[0].zeros_like()));
                    }
                    nodes.pop().unwrap()
                }
                Block::Reduction { conv_a, conv_b, shortcut } => {
                    let main = conv_b.forward(&conv_a.forward(&x, t, fold), t, fold);
                    let short = t.conv(
                        x.avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None::<i64>),
                        shortcut,
                    );
                    short + main
                }
            };
        }
        let x = t
            .batch_norm(x, &self.last_bn)
            .relu_tapped(t)
            .adaptive_avg_pool2d([1, 1])
            .flatten(1, -1);
        let (c, mut row) = (self.features, 0);
        let mut logits = Vec::with_capacity(self.heads.len());
        for (i, h) in self.heads.iter().enumerate() {
            let n = h.num_classes;
            let (w, b) = if self.heads.len() == 1 {
                (self.classifier_ws.shallow_clone(), self.classifier_bs.shallow_clone())
            } else {
                (self.classifier_ws.narrow(0, row, n), self.classifier_bs.narrow(0, row, n))
            };
            row += n;
            let features = if self.heads.len() == 1 {
                x.shallow_clone()
            } else {
                x.narrow(1, i as i64 * c, c)
            };
            let out =
                features.linear(&w.to_kind(features.kind()), Some(&b.to_kind(features.kind())));
            let out = t.layer_output(out, c);
            // bf16 logits come back as fp32 for the loss; float64 (SynFlow) stays as it is.
            logits.push(if out.kind() == Kind::BFloat16 { out.to_kind(Kind::Float) } else { out });
        }
        logits
    }
}
