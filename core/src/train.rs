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

use crate::attack::Pgd;
use crate::data::{self, Dataset, Split};
use crate::model::{self, Network};
use crate::rng::Rng;
use crate::space::Cell;
use robbench_vocab::durable;

/// Set by Ctrl-C: training stops at the next step boundary, keeping its last checkpoint.
pub static STOP: AtomicBool = AtomicBool::new(false);

pub use robbench_vocab::worker::EpochStats;
pub use robbench_vocab::{Protocol, TrainAttack};

/// PyTorch's OneCycleLR with its defaults (pct_start 0.3, cosine annealing, div_factor 25,
/// final_div_factor 1e4, momentum cycled between 0.85 and 0.95): (lr, momentum) for a step.
pub fn one_cycle(step: usize, total_steps: usize, lr_max: f64) -> (f64, f64) {
    let initial = lr_max / 25.0;
    let min = initial / 1e4;
    let (m_base, m_max) = (0.85, 0.95);
    let phase1_end = 0.3 * total_steps as f64 - 1.0;
    let phase2_end = total_steps as f64 - 1.0;
    let cos = |start: f64, end: f64, pct: f64| {
        end + (start - end) / 2.0 * ((std::f64::consts::PI * pct).cos() + 1.0)
    };
    let s = step as f64;
    if s <= phase1_end {
        let pct = s / phase1_end;
        (cos(initial, lr_max, pct), cos(m_max, m_base, pct))
    } else {
        let pct = (s - phase1_end) / (phase2_end - phase1_end);
        (cos(lr_max, min, pct), cos(m_base, m_max, pct))
    }
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
    let mut v: Vec<(String, Tensor)> =
        vs.variables().into_iter().filter(|(_, t)| t.requires_grad()).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

const RESUME: &str = "resume.safetensors";
/// Where versions before the step count and curves moved into the resume file kept them.
const OLD_RESUME_META: &str = "resume.json";

/// Saves the resume state as one file, so a kill leaves the previous state or this one: the
/// variables, the momentum buffers, the step count and the finished epochs' curves.
fn save_resume(
    dir: &Path,
    vs: &nn::VarStore,
    buffers: &[Option<Tensor>],
    names: &[String],
    curves: &[EpochStats],
    steps_done: usize,
) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    for (n, b) in names.iter().zip(buffers) {
        if let Some(b) = b {
            named.push((format!("momentum_buffer.{n}"), b.shallow_clone()));
        }
    }
    let rows: Vec<f64> = curves
        .iter()
        .flat_map(|c| [c.epoch as f64, c.lr, c.train_loss, c.train_adv_acc, c.seconds])
        .collect();
    named.push(("resume.curves".into(), Tensor::from_slice(&rows).view([-1, 5])));
    named.push(("resume.steps_done".into(), Tensor::from(steps_done as i64)));
    let path = dir.join(RESUME);
    let tmp = durable::temporary_sibling(&path);
    Tensor::write_safetensors(&named, &tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    durable::commit(&tmp, &path)
}

type Resumed = (Vec<Option<Tensor>>, Vec<EpochStats>, usize);

fn load_resume(dir: &Path, vs: &mut nn::VarStore, names: &[String]) -> Result<Option<Resumed>> {
    let w = dir.join(RESUME);
    if !w.exists() {
        return Ok(None);
    }
    let tensors =
        Tensor::read_safetensors(&w).with_context(|| format!("cannot read {}", w.display()))?;
    let map: std::collections::HashMap<String, Tensor> = tensors.into_iter().collect();
    tch::no_grad(|| -> Result<()> {
        for (name, mut var) in vs.variables() {
            let src =
                map.get(&name).with_context(|| format!("{}: no tensor {name}", w.display()))?;
            var.copy_(src);
        }
        Ok(())
    })?;
    let buffers = names
        .iter()
        .map(|n| map.get(&format!("momentum_buffer.{n}")).map(|t| t.to_device(vs.device())))
        .collect();
    let (steps_done, curves) = match (map.get("resume.steps_done"), map.get("resume.curves")) {
        (Some(steps), Some(curves)) => {
            let rows = Vec::<f64>::try_from(curves.flatten(0, -1))
                .with_context(|| format!("{}: unreadable curves", w.display()))?;
            let curves = rows
                .chunks(5)
                .map(|r| EpochStats {
                    epoch: r[0] as usize,
                    lr: r[1],
                    train_loss: r[2],
                    train_adv_acc: r[3],
                    seconds: r[4],
                })
                .collect();
            (steps.int64_value(&[]) as usize, curves)
        }
        _ => old_resume_meta(&dir.join(OLD_RESUME_META))?,
    };
    Ok(Some((buffers, curves, steps_done)))
}

/// The step count and curves from a run folder written before they moved into the resume file.
fn old_resume_meta(m: &Path) -> Result<(usize, Vec<EpochStats>)> {
    let text =
        std::fs::read_to_string(m).with_context(|| format!("cannot read {}", m.display()))?;
    let mut lines = text.lines();
    let steps_done: usize = lines
        .next()
        .unwrap_or("0")
        .parse()
        .with_context(|| format!("{}: bad step count", m.display()))?;
    let curves = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            if f.len() != 5 {
                return Err(format!("line '{l}' has {} fields, not 5", f.len()).into());
            }
            Ok(EpochStats {
                epoch: f[0].parse()?,
                lr: f[1].parse()?,
                train_loss: f[2].parse()?,
                train_adv_acc: f[3].parse()?,
                seconds: f[4].parse()?,
            })
        })
        .collect::<Result<Vec<_>, Box<dyn std::error::Error + Send + Sync>>>()
        .map_err(|e| anyhow::anyhow!("{}: {e}", m.display()))?;
    Ok((steps_done, curves))
}

