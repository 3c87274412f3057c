//! What `robbench-worker` does for each [`Request`]: the libtorch side of robbench's SQL
//! functions, with no database in the process. The binary around it only parses arguments,
//! installs the stop handler and maps the outcome to an exit status.

pub mod cli;
mod corruptions;
mod evaluate;
mod scores;
mod train;

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Result};
use robbench_vocab::worker::{Compute, Evaluation, Request};
use robbench_vocab::{DeviceSpec, Stop};
use tch::Device;

/// How a request ended when it did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Stopped at a step boundary (its [`Stop`] asked); the last checkpoint is kept.
    Stopped,
}

/// Carries out one request, writing its answer where the request says; training and scoring
/// stop at their next step once `stop` is asked.
pub fn run(request: Request, stop: &Stop) -> Result<Outcome> {
    match request {
        Request::Train(r) => train::run(r, stop),
        Request::Evaluate(r) => evaluate::run(r),
        Request::Corruptions(r) => corruptions::run(r),
        Request::Scores(r) => scores::run(r, stop),
    }
}

/// The libtorch device of a device name, refusing a GPU that is not there.
pub fn device(spec: DeviceSpec) -> Result<Device> {
    let visible = tch::Cuda::device_count();
    Ok(match spec {
        DeviceSpec::Auto => Device::cuda_if_available(),
        DeviceSpec::Cpu => Device::Cpu,
        DeviceSpec::Cuda(n) => {
            let n = n.unwrap_or(0);
            if !tch::Cuda::is_available() || n as i64 >= visible {
                bail!("device '{spec}': CUDA is not available here ({visible} GPU(s) visible to libtorch)");
            }
            Device::Cuda(n)
        }
    })
}

/// Applies a request's compute settings: its device, and the thread limit.
fn setup(c: &Compute) -> Result<Device> {
    if let Some(t) = c.threads {
        tch::set_num_threads(t);
    }
    device(c.device)
}

fn micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

fn device_name(d: Device) -> String {
    format!("{d:?}").to_lowercase()
}

/// AutoAttack's warnings go to stderr too, where the person running the statement sees them.
fn report_warnings(e: &Evaluation) {
    for (attack, messages) in &e.warnings {
        for w in messages {
            eprintln!("warning: {attack}: {w}");
        }
    }
}
