//! AutoAttack's sanity checks fire on the networks they are meant to catch, and only there:
//! a randomised forward pass, probabilities instead of logits, zero input gradients, and Square
//! (black-box) succeeding where the white-box attacks failed.

mod common;

use std::cell::Cell;

use common::trained_digits;
use robbench_core::attack::{self, AutoAttack};
use robbench_core::model::Network;
use tch::nn::ModuleT;
use tch::{Kind, Tensor};

/// The trained network as itself or altered the way the checks are meant to catch (tch's
/// modules must be Send, so one owner switches modes rather than several borrowing it).
#[derive(Debug)]
struct Altered {
    net: Network,
    mode: Cell<Mode>,
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Plain,
    /// Logits plus fresh noise at every call (a randomised defence).
    Noisy,
    /// Softmax probabilities instead of logits.
    Probabilities,
    /// Inputs rounded to the digits set's 17 grey levels: the same predictions on digits
    /// images, but the rounding has a zero gradient everywhere (gradient masking).
    Quantised,
}

impl ModuleT for Altered {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        match self.mode.get() {
            Mode::Plain => self.net.forward_t(x, train),
            Mode::Noisy => {
                let o = self.net.forward_t(x, train);
                &o + o.randn_like() * 0.5
            }
            Mode::Probabilities => self.net.forward_t(x, train).softmax(-1, Kind::Float),
            Mode::Quantised => self.net.forward_t(&((x * 16.0).round() / 16.0), train),
        }
    }
}

#[test]
#[ignore = "full tier (make test): trains digits networks"]
fn each_check_fires_on_its_network_and_none_on_a_plain_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (t, x, y) = trained_digits(tmp.path(), 3457, i64::MAX);
    let net = Altered { net: t.net, mode: Cell::new(Mode::Plain) };
    let checks = |mode| {
        net.mode.set(mode);
        attack::autoattack::checks(&net, &x, &y)
    };
    assert!(checks(Mode::Plain).is_empty(), "a plain network passed to the checks warns");
    let w = checks(Mode::Noisy);
    assert!(w.len() == 1 && w[0].contains("randomised"), "{w:?}");
    let w = checks(Mode::Probabilities);
    assert!(w.iter().any(|m| m.contains("probabilities")), "{w:?}");
    let w = checks(Mode::Quantised);
    assert!(
        w.len() == 1
            && w[0].contains(&format!(
                "{} of {} images have an exactly zero loss gradient",
                x.size()[0],
                x.size()[0]
            )),
        "{w:?}"
    );

    // With masked gradients the white-box attacks find nothing and Square does: the standard
    // composition warns (fewer iterations and queries than standard, to keep the test short).
    let quick = AutoAttack {
        apgd_steps: 10,
        fab_steps: 10,
        square_queries: 300,
        ..AutoAttack::standard(8.0 / 255.0)
    };
    let o = quick.run(&net, &x, &y);
    eprintln!("quantised network, AutoAttack stages {:?}, warnings {:?}", o.stages, o.warnings);
    let white_box = o.stages[o.stages.len() - 2].1;
    assert!(
        o.robust.to_kind(Kind::Int64).sum(Kind::Int64).int64_value(&[]) < white_box,
        "Square found nothing more: {:?}",
        o.stages
    );
    assert!(o.warnings.iter().any(|m| m.contains("zero loss gradient")), "{:?}", o.warnings);
    assert!(
        o.warnings.iter().any(|m| m.starts_with("Square (black-box) fooled")),
        "{:?}",
        o.warnings
    );

    net.mode.set(Mode::Plain);
    let o = quick.run(&net, &x, &y);
    assert!(o.warnings.is_empty(), "the plain network: {:?} ({:?})", o.warnings, o.stages);
}
