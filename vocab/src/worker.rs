//! The protocol between `robbench` (the database, no libtorch) and `robbench-worker` (libtorch,
//! no database): one request per worker process, and the files it answers in.
//!
//! robbench sends a [`Request`] as JSON on the worker's standard input (`robbench-worker json`);
//! a person can run the same request by hand with the subcommand's flags (`robbench-worker train
//! --arch 2581 --dataset digits ...`), since each request is also a clap argument struct. The
//! worker answers in files, written atomically: [`TrainResult`] as `result.json` in the run
//! folder, [`EvaluateResult`] and the [`CorruptionRow`] list at `--out`, and one [`ScoreLine`]
//! per architecture and score appended to `--out`. Exit status 0 is done, [`EXIT_STOPPED`] a stop
//! at a step boundary (Ctrl-C, SIGTERM) with the checkpoint kept, anything else a failure whose
//! message is on stderr.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Attack, Corruption, Dataset, DeviceSpec, Dtype, Protocol, Score, ScoreAttack};

/// The number in [`PROTOCOL`] and [`VERSION`], written once.
macro_rules! protocol_number {
    () => {
        3
    };
}

/// The version of this protocol. robbench and robbench-worker are built and deployed apart (a
/// GPU node runs a CUDA build), so each refuses to talk across versions rather than drop what the
/// other does not know: raise it with any change to a request or its meaning.
pub const PROTOCOL: u32 = protocol_number!();

/// `robbench-worker --version`: the crate version and the protocol, which robbench reads before
/// it starts a worker.
pub const VERSION: &str =
    concat!(env!("CARGO_PKG_VERSION"), " (worker protocol ", protocol_number!(), ")");

/// What robbench sends on the worker's standard input: a request and the protocol it is in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    pub protocol: u32,
    pub request: Request,
}

impl Message {
    pub fn new(request: Request) -> Message {
        Message { protocol: PROTOCOL, request }
    }

    /// Reads a message, refusing one of another protocol version (named, with what to rebuild)
    /// and any field this protocol does not define.
    pub fn decode(text: &str) -> anyhow::Result<Request> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("the request is not JSON: {e}"))?;
        match value.get("protocol").map(|p| p.as_u64()) {
            Some(Some(p)) if p == PROTOCOL as u64 => {}
            Some(Some(p)) => anyhow::bail!(
                "the request is in worker protocol {p} and this robbench-worker speaks protocol {PROTOCOL}: build robbench and robbench-worker from one clone (make build; make build-gpu for a CUDA node)"
            ),
            Some(None) => anyhow::bail!("the request's protocol is not a number: {}", value["protocol"]),
            None => anyhow::bail!(
                "the request names no worker protocol (robbench older than protocol {PROTOCOL} sent it): build robbench and robbench-worker from one clone (make build; make build-gpu for a CUDA node)"
            ),
        }
        let message: Message = serde_json::from_value(value).map_err(|e| {
            anyhow::anyhow!("the request is not valid in worker protocol {PROTOCOL}: {e}")
        })?;
        Ok(message.request)
    }
}

/// The protocol a `robbench-worker --version` line names, or None for a worker from before
/// protocol versions.
pub fn protocol_of_version(line: &str) -> Option<u32> {
    let rest = line.split("(worker protocol ").nth(1)?;
    rest.split(')').next()?.trim().parse().ok()
}

/// The worker's exit status when it stopped at a step boundary and kept its checkpoint.
pub const EXIT_STOPPED: i32 = 130;

/// Images evaluated per forward batch by the attacks.
pub const EVAL_BATCH: i64 = 500;

#[derive(clap::Subcommand, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// Train and evaluate one network (robbench's train())
    Train(TrainRequest),
    /// Attack a trained network from its checkpoint (robbench's evaluate())
    Evaluate(EvaluateRequest),
    /// Accuracy on CIFAR-10-C / CIFAR-100-C (robbench's evaluate_corruptions())
    Corruptions(CorruptionsRequest),
    /// Training-free scores (robbench's scores())
    Scores(ScoresRequest),
}

