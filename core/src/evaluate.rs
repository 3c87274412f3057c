//! Accuracy of a trained network under each attack column of `metrics`, on the evaluation split.

use anyhow::{bail, Result};
use tch::Device;

use crate::attack::{self, Pgd};
use crate::data::Split;
use crate::model::Network;
use crate::rng::{Rng, Stream};
use robbench_vocab::progress::Progress;
pub use robbench_vocab::worker::Evaluation;
use robbench_vocab::{Attack, AttackKind};

/// Accuracy under each attack on the first `n_eval` evaluation images (all when None), in
/// batches of `batch`. Every attack starts from the same random state, derived from `seed`, so
/// a column does not depend on which others were measured in the same call.
// The network, its images, what to measure and how to report it: one call site each in train,
// evaluate and the tests, where a settings struct would only rename the same eight values.
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    net: &Network,
    eval: &Split,
    attacks: &[Attack],
    n_eval: Option<i64>,
    device: Device,
    batch: i64,
    seed: u64,
    progress: &Progress,
) -> Result<Evaluation> {
    let n = n_eval.map(|k| k.min(eval.len())).unwrap_or(eval.len());
    if n == 0 {
        bail!("no evaluation images");
    }
    let mut out = Evaluation { n_eval: Some(n), ..Evaluation::default() };
    let batches = (n as u64).div_ceil(batch as u64);
    let mut task = progress.task("evaluate", batches * attacks.len() as u64);
    for (k, &column) in attacks.iter().enumerate() {
        Rng::derive(seed, Stream::EvaluationAttacks, 0).seed_torch_first_rule();
        let eps = column.eps();
        let mut warnings = Vec::new();
        let mut correct = 0;
        let mut start = 0;
        while start < n {
            let len = batch.min(n - start);
            let (x, y) = eval.range(start, len, device);
            let adv = match column.kind() {
                AttackKind::Clean => x,
                AttackKind::Fgsm => attack::fgsm(net, &x, &y, eps),
                AttackKind::Pgd => Pgd::eval(eps).run(net, &x, &y),
                AttackKind::Apgd => attack::Apgd::ce(eps, 20).run(net, &x, &y).0,
                AttackKind::Square => attack::Square::standard(eps).run(net, &x, &y).0,
                AttackKind::AutoAttack => {
                    let outcome = attack::AutoAttack::standard(eps).run(net, &x, &y);
                    let at = if n > batch {
                        format!("images {start}..{}: ", start + len)
                    } else {
                        String::new()
                    };
                    warnings.extend(outcome.warnings.iter().map(|w| format!("{at}{w}")));
                    outcome.adv
                }
            };
            correct += attack::correct(net, &adv, &y);
            start += len;
            let done = k as u64 * batches + (start as u64).div_ceil(batch as u64);
            task.set(done, column.name());
        }
        out.metrics.insert(column, correct as f64 / n as f64);
        out.warnings.insert(column, warnings);
    }
    task.finish();
    Ok(out)
}
