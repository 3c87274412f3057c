//! spearman() and kendall_tau() against scipy.stats on the same columns.

use crate::common::*;
use std::collections::HashMap;

fn reference(csv: &std::path::Path) -> HashMap<String, (f64, f64)> {
    python_script("rank_corr.py", &[csv.to_str().unwrap()])
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), (f[1].parse().unwrap(), f[2].parse().unwrap()))
        })
        .collect()
}

#[test]
#[ignore = "full tier (make test): needs the Python venv (scipy)"]
fn published_table_clean_vs_pgd8_matches_scipy() {
    let (tmp, bench) = (tempfile::tempdir().unwrap(), shared_bundled_bench());
    let data = tmp.path().join("pairs.csv");
    let o = on(bench, &["--read-only", "-c", &format!("COPY (SELECT dataset AS g, clean AS x, pgd8 AS y FROM metrics_mean WHERE protocol = 'nasrobbench201') TO '{}' (HEADER)", data.display()),
        "-c", "SELECT dataset, spearman(clean, pgd8), kendall_tau(clean, pgd8) FROM metrics_mean WHERE protocol = 'nasrobbench201' GROUP BY dataset ORDER BY dataset",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ours = csv_rows(&stdout(&o));
    let scipy = reference(&data);
    assert_eq!(ours.len(), 3);
    for row in &ours {
        let (rho, tau) = scipy[&row[0]];
        let (our_rho, our_tau): (f64, f64) = (row[1].parse().unwrap(), row[2].parse().unwrap());
        assert!((our_rho - rho).abs() < 1e-12, "{}: spearman {our_rho} vs scipy {rho}", row[0]);
        assert!((our_tau - tau).abs() < 1e-12, "{}: kendall {our_tau} vs scipy {tau}", row[0]);
    }
    let cifar10: f64 = ours.iter().find(|r| r[0] == "cifar10").unwrap()[1].parse().unwrap();
    assert!((cifar10 - 0.985).abs() < 0.01, "the paper's clean/PGD rank agreement, got {cifar10}");
}

#[test]
#[ignore = "full tier (make test): needs the Python venv (scipy)"]
fn ties_nulls_and_groups_match_scipy() {
    let (tmp, bench) = new_bench();
    let data = tmp.path().join("ties.csv");
    // Few distinct values, so most pairs are tied; some NULLs dropped pairwise.
    let make = "CREATE TABLE t AS SELECT (i % 4)::VARCHAR AS g,
                CASE WHEN i % 11 = 0 THEN NULL ELSE (hash(i) % 5)::DOUBLE END AS x,
                ((hash(i * 7 + 1) % 6) + (hash(i) % 5) * 0.5)::DOUBLE AS y FROM range(400) r(i)";
    let o = on(
        &bench,
        &[
            "-c",
            make,
            "-c",
            &format!("COPY t TO '{}' (HEADER)", data.display()),
            "-c",
            "SELECT g, spearman(x, y), kendall_tau(x, y) FROM t GROUP BY g ORDER BY g",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let scipy = reference(&data);
    let ours = csv_rows(&stdout(&o));
    assert_eq!(ours.len(), 4);
    for row in &ours {
        let (rho, tau) = scipy[&row[0]];
        assert!(
            (row[1].parse::<f64>().unwrap() - rho).abs() < 1e-12,
            "group {}: {} vs {rho}",
            row[0],
            row[1]
        );
        assert!(
            (row[2].parse::<f64>().unwrap() - tau).abs() < 1e-12,
            "group {}: {} vs {tau}",
            row[0],
            row[2]
        );
    }
}

#[test]
fn nan_is_an_error_and_constant_input_is_null() {
    let (_tmp, bench) = new_bench();
    let o = on(
        &bench,
        &["-c", "SELECT spearman(x, y) FROM (VALUES (1.0, 'nan'::DOUBLE), (2.0, 1.0)) v(x, y)"],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("NaN"), "{}", stderr(&o));
    let o = on(&bench, &["-c", "SELECT spearman(x, y) IS NULL, kendall_tau(x, y) IS NULL FROM (VALUES (1.0, 2.0), (1.0, 3.0)) v(x, y)"]);
    assert_eq!(csv_rows(&stdout(&o)), vec![vec!["true", "true"]], "{}", stderr(&o));
}

/// The benchmark beside another: `standard` joined with `metrics_mean` by architecture, the
/// rank correlations of the comparison (sql/analysis/standard_vs_robust.sql) against scipy's on
/// the same rows.
#[test]
#[ignore = "full tier (make test): needs the Python venv (scipy)"]
fn standard_training_against_robust_accuracy_matches_scipy() {
    let (tmp, bench) = (tempfile::tempdir().unwrap(), shared_bundled_bench());
    let data = tmp.path().join("pairs.csv");
    let pairs = "SELECT s.source || ':' || s.attack || ':' || CAST(round(s.eps * 255, 1) AS VARCHAR) || ':' || s.dataset AS g, s.accuracy AS x, m.pgd8 AS y
        FROM standard s JOIN metrics_mean m USING (arch, dataset)
        WHERE m.protocol = 'nasrobbench201' AND s.attack IN ('clean', 'pgd', 'square') AND s.eps * 255 IN (0, 1, 8)";
    let o = on(bench, &["--read-only", "-c", &format!("COPY ({pairs}) TO '{}' (HEADER)", data.display()),
        "-c", &format!("SELECT g, spearman(x, y), kendall_tau(x, y), count(*) FROM ({pairs}) GROUP BY g ORDER BY g"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ours = csv_rows(&stdout(&o));
    let scipy = reference(&data);
    // NB201 clean on two data sets; Jung's clean, PGD and Square at 1 and 8 /255.
    assert_eq!(ours.len(), 7, "{ours:?}");
    for row in &ours {
        let (rho, tau) = scipy[&row[0]];
        let (our_rho, our_tau): (f64, f64) = (row[1].parse().unwrap(), row[2].parse().unwrap());
        assert!((our_rho - rho).abs() < 1e-12, "{}: spearman {our_rho} vs scipy {rho}", row[0]);
        assert!((our_tau - tau).abs() < 1e-12, "{}: kendall {our_tau} vs scipy {tau}", row[0]);
    }
    let jung: f64 = ours.iter().find(|r| r[0] == "robustness-dataset:pgd:8.0:cifar10").unwrap()[1]
        .parse()
        .unwrap();
    assert!((jung - 0.382).abs() < 5e-4, "the paper's comparison of the benchmarks, got {jung}");
}