/// Trains one network, resuming from `spec.dir` if an earlier attempt left a checkpoint there.
/// Returns Ok(None) when stopped by Ctrl-C (the last epoch checkpoint is kept).
pub fn train(
    spec: &TrainSpec,
    train: &Split,
    mut on_step: impl FnMut(&Progress),
) -> Result<Option<Trained>> {
    let p = spec.protocol;
    p.validate()?;
    // Two processes on one run (the same call in two shells, an orphaned worker) would
    // overwrite each other's checkpoints: the run folder's lock admits one. The OS releases
    // it when the process ends, however it ends.
    std::fs::create_dir_all(spec.dir)
        .with_context(|| format!("cannot create {}", spec.dir.display()))?;
    let lock_path = spec.dir.join("lock");
    let lock = std::fs::File::create(&lock_path)
        .with_context(|| format!("cannot create {}", lock_path.display()))?;
    if lock.try_lock().is_err() {
        bail!(
            "{} is being trained by another process (it holds {})",
            spec.dir.display(),
            lock_path.display()
        );
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
            let (loss, batch_correct) =
                adversarial_step(&net, &params, &mut buffers, &x, &y, p, (lr_k, m_k));
            step += 1;
            let bs = chunk.len() as i64;
            loss_sum += loss * bs as f64;
            correct += batch_correct;
            seen += bs;
            let elapsed = t0.elapsed().as_secs_f64();
            on_step(&Progress {
                epoch,
                epochs: p.epochs,
                step: k + 1,
                steps: steps_per_epoch,
                images_per_second: seen as f64 / elapsed.max(1e-9),
            });
        }
        let seconds = t0.elapsed().as_secs_f64();
        train_seconds += seconds;
        curves.push(EpochStats {
            epoch: epoch + 1,
            lr,
            train_loss: loss_sum / seen as f64,
            train_adv_acc: correct as f64 / seen as f64,
            seconds,
        });
        save_resume(spec.dir, &vs, &buffers, &names, &curves, step)?;
    }
    let weights = spec.dir.join("weights.safetensors");
    crate::checkpoint::save(&vs, &weights, step as i64)?;
    Ok(Some(Trained { vs, net, curves, train_seconds, weights }))
}

/// One step of the protocol on a batch: adversarial examples with the network in eval mode
/// (unless standard training), then train mode, cross-entropy on them, and an SGD step with
/// the schedule's `(lr, momentum)` (PyTorch's rule: d = g + wd p; b = m b + d, or d at the
/// first step; p -= lr b). Returns the loss and how many adversarial examples were right.
pub fn adversarial_step(
    net: &Network,
    params: &[(String, Tensor)],
    buffers: &mut [Option<Tensor>],
    x: &Tensor,
    y: &Tensor,
    p: &Protocol,
    (lr, momentum): (f64, f64),
) -> (f64, i64) {
    let pgd =
        Pgd { eps: p.train_eps, alpha: p.train_alpha, steps: p.train_steps, random_start: true };
    let x_adv =
        if p.train_attack == TrainAttack::Pgd { pgd.run(net, x, y) } else { x.shallow_clone() };
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
    let correct = tch::no_grad(|| {
        logits.argmax(-1, false).eq_tensor(y).to_kind(Kind::Int64).sum(Kind::Int64).int64_value(&[])
    });
    (loss.double_value(&[]), correct)
}
