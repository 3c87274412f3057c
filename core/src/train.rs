//! Adversarial training under NAS-RobBench-201's protocol, resumable and bit-reproducible on CPU.
//!
//! Per batch: PGD examples with the network in eval mode (eps 8/255, step 2/255, 7 steps,
//! uniform random start), then train mode and cross-entropy on the adversarial batch only; SGD
//! with momentum and weight decay (PyTorch's update rule, written out so its momentum buffers
//! can be checkpointed); PyTorch OneCycleLR's schedule stepped every batch; evaluation after the
//! last epoch. Randomness is derived from (seed, purpose, epoch), so a run resumed at an epoch
//! boundary draws exactly what the uninterrupted run would have.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

use crate::attack::{self, Pgd};
use crate::data::{self, Dataset, Split};
use crate::model::{self, Network};
use crate::rng::Rng;
use crate::space::Cell;

/// Set by Ctrl-C: training stops at the next step boundary, keeping its last checkpoint.
pub static STOP: AtomicBool = AtomicBool::new(false);

#[derive(Clone, Debug, PartialEq)]
pub struct Protocol {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr_max: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    /// 'pgd' or 'none' (standard training).
    pub train_attack: String,
    pub train_eps: f64,
    pub train_alpha: f64,
    pub train_steps: usize,
    /// Use only the first n training images (None: all).
    pub n_train: Option<usize>,
}

impl Default for Protocol {
    /// The paper's protocol. robbench's `protocol::Protocol::paper()` states it again on purpose:
    /// robbench does not link this crate (nor libtorch) and passes every setting to the worker.
    fn default() -> Protocol {
        Protocol {
            epochs: 50,
            batch_size: 256,
            lr_max: 0.1,
            momentum: 0.9,
            weight_decay: 5e-4,
            train_attack: "pgd".into(),
            train_eps: 8.0 / 255.0,
            train_alpha: 2.0 / 255.0,
            train_steps: 7,
            n_train: None,
        }
    }
}

impl Protocol {
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 || self.batch_size == 0 {
            bail!("epochs and batch_size must be positive");
        }
        for (name, v) in [("lr_max", self.lr_max), ("momentum", self.momentum), ("weight_decay", self.weight_decay), ("train_eps", self.train_eps), ("train_alpha", self.train_alpha)] {
            if !v.is_finite() || v < 0.0 {
                bail!("{name} must be a finite non-negative number, got {v}");
            }
        }
        if self.momentum >= 1.0 {
            bail!("momentum must be below 1, got {}", self.momentum);
        }
        if !matches!(self.train_attack.as_str(), "pgd" | "none") {
            bail!("train_attack must be 'pgd' or 'none', got '{}'", self.train_attack);
        }
        Ok(())
    }
}

/// PyTorch's OneCycleLR with its defaults (pct_start 0.3, cosine annealing, div_factor 25,
/// final_div_factor 1e4, momentum cycled between 0.85 and 0.95): (lr, momentum) for a step.
pub fn one_cycle(step: usize, total_steps: usize, lr_max: f64) -> (f64, f64) {
    let initial = lr_max / 25.0;
    let min = initial / 1e4;
    let (m_base, m_max) = (0.85, 0.95);
    let phase1_end = 0.3 * total_steps as f64 - 1.0;
    let phase2_end = total_steps as f64 - 1.0;
    let cos = |start: f64, end: f64, pct: f64| end + (start - end) / 2.0 * ((std::f64::consts::PI * pct).cos() + 1.0);
    let s = step as f64;
    if s <= phase1_end {
        let pct = s / phase1_end;
        (cos(initial, lr_max, pct), cos(m_max, m_base, pct))
    } else {
        let pct = (s - phase1_end) / (phase2_end - phase1_end);
        (cos(lr_max, min, pct), cos(m_base, m_max, pct))
    }
}

/// What one finished epoch looked like.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochStats {
    pub epoch: usize,
    pub lr: f64,
    pub train_loss: f64,
    pub train_adv_acc: f64,
    pub seconds: f64,
}

/// Progress reported to the caller (a progress bar) after every step.
pub struct Progress {
    pub epoch: usize,
    pub epochs: usize,
    pub step: usize,
    pub steps: usize,
    pub images_per_second: f64,
}

