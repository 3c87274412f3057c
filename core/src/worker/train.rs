//! `train`: one run of train(), resumable, its result in `result.json`.

use std::time::Instant;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use robbench_vocab::durable;
use robbench_vocab::worker::{TrainRequest, TrainResult, EVAL_BATCH};

use super::{device_name, micros, report_warnings, setup, Outcome};
use crate::data;
use crate::evaluate::evaluate;
use crate::space::Space;
use crate::train::{self, TrainSpec};

pub fn run(r: TrainRequest) -> Result<Outcome> {
    let cell = Space::get().cell(r.arch)?;
    let device = setup(&r.compute)?;
    let protocol = r.protocol.clone();
    protocol.validate()?;
    let train_split = data::load(r.dataset, r.data_dir.as_deref(), true)?;
    let eval_split = data::load(r.dataset, r.data_dir.as_deref(), false)?;
    let n_train =
        protocol.n_train.map(|k| (k as i64).min(train_split.len())).unwrap_or(train_split.len());
    let steps = (n_train as usize).div_ceil(protocol.batch_size) * protocol.epochs;
    let started_at = micros();
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:25}] epoch {msg} eta {eta}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(r.label.clone());
    let spec = TrainSpec {
        cell,
        dataset: r.dataset,
        seed: r.seed,
        protocol: &protocol,
        device,
        dir: &r.run_dir,
    };
    let trained = train::train(&spec, &train_split, |p| {
        bar.set_position((p.epoch * p.steps + p.step) as u64);
        bar.set_message(format!("{}/{} {:.0} img/s", p.epoch + 1, p.epochs, p.images_per_second));
    })?;
    bar.finish_and_clear();
    let Some(t) = trained else { return Ok(Outcome::Stopped) };
    let e0 = Instant::now();
    let evaluation =
        evaluate(&t.net, &eval_split, &r.attacks, r.n_eval, device, EVAL_BATCH, r.seed)?;
    report_warnings(&evaluation);
    let result = TrainResult {
        evaluation,
        n_eval_requested: r.n_eval,
        n_train,
        curves: t.curves,
        train_seconds: t.train_seconds,
        eval_seconds: e0.elapsed().as_secs_f64(),
        device: device_name(device),
        started_at,
        finished_at: micros(),
        checkpoint: t.weights,
    };
    durable::write_json(&r.run_dir.join("result.json"), &result)?;
    Ok(Outcome::Done)
}
