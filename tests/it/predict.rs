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

/// The cells that have NAS-Bench-Suite-Zero's proxies: the anchor's space for every feature set.
const PROXY_CELLS: &str = "SELECT arch FROM cell_features(features := [''proxies''])";

/// robbench's model against scikit-learn's on the same features and splits: mean held-out
/// Kendall tau per size within 0.02.
fn parity_with_scikit_learn(model: &str, features: &str, cells: Option<&str>) {
    let b = bench();
    let tmp = tempfile::tempdir().unwrap();
    let features_csv = tmp.path().join("features.csv");
    let splits = tmp.path().join("splits.csv");
    let within = cells.map(|c| format!(", cells := '{c}'")).unwrap_or_default();
    let keep =
        cells.map(|c| format!(" WHERE f.arch IN ({})", c.replace("''", "'"))).unwrap_or_default();
    let feat = format!(
        "COPY (SELECT f.*, m.pgd8 AS y FROM cell_features(features := {features}) f
               JOIN metrics_mean m ON m.arch = arch_uid(f.arch) AND m.dataset = 'cifar10' AND m.protocol = 'nasrobbench201'{keep})
         TO '{}' (HEADER)",
        features_csv.display()
    );
    let calls: Vec<String> = SIZES
        .iter()
        .flat_map(|n| (0..SEEDS).map(move |s| (n, s)))
        .map(|(n, s)| format!("SELECT {n} AS n, {s} AS seed, arch, in_train FROM predict(features := {features}, n := {n}, seed := {s}, trees := 5, model := 'forest'{within}) WHERE value IS NOT NULL"))
        .collect();
    let split = format!("COPY ({}) TO '{}' (HEADER)", calls.join(" UNION ALL "), splits.display());
    let ours_sql = format!("SELECT n_train, seed, kendall FROM predictor_eval(features := {features}, model := '{model}', sizes := [32, 128, 1024], seeds := {SEEDS}{within}) ORDER BY ALL");
    let o = on(b, &["--read-only", "-c", &feat, "-c", &split, "-c", &ours_sql]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ours = csv_rows(&stdout(&o));
    let args = [features_csv.to_str().unwrap(), splits.to_str().unwrap(), model];
    let theirs: HashMap<(usize, usize), f64> = python_script("forest_parity.py", &args)
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
        eprintln!("{model} on {features}, {n} labelled: robbench tau {a:.4}, scikit-learn {b:.4} ({mine:?} vs {sk:?})");
        assert!(
            (a - b).abs() < 0.02,
            "{model}, {n} labelled: robbench {a:.4} against scikit-learn {b:.4}"
        );
    }
}

#[test]
#[ignore = "full tier (make test): needs the Python venv (scikit-learn)"]
fn the_forest_matches_scikit_learns_on_the_same_splits() {
    parity_with_scikit_learn("forest", FEATURES, None);
}

#[test]
#[ignore = "full tier (make test): needs the Python venv (scikit-learn)"]
fn extra_trees_match_scikit_learns_on_the_same_splits() {
    parity_with_scikit_learn("extra_trees", FEATURES, None);
}

#[test]
#[ignore = "full tier (make test): needs the Python venv (scikit-learn)"]
fn ridge_then_forest_matches_scikit_learns_on_the_same_splits() {
    parity_with_scikit_learn("ridge_forest", "['onehot']", Some(PROXY_CELLS));
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
        let o = on(b, &["--read-only", "-c", &format!("SELECT * FROM {call}")]);
        assert!(!o.status.success(), "{call} succeeded");
        assert!(stderr(&o).contains(needle), "{call}: {}", stderr(&o));
    }
}

