//! Every training-free score against an independent PyTorch computation of the same definition
//! (tests/python/scores_ref.py: torch.func Jacobians, foresight-style module hooks) on the same
//! weights and batch.

mod common;

use robbench_core::checkpoint;
use robbench_core::data::{self, Dataset};
use robbench_core::scores::{self, Attack, Batch, Config, Score, Subject};
use robbench_core::space::Space;
use robbench_core::train;
use tch::{Device, Kind, Tensor};

/// Eigenvalue scores are compared to 1e-4 relative error, the rest to 1e-5.
fn tolerance(score: Score) -> f64 {
    use Score::*;
    match score {
        NtkClean | NtkRobust | NtkTwice | NtkMixed | NtkMixedTwice | NtkCond | Jacov | Nwot => 1e-4,
        _ => 1e-5,
    }
}

fn check(arch: &str, eps: Option<f64>, beta: f64, train_mode: bool, batch_size: i64) {
    let tmp = tempfile::tempdir().unwrap();
    let space = Space::get();
    let id = space.resolve(arch).unwrap() as i64;
    let cell = space.cell(id).unwrap();
    let dataset = Dataset::Digits;
    // libtorch's generator is one per process: initialised one test at a time, a test's
    // weights are the same at every run.
    static GENERATOR: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let (vs, net) = {
        let _alone = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
        train::init(&cell, dataset, 7, Device::Cpu)
    };
    let eval = data::load(dataset, None, false).unwrap();
    let (x, y) = eval.range(40, batch_size, Device::Cpu);
    // Saved before any score runs: BatchNorm statistics are the initial ones.
    checkpoint::save(&vs, &tmp.path().join("weights.safetensors"), 0).unwrap();
    Tensor::write_safetensors(
        &[("x", &x), ("y", &y.to_kind(Kind::Int64))],
        tmp.path().join("batch.safetensors"),
    )
    .unwrap();
    let norm = dataset.normalization();
    let join = |v: [f64; 3]| v.map(|x| format!("{x:.17}")).join(",");
    std::fs::write(
        tmp.path().join("arch.txt"),
        format!("{cell}\n10\n{}\n{}\n{}\n", join(norm.mean), join(norm.std), dataset.resolution()),
    )
    .unwrap();
    let names: Vec<&str> = Score::ALL.iter().map(|s| s.name()).collect();
    let config =
        serde_json::json!({"scores": names, "eps": eps, "beta": beta, "train_mode": train_mode});
    std::fs::write(tmp.path().join("config.json"), config.to_string()).unwrap();

    // PyTorch computes its side in its own process while robbench computes this one, each on
    // one thread: the same kernels then sum in the same order on both sides (with two threads
    // on one side only, a signed sum such as `plain` differed by 1.5e-5 relative).
    tch::set_num_threads(1);
    let reference = common::Reference::spawn("scores_ref.py", [tmp.path().display().to_string()]);
    let subject = Subject { cell: &cell, dataset, vs: &vs, net: &net };
    let mut batch = Batch::new(x, y);
    let mut ours = Vec::new();
    for name in &names {
        let cfg = Config {
            score: Score::parse(name).unwrap(),
            eps,
            attack: Attack::Fgsm,
            beta,
            train_mode,
        };
        scores::prepare(&net, &cfg, &mut batch);
        ours.push((cfg.score, scores::compute(&subject, &cfg, &mut batch).unwrap()));
    }
    let reference: serde_json::Value = serde_json::from_str(&reference.output()).unwrap();
    let mut failures = Vec::new();
    for (score, v) in ours {
        let r = reference[score.name()]
            .as_f64()
            .unwrap_or_else(|| panic!("no reference value for {}", score.name()));
        let rel = (v - r).abs() / r.abs().max(1e-12);
        eprintln!("{arch} eps {eps:?} train {train_mode}: {:<16} robbench {v:<24e} pytorch {r:<24e} rel {rel:.1e}", score.name());
        // A NaN error fails too.
        if rel.is_nan() || rel >= tolerance(score) {
            failures.push(format!(
                "{}: robbench {v} vs PyTorch {r} (relative error {rel:.2e})",
                score.name()
            ));
        }
    }
    assert!(failures.is_empty(), "{arch}:\n{}", failures.join("\n"));
}

#[test]
#[ignore = "full tier (make test): needs the Python venv (PyTorch)"]
fn scores_match_pytorch_on_a_dense_cell() {
    check("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", None, 0.5, true, 16);
}

#[test]
#[ignore = "full tier (make test): needs the Python venv (PyTorch)"]
fn scores_match_pytorch_with_perturbed_inputs_pools_and_cut_off_convolutions() {
    // nor_conv_1x1 on 0->2 feeds node 3 only through `none`: its weights get no gradient.
    check(
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_3x3~0|none~1|none~2|",
        Some(4.0 / 255.0),
        0.3,
        true,
        12,
    );
}

#[test]
#[ignore = "full tier (make test): needs the Python venv (PyTorch)"]
fn scores_match_pytorch_in_eval_mode() {
    check(
        "|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|avg_pool_3x3~1|nor_conv_1x1~2|",
        Some(8.0 / 255.0),
        0.8,
        false,
        10,
    );
}
