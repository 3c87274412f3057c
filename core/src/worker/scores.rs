//! `scores`: training-free scores of each listed architecture on one batch,
//! appended to `--out` as JSON lines (one per architecture and score), each architecture's lines
//! written and synced together, so an interrupted call keeps what it finished.

use std::io::Write;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use robbench_vocab::worker::{ImageSource, ScoreLine, ScoresRequest};
use robbench_vocab::Stop;

use crate::data::{self, Dataset};
use crate::rng::{Rng, Stream};
use crate::scores::{self, Batch, Config, Inputs, Subject};
use crate::space::Space;
use crate::{checkpoint, train};
use tch::nn::ModuleT;
use tch::{Kind, Tensor};

use super::{setup, Outcome};

/// Noise images: the normalised-space standard Gaussian the proxies' recipes feed, mapped back
/// to [0, 1] images (clamped there, where the attacks work).
fn noise(dataset: Dataset, n: i64, seed: u64, device: tch::Device) -> Tensor {
    Rng::derive(seed, Stream::NoiseImages, 0).seed_torch_first_rule();
    let r = dataset.resolution();
    let norm = dataset.normalization();
    let t =
        |v: [f64; 3]| Tensor::from_slice(&v.map(|x| x as f32)).view([1, 3, 1, 1]).to_device(device);
    (Tensor::randn([n, 3, r, r], (Kind::Float, device)) * t(norm.std) + t(norm.mean))
        .clamp(0.0, 1.0)
}

pub fn run(a: ScoresRequest, stop: &Stop) -> Result<Outcome> {
    let dataset = a.dataset;
    let device = setup(&a.compute)?;
    let attack = a.attack;
    let train_mode = a.train_mode.unwrap_or(a.checkpoint.is_none());
    let configs: Vec<Config> = a
        .scores
        .iter()
        .map(|&score| Config { score, eps: a.eps, attack, beta: a.beta, train_mode })
        .collect();
    for c in &configs {
        c.validate()?;
    }
    if a.batch_size <= 0 || a.batch_offset < 0 {
        bail!("batch_size must be positive and batch_offset non-negative");
    }
    if a.checkpoint.is_some() && a.archs.len() != 1 {
        bail!("a checkpoint holds one architecture; {} were listed", a.archs.len());
    }
    let cells =
        a.archs.iter().map(|&arch| Space::get().cell(arch)).collect::<Result<Vec<_>, _>>()?;
    // Data-free scores (params, flops, synflow, l2_norm) need no data files.
    let needs_images = configs.iter().any(|c| c.score.inputs() != Inputs::None);
    let images = match a.source {
        ImageSource::Test if !needs_images => None,
        ImageSource::Test => {
            let split = data::load(dataset, a.data_dir.as_deref(), false)?;
            if a.batch_offset + a.batch_size > split.len() {
                bail!(
                    "images {}..{} asked for, but the {} evaluation split has {} images",
                    a.batch_offset,
                    a.batch_offset + a.batch_size,
                    dataset.name(),
                    split.len()
                );
            }
            Some(split.range(a.batch_offset, a.batch_size, device))
        }
        ImageSource::Noise => None,
    };
    let mut task = a.compute.progress().task("scores", a.archs.len() as u64);
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&a.out)
        .with_context(|| format!("cannot open {}", a.out.display()))?;
    for (&arch, cell) in a.archs.iter().zip(&cells) {
        if stop.requested() {
            return Ok(Outcome::Stopped);
        }
        let (mut vs, mut net) = train::init(cell, dataset, a.seed, device);
        net.set_dtype(a.dtype);
        if let Some(path) = &a.checkpoint {
            checkpoint::load(&mut vs, path)?;
        }
        let (x, y) = match &images {
            Some((x, y)) => (x.shallow_clone(), y.shallow_clone()),
            None if !needs_images => (
                Tensor::zeros([0], (Kind::Float, device)),
                Tensor::zeros([0], (Kind::Int64, device)),
            ),
            None => {
                let x = noise(dataset, a.batch_size, a.seed, device);
                // Noise has no labels: the attacks and losses use the network's own predictions.
                let y = tch::no_grad(|| net.forward_t(&x, train_mode).argmax(-1, false));
                (x, y)
            }
        };
        let mut batch = Batch::new(x, y);
        Rng::derive(a.seed, Stream::Scores, 0).seed_torch_first_rule();
        let subject = Subject { cell, dataset, vs: &vs, net: &net };
        let mut lines = String::new();
        for cfg in &configs {
            let t0 = Instant::now();
            scores::prepare(&net, cfg, &mut batch);
            let value = scores::compute(&subject, cfg, &mut batch)
                .with_context(|| format!("arch {arch}: {}", cfg.score.name()))?;
            let seconds = t0.elapsed().as_secs_f64();
            if !value.is_finite() {
                eprintln!(
                    "robbench-worker: arch {arch}: {} is {value}; recorded as NULL",
                    cfg.score.name()
                );
            }
            let line = ScoreLine {
                arch,
                score: cfg.score,
                value: value.is_finite().then_some(value),
                eps: cfg.effective_eps(),
                attack: cfg.effective_eps().map(|_| attack),
                beta: cfg.score.uses_beta().then_some(a.beta),
                train_mode,
                seconds,
            };
            lines.push_str(&serde_json::to_string(&line)?);
            lines.push('\n');
        }
        out.write_all(lines.as_bytes())?;
        out.sync_data()?;
        task.inc(1);
    }
    task.finish();
    Ok(Outcome::Done)
}
