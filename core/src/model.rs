//! NAS-Bench-201's cell network (C=16, N=5) in tch, with the input normalisation as its first
//! step so attacks work on images in [0, 1].
//!
//! Variable names are those of the PyTorch state_dict of NAS-Bench-201's `TinyNetwork`
//! (`stem.0.weight`, `cells.0.layers.1.op.1.weight`, `cells.5.downsample.1.weight`, ...,
//! `classifier.bias`), and variables are created in PyTorch's construction order with PyTorch's
//! default initialisation (conv and linear: kaiming-uniform with a = sqrt(5), i.e. U(-b, b),
//! b = 1/sqrt(fan_in), likewise the linear bias; BatchNorm weight 1, bias 0). The distributions
//! are PyTorch's; the draws for a given seed are not (yet) the same as PyTorch's.

use tch::nn::{self, ModuleT};
use tch::{Kind, Tensor};

use crate::space::{Cell, Op, CELLS_PER_STAGE, EDGES, STAGE_CHANNELS};

pub use robbench_vocab::Normalization;

fn pytorch_uniform(fan_in: i64) -> nn::Init {
    let b = 1.0 / (fan_in as f64).sqrt();
    nn::Init::Uniform { lo: -b, up: b }
}

fn conv(p: nn::Path, c_in: i64, c_out: i64, k: i64, stride: i64, padding: i64) -> nn::Conv2D {
    let cfg = nn::ConvConfig {
        stride,
        padding,
        bias: false,
        ws_init: pytorch_uniform(c_in * k * k),
        ..Default::default()
    };
    nn::conv2d(p, c_in, c_out, k, cfg)
}

fn batch_norm(p: nn::Path, c: i64) -> nn::BatchNorm {
    let cfg = nn::BatchNormConfig {
        ws_init: nn::Init::Const(1.0),
        bs_init: nn::Init::Const(0.0),
        ..Default::default()
    };
    nn::batch_norm2d(p, c, cfg)
}

/// ReLU, convolution (no bias), BatchNorm: NAS-Bench-201's `ReLUConvBN`, whose `op` holds them
/// at indices 0, 1, 2.
#[derive(Debug)]
struct ReluConvBn {
    conv: nn::Conv2D,
    bn: nn::BatchNorm,
}

impl ReluConvBn {
    fn new(p: nn::Path, c_in: i64, c_out: i64, k: i64, stride: i64, padding: i64) -> Self {
        let op = &p / "op";
        ReluConvBn {
            conv: conv(&op / 1, c_in, c_out, k, stride, padding),
            bn: batch_norm(&op / 2, c_out),
        }
    }

    fn forward(&self, x: &Tensor, t: &mut Taps) -> Tensor {
        let r = x.relu_tapped(t);
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
    fn forward(&self, x: &Tensor, t: &mut Taps) -> Option<Tensor> {
        match self {
            // The reference multiplies by zero; a zero edge adds nothing, so it is skipped.
            Edge::Zero => None,
            Edge::Skip => Some(x.shallow_clone()),
            Edge::AvgPool => Some(x.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>)),
            Edge::Conv(c) => Some(c.forward(x, t)),
        }
    }
}

#[derive(Debug)]
enum Block {
    /// NAS-Bench-201's `InferCell`: one layer per edge, in cell-string order, and which edges
    /// reach the cell's output (the others are built, for the checkpoint's names, but not run).
    Cell([Edge; 6], [bool; 6]),
    /// `ResNetBasicblock` with stride 2: conv_a, conv_b, and an AvgPool + 1x1 conv shortcut.
    Reduction { conv_a: Box<ReluConvBn>, conv_b: Box<ReluConvBn>, shortcut: nn::Conv2D },
}

#[derive(Debug)]
pub struct Network {
    stem_conv: nn::Conv2D,
    stem_bn: nn::BatchNorm,
    blocks: Vec<Block>,
    last_bn: nn::BatchNorm,
    classifier: nn::Linear,
    mean: Tensor,
    std: Tensor,
}

/// Builds the network's variables under `p` (normally the VarStore root).
pub fn network(p: &nn::Path, cell: &Cell, num_classes: i64, norm: Normalization) -> Network {
    let c0 = STAGE_CHANNELS[0] as i64;
    let stem = p / "stem";
    let stem_conv = conv(&stem / 0, 3, c0, 3, 1, 1);
    let stem_bn = batch_norm(&stem / 1, c0);
    let cells = p / "cells";
    let mut blocks = Vec::new();
    let mut c_prev = c0;
    for (stage, &c) in STAGE_CHANNELS.iter().enumerate() {
        let c = c as i64;
        if stage > 0 {
            let b = &cells / blocks.len();
            blocks.push(Block::Reduction {
                conv_a: Box::new(ReluConvBn::new(&b / "conv_a", c_prev, c, 3, 2, 1)),
                conv_b: Box::new(ReluConvBn::new(&b / "conv_b", c, c, 3, 1, 1)),
                shortcut: conv(&b / "downsample" / 1, c_prev, c, 1, 1, 0),
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
                        Edge::Conv(Box::new(ReluConvBn::new(&layers / e, c, c, k, 1, (k - 1) / 2)))
                    }
                }
            });
            blocks.push(Block::Cell(edges, cell.live_edges()));
        }
    }
    let last_bn = batch_norm(p / "lastact" / 0, c_prev);
    let cfg = nn::LinearConfig {
        ws_init: pytorch_uniform(c_prev),
        bs_init: Some(pytorch_uniform(c_prev)),
        bias: true,
    };
    let classifier = nn::linear(p / "classifier", c_prev, num_classes, cfg);
    let device = p.device();
    let to =
        |v: [f64; 3]| Tensor::from_slice(&v.map(|x| x as f32)).view([1, 3, 1, 1]).to_device(device);
    Network {
        stem_conv,
        stem_bn,
        blocks,
        last_bn,
        classifier,
        mean: to(norm.mean),
        std: to(norm.std),
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

    fn conv(&mut self, x: Tensor, conv: &nn::Conv2D) -> Tensor {
        let fan_in = conv.ws.size()[1..].iter().product();
        self.layer_output(x.apply(conv), fan_in)
    }

    fn layer_output(&mut self, a: Tensor, fan_in: i64) -> Tensor {
        match &mut self.layer_outputs {
            None => a,
            Some(v) => {
                let zero = a.zeros_like().set_requires_grad(true);
                let out = &a + &zero;
                v.push(LayerTap { output: a.detach(), zero, fan_in });
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
            v.push(self.detach().flatten(1, -1));
        }
        self.relu()
    }
}

impl ModuleT for Network {
    /// Images in [0, 1], NCHW; returns logits.
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.forward_taps(xs, &mut Taps::mode(train))
    }
}

impl Network {
    /// The forward pass with taps; `forward_t` is this with none.
    pub fn forward_taps(&self, xs: &Tensor, t: &mut Taps) -> Tensor {
        let x = if t.skip_normalization {
            xs.shallow_clone()
        } else {
            (xs.to_kind(Kind::Float) - &self.mean) / &self.std
        };
        let x = t.conv(x, &self.stem_conv);
        let mut x = t.batch_norm(x, &self.stem_bn);
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
                            if let Some(y) = edges[e].forward(&nodes[from], t) {
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
                    let main = conv_b.forward(&conv_a.forward(&x, t), t);
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
        let fan_in = self.classifier.ws.size()[1];
        t.layer_output(x.apply(&self.classifier), fan_in)
    }
}
