//! One optimisation step of the protocol: the training attack, the loss, SGD.

use tch::{Kind, Tensor};

use crate::attack::Pgd;
use crate::model::{Network, Taps};
use robbench_vocab::{Protocol, TrainAttack};

/// One step of the protocol on a batch of each run (side by side in `x`, labels `ys`):
/// adversarial examples from the random start `noise` with the network in eval mode (unless
/// standard training), then train mode, the loss, and an SGD step with the schedule's
/// `(lr, momentum)` (PyTorch's rule: d = g + wd p; b = m b + d, or d at the first step;
/// p -= lr b). The loss is each run's beta CE(adversarial) + (1 - beta) CE(clean), summed over
/// the runs. Returns each run's loss and how many adversarial examples it got right.
#[allow(clippy::too_many_arguments)]
pub fn adversarial_step(
    net: &Network,
    params: &[(String, Tensor)],
    buffers: &mut [Option<Tensor>],
    x: &Tensor,
    ys: &[Tensor],
    noise: Option<&Tensor>,
    p: &Protocol,
    (lr, momentum): (f64, f64),
) -> Vec<(f64, i64)> {
    // Each run's loss, and their sum (whose gradient is each run's own, as runs never mix).
    let summed = |logits: &[Tensor]| -> (Vec<Tensor>, Tensor) {
        let losses: Vec<Tensor> =
            logits.iter().zip(ys).map(|(l, y)| l.cross_entropy_for_logits(y)).collect();
        let total = losses.iter().skip(1).fold(losses[0].shallow_clone(), |a, b| a + b);
        (losses, total)
    };
    let values =
        |losses: &[Tensor]| -> Vec<f64> { losses.iter().map(|l| l.double_value(&[])).collect() };
    let x_adv = match p.train_attack {
        TrainAttack::Pgd => {
            let pgd = Pgd {
                eps: p.train_eps,
                alpha: p.train_alpha,
                steps: p.train_steps,
                random_start: true,
            };
            pgd.run_from(x, noise, |adv| {
                let adv = adv.detach().set_requires_grad(true);
                let (_, loss) = summed(&net.forward_runs(&adv, &mut Taps::mode(false)));
                Tensor::run_backward(&[loss], &[&adv], false, false).pop().unwrap()
            })
        }
        TrainAttack::None => x.shallow_clone(),
    };
    let logits = net.forward_runs(&x_adv, &mut Taps::mode(true));
    let (adv_losses, adv_loss) = summed(&logits);
    let adv_losses = values(&adv_losses);
    let beta = p.train_beta;
    let (loss, clean_losses) = if beta == 1.0 {
        (adv_loss, None)
    } else {
        let (clean, clean_loss) = summed(&net.forward_runs(x, &mut Taps::mode(true)));
        (adv_loss * beta + clean_loss * (1.0 - beta), Some(values(&clean)))
    };
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
    logits
        .iter()
        .zip(ys)
        .enumerate()
        .map(|(i, (l, y))| {
            let correct = tch::no_grad(|| {
                l.argmax(-1, false)
                    .eq_tensor(y)
                    .to_kind(Kind::Int64)
                    .sum(Kind::Int64)
                    .int64_value(&[])
            });
            let loss = match &clean_losses {
                None => adv_losses[i],
                Some(c) => beta * adv_losses[i] + (1.0 - beta) * c[i],
            };
            (loss, correct)
        })
        .collect()
}
