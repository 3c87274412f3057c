//! train() from SQL: learning on digits, reproducibility, resumption after SIGKILL, sharding,
//! and bad options that write nothing.

use crate::common::*;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::time::{Duration, Instant};

#[test]
#[ignore = "full tier (make test): trains"]
fn ten_epochs_on_digits_learn_robustly() {
    let (_tmp, bench) = new_bench();
    // fp32 and bf16 train at once, as two writers of one benchmark, one core each.
    let train = |dtype: &str| {
        q(&bench, &format!("INSERT INTO metrics FROM train(2581, dataset := 'digits', epochs := 10, dtype := '{dtype}')"))
    };
    std::thread::scope(|s| {
        let bf16 = s.spawn(|| train("bf16"));
        train("fp32");
        bf16.join().unwrap();
    });
    let rows = q(&bench, "SELECT dtype, clean, pgd8, fgsm8, n_eval FROM metrics ORDER BY dtype");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (bf16, fp32) = (&rows[0], &rows[1]);
    let (clean, pgd8): (f64, f64) = (fp32[1].parse().unwrap(), fp32[2].parse().unwrap());
    eprintln!(
        "digits, 10 epochs, PGD-7 adversarial training: clean {clean}, pgd8 {pgd8}, fgsm8 {}",
        fp32[3]
    );
    assert_eq!(fp32[0], "fp32");
    assert!(clean >= 0.9, "clean accuracy {clean}");
    assert!(pgd8 >= 0.5, "PGD-8/255 accuracy {pgd8} should be far above chance (0.1)");
    assert_eq!(fp32[4], "359");
    let runs = q(
        &bench,
        "SELECT protocol, epochs, n_train, source, device FROM runs WHERE dtype = 'fp32'",
    );
    assert_eq!(runs[0][1..], ["10", "1438", "trained", "cpu"]);
    assert_eq!(
        q(&bench, "SELECT dtype, count(*), max(epoch) FROM curves JOIN runs USING (run_id) GROUP BY dtype ORDER BY dtype"),
        vec![vec!["bf16", "10", "10"], vec!["fp32", "10", "10"]]
    );
    // bf16 learns as well, within 5 points of fp32 on clean and PGD-8 accuracy.
    let (clean16, pgd16): (f64, f64) = (bf16[1].parse().unwrap(), bf16[2].parse().unwrap());
    eprintln!("digits in bf16: clean {clean16}, pgd8 {pgd16}");
    assert_eq!(bf16[0], "bf16");
    assert!((clean16 - clean).abs() <= 0.05, "bf16 clean {clean16} against fp32 {clean}");
    assert!((pgd16 - pgd8).abs() <= 0.05, "bf16 pgd8 {pgd16} against fp32 {pgd8}");
}

const SMALL: &str =
    "dataset := 'digits', epochs := 2, n_train := 256, n_eval := 64, batch_size := 128";
/// Cheap cells (skip connections; one 1x1 convolution), so these tests take seconds.
const CHEAP: &str = "[1835, 14075]";

#[test]
#[ignore = "full tier (make test): trains"]
fn seeds_trained_together_equal_seeds_trained_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let cols = "arch, seed, clean, fgsm3, fgsm8, pgd3, pgd8";
    let together =
        q(&a, &format!("SELECT {cols} FROM train({CHEAP}, seed := [0, 1], fuse := true, {SMALL})"));
    assert_eq!(
        together.iter().map(|r| (r[0].as_str(), r[1].as_str())).collect::<Vec<_>>(),
        [("1835", "0"), ("1835", "1"), ("14075", "0"), ("14075", "1")]
    );
    // On CPU a fused run is bit-identical to the same run alone.
    let alone = q(&b, &format!("SELECT {cols} FROM train({CHEAP}, seed := 1, {SMALL})"));
    assert_eq!(alone, vec![together[1].clone(), together[3].clone()]);
    assert_eq!(
        q(&a, "SELECT count(*), count(DISTINCT run_id), count(DISTINCT seed) FROM runs"),
        vec![vec!["4", "4", "2"]]
    );
    assert_eq!(q(&a, "SELECT count(*) FROM curves"), vec![vec!["8"]]);
}