/// The noise ceiling against its definition, brute force in SQL: per pair of seeds, the
/// concordant minus the discordant pairs of architectures over all pairs (no ties here), the
/// mean over the pairs of seeds. Three seeds of 40 architectures, each a shared part plus noise.
#[test]
fn the_noise_ceiling_is_the_seed_to_seed_kendall_tau() {
    let (tmp, b) = new_bench();
    let fill = "CREATE TEMP TABLE v AS
        SELECT a, s, (a * 7919 % 10007) / 20014.0 + ((a * 31 + s * 17) * 104729 % 10007) / 40028.0 AS v
        FROM (SELECT arch AS a FROM architectures WHERE arch = arch_uid(arch) ORDER BY arch LIMIT 40), range(3) t(s);
        INSERT INTO runs (run_id, arch, dataset, seed, protocol, source) SELECT 'r' || a || '_' || s, a, 'digits', s, 'noisy', 'trained' FROM v;
        INSERT INTO metrics (run_id, arch, dataset, seed, split, pgd8) SELECT 'r' || a || '_' || s, a, 'digits', s, 'test', v FROM v;
        COPY v TO 'VALUES' (FORMAT csv)";
    let values = tmp.path().join("v.csv");
    let fill = fill.replace("'VALUES'", &format!("'{}'", values.display()));
    let o = on(&b, &["-c", &fill]);
    assert!(o.status.success(), "{}", stderr(&o));
    let brute = format!("WITH v AS (FROM read_csv('{}', header := true, columns := {{'a': 'BIGINT', 's': 'BIGINT', 'v': 'DOUBLE'}})),
        pairs AS (SELECT x.s AS s1, y.s AS s2, sign((x.v - x2.v) * (y.v - y2.v)) AS agree
                  FROM v x JOIN v y ON x.a = y.a AND x.s < y.s
                  JOIN v x2 ON x2.s = x.s AND x2.a > x.a JOIN v y2 ON y2.s = y.s AND y2.a = x2.a)
        SELECT avg(tau) FROM (SELECT avg(agree) AS tau FROM pairs GROUP BY s1, s2)", values.display());
    let want: f64 = q(&b, &brute)[0][0].parse().unwrap();
    let got = q(&b, "SELECT DISTINCT noise_ceiling FROM predictor_eval(dataset := 'digits', protocol := 'noisy', features := ['graph'], sizes := [10], seeds := 2, trees := 5)");
    assert_eq!(got.len(), 1);
    let got: f64 = got[0][0].parse().unwrap();
    eprintln!("noise ceiling {got} (brute force {want})");
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    assert!(want > 0.3 && want < 0.95, "a ceiling the data makes informative: {want}");
    // A published mean has no per-seed values: no ceiling.
    let none = q(shared_bundled_bench(), "SELECT DISTINCT noise_ceiling IS NULL FROM predictor_eval(sizes := [10], seeds := 1, trees := 5)");
    assert_eq!(none, [["true"]]);
}

#[test]
fn models_and_a_restricted_space() {
    let b = bench();
    let within = "cells := 'SELECT arch FROM cell_features(features := [''proxies''])'";
    let n = q(b, &format!("SELECT count(*), count(*) FILTER (WHERE in_train) FROM predict(features := ['onehot'], model := 'ridge_forest', n := 40, trees := 10, {within})"));
    assert_eq!(n, [["9445", "40"]], "one-hot over the cells with proxies only");
    let models = q(b, "SELECT model, n_test FROM (FROM predictor_eval(model := 'forest', sizes := [40], seeds := 1, trees := 5) UNION ALL FROM predictor_eval(sizes := [40], seeds := 1, trees := 5)) ORDER BY ALL");
    assert_eq!(models, [["extra_trees", "9405"], ["forest", "9405"]], "extra_trees is the default");
    let cases = [
        (
            "predict(model := 'svm')",
            "model := unknown model 'svm' (forest, extra_trees, ridge_forest)",
        ),
        ("predict(cells := 'SELECT 3')", "holds no cell with every feature"),
        ("predictor_eval(cells := 'SELECT ''x''')", "its first column must be arch"),
    ];
    assert_selects_refused(b, &cases);
}
