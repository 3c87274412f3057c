//! predict(), predictor_eval() and cell_features(): the random forest against scikit-learn's on
//! the same features and training sets, every option, every refusal.

use std::collections::HashMap;
use std::path::Path;

use crate::common::*;

fn q(bench: &Path, sql: &str) -> Vec<Vec<String>> {
    q_read_only(bench, sql)
}

fn bench() -> &'static Path {
    shared_bundled_bench()
}

const FEATURES: &str = "['graph', 'proxies']";
const SIZES: [usize; 3] = [32, 128, 1024];
const SEEDS: usize = 3;

#[test]
#[ignore = "full tier (make test): needs the Python venv (scikit-learn)"]
fn held_out_kendall_tau_matches_scikit_learns_forest_on_the_same_splits() {
    let b = bench();
    let tmp = tempfile::tempdir().unwrap();
    let features = tmp.path().join("features.csv");
    let splits = tmp.path().join("splits.csv");
    let feat = format!(
        "COPY (SELECT f.*, m.pgd8 AS y FROM cell_features(features := {FEATURES}) f
               JOIN metrics_mean m ON m.arch = arch_uid(f.arch) AND m.dataset = 'cifar10' AND m.protocol = 'nasrobbench201')
         TO '{}' (HEADER)",
        features.display()
    );
    let calls: Vec<String> = SIZES
        .iter()
        .flat_map(|n| (0..SEEDS).map(move |s| format!("SELECT {n} AS n, {s} AS seed, arch, in_train FROM predict(features := {FEATURES}, n := {n}, seed := {s}, trees := 10) WHERE value IS NOT NULL")))
        .collect();
    let split = format!("COPY ({}) TO '{}' (HEADER)", calls.join(" UNION ALL "), splits.display());
    let ours_sql = format!("SELECT n_train, seed, kendall FROM predictor_eval(features := {FEATURES}, sizes := [32, 128, 1024], seeds := {SEEDS}) ORDER BY ALL");
    let o = run(&[
        "--bench",
        b.to_str().unwrap(),
        "--read-only",
        "-c",
        &feat,
        "-c",
        &split,
        "-c",
        &ours_sql,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ours = csv_rows(&stdout(&o));
    let theirs: HashMap<(usize, usize), f64> =
        python_script("forest_parity.py", &[features.to_str().unwrap(), splits.to_str().unwrap()])
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                ((f[0].parse().unwrap(), f[1].parse().unwrap()), f[2].parse().unwrap())
            })
            .collect();
    assert_eq!(ours.len(), SIZES.len() * SEEDS);
    for n in SIZES {
        let mine: Vec<f64> =
            ours.iter().filter(|r| r[0] == n.to_string()).map(|r| r[2].parse().unwrap()).collect();
        let sk: Vec<f64> = (0..SEEDS).map(|s| theirs[&(n, s)]).collect();
        let (a, b) =
            (mine.iter().sum::<f64>() / SEEDS as f64, sk.iter().sum::<f64>() / SEEDS as f64);
        eprintln!("{n} labelled: robbench tau {a:.4}, scikit-learn {b:.4} ({mine:?} vs {sk:?})");
        assert!((a - b).abs() < 0.02, "{n} labelled: robbench {a:.4} against scikit-learn {b:.4}");
    }
}