pub struct TrainSpec<'a> {
    pub cell: Cell,
    pub dataset: Dataset,
    pub seed: u64,
    pub protocol: &'a Protocol,
    pub device: Device,
    /// Folder for this run's checkpoints (resume state and final weights).
    pub dir: &'a Path,
}

pub struct Trained {
    pub vs: nn::VarStore,
    pub net: Network,
    pub curves: Vec<EpochStats>,
    pub train_seconds: f64,
    pub weights: PathBuf,
}

/// A freshly initialised network: seeded as PyTorch would be (same generator, same order).
pub fn init(cell: &Cell, dataset: Dataset, seed: u64, device: Device) -> (nn::VarStore, Network) {
    tch::manual_seed(seed as i64);
    let vs = nn::VarStore::new(device);
    let net = model::network(&vs.root(), cell, dataset.num_classes(), dataset.normalization());
    (vs, net)
}

/// Trainable parameters (not BatchNorm statistics) in a fixed order: sorted by name.
pub fn trainables(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = vs.variables().into_iter().filter(|(_, t)| t.requires_grad()).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

const RESUME: &str = "resume.safetensors";
const RESUME_META: &str = "resume.json";

fn save_resume(dir: &Path, vs: &nn::VarStore, buffers: &[Option<Tensor>], names: &[String], curves: &[EpochStats], steps_done: usize) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    for (n, b) in names.iter().zip(buffers) {
        if let Some(b) = b {
            named.push((format!("momentum_buffer.{n}"), b.shallow_clone()));
        }
    }
    let tmp = dir.join(".resume.safetensors.tmp");
    Tensor::write_safetensors(&named, &tmp)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, dir.join(RESUME))?;
    let meta = curves
        .iter()
        .map(|c| format!("{},{:e},{:e},{:e},{:e}", c.epoch, c.lr, c.train_loss, c.train_adv_acc, c.seconds))
        .collect::<Vec<_>>()
        .join("\n");
    let tmp = dir.join(".resume.json.tmp");
    std::fs::write(&tmp, format!("{steps_done}\n{meta}"))?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, dir.join(RESUME_META))?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

fn load_resume(dir: &Path, vs: &mut nn::VarStore, names: &[String]) -> Result<Option<(Vec<Option<Tensor>>, Vec<EpochStats>, usize)>> {
    let (w, m) = (dir.join(RESUME), dir.join(RESUME_META));
    if !w.exists() || !m.exists() {
        return Ok(None);
    }
    let tensors = Tensor::read_safetensors(&w).with_context(|| format!("cannot read {}", w.display()))?;
    let map: std::collections::HashMap<String, Tensor> = tensors.into_iter().collect();
    tch::no_grad(|| -> Result<()> {
        for (name, mut var) in vs.variables() {
            let src = map.get(&name).with_context(|| format!("{}: no tensor {name}", w.display()))?;
            var.copy_(src);
        }
        Ok(())
    })?;
    let buffers = names
        .iter()
        .map(|n| map.get(&format!("momentum_buffer.{n}")).map(|t| t.to_device(vs.device())))
        .collect();
    let text = std::fs::read_to_string(&m)?;
    let mut lines = text.lines();
    let steps_done: usize = lines.next().unwrap_or("0").parse().context("resume.json: bad step count")?;
    let curves = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Ok(EpochStats { epoch: f[0].parse()?, lr: f[1].parse()?, train_loss: f[2].parse()?, train_adv_acc: f[3].parse()?, seconds: f[4].parse()? })
        })
        .collect::<Result<Vec<_>, Box<dyn std::error::Error + Send + Sync>>>()
        .map_err(|e| anyhow::anyhow!("{}: {e}", m.display()))?;
    Ok(Some((buffers, curves, steps_done)))
}

