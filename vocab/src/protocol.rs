//! A training protocol: every setting the `runs` table records, the paper's values
//! (NAS-RobBench-201: PGD-7 adversarial training, eps 8/255, step 2/255, SGD momentum 0.9,
//! weight decay 5e-4, one-cycle to 0.1, batch 256, 50 epochs) as the default, one validation,
//! and the name that makes equal settings give equal run ids.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use sha2::Digest;

named_enum! {
    /// How training perturbs its batches.
    pub enum TrainAttack ("train_attack") {
        /// PGD with the protocol's eps, step and steps (the paper's).
        Pgd = "pgd",
        /// Standard training on clean images.
        None = "none",
    }
}

named_enum! {
    /// The arithmetic (precision) of a network's forward and backward passes. Weights,
    /// optimiser state and BatchNorm statistics stay fp32 either way; bf16 computes convolutions
    /// and the classifier in bfloat16, as PyTorch's autocast does. (SQL spells the option
    /// `dtype`: `precision` is a keyword of DuckDB's grammar and cannot name an argument.)
    #[derive(Default)]
    pub enum Dtype ("dtype") {
        /// fp32 throughout (the paper's).
        #[default]
        Fp32 = "fp32",
        /// bfloat16 convolutions and classifier, fp32 weights and loss.
        Bf16 = "bf16",
    }
}

fn paper_beta() -> f64 {
    Protocol::PAPER.train_beta
}

/// As command-line flags (the worker's), each setting defaults to the paper's value.
#[derive(clap::Args, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    #[arg(long, default_value_t = Protocol::PAPER.epochs)]
    pub epochs: usize,
    #[arg(long, default_value_t = Protocol::PAPER.batch_size)]
    pub batch_size: usize,
    #[arg(long, default_value_t = Protocol::PAPER.lr_max)]
    pub lr_max: f64,
    #[arg(long, default_value_t = Protocol::PAPER.momentum)]
    pub momentum: f64,
    #[arg(long, default_value_t = Protocol::PAPER.weight_decay)]
    pub weight_decay: f64,
    #[arg(long, default_value_t = Protocol::PAPER.train_attack, value_parser = TrainAttack::parse_arg)]
    pub train_attack: TrainAttack,
    #[arg(long, default_value_t = Protocol::PAPER.train_eps)]
    pub train_eps: f64,
    #[arg(long, default_value_t = Protocol::PAPER.train_alpha)]
    pub train_alpha: f64,
    #[arg(long, default_value_t = Protocol::PAPER.train_steps)]
    pub train_steps: usize,
    /// Use only the first n training images (None: the whole split).
    #[arg(long)]
    pub n_train: Option<usize>,
    /// The weight of the adversarial batch in the loss (the paper's Algorithm 1):
    /// (1 - beta) CE(clean) + beta CE(adversarial); 1 trains on the adversarial batch only.
    #[arg(long, default_value_t = Protocol::PAPER.train_beta)]
    #[serde(default = "paper_beta")]
    pub train_beta: f64,
    #[arg(long, default_value_t = Dtype::Fp32, value_parser = Dtype::parse_arg)]
    #[serde(default)]
    pub dtype: Dtype,
}

impl Protocol {
    /// The name of the paper's protocol in `runs.protocol` and run ids.
    pub const PAPER_NAME: &'static str = "nasrobbench201";

    /// The paper's protocol.
    pub const PAPER: Protocol = Protocol {
        epochs: 50,
        batch_size: 256,
        lr_max: 0.1,
        momentum: 0.9,
        weight_decay: 5e-4,
        train_attack: TrainAttack::Pgd,
        train_eps: 8.0 / 255.0,
        train_alpha: 2.0 / 255.0,
        train_steps: 7,
        n_train: None,
        train_beta: 1.0,
        dtype: Dtype::Fp32,
    };

    pub fn paper() -> Protocol {
        Protocol::PAPER
    }

    /// The paper's name when every setting is the paper's, else `custom-` and a hash of the
    /// settings; either followed by `-bf16` when the arithmetic is bfloat16. The key's format is
    /// frozen (run ids already recorded depend on it): settings added later enter it only when
    /// they differ from the paper's, so earlier names stay what they were.
    pub fn name(&self) -> String {
        let suffix = match self.dtype {
            Dtype::Fp32 => String::new(),
            p => format!("-{p}"),
        };
        let fp32 = Protocol { dtype: Dtype::Fp32, ..self.clone() };
        if fp32 == Protocol::paper() {
            return format!("{}{suffix}", Protocol::PAPER_NAME);
        }
        let mut key = format!(
            "{}|{}|{:e}|{:e}|{:e}|{}|{:e}|{:e}|{}|{:?}",
            self.epochs,
            self.batch_size,
            self.lr_max,
            self.momentum,
            self.weight_decay,
            self.train_attack,
            self.train_eps,
            self.train_alpha,
            self.train_steps,
            self.n_train
        );
        if self.train_beta != Protocol::PAPER.train_beta {
            key.push_str(&format!("|beta={:e}", self.train_beta));
        }
        let h = sha2::Sha256::digest(key.as_bytes());
        format!("custom-{:02x}{:02x}{:02x}{:02x}{suffix}", h[0], h[1], h[2], h[3])
    }

