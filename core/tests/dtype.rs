//! bf16 arithmetic: logits close to fp32's, and a training step that keeps weights, BatchNorm
//! statistics and optimiser state in fp32.

use robbench_core::data::Dataset;
use robbench_core::space::Space;
use robbench_core::train::{adversarial_step, init, trainables, Dtype, Protocol};
use tch::nn::ModuleT;
use tch::{Device, Kind, Tensor};

#[test]
fn bf16_logits_are_close_to_fp32_and_weights_stay_fp32() {
    let cell = Space::get().cell(2581).unwrap();
    let (vs, mut net) = init(&cell, Dataset::Cifar10, 0, Device::Cpu);
    tch::manual_seed(1);
    let x = Tensor::rand([16, 3, 32, 32], (Kind::Float, Device::Cpu));
    let fp32 = net.forward_t(&x, false);
    net.set_dtype(Dtype::Bf16);
    let bf16 = net.forward_t(&x, false);
    assert_eq!(bf16.kind(), Kind::Float, "logits come back in fp32 for the loss");
    let err = (&bf16 - &fp32).norm().double_value(&[]) / fp32.norm().double_value(&[]);
    // bfloat16 keeps 8 bits of mantissa (relative step 2^-8 = 0.4%); errors of a few steps
    // accumulate over the network's 20 layers.
    assert!(err < 0.05, "bf16 logits differ from fp32 by {err} (relative)");
    assert!(err > 0.0, "bf16 changed nothing: the network did not compute in bf16");

    let p = Protocol::paper();
    let params = trainables(&vs);
    let before: Vec<Tensor> = params.iter().map(|(_, t)| t.copy()).collect();
    let mut buffers: Vec<Option<Tensor>> = params.iter().map(|_| None).collect();
    let y = Tensor::randint(10, [16], (Kind::Int64, Device::Cpu));
    let noise = Tensor::zeros_like(&x);
    let out = adversarial_step(&net, &params, &mut buffers, &x, &[y], Some(&noise), &p, (0.1, 0.9));
    assert!(out[0].0.is_finite());
    let moved = params.iter().zip(&before).filter(|((_, t), b)| t != *b).count();
    assert!(moved > params.len() / 2, "only {moved} of {} parameters moved", params.len());
    for (name, v) in vs.variables() {
        assert_eq!(v.kind(), Kind::Float, "{name}");
    }
    assert!(buffers.iter().flatten().all(|b| b.kind() == Kind::Float));
}
