//! The strategies against synthetic landscapes and brute-force fronts.

use std::collections::HashSet;

use robbench_space::Space;

use super::*;

/// A synthetic landscape over all unique architectures: the value is the number of 3x3
/// convolutions plus a small tie-break, so one-edge moves can climb it.
fn landscape() -> HashMap<usize, f64> {
    let space = Space::get();
    space
        .representatives()
        .into_iter()
        .map(|a| {
            let cell = space.cell(a as i64).unwrap();
            let convs = cell.count(robbench_space::Op::Conv3x3) as f64;
            (a, convs + (a % 97) as f64 / 1000.0)
        })
        .collect()
}

fn problem(oracle: &HashMap<usize, f64>, budget: usize, trials: usize) -> Problem {
    let mut candidates: Vec<usize> = oracle.keys().copied().collect();
    candidates.sort();
    Problem {
        candidates,
        maximize: true,
        budget,
        trials,
        seed: 1,
        costs: None,
        time: None,
        features: None,
    }
}

#[test]
fn steps_are_distinct_architectures_and_best_is_the_running_maximum() {
    let mut oracle = landscape();
    let p = problem(&oracle, 50, 3);
    for alg in [
        Algorithm::Random,
        Algorithm::Evolution { population: 10, sample_size: 3 },
        Algorithm::Local,
    ] {
        let q = run(alg, &p, &mut oracle).unwrap();
        assert_eq!(q.len(), 150, "{alg:?}");
        for trial in 0..3 {
            let t: Vec<&Query> = q.iter().filter(|x| x.trial == trial).collect();
            let archs: HashSet<usize> = t.iter().map(|x| x.arch).collect();
            assert_eq!(archs.len(), 50, "{alg:?}: repeats took steps");
            let mut best = f64::NEG_INFINITY;
            for (k, x) in t.iter().enumerate() {
                assert_eq!(x.step, k + 1);
                assert_eq!(x.value, oracle[&x.arch]);
                best = best.max(x.value);
                assert_eq!(x.best_value, best);
                assert_eq!(oracle[&x.best_arch], best);
            }
        }
        assert_eq!(q, run(alg, &p, &mut oracle).unwrap(), "{alg:?}: same seed, same queries");
    }
}

/// A second objective that conflicts with the landscape: the number of 3x3 convolutions
/// costs, a tie-break of its own.
fn costs(oracle: &HashMap<usize, f64>) -> Costs {
    let space = Space::get();
    let values = oracle
        .keys()
        .map(|&a| {
            let convs = space.cell(a as i64).unwrap().count(robbench_space::Op::Conv3x3);
            (a, 2.0 * convs as f64 + (a % 13) as f64 / 100.0)
        })
        .collect();
    Costs { values, reference: (0.0, 20.0) }
}

/// The brute-force front of `archs` on (value up, cost down), sorted.
fn brute_front(oracle: &HashMap<usize, f64>, c: &Costs, archs: &[usize]) -> Vec<usize> {
    let values = vec![
        archs.iter().map(|a| Some(oracle[a])).collect(),
        archs.iter().map(|a| Some(-c.values[a])).collect(),
    ];
    let on = pareto::front(&values, archs.len());
    let mut f: Vec<usize> = archs.iter().zip(on).filter(|(_, o)| *o).map(|(a, _)| *a).collect();
    f.sort_unstable();
    f
}

