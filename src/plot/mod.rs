//! Figures from query results: `.plot KIND key=value ...` applies to the next statement, and
//! `.draw ARCH` draws a cell. PNG or SVG by the file name (plotters, with a font built into the
//! binary, so a machine without fonts renders them), or text in the terminal without a file.
//!
//! Kinds: `scatter` (x, y, optional colour group, `fit=line` or `fit=spearman` in the legend),
//! `box` (one box per group of x, or per column of `y=a,b,c`; `ref=V` draws a reference line,
//! e.g. chance level), `heatmap` (x, y and value columns; the value printed in each cell),
//! `line` (the mean of y per x with a band of one standard deviation, per colour group),
//! `bar` (a value per category).

pub mod cell;
mod draw;
mod style;
mod text;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

/// What to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Scatter,
    Box,
    Heatmap,
    Line,
    Bar,
    Cells,
}

impl Kind {
    pub const NAMES: [&'static str; 6] = ["scatter", "box", "heatmap", "line", "bar", "cells"];

    fn parse(s: &str) -> Result<Kind> {
        Ok(match s {
            "scatter" => Kind::Scatter,
            "box" => Kind::Box,
            "heatmap" => Kind::Heatmap,
            "line" => Kind::Line,
            "bar" => Kind::Bar,
            "cells" => Kind::Cells,
            other => bail!("unknown plot kind '{other}' (expected {})", Kind::NAMES.join(", ")),
        })
    }
}

/// The options of `.plot`, as its help lists them.
pub const OPTIONS_HELP: &str = "\
Options: x=COL y=COL[,COL...] color=COL
value=COL (heatmap) out=FILE.png|FILE.svg (else text in the terminal)
title=TEXT xlabel=TEXT ylabel=TEXT (quote TEXT with spaces)
fit=line|spearman (scatter)
ref=VALUE (box: a reference line, e.g. ref=0.1 for chance)
percent=on|off (accuracies in %, default on) size=WIDTHxHEIGHT";

/// A line fitted through a scatter, or the rank correlation in its legend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fit {
    Line,
    Spearman,
}

/// A plot request, as `.plot` parsed it.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    pub kind: Kind,
    pub x: Option<String>,
    pub y: Vec<String>,
    pub color: Option<String>,
    pub value: Option<String>,
    pub out: Option<PathBuf>,
    pub title: Option<String>,
    pub xlabel: Option<String>,
    pub ylabel: Option<String>,
    pub fit: Option<Fit>,
    pub reference: Option<f64>,
    /// Show accuracies (values in [0, 1]) as percentages on the axes.
    pub percent: bool,
    pub width: u32,
    pub height: u32,
}

/// Splits `key=value` words, where a value may be quoted ("two words" or 'two words').
pub fn words(line: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if quote.is_some() {
        bail!("unclosed quote in '{line}'");
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

impl Spec {
    /// The y columns, as a y axis names them.
    pub fn y_name(&self) -> String {
        self.y.join(", ")
    }

    /// Parses the arguments of `.plot KIND key=value ...`.
    pub fn parse(args: &[String]) -> Result<Spec> {
        let (kind, rest) = args
            .split_first()
            .ok_or_else(|| anyhow!(".plot: which kind? ({}; see .help)", Kind::NAMES.join(", ")))?;
        let mut s = Spec {
            kind: Kind::parse(kind)?,
            x: None,
            y: Vec::new(),
            color: None,
            value: None,
            out: None,
            title: None,
            xlabel: None,
            ylabel: None,
            fit: None,
            reference: None,
            percent: true,
            width: 900,
            height: 600,
        };
        for w in rest {
            let (k, v) =
                w.split_once('=').ok_or_else(|| anyhow!(".plot: '{w}' is not key=value"))?;
            let v = v.to_string();
            match k {
                "x" => s.x = Some(v),
                "y" => s.y = v.split(',').map(|c| c.trim().to_string()).collect(),
                "color" | "colour" | "by" => s.color = Some(v),
                "value" => s.value = Some(v),
                "out" => s.out = Some(PathBuf::from(v)),
                "title" => s.title = Some(v),
                "xlabel" => s.xlabel = Some(v),
                "ylabel" => s.ylabel = Some(v),
                "fit" => {
                    s.fit = Some(match v.as_str() {
                        "line" => Fit::Line,
                        "spearman" => Fit::Spearman,
                        other => bail!(".plot: fit must be line or spearman, got '{other}'"),
                    })
                }
                "ref" => {
                    s.reference = Some(v.parse().map_err(|_| anyhow!(".plot: ref={v} is not a number"))?)
                }
                "percent" => {
                    s.percent = match v.as_str() {
                        "on" | "true" => true,
                        "off" | "false" => false,
                        other => bail!(".plot: percent must be on or off, got '{other}'"),
                    }
                }
                "size" => {
                    let (w, h) = v
                        .split_once('x')
                        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                        .ok_or_else(|| anyhow!(".plot: size must be WIDTHxHEIGHT, got '{v}'"))?;
                    s.width = w;
                    s.height = h;
                }
                other => bail!(
                    ".plot: unknown option '{other}' (x, y, color, value, out, title, xlabel, ylabel, fit, ref, percent, size)"
                ),
            }
        }
        if let Some(out) = &s.out {
            format_of(out)?;
        }
        Ok(s)
    }
}

/// Where a figure goes: its format from the file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Png,
    Svg,
}

fn format_of(path: &Path) -> Result<Format> {
    match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
        Some("png") => Ok(Format::Png),
        Some("svg") => Ok(Format::Svg),
        _ => bail!(".plot: {} must end in .png or .svg", path.display()),
    }
}

