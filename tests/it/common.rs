//! Shared by the integration tests: the robbench binary, fresh benchmarks, the reference venv.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Two tests run at once on CI's two cores, so each process a test starts gets one libtorch
/// thread: a worker's OpenMP threads sleep at barriers (OMP_WAIT_POLICY=PASSIVE, README), and
/// waking them between the small ops of an attack costs more than a second core gives
/// (AutoAttack on a few digits images: 342 s with two threads, 95 s with one).
const ONE_THREAD: (&str, &str) = ("OMP_NUM_THREADS", "1");

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_robbench"));
    c.current_dir(root()).env_remove("ROBBENCH_BENCH").env(ONE_THREAD.0, ONE_THREAD.1);
    c.stdin(Stdio::null());
    c
}

/// Runs robbench with `args` and returns its output.
pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("robbench runs")
}

/// Runs robbench on the benchmark folder `bench` with the other `args`.
pub fn on(bench: &Path, args: &[&str]) -> Output {
    bin().arg("--bench").arg(bench).args(args).output().expect("robbench runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `sql` on the benchmark folder `bench` and returns its rows (CSV, without the header);
/// panics with robbench's message when it fails.
pub fn q(bench: &Path, sql: &str) -> Vec<Vec<String>> {
    let o = on(bench, &["-c", sql]);
    assert!(o.status.success(), "{sql}: {}", stderr(&o));
    csv_rows(&stdout(&o))
}

/// Runs each refused call (`INSERT INTO {table} FROM {call}`) on `bench`: it must fail with a
/// message containing its needle. Returns every call with its whole message, for a snapshot
/// (the benchmark's and the clone's paths written as [bench] and [root]).
pub fn refusals(bench: &Path, table: &str, cases: &[(&str, &str)]) -> String {
    let mut text = String::new();
    for (call, needle) in cases {
        let o = on(bench, &["-c", &format!("INSERT INTO {table} FROM {call}")]);
        let message = stderr(&o);
        assert!(!o.status.success(), "{call} succeeded");
        assert!(message.contains(needle), "{call}: {message}");
        let message = message
            .replace(bench.to_str().unwrap(), "[bench]")
            .replace(root().to_str().unwrap(), "[root]");
        text.push_str(&format!("{call}\n  {}\n", message.trim_end().replace('\n', "\n  ")));
    }
    text
}

/// Runs `SELECT * FROM {call}` read-only on `bench` for each case: it must fail with a message
/// containing its needle.
pub fn assert_selects_refused(bench: &Path, cases: &[(&str, &str)]) {
    for (call, needle) in cases {
        let o = on(bench, &["--read-only", "-c", &format!("SELECT * FROM {call}")]);
        assert!(!o.status.success(), "{call} succeeded");
        assert!(stderr(&o).contains(needle), "{call}: {}", stderr(&o));
    }
}

/// `q` on a read-only session, for tests that share one benchmark.
pub fn q_read_only(bench: &Path, sql: &str) -> Vec<Vec<String>> {
    let o = on(bench, &["--read-only", "-c", sql]);
    assert!(o.status.success(), "{sql}: {}", stderr(&o));
    csv_rows(&stdout(&o))
}

/// The bundled benchmark built once for the whole test binary: tests read it with `--read-only`
/// sessions (`q_read_only`), and none writes to it.
pub fn shared_bundled_bench() -> &'static Path {
    static BENCH: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    let (_, b) = BENCH.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let b = bundled_bench(tmp.path());
        (tmp, b)
    });
    b
}

/// A benchmark built the way `make` builds the bundled one (sql/bundle.sql), in `dir`.
fn bundled_bench(dir: &Path) -> PathBuf {
    let bench = dir.join("bench");
    let o = on(&bench, &["sql/bundle.sql"]);
    assert!(o.status.success(), "bundle failed: {}", stderr(&o));
    bench
}

/// The Python with the reference packages (PyTorch, torchattacks, scipy), set up by `make test`.
pub fn python() -> Command {
    let py = std::env::var("ROBBENCH_PYTHON").expect(
        "ROBBENCH_PYTHON is not set: run the tests through `make test`, which creates the reference venv",
    );
    let mut c = Command::new(py);
    c.current_dir(root()).env(ONE_THREAD.0, ONE_THREAD.1);
    c
}

/// Runs a script from tests/python with arguments; panics with its stderr on failure.
pub fn python_script(script: &str, args: &[&str]) -> String {
    let o = python()
        .arg(root().join("tests/python").join(script))
        .args(args)
        .output()
        .expect("python runs");
    assert!(o.status.success(), "{script} failed:\n{}", stderr(&o));
    stdout(&o)
}

/// Parses CSV output (header then rows) into rows of strings.
pub fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .skip(1)
        .map(|l| l.split(',').map(|s| s.trim_matches('"').to_string()).collect())
        .collect()
}

/// Sends `signal` (e.g. "KILL", "INT") to the process group `pgid`, as a terminal's Ctrl-C or a
/// machine's OOM killer would reach robbench and its worker together. procps' kill reads
/// `-PID` after a signal as another option, so the group is named after `--`.
pub fn signal_group(pgid: u32, signal: &str) {
    let status = Command::new("kill")
        .args(["-s", signal, "--", &format!("-{pgid}")])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -s {signal} -- -{pgid} failed");
}

/// The data files of table folder `dir`.
pub fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect()
}

/// DuckDB's read_parquet over the data files of table folder `dir`.
pub fn read_parquet_of(dir: &Path) -> String {
    let files: Vec<String> =
        parquet_files(dir).iter().map(|p| format!("'{}'", p.display())).collect();
    format!("read_parquet([{}])", files.join(", "))
}

/// The checkpoint of the one run of `bench`, as a path: stored relative to the benchmark
/// folder, so the folder can move.
pub fn stored_checkpoint(bench: &Path) -> String {
    let stored = q(bench, "SELECT checkpoint FROM runs")[0][0].clone();
    assert!(Path::new(&stored).is_relative(), "{stored}");
    bench.join(&stored).display().to_string()
}

/// A small deterministic generator: the instants are random but the test is repeatable.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A benchmark folder not created yet, in a temporary folder that lives as long as the
/// returned guard.
pub fn new_bench() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let bench = tmp.path().join("b");
    (tmp, bench)
}

/// The CSV rows a successful run printed (fails with its stderr otherwise).
pub fn ok_csv(o: &Output) -> Vec<Vec<String>> {
    assert!(o.status.success(), "{}", stderr(o));
    csv_rows(&stdout(o))
}