    /// The one set of rules for a protocol, checked by `train` before anything runs and by the
    /// worker on what it was sent.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [("epochs", self.epochs), ("batch_size", self.batch_size)] {
            if v == 0 {
                bail!("{name} must be positive");
            }
        }
        if self.n_train == Some(0) {
            bail!("n_train must be positive");
        }
        let reals = [
            ("lr_max", self.lr_max),
            ("momentum", self.momentum),
            ("weight_decay", self.weight_decay),
            ("train_eps", self.train_eps),
            ("train_alpha", self.train_alpha),
        ];
        for (name, v) in reals {
            if !v.is_finite() || v < 0.0 {
                bail!("{name} must be a finite non-negative number, got {v}");
            }
        }
        if !(0.0..=1.0).contains(&self.train_beta) {
            bail!("train_beta must be between 0 and 1, got {}", self.train_beta);
        }
        if self.train_beta != 1.0 && self.train_attack != TrainAttack::Pgd {
            bail!("train_beta weighs the adversarial batch, so it needs train_attack 'pgd'");
        }
        if self.momentum >= 1.0 {
            bail!("momentum must be below 1, got {}", self.momentum);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paper_is_named_and_other_settings_are_hashed() {
        assert_eq!(Protocol::paper().name(), "nasrobbench201");
        let short = Protocol { epochs: 4, ..Protocol::paper() };
        let name = short.name();
        assert!(name.starts_with("custom-") && name.len() == "custom-".len() + 8, "{name}");
        assert_eq!(name, Protocol { epochs: 4, ..Protocol::paper() }.name());
        assert_ne!(name, Protocol { epochs: 5, ..Protocol::paper() }.name());
    }

    #[test]
    fn the_hash_key_is_frozen() {
        // The key the recorded ids were made from, spelled out independently of `name`.
        let p = Protocol { epochs: 4, n_train: Some(1000), ..Protocol::paper() };
        let key = format!(
            "4|256|1e-1|9e-1|5e-4|pgd|{:e}|{:e}|7|Some(1000)",
            8.0f64 / 255.0,
            2.0f64 / 255.0
        );
        let h = sha2::Sha256::digest(key.as_bytes());
        assert_eq!(p.name(), format!("custom-{:02x}{:02x}{:02x}{:02x}", h[0], h[1], h[2], h[3]));
    }

    #[test]
    fn later_settings_name_only_when_they_differ() {
        let bf16 = Protocol { dtype: Dtype::Bf16, ..Protocol::paper() };
        assert_eq!(bf16.name(), "nasrobbench201-bf16");
        let short = Protocol { epochs: 4, n_train: Some(1000), ..Protocol::paper() };
        let short_bf16 = Protocol { dtype: Dtype::Bf16, ..short.clone() };
        assert_eq!(short_bf16.name(), format!("{}-bf16", short.name()));
        let key = format!(
            "4|256|1e-1|9e-1|5e-4|pgd|{:e}|{:e}|7|Some(1000)|beta=5e-1",
            8.0f64 / 255.0,
            2.0f64 / 255.0
        );
        let h = sha2::Sha256::digest(key.as_bytes());
        let half = Protocol { train_beta: 0.5, ..short.clone() };
        assert_eq!(half.name(), format!("custom-{:02x}{:02x}{:02x}{:02x}", h[0], h[1], h[2], h[3]));
        assert!(Protocol { train_beta: 0.5, ..Protocol::paper() }.name().starts_with("custom-"));
        // A request from before these settings existed still reads, as the paper's values.
        let mut json = serde_json::to_value(Protocol::paper()).unwrap();
        json.as_object_mut().unwrap().remove("train_beta");
        json.as_object_mut().unwrap().remove("dtype");
        assert_eq!(serde_json::from_value::<Protocol>(json).unwrap(), Protocol::paper());
    }

    #[test]
    fn validation_names_the_setting() {
        assert!(Protocol::paper().validate().is_ok());
        let bad = |p: Protocol, what: &str| {
            let e = p.validate().unwrap_err().to_string();
            assert!(e.contains(what), "{e}");
        };
        bad(Protocol { epochs: 0, ..Protocol::paper() }, "epochs");
        bad(Protocol { momentum: 1.0, ..Protocol::paper() }, "momentum");
        bad(Protocol { lr_max: f64::NAN, ..Protocol::paper() }, "lr_max");
        bad(Protocol { train_eps: -1.0, ..Protocol::paper() }, "train_eps");
        bad(Protocol { n_train: Some(0), ..Protocol::paper() }, "n_train");
        bad(Protocol { train_beta: 1.5, ..Protocol::paper() }, "train_beta");
        bad(Protocol { train_beta: f64::NAN, ..Protocol::paper() }, "train_beta");
        let standard = Protocol { train_attack: TrainAttack::None, ..Protocol::paper() };
        bad(Protocol { train_beta: 0.5, ..standard }, "train_attack");
    }
}
