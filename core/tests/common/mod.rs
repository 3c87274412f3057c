//! Shared by the core tests and benches (benches include it by path).
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use robbench_core::checkpoint;
use robbench_core::data::{self, Dataset};
use robbench_core::space::Space;
use robbench_core::train::{self, Protocol, RunSpec, TrainSpec};
use tch::{Device, Kind, Tensor};

/// A digits network of architecture `arch` after six epochs of standard training (seconds, and
/// accuracies then mean something), and the first `n` evaluation images. `dir` receives the
/// training's files and, for the Python references, a job folder: arch.txt (cell string,
/// classes, mean, std), weights.safetensors and eval.safetensors (x, y).
pub fn trained_digits(dir: &Path, arch: i64, n: i64) -> (train::Trained, Tensor, Tensor) {
    let cell = Space::get().cell(arch).unwrap();
    let protocol = Protocol {
        epochs: 6,
        train_attack: robbench_core::train::TrainAttack::None,
        ..Protocol::paper()
    };
    let train_split = data::load(Dataset::Digits, None, true).unwrap();
    let spec = TrainSpec {
        cell,
        protocol: &protocol,
        device: Device::Cpu,
        runs: vec![RunSpec { dataset: Dataset::Digits, seed: 1, train: &train_split, dir }],
        stop: Default::default(),
    };
    let t = train::train(&spec, |_| {}).unwrap().unwrap().pop().unwrap();
    let eval = data::load(Dataset::Digits, None, false).unwrap();
    let (x, y) = eval.range(0, n.min(eval.len()), Device::Cpu);
    checkpoint::save(&t.vs, &dir.join("weights.safetensors"), 0).unwrap();
    Tensor::write_safetensors(
        &[("x", &x), ("y", &y.to_kind(Kind::Int64))],
        dir.join("eval.safetensors"),
    )
    .unwrap();
    let norm = Dataset::Digits.normalization();
    let join = |v: [f64; 3]| v.map(|x| format!("{x:.17}")).join(",");
    std::fs::write(
        dir.join("arch.txt"),
        format!("{cell}\n10\n{}\n{}\n", join(norm.mean), join(norm.std)),
    )
    .unwrap();
    (t, x, y)
}

/// Runs `tests/python/<script>` with the reference venv's Python and returns what it printed; a
/// failing script fails the caller with its stderr.
pub fn python<A: AsRef<OsStr>>(script: &str, args: impl IntoIterator<Item = A>) -> String {
    let out = reference(script, args).output().unwrap();
    assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn reference<A: AsRef<OsStr>>(script: &str, args: impl IntoIterator<Item = A>) -> Command {
    let py = std::env::var("ROBBENCH_PYTHON")
        .expect("ROBBENCH_PYTHON is not set: run through `make test` or `make bench`");
    let mut command = Command::new(py);
    command.arg(format!("{}/../tests/python/{script}", env!("CARGO_MANIFEST_DIR"))).args(args);
    command
}

/// A reference script running in its own process while the test computes robbench's side of
/// the same inputs. It gets one thread: the references work on batches of a few dozen images,
/// where a second thread gains little, and the test's own side keeps the other core busy.
pub struct Reference {
    script: String,
    /// None once its output was taken.
    child: Option<Child>,
}

impl Reference {
    pub fn spawn<A: AsRef<OsStr>>(script: &str, args: impl IntoIterator<Item = A>) -> Self {
        let child = reference(script, args)
            .env("OMP_NUM_THREADS", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{script}: cannot start the reference Python: {e}"));
        Self { script: script.to_string(), child: Some(child) }
    }

    /// What the script printed, once it has finished; a failing script fails the caller with
    /// its stderr.
    pub fn output(mut self) -> String {
        let out = self.child.take().unwrap().wait_with_output().unwrap();
        assert!(out.status.success(), "{}: {}", self.script, String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

/// A test that fails before it reads the reference stops it rather than leave it running.
impl Drop for Reference {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