#[test]
#[ignore = "full tier (make test): trains"]
fn dtype_and_train_beta_are_recorded_and_name_the_protocol() {
    let (_tmp, b) = new_bench();
    let _ = q(
        &b,
        &format!(
            "INSERT INTO metrics FROM train(1835, dtype := 'bf16', train_beta := 0.5, {SMALL})"
        ),
    );
    let runs = q(&b, "SELECT protocol, dtype, train_beta FROM runs");
    assert!(runs[0][0].starts_with("custom-") && runs[0][0].ends_with("-bf16"), "{runs:?}");
    assert_eq!(runs[0][1..], ["bf16", "0.5"]);
    assert_eq!(q(&b, "SELECT dtype, train_dtype FROM results"), vec![vec!["bf16", "bf16"]]);
    // The same settings in fp32: the same name, unmarked.
    let _ = q(&b, &format!("INSERT INTO metrics FROM train(1835, train_beta := 0.5, {SMALL})"));
    let names = q(&b, "SELECT protocol FROM runs ORDER BY dtype DESC");
    assert_eq!(names[1][0], format!("{}-bf16", names[0][0]));
}

#[test]
#[ignore = "full tier (make test): trains"]
fn same_seed_same_metrics_and_repeats_are_not_retrained() {
    let tmp = tempfile::tempdir().unwrap();
    let sql =
        format!("SELECT clean, fgsm3, fgsm8, pgd3, pgd8 FROM train({CHEAP}, seed := 7, {SMALL})");
    let a = q(&tmp.path().join("a"), &sql);
    let b = q(&tmp.path().join("b"), &sql);
    assert_eq!(a, b, "two runs with one seed differ");
    let other = q(&tmp.path().join("c"), &sql.replace("seed := 7", "seed := 8"));
    assert_ne!(a, other, "another seed gave the very same metrics");
    // Repeated in the same benchmark: the recorded result, without starting the worker (a
    // worker that fails on start would fail the statement), and no second runs row.
    let o = bin()
        .env("ROBBENCH_WORKER", "/bin/false")
        .args(["--bench", tmp.path().join("a").to_str().unwrap(), "-c", &sql])
        .output()
        .unwrap();
    assert!(o.status.success(), "a recorded run was trained again: {}", stderr(&o));
    assert_eq!(csv_rows(&stdout(&o)), a);
    assert_eq!(
        q(&tmp.path().join("a"), "SELECT count(*), count(DISTINCT run_id) FROM runs"),
        vec![vec!["2", "2"]]
    );
}

#[test]
#[ignore = "full tier (make test): trains"]
fn sigkill_at_ten_moments_then_rerun_gives_the_uninterrupted_result() {
    let tmp = tempfile::tempdir().unwrap();
    // OR IGNORE: a kill after the statement committed leaves the rows in; the rerun keeps them.
    // Twelve epochs of 1,024 images: enough work (about 15 s on 2 idle cores) that ten
    // attempts, each killed within its first 1.5 s, cannot finish it.
    let small =
        SMALL.replace("epochs := 2", "epochs := 12").replace("n_train := 256", "n_train := 1024");
    let sql = format!("INSERT OR IGNORE INTO metrics FROM train(arch := {CHEAP}, {small})");
    let reference = tmp.path().join("reference");
    let show = "SELECT run_id, clean, fgsm3, fgsm8, pgd3, pgd8 FROM metrics ORDER BY run_id";
    // The uninterrupted run trains beside the killed attempts, on the other core.
    let uninterrupted = std::thread::spawn({
        let (reference, sql) = (reference.clone(), sql.clone());
        move || {
            let t0 = Instant::now();
            q(&reference, &sql);
            eprintln!("uninterrupted run: {:.1} s", t0.elapsed().as_secs_f64());
            q(&reference, show)
        }
    });

    let bench = tmp.path().join("killed");
    let b = bench.to_str().unwrap();
    let mut state: u64 = 99;
    let mut killed = 0;
    for k in 0..10 {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        // Each attempt resumes and adds an epoch or a few before its kill, at 0.5 to 1.5 s (not
        // a share of the uninterrupted run's time, which other tests' load can inflate).
        let at = 0.5 + 1.0 * ((state >> 11) as f64 / (1u64 << 53) as f64);
        // Its own process group, so the kill takes robbench-worker down too.
        let mut child = bin().args(["--bench", b, "-c", &sql]).process_group(0).spawn().unwrap();
        std::thread::sleep(Duration::from_secs_f64(at));
        // The group may be gone already when the rerun finished before the kill.
        let _ = std::process::Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", child.id())])
            .status();
        let status = child.wait().unwrap();
        let landed = status.signal() == Some(9);
        killed += landed as usize;
        eprintln!("kill {k} at {at:.1} s: {}", if landed { "killed" } else { "had finished" });
        // The folder opens after every kill.
        let o = run(&["--bench", b, "-c", "SELECT count(*) FROM runs"]);
        assert!(o.status.success(), "kill {k}: {}", stderr(&o));
    }
    assert!(killed >= 7, "only {killed} of 10 kills interrupted a run");
    let o = run(&["--bench", b, "-c", &sql]);
    assert!(o.status.success(), "{}", stderr(&o));
    let expected = uninterrupted.join().unwrap();
    assert_eq!(
        q(&bench, show),
        expected,
        "metrics after kills and a rerun differ from an uninterrupted run"
    );
    assert_eq!(
        q(&bench, "SELECT count(*), count(DISTINCT run_id) FROM runs"),
        vec![vec!["2", "2"]]
    );
    assert_eq!(
        q(&bench, "SELECT count(*), count(DISTINCT (run_id, epoch)) FROM curves"),
        vec![vec!["24", "24"]]
    );
    assert_eq!(
        q(&bench, "SELECT run_id, epoch, lr, train_loss, train_adv_acc FROM curves ORDER BY ALL"),
        q(
            &reference,
            "SELECT run_id, epoch, lr, train_loss, train_adv_acc FROM curves ORDER BY ALL"
        )
    );
}

