//! evaluate() from SQL: attacking a recorded run or a checkpoint, merging with the run's
//! recorded metrics, the large-eps sweep, the cache, and refused options.

use crate::common::*;

#[test]
#[ignore = "full tier (make test): trains"]
fn evaluate_adds_attacks_to_a_run_and_the_sweep_falls_to_zero() {
    let (tmp, b) = new_bench();
    // Standard training learns digits in a few epochs (adversarial training needs many more).
    q(&b, "INSERT INTO metrics FROM train(2581, dataset := 'digits', epochs := 5, batch_size := 128, train_attack := 'none', n_eval := 100, attacks := ['clean', 'pgd8'])");
    let run_id = q(&b, "SELECT run_id FROM runs")[0][0].clone();
    let before = q(&b, "SELECT clean, pgd8 FROM metrics");
    let sweep = "['apgd8', 'pgd16', 'pgd32', 'pgd64', 'pgd128', 'pgd255']";
    q(&b, &format!("INSERT OR REPLACE INTO metrics FROM evaluate(run_id := '{run_id}', attacks := {sweep}, n_eval := 100)"));
    let after = q(
        &b,
        "SELECT clean, pgd8, apgd8, pgd16, pgd32, pgd64, pgd128, pgd255, n_eval FROM metrics",
    );
    assert_eq!(after.len(), 1);
    let r = &after[0];
    assert_eq!(&r[..2], &before[0][..], "the recorded columns were lost");
    let v: Vec<f64> = r[..8].iter().map(|x| x.parse().unwrap()).collect();
    eprintln!("clean {} pgd8 {} apgd8 {} pgd16..255 {:?}", v[0], v[1], v[2], &v[3..]);
    assert!(v[0] > 0.3, "the network should have learned something: clean {}", v[0]);
    // The obfuscation check: accuracy falls with eps (8, 16, ..., 255) and reaches 0 at 255/255.
    let pgd = [v[1], v[3], v[4], v[5], v[6], v[7]];
    assert!(pgd.windows(2).all(|w| w[1] <= w[0]), "PGD accuracy is not monotone in eps: {pgd:?}");
    assert_eq!(v[7], 0.0, "PGD at 255/255 must reach 0");
    assert_eq!(r[8], "100");

    // Again: answered from the cache, with no worker to run.
    let o = bin().env("ROBBENCH_WORKER", "/nonexistent").args(["--bench", b.to_str().unwrap(), "-c", &format!("SELECT apgd8, pgd255 FROM evaluate(run_id := '{run_id}', attacks := {sweep}, n_eval := 100)")]).output().unwrap();
    assert_eq!(ok_csv(&o), vec![vec![r[2].clone(), r[7].clone()]]);

    // A checkpoint file directly, with its architecture.
    let ckpt = stored_checkpoint(&b);
    let direct = q(&b, &format!("SELECT run_id, pgd8 FROM evaluate(checkpoint := '{ckpt}', arch := 2581, dataset := 'digits', attacks := ['pgd8'], n_eval := 100)"));
    assert_eq!(
        direct,
        vec![vec![format!("checkpoint:{ckpt}"), r[1].clone()]],
        "the same network, images and seed give the recorded value"
    );

    // Without n_eval, a recorded run is evaluated on its own images (100 here, not all 359),
    // so a replace keeps every recorded column.
    q(&b, &format!("INSERT OR REPLACE INTO metrics FROM evaluate(run_id := '{run_id}', attacks := ['fgsm8'])"));
    let kept = q(&b, "SELECT clean, pgd8, apgd8, n_eval, fgsm8 IS NOT NULL FROM metrics");
    assert_eq!(
        kept,
        vec![vec![r[0].clone(), r[1].clone(), r[2].clone(), "100".into(), "true".into()]]
    );

    // In bf16: a row of its own arithmetic, which does not carry the fp32 columns over.
    let bf16 = q(&b, &format!("SELECT dtype, clean IS NULL, pgd8, n_eval FROM evaluate(run_id := '{run_id}', attacks := ['pgd8'], dtype := 'bf16')"));
    assert_eq!(bf16[0][0..2], ["bf16", "true"]);
    let (p16, p32): (f64, f64) = (bf16[0][2].parse().unwrap(), r[1].parse().unwrap());
    assert!((p16 - p32).abs() <= 0.05, "pgd8 in bf16 {p16}, in fp32 {p32}");

    // The folder moves: the run's checkpoint (stored relative to it) and caches move with it.
    let moved = tmp.path().join("moved");
    std::fs::rename(&b, &moved).unwrap();
    let o = bin()
        .env("ROBBENCH_WORKER", "/nonexistent")
        .args(["--bench", moved.to_str().unwrap(), "-c", &format!("SELECT pgd255 FROM evaluate(run_id := '{run_id}', attacks := ['pgd255'], n_eval := 100)")])
        .output()
        .unwrap();
    assert_eq!(ok_csv(&o), vec![vec![r[7].clone()]]);
}