/// Where a worker runs and how many threads libtorch may use.
#[derive(clap::Args, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compute {
    #[arg(long, default_value_t = DeviceSpec::Auto, value_parser = DeviceSpec::parse_arg)]
    pub device: DeviceSpec,
    #[arg(long)]
    pub threads: Option<i32>,
    /// Report progress as JSON lines on stdout (what robbench reads and shows) instead of a bar
    /// on a terminal's stderr
    #[arg(long)]
    #[serde(default)]
    pub progress_lines: bool,
}

impl Compute {
    /// Where the request's long loops report how far they are.
    pub fn progress(&self) -> crate::progress::Progress {
        if self.progress_lines {
            crate::progress::Progress::lines()
        } else {
            crate::progress::Progress::terminal()
        }
    }
}

/// Runs of one architecture under one protocol, trained together (one fused network when there
/// are several) and each evaluated on its own: run i is (`dataset[i]`, `seed[i]`, `run_dir[i]`).
#[derive(clap::Args, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainRequest {
    #[arg(long)]
    pub arch: i64,
    /// Comma-separated, one per run or one for all (the runs' images must have one size)
    #[arg(long, value_delimiter = ',', required = true, value_parser = Dataset::parse_arg)]
    pub dataset: Vec<Dataset>,
    /// Comma-separated, one per run or one for all
    #[arg(long, value_delimiter = ',', default_values_t = [0])]
    pub seed: Vec<u64>,
    /// Folder of each run: checkpoints, weights and result.json (comma-separated, one per run)
    #[arg(long, value_delimiter = ',', required = true)]
    pub run_dir: Vec<PathBuf>,
    #[command(flatten)]
    pub protocol: Protocol,
    /// Train the runs as one fused network (default: on CUDA, where it is faster; on CPU it is
    /// not, and the results are the same either way)
    #[arg(long)]
    pub fuse: Option<bool>,
    /// Evaluate on the first N evaluation images (default: all)
    #[arg(long)]
    pub n_eval: Option<i64>,
    /// Comma-separated metrics columns
    #[arg(long, value_delimiter = ',', default_values_t = Attack::DEFAULT.to_vec(), value_parser = Attack::parse_arg)]
    pub attacks: Vec<Attack>,
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[command(flatten)]
    pub compute: Compute,
    /// Shown before the progress bar, e.g. "run 2/5 arch 2581"
    #[arg(long, default_value = "")]
    pub label: String,
}

impl TrainRequest {
    /// Each run's (dataset, seed, folder), or why the lists do not pair up. A data set or seed
    /// given once holds for every run.
    pub fn runs(&self) -> anyhow::Result<Vec<(Dataset, u64, &Path)>> {
        let n = self.run_dir.len();
        let fits = |len: usize| len == n || len == 1;
        if n == 0 || !fits(self.dataset.len()) || !fits(self.seed.len()) {
            anyhow::bail!(
                "a train request needs one data set and one seed per run folder (or one for all), got {} data sets, {} seeds and {} folders",
                self.dataset.len(),
                self.seed.len(),
                n
            );
        }
        let pick = |len: usize, i: usize| if len == 1 { 0 } else { i };
        Ok((0..n)
            .map(|i| {
                let d = self.dataset[pick(self.dataset.len(), i)];
                let s = self.seed[pick(self.seed.len(), i)];
                (d, s, self.run_dir[i].as_path())
            })
            .collect())
    }
}

