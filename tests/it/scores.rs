//! scores() from SQL: recorded rows with their configuration, repeats served from the record,
//! checkpoints and noise images, sharding, and bad options that write nothing. (The values
//! themselves are checked against PyTorch in core/tests/scores_parity.rs.)

use crate::common::*;

const SMALL: &str = "dataset := 'digits', batch_size := 8";

#[test]
fn scores_are_recorded_with_their_configuration_and_repeats_are_not_recomputed() {
    let (_tmp, b) = new_bench();
    let call =
        format!("scores([1, 2581], {SMALL}, score := ['ntk_robust', 'knas', 'nwot', 'params'])");
    q(&b, &format!("INSERT INTO scores FROM {call}"));
    let rows = q(&b, "SELECT arch, score, eps, attack, beta, batch_size, seed, batch_offset, train_mode, source, value IS NOT NULL FROM scores ORDER BY arch, score");
    let eps = (8.0f64 / 255.0).to_string();
    assert_eq!(rows.len(), 8);
    assert_eq!(
        rows[1],
        vec!["1", "ntk_robust", &eps, "pgd", "", "8", "0", "0", "true", "test", "true"]
    );
    assert_eq!(rows[0], vec!["1", "knas", "", "", "", "8", "0", "0", "true", "test", "true"]);
    // params is the architecture's parameter count, which the architectures table computes independently.
    assert_eq!(q(&b, "SELECT bool_and(s.value = a.params_cifar10) FROM scores s JOIN architectures a USING (arch) WHERE score = 'params'"), vec![vec!["true"]]);

    // The same call again is answered from the record: with no worker to run it still succeeds.
    let values = |o: &std::process::Output| csv_rows(&stdout(o));
    let first = q(&b, &format!("SELECT arch, score, value FROM {call}"));
    let o = bin()
        .env("ROBBENCH_WORKER", "/nonexistent/robbench-worker")
        .args([
            "--bench",
            b.to_str().unwrap(),
            "-c",
            &format!("SELECT arch, score, value FROM {call}"),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(values(&o), first);
    assert_eq!(q(&b, "SELECT DISTINCT dtype FROM scores"), vec![vec!["fp32"]]);
    // In bf16: computed anew (no worker, no value), recorded as such, and near fp32's (the
    // NTK's condition number amplifies bf16's rounding: 16% apart here).
    let bf16 = format!(
        "SELECT dtype, value FROM scores(2581, {SMALL}, score := 'ntk_robust', dtype := 'bf16')"
    );
    let o = bin()
        .env("ROBBENCH_WORKER", "/nonexistent/robbench-worker")
        .args(["--bench", b.to_str().unwrap(), "-c", &bf16])
        .output()
        .unwrap();
    assert!(!o.status.success(), "a bf16 score was answered from the fp32 record");
    let row = &q(&b, &bf16)[0];
    let fp32: f64 =
        first.iter().find(|r| r[0] == "2581" && r[1] == "ntk_robust").unwrap()[2].parse().unwrap();
    let v: f64 = row[1].parse().unwrap();
    eprintln!("ntk_robust of 2581: fp32 {fp32}, bf16 {v}");
    assert_eq!(row[0], "bf16");
    // bf16 keeps 8 bits of mantissa, and libtorch's CPU bf16 kernels differ by processor: the
    // score came within 25 % on the machines this test ran on before, and 26.4 % on an AMD EPYC
    // (2026-12-02). The check is that bf16 was computed and is the same score, not its precision.
    assert!((v - fp32).abs() <= 0.4 * fp32.abs(), "bf16 {v} against fp32 {fp32}");
    // A new seed is a new network: computed, and different.
    let other =
        q(&b, &format!("SELECT value FROM scores(1, {SMALL}, score := 'ntk_robust', seed := 5)"));
    assert_ne!(other[0][0], first.iter().find(|r| r[0] == "1" && r[1] == "ntk_robust").unwrap()[2]);
}

#[test]
#[ignore = "full tier (make test): trains"]
fn checkpoints_noise_and_shards() {
    let (_tmp, b) = new_bench();
    q(&b, "INSERT INTO metrics FROM train(2581, dataset := 'digits', epochs := 1, n_train := 64, n_eval := 20, batch_size := 64, attacks := ['clean'])");
    let ckpt = stored_checkpoint(&b);
    let rows = q(&b, &format!("SELECT score, train_mode, checkpoint, value IS NOT NULL FROM scores(2581, {SMALL}, checkpoint := '{ckpt}', score := ['ntk_clean', 'snip'])"));
    assert_eq!(
        rows,
        vec![vec!["ntk_clean", "false", &ckpt, "true"], vec!["snip", "false", &ckpt, "true"]]
    );
    // The checkpoint of another architecture is refused, naming what does not fit.
    let o = on(&b, &["-c", &format!("SELECT * FROM scores(1, {SMALL}, checkpoint := '{ckpt}')")]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains(&ckpt) && stderr(&o).contains("architecture"), "{}", stderr(&o));

    let noise = q(
        &b,
        &format!(
            "SELECT source, value FROM scores(2581, {SMALL}, score := 'nwot', source := 'noise')"
        ),
    );
    let test = q(&b, &format!("SELECT source, value FROM scores(2581, {SMALL}, score := 'nwot')"));
    assert_eq!((noise[0][0].as_str(), test[0][0].as_str()), ("noise", "test"));
    assert_ne!(noise[0][1], test[0][1]);

    let o = on(
        &b,
        &["--shard", "1/2", "-c", "SELECT arch FROM scores([1, 2, 3, 4, 5], score := 'params')"],
    );
    assert_eq!(ok_csv(&o), vec![vec!["2"], vec!["4"]]);
}

#[test]
fn bad_options_are_refused_and_write_nothing() {
    let (_tmp, b) = new_bench();
    let cases = [
        ("scores(1, score := 'ntk_fancy')", "unknown score 'ntk_fancy'"),
        ("scores(1, score := 'ntk_mixed', beta := 1.5)", "beta must be in [0, 1], got 1.5"),
        ("scores(1, score := 'ntk_mixed', beta := -0.1)", "beta must be in [0, 1]"),
        (
            "scores(1, dataset := 'digits', batch_size := 360)",
            "the digits evaluation split has 359 images",
        ),
        (
            "scores(1, dataset := 'digits', batch_size := 64, batch_offset := 300)",
            "images 300..364 asked for",
        ),
        ("scores(15625)", "unknown architecture 15625"),
        ("scores(1, eps := 'nan'::DOUBLE)", "eps := nan: not a finite number"),
        ("scores(1, eps := 2.0)", "eps must be in [0, 1]"),
        ("scores(1, attack := 'cw')", "attack must be 'fgsm' or 'pgd'"),
        ("scores(1, source := 'imagenet')", "source must be 'test'"),
        ("scores(1, dataset := 'mnist')", "unknown dataset 'mnist'"),
        ("scores([1, 2], checkpoint := 'Cargo.toml')", "one architecture"),
        ("scores(1, checkpoint := '/no/such.safetensors')", "/no/such.safetensors does not exist"),
        ("scores(1, dataset := 'cifar10', data_dir := '/no/such/folder')", "/no/such/folder"),
    ];
    insta::assert_snapshot!(refusals(&b, "scores", &cases));
    assert_eq!(q(&b, "SELECT count(*) FROM scores"), vec![vec!["0"]]);
    let cached: Vec<_> = std::fs::read_dir(b.join("cache/scores"))
        .map(|d| {
            d.flatten().filter(|e| e.metadata().map(|m| m.len() > 0).unwrap_or(false)).collect()
        })
        .unwrap_or_default();
    assert!(cached.is_empty(), "a refused call left values behind: {cached:?}");
}