#[test]
fn bad_options_are_refused_and_write_nothing() {
    let (_tmp, b) = new_bench();
    let cases = [
        ("evaluate(attacks := ['clean'])", "which network?"),
        ("evaluate(run_id := 'nope')", "no run 'nope'"),
        ("evaluate(run_id := 'x', checkpoint := 'y')", "not both"),
        ("evaluate(checkpoint := 'Cargo.toml')", "needs arch"),
        (
            "evaluate(checkpoint := '/no/such.safetensors', arch := 1)",
            "/no/such.safetensors does not exist",
        ),
        (
            "evaluate(checkpoint := 'Cargo.toml', arch := 1, attacks := ['pgd9'])",
            "unknown attack 'pgd9'",
        ),
        (
            "evaluate(checkpoint := 'Cargo.toml', arch := 1, attacks := ['clean', 'aa7'])",
            "unknown attack 'aa7'",
        ),
        ("evaluate(checkpoint := 'Cargo.toml', arch := 1, attacks := [])", "attacks is empty"),
        (
            "evaluate(checkpoint := 'Cargo.toml', arch := 1, dataset := 'mnist')",
            "unknown dataset 'mnist'",
        ),
        ("evaluate(checkpoint := 'Cargo.toml', arch := 99999)", "unknown architecture 99999"),
        ("evaluate(checkpoint := 'Cargo.toml', arch := 1, dataset := 'digits')", "Cargo.toml"),
    ];
    insta::assert_snapshot!(refusals(&b, "metrics", &cases));
    assert_eq!(q(&b, "SELECT count(*) FROM metrics"), vec![vec!["0"]]);
}

#[test]
#[ignore = "full tier (make test): needs the Python venv and trains"]
fn corruptions_of_a_cifar_network_by_corruption_and_severity() {
    let (tmp, b) = new_bench();
    let data = tmp.path().join("data");
    let corr = tmp.path().join("CIFAR-10-C");
    python_script("make_datasets.py", &[data.to_str().unwrap()]);
    python_script("make_corruptions.py", &[corr.to_str().unwrap()]);
    let d = data.to_str().unwrap();
    q(&b, &format!("INSERT INTO metrics FROM train(1, dataset := 'cifar10', data_dir := '{d}', epochs := 1, batch_size := 32, attacks := ['clean'])"));
    let run_id = q(&b, "SELECT run_id FROM runs")[0][0].clone();
    let c = corr.to_str().unwrap();
    q(&b, &format!("INSERT INTO corruptions FROM evaluate_corruptions(run_id := '{run_id}', corruptions := ['gaussian_noise'], severities := [1, 5], n_eval := 50, data_dir := '{c}')"));
    let rows = q(&b, "SELECT run_id, corruption, severity, n_eval, accuracy BETWEEN 0 AND 1 FROM corruptions ORDER BY severity");
    assert_eq!(
        rows,
        vec![
            vec![run_id.as_str(), "gaussian_noise", "1", "50", "true"],
            vec![run_id.as_str(), "gaussian_noise", "5", "50", "true"]
        ]
    );

    let cases = [
        (format!("evaluate_corruptions(run_id := '{run_id}', corruptions := ['gaussian_blur'], data_dir := '{c}')"), "unknown corruption 'gaussian_blur'".to_string()),
        (format!("evaluate_corruptions(run_id := '{run_id}', severities := [0], data_dir := '{c}')"), "severity 0 is not in 1..5".to_string()),
        (format!("evaluate_corruptions(run_id := '{run_id}', data_dir := '/no/such')"), "/no/such is not a folder".to_string()),
        (format!("evaluate_corruptions(run_id := '{run_id}', corruptions := ['snow'], data_dir := '{c}')"), "snow.npy".to_string()),
    ];
    for (call, needle) in cases {
        let o = on(&b, &["-c", &format!("INSERT INTO corruptions FROM {call}")]);
        assert!(!o.status.success(), "{call} succeeded");
        assert!(stderr(&o).contains(&needle), "{call}: {}", stderr(&o));
    }
    assert_eq!(q(&b, "SELECT count(*) FROM corruptions"), vec![vec!["2"]]);
}