/// A run's curves and its runs row are two commits, curves first. A kill between them leaves
/// the curves without the runs row (made here as that kill leaves it: the curves of a finished
/// run copied into a fresh benchmark): the next call trains the run again, adds no second copy
/// of its curves, records its runs row, and gives the uninterrupted result.
#[test]
#[ignore = "full tier (make test): trains"]
fn a_kill_between_the_curves_and_the_runs_commit_is_repaired_by_a_rerun() {
    let tmp = tempfile::tempdir().unwrap();
    let sql = format!("INSERT INTO metrics FROM train(arch := {CHEAP}, {SMALL})");
    let reference = tmp.path().join("reference");
    q(&reference, &sql);
    let bench = tmp.path().join("half");
    q(
        &bench,
        &format!("INSERT INTO curves SELECT * FROM {}", read_parquet_of(&reference.join("curves"))),
    );
    assert_eq!(q(&bench, "SELECT count(*) FROM runs"), vec![vec!["0"]]);
    q(&bench, &sql);
    let show = "SELECT run_id, clean, fgsm3, fgsm8, pgd3, pgd8 FROM metrics ORDER BY run_id";
    assert_eq!(q(&bench, show), q(&reference, show));
    let counts = "SELECT count(*), count(DISTINCT (run_id, epoch)) FROM curves";
    assert_eq!(q(&bench, counts), q(&reference, counts));
    assert_eq!(
        q(&bench, "SELECT count(*), count(DISTINCT run_id) FROM runs"),
        vec![vec!["2", "2"]]
    );
}

#[test]
#[ignore = "full tier (make test): trains"]
fn ctrl_c_stops_at_a_step_boundary_and_keeps_the_checkpoint() {
    let (_tmp, bench) = new_bench();
    let b = bench.to_str().unwrap();
    let sql = "INSERT INTO metrics FROM train(2581, dataset := 'digits', epochs := 30, n_train := 256, batch_size := 64, n_eval := 20)";
    // Ctrl-C on a terminal sends SIGINT to the foreground process group: robbench and its worker.
    let child = bin()
        .args(["--bench", b, "-c", sql])
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut seen = false;
    while !seen && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        seen = std::fs::read_dir(bench.join("checkpoints"))
            .map(|d| d.flatten().any(|e| e.path().join("resume.safetensors").exists()))
            .unwrap_or(false);
    }
    assert!(seen, "no epoch checkpoint appeared");
    signal_group(child.id(), "INT");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the statement finished despite Ctrl-C");
    assert!(err.contains("stopped at a step boundary"), "{err}");
    assert_eq!(
        q(&bench, "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM metrics)"),
        vec![vec!["0", "0"]]
    );
    let dir =
        std::fs::read_dir(bench.join("checkpoints")).unwrap().flatten().next().unwrap().path();
    assert!(dir.join("resume.safetensors").exists(), "the checkpoint was not kept");
}

#[test]
#[ignore = "full tier (make test): trains"]
fn shards_split_the_list() {
    let (_tmp, b) = new_bench();
    let small = "dataset := 'digits', epochs := 1, n_train := 64, n_eval := 20, batch_size := 64";
    let o = on(
        &b,
        &["--shard", "1/2", "-c", &format!("SELECT arch FROM train([1, 2, 3, 4, 5], {small})")],
    );
    assert_eq!(ok_csv(&o), vec![vec!["2"], vec!["4"]]);
}

