//! The trainer's schedule and the attacks against PyTorch and torchattacks.

mod common;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use common::{trained_digits, Reference};
use robbench_core::attack::{self, Pgd};
use robbench_core::train::{one_cycle, Trained};
use tch::{Kind, Tensor};

/// libtorch's random generator is one per process and the attacks and the trainer reseed and
/// draw from it, so tests that train or attack run one at a time (the test harness runs tests
/// on parallel threads of one process); the reference draws alone in its own process, started
/// as soon as the network is trained so that it runs beside robbench's side (and beside the
/// other test once this one lets the generator go).
static GENERATOR: Mutex<()> = Mutex::new(());

/// Trains the test's network with the generator held and starts the torchattacks reference on
/// it, one process per mode; robbench's side then runs on one thread beside them.
fn beside_the_reference<const N: usize>(
    dir: &Path,
    arch: i64,
    n: i64,
    modes: [&str; N],
) -> (MutexGuard<'static, ()>, Trained, Tensor, Tensor, [Reference; N]) {
    let generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    let (t, x, y) = trained_digits(dir, arch, n);
    let references = modes
        .map(|mode| Reference::spawn("attack_parity.py", [dir.display().to_string(), mode.into()]));
    (generator, t, x, y, references)
}

#[test]
#[ignore = "full tier (make test): needs the Python venv (PyTorch)"]
fn one_cycle_matches_pytorch() {
    for (lr, total) in [(0.1, 300), (0.05, 57), (0.2, 10)] {
        let reference = common::python("onecycle.py", &[lr.to_string(), total.to_string()]);
        let lines: Vec<&str> = reference.lines().collect();
        assert_eq!(lines.len(), total);
        for (step, line) in lines.iter().enumerate() {
            let (l, m) = line.split_once(',').unwrap();
            let (ours_lr, ours_m) = one_cycle(step, total, lr);
            assert!(
                (ours_lr - l.parse::<f64>().unwrap()).abs() < 1e-12,
                "step {step}/{total}: lr {ours_lr} vs {l}"
            );
            assert!(
                (ours_m - m.parse::<f64>().unwrap()).abs() < 1e-12,
                "step {step}/{total}: momentum {ours_m} vs {m}"
            );
        }
    }
}

fn count(robust: &Tensor) -> i64 {
    robust.to_kind(Kind::Int64).sum(Kind::Int64).int64_value(&[])
}

#[test]
#[ignore = "full tier (make test): needs the Python venv (torchattacks) and trains"]
fn fgsm_and_pgd_match_torchattacks_on_a_trained_network() {
    let tmp = tempfile::tempdir().unwrap();
    // The first 200 evaluation images: half a point is one image, as on all 359.
    let (generator, t, x, y, [reference]) = beside_the_reference(tmp.path(), 2581, 200, ["basic"]);
    let clean = attack::correct(&t.net, &x, &y);
    let fgsm = attack::correct(&t.net, &attack::fgsm(&t.net, &x, &y, 8.0 / 255.0), &y);
    let pgd = Pgd { eps: 8.0 / 255.0, alpha: 2.0 / 255.0, steps: 10, random_start: false };
    let pgd_correct = attack::correct(&t.net, &pgd.run(&t.net, &x, &y), &y);
    let (apgd_adv, apgd_robust) = attack::Apgd::ce(8.0 / 255.0, 20).run(&t.net, &x, &y);
    let apgd = count(&apgd_robust);
    assert_eq!(
        attack::correct(&t.net, &apgd_adv, &y),
        apgd,
        "APGD's robust mask disagrees with its images"
    );
    let apgdt = count(&attack::Apgd::targeted(8.0 / 255.0, 20, 9).run(&t.net, &x, &y).1);
    // Square with fewer queries than the standard 5,000, to keep the test short.
    let square = count(
        &attack::Square { queries: 300, ..attack::Square::standard(8.0 / 255.0) }
            .run(&t.net, &x, &y)
            .1,
    );
    drop(generator);
    let out = reference.output();
    let theirs: Vec<i64> = out.split_whitespace().map(|v| v.parse().unwrap()).collect();
    let total = x.size()[0] as f64;
    eprintln!("digits eval ({total} images) correct: robbench clean {clean} fgsm8 {fgsm} pgd8 {pgd_correct} apgd-ce {apgd} apgd-t {apgdt} square-300 {square}; torchattacks {theirs:?}");
    assert!(
        clean as f64 / total > 0.5,
        "the network should have learned something: {clean}/{total}"
    );
    for (name, ours, theirs) in
        [("clean", clean, theirs[0]), ("fgsm", fgsm, theirs[1]), ("pgd", pgd_correct, theirs[2])]
    {
        assert!(
            ((ours - theirs).abs() as f64) / total <= 1e-3,
            "{name}: robbench {ours} vs torchattacks {theirs} of {total}"
        );
    }
    assert!(pgd_correct < clean, "PGD should lower the accuracy");
    // APGD and Square with equal steps/queries and seed: within 0.5 points of robust accuracy.
    for (name, ours, theirs) in
        [("apgd-ce", apgd, theirs[3]), ("apgd-t", apgdt, theirs[4]), ("square", square, theirs[5])]
    {
        assert!(
            ((ours - theirs).abs() as f64) / total <= 0.005,
            "{name}: robbench {ours} vs torchattacks {theirs} of {total}"
        );
    }
}

