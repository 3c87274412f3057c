//! The paper's Algorithm 1: one step with train_beta = b follows the gradient of
//! (1 - b) CE(clean batch) + b CE(adversarial batch), written out here step by step on a copy of
//! the network, and reports that loss.

use robbench_core::attack::Pgd;
use robbench_core::data::Dataset;
use robbench_core::space::Space;
use robbench_core::train::{adversarial_step, init, trainables, Protocol};
use tch::nn::ModuleT;
use tch::{Device, Kind, Tensor};

#[test]
fn a_step_follows_the_weighted_clean_and_adversarial_loss() {
    let cell = Space::get().cell(1000).unwrap();
    for beta in [0.0, 0.3, 1.0] {
        let p = Protocol { train_beta: beta, ..Protocol::paper() };
        let (vs, net) = init(&cell, Dataset::Digits, 0, Device::Cpu);
        let (mut vs_ref, net_ref) = init(&cell, Dataset::Digits, 0, Device::Cpu);
        vs_ref.copy(&vs).unwrap();
        tch::manual_seed(5);
        let x = Tensor::rand([32, 3, 8, 8], (Kind::Float, Device::Cpu));
        let y = Tensor::randint(10, [32], (Kind::Int64, Device::Cpu));
        let noise = (Tensor::rand_like(&x) * 2.0 - 1.0) * p.train_eps;

        // The reference: PGD from the same start in eval mode, then both losses in train mode
        // (adversarial first, as the step does: each pass updates the BatchNorm statistics).
        let pgd = Pgd {
            eps: p.train_eps,
            alpha: p.train_alpha,
            steps: p.train_steps,
            random_start: true,
        };
        let x_adv = pgd.run_from(&x, Some(&noise), |a| {
            let a = a.detach().set_requires_grad(true);
            let loss = net_ref.forward_t(&a, false).cross_entropy_for_logits(&y);
            Tensor::run_backward(&[loss], &[&a], false, false).pop().unwrap()
        });
        let adv = net_ref.forward_t(&x_adv, true).cross_entropy_for_logits(&y);
        let clean = net_ref.forward_t(&x, true).cross_entropy_for_logits(&y);
        let expected_loss = beta * adv.double_value(&[]) + (1.0 - beta) * clean.double_value(&[]);
        let total = &adv * beta + &clean * (1.0 - beta);
        let params_ref = trainables(&vs_ref);
        let grads = Tensor::run_backward(
            &[total],
            &params_ref.iter().map(|(_, t)| t).collect::<Vec<_>>(),
            false,
            true,
        );

        let params = trainables(&vs);
        let mut buffers: Vec<Option<Tensor>> = params.iter().map(|_| None).collect();
        let lr = 0.05;
        let out =
            adversarial_step(&net, &params, &mut buffers, &x, &[y], Some(&noise), &p, (lr, 0.9));
        assert!(
            (out[0].0 - expected_loss).abs() < 1e-5,
            "beta {beta}: loss {} against (1 - b) CE(clean) + b CE(adv) = {expected_loss}",
            out[0].0
        );
        // First step: p' = p - lr (g + wd p), for each parameter the loss reaches.
        for (((name, after), (_, before)), g) in params.iter().zip(&params_ref).zip(&grads) {
            if !g.defined() {
                continue;
            }
            let expected = before - (g + before * p.weight_decay) * lr;
            let err = (after - &expected).abs().max().double_value(&[]);
            assert!(err < 1e-5, "beta {beta}: {name} is {err} from the written-out step");
        }
    }
}
