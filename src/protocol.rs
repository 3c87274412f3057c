//! Training protocols as the `runs` table records them: every setting its own column, and the
//! paper's (NAS-RobBench-201: PGD-7 adversarial training, eps 8/255, step 2/255, SGD momentum
//! 0.9, weight decay 5e-4, one-cycle to 0.1, batch 256, 50 epochs) named `nasrobbench201`.

use crate::store::rows::Row;

#[derive(Clone, Debug, PartialEq)]
pub struct Protocol {
    pub name: String,
    pub epochs: i64,
    pub batch_size: i64,
    pub lr_max: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    pub train_attack: String,
    pub train_eps: f64,
    pub train_alpha: f64,
    pub train_steps: i64,
    /// Training images used; None for the whole training split.
    pub n_train: Option<i64>,
}

impl Protocol {
    pub fn paper() -> Protocol {
        Protocol {
            name: "nasrobbench201".into(),
            epochs: 50,
            batch_size: 256,
            lr_max: 0.1,
            momentum: 0.9,
            weight_decay: 5e-4,
            train_attack: "pgd".into(),
            train_eps: 8.0 / 255.0,
            train_alpha: 2.0 / 255.0,
            train_steps: 7,
            n_train: None,
        }
    }

    /// The paper's name when every setting is the paper's, else a name derived from the
    /// settings, so equal settings give equal run ids.
    pub fn named(mut self) -> Protocol {
        let paper = Protocol::paper();
        self.name = paper.name.clone();
        if self != paper {
            use sha2::Digest;
            let key = format!(
                "{}|{}|{:e}|{:e}|{:e}|{}|{:e}|{:e}|{}|{:?}",
                self.epochs, self.batch_size, self.lr_max, self.momentum, self.weight_decay, self.train_attack, self.train_eps, self.train_alpha, self.train_steps, self.n_train
            );
            let h = sha2::Sha256::digest(key.as_bytes());
            self.name = format!("custom-{:02x}{:02x}{:02x}{:02x}", h[0], h[1], h[2], h[3]);
        }
        self
    }

    /// The protocol's columns of a `runs` row.
    pub fn row(&self) -> Row {
        Row::new()
            .set("protocol", self.name.clone())
            .set("epochs", self.epochs)
            .set("batch_size", self.batch_size)
            .set("lr_max", self.lr_max)
            .set("momentum", self.momentum)
            .set("weight_decay", self.weight_decay)
            .set("train_attack", self.train_attack.clone())
            .set("train_eps", self.train_eps)
            .set("train_alpha", self.train_alpha)
            .set("train_steps", self.train_steps)
            .set("n_train", self.n_train)
    }
}