/// Trains one network, resuming from `spec.dir` if an earlier attempt left a checkpoint there.
/// Returns Ok(None) when stopped by Ctrl-C (the last epoch checkpoint is kept).
pub fn train(spec: &TrainSpec, train: &Split, mut on_step: impl FnMut(&Progress)) -> Result<Option<Trained>> {
    let p = spec.protocol;
    p.validate()?;
    // Two processes on one run (the same call in two shells, an orphaned worker) would
    // overwrite each other's checkpoints: the run folder's lock admits one. The OS releases
    // it when the process ends, however it ends.
    std::fs::create_dir_all(spec.dir).with_context(|| format!("cannot create {}", spec.dir.display()))?;
    let lock_path = spec.dir.join("lock");
    let lock = std::fs::File::create(&lock_path).with_context(|| format!("cannot create {}", lock_path.display()))?;
    if lock.try_lock().is_err() {
        bail!("{} is being trained by another process (it holds {})", spec.dir.display(), lock_path.display());
    }
    let (mut vs, net) = init(&spec.cell, spec.dataset, spec.seed, spec.device);
    let params = trainables(&vs);
    let names: Vec<String> = params.iter().map(|(n, _)| n.clone()).collect();
    let n = p.n_train.map(|k| (k as i64).min(train.len())).unwrap_or(train.len());
    if n == 0 {
        bail!("no training images");
    }
    let steps_per_epoch = (n as usize).div_ceil(p.batch_size);
    let total = steps_per_epoch * p.epochs;
    let (mut buffers, mut curves, mut step) = match load_resume(spec.dir, &mut vs, &names)? {
        Some(state) => state,
        None => ((0..names.len()).map(|_| None).collect(), Vec::new(), 0),
    };
    let params = trainables(&vs);
    let mut train_seconds: f64 = curves.iter().map(|c| c.seconds).sum();
    for epoch in curves.len()..p.epochs {
        let t0 = Instant::now();
        let order = Rng::derive(spec.seed, 0, epoch as u64).permutation(n as usize);
        let mut aug_rng = Rng::derive(spec.seed, 1, epoch as u64);
        tch::manual_seed(Rng::derive(spec.seed, 2, epoch as u64).next_u64() as i64 >> 1);
        let (mut loss_sum, mut correct, mut seen) = (0.0, 0i64, 0i64);
        let mut lr = 0.0;
        for (k, chunk) in order.chunks(p.batch_size).enumerate() {
            if STOP.load(Ordering::SeqCst) {
                return Ok(None);
            }
            let idx = Tensor::from_slice(chunk);
            let (x, y) = train.batch(&idx, Device::Cpu);
            let x = data::augment(&x, spec.dataset, &mut aug_rng).to_device(spec.device);
            let y = y.to_device(spec.device);
            let (lr_k, m_k) = one_cycle(step, total, p.lr_max);
            lr = lr_k;
            let (loss, batch_correct) = adversarial_step(&net, &params, &mut buffers, &x, &y, p, lr_k, m_k);
            step += 1;
            let bs = chunk.len() as i64;
            loss_sum += loss * bs as f64;
            correct += batch_correct;
            seen += bs;
            let elapsed = t0.elapsed().as_secs_f64();
            on_step(&Progress { epoch, epochs: p.epochs, step: k + 1, steps: steps_per_epoch, images_per_second: seen as f64 / elapsed.max(1e-9) });
        }
        let seconds = t0.elapsed().as_secs_f64();
        train_seconds += seconds;
        curves.push(EpochStats { epoch: epoch + 1, lr, train_loss: loss_sum / seen as f64, train_adv_acc: correct as f64 / seen as f64, seconds });
        save_resume(spec.dir, &vs, &buffers, &names, &curves, step)?;
    }
    let weights = spec.dir.join("weights.safetensors");
    crate::checkpoint::save(&vs, &weights, step as i64)?;
    Ok(Some(Trained { vs, net, curves, train_seconds, weights }))
}

