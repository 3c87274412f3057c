//! The benchmark folder as Delta Lake tables: other readers see exactly robbench's rows,
//! every commit is a version that reopens, small files are merged, old folders convert.

use crate::common::*;
use std::path::Path;

fn ok(bench: &Path, args: &[&str]) -> String {
    let mut all = vec!["--bench", bench.to_str().unwrap()];
    all.extend_from_slice(args);
    let o = run(&all);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

/// robbench's rows of `columns` of `table`, sorted, as read_table.py prints them.
fn robbench_rows(bench: &Path, table: &str, columns: &str, as_of: Option<&str>) -> String {
    let sql = format!("SELECT {columns} FROM {table}");
    let mut args = vec!["--bench", bench.to_str().unwrap(), "--mode", "csv", "-c", &sql];
    if let Some(v) = as_of {
        args.extend(["--as-of", v]);
    }
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    // Sorted as Python sorts the printed tuples' repr: numbers before text within a column
    // cannot mix here, so sorting the lines as the script does is compared by set and count.
    let mut rows: Vec<String> = stdout(&o).lines().skip(1).map(|l| l.replace('"', "")).collect();
    rows.sort();
    rows.join("\n")
}

fn python_rows(bench: &Path, table: &str, columns: &str, version: Option<i64>) -> String {
    let dir = bench.join(table);
    let v = version.map(|v| v.to_string());
    let mut args = vec![dir.to_str().unwrap(), columns];
    if let Some(v) = &v {
        args.push(v);
    }
    let mut rows: Vec<String> =
        python_script("read_table.py", &args).lines().map(str::to_string).collect();
    rows.sort();
    rows.join("\n")
}

fn data_files(dir: &Path) -> usize {
    parquet_files(dir).len()
}

/// After appends, an UPDATE, a DELETE, an INSERT OR REPLACE, compaction and vacuum, the
/// deltalake package and polars read exactly the rows robbench reads, in every table that
/// changed (the statements are small; the published table adds a large one).
#[test]
#[ignore = "full tier (make test): needs the Python venv (deltalake, polars)"]
fn delta_readers_see_exactly_robbenchs_rows() {
    let (_tmp, bench) = new_bench();
    let page = root().join("data/nasrobbench201_page.js");
    ok(
        &bench,
        &["-c", &format!("INSERT INTO metrics FROM read_nasrobbench201('{}')", page.display())],
    );
    for k in 0..40 {
        // More than the bound of small files: the table is compacted on the way.
        ok(&bench, &["-c", &format!("INSERT INTO scores (arch, dataset, score, value) VALUES ({k}, 'cifar10', 'synflow', {})", k as f64 / 10.0)]);
    }
    ok(&bench, &[
        "-c", "UPDATE metrics SET pgd8 = 0.5 WHERE arch < 100 AND dataset = 'cifar10'",
        "-c", "DELETE FROM metrics WHERE dataset = 'cifar100' AND arch % 7 = 0",
        "-c", "INSERT INTO scores (arch, dataset, score, value) SELECT arch, dataset, 'neg', -value FROM scores WHERE arch < 5",
        "-c", "INSERT OR REPLACE INTO metrics (run_id, arch, dataset, split, clean) SELECT run_id, arch, dataset, split, 0.25 FROM metrics WHERE arch = 5",
        "-c", "INSERT INTO metrics (run_id, arch, dataset, split, clean) VALUES ('mine', 9, 'cifar10', 'test', 0.1)",
        "-c", "INSERT OR REPLACE INTO metrics (run_id, arch, dataset, split, clean) VALUES ('mine', 9, 'cifar10', 'test', 0.2)",
        "-c", "DELETE FROM scores WHERE arch = 7",
        "-c", "INSERT INTO runs (run_id, arch, dataset, protocol, source, started_at) VALUES ('r1', 3, 'cifar10', 'x', 'trained', TIMESTAMP '2026-01-02 03:04:05.678901')",
    ]);
    let compactions = q(
        &bench,
        "SELECT count(*) FROM history() WHERE table_name = 'scores' AND operation = 'OPTIMIZE'",
    );
    assert!(compactions[0][0] != "0", "the scores table was never compacted");
    // (table, the columns read by Python, the same as robbench prints them as Python does)
    let checks = [
        ("metrics", "run_id,split,clean,pgd8", "run_id,split,clean,pgd8"),
        ("scores", "arch,score,value", "arch,score,value"),
        ("runs", "run_id,started_at", "run_id,strftime(started_at, '%Y-%m-%d %H:%M:%S.%f')"),
        ("architectures", "arch,arch_str", "arch,arch_str"),
    ];
    for (table, columns, ours) in checks {
        assert_eq!(
            python_rows(&bench, table, columns, None),
            robbench_rows(&bench, table, ours, None),
            "{table}"
        );
    }
    assert_eq!(
        q(
            &bench,
            "SELECT count(*) FROM metrics WHERE dataset = 'cifar10' AND arch < 100 AND pgd8 <> 0.5"
        )
        .len(),
        1
    );
    // An old version reads the same through deltalake (by table version) and robbench (by the
    // benchmark version history() gives it).
    let at = q(
        &bench,
        "SELECT version FROM history() WHERE table_name = 'metrics' AND table_version = 1",
    )[0][0]
        .clone();
    assert_eq!(
        python_rows(&bench, "metrics", "run_id,clean,pgd8", Some(1)),
        robbench_rows(&bench, "metrics", "run_id,clean,pgd8", Some(&at))
    );
    // Compaction and vacuum change no row; old files go once past the retention (0 here).
    let before = python_rows(&bench, "metrics", "run_id,split,clean,pgd8", None);
    let o = on(&bench, &["--optimize", "--retention", "0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(data_files(&bench.join("metrics")), 1, "{}", stderr(&o));
    assert_eq!(data_files(&bench.join("scores")), 1);
    for (table, columns, ours) in checks {
        assert_eq!(
            python_rows(&bench, table, columns, None),
            robbench_rows(&bench, table, ours, None),
            "{table} after --optimize"
        );
    }
    assert_eq!(python_rows(&bench, "metrics", "run_id,split,clean,pgd8", None), before);
}

/// Every commit is a benchmark version: `history()` lists them, `--as-of` reopens any of them
/// read-only, as a version number or a time.
#[test]
fn history_and_as_of() {
    let (_tmp, bench) = new_bench();
    let insert = |id: &str, v: f64| {
        format!("INSERT INTO metrics (run_id, arch, dataset, split, clean) VALUES ('{id}', 1, 'cifar10', 'test', {v})")
    };
    ok(&bench, &["-c", &insert("a", 0.1)]);
    ok(&bench, &["-c", &insert("b", 0.2)]);
    let middle = q(&bench, "SELECT max(version) FROM history()")[0][0].clone();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let stamp = q(&bench, "SELECT strftime(max(time), '%Y-%m-%dT%H:%M:%S.%g') FROM history()")[0]
        [0]
    .clone();
    std::thread::sleep(std::time::Duration::from_millis(20));
    ok(
        &bench,
        &[
            "-c",
            "UPDATE metrics SET clean = 0.9 WHERE run_id = 'a'",
            "-c",
            "DELETE FROM metrics WHERE run_id = 'b'",
        ],
    );
    let h = q(&bench, "SELECT version, table_name, table_version, operation, rows_added, rows_removed, statement FROM history() WHERE table_name = 'metrics' ORDER BY version");
    let ops: Vec<(&str, &str, &str, &str)> =
        h.iter().map(|r| (r[2].as_str(), r[3].as_str(), r[4].as_str(), r[5].as_str())).collect();
    assert_eq!(
        ops,
        vec![
            ("0", "CREATE TABLE", "", ""),
            ("1", "WRITE", "1", "0"),
            ("2", "WRITE", "1", "0"),
            ("3", "UPDATE", "1", "1"),
            ("4", "DELETE", "0", "1")
        ]
    );
    assert!(h[3][6].starts_with("UPDATE metrics SET clean = 0.9"), "{:?}", h[3]);
    // Versions are numbered over all tables, without gaps.
    let versions: Vec<u64> = q(&bench, "SELECT version FROM history() ORDER BY version")
        .iter()
        .map(|r| r[0].parse().unwrap())
        .collect();
    assert_eq!(versions, (1..=versions.len() as u64).collect::<Vec<_>>());
    let at = |v: &str| {
        let o =
            on(&bench, &["--as-of", v, "-c", "SELECT run_id, clean FROM metrics ORDER BY run_id"]);
        assert!(o.status.success(), "--as-of {v}: {}", stderr(&o));
        csv_rows(&stdout(&o))
    };
    assert_eq!(at(&middle), vec![vec!["a", "0.1"], vec!["b", "0.2"]]);
    assert_eq!(at(&stamp), vec![vec!["a", "0.1"], vec!["b", "0.2"]]);
    assert_eq!(at(&versions.len().to_string()), vec![vec!["a", "0.9"]]);
    let earlier = (middle.parse::<u64>().unwrap() - 1).to_string();
    assert_eq!(at(&earlier), vec![vec!["a", "0.1"]]);
    // The old version is read-only, and says so.
    let o = on(&bench, &["--as-of", &middle, "-c", &insert("c", 0.3)]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("read-only"), "{}", stderr(&o));
    for bad in ["0", "99999", "yesterday", "1990-01-01"] {
        let o = on(&bench, &["--as-of", bad, "-c", "SELECT 1"]);
        assert!(!o.status.success(), "--as-of {bad} succeeded");
        assert!(
            stderr(&o).contains("version") || stderr(&o).contains("time"),
            "{bad}: {}",
            stderr(&o)
        );
    }
    assert_eq!(q(&bench, "SELECT run_id, clean FROM metrics"), vec![vec!["a", "0.9"]]);
}

/// Writes `sql`'s rows as an old-format part file (g<generation>-<name>.parquet).
fn old_part(scratch: &Path, dir: &Path, generation: u32, name: &str, sql: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join(format!("g{generation:08}-{name}.parquet"));
    let copy = format!("COPY ({sql}) TO '{}' (FORMAT parquet)", file.display());
    ok(scratch, &["-c", &copy]);
}

/// A folder in robbench's first format (Parquet parts by generation, made here as that
/// robbench laid them out, from the bundled benchmark's rows, with a superseded generation and
/// a table from before `metrics` had its `warnings` column) opens with a clear message, and
/// `--upgrade` converts it in place to exactly the rows the old format held.
#[test]
fn an_old_format_folder_upgrades_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let scratch = tmp.path().join("scratch");
    let bundled = shared_bundled_bench();
    let old = tmp.path().join("old");
    let read = |t: &str| read_parquet_of(&bundled.join(t));
    // The bundled benchmark's current files are its whole tables (it was never rewritten).
    old_part(
        &scratch,
        &old.join("architectures"),
        0,
        "a",
        &format!("SELECT * FROM {}", read("architectures")),
    );
    old_part(&scratch, &old.join("runs"), 0, "a", &format!("SELECT * FROM {}", read("runs")));
    // metrics: a superseded generation (all rows) and the current one in two parts, written
    // before the warnings column existed.
    let metrics = read("metrics");
    old_part(
        &scratch,
        &old.join("metrics"),
        2,
        "stale",
        &format!("SELECT * EXCLUDE (warnings) FROM {metrics}"),
    );
    old_part(
        &scratch,
        &old.join("metrics"),
        3,
        "a",
        &format!("SELECT * EXCLUDE (warnings) FROM {metrics} WHERE dataset = 'cifar10'"),
    );
    old_part(
        &scratch,
        &old.join("metrics"),
        3,
        "b",
        &format!("SELECT * EXCLUDE (warnings) FROM {metrics} WHERE dataset = 'imagenet16-120'"),
    );
    old_part(&scratch, &old.join("curves"), 0, "a", &format!("SELECT * FROM {}", read("curves")));
    old_part(&scratch, &old.join("scores"), 0, "a", &format!("SELECT * FROM {}", read("scores")));
    std::fs::create_dir_all(old.join("corruptions")).unwrap();
    std::fs::write(old.join("robbench.json"), "{\"format\": 1}\n").unwrap();
    std::fs::write(old.join("robbench.lock"), "").unwrap();

    let o = on(&old, &["-c", "SELECT count(*) FROM metrics"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--upgrade"), "{}", stderr(&o));

    let o = on(&old, &["--upgrade"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let count = |b: &Path, sql: &str| q(b, sql)[0][0].clone();
    let want = |sql: &str| q_read_only(bundled, sql)[0][0].clone();
    for t in ["architectures", "runs", "curves", "scores", "corruptions"] {
        let sql = format!("SELECT count(*), sum(hash(t)) FROM {t} t");
        assert_eq!(q(&old, &sql), q_read_only(bundled, &sql), "{t}");
    }
    assert_eq!(
        count(&old, "SELECT count(*) FROM metrics"),
        want("SELECT count(*) FROM metrics WHERE dataset IN ('cifar10', 'imagenet16-120')")
    );
    let sql = "SELECT count(*), sum(hash(t)) FROM (SELECT * EXCLUDE (warnings) FROM metrics) t WHERE dataset IN ('cifar10', 'imagenet16-120')";
    assert_eq!(q(&old, sql), q_read_only(bundled, sql));
    assert_eq!(count(&old, "SELECT count(*) FROM metrics WHERE warnings IS NOT NULL"), "0");
    // The old parts are gone; the folder takes new rows; a second upgrade has nothing to do.
    let leftovers: Vec<_> = std::fs::read_dir(old.join("metrics"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('g'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    ok(&old, &["-c", "INSERT INTO metrics (run_id, arch, dataset, split, warnings) VALUES ('new', 2, 'cifar10', 'test', 'aa8: x')"]);
    assert_eq!(q(&old, "SELECT warnings FROM metrics WHERE run_id = 'new'"), vec![vec!["aa8: x"]]);
    let o = on(&old, &["--upgrade"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("nothing to upgrade"), "{}", stderr(&o));
}

/// Files are merged by size tier as commits come, in commits that change no data, so a table
/// filled one small append at a time keeps a bounded number of files; `.optimize` merges all.
#[test]
fn small_files_are_compacted() {
    let (_tmp, bench) = new_bench();
    let appends: Vec<String> = (0..40)
        .map(|k| format!("INSERT INTO curves (run_id, epoch, lr) VALUES ('r', {k}, {k})"))
        .collect();
    let mut args: Vec<&str> = Vec::new();
    for a in &appends {
        args.extend(["-c", a.as_str()]);
    }
    ok(&bench, &args);
    let merges = q(
        &bench,
        "SELECT count(*) FROM history() WHERE table_name = 'curves' AND operation = 'OPTIMIZE'",
    );
    assert!(merges[0][0].parse::<u32>().unwrap() >= 3, "{merges:?}");
    let files = |bench: &Path| -> usize {
        let out = ok(bench, &["-c", ".bench"]);
        let line = out.lines().find(|l| l.trim_start().starts_with("curves")).unwrap().to_string();
        line.split_whitespace().nth(3).unwrap().parse().unwrap()
    };
    let n = files(&bench);
    assert!(n < 8 + 4, "{n} files after 40 appends");
    assert_eq!(q(&bench, "SELECT count(*), sum(epoch) FROM curves"), vec![vec!["40", "780"]]);
    ok(&bench, &["-c", ".optimize 0"]);
    assert_eq!(files(&bench), 1);
    assert_eq!(data_files(&bench.join("curves")), 1, "vacuum left files no version references");
    assert_eq!(q(&bench, "SELECT count(*), sum(epoch) FROM curves"), vec![vec!["40", "780"]]);
    // The merged file is sorted by the key.
    assert_eq!(
        q(&bench, "SELECT epoch FROM curves LIMIT 3"),
        vec![vec!["0"], vec!["1"], vec!["2"]]
    );
}

/// The key of a table holds across its files, appends from other statements and the rows a
/// statement stages itself.
#[test]
fn keys_hold_across_files() {
    let (_tmp, bench) = new_bench();
    let ins = |id: &str| {
        format!("INSERT INTO metrics (run_id, arch, dataset, split, clean) VALUES ('{id}', 1, 'cifar10', 'test', 0.5)")
    };
    ok(&bench, &["-c", &ins("a"), "-c", &ins("b")]);
    let o = on(&bench, &["-c", &ins("a")]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("Duplicate key \"run_id, split: a, test\""), "{}", stderr(&o));
    ok(&bench, &["-c", "INSERT OR IGNORE INTO metrics (run_id, arch, dataset, split, clean) VALUES ('a', 1, 'cifar10', 'test', 0.9), ('c', 1, 'cifar10', 'test', 0.9)"]);
    assert_eq!(
        q(&bench, "SELECT run_id, clean FROM metrics ORDER BY run_id"),
        vec![vec!["a", "0.5"], vec!["b", "0.5"], vec!["c", "0.9"]]
    );
    // An UPDATE that would make two rows share a key is refused, and changes nothing.
    let o = on(&bench, &["-c", "UPDATE metrics SET run_id = 'a' WHERE run_id = 'b'"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("Duplicate key") || stderr(&o).contains("PRIMARY KEY"),
        "{}",
        stderr(&o)
    );
    assert_eq!(q(&bench, "SELECT count(*) FROM metrics")[0][0], "3");
    // Inside BEGIN ... COMMIT a benchmark change is refused rather than half-committed.
    let o = on(&bench, &["-c", "BEGIN", "-c", &ins("d")]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("BEGIN ... COMMIT"), "{}", stderr(&o));
    let o = on(&bench, &["-c", "DROP VIEW metrics"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("benchmark table"), "{}", stderr(&o));
    assert_eq!(q(&bench, "SELECT count(*) FROM metrics")[0][0], "3");
}
