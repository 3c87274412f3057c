//! Adversarial training under NAS-RobBench-201's protocol, resumable and bit-reproducible on CPU.
//!
//! Per batch: PGD examples with the network in eval mode (eps 8/255, step 2/255, 7 steps,
//! uniform random start), then train mode and cross-entropy on the adversarial batch only (or,
//! with `train_beta` < 1, the paper's Algorithm 1: (1 - beta) CE(clean) + beta CE(adversarial));
//! SGD with momentum and weight decay (PyTorch's update rule, written out so its momentum
//! buffers can be checkpointed); PyTorch OneCycleLR's schedule stepped every batch. Randomness
//! is derived from (seed, purpose, epoch, step), so a run resumed at an epoch boundary draws
//! exactly what the uninterrupted run would have.
//!
//! Several runs of one cell (other seeds, other data sets of the same image size) train as one
//! fused network ([`crate::model::network_of_runs`]): each run keeps its own data order,
//! augmentation, random starts, initialisation, BatchNorm statistics and optimiser state, and
//! the loss is the sum of the runs' losses, so every run's gradient is its own. Each run is
//! checkpointed and returned as if it had trained alone.
mod fuse;
mod resume;
mod schedule;
mod step;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use tch::nn;
use tch::{Device, Kind, Tensor};

use crate::data::{self, Dataset, Split};
use crate::model::{self, Network};
use crate::rng::{Rng, Stream};
use crate::space::Cell;
use fuse::{fuse, shares, unfuse};
use resume::{load_resume, save_all};

pub use robbench_vocab::worker::EpochStats;
pub use robbench_vocab::{Dtype, Protocol, Stop, TrainAttack};
pub use schedule::one_cycle;
pub use step::adversarial_step;

/// Progress reported to the caller (a progress bar) after every step.
pub struct Progress {
    pub epoch: usize,
    pub epochs: usize,
    pub step: usize,
    pub steps: usize,
    /// Images of all the runs trained together.
    pub images_per_second: f64,
}

/// One run to train: its data, seed and folder.
pub struct RunSpec<'a> {
    pub dataset: Dataset,
    pub seed: u64,
    pub train: &'a Split,
    /// Folder for this run's checkpoints (resume state and final weights).
    pub dir: &'a Path,
}

/// Runs of one cell under one protocol, trained together.
pub struct TrainSpec<'a> {
    pub cell: Cell,
    pub protocol: &'a Protocol,
    pub device: Device,
    pub runs: Vec<RunSpec<'a>>,
    /// Asked (Ctrl-C, SIGTERM): training stops at the next step boundary, keeping its last
    /// checkpoint.
    pub stop: Stop,
}

pub struct Trained {
    pub vs: nn::VarStore,
    pub net: Network,
    pub curves: Vec<EpochStats>,
    /// Its share of the training's wall time (that time over the runs trained together).
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

/// One run's state while training: its own network (the fused one's share is copied back
/// into it for checkpoints), optimiser buffers and curves.
struct RunState<'a> {
    spec: &'a RunSpec<'a>,
    /// Its network; lent to the training loop while it trains alone.
    model: Option<(nn::VarStore, Network)>,
    buffers: Vec<Option<Tensor>>,
    curves: Vec<EpochStats>,
    steps_done: usize,
}

impl RunState<'_> {
    fn vars(&self) -> HashMap<String, Tensor> {
        self.model.as_ref().expect("a run's network").0.variables()
    }
}

