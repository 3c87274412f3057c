//! The resume state: one file per run, written at each epoch's end, so a killed run restarts
//! where it was (the step count, the finished epochs' curves, the optimiser's buffers).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use tch::{nn, Tensor};

use super::{shares, unfuse, EpochStats, RunState};
use robbench_vocab::durable;

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

pub(super) type Resumed = (Vec<Option<Tensor>>, Vec<EpochStats>, usize);

pub(super) fn load_resume(
    dir: &Path,
    vs: &mut nn::VarStore,
    names: &[String],
) -> Result<Option<Resumed>> {
    let w = dir.join(RESUME);
    if !w.exists() {
        return Ok(None);
    }
    let tensors =
        Tensor::read_safetensors(&w).with_context(|| format!("cannot read {}", w.display()))?;
    let map: HashMap<String, Tensor> = tensors.into_iter().collect();
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

/// Each run's resume state after an epoch: the network's variables and buffers when it trains
/// alone, else its share of the fused ones.
pub(super) fn save_all(
    vs: &nn::VarStore,
    runs: &mut [RunState],
    names: &[String],
    buffers: &[Option<Tensor>],
    steps_done: usize,
) -> Result<()> {
    if let [r] = runs {
        return save_resume(r.spec.dir, vs, buffers, names, &r.curves, steps_done);
    }
    unfuse(vs, runs);
    for (r, at) in runs.iter().zip(shares(runs)) {
        let own: Vec<Option<Tensor>> = names
            .iter()
            .zip(buffers)
            .map(|(name, b)| {
                let (start, len) = at[name];
                b.as_ref().map(|b| b.narrow(0, start, len))
            })
            .collect();
        let (vs, _) = r.model.as_ref().expect("a run's network");
        save_resume(r.spec.dir, vs, &own, names, &r.curves, steps_done)?;
    }
    Ok(())
}