/// The columns of a result, by name.
pub struct Table {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    pub rows: usize,
}

impl Table {
    pub fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Table {
        let rows = batches.iter().map(|b| b.num_rows()).sum();
        Table { schema, batches, rows }
    }

    fn index(&self, name: &str) -> Result<usize> {
        self.schema.index_of(name).map_err(|_| {
            let have: Vec<&str> = self.schema.fields().iter().map(|f| f.name().as_str()).collect();
            anyhow!("the result has no column '{name}' (it has {})", have.join(", "))
        })
    }

    /// A numeric column as f64 (NULL and NaN as None).
    pub fn numbers(&self, name: &str) -> Result<Vec<Option<f64>>> {
        let i = self.index(name)?;
        let ty = self.schema.field(i).data_type();
        if !ty.is_numeric() {
            bail!("column '{name}' is {ty}, not a number");
        }
        let mut out = Vec::with_capacity(self.rows);
        for b in &self.batches {
            let c = arrow::compute::cast(b.column(i), &DataType::Float64)?;
            let c = c.as_primitive::<arrow::datatypes::Float64Type>();
            out.extend(
                (0..c.len()).map(|r| c.is_valid(r).then(|| c.value(r)).filter(|v| !v.is_nan())),
            );
        }
        Ok(out)
    }

    /// Any column as text (NULL as None).
    pub fn labels(&self, name: &str) -> Result<Vec<Option<String>>> {
        let i = self.index(name)?;
        let mut out = Vec::with_capacity(self.rows);
        for b in &self.batches {
            let c = arrow::compute::cast(b.column(i), &DataType::Utf8)?;
            let c = c.as_string::<i32>();
            out.extend((0..c.len()).map(|r| c.is_valid(r).then(|| c.value(r).to_string())));
        }
        Ok(out)
    }
}

/// One x of a line plot: (x, mean of y, standard deviation of y).
pub type Band = (f64, f64, f64);

/// What a plot shows, extracted and checked before anything is drawn.
pub enum Data {
    /// Points per group: (group name, points).
    Points(Vec<(String, Vec<(f64, f64)>)>),
    /// Values per box, in order.
    Boxes(Vec<(String, Vec<f64>)>),
    /// Row labels, column labels, and value per (row, column).
    Grid { rows: Vec<String>, cols: Vec<String>, values: BTreeMap<(usize, usize), f64> },
    /// Mean and standard deviation of y per x, per group.
    Bands(Vec<(String, Vec<Band>)>),
    /// A value per category.
    Bars(Vec<(String, f64)>),
    /// Architectures whose cells are drawn, in order.
    Cells(Vec<usize>),
}

