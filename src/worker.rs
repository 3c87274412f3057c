//! Running `robbench-worker`, the libtorch process behind `train`, `evaluate`,
//! `evaluate_corruptions` and `scores`: the one place robbench starts it, sends it a request and
//! reads its answer. The protocol's types are `robbench_vocab::worker`, shared with the worker, so
//! the compiler checks both sides.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use robbench_vocab::progress::{self, Progress};
use robbench_vocab::worker::{protocol_of_version, Message, Request, EXIT_STOPPED, PROTOCOL};
use robbench_vocab::Stop;
use serde::de::DeserializeOwned;

/// How a worker run ended when it did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Done,
    /// Stopped at a step boundary (Ctrl-C); its checkpoint or finished part is kept.
    Stopped,
}

/// The worker binary: `$ROBBENCH_WORKER`, else `robbench-worker` beside this executable.
pub fn binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("ROBBENCH_WORKER") {
        return Ok(p.into());
    }
    let exe = std::env::current_exe().context("cannot locate the robbench binary")?;
    let w = exe.with_file_name("robbench-worker");
    if !w.exists() {
        bail!(
            "robbench-worker is not next to {} (build it with make build, or set ROBBENCH_WORKER)",
            exe.display()
        );
    }
    Ok(w)
}

/// Checks, once per binary and process, that `worker` speaks this robbench's protocol: a worker
/// deployed apart (a CUDA build on a GPU node) may be older or newer than robbench.
fn check_protocol(worker: &Path) -> Result<()> {
    static CHECKED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    if CHECKED.lock().unwrap().iter().any(|p| p == worker) {
        return Ok(());
    }
    let out = Command::new(worker)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot start robbench-worker {}", worker.display()))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        let cause = match said.trim() {
            "" => "it is not a robbench-worker, or cannot load its libraries",
            said => said,
        };
        bail!("{} --version failed ({}): {cause}", worker.display(), out.status);
    }
    let line = String::from_utf8_lossy(&out.stdout);
    let rebuild = "build robbench and robbench-worker from one clone (make build; make build-gpu for a CUDA node), or set ROBBENCH_WORKER to a worker built with this robbench";
    match protocol_of_version(&line) {
        Some(p) if p == PROTOCOL => {}
        Some(p) => bail!(
            "{} speaks worker protocol {p} and this robbench speaks protocol {PROTOCOL}: {rebuild}",
            worker.display()
        ),
        None => bail!(
            "{} ({}) names no worker protocol: it predates protocol {PROTOCOL}, this robbench's: {rebuild}",
            worker.display(),
            line.trim()
        ),
    }
    CHECKED.lock().unwrap().push(worker.to_path_buf());
    Ok(())
}

/// Runs one request to its end. The worker shares the terminal (progress bars, warnings, and
/// Ctrl-C, which reaches the whole foreground process group); its failure message is on stderr,
/// so the error here only gives the status (the table function's name is added where it is reported).
pub fn run(request: &Request, stop: &Stop, progress: &Progress) -> Result<Ended> {
    let worker = binary()?;
    check_protocol(&worker)?;
    let mut command = Command::new(&worker);
    // libgomp's threads spin at every barrier unless told otherwise. Where workers share cores
    // (Slurm tasks on one node, two statements at once) the spinning threads take the cores
    // from the working ones and training gets many times slower; sleeping threads cost little
    // when a worker has the cores to itself. A value the user set is kept.
    if std::env::var_os("OMP_WAIT_POLICY").is_none() {
        command.env("OMP_WAIT_POLICY", "PASSIVE");
    }
    let mut child = command
        .arg("json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start robbench-worker")?;
    // The worker reports progress as lines on its stdout (the requests robbench builds ask for
    // that); they go to the session's sink, anything else the worker prints to robbench's stdout.
    let out = child.stdout.take().expect("stdout is piped");
    let sink = progress.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            match progress::decode(&line) {
                Some(update) => sink.update(&update),
                None => println!("{line}"),
            }
        }
    });
    let json = serde_json::to_vec(&Message::new(request.clone()))?;
    let sent = child.stdin.take().expect("stdin is piped").write_all(&json);
    let mut told = false;
    let status = loop {
        if let Some(status) = child.try_wait().context("cannot wait for robbench-worker")? {
            break status;
        }
        // For the case where the signal reached robbench alone (a signal to its process, a
        // KeyboardInterrupt in Python).
        if stop.requested() && !told {
            // The worker handles SIGTERM as a stop at its next step; a second signal would not
            // make it faster, so it is sent once.
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            told = true;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = reader.join();
    match status.code() {
        Some(0) => {
            sent.context("cannot send robbench-worker its request")?;
            Ok(Ended::Done)
        }
        Some(EXIT_STOPPED) => Ok(Ended::Stopped),
        _ => bail!("robbench-worker failed ({status}); see the message above"),
    }
}

/// Reads an answer the worker wrote (atomically) as JSON.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("no result in {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a robbench-worker answer", path.display()))
}
