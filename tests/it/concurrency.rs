//! Many processes writing one benchmark folder at once: nothing a statement reported as done is
//! lost, nothing is duplicated, whatever else happens at the same time, kills included.

use crate::common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The statements of writer `w`, step `k`: each idempotent (run again after a kill, it leaves
/// what one run leaves), and together an append, a replace, an update and a delete.
fn step(w: usize, k: usize) -> String {
    let id = |k: usize| format!("w{w}/k{k}");
    // Accuracies must lie in [0, 1]: step k writes k/100.
    let v = |k: usize| format!("{}", k as f64 / 100.0);
    let mut s = format!(
        "INSERT OR IGNORE INTO metrics (run_id, arch, dataset, split, clean) VALUES ('{}', {w}, 'cifar10', 'test', {});",
        id(k),
        v(k)
    );
    if k >= 1 {
        s += &format!(
            "INSERT OR REPLACE INTO metrics (run_id, arch, dataset, split, clean, fgsm8) VALUES ('{}', {w}, 'cifar10', 'test', {}, {});",
            id(k - 1),
            v(k - 1),
            v(k)
        );
    }
    if k >= 2 {
        s += &format!("UPDATE metrics SET pgd8 = {} WHERE run_id = '{}';", v(k), id(k - 2));
    }
    if k >= 3 && k.is_multiple_of(3) {
        s += &format!("DELETE FROM metrics WHERE run_id = '{}';", id(k - 3));
    }
    s += &format!(
        "INSERT OR IGNORE INTO curves (run_id, epoch, lr) VALUES ('{}', {k}, {k});",
        id(0)
    );
    s
}

type Values = [Option<f64>; 3];

/// The rows writer `w` leaves after steps 0..n: run_id -> (clean, fgsm8, pgd8), and its curves.
fn expected(w: usize, n: usize) -> (BTreeMap<String, Values>, BTreeSet<String>) {
    let mut rows = BTreeMap::new();
    let num = |x: usize| Some(x as f64 / 100.0);
    for k in 0..n {
        rows.entry(format!("w{w}/k{k}")).or_insert([num(k), None, None]);
        if k >= 1 {
            rows.insert(format!("w{w}/k{}", k - 1), [num(k - 1), num(k), None]);
        }
        if k >= 2 {
            if let Some(r) = rows.get_mut(&format!("w{w}/k{}", k - 2)) {
                r[2] = num(k);
            }
        }
        if k >= 3 && k.is_multiple_of(3) {
            rows.remove(&format!("w{w}/k{}", k - 3));
        }
    }
    let curves = (0..n).map(|k| format!("w{w}/k0 {k}")).collect();
    (rows, curves)
}

/// Starts writer `w` at step `from`: one process, each step followed by an acknowledgement it
/// prints only once the step's statements were committed.
fn writer(bench: &Path, w: usize, from: usize, to: usize) -> Child {
    let mut cmd = bin();
    cmd.args(["--bench", bench.to_str().unwrap(), "--mode", "csv"]);
    for k in from..to {
        cmd.arg("-c").arg(step(w, k)).arg("-c").arg(format!("SELECT 'ack {w} {k}' AS ack"));
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// Reads `ack W K` lines of a writer into the channel as they come.
fn follow(child: &mut Child, tx: mpsc::Sender<(usize, usize)>) {
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            // The header line is "ack" alone; acknowledgements are "ack W K".
            let f: Vec<&str> = line.split_whitespace().collect();
            if let ["ack", w, k] = f.as_slice() {
                let _ = tx.send((w.parse().unwrap(), k.parse().unwrap()));
            }
        }
    });
}