impl Data {
    /// How many marks a drawing of it has: points, boxes, cells, x positions or bars.
    pub fn marks(&self) -> usize {
        match self {
            Data::Points(g) => g.iter().map(|(_, p)| p.len()).sum(),
            Data::Boxes(b) => b.len(),
            Data::Grid { values, .. } => values.len(),
            Data::Bands(g) => g.iter().map(|(_, p)| p.len()).sum(),
            Data::Bars(b) => b.len(),
            Data::Cells(c) => c.len(),
        }
    }
}

fn need<'a>(v: &'a Option<String>, what: &str, kind: &str) -> Result<&'a str> {
    v.as_deref().ok_or_else(|| anyhow!(".plot {kind}: which column is {what}? ({what}=COLUMN)"))
}

fn one_y<'a>(s: &'a Spec, kind: &str) -> Result<&'a str> {
    match s.y.as_slice() {
        [y] => Ok(y),
        [] => bail!(".plot {kind}: which column is y? (y=COLUMN)"),
        _ => bail!(".plot {kind}: one y column"),
    }
}

/// Groups of a column (or one group named "" without a colour column), in first-seen order.
fn groups(t: &Table, color: &Option<String>) -> Result<Vec<Option<String>>> {
    match color {
        Some(c) => t.labels(c),
        None => Ok(vec![Some(String::new()); t.rows]),
    }
}

/// Extracts what `spec` draws from the result, or says what is wrong with it.
pub fn data(spec: &Spec, t: &Table) -> Result<Data> {
    if t.rows == 0 {
        bail!(".plot: the statement returned no rows; nothing to plot");
    }
    let kind = Kind::NAMES[spec.kind as usize];
    let data = match spec.kind {
        Kind::Scatter => {
            let (x, y) = (t.numbers(need(&spec.x, "x", kind)?)?, t.numbers(one_y(spec, kind)?)?);
            let g = groups(t, &spec.color)?;
            let mut by: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
            for r in 0..t.rows {
                if let (Some(x), Some(y), Some(g)) = (x[r], y[r], &g[r]) {
                    match by.iter_mut().find(|(n, _)| n == g) {
                        Some((_, p)) => p.push((x, y)),
                        None => by.push((g.clone(), vec![(x, y)])),
                    }
                }
            }
            Data::Points(by)
        }
        Kind::Box => {
            let mut boxes: Vec<(String, Vec<f64>)> = Vec::new();
            if spec.y.len() > 1 || spec.x.is_none() {
                if spec.y.is_empty() {
                    bail!(".plot box: which columns? (y=COLUMN or y=A,B,C, or x=GROUP y=COLUMN)");
                }
                for c in &spec.y {
                    boxes.push((c.clone(), t.numbers(c)?.into_iter().flatten().collect()));
                }
            } else {
                let (g, y) = (t.labels(need(&spec.x, "x", kind)?)?, t.numbers(one_y(spec, kind)?)?);
                for r in 0..t.rows {
                    if let (Some(g), Some(y)) = (&g[r], y[r]) {
                        match boxes.iter_mut().find(|(n, _)| n == g) {
                            Some((_, v)) => v.push(y),
                            None => boxes.push((g.clone(), vec![y])),
                        }
                    }
                }
            }
            boxes.retain(|(_, v)| !v.is_empty());
            Data::Boxes(boxes)
        }
        Kind::Heatmap => {
            let (xs, ys) = (t.labels(need(&spec.x, "x", kind)?)?, t.labels(one_y(spec, kind)?)?);
            let v = t.numbers(need(&spec.value, "value", kind)?)?;
            let (mut rows, mut cols): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
            let mut values = BTreeMap::new();
            for r in 0..t.rows {
                if let (Some(x), Some(y), Some(v)) = (&xs[r], &ys[r], v[r]) {
                    let ci = cols.iter().position(|c| c == x).unwrap_or_else(|| {
                        cols.push(x.clone());
                        cols.len() - 1
                    });
                    let ri = rows.iter().position(|c| c == y).unwrap_or_else(|| {
                        rows.push(y.clone());
                        rows.len() - 1
                    });
                    values.insert((ri, ci), v);
                }
            }
            Data::Grid { rows, cols, values }
        }
        Kind::Line => {
            let (x, y) = (t.numbers(need(&spec.x, "x", kind)?)?, t.numbers(one_y(spec, kind)?)?);
            let g = groups(t, &spec.color)?;
            let mut by: Vec<(String, BTreeMap<i64, Vec<f64>>)> = Vec::new();
            let mut xs: BTreeMap<i64, f64> = BTreeMap::new();
            for r in 0..t.rows {
                if let (Some(x), Some(y), Some(g)) = (x[r], y[r], &g[r]) {
                    // Group x values by their bits' order-preserving key.
                    let key = (x * 1e9).round() as i64;
                    xs.insert(key, x);
                    let m = match by.iter_mut().find(|(n, _)| n == g) {
                        Some((_, m)) => m,
                        None => {
                            by.push((g.clone(), BTreeMap::new()));
                            &mut by.last_mut().expect("pushed").1
                        }
                    };
                    m.entry(key).or_default().push(y);
                }
            }
            let bands = by
                .into_iter()
                .map(|(g, m)| {
                    let pts = m
                        .into_iter()
                        .map(|(k, v)| {
                            let n = v.len() as f64;
                            let mean = v.iter().sum::<f64>() / n;
                            let var = v.iter().map(|y| (y - mean).powi(2)).sum::<f64>()
                                / (n - 1.0).max(1.0);
                            (xs[&k], mean, var.sqrt())
                        })
                        .collect();
                    (g, pts)
                })
                .collect();
            Data::Bands(bands)
        }
        Kind::Cells => {
            let archs = t.numbers(need(&spec.x, "x", kind)?)?;
            let space = robbench_space::Space::get();
            let mut out = Vec::new();
            for a in archs.into_iter().flatten().take(cell::MAX_CELLS) {
                out.push(space.check(a as i64)?);
            }
            Data::Cells(out)
        }
        Kind::Bar => {
            let (x, y) = (t.labels(need(&spec.x, "x", kind)?)?, t.numbers(one_y(spec, kind)?)?);
            Data::Bars((0..t.rows).filter_map(|r| Some((x[r].clone()?, y[r]?))).collect())
        }
    };
    if data.marks() == 0 {
        bail!(".plot: every row has a NULL in the plotted columns; nothing to plot");
    }
    Ok(data)
}

