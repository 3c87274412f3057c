//! Both NAS-RobBench-201 formats and the robustness dataset, imported through SQL.

use crate::common::*;
use serde_json::json;
use std::path::Path;

fn page() -> serde_json::Map<String, serde_json::Value> {
    let text = std::fs::read_to_string(root().join("data/nasrobbench201_page.js")).unwrap();
    serde_json::from_str(text.trim().trim_start_matches("acc=").trim_end_matches(';')).unwrap()
}

/// Imports the release at `path` with the reader `function`: its runs, then its metrics.
fn import_release(bench: &Path, function: &str, path: &str) {
    let runs = format!("INSERT INTO runs FROM {function}('{path}', target := 'runs')");
    let metrics = format!("INSERT INTO metrics FROM {function}('{path}')");
    let o = on(bench, &["-c", &runs, "-c", &metrics]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn project_page_table() {
    let bench = shared_bundled_bench();
    // 6,466 unique architectures x 3 data sets, each a 3-seed mean run plus an AutoAttack run
    // (the bundle also holds robbench's own digits runs, source 'trained').
    assert_eq!(
        q_read_only(bench, "SELECT count(*) FROM runs WHERE source <> 'trained'"),
        vec![vec!["38796"]]
    );
    assert_eq!(
        q_read_only(bench, "SELECT count(*) FROM metrics WHERE dataset <> 'digits'"),
        vec![vec!["38796"]]
    );
    assert_eq!(
        q_read_only(
            bench,
            "SELECT count(*), count(DISTINCT arch) FROM metrics_mean WHERE dataset = 'cifar10'"
        ),
        vec![vec!["6466", "6466"]]
    );
    assert_eq!(
        q_read_only(
            bench,
            "SELECT count(*) FROM runs WHERE seed IS NOT NULL AND source <> 'trained'"
        ),
        vec![vec!["0"]],
        "no invented seeds"
    );

    // The goal query of issue #2.
    let top = q_read_only(bench, "SELECT arch, arch_str, pgd8 FROM metrics_mean WHERE dataset = 'cifar10' ORDER BY pgd8 DESC LIMIT 10");
    assert_eq!(top.len(), 10);
    assert_eq!(top[0][0], "2581");
    assert_eq!(format!("{:.4}", top[0][2].parse::<f64>().unwrap()), "0.4811");

    // Every published value of one architecture lands in its column; n_seeds 3, no std.
    let p = page();
    let cols: Vec<String> =
        p[""].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    let v2581 = p["2581"].as_array().unwrap();
    let row = &q_read_only(bench, "SELECT clean, fgsm3, pgd3, fgsm8, pgd8, aa8, n_seeds, clean_std, aa8_std FROM metrics_mean WHERE arch = 2581 AND dataset = 'cifar100'")[0];
    for (k, name) in [
        "val_acc",
        "val_fgsm_3_acc",
        "val_pgd_3_acc",
        "val_fgsm_8_acc",
        "val_pgd_8_acc",
        "autoattack",
    ]
    .iter()
    .enumerate()
    {
        let pos = cols.iter().position(|c| c == &format!("cifar100#{name}")).unwrap();
        assert!(
            (row[k].parse::<f64>().unwrap() - v2581[pos].as_f64().unwrap()).abs() < 1e-12,
            "{name}"
        );
    }
    assert_eq!(row[6], "3");
    assert_eq!(row[7], "");
    assert_eq!(row[8], "");

    // A non-representative id resolves to its representative's row.
    let (dup, rep) =
        p.iter().find_map(|(k, v)| v.as_str().map(|r| (k.clone(), r.to_string()))).unwrap();
    let rep_pos = cols.iter().position(|c| c == "imagenet#val_pgd_8_acc").unwrap();
    let row = q_read_only(bench, &format!("SELECT arch, pgd8 FROM metrics_mean WHERE dataset = 'imagenet16-120' AND arch = arch_uid({dup})"));
    assert_eq!(row[0][0], rep);
    assert!(
        (row[0][1].parse::<f64>().unwrap()
            - p[&rep].as_array().unwrap()[rep_pos].as_f64().unwrap())
        .abs()
            < 1e-12
    );
    let row = q_read_only(bench, "SELECT arch_uid(1000), arch_uid(arch_str(1000)), pgd8 FROM metrics_mean WHERE arch = arch_uid(1000) AND dataset = 'cifar10'");
    assert_eq!(row[0][0], "1000");
    assert_eq!(row[0][1], "1000");
    let pos = cols.iter().position(|c| c == "cifar10#val_pgd_8_acc").unwrap();
    assert!(
        (row[0][2].parse::<f64>().unwrap() - p["1000"].as_array().unwrap()[pos].as_f64().unwrap())
            .abs()
            < 1e-12
    );

    // Provenance names the file and its hash.
    let prov = q_read_only(
        bench,
        "SELECT DISTINCT source, provenance FROM runs WHERE source <> 'trained'",
    );
    assert_eq!(prov.len(), 1);
    assert_eq!(prov[0][0], "nasrobbench201-page");
    assert!(prov[0][1].contains("nasrobbench201_page.js sha256:"));
}

fn std_sample(v: &[f64]) -> f64 {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

#[test]
fn full_release_json() {
    let (tmp, bench) = new_bench();
    // A generated file in the release's layout: per-seed values for arch 0, means only for 6.
    let seeds = |a: f64| json!({"1": a, "2": a + 0.01, "3": a + 0.03, "threeseed": a + 0.04 / 3.0});
    let mut per_seed = serde_json::Map::new();
    for (k, base) in [
        ("val_acc", 0.70),
        ("val_fgsm_3.0_acc", 0.6),
        ("val_fgsm_8.0_acc", 0.45),
        ("val_pgd_3.0_acc", 0.59),
        ("val_pgd_8.0_acc", 0.41),
    ] {
        per_seed.insert(k.into(), seeds(base));
    }
    per_seed.insert("autoattack".into(), json!(0.38));
    let doc = json!({
        "cifar10": {"0": per_seed, "6": {"val_acc": {"threeseed": 0.5}, "val_pgd_8.0_acc": {"threeseed": 0.3}, "autoattack": 0.25}},
        "imagenet": {"0": {"val_acc": {"1": 0.2, "2": 0.22, "3": 0.24, "threeseed": 0.22}}}
    });
    let file = tmp.path().join("release.json");
    std::fs::write(&file, serde_json::to_string(&doc).unwrap()).unwrap();
    let f = file.to_str().unwrap();
    import_release(&bench, "read_nasrobbench201", f);
    assert_eq!(
        q(&bench, "SELECT dataset, arch, seed FROM runs WHERE seed IS NOT NULL ORDER BY ALL"),
        vec![
            vec!["cifar10", "0", "1"],
            vec!["cifar10", "0", "2"],
            vec!["cifar10", "0", "3"],
            vec!["imagenet16-120", "0", "1"],
            vec!["imagenet16-120", "0", "2"],
            vec!["imagenet16-120", "0", "3"],
        ]
    );
    let row = &q(&bench, "SELECT n_seeds, clean, clean_std, pgd8, pgd8_std, aa8, aa8_std FROM metrics_mean WHERE arch = 0 AND dataset = 'cifar10'")[0];
    let clean = [0.70, 0.71, 0.73];
    let pgd8 = [0.41, 0.42, 0.44];
    assert_eq!(row[0], "3");
    assert!((row[1].parse::<f64>().unwrap() - clean.iter().sum::<f64>() / 3.0).abs() < 1e-12);
    assert!((row[2].parse::<f64>().unwrap() - std_sample(&clean)).abs() < 1e-12);
    assert!((row[3].parse::<f64>().unwrap() - pgd8.iter().sum::<f64>() / 3.0).abs() < 1e-12);
    assert!((row[4].parse::<f64>().unwrap() - std_sample(&pgd8)).abs() < 1e-12);
    assert_eq!(row[5], "0.38");
    assert_eq!(row[6], "");
    // A file that holds only means stays means.
    let row = &q(&bench, "SELECT n_seeds, clean, clean_std, pgd8, fgsm3, aa8 FROM metrics_mean WHERE arch = 6 AND dataset = 'cifar10'")[0];
    assert_eq!(row, &vec!["3", "0.5", "", "0.3", "", "0.25"]);
}

#[test]
fn malformed_release_files_are_rejected_and_nothing_is_written() {
    let (tmp, bench) = new_bench();
    let cases: Vec<(&str, String)> = vec![
        ("not json {", "not valid JSON".into()),
        (r#"{"cifar10": {"99999": {"val_acc": {"1": 0.5}}}}"#, "unknown architecture 99999".into()),
        (r#"{"mnist": {"0": {"val_acc": {"1": 0.5}}}}"#, "unknown data set 'mnist'".into()),
        (r#"{"cifar10": {"0": {"val_acc": {"1": 1.5}}}}"#, "accuracy 1.5 is not in [0, 1]".into()),
        (r#"{"cifar10": {"0": {"val_top5": {"1": 0.5}}}}"#, "unknown metric 'val_top5'".into()),
        (r#"{"cifar10": {"0": {"val_acc": {"one": 0.5}}}}"#, "seed key 'one'".into()),
        ("acc={\"\": [\"cifar10#val_acc\"], \"1\": \"0\"}", "representative".into()),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let file = tmp.path().join(format!("bad{i}.json"));
        std::fs::write(&file, text).unwrap();
        let o = on(
            &bench,
            &["-c", &format!("INSERT INTO metrics FROM read_nasrobbench201('{}')", file.display())],
        );
        assert!(!o.status.success(), "case {i} succeeded");
        let err = stderr(&o);
        assert!(err.contains(needle), "case {i}: {err}");
        assert!(
            err.contains(&format!("bad{i}.json")) || needle.contains("unknown"),
            "case {i} names no file: {err}"
        );
    }
    let missing = on(&bench, &["-c", "SELECT * FROM read_nasrobbench201('/no/such/file.json')"]);
    assert!(stderr(&missing).contains("cannot read /no/such/file.json"), "{}", stderr(&missing));
    assert_eq!(q(&bench, "SELECT count(*) FROM metrics"), vec![vec!["0"]]);
    assert_eq!(parquet_files(&bench.join("metrics")).len(), 0, "no data file written");
    let commits = std::fs::read_dir(bench.join("metrics/_delta_log")).unwrap().count();
    assert_eq!(commits, 1, "nothing committed but the table's creation");
}

#[test]
fn robustness_dataset() {
    let (tmp, bench) = new_bench();
    let dir = tmp.path().join("robustness-data");
    std::fs::create_dir_all(dir.join("cifar10")).unwrap();
    let ids: Vec<String> = std::fs::read_to_string(root().join("data/nb201_archs.txt"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let eps = json!([1.0, 3.0, 8.0]);
    std::fs::write(
        dir.join("meta.json"),
        json!({"ids": ids, "isomorph": {}, "epsilons": {"fgsm@Linf": eps, "pgd@Linf": eps}})
            .to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("cifar10/clean_accuracy.json"),
        json!({"cifar10": {"clean": {"accuracy": {"0": 93.5, "3": 88.0}}}}).to_string(),
    )
    .unwrap();
    std::fs::write(dir.join("cifar10/fgsm@Linf_accuracy.json"), json!({"cifar10": {"fgsm@Linf": {"accuracy": {"0": [50.0, 30.0, 10.0], "3": [40.0, 20.0, 5.0]}}}}).to_string()).unwrap();
    std::fs::write(dir.join("cifar10/pgd@Linf_accuracy.json"), json!({"cifar10": {"pgd@Linf": {"accuracy": {"0": [45.0, 12.0, 0.5], "3": [35.0, 9.0, 0.0]}}}}).to_string()).unwrap();
    let d = dir.to_str().unwrap();
    import_release(&bench, "read_robustness_dataset", d);
    assert_eq!(
        q(&bench, "SELECT arch, protocol, train_attack, clean, fgsm3, fgsm8, pgd3, pgd8 FROM results ORDER BY arch"),
        vec![vec!["0", "standard", "none", "0.935", "0.3", "0.1", "0.12", "0.005"], vec!["3", "standard", "none", "0.88", "0.2", "0.05", "0.09", "0.0"]]
    );
    // A wrong id order is refused.
    let mut bad = ids.clone();
    bad.swap(0, 1);
    std::fs::write(
        dir.join("meta.json"),
        json!({"ids": bad, "isomorph": {}, "epsilons": [1.0]}).to_string(),
    )
    .unwrap();
    let o = on(&bench, &["-c", &format!("SELECT * FROM read_robustness_dataset('{d}')")]);
    assert!(stderr(&o).contains("id 0 is"), "{}", stderr(&o));
}

/// Every published value of the page as its text says, parsed by Rust's standard (correctly
/// rounded) parser rather than the importer's JSON reader: (arch, column name) -> value.
fn page_values_from_text() -> (Vec<String>, Vec<(i64, Vec<f64>)>) {
    let text = std::fs::read_to_string(root().join("data/nasrobbench201_page.js")).unwrap();
    let mut header = Vec::new();
    let mut rows = Vec::new();
    // Entries look like `"key": [v, v, ...]` (results) or `"key": "representative"` (skipped).
    let mut rest = text.as_str();
    while let Some(start) = rest.find("\": [") {
        let key_start = rest[..start].rfind('"').unwrap() + 1;
        let key = &rest[key_start..start];
        let list_end = start + rest[start..].find(']').unwrap();
        let list = &rest[start + 4..list_end];
        if key.is_empty() {
            header = list.split(',').map(|s| s.trim().trim_matches('"').to_string()).collect();
        } else {
            let values = list.split(',').map(|s| s.trim().parse::<f64>().unwrap()).collect();
            rows.push((key.parse().unwrap(), values));
        }
        rest = &rest[list_end..];
    }
    (header, rows)
}

/// All 116,388 published values (6,466 architectures x 3 data sets x 6 columns) come back from
/// `metrics_mean` bit for bit.
#[test]
fn every_published_value_round_trips_bit_for_bit() {
    let (header, rows) = page_values_from_text();
    assert_eq!(header.len(), 18);
    assert_eq!(rows.len(), 6466);
    let bench = shared_bundled_bench();
    let column = |name: &str| match name.split_once('#').unwrap() {
        ("imagenet", m) => ("imagenet16-120".to_string(), m.to_string()),
        (d, m) => (d.to_string(), m.to_string()),
    };
    let metric = |m: &str| match m {
        "val_acc" => "clean",
        "val_fgsm_3_acc" => "fgsm3",
        "val_pgd_3_acc" => "pgd3",
        "val_fgsm_8_acc" => "fgsm8",
        "val_pgd_8_acc" => "pgd8",
        "autoattack" => "aa8",
        other => panic!("unknown page column {other}"),
    };
    let served = q_read_only(
        bench,
        "SELECT arch, dataset, clean, fgsm3, pgd3, fgsm8, pgd8, aa8 FROM metrics_mean WHERE dataset <> 'digits'",
    );
    let names = ["clean", "fgsm3", "pgd3", "fgsm8", "pgd8", "aa8"];
    let mut ours = std::collections::HashMap::new();
    for r in &served {
        for (k, name) in names.iter().enumerate() {
            let v: f64 = r[2 + k].parse().unwrap();
            ours.insert((r[0].parse::<i64>().unwrap(), r[1].clone(), *name), v);
        }
    }
    let (mut compared, mut differ) = (0, Vec::new());
    for (arch, values) in &rows {
        for (pos, name) in header.iter().enumerate() {
            let (dataset, m) = column(name);
            let got = ours.get(&(*arch, dataset.clone(), metric(&m))).copied();
            compared += 1;
            if got.map(f64::to_bits) != Some(values[pos].to_bits()) {
                differ.push(format!("{arch} {name}: page {:e}, served {got:?}", values[pos]));
            }
        }
    }
    assert_eq!(compared, 116_388);
    assert!(
        differ.is_empty(),
        "{} values differ, e.g. {:?}",
        differ.len(),
        &differ[..differ.len().min(5)]
    );
}
