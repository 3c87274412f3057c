//! A NAS-Bench-201 cell drawn as its DAG: nodes 0 (input) to 3 (output), each edge j -> i
//! labelled with its operation (as the robustness dataset's `draw_arch`); `none` edges grey.

use std::path::Path;

use anyhow::{bail, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use robbench_space::{Cell, Op, Space, EDGES};

use super::style::PALETTE;

/// The most cells one figure draws.
pub const MAX_CELLS: usize = 6;

/// Draws several cells one above the other.
pub fn draw_many<DB: DrawingBackend>(archs: &[usize], root: DrawingArea<DB, Shift>) -> Result<()> {
    let space = Space::get();
    root.fill(&WHITE).map_err(|x| anyhow::anyhow!("{x:?}"))?;
    for (area, &a) in root.split_evenly((archs.len(), 1)).into_iter().zip(archs) {
        render(a, &space.cell(a as i64)?, &area)?;
    }
    // Once: the SVG backend writes its file when presented.
    root.present().map_err(|x| anyhow::anyhow!("{x:?}"))
}

/// The cell of an architecture id or cell string.
pub fn resolve(arch: &str) -> Result<(usize, Cell)> {
    let space = Space::get();
    let id = space.resolve(arch)?;
    Ok((id, space.cell(id as i64)?))
}

/// The cell as text: its index, string and edges.
pub fn text(id: usize, cell: &Cell) -> String {
    let mut out = format!("arch {id}: {cell}\n");
    for (k, (to, from)) in EDGES.iter().enumerate() {
        out += &format!("  node {from} -> node {to}: {}\n", cell.0[k].name());
    }
    out
}

pub fn draw(id: usize, cell: &Cell, path: &Path) -> Result<()> {
    super::style::fonts();
    let ext = path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase());
    let result = match ext.as_deref() {
        Some("png") => draw_one(id, cell, BitMapBackend::new(path, SIZE).into_drawing_area()),
        Some("svg") => draw_one(id, cell, SVGBackend::new(path, SIZE).into_drawing_area()),
        _ => bail!(".draw: {} must end in .png or .svg", path.display()),
    };
    if result.is_err() {
        let _ = std::fs::remove_file(path);
    }
    result
}

fn node(i: usize) -> (i32, i32) {
    (110 + 226 * i as i32, 230)
}

/// Pixel size of one cell's drawing.
pub const SIZE: (u32, u32) = (900, 420);

/// Points of the arc from node `a` to node `b`, bulging by `h` pixels (negative: below).
fn arc(a: usize, b: usize, h: f64) -> Vec<(i32, i32)> {
    let (p, q) = (node(a), node(b));
    let c = ((p.0 + q.0) as f64 / 2.0, (p.1 + q.1) as f64 / 2.0 - 2.0 * h);
    (0..=40)
        .map(|k| {
            let t = k as f64 / 40.0;
            let x = (1.0 - t).powi(2) * p.0 as f64 + 2.0 * t * (1.0 - t) * c.0 + t * t * q.0 as f64;
            let y = (1.0 - t).powi(2) * p.1 as f64 + 2.0 * t * (1.0 - t) * c.1 + t * t * q.1 as f64;
            (x.round() as i32, y.round() as i32)
        })
        .collect()
}

fn draw_one<DB: DrawingBackend>(
    id: usize,
    cell: &Cell,
    root: DrawingArea<DB, Shift>,
) -> Result<()> {
    render(id, cell, &root)?;
    root.present().map_err(|x| anyhow::anyhow!("{x:?}"))
}

fn render<DB: DrawingBackend>(id: usize, cell: &Cell, root: &DrawingArea<DB, Shift>) -> Result<()> {
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("{x:?}");
    root.fill(&WHITE).map_err(e)?;
    root.draw(&Text::new(format!("arch {id}: {cell}"), (20, 20), ("sans-serif", 16))).map_err(e)?;
    for (k, &(to, from)) in EDGES.iter().enumerate() {
        let op = cell.0[k];
        // Consecutive nodes: a straight edge; one node skipped: above; node 0 to 3: below.
        let bulge = match to - from {
            1 => 0.0,
            2 => 70.0 + 20.0 * from as f64,
            _ => -110.0,
        };
        let pts = arc(from, to, bulge);
        let color = match op {
            Op::None => RGBColor(190, 190, 190),
            Op::SkipConnect => PALETTE[4],
            Op::Conv1x1 => PALETTE[1],
            Op::Conv3x3 => PALETTE[3],
            Op::AvgPool3x3 => PALETTE[2],
        };
        let mid = pts[pts.len() / 2];
        root.draw(&PathElement::new(pts.clone(), color.stroke_width(3))).map_err(e)?;
        // The arrow head at the edge's end.
        let (a, b) = (pts[pts.len() - 6], pts[pts.len() - 1]);
        let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / len, dy / len);
        let tip = ((b.0 as f64 - 26.0 * ux) as i32, (b.1 as f64 - 26.0 * uy) as i32);
        let back = |s: f64| {
            (
                (tip.0 as f64 - 12.0 * ux + s * 6.0 * uy) as i32,
                (tip.1 as f64 - 12.0 * uy - s * 6.0 * ux) as i32,
            )
        };
        root.draw(&Polygon::new(vec![tip, back(1.0), back(-1.0)], color.filled())).map_err(e)?;
        let label = op.name().replace("nor_", "");
        root.draw(&Text::new(
            label,
            (mid.0 - 40, mid.1 - 18),
            ("sans-serif", 15).into_font().color(&BLACK),
        ))
        .map_err(e)?;
    }
    for i in 0..4 {
        let c = node(i);
        root.draw(&Circle::new(c, 24, WHITE.filled())).map_err(e)?;
        root.draw(&Circle::new(c, 24, BLACK.stroke_width(2))).map_err(e)?;
        root.draw(&Text::new(i.to_string(), (c.0 - 5, c.1 - 9), ("sans-serif", 18))).map_err(e)?;
    }
    Ok(())
}