/// One step of the protocol on a batch: adversarial examples with the network in eval mode
/// (unless standard training), then train mode, cross-entropy on them, and an SGD step with
/// momentum `momentum` and rate `lr` (PyTorch's rule: d = g + wd p; b = m b + d, or d at the
/// first step; p -= lr b). Returns the loss and how many adversarial examples were right.
pub fn adversarial_step(net: &Network, params: &[(String, Tensor)], buffers: &mut [Option<Tensor>], x: &Tensor, y: &Tensor, p: &Protocol, lr: f64, momentum: f64) -> (f64, i64) {
    let pgd = Pgd { eps: p.train_eps, alpha: p.train_alpha, steps: p.train_steps, random_start: true };
    let x_adv = if p.train_attack == "pgd" { pgd.run(net, x, y) } else { x.shallow_clone() };
    let logits = net.forward_t(&x_adv, true);
    let loss = logits.cross_entropy_for_logits(y);
    for (_, t) in params {
        let mut g = t.grad();
        if g.defined() {
            let _ = g.zero_();
        }
    }
    loss.backward();
    tch::no_grad(|| {
        for ((_, param), buf) in params.iter().zip(buffers.iter_mut()) {
            let g = param.grad();
            if !g.defined() {
                continue;
            }
            let d = &g + param * p.weight_decay;
            let b = match buf.take() {
                None => d.copy(),
                Some(b) => b * momentum + d,
            };
            let mut param = param.shallow_clone();
            let _ = param.g_sub_(&(&b * lr));
            *buf = Some(b);
        }
    });
    let correct = tch::no_grad(|| logits.argmax(-1, false).eq_tensor(y).to_kind(Kind::Int64).sum(Kind::Int64).int64_value(&[]));
    (loss.double_value(&[]), correct)
}

/// The metrics columns the attack suite fills, in the order of the `metrics` table.
pub const ATTACKS: [&str; 16] = ["clean", "fgsm3", "fgsm8", "pgd3", "pgd8", "apgd3", "apgd8", "aa3", "aa8", "square3", "square8", "pgd16", "pgd32", "pgd64", "pgd128", "pgd255"];

/// Accuracies under attack, and the warnings of AutoAttack's sanity checks.
#[derive(Debug, Default)]
pub struct Evaluation {
    pub metrics: Vec<(String, f64)>,
    /// (attack, what its sanity checks found), in the order they fired.
    pub warnings: Vec<(String, String)>,
}

/// Accuracy under each named attack on the first `n_eval` evaluation images (all when None),
/// in batches of `batch`.
pub fn evaluate(net: &Network, eval: &Split, attacks: &[String], n_eval: Option<i64>, device: Device, batch: i64, seed: u64) -> Result<Evaluation> {
    let n = n_eval.map(|k| k.min(eval.len())).unwrap_or(eval.len());
    if n == 0 {
        bail!("no evaluation images");
    }
    if let Some(a) = attacks.iter().find(|a| !ATTACKS.contains(&a.as_str())) {
        bail!("attack '{a}' is not available (available: {})", ATTACKS.join(", "));
    }
    let mut out = Evaluation::default();
    for name in attacks {
        tch::manual_seed(Rng::derive(seed, 3, 0).next_u64() as i64 >> 1);
        let mut correct = 0;
        let mut start = 0;
        while start < n {
            let len = batch.min(n - start);
            let (x, y) = eval.range(start, len, device);
            // Radius in 255ths: the column's number.
            let r = |prefix: &str| name[prefix.len()..].parse::<f64>().unwrap() / 255.0;
            let adv = match name.as_str() {
                "clean" => x,
                _ if name.starts_with("fgsm") => attack::fgsm(net, &x, &y, r("fgsm")),
                _ if name.starts_with("pgd") => Pgd::eval(r("pgd")).run(net, &x, &y),
                _ if name.starts_with("apgd") => attack::Apgd::ce(r("apgd"), 20).run(net, &x, &y).0,
                _ if name.starts_with("square") => attack::Square::standard(r("square")).run(net, &x, &y).0,
                _ if name.starts_with("aa") => {
                    let outcome = attack::AutoAttack::standard(r("aa")).run(net, &x, &y);
                    let at = if n > batch { format!("images {start}..{}: ", start + len) } else { String::new() };
                    out.warnings.extend(outcome.warnings.iter().map(|w| (name.clone(), format!("{at}{w}"))));
                    outcome.adv
                }
                _ => unreachable!("checked above"),
            };
            correct += attack::correct(net, &adv, &y);
            start += len;
        }
        out.metrics.push((name.clone(), correct as f64 / n as f64));
    }
    Ok(out)
}