#[derive(clap::Args, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    #[arg(long)]
    pub arch: i64,
    #[arg(long, value_parser = Dataset::parse_arg)]
    pub dataset: Dataset,
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Comma-separated metrics columns
    #[arg(long, value_delimiter = ',', default_values_t = Attack::DEFAULT.to_vec(), value_parser = Attack::parse_arg)]
    pub attacks: Vec<Attack>,
    #[arg(long)]
    pub n_eval: Option<i64>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The arithmetic of the network's passes
    #[arg(long, default_value_t = Dtype::Fp32, value_parser = Dtype::parse_arg)]
    #[serde(default)]
    pub dtype: Dtype,
    #[command(flatten)]
    pub compute: Compute,
    /// Where the EvaluateResult JSON goes
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(clap::Args, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorruptionsRequest {
    #[arg(long)]
    pub arch: i64,
    #[arg(long, value_parser = Dataset::parse_arg)]
    pub dataset: Dataset,
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// The CIFAR-10-C (or -100-C) folder
    #[arg(long)]
    pub data_dir: PathBuf,
    #[arg(long, value_delimiter = ',', required = true, value_parser = Corruption::parse_arg)]
    pub corruptions: Vec<Corruption>,
    #[arg(long, value_delimiter = ',', required = true)]
    pub severities: Vec<i64>,
    #[arg(long)]
    pub n_eval: Option<i64>,
    #[command(flatten)]
    pub compute: Compute,
    /// Where the list of CorruptionRow goes, as JSON
    #[arg(long)]
    pub out: PathBuf,
}

named_enum! {
    /// Where scores' images come from.
    pub enum ImageSource ("image source") {
        /// The evaluation split's images `batch_offset ..`.
        Test = "test",
        /// Gaussian images (normalised-space standard Gaussian, clamped to [0, 1]).
        Noise = "noise",
    }
}

#[derive(clap::Args, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoresRequest {
    /// Comma-separated architecture indices
    #[arg(long, value_delimiter = ',', required = true)]
    pub archs: Vec<i64>,
    #[arg(long, value_parser = Dataset::parse_arg)]
    pub dataset: Dataset,
    /// Comma-separated score names
    #[arg(long, value_delimiter = ',', required = true, value_parser = Score::parse_arg)]
    pub scores: Vec<Score>,
    #[arg(long, default_value_t = 64)]
    pub batch_size: i64,
    #[arg(long, default_value_t = 0)]
    pub batch_offset: i64,
    /// Attack radius (default: 8/255 for the robust NTK family, none for the rest)
    #[arg(long)]
    pub eps: Option<f64>,
    #[arg(long, default_value_t = ScoreAttack::Pgd, value_parser = ScoreAttack::parse_arg)]
    pub attack: ScoreAttack,
    #[arg(long, default_value_t = 0.5)]
    pub beta: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// BatchNorm in training mode (default: true at initialisation, false for a checkpoint)
    #[arg(long)]
    pub train_mode: Option<bool>,
    /// Weights to score instead of a fresh initialisation (one architecture)
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    #[arg(long, default_value_t = ImageSource::Test, value_parser = ImageSource::parse_arg)]
    pub source: ImageSource,
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The arithmetic of the network's passes
    #[arg(long, default_value_t = Dtype::Fp32, value_parser = Dtype::parse_arg)]
    #[serde(default)]
    pub dtype: Dtype,
    #[command(flatten)]
    pub compute: Compute,
    /// JSON lines file to append ScoreLines to
    #[arg(long)]
    pub out: PathBuf,
}

/// Accuracies under attack and the warnings of AutoAttack's sanity checks, per column.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub metrics: BTreeMap<Attack, f64>,
    /// Messages per attack, in the order they fired; an attack that ran without any has an
    /// empty list (so a cache tells "measured, no warnings" from "not measured").
    #[serde(default)]
    pub warnings: BTreeMap<Attack, Vec<String>>,
    /// Images evaluated.
    pub n_eval: Option<i64>,
}

