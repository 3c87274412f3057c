//! The command line of SPEC section 2: sources and their order, errors, output modes, stdin,
//! persistence across processes, --read-only, and bad input.

use crate::common::*;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

fn bench_dir(tmp: &tempfile::TempDir) -> String {
    tmp.path().join("b").to_str().unwrap().to_string()
}

#[test]
fn commands_and_files_run_in_order_and_the_first_error_stops_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let b = bench_dir(&tmp);
    let file = tmp.path().join("steps.sql");
    std::fs::write(&file, "INSERT INTO log VALUES (2);\n\n-- a comment\nSELECT * FROM no_such_table;\nINSERT INTO log VALUES (3);\n").unwrap();
    // A command, the file, a command: in that order.
    let create = "CREATE TABLE log (i INTEGER); INSERT INTO log VALUES (1)";
    let steps = |file: &Path, then: &[&str]| {
        let mut args = vec!["--bench", &b, "-c", create, file.to_str().unwrap()];
        args.extend(then.iter().flat_map(|s| ["-c", s]));
        run(&args)
    };
    let o = steps(&file, &["INSERT INTO log VALUES (4)"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains(&format!("{}:4:", file.display())), "{err}");
    assert!(err.contains("no_such_table"), "{err}");

    let ok = tmp.path().join("ok.sql");
    std::fs::write(&ok, "INSERT INTO log VALUES (2);").unwrap();
    let o = steps(
        &ok,
        &[
            "INSERT INTO log VALUES (3)",
            "SELECT string_agg(i::VARCHAR, ' ' ORDER BY rowid) AS s FROM log",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "s\n1 2 3\n");
}

#[test]
fn stdin_and_output_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let b = bench_dir(&tmp);
    let mut child =
        bin().args(["--bench", &b]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"SELECT 1 AS a,\n 'x' AS b;\nSELECT 2 AS a;").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(stdout(&o), "a,b\n1,x\na\n2\n");

    let sql = "SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, NULL ORDER BY a";
    let mode = |m: &str| stdout(&run(&["--bench", &b, "--mode", m, "-c", sql]));
    assert_eq!(mode("csv"), "a,b\n1,x\n2,\n");
    assert_eq!(mode("json"), "[{\"a\":1,\"b\":\"x\"},{\"a\":2}]\n");
    assert_eq!(mode("jsonl"), "{\"a\":1,\"b\":\"x\"}\n{\"a\":2}\n");
    assert_eq!(mode("markdown"), "| a | b    |\n|---|------|\n| 1 | x    |\n| 2 | NULL |\n");
    assert_eq!(mode("line"), "a = 1\nb = x\n\na = 2\nb = NULL\n");
    let table = mode("table");
    assert!(
        table.contains("INTEGER") && table.contains("VARCHAR") && table.contains("NULL"),
        "{table}"
    );
    // A long result: the table elides its middle, markdown (for documents) keeps every row.
    let long = |m: &str| {
        stdout(&run(&["--bench", &b, "--mode", m, "-c", "SELECT range AS i FROM range(100)"]))
    };
    assert!(long("table").contains("100 rows (40 shown)"));
    assert_eq!(long("markdown").lines().count(), 102);
    let o = run(&["--bench", &b, "-c", ".mode line", "-c", "SELECT 7 AS seven"]);
    assert_eq!(stdout(&o), "seven = 7\n");
}

#[test]
#[ignore = "full tier (make test): needs the Python venv (pyarrow)"]
fn changes_persist_across_processes_and_parquet_readers_see_them() {
    let tmp = tempfile::tempdir().unwrap();
    let b = bench_dir(&tmp);
    let ins = "INSERT INTO scores (arch, dataset, score, value) VALUES (1, 'cifar10', 'synflow', 0.5), (2, 'cifar10', 'synflow', 0.7)";
    assert!(run(&["--bench", &b, "-c", ins]).status.success());
    assert!(run(&["--bench", &b, "-c", "UPDATE scores SET value = 0.9 WHERE arch = 2"])
        .status
        .success());
    assert!(run(&["--bench", &b, "-c", ins]).status.success());
    assert!(run(&["--bench", &b, "-c", "DELETE FROM scores WHERE arch = 1 AND value = 0.5 AND rowid = (SELECT min(rowid) FROM scores)"]).status.success());
    let o = run(&["--bench", &b, "-c", "SELECT arch, value FROM scores ORDER BY arch, value"]);
    assert_eq!(stdout(&o), "arch,value\n1,0.5\n2,0.7\n2,0.9\n", "{}", stderr(&o));
    // The folder is plain Parquet: pyarrow reads the same rows.
    let out = python_script("read_table.py", &[&format!("{b}/scores"), "arch,value"]);
    assert_eq!(out, "1,0.5\n2,0.7\n2,0.9\n");
}