fn check_final(bench: &Path, writers: usize, steps: usize) -> (usize, usize) {
    let got = q(bench, "SELECT run_id, clean, fgsm8, pgd8 FROM metrics ORDER BY run_id");
    let ids: Vec<&String> = got.iter().map(|r| &r[0]).collect();
    let distinct: BTreeSet<&String> = ids.iter().copied().collect();
    let duplicated = ids.len() - distinct.len();
    let mut lost = 0;
    let mut want_rows = BTreeMap::new();
    let mut want_curves = BTreeSet::new();
    for w in 0..writers {
        let (rows, curves) = expected(w, steps);
        want_rows.extend(rows);
        want_curves.extend(curves);
    }
    let parse = |s: &String| s.parse::<f64>().ok();
    let have: BTreeMap<String, Values> =
        got.iter().map(|r| (r[0].clone(), [parse(&r[1]), parse(&r[2]), parse(&r[3])])).collect();
    for (id, want) in &want_rows {
        if have.get(id) != Some(want) {
            lost += 1;
            eprintln!("{id}: want {want:?}, have {:?}", have.get(id));
        }
    }
    assert_eq!(
        have.len(),
        want_rows.len(),
        "rows that should not be there: {:?}",
        have.keys().filter(|k| !want_rows.contains_key(*k)).collect::<Vec<_>>()
    );
    let curves: BTreeSet<String> = q(bench, "SELECT run_id || ' ' || epoch FROM curves")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let curve_rows = q(bench, "SELECT count(*) FROM curves")[0][0].parse::<usize>().unwrap();
    assert_eq!(curves, want_curves, "curves differ");
    (lost, duplicated + (curve_rows - curves.len()))
}

/// Four processes at once run appends, replaces, updates and deletes on one folder: every
/// change lands exactly once.
#[test]
fn concurrent_writers_lose_and_duplicate_nothing() {
    let (_tmp, bench) = new_bench();
    q(&bench, "SELECT 1");
    let (writers, steps) = (4, 12);
    let children: Vec<Child> = (0..writers).map(|w| writer(&bench, w, 0, steps)).collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "a writer failed: {}", String::from_utf8_lossy(&o.stderr));
    }
    let (lost, duplicated) = check_final(&bench, writers, steps);
    assert_eq!((lost, duplicated), (0, 0));
}

/// Processes that start on one new folder at once (an array job's first tasks) all open it, and
/// it is created once: every table's creation and the architectures' rows are each one commit.
#[test]
fn processes_creating_one_folder_at_once_all_open_it() {
    let (_tmp, bench) = new_bench();
    let children: Vec<Child> = (0..6)
        .map(|_| {
            bin()
                .arg("--bench")
                .arg(&bench)
                .args(["-c", "SELECT count(*) FROM architectures"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "an opener failed: {}", stderr(&o));
        assert_eq!(csv_rows(&stdout(&o)), vec![vec!["15625"]]);
    }
    let history = q(
        &bench,
        "SELECT table_name, table_version, operation, rows_added FROM history() ORDER BY version",
    );
    let creations: Vec<&str> =
        history.iter().filter(|r| r[2] == "CREATE TABLE").map(|r| r[0].as_str()).collect();
    let mut tables = creations.clone();
    tables.sort();
    tables.dedup();
    assert_eq!(creations.len(), tables.len(), "a table was created twice: {history:?}");
    assert!(tables.contains(&"architectures") && tables.contains(&"metrics"), "{history:?}");
    let filled: Vec<_> =
        history.iter().filter(|r| r[0] == "architectures" && r[3] == "15625").collect();
    assert_eq!(filled.len(), 1, "the architectures were written {} times", filled.len());
}

/// Temporary part files in the table folders, by the pid of the process that writes them.
fn writing_pids(bench: &Path) -> BTreeSet<u32> {
    let mut pids = BTreeSet::new();
    for table in ["metrics", "curves"] {
        for e in std::fs::read_dir(bench.join(table)).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            // .<part>.<pid>.<k>.tmp
            if let Some(stem) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) {
                let f: Vec<&str> = stem.rsplitn(3, '.').collect();
                if let Some(pid) = f.get(1).and_then(|p| p.parse().ok()) {
                    pids.insert(pid);
                }
            }
        }
    }
    pids
}

