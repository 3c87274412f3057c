//! Kills at random instants while statements write the benchmark: after each, the folder opens
//! and every table holds either its old or its new contents.

mod common;
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

fn count(bench: &Path, table: &str) -> i64 {
    let o = run(&["--bench", bench.to_str().unwrap(), "-c", &format!("SELECT count(*) FROM {table}")]);
    assert!(o.status.success(), "the folder does not open: {}", stderr(&o));
    stdout(&o).lines().nth(1).unwrap().parse().unwrap()
}

/// A small deterministic generator: the instants are random but the test is repeatable.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn twenty_kills_during_imports_and_rewrites() {
    let tmp = tempfile::tempdir().unwrap();
    let bench = tmp.path().join("b");
    let b = bench.to_str().unwrap();
    let page = root().join("data/nasrobbench201_page.js");
    // Each import gets run ids of its own (metrics is keyed by run_id and split).
    let import = |k: usize| {
        format!("INSERT INTO metrics SELECT * REPLACE (run_id || '/copy{k}' AS run_id) FROM read_nasrobbench201('{}')", page.display())
    };
    let rewrite = "DELETE FROM metrics WHERE dataset = 'cifar100'";
    // How long an uninterrupted import takes, to spread the kills over it.
    let t0 = Instant::now();
    assert!(run(&["--bench", b, "-c", &import(100)]).status.success());
    let span = t0.elapsed();
    let per_import = count(&bench, "metrics");
    assert_eq!(per_import, 38_796);

    let mut rng = Lcg(2024);
    let (mut old_seen, mut new_seen) = (0, 0);
    for k in 0..20 {
        let before = count(&bench, "metrics");
        let cifar100 = {
            let o = run(&["--bench", b, "-c", "SELECT count(*) FROM metrics WHERE dataset = 'cifar100'"]);
            stdout(&o).lines().nth(1).unwrap().parse::<i64>().unwrap()
        };
        let (sql, after) = if k % 3 == 2 { (rewrite.to_string(), before - cifar100) } else { (import(k), before + per_import) };
        let mut child = bin().args(["--bench", b, "-c", &sql]).spawn().unwrap();
        std::thread::sleep(Duration::from_secs_f64(span.as_secs_f64() * 1.2 * rng.next()));
        let _ = child.kill();
        let _ = child.wait();
        let now = count(&bench, "metrics");
        assert!(now == before || now == after, "kill {k}: {now} rows, expected {before} (old) or {after} (new)");
        if now == before { old_seen += 1 } else { new_seen += 1 }
        // Other tables are untouched and readable.
        assert_eq!(count(&bench, "architectures"), 15_625);
    }
    eprintln!("kills that left the old state: {old_seen}, the new state: {new_seen}");
}