/// Draws the result as `spec` says: into its file, or as text into `out`. Nothing is written
/// when the data do not fit the plot.
pub fn plot(spec: &Spec, t: &Table, out: &mut dyn std::io::Write) -> Result<usize> {
    let data = data(spec, t)?;
    match &spec.out {
        None => {
            out.write_all(text::render(spec, &data).as_bytes())?;
        }
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!(".plot: cannot create {}", dir.display()))?;
            }
            let result = match format_of(path)? {
                Format::Png => draw::png(spec, &data, path),
                Format::Svg => draw::svg(spec, &data, path),
            };
            if let Err(e) = result {
                let _ = std::fs::remove_file(path);
                return Err(e).with_context(|| format!(".plot: cannot draw {}", path.display()));
            }
        }
    }
    Ok(data.marks())
}

/// Spearman's rank correlation of the points (the SQL function's, tested against scipy).
pub fn spearman(points: &[(f64, f64)]) -> Option<f64> {
    let (x, y): (Vec<f64>, Vec<f64>) = points.iter().copied().unzip();
    crate::stats::spearman(&x, &y)
}

/// Least-squares line y = a + b x.
pub fn fit_line(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    if n < 2.0 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| {
        let b = sxy / sxx;
        (my - b * mx, b)
    })
}

/// Quartiles (linear interpolation, as numpy's default) and the whiskers' ends (the most
/// extreme values within 1.5 IQR of the box).
pub fn five_numbers(v: &[f64]) -> [f64; 5] {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let h = (s.len() - 1) as f64 * p;
        let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
        s[lo] + (h - lo as f64) * (s[hi] - s[lo])
    };
    let (q1, q2, q3) = (q(0.25), q(0.5), q(0.75));
    let iqr = q3 - q1;
    let lo = s.iter().copied().find(|&x| x >= q1 - 1.5 * iqr).unwrap_or(s[0]);
    let hi = s.iter().rev().copied().find(|&x| x <= q3 + 1.5 * iqr).unwrap_or(s[s.len() - 1]);
    [lo, q1, q2, q3, hi]
}
