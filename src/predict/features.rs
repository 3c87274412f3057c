//! Features computed from the cell alone: its one-hot encoding and its graph (operation counts,
//! the input-to-output paths and what lies on them). The names are defined once here and become
//! the columns of `cell_features(...)`.

use robbench_space::{Cell, Op};

/// The four input-to-output paths of the cell, as edge positions in `robbench_space::EDGES`
/// order (0: 1<-0, 1: 2<-0, 2: 2<-1, 3: 3<-0, 4: 3<-1, 5: 3<-2).
const PATHS: [&[usize]; 4] = [&[3], &[0, 4], &[1, 5], &[0, 2, 5]];

/// The graph features, in column order.
pub const GRAPH: [&str; 11] = [
    "n_none",
    "n_skip",
    "n_conv1x1",
    "n_conv3x3",
    "n_pool",
    "live_edges",
    "live_paths",
    "conv_paths",
    "max_convs_on_a_path",
    "conv3x3_on_paths",
    "skip_only_paths",
];

fn is_conv(op: Op) -> bool {
    matches!(op, Op::Conv1x1 | Op::Conv3x3)
}

pub fn graph(cell: &Cell) -> Vec<f64> {
    let ops = cell.0;
    let live: Vec<&[usize]> =
        PATHS.iter().copied().filter(|p| p.iter().all(|&e| ops[e] != Op::None)).collect();
    let convs = |p: &[usize]| p.iter().filter(|&&e| is_conv(ops[e])).count();
    let counts = Op::ALL.map(|op| cell.count(op) as f64);
    let mut v = counts.to_vec();
    v.extend([
        cell.live_edges().iter().filter(|&&l| l).count() as f64,
        live.len() as f64,
        live.iter().filter(|p| convs(p) > 0).count() as f64,
        live.iter().map(|p| convs(p)).max().unwrap_or(0) as f64,
        live.iter().map(|p| p.iter().filter(|&&e| ops[e] == Op::Conv3x3).count()).sum::<usize>()
            as f64,
        live.iter().filter(|p| p.iter().all(|&e| ops[e] == Op::SkipConnect)).count() as f64,
    ]);
    v
}

/// The one-hot columns: `e<edge>_<op>` for each of the six edges and five operations.
pub fn onehot_names() -> Vec<String> {
    (0..6).flat_map(|e| Op::ALL.map(|op| format!("e{e}_{}", op.name()))).collect()
}

pub fn onehot(cell: &Cell) -> Vec<f64> {
    cell.0.iter().flat_map(|&o| Op::ALL.map(|op| f64::from(u8::from(op == o)))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_features_of_hand_checked_cells() {
        // conv3x3 everywhere: 4 live paths, each of 1 to 3 convolutions.
        let all = Cell([Op::Conv3x3; 6]);
        assert_eq!(graph(&all), [0., 0., 0., 6., 0., 6., 4., 4., 3., 8., 0.]);
        // Only the direct edge, a skip: one path of skip only; the rest is none.
        let skip = Cell([Op::None, Op::None, Op::None, Op::SkipConnect, Op::None, Op::None]);
        assert_eq!(graph(&skip), [5., 1., 0., 0., 0., 1., 1., 0., 0., 0., 1.]);
        // 1<-0 conv1x1 feeding nothing (3<-1 and 2<-1 are none): a dead edge; 3<-2 reaches the
        // output (live as Cell::live_edges counts it) but nothing reaches node 2: no path.
        let dead = Cell([Op::Conv1x1, Op::None, Op::None, Op::None, Op::None, Op::AvgPool3x3]);
        assert_eq!(graph(&dead), [4., 0., 1., 0., 1., 1., 0., 0., 0., 0., 0.]);
        assert_eq!(graph(&all).len(), GRAPH.len());
        let hot = onehot(&skip);
        assert_eq!(hot.len(), onehot_names().len());
        assert_eq!(hot.iter().sum::<f64>(), 6.0);
        assert_eq!(hot[3 * 5 + 1], 1.0, "edge 3 is skip_connect");
    }
}
