//! The store at the paper's scale: a folder filled through robbench itself with 58,194 runs
//! (6,466 architectures x 3 data sets x 3 seeds), their 2.9 million curve rows and metrics, and
//! 500,000 score rows, then the costs that must not grow with it:
//!
//! - a cold top-10 by PGD-8 (a new process);
//! - a one-row INSERT in a new process: time and peak memory;
//! - 4 and 100 writers at once, each a process appending its runs (50 curves, metrics, runs);
//! - a cold `SELECT 1`;
//! - recording one finished run as `train` does (curves, then the runs row);
//! - an UPDATE of one metrics row;
//! - the data files per table after compaction.
//!
//! Run: `cargo bench --bench store` (part of `make bench`). Set ROBBENCH_STORE_BENCH_DIR to keep
//! the filled folder between runs (it is filled only when missing).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const ARCHS: usize = 6466;
const DATASETS: [&str; 3] = ["cifar10", "cifar100", "imagenet16-120"];
const SEEDS: usize = 3;
const EPOCHS: usize = 50;
const SCORE_ROWS: usize = 500_000;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_robbench")
}

fn robbench(bench: &Path, sql: &[&str]) -> (f64, String, String) {
    let args: Vec<&str> = sql.iter().flat_map(|s| ["-c", s]).collect();
    robbench_args(bench, &args)
}

fn robbench_args(bench: &Path, args: &[&str]) -> (f64, String, String) {
    let mut cmd = Command::new(bin());
    cmd.args(["--bench", bench.to_str().unwrap(), "--mode", "csv"]).args(args);
    let sql = args;
    let t = Instant::now();
    let o = cmd.stdin(Stdio::null()).output().unwrap();
    let dt = t.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{sql:?}: {err}");
    (dt, String::from_utf8_lossy(&o.stdout).into_owned(), err)
}

/// The run id of run `i` of the fill (as train names runs: protocol/dataset/arch/seed).
const RUN_ID: &str = "'nasrobbench201/' || ['cifar10','cifar100','imagenet16-120'][1 + (i // 3) % 3] || '/' || (i // 9) || '/s' || (i % 3)";

fn fill(bench: &Path) {
    let runs = ARCHS * DATASETS.len() * SEEDS;
    let t = Instant::now();
    // In slices, as a fill's statements would come (each slice one commit per table).
    let slices = 6;
    let per = runs.div_ceil(slices);
    for s in 0..slices {
        let (lo, hi) = (s * per, ((s + 1) * per).min(runs));
        let range = format!("(SELECT range AS i FROM range({lo}, {hi}))");
        let runs_sql = format!(
            "INSERT INTO runs (run_id, arch, dataset, seed, protocol, epochs, source, train_seconds)
             SELECT {RUN_ID}, i // 9, ['cifar10','cifar100','imagenet16-120'][1 + (i // 3) % 3], i % 3,
                    'nasrobbench201', 50, 'trained', 6600.0 FROM {range}"
        );
        let metrics_sql = format!(
            "INSERT INTO metrics (run_id, arch, dataset, seed, split, n_eval, clean, fgsm8, pgd8)
             SELECT {RUN_ID}, i // 9, ['cifar10','cifar100','imagenet16-120'][1 + (i // 3) % 3], i % 3, 'test', 10000,
                    0.5 + (hash(i) % 400) / 1000.0, 0.3 + (hash(i + 1) % 300) / 1000.0, 0.2 + (hash(i + 2) % 300) / 1000.0 FROM {range}"
        );
        let curves_sql = format!(
            "INSERT INTO curves (run_id, epoch, lr, train_loss, train_adv_acc, seconds)
             SELECT {RUN_ID}, e, 0.1, 2.0 / e, 0.5, 130.0 FROM {range}, range(1, {}) t(e)",
            EPOCHS + 1
        );
        robbench(bench, &[&runs_sql, &metrics_sql, &curves_sql]);
    }
    let per_score = SCORE_ROWS.div_ceil(4);
    for s in 0..4 {
        let sql = format!(
            "INSERT INTO scores (arch, dataset, score, value, batch_size, seed, source)
             SELECT i % 15625, 'cifar10', ['ntk', 'synflow', 'snip', 'grasp'][1 + {s}], hash(i) % 1000 / 10.0, 64, i // 15625, 'computed'
             FROM range({}, {}) t(i)",
            s * per_score,
            ((s + 1) * per_score).min(SCORE_ROWS)
        );
        robbench(bench, &[&sql]);
    }
    println!(
        "filled {runs} runs, {} curve rows, {SCORE_ROWS} score rows in {:.0} s",
        runs * EPOCHS,
        t.elapsed().as_secs_f64()
    );
}

