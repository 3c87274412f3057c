//! A real Slurm: a 4-task array job of scripts/robbench.sbatch fills one benchmark folder with
//! digits runs while one task is requeued mid-run; every run is recorded exactly once.
//!
//! The test brings up a single-node Slurm (scripts/slurm-local.sh: Debian's slurmctld, slurmd
//! and munge) when none answers. That needs root, which CI has; elsewhere it says why it is
//! skipped.

use crate::common::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// `export SLURM_CONF=...` from the set-up script, or why there is no Slurm here.
fn slurm_up() -> Result<String, String> {
    let state = std::env::var("ROBBENCH_CACHE")
        .map(|c| Path::new(&c).join("slurm"))
        .unwrap_or_else(|_| std::env::temp_dir().join("robbench-slurm"));
    let o = Command::new(root().join("scripts/slurm-local.sh"))
        .args(["up", state.to_str().unwrap()])
        .output()
        .map_err(|e| format!("cannot run scripts/slurm-local.sh: {e}"))?;
    if !o.status.success() {
        return Err(stderr(&o));
    }
    stdout(&o)
        .lines()
        .find_map(|l| l.strip_prefix("export SLURM_CONF=").map(str::to_string))
        .ok_or_else(|| format!("slurm-local.sh printed no SLURM_CONF: {}", stdout(&o)))
}

fn slurm(conf: &str, cmd: &str, args: &[&str]) -> String {
    let o = Command::new(cmd).env("SLURM_CONF", conf).args(args).output().unwrap();
    assert!(o.status.success(), "{cmd} {args:?}: {}", stderr(&o));
    stdout(&o)
}

#[test]
#[ignore = "full tier (make test): brings up Slurm and trains"]
fn an_array_job_with_a_requeued_task_records_every_run_once() {
    let conf = match slurm_up() {
        Ok(c) => c,
        Err(why) if !is_root() => {
            eprintln!("SKIPPED: no Slurm here and setting one up needs root: {why}");
            return;
        }
        Err(why) => panic!("cannot bring up Slurm: {why}"),
    };
    let (tmp, bench) = new_bench();
    // Cells without 3x3 convolutions, so the eight adversarial trainings take seconds each.
    let archs = [15245, 1835, 14075, 5053, 2540, 4751, 10655, 11436];
    let list = archs.map(|a| a.to_string()).join(", ");
    let fill = tmp.path().join("fill.sql");
    std::fs::write(
        &fill,
        format!(
            "INSERT OR IGNORE INTO metrics FROM train([{list}], dataset := 'digits', epochs := 6, n_train := 512, n_eval := 64, batch_size := 64, attacks := ['clean', 'pgd8']);\n"
        ),
    )
    .unwrap();
    let logs = tmp.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    // Jobs of an earlier run of this test (killed before it ended) would hold the CPUs.
    let name = "robbench-slurm-test";
    slurm(&conf, "scancel", &["--name", name]);
    let job = slurm(
        &conf,
        "sbatch",
        &[
            "--parsable",
            "--job-name",
            name,
            "--array=0-3",
            "--requeue",
            "--cpus-per-task=1",
            &format!("--output={}/task-%a.log", logs.display()),
            "--chdir",
            root().to_str().unwrap(),
            root().join("scripts/robbench.sbatch").to_str().unwrap(),
            "--threads",
            "1",
            "--bench",
            bench.to_str().unwrap(),
            fill.to_str().unwrap(),
        ],
    );
    let job = job.trim().split(';').next().unwrap().to_string();

    // Task 1 takes positions 1 and 5 of the list: requeue it once its first run has an epoch
    // checkpoint, i.e. in the middle of its work.
    let deadline = Instant::now() + Duration::from_secs(600);
    let first_of_task1 = archs[1];
    let resumable = || {
        std::fs::read_dir(bench.join("checkpoints"))
            .map(|d| {
                d.flatten().any(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.contains(&format!("-digits-{first_of_task1}-s0"))
                        && e.path().join("resume.safetensors").exists()
                })
            })
            .unwrap_or(false)
    };
    let log =
        |k: usize| std::fs::read_to_string(logs.join(format!("task-{k}.log"))).unwrap_or_default();
    let logs_text = || (0..4).map(|k| format!("--- task {k}\n{}", log(k))).collect::<String>();
    while !resumable() {
        assert!(
            Instant::now() < deadline,
            "task 1 never reached its first epoch checkpoint; the queue:\n{}\n{}",
            slurm(&conf, "squeue", &["-o", "%i %j %T %r %M"]),
            logs_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    slurm(&conf, "scontrol", &["requeue", &format!("{job}_1")]);
    loop {
        let queued = slurm(&conf, "squeue", &["-h", "-j", &job]);
        if queued.trim().is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "the job did not finish: {queued}\n{}", logs_text());
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("{}", logs_text());
    assert!(log(1).contains("restart 1"), "task 1 was not requeued: {}", log(1));
    let counts = q(
        &bench,
        "SELECT (SELECT count(*) FROM runs), (SELECT count(DISTINCT run_id) FROM runs), (SELECT count(*) FROM metrics), (SELECT count(DISTINCT run_id) FROM metrics), (SELECT count(*) FROM curves)",
    );
    assert_eq!(counts, vec![vec!["8", "8", "8", "8", "48"]], "every run exactly once");
    let archs_recorded =
        q(&bench, "SELECT string_agg(arch::VARCHAR, ' ' ORDER BY arch) FROM metrics")[0][0].clone();
    let mut sorted = archs.to_vec();
    sorted.sort();
    let sorted: Vec<String> = sorted.iter().map(|a| a.to_string()).collect();
    assert_eq!(archs_recorded, sorted.join(" "));
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| stdout(&o).trim() == "0").unwrap_or(false)
}
