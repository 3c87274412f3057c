//! Multi-objective pieces: the non-dominated rows of a table (`pareto(...)`), the hypervolume
//! of a two-objective front, and the non-dominated sorting and crowding distance of NSGA-II
//! (Deb et al., 2002). Every objective is "larger is better" here; callers negate the others.

/// `a` is at least as good as `b` in every objective and better in one.
fn dominates(a: &[f64], b: &[f64]) -> bool {
    let mut strictly = false;
    for (x, y) in a.iter().zip(b) {
        if x < y {
            return false;
        }
        strictly |= x > y;
    }
    strictly
}

/// Which rows are on the front: `values[c][r]` is column c of row r. Rows with a missing or
/// NaN value take no part.
pub fn front(values: &[Vec<Option<f64>>], n: usize) -> Vec<bool> {
    let valid: Vec<bool> =
        (0..n).map(|r| values.iter().all(|c| c[r].is_some_and(|v| !v.is_nan()))).collect();
    let row = |r: usize| -> Vec<f64> { values.iter().map(|c| c[r].unwrap_or(f64::NAN)).collect() };
    // Rows sorted by the first column (best first): a row can only be dominated by rows that
    // come before it or tie with it there.
    let mut order: Vec<usize> = (0..n).filter(|&r| valid[r]).collect();
    let first = |r: usize| values[0][r].unwrap_or(f64::NAN);
    order.sort_by(|&a, &b| first(b).total_cmp(&first(a)));
    let mut on = vec![false; n];
    let mut front: Vec<(usize, Vec<f64>)> = Vec::new();
    for &r in &order {
        let p = row(r);
        if !front.iter().any(|(_, f)| dominates(f, &p)) {
            // A later row may tie on the first column and dominate an earlier one there.
            front.retain(|(_, f)| !dominates(&p, f));
            front.push((r, p));
        }
    }
    for (f, _) in front {
        on[f] = true;
    }
    on
}

/// The area that the points dominate and that dominates `reference`: the union of the boxes
/// between the reference and each point. Points not better than the reference in both
/// objectives add nothing.
pub fn hypervolume(points: &[(f64, f64)], reference: (f64, f64)) -> f64 {
    let mut p: Vec<(f64, f64)> =
        points.iter().copied().filter(|&(x, y)| x > reference.0 && y > reference.1).collect();
    // Sweep from the best first objective down: each point adds the strip of the second
    // objective above what the points before it cover.
    p.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.total_cmp(&a.1)));
    let mut area = 0.0;
    let mut covered = reference.1;
    for (x, y) in p {
        if y > covered {
            area += (x - reference.0) * (y - covered);
            covered = y;
        }
    }
    area
}

/// NSGA-II's fronts: the rank of each point (0 for the non-dominated ones, 1 for those only
/// they dominate, ...).
pub fn ranks(points: &[Vec<f64>]) -> Vec<usize> {
    let n = points.len();
    let mut rank = vec![usize::MAX; n];
    let mut left: Vec<usize> = (0..n).collect();
    let mut r = 0;
    while !left.is_empty() {
        let this: Vec<usize> = left
            .iter()
            .copied()
            .filter(|&i| !left.iter().any(|&j| dominates(&points[j], &points[i])))
            .collect();
        for &i in &this {
            rank[i] = r;
        }
        left.retain(|i| !this.contains(i));
        r += 1;
    }
    rank
}