/// AutoAttack's sanity checks reach the user: on stderr as the statement runs, and in the
/// metrics row's `warnings`, which a later evaluation of other attacks keeps.
#[test]
#[ignore = "full tier (make test): needs the Python venv and trains"]
fn autoattack_warnings_go_to_stderr_and_into_the_metrics_row() {
    let (tmp, b) = new_bench();
    // A cell of skip connections: AutoAttack's stages then cost seconds, not minutes.
    q(&b, "INSERT INTO metrics FROM train(1835, dataset := 'digits', epochs := 1, batch_size := 128, train_attack := 'none', n_eval := 60, attacks := ['clean'])");
    let ckpt = stored_checkpoint(&b);
    let zero = tmp.path().join("zero.safetensors");
    python_script("zero_weights.py", &[&ckpt, zero.to_str().unwrap()]);
    let z = zero.to_str().unwrap();

    let sql = format!("INSERT INTO metrics FROM evaluate(checkpoint := '{z}', arch := 1835, dataset := 'digits', attacks := ['clean', 'aa8'], n_eval := 60)");
    let o = on(&b, &["-c", &sql]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: aa8: ")
            && stderr(&o).contains("have an exactly zero loss gradient"),
        "{}",
        stderr(&o)
    );
    let id = format!("checkpoint:{z}");
    let row = q(&b, &format!("SELECT clean > 0, aa8 = clean, warnings LIKE 'aa8: % of 60 images have an exactly zero loss gradient%', len(string_split(warnings, chr(10))) FROM metrics WHERE run_id = '{id}'"));
    assert_eq!(
        row,
        vec![vec!["true", "true", "true", "1"]],
        "a network with zero gradients: AutoAttack moves nothing and says why"
    );

    // Adding another attack to the row keeps the AutoAttack columns and warning; measuring
    // AutoAttack again replaces its warning rather than repeating it.
    for attacks in ["['pgd8']", "['aa8']"] {
        q(&b, &format!("INSERT OR REPLACE INTO metrics FROM evaluate(checkpoint := '{z}', arch := 1835, dataset := 'digits', attacks := {attacks}, n_eval := 60)"));
        let row = q(&b, &format!("SELECT aa8 = clean, pgd8 IS NOT NULL, warnings LIKE 'aa8: %zero loss gradient%', len(string_split(warnings, chr(10))) FROM metrics WHERE run_id = '{id}'"));
        assert_eq!(row, vec![vec!["true", "true", "true", "1"]], "after evaluating {attacks}");
    }

    // The trained run (plain network): no warnings.
    let run_id = q(&b, "SELECT run_id FROM runs")[0][0].clone();
    q(&b, &format!("INSERT OR REPLACE INTO metrics FROM evaluate(run_id := '{run_id}', attacks := ['aa8'], n_eval := 60)"));
    let row = q(&b, &format!("SELECT clean IS NOT NULL, aa8 <= clean, warnings IS NULL FROM metrics WHERE run_id = '{run_id}'"));
    assert_eq!(row, vec![vec!["true", "true", "true"]]);
}
