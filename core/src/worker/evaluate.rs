//! `evaluate`: attacks a trained network from its checkpoint; the accuracies go to `out`.

use std::time::Instant;

use anyhow::Result;
use robbench_vocab::durable;
use robbench_vocab::worker::{EvaluateRequest, EvaluateResult, EVAL_BATCH};

use super::{device_name, report_warnings, setup, Outcome};
use crate::evaluate::evaluate;
use crate::space::Space;
use crate::{checkpoint, data, train};

pub fn run(r: EvaluateRequest) -> Result<Outcome> {
    let cell = Space::get().cell(r.arch)?;
    let device = setup(&r.compute)?;
    let (mut vs, mut net) = train::init(&cell, r.dataset, r.seed, device);
    net.set_dtype(r.dtype);
    net.tune_for(device);
    checkpoint::load(&mut vs, &r.checkpoint)?;
    let eval_split = data::load(r.dataset, r.data_dir.as_deref(), false)?;
    let t0 = Instant::now();
    let evaluation = evaluate(
        &net,
        &eval_split,
        &r.attacks,
        r.n_eval,
        device,
        EVAL_BATCH,
        r.seed,
        &r.compute.progress(),
    )?;
    report_warnings(&evaluation);
    let result = EvaluateResult {
        evaluation,
        eval_seconds: t0.elapsed().as_secs_f64(),
        device: device_name(device),
    };
    durable::write_json(&r.out, &result)?;
    Ok(Outcome::Done)
}
