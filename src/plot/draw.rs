//! Drawing with plotters onto a PNG or SVG backend: axes, labels in percent for accuracies,
//! legends; one function per kind of figure, sharing the frame (title, margins, label areas).

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::chart::MeshStyle;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{fonts, PALETTE};
use super::{fit_line, five_numbers, spearman, Band, Data, Fit, Spec};

/// The figure's size: the spec's, or a cell's height per cell drawn.
fn size(spec: &Spec, data: &Data) -> (u32, u32) {
    match data {
        Data::Cells(c) => (super::cell::SIZE.0, super::cell::SIZE.1 * c.len() as u32),
        _ => (spec.width, spec.height),
    }
}

pub fn png(spec: &Spec, data: &Data, path: &Path) -> Result<()> {
    fonts();
    let root = BitMapBackend::new(path, size(spec, data)).into_drawing_area();
    draw(spec, data, root)
}

pub fn svg(spec: &Spec, data: &Data, path: &Path) -> Result<()> {
    fonts();
    let root = SVGBackend::new(path, size(spec, data)).into_drawing_area();
    draw(spec, data, root)
}

/// A plotters backend whose errors can become anyhow errors (both of robbench's can).
trait Backend: DrawingBackend<ErrorType: 'static> {}
impl<B: DrawingBackend<ErrorType: 'static>> Backend for B {}

type Mesh<'a, 'b, DB> = MeshStyle<'a, 'b, RangedCoordf64, RangedCoordf64, DB>;

/// What the kinds' meshes share: the y axis (its description, ticks in percent where `percent`)
/// and the label font; then the mesh is drawn.
fn draw_mesh<DB: Backend>(
    mesh: &mut Mesh<'_, '_, DB>,
    y_desc: String,
    percent: bool,
) -> Result<()> {
    mesh.y_desc(y_desc)
        .y_label_formatter(tick(percent))
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(err)
}

/// The x axis' description: the `xlabel` option, or the x column's name.
fn x_desc(spec: &Spec) -> String {
    spec.xlabel.clone().or(spec.x.clone()).unwrap_or_default()
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("{e:?}")
}

/// The range of `v` with a margin of 5 % on each side.
fn range(v: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = v.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    let pad = ((hi - lo) * 0.05).max(1e-9);
    (lo - pad)..(hi + pad)
}

fn axis_label(percent: bool, explicit: &Option<String>, column: Option<&str>) -> String {
    let name = explicit.clone().or(column.map(str::to_string)).unwrap_or_default();
    if percent && explicit.is_none() && !name.is_empty() {
        format!("{name} (%)")
    } else {
        name
    }
}

/// Tick labels: in percent for accuracies (values in [0, 1]) unless `percent=off`.
fn tick(percent: bool) -> &'static dyn Fn(&f64) -> String {
    fn in_percent(v: &f64) -> String {
        format!("{:.0}", v * 100.0)
    }
    fn number(v: &f64) -> String {
        if v.abs() >= 1000.0 || (v.abs() < 0.01 && *v != 0.0) {
            format!("{v:.2e}")
        } else {
            format!("{v:.3}")
        }
    }
    if percent {
        &in_percent
    } else {
        &number
    }
}

/// Whether an axis shows accuracies: `percent` on and every value in [0, 1].
fn pct(spec: &Spec, values: impl Iterator<Item = f64>) -> bool {
    let mut values = values;
    spec.percent && values.all(|v| (0.0..=1.0).contains(&v))
}