/// Trains the runs of `spec`, each resuming from its folder if an earlier attempt left a
/// checkpoint there; runs that resume from the same step train together as one fused network.
/// Returns the runs in the order given, or Ok(None) when stopped by Ctrl-C (each run keeps its
/// last epoch checkpoint).
pub fn train(spec: &TrainSpec, mut on_step: impl FnMut(&Progress)) -> Result<Option<Vec<Trained>>> {
    let p = spec.protocol;
    p.validate()?;
    let Some(first) = spec.runs.first() else { bail!("no runs to train") };
    let n = training_images(p, first.train)?;
    for r in &spec.runs {
        if r.dataset.resolution() != first.dataset.resolution() {
            bail!(
                "runs on {} ({}x{}) and {} ({}x{}) cannot train together: their images differ in size",
                first.dataset,
                first.dataset.resolution(),
                first.dataset.resolution(),
                r.dataset,
                r.dataset.resolution(),
                r.dataset.resolution()
            );
        }
        if training_images(p, r.train)? != n {
            bail!(
                "runs on {} and {} cannot train together: they have {} and {} training images",
                first.dataset,
                r.dataset,
                n,
                training_images(p, r.train)?
            );
        }
    }
    let _locks = spec.runs.iter().map(|r| lock_run(r.dir)).collect::<Result<Vec<_>>>()?;
    let mut states = Vec::new();
    for r in &spec.runs {
        let (mut vs, mut net) = init(&spec.cell, r.dataset, r.seed, spec.device);
        net.set_dtype(p.dtype);
        net.tune_for(spec.device);
        let names: Vec<String> = trainables(&vs).into_iter().map(|(n, _)| n).collect();
        let (buffers, curves, steps_done) = match load_resume(r.dir, &mut vs, &names)? {
            Some(state) => state,
            None => ((0..names.len()).map(|_| None).collect(), Vec::new(), 0),
        };
        states.push(RunState { spec: r, model: Some((vs, net)), buffers, curves, steps_done });
    }
    // Runs that stopped at different epochs cannot share steps: each such set trains on its own.
    let mut starts: Vec<usize> = states.iter().map(|s| s.steps_done).collect();
    starts.sort_unstable();
    starts.dedup();
    let mut done: Vec<Option<Trained>> = (0..states.len()).map(|_| None).collect();
    let mut states: Vec<Option<RunState>> = states.into_iter().map(Some).collect();
    for start in starts {
        let ids: Vec<usize> = (0..states.len())
            .filter(|&i| states[i].as_ref().is_some_and(|s| s.steps_done == start))
            .collect();
        let group: Vec<RunState> = ids.iter().map(|&i| states[i].take().unwrap()).collect();
        let Some(trained) = train_together(spec, n, group, &mut on_step)? else {
            return Ok(None);
        };
        for (i, t) in ids.into_iter().zip(trained) {
            done[i] = Some(t);
        }
    }
    Ok(Some(done.into_iter().map(|t| t.expect("every run trained")).collect()))
}

/// The training images a run uses: `n_train` of them, or the whole split.
pub fn training_images(p: &Protocol, train: &Split) -> Result<i64> {
    let n = p.n_train.map(|k| (k as i64).min(train.len())).unwrap_or(train.len());
    if n == 0 {
        bail!("no training images");
    }
    Ok(n)
}

/// Two processes on one run (the same call in two shells, an orphaned worker) would overwrite
/// each other's checkpoints: the run folder's lock admits one. The OS releases it when the
/// process ends, however it ends.
fn lock_run(dir: &Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let lock_path = dir.join("lock");
    let lock = std::fs::File::create(&lock_path)
        .with_context(|| format!("cannot create {}", lock_path.display()))?;
    if lock.try_lock().is_err() {
        bail!(
            "{} is being trained by another process (it holds {})",
            dir.display(),
            lock_path.display()
        );
    }
    Ok(lock)
}