/// NSGA-II's crowding distance of each of `members` (one front): the sum over objectives of the
/// normalised gap between its neighbours; the extremes get infinity, so they are kept.
pub fn crowding(points: &[Vec<f64>], members: &[usize]) -> Vec<f64> {
    let mut d = vec![0.0; members.len()];
    if members.is_empty() {
        return d;
    }
    let objectives = points[members[0]].len();
    let columns = (0..objectives).map(|m| members.iter().map(|&i| points[i][m]).collect());
    for col in columns.collect::<Vec<Vec<f64>>>() {
        let mut order: Vec<usize> = (0..members.len()).collect();
        order.sort_by(|&a, &b| col[a].total_cmp(&col[b]));
        let (first, last) = (order[0], *order.last().expect("non-empty"));
        let (lo, hi) = (col[first], col[last]);
        d[first] = f64::INFINITY;
        d[last] = f64::INFINITY;
        if hi > lo {
            for k in 1..order.len().saturating_sub(1) {
                d[order[k]] += (col[order[k + 1]] - col[order[k - 1]]) / (hi - lo);
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: u64) -> impl FnMut() -> f64 {
        let mut x = seed;
        move || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((x >> 33) % 20) as f64
        }
    }

    /// Against the definition, pair by pair, on random points with ties.
    #[test]
    fn front_is_the_brute_force_non_dominated_set() {
        let mut next = lcg(7);
        for dims in [2, 3] {
            let n = 300;
            let values: Vec<Vec<Option<f64>>> =
                (0..dims).map(|_| (0..n).map(|_| Some(next())).collect()).collect();
            let got = front(&values, n);
            for r in 0..n {
                let dominated = (0..n).any(|o| {
                    (0..dims).all(|c| values[c][o] >= values[c][r])
                        && (0..dims).any(|c| values[c][o] > values[c][r])
                });
                assert_eq!(got[r], !dominated, "row {r} in {dims} dimensions");
            }
        }
        let with_null = vec![vec![Some(1.0), None], vec![Some(1.0), Some(5.0)]];
        assert_eq!(front(&with_null, 2), [true, false]);
    }

    /// The exact area of the union of boxes, by the grid the boxes' corners make: a grid cell
    /// is covered when some point dominates its upper corner.
    fn union_area(points: &[(f64, f64)], r: (f64, f64)) -> f64 {
        let mut xs: Vec<f64> = points.iter().map(|p| p.0).filter(|&x| x > r.0).collect();
        let mut ys: Vec<f64> = points.iter().map(|p| p.1).filter(|&y| y > r.1).collect();
        xs.push(r.0);
        ys.push(r.1);
        xs.sort_by(f64::total_cmp);
        ys.sort_by(f64::total_cmp);
        xs.dedup();
        ys.dedup();
        let mut area = 0.0;
        for i in 1..xs.len() {
            for j in 1..ys.len() {
                if points.iter().any(|p| p.0 >= xs[i] && p.1 >= ys[j]) {
                    area += (xs[i] - xs[i - 1]) * (ys[j] - ys[j - 1]);
                }
            }
        }
        area
    }

    #[test]
    fn hypervolume_is_the_exact_union_of_boxes() {
        let mut next = lcg(11);
        for n in [1, 2, 5, 40, 200] {
            let points: Vec<(f64, f64)> = (0..n).map(|_| (next(), next())).collect();
            for r in [(0.0, 0.0), (5.0, 3.0), (-2.5, 1.0)] {
                let want = union_area(&points, r);
                let got = hypervolume(&points, r);
                assert!((got - want).abs() < 1e-9, "{n} points, reference {r:?}: {got} vs {want}");
            }
        }
        assert_eq!(hypervolume(&[(3.0, 2.0)], (1.0, 1.0)), 2.0);
        assert_eq!(hypervolume(&[(0.5, 2.0)], (1.0, 1.0)), 0.0, "worse than the reference");
        assert_eq!(hypervolume(&[], (0.0, 0.0)), 0.0);
    }

    #[test]
    fn ranks_peel_fronts_and_crowding_keeps_the_extremes() {
        let p: Vec<Vec<f64>> =
            [[4.0, 1.0], [3.0, 3.0], [1.0, 4.0], [2.0, 2.0], [1.0, 1.0], [3.0, 3.0]]
                .iter()
                .map(|x| x.to_vec())
                .collect();
        assert_eq!(ranks(&p), [0, 0, 0, 1, 2, 0]);
        let d = crowding(&p, &[0, 1, 2]);
        assert!(d[0].is_infinite() && d[2].is_infinite());
        // The middle point: gaps (4-1)/3 in the first objective and (4-1)/3 in the second.
        assert!((d[1] - 2.0).abs() < 1e-12, "{d:?}");
    }
}
