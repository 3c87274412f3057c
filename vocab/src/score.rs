//! Training-free score names (SPEC section 5) and what each needs as input.

named_enum! {
    pub enum Score ("score") {
        NtkClean = "ntk_clean",
        NtkRobust = "ntk_robust",
        NtkTwice = "ntk_twice",
        NtkMixed = "ntk_mixed",
        NtkMixedTwice = "ntk_mixed_twice",
        NtkCond = "ntk_cond",
        Knas = "knas",
        Synflow = "synflow",
        Snip = "snip",
        GradNorm = "grad_norm",
        Grasp = "grasp",
        Fisher = "fisher",
        Jacov = "jacov",
        Nwot = "nwot",
        Plain = "plain",
        L2Norm = "l2_norm",
        Params = "params",
        Flops = "flops",
    }
}

named_enum! {
    /// The attack that makes a score's "robust inputs".
    pub enum ScoreAttack ("attack for scores") {
        Fgsm = "fgsm",
        /// PGD-7, step eps/4, uniform random start: the paper's training attack.
        Pgd = "pgd",
    }
}

/// How a score's input batch relates to the attack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScoreInputs {
    /// No images at all (synflow, l2_norm, params, flops).
    None,
    /// The clean batch only (ntk_clean).
    Clean,
    /// Defined through the attack (the robust NTK family): eps defaults to 8/255.
    Attacked,
    /// The batch, perturbed by the attack when eps > 0 (the rest): eps defaults to 0.
    Optional,
}

impl Score {
    /// The radius of the robust NTK family when a call names none.
    pub const DEFAULT_EPS: f64 = 8.0 / 255.0;

    pub fn inputs(self) -> ScoreInputs {
        use Score::*;
        match self {
            Synflow | L2Norm | Params | Flops => ScoreInputs::None,
            NtkClean => ScoreInputs::Clean,
            NtkRobust | NtkTwice | NtkMixed | NtkMixedTwice => ScoreInputs::Attacked,
            _ => ScoreInputs::Optional,
        }
    }

    pub fn uses_beta(self) -> bool {
        matches!(self, Score::NtkMixed | Score::NtkMixedTwice)
    }

    /// The radius actually used for `eps` as asked, or None where the inputs are not attacked.
    pub fn effective_eps(self, eps: Option<f64>) -> Option<f64> {
        match self.inputs() {
            ScoreInputs::None | ScoreInputs::Clean => None,
            ScoreInputs::Attacked => Some(eps.unwrap_or(Score::DEFAULT_EPS)),
            ScoreInputs::Optional => eps.filter(|&e| e > 0.0),
        }
    }
}