fn train_together(
    spec: &TrainSpec,
    n: i64,
    mut runs: Vec<RunState>,
    on_step: &mut impl FnMut(&Progress),
) -> Result<Option<Vec<Trained>>> {
    let p = spec.protocol;
    let steps_per_epoch = (n as usize).div_ceil(p.batch_size);
    let total = steps_per_epoch * p.epochs;
    let k = runs.len();
    // One run trains in its own network; several in a fused one, whose optimiser state is the
    // runs' buffers side by side.
    let (vs, net) = match k {
        1 => runs[0].model.take().expect("a run's network"),
        _ => fuse(&runs, spec.device, &spec.cell, p),
    };
    let params = trainables(&vs);
    let names: Vec<String> = params.iter().map(|(n, _)| n.clone()).collect();
    let mut buffers: Vec<Option<Tensor>> = if k == 1 {
        std::mem::take(&mut runs[0].buffers)
    } else {
        (0..names.len())
            .map(|j| {
                let b: Vec<&Tensor> = runs.iter().filter_map(|r| r.buffers[j].as_ref()).collect();
                (b.len() == k).then(|| Tensor::cat(&b, 0))
            })
            .collect()
    };
    let mut step = runs[0].steps_done;
    let mut train_seconds: Vec<f64> =
        runs.iter().map(|r| r.curves.iter().map(|c| c.seconds).sum()).collect();
    let size = spec.runs[0].dataset.resolution();
    for epoch in runs[0].curves.len()..p.epochs {
        let t0 = Instant::now();
        let orders: Vec<Vec<i64>> = runs
            .iter()
            .map(|r| {
                Rng::derive(r.spec.seed, Stream::DataOrder, epoch as u64).permutation(n as usize)
            })
            .collect();
        let mut aug: Vec<Rng> = runs
            .iter()
            .map(|r| Rng::derive(r.spec.seed, Stream::Augmentation, epoch as u64))
            .collect();
        let mut sums = vec![(0.0, 0i64); k];
        let (mut seen, mut lr) = (0i64, 0.0);
        for b in 0..steps_per_epoch {
            if spec.stop.requested() {
                return Ok(None);
            }
            let (mut xs, mut ys, mut noise) = (Vec::new(), Vec::new(), Vec::new());
            for (i, r) in runs.iter().enumerate() {
                let chunk = &orders[i][b * p.batch_size..((b + 1) * p.batch_size).min(n as usize)];
                let (x, y) = r.spec.train.batch(&Tensor::from_slice(chunk), Device::Cpu);
                xs.push(data::augment(&x, r.spec.dataset, &mut aug[i]).to_device(spec.device));
                ys.push(y.to_device(spec.device));
                // Each run's random starts come from its own seed, epoch and step, so they are
                // the same whether it trains alone or with others.
                if p.train_attack == TrainAttack::Pgd {
                    Rng::derive_step(r.spec.seed, Stream::TrainAttackStart, epoch as u64, b as u64)
                        .seed_torch();
                    let shape = [chunk.len() as i64, 3, size, size];
                    let mut u = Tensor::empty(shape, (Kind::Float, spec.device));
                    noise.push(u.uniform_(-p.train_eps, p.train_eps));
                }
            }
            let (lr_k, m_k) = one_cycle(step, total, p.lr_max);
            lr = lr_k;
            let x = if k == 1 { xs.pop().unwrap() } else { Tensor::cat(&xs, 1) };
            let noise = match noise.len() {
                0 => None,
                1 => noise.pop(),
                _ => Some(Tensor::cat(&noise, 1)),
            };
            let out = adversarial_step(
                &net,
                &params,
                &mut buffers,
                &x,
                &ys,
                noise.as_ref(),
                p,
                (lr_k, m_k),
            );
            step += 1;
            let bs = ys[0].size()[0];
            for (s, (loss, correct)) in sums.iter_mut().zip(out) {
                s.0 += loss * bs as f64;
                s.1 += correct;
            }
            seen += bs;
            let elapsed = t0.elapsed().as_secs_f64();
            on_step(&Progress {
                epoch,
                epochs: p.epochs,
                step: b + 1,
                steps: steps_per_epoch,
                images_per_second: (seen * k as i64) as f64 / elapsed.max(1e-9),
            });
        }
        let seconds = t0.elapsed().as_secs_f64() / k as f64;
        for (i, r) in runs.iter_mut().enumerate() {
            train_seconds[i] += seconds;
            r.curves.push(EpochStats {
                epoch: epoch + 1,
                lr,
                train_loss: sums[i].0 / seen as f64,
                train_adv_acc: sums[i].1 as f64 / seen as f64,
                seconds,
            });
        }
        save_all(&vs, &mut runs, &names, &buffers, step)?;
    }
    match k {
        1 => runs[0].model = Some((vs, net)),
        _ => unfuse(&vs, &mut runs),
    }
    let mut trained = Vec::new();
    for (r, train_seconds) in runs.into_iter().zip(train_seconds) {
        let weights = r.spec.dir.join("weights.safetensors");
        let (vs, net) = r.model.expect("a run's network");
        crate::checkpoint::save(&vs, &weights, step as i64)?;
        trained.push(Trained { vs, net, curves: r.curves, train_seconds, weights });
    }
    Ok(Some(trained))
}
