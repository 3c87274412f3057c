//! The accuracy columns of `metrics` (SPEC section 4), each named after the attack that fills it
//! and its radius in 255ths.

named_enum! {
    /// An accuracy column of `metrics`, in the table's column order.
    pub enum Attack ("attack") {
        Clean = "clean",
        Fgsm3 = "fgsm3",
        Fgsm8 = "fgsm8",
        Pgd3 = "pgd3",
        Pgd8 = "pgd8",
        Apgd3 = "apgd3",
        Apgd8 = "apgd8",
        Aa3 = "aa3",
        Aa8 = "aa8",
        Square3 = "square3",
        Square8 = "square8",
        Pgd16 = "pgd16",
        Pgd32 = "pgd32",
        Pgd64 = "pgd64",
        Pgd128 = "pgd128",
        Pgd255 = "pgd255",
    }
}

/// The attack behind a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttackKind {
    /// No attack: the images as they are.
    Clean,
    Fgsm,
    /// PGD-20, step 2.5 eps / 20, random start.
    Pgd,
    /// APGD-CE, 20 steps (as the paper).
    Apgd,
    /// AutoAttack standard: APGD-CE, APGD-T, FAB-T, Square, per-image worst case.
    AutoAttack,
    /// Square, 5,000 queries.
    Square,
}

impl Attack {
    /// What `train` and `evaluate` measure unless told otherwise: the paper's cheap columns.
    pub const DEFAULT: &'static [Attack] =
        &[Attack::Clean, Attack::Fgsm3, Attack::Fgsm8, Attack::Pgd3, Attack::Pgd8];

    pub fn kind(self) -> AttackKind {
        let name = self.name();
        match name.trim_end_matches(|c: char| c.is_ascii_digit()) {
            "clean" => AttackKind::Clean,
            "fgsm" => AttackKind::Fgsm,
            "pgd" => AttackKind::Pgd,
            "apgd" => AttackKind::Apgd,
            "aa" => AttackKind::AutoAttack,
            "square" => AttackKind::Square,
            other => unreachable!("attack column '{name}' has no attack '{other}'"),
        }
    }

    /// The L-inf radius in [0, 1] image units: the column's number over 255 (0 for clean).
    pub fn eps(self) -> f64 {
        let digits = self.name().trim_start_matches(|c: char| c.is_ascii_alphabetic());
        digits.parse::<f64>().map_or(0.0, |r| r / 255.0)
    }

    /// Parses a call's list of columns: known names, at least one.
    pub fn parse_list<S: AsRef<str>>(names: &[S]) -> anyhow::Result<Vec<Attack>> {
        if names.is_empty() {
            let all = crate::names(Attack::ALL, Attack::name);
            anyhow::bail!("attacks is empty (metrics columns: {all})");
        }
        names.iter().map(|n| Attack::parse(n.as_ref())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every accuracy column of `metrics` is an attack the suite fills, and nothing else is.
    #[test]
    fn attacks_are_the_metrics_accuracy_columns() {
        let ddl = include_str!("../../schema/tables.sql");
        let metrics = &ddl[ddl.find("CREATE TABLE metrics").unwrap()..];
        let metrics = &metrics[..metrics.find(");").unwrap()];
        let columns: Vec<&str> = metrics
            .lines()
            .filter(|l| l.contains(" DOUBLE CHECK"))
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        let names: Vec<&str> = Attack::ALL.iter().map(|a| a.name()).collect();
        assert_eq!(columns, names);
    }

    #[test]
    fn kinds_and_radii_follow_the_names() {
        assert_eq!(Attack::Clean.kind(), AttackKind::Clean);
        assert_eq!(Attack::Clean.eps(), 0.0);
        assert_eq!(Attack::Aa8.kind(), AttackKind::AutoAttack);
        assert_eq!(Attack::Aa8.eps(), 8.0 / 255.0);
        assert_eq!(Attack::Apgd3.kind(), AttackKind::Apgd);
        assert_eq!(Attack::Pgd255.eps(), 1.0);
        assert_eq!(Attack::Square3.kind(), AttackKind::Square);
        for &a in Attack::ALL {
            let _ = a.kind();
            assert!((0.0..=1.0).contains(&a.eps()));
        }
    }

    #[test]
    fn lists_refuse_unknown_and_empty() {
        assert_eq!(Attack::parse_list(&["pgd8", "clean"]).unwrap(), [Attack::Pgd8, Attack::Clean]);
        assert!(Attack::parse_list::<&str>(&[]).unwrap_err().to_string().contains("empty"));
        assert!(Attack::parse_list(&["pgd9"]).unwrap_err().to_string().contains("'pgd9'"));
    }
}