#[test]
fn bad_options_are_refused_and_write_nothing() {
    let (_tmp, b) = new_bench();
    let cases = [
        ("train(15625, dataset := 'digits')", "unknown architecture 15625"),
        (
            "train('|bogus~0|+|none~0|none~1|+|none~0|none~1|none~2|', dataset := 'digits')",
            "unknown operation 'bogus'",
        ),
        ("train(1, dataset := 'mnist')", "unknown dataset 'mnist'"),
        ("train(1, dataset := 'digits', attacks := ['pgd9'])", "unknown attack 'pgd9'"),
        ("train(1, dataset := 'digits', epochs := 0)", "epochs must be positive"),
        ("train(1, dataset := 'digits', lr_max := 'nan'::DOUBLE)", "not a finite number"),
        ("train(1, dataset := 'digits', device := 'tpu')", "not a device"),
        ("train(1, dataset := 'digits', dtype := 'fp16')", "unknown dtype 'fp16'"),
        ("train(1, dataset := 'digits', precision := 'bf16')", "the option is dtype := 'bf16'"),
        ("train(1, dataset := 'digits', train_beta := 1.5)", "train_beta must be between 0 and 1"),
        ("train(1, dataset := 'digits', seed := [0, -1])", "seed must be non-negative"),
        ("train(1, dataset := ['digits', 'mnist'])", "unknown dataset 'mnist'"),
        ("train(1, dataset := 'digits', seed := [])", "seed list is empty"),
        (
            "train(1, dataset := 'cifar10', data_dir := '/no/such/folder', epochs := 1)",
            "/no/such/folder",
        ),
    ];
    insta::assert_snapshot!(refusals(&b, "metrics", &cases));
    assert_eq!(q(&b, "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM metrics), (SELECT count(*) FROM curves)"), vec![vec!["0", "0", "0"]]);
}

/// robbench and robbench-worker are deployed apart: a worker of another protocol version, or
/// one from before versions, is refused before it gets a request, naming what to rebuild; the
/// worker refuses a request with a field its protocol lacks instead of dropping it.
#[test]
fn a_worker_of_another_protocol_is_refused_and_unknown_fields_too() {
    use robbench_vocab::worker::PROTOCOL;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let (tmp, bench) = new_bench();
    let fake = |name: &str, version: &str| {
        let path = tmp.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\necho 'robbench-worker {version}'\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    };
    let sql = "INSERT INTO metrics FROM train(2581, dataset := 'digits', epochs := 1)";
    let (ours, theirs) = (PROTOCOL, PROTOCOL + 1);
    for (worker, want) in [
        (
            fake("newer", &format!("9.0.0 (worker protocol {theirs})")),
            format!("speaks worker protocol {theirs} and this robbench speaks protocol {ours}"),
        ),
        (fake("older", "0.1.0"), format!("names no worker protocol: it predates protocol {ours}")),
    ] {
        let o = bin()
            .env("ROBBENCH_WORKER", &worker)
            .args(["--bench", bench.to_str().unwrap(), "-c", sql])
            .output()
            .unwrap();
        let e = stderr(&o);
        assert!(!o.status.success(), "ran with {}", worker.display());
        assert!(e.contains(&want) && e.contains("make build-gpu"), "{e}");
        assert!(e.contains(&worker.display().to_string()), "the worker is not named: {e}");
    }
    assert_eq!(
        q(&bench, "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM metrics)"),
        vec![vec!["0", "0"]],
        "a refused worker left rows"
    );

    // The real worker, sent a request with a field its protocol does not have (what an older
    // worker would have silently ignored: dtype before bf16 existed).
    let request = format!(
        r#"{{"protocol": {PROTOCOL}, "request": {{"scores": {{"archs": [1], "dataset": "digits", "scores": ["synflow"], "batch_size": 8, "batch_offset": 0, "eps": null, "attack": "pgd", "beta": 0.5, "seed": 0, "train_mode": null, "checkpoint": null, "source": "test", "data_dir": null, "dtype": "fp32", "compute": {{"device": "cpu", "threads": 1}}, "out": "{}", "precision": "bf16"}}}}}}"#,
        tmp.path().join("scores.jsonl").display()
    );
    let send = |request: &str| {
        let mut child = std::process::Command::new(
            // The worker cargo built beside robbench (robbench starts that one too).
            std::path::Path::new(env!("CARGO_BIN_EXE_robbench")).with_file_name("robbench-worker"),
        )
        .arg("json")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
        child.stdin.take().unwrap().write_all(request.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let o = send(&request);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("unknown field `precision`"), "{e}");
    assert!(!tmp.path().join("scores.jsonl").exists(), "the refused request was run");
    // The same request without the stray field is a valid one.
    let valid = request.replace(r#", "precision": "bf16""#, "");
    let o = send(&valid);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(tmp.path().join("scores.jsonl").exists());
}