/// AutoAttack standard at 8/255 against torchattacks' attacks composed the standard way (APGD
/// and APGD-T with 100 steps, FAB multi-targeted with 9 targets and 100 steps, Square with
/// 5,000 queries, each on the points the earlier ones missed), and against its components run
/// alone. AutoAttack costs some 15,000 passes per robust image and both sides run it, so the
/// test takes a light cell (1x1 convolutions and pooling) and the first 60 evaluation images:
/// half a point is then less than one image, so the counts must be equal.
#[test]
#[ignore = "full tier (make test): needs the Python venv (torchattacks) and trains"]
fn autoattack_matches_the_torchattacks_composition_and_beats_each_component() {
    let tmp = tempfile::tempdir().unwrap();
    let (generator, t, x, y, references) =
        beside_the_reference(tmp.path(), 3457, 60, ["autoattack", "fab-t"]);
    let eps = 8.0 / 255.0;
    let aa = attack::AutoAttack::standard(eps).run(&t.net, &x, &y);
    let aa_count = count(&aa.robust);
    assert_eq!(
        attack::correct(&t.net, &aa.adv, &y),
        aa_count,
        "AutoAttack's robust mask disagrees with its images"
    );
    let linf = (&aa.adv - &x).abs().max().double_value(&[]);
    assert!(linf <= eps + 1e-6, "AutoAttack left the eps-ball: {linf}");
    assert!(
        aa.warnings.is_empty(),
        "a plain trained network should pass AutoAttack's checks: {:?}",
        aa.warnings
    );
    let fab = attack::Fab::targeted(eps, 100, 9).run(&t.net, &x, &y);
    let linf = (&fab.0 - &x).abs().max().double_value(&[]);
    assert!(linf <= eps + 1e-6, "FAB-T left the eps-ball: {linf}");
    // APGD-CE runs first, on every correctly classified image, from the same seed: its stage
    // is APGD-CE alone.
    assert_eq!(aa.stages[1].0, "apgd-ce");
    let alone = [
        ("apgd-ce", aa.stages[1].1),
        ("apgd-t", count(&attack::Apgd::targeted(eps, 100, 9).run(&t.net, &x, &y).1)),
        ("fab-t", count(&fab.1)),
        ("square", count(&attack::Square::standard(eps).run(&t.net, &x, &y).1)),
    ];
    drop(generator);
    let theirs = references.map(|r| r.output().trim().parse::<i64>().unwrap());
    let total = x.size()[0] as f64;
    eprintln!("digits eval ({total} images) robust at 8/255: robbench AutoAttack {aa_count} (stages {:?}), alone {alone:?}; torchattacks composition {}, FAB-T alone {}", aa.stages, theirs[0], theirs[1]);
    assert!(aa_count < aa.stages[0].1, "AutoAttack should fool some images of this network");
    for (name, n) in alone {
        assert!(
            aa_count <= n,
            "AutoAttack ({aa_count}) is above its component {name} run alone ({n})"
        );
    }
    assert!(
        ((aa_count - theirs[0]).abs() as f64) / total <= 0.005,
        "AutoAttack: robbench {aa_count} vs torchattacks {} of {total}",
        theirs[0]
    );
    assert!(
        ((alone[2].1 - theirs[1]).abs() as f64) / total <= 0.005,
        "FAB-T: robbench {} vs torchattacks {} of {total}",
        alone[2].1,
        theirs[1]
    );
}