#[test]
fn read_only_and_read_only_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let b = bench_dir(&tmp);
    assert!(run(&["--bench", &b, "-c", "SELECT 1"]).status.success());
    let o = run(&[
        "--bench",
        &b,
        "--read-only",
        "-c",
        "INSERT INTO curves (run_id, epoch) VALUES ('x', 1)",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("read-only"), "{}", stderr(&o));
    let o = run(&["--bench", &b, "-c", "DELETE FROM architectures WHERE arch < 10"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("architectures is read-only"), "{}", stderr(&o));
    let o = run(&[
        "--bench",
        &b,
        "-c",
        "SELECT (SELECT count(*) FROM curves), (SELECT count(*) FROM architectures)",
    ]);
    assert_eq!(csv_rows(&stdout(&o)), vec![vec!["0", "15625"]]);
    let o = run(&[
        "--bench",
        tmp.path().join("new").to_str().unwrap(),
        "--read-only",
        "-c",
        "SELECT 1",
    ]);
    assert!(!o.status.success() && stderr(&o).contains("--read-only"), "{}", stderr(&o));
}

#[test]
fn bad_input_gets_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let b = bench_dir(&tmp);
    let cases: [(&[&str], &str); 9] = [
        (&["--bench", &b, "-c", "SELECT arch_str(15625)"], "unknown architecture 15625"),
        (&["--bench", &b, "-c", "SELECT arch_id('|nor_conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|')"], "unknown operation 'nor_conv_5x5'"),
        (&["--bench", &b, "-c", "SELECT arch_uid(-3)"], "unknown architecture -3"),
        (&["--bench", &b, "-c", "INSERT INTO metrics (run_id, arch, dataset, split, clean) VALUES ('r', 1, 'cifar10', 'test', 'nan'::DOUBLE)"], "CHECK constraint"),
        (&["--bench", &b, "-c", "INSERT INTO metrics (run_id, arch, dataset, split) VALUES ('r', 20000, 'cifar10', 'test')"], "CHECK constraint"),
        (&["--bench", &b, "--mode", "xml", "-c", "SELECT 1"], "unknown mode 'xml'"),
        (&["--bench", &b, "--shard", "3/2", "-c", "SELECT 1"], "not a shard"),
        (&["--bench", &b, "-c", ".mode xml"], "unknown mode 'xml'"),
        (&["--bench", &b, "-c", ".frobnicate"], "unknown command '.frobnicate'"),
    ];
    for (args, needle) in cases {
        let o = run(args);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    // A folder that is not a benchmark is not touched.
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    let o = on(&other, &["-c", "SELECT 1"]);
    assert!(stderr(&o).contains("is not a robbench benchmark"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 1);
    let o = run(&["--bench", &b, "-c", "SELECT count(*) FROM metrics"]);
    assert_eq!(csv_rows(&stdout(&o)), vec![vec!["0"]]);
}

#[test]
fn dot_commands_in_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let b = bench_dir(&tmp);
    let o = run(&["--bench", &b, "-c", ".tables"]);
    let tables = stdout(&o);
    for t in [
        "architectures",
        "runs",
        "metrics",
        "metrics_mean",
        "results",
        "curves",
        "corruptions",
        "scores",
    ] {
        assert!(tables.split_whitespace().any(|w| w == t), "{t} missing from {tables}");
    }
    let o = run(&["--bench", &b, "-c", ".schema curves"]);
    assert!(stdout(&o).contains("CREATE TABLE curves"), "{}", stdout(&o));
    let out = tmp.path().join("out.csv");
    let o = run(&[
        "--bench",
        &b,
        "-c",
        &format!(".output {}", out.display()),
        "-c",
        "SELECT 42 AS x",
        "-c",
        ".output",
        "-c",
        "SELECT 1 AS y",
    ]);
    assert_eq!(stdout(&o), "y\n1\n");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "x\n42\n");
    let script = tmp.path().join("s.sql");
    std::fs::write(&script, "SELECT 5 AS five;\n.quit\nSELECT 6;").unwrap();
    let o = run(&["--bench", &b, "-c", &format!(".read {}", script.display())]);
    assert_eq!(stdout(&o), "five\n5\n");
    let o = run(&["--bench", &b, "-c", ".bench"]);
    assert!(stdout(&o).contains("architectures") && stdout(&o).contains("15625"), "{}", stdout(&o));
}