fn draw<DB: Backend>(spec: &Spec, data: &Data, root: DrawingArea<DB, Shift>) -> Result<()> {
    if let Data::Cells(archs) = data {
        return super::cell::draw_many(archs, root);
    }
    root.fill(&WHITE).map_err(err)?;
    let title = spec.title.clone().unwrap_or_default();
    let mut builder = ChartBuilder::on(&root);
    // Category names on the y axis of a heat map need the room.
    let y_area = if matches!(data, Data::Grid { .. }) { 130 } else { 70 };
    builder
        .caption(&title, ("sans-serif", 24))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(y_area);
    match data {
        Data::Points(groups) => points(spec, &mut builder, groups)?,
        Data::Boxes(boxes) => self::boxes(spec, &mut builder, boxes)?,
        Data::Grid { rows, cols, values } => grid(spec, &mut builder, rows, cols, values)?,
        Data::Bands(groups) => bands(spec, &mut builder, groups)?,
        Data::Bars(bars) => self::bars(spec, &mut builder, bars)?,
        Data::Cells(_) => unreachable!("drawn above"),
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Points per group, with a fitted line or Spearman's rho in the legend when asked.
fn points<DB: Backend>(
    spec: &Spec,
    builder: &mut ChartBuilder<DB>,
    groups: &[(String, Vec<(f64, f64)>)],
) -> Result<()> {
    let all = || groups.iter().flat_map(|(_, p)| p.iter());
    let xr = range(all().map(|p| p.0));
    let yr = range(all().map(|p| p.1));
    let (px, py) = (pct(spec, all().map(|p| p.0)), pct(spec, all().map(|p| p.1)));
    let mut chart = builder.build_cartesian_2d(xr.clone(), yr).map_err(err)?;
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(axis_label(px, &spec.xlabel, spec.x.as_deref())).x_label_formatter(tick(px));
    draw_mesh(&mut mesh, axis_label(py, &spec.ylabel, Some(&spec.y_name())), py)?;
    let named = groups.len() > 1 || spec.fit.is_some() || !groups[0].0.is_empty();
    for (k, (name, pts)) in groups.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let mut label = name.clone();
        if spec.fit == Some(Fit::Spearman) {
            let rho = spearman(pts).map_or("n/a".into(), |r| format!("{r:.3}"));
            label = format!("{label} Spearman {rho}").trim().to_string();
        }
        let series = chart
            .draw_series(pts.iter().map(|&(x, y)| Circle::new((x, y), 3, color.mix(0.6).filled())))
            .map_err(err)?;
        if named {
            series.label(label).legend(move |(x, y)| Circle::new((x, y), 4, color.filled()));
        }
        if spec.fit == Some(Fit::Line) {
            if let Some((a, b)) = fit_line(pts) {
                let ends = [xr.start, xr.end].map(|x| (x, a + b * x));
                chart.draw_series(LineSeries::new(ends, color.stroke_width(2))).map_err(err)?;
            }
        }
    }
    legend(&mut chart, named)
}

/// A box plot per group (quartiles, whiskers at the extremes) and an optional reference line.
fn boxes<DB: Backend>(
    spec: &Spec,
    builder: &mut ChartBuilder<DB>,
    boxes: &[(String, Vec<f64>)],
) -> Result<()> {
    let n = boxes.len();
    let mut values: Vec<f64> = boxes.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    values.extend(spec.reference);
    let py = pct(spec, values.iter().copied());
    let yr = range(values.into_iter());
    let names: Vec<String> = boxes.iter().map(|(n, _)| n.clone()).collect();
    let mut chart = builder.build_cartesian_2d(-0.5..(n as f64 - 0.5), yr).map_err(err)?;
    let x_tick = |v: &f64| {
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < names.len() {
            names[i as usize].clone()
        } else {
            String::new()
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh().x_labels(n).x_label_formatter(&x_tick).x_desc(x_desc(spec));
    let y = if spec.x.is_some() { spec.y_name() } else { "accuracy".into() };
    draw_mesh(&mut mesh, axis_label(py, &spec.ylabel, Some(&y)), py)?;
    for (k, (_, v)) in boxes.iter().enumerate() {
        let [lo, q1, q2, q3, hi] = five_numbers(v);
        let c = k as f64;
        let color = PALETTE[k % PALETTE.len()];
        chart
            .draw_series([Rectangle::new([(c - 0.3, q1), (c + 0.3, q3)], color.mix(0.35).filled())])
            .map_err(err)?;
        chart
            .draw_series([
                PathElement::new(
                    vec![(c - 0.3, q1), (c + 0.3, q1), (c + 0.3, q3), (c - 0.3, q3), (c - 0.3, q1)],
                    BLACK,
                ),
                PathElement::new(vec![(c - 0.3, q2), (c + 0.3, q2)], BLACK.stroke_width(2)),
                PathElement::new(vec![(c, q3), (c, hi)], BLACK),
                PathElement::new(vec![(c, q1), (c, lo)], BLACK),
                PathElement::new(vec![(c - 0.15, hi), (c + 0.15, hi)], BLACK),
                PathElement::new(vec![(c - 0.15, lo), (c + 0.15, lo)], BLACK),
            ])
            .map_err(err)?;
    }
    if let Some(r) = spec.reference {
        chart
            .draw_series([PathElement::new(
                vec![(-0.5, r), (n as f64 - 0.5, r)],
                RED.stroke_width(2),
            )])
            .map_err(err)?
            .label(format!("reference {}", tick(py)(&r)))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
        legend(&mut chart, true)?;
    }
    Ok(())
}

/// A heat map: a viridis cell per (row, column), its value written in it.
fn grid<DB: Backend>(
    spec: &Spec,
    builder: &mut ChartBuilder<DB>,
    rows: &[String],
    cols: &[String],
    values: &std::collections::BTreeMap<(usize, usize), f64>,
) -> Result<()> {
    let (nr, nc) = (rows.len(), cols.len());
    let vr = range(values.values().copied());
    let mut chart = builder.build_cartesian_2d(0.0..nc as f64, 0.0..nr as f64).map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(nc * 2 + 1)
        .y_labels(nr * 2 + 1)
        .x_label_formatter(&|v: &f64| label_at(cols, *v))
        .y_label_formatter(&|v: &f64| label_at(rows, nr as f64 - *v))
        .x_desc(x_desc(spec))
        .y_desc(spec.ylabel.clone().or(Some(spec.y_name())).unwrap_or_default())
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    for (&(r, c), &v) in values {
        let t = (v - vr.start) / (vr.end - vr.start);
        let color = ViridisRGB::get_color(t);
        let top = (nr - r) as f64;
        chart
            .draw_series([Rectangle::new(
                [(c as f64, top - 1.0), (c as f64 + 1.0, top)],
                color.filled(),
            )])
            .map_err(err)?;
        let ink = if t > 0.6 { BLACK } else { WHITE };
        chart
            .draw_series([Text::new(
                format!("{v:.3}"),
                (c as f64 + 0.3, top - 0.4),
                ("sans-serif", 14).into_font().color(&ink),
            )])
            .map_err(err)?;
    }
    Ok(())
}

/// Mean lines with a band of one standard deviation, per group.
fn bands<DB: Backend>(
    spec: &Spec,
    builder: &mut ChartBuilder<DB>,
    groups: &[(String, Vec<Band>)],
) -> Result<()> {
    let all = || groups.iter().flat_map(|(_, p)| p.iter());
    let xr = range(all().map(|p| p.0));
    let yr = range(all().flat_map(|p| [p.1 - p.2, p.1 + p.2]));
    let py = pct(spec, all().map(|p| p.1));
    let mut chart = builder.build_cartesian_2d(xr, yr).map_err(err)?;
    draw_mesh(
        chart.configure_mesh().x_desc(x_desc(spec)),
        axis_label(py, &spec.ylabel, Some(&spec.y_name())),
        py,
    )?;
    let named = groups.len() > 1 || !groups[0].0.is_empty();
    for (k, (name, pts)) in groups.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let mut band: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.1 + p.2)).collect();
        band.extend(pts.iter().rev().map(|p| (p.0, p.1 - p.2)));
        chart.draw_series([Polygon::new(band, color.mix(0.2).filled())]).map_err(err)?;
        let line = chart
            .draw_series(LineSeries::new(pts.iter().map(|p| (p.0, p.1)), color.stroke_width(2)))
            .map_err(err)?;
        if named {
            line.label(name.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        }
    }
    legend(&mut chart, named)
}

/// A bar per category.
fn bars<DB: Backend>(
    spec: &Spec,
    builder: &mut ChartBuilder<DB>,
    bars: &[(String, f64)],
) -> Result<()> {
    let n = bars.len();
    let yr = range(bars.iter().map(|b| b.1).chain([0.0]));
    let py = pct(spec, bars.iter().map(|b| b.1));
    let names: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    let mut chart = builder.build_cartesian_2d(-0.5..(n as f64 - 0.5), yr).map_err(err)?;
    let x_tick = |v: &f64| label_at(&names, *v + 0.5);
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh().x_labels(n).x_label_formatter(&x_tick).x_desc(x_desc(spec));
    draw_mesh(&mut mesh, axis_label(py, &spec.ylabel, Some(&spec.y_name())), py)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(k, (_, v))| {
            let c = k as f64;
            Rectangle::new([(c - 0.35, 0.0), (c + 0.35, *v)], PALETTE[0].filled())
        }))
        .map_err(err)?;
    Ok(())
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The legend of the series that have labels, in a framed box at the upper right (where `shown`).
fn legend<'a, DB: Backend + 'a>(chart: &mut Chart<'a, DB>, shown: bool) -> Result<()> {
    if !shown {
        return Ok(());
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()
        .map_err(err)
}

/// The label of the cell whose span holds `v` (tick positions at cell centres).
fn label_at(labels: &[String], v: f64) -> String {
    let i = v - 0.5;
    let k = i.round();
    if (i - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < labels.len() {
        labels[k as usize].clone()
    } else {
        String::new()
    }
}
