//! Figures as text, for a terminal with no image viewer (a cluster's login node): a character
//! grid for points and lines, a row per box or bar, a table of values for a heat map.

use super::{five_numbers, spearman, Data, Fit, Spec};

const WIDTH: usize = 64;
const HEIGHT: usize = 20;
/// Marks per group, in palette order.
const MARKS: [char; 8] = ['*', 'o', '+', 'x', '#', '@', '%', '&'];

fn fmt(spec: &Spec, v: f64) -> String {
    if spec.percent && (0.0..=1.0).contains(&v) {
        format!("{:.1}%", v * 100.0)
    } else {
        format!("{v:.4}")
    }
}

fn grid(spec: &Spec, series: &[(String, Vec<(f64, f64)>)], extra: &[String]) -> String {
    let all = || series.iter().flat_map(|(_, p)| p.iter());
    let (x0, x1) =
        all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) =
        all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let sx = |x: f64| {
        if x1 > x0 {
            ((x - x0) / (x1 - x0) * (WIDTH - 1) as f64).round() as usize
        } else {
            0
        }
    };
    let sy = |y: f64| {
        if y1 > y0 {
            ((y - y0) / (y1 - y0) * (HEIGHT - 1) as f64).round() as usize
        } else {
            0
        }
    };
    let mut cells = vec![vec![' '; WIDTH]; HEIGHT];
    for (k, (_, pts)) in series.iter().enumerate() {
        for &(x, y) in pts {
            cells[HEIGHT - 1 - sy(y)][sx(x)] = MARKS[k % MARKS.len()];
        }
    }
    let mut out = String::new();
    if let Some(t) = &spec.title {
        out += &format!("{t}\n");
    }
    let ylab = |v: f64| format!("{:>8}", fmt(spec, v));
    for (r, row) in cells.iter().enumerate() {
        let label = if r == 0 {
            ylab(y1)
        } else if r == HEIGHT - 1 {
            ylab(y0)
        } else {
            " ".repeat(8)
        };
        out += &format!("{label} |{}\n", row.iter().collect::<String>());
    }
    out += &format!("{} +{}\n", " ".repeat(8), "-".repeat(WIDTH));
    let (lx0, lx1) = (fmt(spec, x0), fmt(spec, x1));
    out += &format!(
        "{}  {lx0}{}{lx1}\n",
        " ".repeat(8),
        " ".repeat(WIDTH.saturating_sub(lx0.len() + lx1.len()))
    );
    let y = spec.y_name();
    out += &format!("{}  x: {}, y: {y}\n", " ".repeat(8), spec.x.as_deref().unwrap_or(""));
    for (k, (name, pts)) in series.iter().enumerate() {
        let mut line = format!(
            "{}  {} {} ({} points)",
            " ".repeat(8),
            MARKS[k % MARKS.len()],
            if name.is_empty() { "all" } else { name },
            pts.len()
        );
        if spec.fit == Some(Fit::Spearman) || spec.fit == Some(Fit::Line) {
            if let Some(rho) = spearman(pts) {
                line += &format!(", Spearman {rho:.3}");
            }
        }
        out += &line;
        out.push('\n');
    }
    for e in extra {
        out += e;
        out.push('\n');
    }
    out
}

pub fn render(spec: &Spec, data: &Data) -> String {
    match data {
        Data::Points(groups) => grid(spec, groups, &[]),
        Data::Bands(groups) => {
            let series: Vec<(String, Vec<(f64, f64)>)> = groups
                .iter()
                .map(|(n, p)| (n.clone(), p.iter().map(|q| (q.0, q.1)).collect()))
                .collect();
            let spread: Vec<String> = groups
                .iter()
                .map(|(n, p)| {
                    let last = p.last().expect("a group has points");
                    format!(
                        "{}  {}: at x = {} mean {} +- {}",
                        " ".repeat(8),
                        if n.is_empty() { "all" } else { n },
                        last.0,
                        fmt(spec, last.1),
                        fmt(spec, last.2)
                    )
                })
                .collect();
            grid(spec, &series, &spread)
        }
        Data::Boxes(boxes) => {
            let width = boxes.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
            let mut out = spec.title.clone().map(|t| t + "\n").unwrap_or_default();
            out += &format!(
                "{:width$}  {:>8} {:>8} {:>8} {:>8} {:>8} {:>7}\n",
                "", "low", "q1", "median", "q3", "high", "n"
            );
            for (name, v) in boxes {
                let [lo, q1, q2, q3, hi] = five_numbers(v);
                out += &format!(
                    "{name:width$}  {:>8} {:>8} {:>8} {:>8} {:>8} {:>7}\n",
                    fmt(spec, lo),
                    fmt(spec, q1),
                    fmt(spec, q2),
                    fmt(spec, q3),
                    fmt(spec, hi),
                    v.len()
                );
            }
            if let Some(r) = spec.reference {
                out += &format!("reference line at {}\n", fmt(spec, r));
            }
            out
        }
        Data::Grid { rows, cols, values } => {
            let w = cols.iter().map(|c| c.len()).max().unwrap_or(0).max(6);
            let rw = rows.iter().map(|r| r.len()).max().unwrap_or(0);
            let mut out = spec.title.clone().map(|t| t + "\n").unwrap_or_default();
            out += &format!("{:rw$}", "");
            for c in cols {
                out += &format!(" {c:>w$}");
            }
            out.push('\n');
            for (r, name) in rows.iter().enumerate() {
                out += &format!("{name:rw$}");
                for c in 0..cols.len() {
                    match values.get(&(r, c)) {
                        Some(v) => out += &format!(" {v:>w$.3}"),
                        None => out += &format!(" {:>w$}", ""),
                    }
                }
                out.push('\n');
            }
            out
        }
        Data::Cells(archs) => {
            let space = robbench_space::Space::get();
            archs
                .iter()
                .map(|&a| super::cell::text(a, &space.cell(a as i64).expect("checked")))
                .collect()
        }
        Data::Bars(bars) => {
            let width = bars.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
            let max = bars.iter().map(|b| b.1.abs()).fold(0.0, f64::max);
            let mut out = spec.title.clone().map(|t| t + "\n").unwrap_or_default();
            for (name, v) in bars {
                let n = if max > 0.0 { (v.abs() / max * 50.0).round() as usize } else { 0 };
                out += &format!("{name:width$} |{} {}\n", "#".repeat(n), fmt(spec, *v));
            }
            out
        }
    }
}