/// The torture test: three writers at once, 50 SIGKILLs at random instants (half of them
/// aimed at a process while it writes a part), each killed writer restarted at its first
/// unacknowledged step. Afterwards: no acknowledged change lost, nothing duplicated, every
/// table opens.
#[test]
#[ignore = "full tier (make test): 50 kills of concurrent writers"]
fn fifty_kills_among_concurrent_writers() {
    let (_tmp, bench) = new_bench();
    q(&bench, "SELECT 1");
    let (writers, steps, kills_wanted) = (3, 40, 50);
    let (tx, rx) = mpsc::channel();
    let mut next = vec![0usize; writers];
    let mut children: Vec<Option<Child>> = (0..writers)
        .map(|w| {
            let mut c = writer(&bench, w, 0, steps);
            follow(&mut c, tx.clone());
            Some(c)
        })
        .collect();
    let mut rng = Lcg(7);
    let (mut kills, mut mid_write, mut restarts) = (0, 0, 0);
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        while let Ok((w, k)) = rx.try_recv() {
            next[w] = next[w].max(k + 1);
        }
        // Restart writers that ended (killed, or done) while steps remain.
        for w in 0..writers {
            let ended = match children[w].as_mut() {
                Some(c) => c.try_wait().unwrap().is_some(),
                None => true,
            };
            if ended {
                if let Some(c) = children[w].take() {
                    let o = c.wait_with_output().unwrap();
                    let killed = o.status.code().is_none();
                    assert!(
                        killed || o.status.success(),
                        "writer {w} failed: {}",
                        String::from_utf8_lossy(&o.stderr)
                    );
                }
                // Acknowledgements still in the pipe arrive before the restart decides.
                std::thread::sleep(Duration::from_millis(20));
                while let Ok((w2, k)) = rx.try_recv() {
                    next[w2] = next[w2].max(k + 1);
                }
                if next[w] < steps {
                    let mut c = writer(&bench, w, next[w], steps);
                    follow(&mut c, tx.clone());
                    children[w] = Some(c);
                    restarts += 1;
                }
            }
        }
        if children.iter().all(Option::is_none) {
            break;
        }
        assert!(Instant::now() < deadline, "the torture test did not finish");
        if kills < kills_wanted {
            let aimed = kills % 2 == 1;
            let victim = if aimed {
                // Wait (briefly) for a part being written, and kill its writer.
                let until = Instant::now() + Duration::from_secs(3);
                let mut found = None;
                while found.is_none() && Instant::now() < until {
                    let pids = writing_pids(&bench);
                    found = (0..writers)
                        .find(|&w| children[w].as_ref().is_some_and(|c| pids.contains(&c.id())));
                    if found.is_none() {
                        std::thread::sleep(Duration::from_micros(300));
                    }
                }
                found
            } else {
                std::thread::sleep(Duration::from_secs_f64(0.05 + 0.4 * rng.next()));
                let w = (rng.next() * writers as f64) as usize % writers;
                children[w].is_some().then_some(w)
            };
            if let Some(w) = victim {
                let c = children[w].as_mut().unwrap();
                let writing = writing_pids(&bench).contains(&c.id());
                if c.kill().is_ok() {
                    let _ = c.wait();
                    kills += 1;
                    if writing && writing_pids(&bench).contains(&c.id()) {
                        mid_write += 1;
                    }
                }
            }
        } else {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    for t in ["architectures", "runs", "metrics", "curves", "corruptions", "scores"] {
        q(&bench, &format!("SELECT count(*) FROM {t}"));
    }
    let (lost, duplicated) = check_final(&bench, writers, steps);
    eprintln!(
        "torture: {kills} kills ({mid_write} while the killed process was writing a part), {restarts} restarts; {lost} rows lost, {duplicated} duplicated"
    );
    assert_eq!(kills, kills_wanted);
    assert!(mid_write >= 5, "only {mid_write} kills landed while a part was being written");
    assert_eq!((lost, duplicated), (0, 0));
}