#[test]
fn predictions_cover_the_space_and_honour_every_option() {
    let b = bench();
    // The default: graph + proxies, 128 drawn, every cell with proxies predicted.
    let all = q(b, "SELECT count(*), count(*) FILTER (WHERE in_train), count(value), bool_and(uncertainty >= 0), min(predicted) >= 0 FROM predict(trees := 20)");
    assert_eq!(all, [["9445", "128", "9445", "true", "true"]]);
    // In the training set a forest fits closely; same seed, same predictions; another, others.
    let fit = q(b, "SELECT max(abs(predicted - value)) < 0.05 FROM predict(n := 64, trees := 20) WHERE in_train");
    assert_eq!(fit, [["true"]]);
    let s1 = q(b, "SELECT sum(predicted) FROM predict(n := 64, trees := 20, seed := 1)");
    assert_eq!(s1, q(b, "SELECT sum(predicted) FROM predict(n := 64, trees := 20, seed := 1)"));
    assert_ne!(s1, q(b, "SELECT sum(predicted) FROM predict(n := 64, trees := 20, seed := 2)"));
    // A query as the training set, a list to predict, onehot over all 15,625 cells, a target.
    let listed = q(b, "SELECT arch, in_train FROM predict(train := 'SELECT arch FROM metrics_mean WHERE dataset = ''cifar10'' AND pgd8 > 0.47', archs := ['2581', '0'], features := ['onehot'], target := 'clean', trees := 20) ORDER BY arch");
    assert_eq!(listed, [["0", "false"], ["2581", "true"]]);
    let onehot =
        q(b, "SELECT count(*) FROM predict(features := ['onehot', 'graph'], n := 50, trees := 5)");
    assert_eq!(onehot, [["15625"]]);
    let std = q(b, "SELECT count(*) FROM predict(features := ['graph', 'standard', 'synflow'], dataset := 'imagenet16-120', n := 50, trees := 5)");
    assert_eq!(std, [["9445"]]);
    // predictor_eval: a row per size and seed, the held-out set the rest.
    let e = q(b, "SELECT n_train, seed, n_test, kendall > 0.3, top_k, top_k_overlap BETWEEN 0 AND 1 FROM predictor_eval(sizes := [40, 200], seeds := 2, trees := 20, top_k := 20) ORDER BY ALL");
    assert_eq!(
        e,
        [
            ["40", "0", "9405", "true", "20", "true"],
            ["40", "1", "9405", "true", "20", "true"],
            ["200", "0", "9245", "true", "20", "true"],
            ["200", "1", "9245", "true", "20", "true"],
        ]
    );
    let cols = q(b, "SELECT count(*) FROM (DESCRIBE SELECT * FROM cell_features(features := ['onehot', 'graph', 'proxies']))");
    assert_eq!(cols, [["55"]], "arch, 30 one-hot, 11 graph and 13 proxy columns");
}

#[test]
fn bad_options_are_refused() {
    let b = bench();
    for (call, needle) in [
        ("predict(features := ['depth'])", "unknown feature 'depth'"),
        ("predict(features := [])", "name at least one"),
        ("predict(target := 'pgd9')", "unknown target 'pgd9'"),
        ("predict(target := 'pgd8_std')", "unknown target 'pgd8_std'"),
        ("predict(dataset := 'cifar100', features := ['proxies'])", "no NAS-Bench-Suite-Zero"),
        ("predict(dataset := 'cifar100', features := ['standard'])", "no NAS-Bench-201 clean accuracy for cifar100"),
        ("predict(train := 'SELECT 15000', features := ['onehot'], dataset := 'digits', protocol := 'custom-345d9442')", "which has no pgd8 for digits"),
        ("predict(train := 'SELECT 2581')", "too few to fit"),
        ("predict(train := 'SELECT 1', n := 5)", "not both"),
        ("predict(n := 1)", "n must be 2 or more"),
        ("predict(n := 100000)", "more than the 9445 labelled"),
        ("predict(trees := 0)", "trees must be positive"),
        ("predict(protocol := 'nope')", "no architecture has pgd8"),
        ("predict(archs := ['3'])", "arch 3 lacks a feature"),
        ("predictor_eval(sizes := [9444])", "cannot train"),
        ("predictor_eval(seeds := 0)", "seeds must be positive"),
        ("predictor_eval(top_k := 0)", "top_k must be positive"),
        ("cell_features(features := ['depth'])", "unknown feature 'depth'"),
    ] {
        let o = run(&["--bench", b.to_str().unwrap(), "--read-only", "-c", &format!("SELECT * FROM {call}")]);
        assert!(!o.status.success(), "{call} succeeded");
        assert!(stderr(&o).contains(needle), "{call}: {}", stderr(&o));
    }
}