struct Writers {
    median: f64,
    max: f64,
    per_second: f64,
    wall: f64,
    /// Whether the tables hold each row the writers appended exactly once.
    exact: bool,
}

/// `n` processes at once, each appending `runs` runs; per run, the time of its three
/// statements as the shell's timer gives them.
fn writers(bench: &Path, n: usize, runs: usize) -> Writers {
    let tag = format!("w{n}x{runs}-{}", std::process::id());
    let t = Instant::now();
    let children: Vec<_> = (0..n)
        .map(|w| {
            let mut cmd = Command::new(bin());
            cmd.args(["--bench", bench.to_str().unwrap(), "-c", ".timer on"]);
            for k in 0..runs {
                let id = format!("bench/{tag}/{w}/{k}");
                cmd.args(["-c", &format!("INSERT INTO curves (run_id, epoch, lr, train_loss, seconds) SELECT '{id}', e, 0.1, 2.0 / e, 130.0 FROM range(1, {}) t(e)", EPOCHS + 1)]);
                cmd.args(["-c", &format!("INSERT INTO metrics (run_id, arch, dataset, seed, split, clean, pgd8) VALUES ('{id}', {k}, 'cifar10', {w}, 'test', 0.5, 0.3)")]);
                cmd.args(["-c", &format!("INSERT INTO runs (run_id, arch, dataset, seed, protocol, epochs, source) VALUES ('{id}', {k}, 'cifar10', {w}, 'bench', 50, 'trained')")]);
            }
            cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
        })
        .collect();
    let mut per_run = Vec::new();
    for c in children {
        let o = c.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{err}");
        let times: Vec<f64> = err
            .lines()
            .filter_map(|l| l.strip_prefix("Run Time (s): real ")?.trim().parse().ok())
            .collect();
        per_run.extend(times.chunks(3).map(|c| c.iter().sum::<f64>()));
    }
    let wall = t.elapsed().as_secs_f64();
    let counts = robbench(bench, &[&format!(
        "SELECT (SELECT count(*) FROM runs WHERE run_id LIKE 'bench/{tag}/%'),
                (SELECT count(DISTINCT run_id) FROM runs WHERE run_id LIKE 'bench/{tag}/%'),
                (SELECT count(*) FROM metrics WHERE run_id LIKE 'bench/{tag}/%'),
                (SELECT count(*) FROM curves WHERE run_id LIKE 'bench/{tag}/%'),
                (SELECT count(DISTINCT (run_id, epoch)) FROM curves WHERE run_id LIKE 'bench/{tag}/%')"
    )]).1;
    let got: Vec<usize> =
        counts.lines().nth(1).unwrap().split(',').map(|x| x.parse().unwrap()).collect();
    let total = n * runs;
    let exact = got == [total, total, total, total * EPOCHS, total * EPOCHS];
    Writers {
        median: median(per_run.clone()),
        max: per_run.iter().cloned().fold(0.0, f64::max),
        per_second: total as f64 / wall,
        wall,
        exact,
    }
}

/// Peak resident memory (MiB) of the largest child this process waited for.
fn children_peak_mib() -> f64 {
    // SAFETY: getrusage only writes into the zeroed struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_CHILDREN with a valid pointer to a rusage.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss as f64 / 1024.0
}