/// `.help FUNCTION` shows every parameter DuckDB accepts for it: the help and the registration
/// come from one table, and DuckDB's own catalogue is the check.
#[test]
fn help_names_each_functions_parameters() {
    let tmp = tempfile::tempdir().unwrap();
    let b = bench_dir(&tmp);
    for (function, registered) in
        [("train", "robbench_train"), ("search", "robbench_search"), ("predict", "predict")]
    {
        let o = run(&["--bench", &b, "-c", &format!(".help {function}")]);
        assert!(o.status.success(), "{}", stderr(&o));
        let help = stdout(&o);
        assert!(help.starts_with(&format!("{function}(")), "{help}");
        let sql = format!(
            "SELECT unnest(parameters) FROM duckdb_functions() WHERE function_name = '{registered}'"
        );
        let declared = q(std::path::Path::new(&b), &sql);
        assert!(declared.len() > 5, "{registered}: {declared:?}");
        // DuckDB names positional parameters col0, col1, ...; the help names them itself.
        for p in declared
            .iter()
            .filter(|p| p[0].strip_prefix("col").is_none_or(|n| n.parse::<u32>().is_err()))
        {
            let listed = help.lines().any(|l| l.trim_start().starts_with(&format!("{} ", p[0])));
            assert!(listed, "{function}: {} is not in the help:\n{help}", p[0]);
        }
    }
    let o = run(&["--bench", &b, "-c", ".help"]);
    assert!(stdout(&o).contains("predictor_eval"), "{}", stdout(&o));
    let o = run(&["--bench", &b, "-c", ".help nope"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(".help: no function 'nope'; robbench's are train, "),
        "{}",
        stderr(&o)
    );
}

/// Errors are named by the function that was called, not by the helper that found them: every
/// function that reads `dataset :=` parses it with one helper, and `search`'s training settings
/// are `train`'s.
#[test]
fn a_shared_check_names_the_function_called() {
    let (_tmp, b) = new_bench();
    for call in [
        "train(1, dataset := 'mnist')",
        "scores(1, dataset := 'mnist')",
        "evaluate(checkpoint := 'w.safetensors', arch := 1, dataset := 'mnist')",
        "evaluate_corruptions(checkpoint := 'w.safetensors', arch := 1, dataset := 'mnist')",
        "search(dataset := 'mnist')",
        "predict(dataset := 'mnist')",
        "cell_features(dataset := 'mnist')",
    ] {
        let function = &call[..call.find('(').unwrap()];
        let o = on(&b, &["-c", &format!("SELECT * FROM {call}")]);
        assert!(!o.status.success(), "{call} succeeded");
        let want = format!("Binder Error: {function}: unknown dataset 'mnist'");
        assert!(stderr(&o).contains(&want), "{call}: {}", stderr(&o));
    }
    let o = on(&b, &["-c", "SELECT * FROM train(dataset := 'digits')"]);
    assert!(
        stderr(&o).contains("Binder Error: train: which architectures? pass arch := id"),
        "{}",
        stderr(&o)
    );
    let o = on(
        &b,
        &["-c", "SELECT * FROM search(source := 'train', dataset := 'digits', train_steps := -1)"],
    );
    assert!(
        stderr(&o).contains("Binder Error: search: train_steps must be non-negative, got -1"),
        "{}",
        stderr(&o)
    );
}
