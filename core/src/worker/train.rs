//! `train`: runs of one architecture, trained together as one fused network (or one after
//! another), resumable; each evaluated on its own, its result in its folder's `result.json`.

use std::time::Instant;

use anyhow::Result;
use robbench_vocab::durable;
use robbench_vocab::worker::{TrainRequest, TrainResult, EVAL_BATCH};

use super::{device_name, micros, report_warnings, setup, Outcome};
use crate::data::{self, Split};
use crate::evaluate::evaluate;
use crate::space::Space;
use crate::train::{self, RunSpec, Stop, TrainSpec};

pub fn run(r: TrainRequest, stop: &Stop) -> Result<Outcome> {
    let cell = Space::get().cell(r.arch)?;
    let device = setup(&r.compute)?;
    let protocol = r.protocol.clone();
    protocol.validate()?;
    let runs = r.runs()?;
    let mut splits: Vec<(Split, Split)> = Vec::new();
    for &(dataset, _, _) in &runs {
        let train = data::load(dataset, r.data_dir.as_deref(), true)?;
        let eval = data::load(dataset, r.data_dir.as_deref(), false)?;
        splits.push((train, eval));
    }
    let n_train = (0..runs.len())
        .map(|i| train::training_images(&protocol, &splits[i].0))
        .collect::<Result<Vec<i64>>>()?;
    let n_train = |i: usize| n_train[i];
    // Runs fuse when their images have one size and they take as many steps.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in 0..runs.len() {
        let key = |j: usize| (runs[j].0.resolution(), n_train(j));
        match groups.iter_mut().find(|g| r.fuse.unwrap_or(device.is_cuda()) && key(g[0]) == key(i))
        {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    let steps: Vec<u64> = groups
        .iter()
        .map(|g| ((n_train(g[0]) as usize).div_ceil(protocol.batch_size) * protocol.epochs) as u64)
        .collect();
    let progress = r.compute.progress();
    let mut task = progress.task(r.label.clone(), steps.iter().sum());
    let mut done_steps = 0;
    for (group, group_steps) in groups.iter().zip(&steps) {
        let started_at = micros();
        let spec = TrainSpec {
            cell,
            protocol: &protocol,
            device,
            runs: group
                .iter()
                .map(|&i| {
                    let (dataset, seed, dir) = runs[i];
                    RunSpec { dataset, seed, train: &splits[i].0, dir }
                })
                .collect(),
            stop: stop.clone(),
        };
        let trained = train::train(&spec, |p| {
            task.set(
                done_steps + (p.epoch * p.steps + p.step) as u64,
                format!("epoch {}/{} {:.0} img/s", p.epoch + 1, p.epochs, p.images_per_second),
            );
        })?;
        done_steps += group_steps;
        let Some(trained) = trained else {
            return Ok(Outcome::Stopped);
        };
        for (t, &i) in trained.into_iter().zip(group) {
            let (_, seed, dir) = runs[i];
            let e0 = Instant::now();
            let evaluation = evaluate(
                &t.net,
                &splits[i].1,
                &r.attacks,
                r.n_eval,
                device,
                EVAL_BATCH,
                seed,
                &progress,
            )?;
            report_warnings(&evaluation);
            let result = TrainResult {
                evaluation,
                n_eval_requested: r.n_eval,
                n_train: n_train(i),
                curves: t.curves,
                train_seconds: t.train_seconds,
                eval_seconds: e0.elapsed().as_secs_f64(),
                device: device_name(device),
                started_at,
                finished_at: micros(),
                checkpoint: t.weights,
            };
            durable::write_json(&dir.join("result.json"), &result)?;
        }
    }
    task.finish();
    Ok(Outcome::Done)
}
