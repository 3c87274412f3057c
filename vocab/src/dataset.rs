//! The data sets of SPEC section 6: what the trainer needs to build a network and read a split,
//! and what the SQL side needs to check a call, in one table.

named_enum! {
    pub enum Dataset ("dataset") {
        Cifar10 = "cifar10",
        Cifar100 = "cifar100",
        ImageNet16 = "imagenet16-120",
        Digits = "digits",
    }
}

/// Per-channel input normalisation of a data set (images in [0, 1]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Normalization {
    pub mean: [f64; 3],
    pub std: [f64; 3],
}

impl Dataset {
    pub fn num_classes(self) -> i64 {
        match self {
            Dataset::Cifar10 | Dataset::Digits => 10,
            Dataset::Cifar100 => 100,
            Dataset::ImageNet16 => 120,
        }
    }

    /// Image side in pixels (images are 3 x side x side).
    pub fn resolution(self) -> i64 {
        match self {
            Dataset::Cifar10 | Dataset::Cifar100 => 32,
            Dataset::ImageNet16 => 16,
            Dataset::Digits => 8,
        }
    }

    pub fn normalization(self) -> Normalization {
        let div = |m: [f64; 3], s: [f64; 3]| Normalization {
            mean: m.map(|x| x / 255.0),
            std: s.map(|x| x / 255.0),
        };
        match self {
            Dataset::Cifar10 => div([125.3, 123.0, 113.9], [63.0, 62.1, 66.7]),
            Dataset::Cifar100 => div([129.3, 124.1, 112.4], [68.2, 65.4, 70.4]),
            Dataset::ImageNet16 => div([122.68, 116.66, 104.01], [63.22, 61.26, 65.09]),
            Dataset::Digits => Normalization { mean: [0.306; 3], std: [0.376; 3] },
        }
    }

    /// Zero padding of the training random crop.
    pub fn crop_padding(self) -> i64 {
        match self {
            Dataset::Cifar10 | Dataset::Cifar100 => 4,
            Dataset::ImageNet16 => 2,
            Dataset::Digits => 1,
        }
    }

    /// Whether training flips images horizontally (not digits: a flipped digit is another one).
    pub fn flips(self) -> bool {
        self != Dataset::Digits
    }

    /// Images in the training split.
    pub fn train_size(self) -> i64 {
        match self {
            Dataset::Cifar10 | Dataset::Cifar100 => 50_000,
            Dataset::ImageNet16 => 151_700,
            Dataset::Digits => 1_438,
        }
    }

    /// Images in the evaluation split ('test'; ImageNet16-120's 'val').
    pub fn eval_size(self) -> i64 {
        match self {
            Dataset::Cifar10 | Dataset::Cifar100 => 10_000,
            Dataset::ImageNet16 => 6_000,
            Dataset::Digits => 359,
        }
    }

    /// Whether CIFAR-10-C / CIFAR-100-C exist for this data set.
    pub fn has_corruptions(self) -> bool {
        matches!(self, Dataset::Cifar10 | Dataset::Cifar100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_errors_list_the_names() {
        for &d in Dataset::ALL {
            assert_eq!(Dataset::parse(d.name()).unwrap(), d);
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(json, format!("\"{}\"", d.name()));
            assert_eq!(serde_json::from_str::<Dataset>(&json).unwrap(), d);
        }
        let e = Dataset::parse("mnist").unwrap_err().to_string();
        assert!(e.contains("'mnist'") && e.contains("imagenet16-120"), "{e}");
        assert!(serde_json::from_str::<Dataset>("\"mnist\"").is_err());
    }

    #[test]
    fn digits_sizes_follow_the_spec_rule() {
        // Row i of the 1,797-row file is an evaluation image when i % 5 == 4.
        let eval = (0..1797).filter(|i| i % 5 == 4).count() as i64;
        assert_eq!(Dataset::Digits.eval_size(), eval);
        assert_eq!(Dataset::Digits.train_size(), 1797 - eval);
    }
}