#[test]
fn every_step_reports_the_brute_force_front_of_what_was_queried_and_its_hypervolume() {
    let mut oracle = landscape();
    let mut p = problem(&oracle, 60, 2);
    p.costs = Some(costs(&oracle));
    let c = p.costs.clone().unwrap();
    for alg in [Algorithm::Random, Algorithm::Nsga2 { population: 10 }, Algorithm::Local] {
        let q = run(alg, &p, &mut oracle).unwrap();
        assert_eq!(q.len(), 120, "{alg:?}");
        for trial in 0..2 {
            let t: Vec<&Query> = q.iter().filter(|x| x.trial == trial).collect();
            let mut seen = Vec::new();
            let mut hv = 0.0;
            for x in t {
                seen.push(x.arch);
                assert_eq!(x.cost, Some(c.values[&x.arch]));
                assert_eq!(x.front, brute_front(&oracle, &c, &seen), "{alg:?} step {}", x.step);
                let pts: Vec<(f64, f64)> =
                    x.front.iter().map(|a| (oracle[a], -c.values[a])).collect();
                let want = pareto::hypervolume(&pts, (c.reference.0, -c.reference.1));
                let got = x.hypervolume.unwrap();
                assert_eq!(got, want);
                assert!(got >= hv, "{alg:?}: hypervolume fell at step {}", x.step);
                hv = got;
            }
        }
        assert_eq!(q, run(alg, &p, &mut oracle).unwrap(), "{alg:?}: same seed, same queries");
    }
}

#[test]
fn nsga2_with_a_budget_covering_the_space_ends_on_the_true_front() {
    let full = landscape();
    // A smaller space, so a full budget stays quick: the cells without pooling.
    let mut oracle: HashMap<usize, f64> = full
        .into_iter()
        .filter(|(a, _)| {
            Space::get().cell(*a as i64).unwrap().count(robbench_space::Op::AvgPool3x3) == 0
        })
        .collect();
    let n = oracle.len();
    let mut p = problem(&oracle, n, 1);
    p.costs = Some(costs(&oracle));
    let c = p.costs.clone().unwrap();
    let q = run(Algorithm::Nsga2 { population: 20 }, &p, &mut oracle).unwrap();
    assert_eq!(q.len(), n, "every architecture once");
    let all: Vec<usize> = oracle.keys().copied().collect();
    assert_eq!(q.last().unwrap().front, brute_front(&oracle, &c, &all));
    // And it found most of the front well before the end.
    let half = &q[n / 2];
    assert!(half.hypervolume.unwrap() > 0.9 * q.last().unwrap().hypervolume.unwrap());
}

#[test]
fn nsga2_needs_a_second_objective_and_a_population() {
    let mut oracle = landscape();
    let p = problem(&oracle, 20, 1);
    let e = run(Algorithm::Nsga2 { population: 10 }, &p, &mut oracle).unwrap_err();
    assert!(e.to_string().contains("objective := 'latency'"), "{e}");
    let mut p = problem(&oracle, 20, 1);
    p.costs = Some(costs(&oracle));
    let e = run(Algorithm::Nsga2 { population: 1 }, &p, &mut oracle).unwrap_err();
    assert!(e.to_string().contains("population of 2 or more"), "{e}");
}

/// A sparse space (few candidates, most mutations outside it) and the whole of it as the
/// budget: every strategy ends, having queried each candidate once.
#[test]
fn a_budget_covering_a_sparse_space_ends() {
    let mut oracle: HashMap<usize, f64> =
        landscape().into_iter().filter(|(a, _)| a % 17 == 0).collect();
    let n = oracle.len();
    let p = problem(&oracle, n, 1);
    for alg in [Algorithm::Evolution { population: 10, sample_size: 3 }, Algorithm::Local] {
        let q = run(alg, &p, &mut oracle).unwrap();
        assert_eq!(q.len(), n, "{alg:?}");
    }
}

#[test]
fn bad_budgets_are_refused() {
    let mut oracle = landscape();
    let e = run(Algorithm::Random, &problem(&oracle, 0, 1), &mut oracle).unwrap_err();
    assert!(e.to_string().contains("positive"), "{e}");
    let e = run(Algorithm::Random, &problem(&oracle, 7000, 1), &mut oracle).unwrap_err();
    assert!(e.to_string().contains("larger than the space searched (6466"), "{e}");
}

/// Graph features of every candidate, for the predictor-guided strategy.
fn graph_features(oracle: &HashMap<usize, f64>) -> HashMap<usize, Vec<f64>> {
    let space = Space::get();
    oracle
        .keys()
        .map(|&a| (a, crate::predict::features::graph(&space.cell(a as i64).unwrap())))
        .collect()
}

