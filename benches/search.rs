//! Search speed (issue #11's goal: 100 trials of budget 100 for one algorithm on the bundled
//! table "well under a second"): the search algorithms alone, in this process, on CIFAR-10
//! PGD-8 values of every unique architecture read from the bundled benchmark; and the whole
//! `search(...)` statement as a cold process (start, open, search, print).
//!
//! Run: `make bench` (or `cargo bench --bench search`) after `make build`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use robbench::search::{self, Algorithm, Problem};

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin = env!("CARGO_BIN_EXE_robbench");
    let bench = root.join("bench");
    assert!(bench.join("robbench.json").exists(), "run make build first (it builds ./bench)");
    let o = Command::new(bin)
        .args(["--bench", bench.to_str().unwrap(), "--read-only", "-c"])
        .arg("SELECT arch, pgd8 FROM metrics_mean WHERE dataset = 'cifar10' AND protocol = 'nasrobbench201'")
        .output()
        .unwrap();
    assert!(o.status.success());
    let values: HashMap<usize, f64> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .skip(1)
        .map(|l| {
            let (a, v) = l.split_once(',').unwrap();
            (a.parse().unwrap(), v.parse().unwrap())
        })
        .collect();
    let mut candidates: Vec<usize> = values.keys().copied().collect();
    candidates.sort();
    let problem = Problem {
        candidates,
        maximize: true,
        budget: 100,
        trials: 100,
        seed: 0,
        costs: None,
        time: None,
        features: None,
    };
    for alg in [
        Algorithm::Random,
        Algorithm::Evolution { population: 10, sample_size: 3 },
        Algorithm::Local,
    ] {
        let mut times = Vec::new();
        for _ in 0..10 {
            let mut oracle = values.clone();
            let t = Instant::now();
            let q = search::run(alg, &problem, &mut oracle).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(q.len(), 100 * 100);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "search {}: 100 trials x budget 100, in process: median {:.1} ms, worst {:.1} ms (10 runs)",
            alg.name(),
            times[5],
            times[9]
        );
    }
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let o = Command::new(bin)
            .args(["--bench", bench.to_str().unwrap(), "--read-only", "-c"])
            .arg("SELECT count(*) FROM search('re', budget := 100, trials := 100)")
            .output()
            .unwrap();
        assert!(o.status.success());
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "search('re', budget := 100, trials := 100) as a cold process: median {:.0} ms",
        times[2]
    );
}