impl Evaluation {
    /// The `metrics.warnings` text of `attacks`: 'attack: message' lines in column order, or
    /// None when there are none.
    pub fn warnings_text(&self, attacks: &[Attack]) -> Option<String> {
        let lines: Vec<String> = Attack::ALL
            .iter()
            .filter(|a| attacks.contains(a))
            .flat_map(|a| {
                self.warnings.get(a).into_iter().flatten().map(move |w| format!("{a}: {w}"))
            })
            .collect();
        (!lines.is_empty()).then(|| lines.join("\n"))
    }
}

/// One finished epoch; stored as the array [epoch, lr, train_loss, train_adv_acc, seconds].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "(usize, f64, f64, f64, f64)", into = "(usize, f64, f64, f64, f64)")]
pub struct EpochStats {
    pub epoch: usize,
    pub lr: f64,
    pub train_loss: f64,
    pub train_adv_acc: f64,
    pub seconds: f64,
}

impl From<(usize, f64, f64, f64, f64)> for EpochStats {
    fn from((epoch, lr, train_loss, train_adv_acc, seconds): (usize, f64, f64, f64, f64)) -> Self {
        EpochStats { epoch, lr, train_loss, train_adv_acc, seconds }
    }
}

impl From<EpochStats> for (usize, f64, f64, f64, f64) {
    fn from(e: EpochStats) -> Self {
        (e.epoch, e.lr, e.train_loss, e.train_adv_acc, e.seconds)
    }
}

