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

/// As command-line flags (the worker's), each setting defaults to the paper's value.
#[derive(clap::Args, Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    };

    pub fn paper() -> Protocol {
        Protocol::PAPER
    }

    /// The paper's name when every setting is the paper's, else `custom-` and a hash of the
    /// settings. The key's format is frozen: run ids already recorded depend on it.
    pub fn name(&self) -> String {
        if *self == Protocol::paper() {
            return Protocol::PAPER_NAME.into();
        }
        let key = format!(
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
        let h = sha2::Sha256::digest(key.as_bytes());
        format!("custom-{:02x}{:02x}{:02x}{:02x}", h[0], h[1], h[2], h[3])
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
    }
}
