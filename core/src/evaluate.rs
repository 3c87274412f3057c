//! Accuracy of a trained network under each attack column of `metrics`, on the evaluation split.

use anyhow::{bail, Result};
use tch::Device;

use crate::attack::{self, Pgd};
use crate::data::Split;
use crate::model::Network;
use crate::rng::{Rng, Stream};
pub use robbench_vocab::worker::Evaluation;
use robbench_vocab::{Attack, AttackKind};

/// Accuracy under each attack on the first `n_eval` evaluation images (all when None), in
/// batches of `batch`. Every attack starts from the same random state, derived from `seed`, so
/// a column does not depend on which others were measured in the same call.
pub fn evaluate(
    net: &Network,
    eval: &Split,
    attacks: &[Attack],
    n_eval: Option<i64>,
    device: Device,
    batch: i64,
    seed: u64,
) -> Result<Evaluation> {
    let n = n_eval.map(|k| k.min(eval.len())).unwrap_or(eval.len());
    if n == 0 {
        bail!("no evaluation images");
    }
    let mut out = Evaluation { n_eval: Some(n), ..Evaluation::default() };
    for &column in attacks {
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
        }
        out.metrics.insert(column, correct as f64 / n as f64);
        out.warnings.insert(column, warnings);
    }
    Ok(out)
}