/// `result.json` of a finished run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainResult {
    #[serde(flatten)]
    pub evaluation: Evaluation,
    /// The `n_eval` the request asked for (None: all), to tell whether a result answers a call.
    pub n_eval_requested: Option<i64>,
    pub n_train: i64,
    pub curves: Vec<EpochStats>,
    pub train_seconds: f64,
    pub eval_seconds: f64,
    pub device: String,
    /// Microseconds since the Unix epoch.
    pub started_at: i64,
    pub finished_at: i64,
    /// The final weights (safetensors).
    pub checkpoint: PathBuf,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvaluateResult {
    #[serde(flatten)]
    pub evaluation: Evaluation,
    pub eval_seconds: f64,
    pub device: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorruptionRow {
    pub corruption: Corruption,
    pub severity: i64,
    pub accuracy: f64,
    pub n_eval: i64,
}

/// One architecture's value of one score, with the configuration it was computed under.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreLine {
    pub arch: i64,
    pub score: Score,
    /// None where the value is not finite (a singular kernel).
    pub value: Option<f64>,
    pub eps: Option<f64>,
    pub attack: Option<ScoreAttack>,
    pub beta: Option<f64>,
    pub train_mode: bool,
    pub seconds: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(clap::Parser, Debug)]
    struct Cli {
        #[command(subcommand)]
        request: Request,
    }

    #[test]
    fn flags_default_to_the_paper_and_requests_survive_json() {
        let cli = Cli::try_parse_from([
            "w",
            "train",
            "--arch",
            "2581",
            "--dataset",
            "digits",
            "--run-dir",
            "r",
            "--epochs",
            "4",
        ])
        .unwrap();
        let Request::Train(t) = &cli.request else { panic!("{cli:?}") };
        assert_eq!(t.protocol, Protocol { epochs: 4, ..Protocol::paper() });
        assert_eq!(t.attacks, Attack::DEFAULT);
        assert_eq!(t.compute.device, DeviceSpec::Auto);
        let json = serde_json::to_string(&Message::new(cli.request.clone())).unwrap();
        assert_eq!(Message::decode(&json).unwrap(), cli.request);
        let e = Cli::try_parse_from([
            "w",
            "train",
            "--arch",
            "1",
            "--dataset",
            "mnist",
            "--run-dir",
            "r",
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("mnist"), "{e}");
    }

    #[test]
    fn messages_of_another_protocol_or_with_unknown_fields_are_refused() {
        let args = ["w", "scores", "--archs", "1", "--dataset", "digits", "--scores", "synflow"];
        let request = Cli::try_parse_from(args.iter().chain(&["--out", "o"])).unwrap().request;
        let mut value = serde_json::to_value(Message::new(request.clone())).unwrap();
        assert_eq!(Message::decode(&value.to_string()).unwrap(), request);

        // A field this protocol lacks, at any depth, is named rather than dropped.
        let mut extra = value.clone();
        extra["request"]["scores"]["precision"] = "bf16".into();
        let e = Message::decode(&extra.to_string()).unwrap_err().to_string();
        assert!(e.contains("unknown field `precision`"), "{e}");
        let mut nested = value.clone();
        nested["request"]["scores"]["compute"]["gpus"] = 2.into();
        let e = Message::decode(&nested.to_string()).unwrap_err().to_string();
        assert!(e.contains("unknown field `gpus`"), "{e}");

        value["protocol"] = (PROTOCOL + 1).into();
        let e = Message::decode(&value.to_string()).unwrap_err().to_string();
        assert!(
            e.contains(&format!("worker protocol {}", PROTOCOL + 1))
                && e.contains(&format!("speaks protocol {PROTOCOL}"))
                && e.contains("make build"),
            "{e}"
        );
        // What robbench sent before protocols had versions: the bare request.
        let bare = serde_json::to_string(&request).unwrap();
        let e = Message::decode(&bare).unwrap_err().to_string();
        assert!(e.contains("names no worker protocol"), "{e}");
    }

    #[test]
    fn the_version_line_names_the_protocol() {
        assert_eq!(protocol_of_version(&format!("robbench-worker {VERSION}\n")), Some(PROTOCOL));
        assert_eq!(protocol_of_version("robbench-worker 0.1.0\n"), None);
        assert_eq!(protocol_of_version("robbench-worker 0.2.0 (worker protocol 7)"), Some(7));
    }

    #[test]
    fn a_train_request_pairs_its_lists_and_says_when_they_do_not() {
        let parse = |args: &[&str]| {
            let mut all = vec!["w", "train", "--arch", "1"];
            all.extend(args);
            let Request::Train(t) = Cli::try_parse_from(all).unwrap().request else { panic!() };
            t
        };
        let t = parse(&["--dataset", "digits", "--seed", "0,1", "--run-dir", "a,b"]);
        let runs = t.runs().unwrap();
        assert_eq!(
            runs,
            [(Dataset::Digits, 0, Path::new("a")), (Dataset::Digits, 1, Path::new("b"))]
        );
        let t = parse(&["--dataset", "cifar10,cifar100", "--run-dir", "a,b"]);
        assert_eq!(t.runs().unwrap()[1], (Dataset::Cifar100, 0, Path::new("b")));
        let t = parse(&["--dataset", "digits", "--seed", "0,1,2", "--run-dir", "a,b"]);
        let e = t.runs().unwrap_err().to_string();
        assert!(e.contains("3 seeds and 2 folders"), "{e}");
    }

    #[test]
    fn results_read_the_files_earlier_versions_wrote() {
        let old = r#"{"metrics": {"clean": 0.5, "pgd8": 0.25}, "warnings": {"aa8": ["x"]},
            "n_eval": 32, "n_eval_requested": 32, "n_train": 100,
            "curves": [[0, 0.1, 2.0, 0.3, 1.5]], "train_seconds": 1.0, "eval_seconds": 2.0,
            "device": "cpu", "started_at": 1, "finished_at": 2, "checkpoint": "/b/w.safetensors"}"#;
        let r: TrainResult = serde_json::from_str(old).unwrap();
        assert_eq!(r.evaluation.metrics[&Attack::Pgd8], 0.25);
        assert_eq!(r.curves[0].train_loss, 2.0);
        assert_eq!(
            r.evaluation.warnings_text(&[Attack::Aa8, Attack::Clean]).as_deref(),
            Some("aa8: x")
        );
        assert_eq!(r.evaluation.warnings_text(&[Attack::Clean]), None);
    }
}