/// Runs robbench with `args` from a fresh copy of this bench (`peak` mode), whose only child it
/// is, so the peak memory it reports is robbench's alone: (seconds, MiB).
fn measured(args: &[&str]) -> (f64, f64) {
    let o = Command::new(std::env::current_exe().unwrap())
        .arg("peak")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    let f: Vec<f64> = out.split_whitespace().map(|x| x.parse().unwrap()).collect();
    (f[0], f[1])
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn data_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "parquet")).count()
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("peak") {
        let t = Instant::now();
        let o = Command::new(bin()).args(&args[2..]).stdin(Stdio::null()).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        println!("{} {}", t.elapsed().as_secs_f64(), children_peak_mib());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let bench: PathBuf = std::env::var_os("ROBBENCH_STORE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("paper"));
    if !bench.join("robbench.json").exists() {
        fill(&bench);
    }
    let counts = robbench(&bench, &["SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM curves), (SELECT count(*) FROM metrics), (SELECT count(*) FROM scores)"]).1;
    println!("tables: runs, curves, metrics, scores = {}", counts.lines().nth(1).unwrap());

    // Cold top-10: a new process each time (the first warms the page cache).
    let top =
        "SELECT arch, pgd8 FROM metrics_mean WHERE dataset = 'cifar10' ORDER BY pgd8 DESC LIMIT 10";
    robbench(&bench, &[top]);
    let t = median((0..9).map(|_| robbench(&bench, &[top]).0).collect());
    println!("cold top-10 by PGD-8 (new process, read-write): {:.3} s", t);
    let t = median((0..9).map(|_| robbench_args(&bench, &["--read-only", "-c", top]).0).collect());
    println!("cold top-10 by PGD-8 (new process, --read-only): {:.3} s (target <= 0.03 s)", t);
    let t = median(
        (0..9).map(|_| robbench_args(&bench, &["--read-only", "-c", "SELECT 1"]).0).collect(),
    );
    println!("cold SELECT 1 (new process, --read-only): {:.3} s (target <= 0.02 s)", t);

    // One-row INSERT in a new process, and that process's peak memory.
    let mut times = Vec::new();
    let mut peaks = Vec::new();
    for k in 0..5 {
        let sql = format!("INSERT INTO scores (arch, dataset, score, value) VALUES ({k}, 'cifar10', 'one-row', 0.5)");
        let (secs, mib) = measured(&["--bench", bench.to_str().unwrap(), "-c", &sql]);
        times.push(secs);
        peaks.push(mib);
    }
    println!(
        "one-row INSERT (new process): {:.3} s, peak RSS {:.0} MiB (targets <= 0.5 s, <= 300 MiB)",
        median(times),
        median(peaks)
    );

    // UPDATE of one metrics row.
    let times: Vec<f64> = (0..3)
        .map(|k| {
            let sql = format!(
                "UPDATE metrics SET pgd8 = 0.{k}1 WHERE run_id = 'nasrobbench201/cifar10/2581/s0'"
            );
            robbench(&bench, &[&sql]).0
        })
        .collect();
    println!("UPDATE of one metrics row (new process): {:.3} s (target <= 0.3 s)", median(times));

    // Writers at once, as a Slurm array's tasks finish runs together: each one process that
    // appends its runs (curves, metrics, then the runs row, as train records a run).
    for (n, runs) in [(4, 25), (100, 3)] {
        let w = writers(&bench, n, runs);
        println!(
            "{n} writers x {runs} runs at once: median {:.3} s, max {:.3} s per run; {:.1} runs/s together ({} runs in {:.1} s); every row once: {} (targets: 4 writers <= 0.15 s per run, 100 writers >= 10 runs/s)",
            w.median, w.max, w.per_second, n * runs, w.wall, w.exact
        );
    }

    // Recording one finished run as train does: look it up, then curves, then the runs row.
    {
        use robbench::store::rows::Row;
        use robbench::store::{OnKey, Store};
        let conn = duckdb::Connection::open_in_memory().unwrap();
        let defs = robbench::store::table::definitions(&conn).unwrap();
        let store =
            Store::open(&bench, false, None, defs, || unreachable!("the folder exists")).unwrap();
        let mut times = Vec::new();
        for k in 0..5 {
            let id = format!("bench/train/{}/{k}", std::process::id());
            let t = Instant::now();
            assert!(!store.contains("runs", "run_id", &id).unwrap());
            let curves: Vec<Row> = (1..=EPOCHS as i64)
                .map(|e| {
                    Row::new()
                        .set("run_id", id.clone())
                        .set("epoch", e)
                        .set("lr", 0.1)
                        .set("seconds", 130.0)
                })
                .collect();
            store.append_rows("curves", &curves, OnKey::Ignore).unwrap();
            let run = Row::new()
                .set("run_id", id.clone())
                .set("arch", 2581)
                .set("dataset", "cifar10")
                .set("protocol", "bench")
                .set("source", "trained");
            store.append_rows("runs", &[run], OnKey::Ignore).unwrap();
            times.push(t.elapsed().as_secs_f64());
        }
        println!(
            "train's recording of one run (in process): median {:.3} s (target <= 0.2 s)",
            median(times)
        );
    }

    let o = Command::new(bin())
        .args(["--bench", bench.to_str().unwrap(), "--optimize", "--retention", "0"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let files: Vec<String> = ["runs", "metrics", "curves", "scores"]
        .iter()
        .map(|t| format!("{t} {}", data_files(&bench.join(t))))
        .collect();
    println!("data files after --optimize: {}", files.join(", "));
}