#[test]
fn bananas_learns_the_landscape_and_beats_random_search() {
    let mut oracle = landscape();
    let mut p = problem(&oracle, 60, 10);
    p.features = Some(graph_features(&oracle));
    let bananas = Algorithm::Bananas {
        initial: 10,
        batch: 5,
        candidates: 50,
        trees: 30,
        model: Model::ExtraTrees,
    };
    let q = run(bananas, &p, &mut oracle).unwrap();
    assert_eq!(q.len(), 600);
    let best =
        |q: &[Query]| q.iter().filter(|x| x.step == 60).map(|x| x.best_value).sum::<f64>() / 10.0;
    for trial in 0..10 {
        let archs: HashSet<usize> = q.iter().filter(|x| x.trial == trial).map(|x| x.arch).collect();
        assert_eq!(archs.len(), 60, "each query a new architecture");
    }
    let rs = run(Algorithm::Random, &p, &mut oracle).unwrap();
    // The value counts 3x3 convolutions, which the graph features hold: the forest finds
    // the six-convolution cell (value 6.x) where random search rarely does.
    assert!(best(&q) > 5.9, "bananas mean best {}", best(&q));
    assert!(best(&q) > best(&rs) + 0.5, "bananas {} against rs {}", best(&q), best(&rs));
    assert_eq!(q, run(bananas, &p, &mut oracle).unwrap(), "same seed, same queries");
    // Minimising: it follows the fewest convolutions.
    p.maximize = false;
    let low = run(bananas, &p, &mut oracle).unwrap();
    assert!(low.iter().filter(|x| x.step == 60).all(|x| x.best_value < 1.0));
    p.features = Some(HashMap::new());
    let e = run(bananas, &p, &mut oracle).unwrap_err();
    assert!(e.to_string().contains("has no features"), "{e}");
    p.features = Some(graph_features(&oracle));
    let e = run(
        Algorithm::Bananas {
            initial: 1,
            batch: 5,
            candidates: 50,
            trees: 30,
            model: Model::ExtraTrees,
        },
        &p,
        &mut oracle,
    )
    .unwrap_err();
    assert!(e.to_string().contains("initial must be 2 or more"), "{e}");
}

#[test]
fn a_time_budget_charges_each_new_query_and_stops_once_spent() {
    let mut oracle = landscape();
    // Recorded seconds for the architectures whose index is even; the rest the default.
    let recorded: HashMap<usize, f64> =
        oracle.keys().filter(|a| *a % 2 == 0).map(|&a| (a, 100.0 + a as f64)).collect();
    let mut p = problem(&oracle, 6466, 3);
    p.time = Some(TimeBudget { seconds: 20_000.0, recorded: recorded.clone(), default: 1000.0 });
    for alg in [Algorithm::Random, Algorithm::Local] {
        let q = run(alg, &p, &mut oracle).unwrap();
        for trial in 0..3 {
            let t: Vec<&Query> = q.iter().filter(|x| x.trial == trial).collect();
            let mut spent = 0.0;
            for x in &t {
                assert!(spent < 20_000.0, "{alg:?}: queried after the budget was spent");
                spent += recorded.get(&x.arch).copied().unwrap_or(1000.0);
                assert_eq!(x.seconds, spent);
            }
            assert!(spent >= 20_000.0, "{alg:?}: stopped early at {spent}");
        }
    }
    p.time.as_mut().unwrap().seconds = 0.0;
    let e = run(Algorithm::Random, &p, &mut oracle).unwrap_err();
    assert!(e.to_string().contains("budget_seconds must be positive"), "{e}");
}

#[test]
fn minimising_follows_the_smallest() {
    let mut oracle = landscape();
    let mut p = problem(&oracle, 30, 1);
    p.maximize = false;
    let q = run(Algorithm::Local, &p, &mut oracle).unwrap();
    let min = q.iter().map(|x| x.value).fold(f64::INFINITY, f64::min);
    assert_eq!(q.last().unwrap().best_value, min);
}
