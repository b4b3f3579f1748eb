//! SVG charts of a report directory, one set per API variant: throughput and latency over time,
//! the latency percentile spectrum and the per-shard load. Drawn with plotters' SVG backend and
//! its built-in text measurement, so no system font is read; text stays `<text>` elements.
//!
//! A chart without data is left out, never drawn empty.

use super::load::{IntervalRow, ReportData};
use super::sweep::{Step, count};
use super::{ShardSummary, VariantSummary};
use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;

/// One chart, ready to be written to `charts/<file_name>` or embedded in report.html.
#[derive(Debug, Clone)]
pub struct Chart {
    pub file_name: String,
    pub title: String,
    pub svg: String,
}

/// Every chart of the report, in the order report.html shows them: per variant throughput,
/// latency, percentile spectrum and shards.
pub fn render(data: &ReportData) -> anyhow::Result<Vec<Chart>> {
    let several = data.summary.variants.len() > 1;
    let mut charts = Vec::new();
    for v in &data.summary.variants {
        let rows: Vec<&IntervalRow> = data
            .intervals_of(&v.api)
            .filter(|r| r.elapsed_s.is_finite() && r.interval_s.is_finite())
            .collect();
        let titled = |what: &str| {
            if several {
                format!("{what} ({})", v.api)
            } else {
                what.to_string()
            }
        };
        type Draw<'a> = Box<dyn Fn(&str) -> anyhow::Result<Option<String>> + 'a>;
        let kinds: [(&str, &str, Draw); 4] = [
            (
                "throughput",
                "Throughput over time: records/s offered, acknowledged and received",
                Box::new(|t| throughput(v, &rows, t)),
            ),
            (
                "latency",
                "Latency over time: put and end-to-end, per interval",
                Box::new(|t| latency(v, &rows, t)),
            ),
            (
                "spectrum",
                "Latency by percentile over the measured phases",
                Box::new(|t| spectrum(data, v, t)),
            ),
            (
                "shards",
                "Writes per shard over the measured phases",
                Box::new(|t| shards(v, t)),
            ),
        ];
        for (kind, what, draw) in kinds {
            let title = titled(what);
            if let Some(svg) = draw(&title)? {
                charts.push(Chart {
                    file_name: format!("{}-{kind}.svg", v.api),
                    title,
                    svg,
                });
            }
        }
    }
    Ok(charts)
}

// ---------------------------------------------------------------------------------------------
// Style

/// Okabe-Ito, a palette that colour-blind readers tell apart.
const DEEP_BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
const ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
const SKY: RGBColor = RGBColor(0x56, 0xB4, 0xE9);
const BLUISH_GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
const PURPLE: RGBColor = RGBColor(0xCC, 0x79, 0xA7);
const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
const GREY: RGBColor = RGBColor(0x70, 0x70, 0x70);
const GRID: RGBColor = RGBColor(0xE2, 0xE2, 0xE2);
const SHADE: RGBColor = RGBColor(0xF1, 0xF1, 0xF1);

const FONT: &str = "sans-serif";
/// Sizes as plotters takes them (the SVG gets size / 1.24 as font-size).
const TITLE_SIZE: f64 = 21.0;
const TEXT_SIZE: f64 = 16.0;
const SMALL_SIZE: f64 = 15.0;

const WIDTH: u32 = 900;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A plot on `area` with the margins every chart uses; `right` is the right margin, `x_labels`
/// the height of the x axis's label area (smaller for an upper panel without axis title).
fn plot<'a, 'b>(
    area: &'a Area<'b>,
    right: u32,
    bottom: u32,
    x_labels: u32,
) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut b = ChartBuilder::on(area);
    b.margin_left(12)
        .margin_right(right)
        .margin_bottom(bottom)
        .x_label_area_size(x_labels)
        .y_label_area_size(72);
    b
}

/// Estimated width in pixels of `text` at plotters size `size` (proportional sans-serif).
fn text_width(text: &str, size: f64) -> i32 {
    (text.chars().count() as f64 * size / 1.24 * 0.55).ceil() as i32
}

fn font(size: f64) -> TextStyle<'static> {
    (FONT, size).into_font().color(&INK)
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("cannot draw a chart: {e}")
}

/// Draws into an SVG document of `size` pixels, white background.
fn svg(size: (u32, u32), draw: impl FnOnce(&Area) -> anyhow::Result<()>) -> anyhow::Result<String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}

/// How a legend entry shows its series.
#[derive(Clone, Copy)]
enum Swatch {
    Line(u32),
    Bar,
    /// The grey shading of the phases not measured.
    Shade,
    Dashed,
    /// A round marker, filled or (false) hollow: white inside, ringed in the colour.
    Marker(bool),
}

struct Key {
    label: String,
    color: RGBColor,
    swatch: Swatch,
}

fn key(label: &str, color: RGBColor, swatch: Swatch) -> Key {
    Key {
        label: label.to_string(),
        color,
        swatch,
    }
}

/// The title, then a row of legend entries under it (wrapping when it has to) and `remark` in
/// grey, right-aligned on the last row or on a row of its own; returns the height it took.
fn header(root: &Area, title: &str, keys: &[Key], remark: &str) -> anyhow::Result<u32> {
    let title_style = (FONT, TITLE_SIZE)
        .into_font()
        .style(FontStyle::Bold)
        .color(&INK);
    root.draw(&Text::new(title.to_string(), (16, 10), title_style))
        .map_err(err)?;
    let (mut x, mut y) = (16, 46);
    for k in keys {
        let w = 24 + 6 + text_width(&k.label, TEXT_SIZE) + 22;
        if x + w > WIDTH as i32 - 10 && x > 16 {
            x = 16;
            y += 20;
        }
        // swatches are rectangles, never polylines, so that a series' polyline is its only one
        match k.swatch {
            Swatch::Line(width) => {
                let half = (width as i32).max(2) / 2;
                root.draw(&Rectangle::new(
                    [(x, y - half), (x + 24, y - half + (width as i32).max(2))],
                    k.color.filled(),
                ))
                .map_err(err)?;
            }
            Swatch::Bar => {
                root.draw(&Rectangle::new(
                    [(x + 4, y - 6), (x + 20, y + 6)],
                    k.color.filled(),
                ))
                .map_err(err)?;
            }
            Swatch::Shade => {
                root.draw(&Rectangle::new(
                    [(x + 4, y - 6), (x + 20, y + 6)],
                    SHADE.filled(),
                ))
                .map_err(err)?;
                root.draw(&Rectangle::new([(x + 4, y - 6), (x + 20, y + 6)], GRID))
                    .map_err(err)?;
            }
            Swatch::Dashed => {
                for dx in [0, 10, 20] {
                    root.draw(&Rectangle::new(
                        [(x + dx, y - 1), (x + dx + 5, y + 1)],
                        k.color.filled(),
                    ))
                    .map_err(err)?;
                }
            }
            Swatch::Marker(filled) => marker(root, (x + 12, y), k.color, filled)?,
        }
        let style = font(TEXT_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
        root.draw(&Text::new(k.label.clone(), (x + 30, y), style))
            .map_err(err)?;
        x += w;
    }
    if !remark.is_empty() {
        let right = WIDTH as i32 - 16;
        if x + text_width(remark, SMALL_SIZE) > right {
            y += 20;
        }
        note(
            root,
            remark,
            (right, y),
            Pos::new(HPos::Right, VPos::Center),
        )?;
    }
    Ok((y + 16) as u32)
}

/// A note in small grey type at pixel `(x, y)`, anchored by `pos`.
fn note(area: &Area, text: &str, (x, y): (i32, i32), pos: Pos) -> anyhow::Result<()> {
    let style = (FONT, SMALL_SIZE).into_font().color(&GREY).pos(pos);
    area.draw(&Text::new(text.to_string(), (x, y), style))
        .map_err(err)
}

// ---------------------------------------------------------------------------------------------
// Numbers and ticks

/// The largest finite value, or None.
fn max_of(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .reduce(f64::max)
}

/// The smallest finite positive value, or None.
fn min_positive(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    values
        .into_iter()
        .filter(|v| v.is_finite() && *v > 0.0)
        .reduce(f64::min)
}

/// Evenly spaced round ticks (1, 2 or 5 times a power of ten) from `lo` to `hi`, at most
/// `max_n` + 1 of them.
fn linear_ticks(lo: f64, hi: f64, max_n: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(span > 0.0 && span.is_finite()) || max_n == 0 {
        return vec![lo];
    }
    let raw = span / max_n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * mag);
    let mut ticks = Vec::new();
    let mut i = (lo / step).ceil();
    while i * step <= hi + step * 1e-9 && ticks.len() <= max_n + 1 {
        // snap away float noise (0.30000000000000004)
        ticks.push((i * step * 1e9).round() / 1e9);
        i += 1.0;
    }
    ticks
}

/// Ticks for a log axis from `lo` to `hi` (both > 0): 1, 2 and 5 per decade, or only the powers
/// of ten when that makes too many.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return Vec::new();
    }
    let mut all = Vec::new();
    let mut e = lo.log10().floor() as i32;
    while 10f64.powi(e) <= hi && all.len() < 100 {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powi(e);
            if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                all.push((m, v));
            }
        }
        e += 1;
    }
    if all.len() <= 9 {
        return all.into_iter().map(|(_, v)| v).collect();
    }
    let decades: Vec<f64> = all
        .into_iter()
        .filter(|(m, _)| *m == 1.0)
        .map(|(_, v)| v)
        .collect();
    if decades.len() <= 9 {
        decades
    } else {
        decades.into_iter().step_by(2).collect()
    }
}

/// An axis label: "3,000", "12", "0.5".
fn axis_num(v: &f64) -> String {
    let v = *v;
    if !v.is_finite() {
        return String::new();
    }
    if v.abs() >= 1000.0 {
        return thousands(v.round());
    }
    let s = format!("{:.3}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// 12345 -> "12,345".
fn thousands(v: f64) -> String {
    let digits = super::html::count(v.abs().round() as u64);
    if v < 0.0 {
        format!("-{digits}")
    } else {
        digits
    }
}

/// A log y range around `lo..=hi` (positive), with `headroom` times the top for labels.
fn log_range(lo: f64, hi: f64, headroom: f64) -> Range<f64> {
    (lo / 1.6)..(hi.max(lo) * headroom)
}

/// An axis of f64 values, linear or logarithmic, with ticks of our choosing (plotters' own
/// key points are not always round, and its custom key points lose the label formatter).
struct Axis {
    scale: Scale,
    ticks: Vec<f64>,
}

enum Scale {
    Linear(RangedCoordf64),
    Log(LogCoord<f64>),
    /// Linear through zero, logarithmic well above `c`: the value's [`symlog`] mapped linearly.
    SymLog {
        c: f64,
        range: Range<f64>,
        mapped: RangedCoordf64,
    },
}

impl Axis {
    fn linear(range: Range<f64>, ticks: Vec<f64>) -> Axis {
        Axis {
            scale: Scale::Linear(range.into()),
            ticks,
        }
    }

    /// `range` must be positive.
    fn log(range: Range<f64>) -> Axis {
        let ticks = log_ticks(range.start, range.end);
        Axis {
            scale: Scale::Log(range.log_scale().into()),
            ticks,
        }
    }

    /// A symmetric-log axis over `range`, linear near zero up to about `c` (see [`symlog`]).
    fn symlog(range: Range<f64>, c: f64, ticks: Vec<f64>) -> Axis {
        let mapped = (symlog(range.start, c)..symlog(range.end, c)).into();
        Axis {
            scale: Scale::SymLog { c, range, mapped },
            ticks,
        }
    }
}

/// log10(1 + |v| / c), signed like `v`: about linear for |v| well under `c`, logarithmic well
/// above it, and 0 at 0, which a log scale cannot show.
fn symlog(v: f64, c: f64) -> f64 {
    v.signum() * (1.0 + v.abs() / c).log10()
}

/// The value whose [`symlog`] is `t`.
fn symlog_inverse(t: f64, c: f64) -> f64 {
    t.signum() * c * (10f64.powf(t.abs()) - 1.0)
}

/// Ticks for a symlog axis from 0 to `hi` with linear threshold `c` (a power of ten): 0 and the
/// powers of ten from `c`, no two closer than a `max_n`th of the axis, then 2 and 5 times them
/// where there is room for twice that.
fn symlog_ticks(c: f64, hi: f64, max_n: usize) -> Vec<f64> {
    let span = symlog(hi, c);
    if !(c > 0.0 && span > 0.0 && span.is_finite()) || max_n == 0 {
        return vec![0.0];
    }
    let gap = span / max_n as f64;
    let mut decades = Vec::new();
    let mut e = c.log10().round() as i32;
    while 10f64.powi(e) <= hi * (1.0 + 1e-9) && decades.len() < 100 {
        decades.push(10f64.powi(e));
        e += 1;
    }
    let mut ticks = vec![0.0];
    for v in decades.iter().copied() {
        if ticks
            .last()
            .is_none_or(|t| symlog(v, c) - symlog(*t, c) >= gap)
        {
            ticks.push(v);
        }
    }
    for v in decades.iter().flat_map(|d| [2.0 * d, 5.0 * d]) {
        if v <= hi * (1.0 + 1e-9)
            && ticks
                .iter()
                .all(|t| (symlog(v, c) - symlog(*t, c)).abs() >= 2.0 * gap)
        {
            ticks.push(v);
        }
    }
    ticks.sort_by(f64::total_cmp);
    ticks
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        match &self.scale {
            Scale::Linear(s) => s.map(value, limit),
            Scale::Log(s) => s.map(value, limit),
            Scale::SymLog { c, mapped, .. } => mapped.map(&symlog(*value, *c), limit),
        }
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        match &self.scale {
            Scale::Linear(s) => s.range(),
            Scale::Log(s) => s.range(),
            Scale::SymLog { range, .. } => range.clone(),
        }
    }
}

/// Light grid, axes, tick labels and the axes' descriptions.
fn mesh(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<Axis, Axis>>,
    (x_desc, x_fmt): (&str, &dyn Fn(&f64) -> String),
    (y_desc, y_fmt): (&str, &dyn Fn(&f64) -> String),
    x_grid: bool,
) -> anyhow::Result<()> {
    let mut mesh = chart.configure_mesh();
    if !x_grid {
        mesh.disable_x_mesh();
    }
    if !x_desc.is_empty() {
        mesh.x_desc(x_desc);
    }
    mesh.bold_line_style(GRID.stroke_width(1))
        .max_light_lines(0)
        .axis_style(GREY.stroke_width(1))
        .label_style(font(SMALL_SIZE))
        .axis_desc_style(font(TEXT_SIZE))
        .x_label_formatter(x_fmt)
        .y_label_formatter(y_fmt)
        .y_desc(y_desc)
        .draw()
        .map_err(err)
}

// ---------------------------------------------------------------------------------------------
// Phases

/// Where a phase starts on the time axis.
struct PhaseMark {
    start_s: f64,
    end_s: f64,
    name: String,
    measured: bool,
}

/// One mark per run of rows of the same phase; a phase starts where its first interval does.
fn phase_marks(v: &VariantSummary, rows: &[&IntervalRow]) -> Vec<PhaseMark> {
    let mut marks: Vec<PhaseMark> = Vec::new();
    for r in rows {
        match marks.last_mut() {
            Some(m) if m.name == r.phase => m.end_s = r.elapsed_s,
            _ => marks.push(PhaseMark {
                start_s: (r.elapsed_s - r.interval_s).max(0.0),
                end_s: r.elapsed_s,
                name: r.phase.clone(),
                measured: v
                    .phases
                    .iter()
                    .find(|p| p.phase == r.phase)
                    .is_none_or(|p| p.measure),
            }),
        }
    }
    marks
}

/// Pixel x of time `x` in a plot spanning `px` for the times `range`.
fn px_of(x: f64, range: &Range<f64>, px: &Range<i32>) -> i32 {
    let span = range.end - range.start;
    if span.is_nan() || span <= 0.0 {
        return px.start;
    }
    let f = ((x - range.start) / span).clamp(0.0, 1.0);
    px.start + (f * f64::from(px.end - px.start)).round() as i32
}

/// Grey shading under the phases that are not measured (the warm-up).
fn shade_unmeasured(
    root: &Area,
    marks: &[PhaseMark],
    x_range: &Range<f64>,
    (px, py): &(Range<i32>, Range<i32>),
) -> anyhow::Result<()> {
    for m in marks.iter().filter(|m| !m.measured) {
        let (x0, x1) = (px_of(m.start_s, x_range, px), px_of(m.end_s, x_range, px));
        if x1 > x0 {
            root.draw(&Rectangle::new(
                [(x0, py.start), (x1, py.end)],
                SHADE.filled(),
            ))
            .map_err(err)?;
        }
    }
    Ok(())
}

/// Dashed vertical lines where each phase after the first starts, and (with `labels`) the phase
/// names near the top, stacked in up to three rows so that they never overlap.
fn draw_phase_marks(
    root: &Area,
    marks: &[PhaseMark],
    x_range: &Range<f64>,
    (px, py): &(Range<i32>, Range<i32>),
    labels: bool,
) -> anyhow::Result<()> {
    let line = ShapeStyle::from(&GREY).stroke_width(1);
    let mut rows: [Vec<Range<i32>>; 3] = Default::default();
    for (i, m) in marks.iter().enumerate() {
        let x = px_of(m.start_s, x_range, px);
        if i > 0 {
            let mut y = py.start;
            while y < py.end {
                let y1 = (y + 5).min(py.end);
                root.draw(&Rectangle::new([(x, y), (x + 1, y1)], line.filled()))
                    .map_err(err)?;
                y += 9;
            }
        }
        if !labels {
            continue;
        }
        let text = m.name.clone();
        let w = text_width(&text, SMALL_SIZE);
        // right of the line, or left of it when it would run past the plot
        let right = x + 4 + w <= px.end;
        let span = if right {
            x + 4..x + 4 + w
        } else {
            (x - 4 - w).max(px.start)..x - 4
        };
        let Some(row) = rows.iter().position(|placed| {
            placed
                .iter()
                .all(|p| span.end + 6 <= p.start || p.end + 6 <= span.start)
        }) else {
            continue;
        };
        rows[row].push(span.clone());
        let (tx, anchor) = if right {
            (span.start, HPos::Left)
        } else {
            (span.end, HPos::Right)
        };
        let style = (FONT, SMALL_SIZE)
            .into_font()
            .color(&GREY)
            .pos(Pos::new(anchor, VPos::Top));
        root.draw(&Text::new(
            text,
            (tx, py.start + 4 + 16 * row as i32),
            style,
        ))
        .map_err(err)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Throughput

/// A series drawn as one polyline, and its legend entry.
struct Line {
    label: &'static str,
    color: RGBColor,
    width: u32,
    points: Vec<(f64, f64)>,
}

impl Line {
    fn key(&self) -> Key {
        key(self.label, self.color, Swatch::Line(self.width))
    }

    fn draw(
        &self,
        chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<Axis, Axis>>,
    ) -> anyhow::Result<()> {
        if self.points.is_empty() {
            return Ok(());
        }
        chart
            .draw_series(LineSeries::new(
                self.points.iter().copied(),
                self.color.stroke_width(self.width),
            ))
            .map_err(err)?;
        Ok(())
    }
}

type Pick = fn(&IntervalRow) -> f64;

fn throughput(
    v: &VariantSummary,
    rows: &[&IntervalRow],
    title: &str,
) -> anyhow::Result<Option<String>> {
    let series: [(&str, RGBColor, u32, Pick); 3] = [
        ("offered", SKY, 6, |r| r.offered_rps),
        ("acknowledged", DEEP_BLUE, 2, |r| r.acknowledged_rps),
        ("received", ORANGE, 2, |r| r.received_rps),
    ];
    // without a consumer nothing was received: no line rather than a flat zero
    let consumer = v.accounting.consumer;
    let lines: Vec<Line> = series
        .iter()
        .filter(|(label, ..)| consumer || *label != "received")
        .map(|(label, color, width, f)| Line {
            label,
            color: *color,
            width: *width,
            points: rows
                .iter()
                .map(|r| (r.elapsed_s, f(r)))
                .filter(|(_, y)| y.is_finite())
                .collect(),
        })
        .collect();
    let all_y = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
    let (Some(x_max), Some(y_max)) = (max_of(rows.iter().map(|r| r.elapsed_s)), max_of(all_y))
    else {
        return Ok(None);
    };
    let x_range = 0.0..x_max.max(1e-3);
    // room above the lines for the phase names
    let y_top = (y_max * 1.22).max(1.0);
    let marks = phase_marks(v, rows);
    let mut keys: Vec<Key> = lines.iter().map(Line::key).collect();
    if marks.iter().any(|m| !m.measured) {
        keys.push(key("not measured", SHADE, Swatch::Shade));
    }
    let remark = if consumer {
        ""
    } else {
        "consumer disabled: nothing was read back"
    };
    let svg = svg((WIDTH, 430), |root| {
        let top = header(root, title, &keys, remark)?;
        let (_, body) = root.split_vertically(top);
        let mut chart = plot(&body, 24, 8, 44)
            .build_cartesian_2d(
                Axis::linear(x_range.clone(), linear_ticks(0.0, x_range.end, 12)),
                Axis::linear(0.0..y_top, linear_ticks(0.0, y_top, 6)),
            )
            .map_err(err)?;
        let plot = chart.plotting_area().get_pixel_range();
        shade_unmeasured(root, &marks, &x_range, &plot)?;
        mesh(
            &mut chart,
            ("time since the variant's start (s)", &axis_num),
            ("records/s", &axis_num),
            true,
        )?;
        draw_phase_marks(root, &marks, &x_range, &plot, true)?;
        for line in &lines {
            line.draw(&mut chart)?;
        }
        Ok(())
    })?;
    Ok(Some(svg))
}

// ---------------------------------------------------------------------------------------------
// Latency over time

fn latency(
    v: &VariantSummary,
    rows: &[&IntervalRow],
    title: &str,
) -> anyhow::Result<Option<String>> {
    let panels: [(&str, [Pick; 3]); 2] = [
        (
            "put latency (ms)",
            [|r| r.put_p50_ms, |r| r.put_p99_ms, |r| r.put_max_ms],
        ),
        (
            "end-to-end latency (ms)",
            [|r| r.e2e_p50_ms, |r| r.e2e_p99_ms, |r| r.e2e_max_ms],
        ),
    ];
    let names = [
        ("p50", DEEP_BLUE, 2),
        ("p99", ORANGE, 2),
        ("max", PURPLE, 1),
    ];
    // per panel, per series: only the intervals that had records (0 means none)
    let data: Vec<Vec<Line>> = panels
        .iter()
        .map(|(_, picks)| {
            picks
                .iter()
                .zip(names)
                .map(|(f, (label, color, width))| Line {
                    label,
                    color,
                    width,
                    points: rows
                        .iter()
                        .map(|r| (r.elapsed_s, f(r)))
                        .filter(|(_, y)| y.is_finite() && *y > 0.0)
                        .collect(),
                })
                .collect()
        })
        .collect();
    let values = || {
        data.iter()
            .flatten()
            .flat_map(|l| l.points.iter().map(|p| p.1))
    };
    let (Some(lo), Some(hi), Some(x_max)) = (
        min_positive(values()),
        max_of(values()),
        max_of(rows.iter().map(|r| r.elapsed_s)),
    ) else {
        return Ok(None);
    };
    let x_range = 0.0..x_max.max(1e-3);
    // one y scale for both panels, so that they compare at a glance
    let y_range = log_range(lo, hi, 3.0);
    let marks = phase_marks(v, rows);
    let mut keys: Vec<Key> = names
        .iter()
        .map(|(n, c, w)| key(n, *c, Swatch::Line(*w)))
        .collect();
    if marks.iter().any(|m| !m.measured) {
        keys.push(key("not measured", SHADE, Swatch::Shade));
    }
    let svg = svg((WIDTH, 660), |root| {
        let top = header(
            root,
            title,
            &keys,
            "log scale; intervals without records are left out",
        )?;
        let (_, body) = root.split_vertically(top);
        let halves = body.split_evenly((2, 1));
        let panes = panels.iter().zip(&halves).zip(&data);
        for (i, (((desc, _), area), series)) in panes.enumerate() {
            let bottom = i + 1 == panels.len();
            let mut chart = plot(
                area,
                24,
                if bottom { 8 } else { 14 },
                if bottom { 44 } else { 24 },
            )
            .build_cartesian_2d(
                Axis::linear(x_range.clone(), linear_ticks(0.0, x_range.end, 12)),
                Axis::log(y_range.clone()),
            )
            .map_err(err)?;
            let plot = chart.plotting_area().get_pixel_range();
            shade_unmeasured(root, &marks, &x_range, &plot)?;
            let x_desc = if bottom {
                "time since the variant's start (s)"
            } else {
                ""
            };
            mesh(&mut chart, (x_desc, &axis_num), (desc, &axis_num), true)?;
            draw_phase_marks(root, &marks, &x_range, &plot, i == 0)?;
            if series.iter().all(|l| l.points.is_empty()) {
                let why = if i == 1 && !v.accounting.consumer {
                    "consumer disabled: nothing was read back"
                } else {
                    "no records in any interval"
                };
                note(
                    root,
                    why,
                    (
                        (plot.0.start + plot.0.end) / 2,
                        (plot.1.start + plot.1.end) / 2,
                    ),
                    Pos::new(HPos::Center, VPos::Center),
                )?;
            }
            for line in series {
                line.draw(&mut chart)?;
            }
        }
        Ok(())
    })?;
    Ok(Some(svg))
}

// ---------------------------------------------------------------------------------------------
// Percentile spectrum

/// Position of percentile `p` (0..100) on the spectrum's axis: log10(1 / (1 - p)).
fn spectrum_x(p: f64) -> f64 {
    -(1.0 - p / 100.0).log10()
}

/// The spectrum axis label at `t` = 0, 1, 2, ...: "0%", "90%", "99%", "99.9%", ...
fn percentile_label(t: &f64) -> String {
    let t = *t;
    if !t.is_finite() || t < 0.0 || (t - t.round()).abs() > 1e-6 {
        return String::new();
    }
    match t.round() as u32 {
        0 => "0%".into(),
        1 => "90%".into(),
        n => format!("99.{}%", "9".repeat(n as usize - 2)).replace(".%", "%"),
    }
}

fn spectrum(data: &ReportData, v: &VariantSummary, title: &str) -> anyhow::Result<Option<String>> {
    let histograms = [
        ("put", "put", DEEP_BLUE, 2),
        ("put_uncorrected", "put (uncorrected)", BLUISH_GREEN, 1),
        ("e2e", "e2e", ORANGE, 2),
    ];
    // the 100% point lies at infinity: left out (it equals the max, the line's last value)
    let lines: Vec<Line> = histograms
        .iter()
        .map(|(name, label, color, width)| Line {
            label,
            color: *color,
            width: *width,
            points: data
                .spectrum_of(&v.api, name)
                .filter(|r| r.percentile.is_finite() && (0.0..100.0).contains(&r.percentile))
                .map(|r| (spectrum_x(r.percentile), r.value_ms))
                .filter(|(x, y)| x.is_finite() && y.is_finite() && *y > 0.0)
                .collect(),
        })
        .filter(|l| !l.points.is_empty())
        .collect();
    let values = || lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
    let (Some(lo), Some(hi), Some(x_max)) = (
        min_positive(values()),
        max_of(values()),
        max_of(lines.iter().flat_map(|l| l.points.iter().map(|p| p.0))),
    ) else {
        return Ok(None);
    };
    let x_end = x_max.ceil().max(1.0);
    let x_ticks: Vec<f64> = (0..=x_end as u32).map(f64::from).collect();
    let y_range = log_range(lo, hi, 1.6);
    let keys: Vec<Key> = lines.iter().map(Line::key).collect();
    let svg = svg((WIDTH, 430), |root| {
        let top = header(root, title, &keys, "log scales")?;
        let (_, body) = root.split_vertically(top);
        let mut chart = plot(&body, 36, 8, 44)
            .build_cartesian_2d(
                Axis::linear(0.0..x_end, x_ticks),
                Axis::log(y_range.clone()),
            )
            .map_err(err)?;
        mesh(
            &mut chart,
            ("percentile", &percentile_label),
            ("latency (ms)", &axis_num),
            true,
        )?;
        for line in &lines {
            line.draw(&mut chart)?;
        }
        Ok(())
    })?;
    Ok(Some(svg))
}

// ---------------------------------------------------------------------------------------------
// Shards

/// The shard's number: "3" for shardId-000000000003 (the id itself when it has none).
fn shard_label(id: &str) -> String {
    let digits: String = id
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    match digits.parse::<u64>() {
        Ok(n) => n.to_string(),
        Err(_) => id.to_string(),
    }
}

/// A shard's write limit in records per second.
const SHARD_LIMIT_RPS: f64 = 1000.0;

fn shards(v: &VariantSummary, title: &str) -> anyhow::Result<Option<String>> {
    let shards: Vec<&ShardSummary> = v.per_shard.iter().collect();
    if shards.is_empty() {
        return Ok(None);
    }
    let n = shards.len();
    let labels: Vec<String> = shards.iter().map(|s| shard_label(&s.shard_id)).collect();
    let finite = |x: f64| if x.is_finite() { x.max(0.0) } else { 0.0 };
    let avg: Vec<f64> = shards.iter().map(|s| finite(s.records_per_s)).collect();
    let peak: Vec<f64> = shards
        .iter()
        .map(|s| finite(s.peak_records_per_s))
        .collect();
    let throttled: Vec<f64> = shards.iter().map(|s| s.throttled as f64).collect();
    let busiest = max_of(avg.iter().chain(&peak).copied()).unwrap_or(0.0);
    let aggregated = v.api == crate::scenario::Api::PutRecordsAggregated.name();
    // the limit line, when the load comes near enough to it for it to say something
    let limit = !aggregated && busiest >= SHARD_LIMIT_RPS * 0.1;
    let y_top = if limit {
        (busiest * 1.15).max(SHARD_LIMIT_RPS * 1.15)
    } else {
        (busiest * 1.15).max(1.0)
    };
    let throttled_max = max_of(throttled.iter().copied()).unwrap_or(0.0);
    let t_top = (throttled_max * 1.15).max(1.0);

    let mut keys = vec![
        key("average records/s", DEEP_BLUE, Swatch::Bar),
        key("peak (busiest interval)", INK, Swatch::Line(3)),
    ];
    if limit {
        keys.push(key(
            "write limit 1,000 records/s",
            VERMILLION,
            Swatch::Dashed,
        ));
    }
    keys.push(key("throttled attempts", VERMILLION, Swatch::Bar));
    let y_desc = if aggregated {
        "user records/s"
    } else {
        "records/s"
    };
    // at least six slots wide, so that one or two shards do not make slabs
    let pad = (6usize.saturating_sub(n)) as f64 / 2.0;
    let x_range = (-0.5 - pad)..(n as f64 - 0.5 + pad);
    // label every shard while they fit, else every k-th
    let every = (n * 26).div_ceil(780).max(1);
    let x_ticks: Vec<f64> = (0..n).step_by(every).map(|i| i as f64).collect();
    let label_of = |x: &f64| {
        let i = x.round();
        if (x - i).abs() > 1e-6 || i < 0.0 {
            return String::new();
        }
        labels.get(i as usize).cloned().unwrap_or_default()
    };
    // bars a little narrower than their slot
    let half = 0.36;

    let remark = if aggregated {
        "user records; an aggregate counts as one record toward the shard's 1,000 records/s"
    } else {
        ""
    };
    let svg = svg((WIDTH, 520), |root| {
        let top = header(root, title, &keys, remark)?;
        let (_, body) = root.split_vertically(top);
        let body_h = body.dim_in_pixel().1;
        let (upper, lower) = body.split_vertically(body_h * 62 / 100);
        let mut chart = plot(&upper, 24, 12, 24)
            .build_cartesian_2d(
                Axis::linear(x_range.clone(), x_ticks.clone()),
                Axis::linear(0.0..y_top, linear_ticks(0.0, y_top, 6)),
            )
            .map_err(err)?;
        mesh(&mut chart, ("", &label_of), (y_desc, &axis_num), false)?;
        chart
            .draw_series(avg.iter().enumerate().map(|(i, a)| {
                let x = i as f64;
                Rectangle::new([(x - half, 0.0), (x + half, *a)], DEEP_BLUE.filled())
            }))
            .map_err(err)?;
        chart
            .draw_series(peak.iter().enumerate().map(|(i, p)| {
                let x = i as f64;
                PathElement::new(
                    vec![(x - half - 0.06, *p), (x + half + 0.06, *p)],
                    INK.stroke_width(3),
                )
            }))
            .map_err(err)?;
        if limit {
            let plot = chart.plotting_area().get_pixel_range();
            let y = chart.backend_coord(&(0.0, SHARD_LIMIT_RPS)).1;
            let mut x = plot.0.start;
            while x < plot.0.end {
                root.draw(&Rectangle::new(
                    [(x, y - 1), ((x + 8).min(plot.0.end), y + 1)],
                    VERMILLION.filled(),
                ))
                .map_err(err)?;
                x += 13;
            }
        }

        let mut chart = plot(&lower, 24, 8, 44)
            .build_cartesian_2d(
                Axis::linear(x_range.clone(), x_ticks.clone()),
                Axis::linear(
                    0.0..t_top,
                    linear_ticks(0.0, t_top, 3)
                        .into_iter()
                        .filter(|t| t.fract() == 0.0)
                        .collect(),
                ),
            )
            .map_err(err)?;
        mesh(
            &mut chart,
            ("shard (number in its shard id)", &label_of),
            ("throttled attempts", &axis_num),
            false,
        )?;
        if throttled_max > 0.0 {
            chart
                .draw_series(throttled.iter().enumerate().map(|(i, t)| {
                    let x = i as f64;
                    Rectangle::new([(x - half, 0.0), (x + half, *t)], VERMILLION.filled())
                }))
                .map_err(err)?;
        } else {
            let plot = chart.plotting_area().get_pixel_range();
            note(
                root,
                "no record attempt was throttled",
                (
                    (plot.0.start + plot.0.end) / 2,
                    (plot.1.start + plot.1.end) / 2,
                ),
                Pos::new(HPos::Center, VPos::Center),
            )?;
        }
        Ok(())
    })?;
    Ok(Some(svg))
}

// ---------------------------------------------------------------------------------------------
// Sweep

/// The colours of a sweep's shard counts, smallest count first; cycled when there are more.
const SWEEP_COLORS: [RGBColor; 6] = [DEEP_BLUE, ORANGE, BLUISH_GREEN, VERMILLION, PURPLE, SKY];

/// Radius of a filled marker; a hollow one has a ring of 2 pixels one pixel inside it, so that
/// both reach as far.
const MARKER_RADIUS: i32 = 5;

/// A round marker at pixel `at`: filled, or hollow (white inside, ringed in `color`).
fn marker(area: &Area, at: (i32, i32), color: RGBColor, filled: bool) -> anyhow::Result<()> {
    if filled {
        area.draw(&Circle::new(at, MARKER_RADIUS, color.filled()))
            .map_err(err)
    } else {
        area.draw(&Circle::new(at, MARKER_RADIUS - 1, WHITE.filled()))
            .map_err(err)?;
        area.draw(&Circle::new(at, MARKER_RADIUS - 1, color.stroke_width(2)))
            .map_err(err)
    }
}

/// The dashes of a dashed line through `points` (pixels): `dash` pixels drawn, then `gap`
/// left out, the pattern running on round the corners.
fn dashes(points: &[(f64, f64)], dash: f64, gap: f64) -> Vec<[(f64, f64); 2]> {
    let period = dash + gap;
    let mut out = Vec::new();
    if !(dash > 0.0 && gap >= 0.0 && period.is_finite()) {
        return out;
    }
    // how far into the pattern the line is
    let mut phase = 0.0;
    for w in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        let len = (x1 - x0).hypot(y1 - y0);
        if !(len > 0.0 && len.is_finite()) {
            continue;
        }
        let (ux, uy) = ((x1 - x0) / len, (y1 - y0) / len);
        let at = |t: f64| (x0 + ux * t, y0 + uy * t);
        let mut t = 0.0;
        while len - t > 1e-9 {
            let drawing = phase < dash;
            let left = if drawing {
                dash - phase
            } else {
                period - phase
            };
            let step = left.min(len - t);
            if drawing {
                out.push([at(t), at(t + step)]);
            }
            t += step;
            phase += step;
            // snap to the pattern's edges, so that rounding never leaves a sliver
            if (phase - dash).abs() < 1e-9 {
                phase = dash;
            }
            if period - phase < 1e-9 {
                phase = 0.0;
            }
        }
    }
    out
}

/// A dashed line through `points` (pixels), `width` pixels thick, each dash a thin polygon (not
/// a polyline, so that a series' solid polyline stays its only one in its colour).
fn dashed_band(
    area: &Area,
    points: &[(f64, f64)],
    color: RGBColor,
    width: f64,
) -> anyhow::Result<()> {
    let half = width / 2.0;
    for [(ax, ay), (bx, by)] in dashes(points, 7.0, 5.0) {
        let len = (bx - ax).hypot(by - ay);
        if len < 0.5 {
            continue;
        }
        let (nx, ny) = (-(by - ay) / len * half, (bx - ax) / len * half);
        let px = |x: f64, y: f64| (x.round() as i32, y.round() as i32);
        let corners = vec![
            px(ax + nx, ay + ny),
            px(bx + nx, by + ny),
            px(bx - nx, by - ny),
            px(ax - nx, ay - ny),
        ];
        area.draw(&Polygon::new(corners, color.filled()))
            .map_err(err)?;
    }
    Ok(())
}

/// A thin grey dashed reference line through `points` (pixels).
fn dashed_rule(area: &Area, points: &[(f64, f64)]) -> anyhow::Result<()> {
    for [(ax, ay), (bx, by)] in dashes(points, 6.0, 4.0) {
        let ends = vec![
            (ax.round() as i32, ay.round() as i32),
            (bx.round() as i32, by.round() as i32),
        ];
        area.draw(&PathElement::new(ends, GREY.stroke_width(1)))
            .map_err(err)?;
    }
    Ok(())
}

/// The pixel of `(x, y)` on `chart`.
fn pixel(
    chart: &ChartContext<'_, SVGBackend<'_>, Cartesian2d<Axis, Axis>>,
    (x, y): (f64, f64),
) -> (f64, f64) {
    let (px, py) = chart.backend_coord(&(x, y));
    (f64::from(px), f64::from(py))
}

/// One shard count's steps, in the order of their offered rates.
struct SweepSeries<'a> {
    shards: u32,
    color: RGBColor,
    steps: Vec<&'a Step>,
}

impl SweepSeries<'_> {
    /// (offered, value, passed) for every step with a positive finite value picked by `f`
    /// (`zero_ok` lets zero through: nothing achieved is a value, no latency is not).
    fn points(&self, f: impl Fn(&Step) -> Option<f64>, zero_ok: bool) -> Vec<(f64, f64, bool)> {
        self.steps
            .iter()
            .filter_map(|s| Some((s.offered_rps, f(s)?, s.passed)))
            .filter(|(_, y, _)| y.is_finite() && (*y > 0.0 || (zero_ok && *y == 0.0)))
            .collect()
    }
}

/// A percentage for a label: "0.1", "2.5", "0.0005".
fn pct_num(v: f64) -> String {
    if !(v.is_finite() && v != 0.0 && v.abs() < 1.0) {
        return axis_num(&v);
    }
    let decimals = (2.0 - v.abs().log10().floor()).min(8.0) as usize;
    let s = format!("{v:.decimals$}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The sweep's knee chart, three panels against the offered rate: achieved records/s, the
/// throttled share of attempts and p99 latencies, one colour per shard count; points within the
/// SLO filled, breaching points hollow.
pub fn sweep(
    steps: &[Step],
    slo: &crate::scenario::Slo,
    title: &str,
) -> anyhow::Result<Option<String>> {
    // per shard count, smallest first; a search runs its rates out of order, so sort them
    let mut by_shards: std::collections::BTreeMap<u32, Vec<&Step>> =
        std::collections::BTreeMap::new();
    for s in steps.iter().filter(|s| s.offered_rps.is_finite()) {
        by_shards.entry(s.shards).or_default().push(s);
    }
    let series: Vec<SweepSeries> = by_shards
        .into_iter()
        .enumerate()
        .map(|(i, (shards, mut steps))| {
            steps.sort_by(|a, b| a.offered_rps.total_cmp(&b.offered_rps));
            SweepSeries {
                shards,
                color: SWEEP_COLORS[i % SWEEP_COLORS.len()],
                steps,
            }
        })
        .collect();
    let Some(x_max) = max_of(
        series
            .iter()
            .flat_map(|s| s.steps.iter().map(|s| s.offered_rps)),
    ) else {
        return Ok(None);
    };

    type Points = Vec<(f64, f64, bool)>;
    // per shard count: achieved, throttled %, put p99, e2e p99
    let data: Vec<(Points, Points, Points, Points)> = series
        .iter()
        .map(|s| {
            (
                s.points(|s| Some(s.achieved_rps), true),
                s.points(|s| Some(s.throttled_pct), true),
                s.points(|s| Some(s.put_p99_ms), false),
                s.points(|s| s.e2e_p99_ms, false),
            )
        })
        .collect();
    let slo_ms = |d: Option<std::time::Duration>| {
        d.map(|d| d.as_secs_f64() * 1000.0)
            .filter(|ms| ms.is_finite() && *ms > 0.0)
    };
    let limits: Vec<(String, f64)> = [("put", slo.put_p99), ("e2e", slo.e2e_p99)]
        .into_iter()
        .filter_map(|(name, d)| Some((name, slo_ms(d)?)))
        .map(|(name, ms)| (format!("{name} p99 SLO {} ms", axis_num(&ms)), ms))
        .collect();

    let x_end = (x_max * 1.06).max(1.0);
    let x_ticks = linear_ticks(0.0, x_end, 10);
    let achieved_max = max_of(data.iter().flat_map(|d| d.0.iter().map(|p| p.1))).unwrap_or(0.0);
    let y_top = x_end.max(achieved_max * 1.08);
    let latencies = || {
        data.iter()
            .flat_map(|d| d.2.iter().chain(&d.3).map(|p| p.1))
            .chain(limits.iter().map(|l| l.1))
    };
    let latency_range = match (min_positive(latencies()), max_of(latencies())) {
        (Some(lo), Some(hi)) => Some(log_range(lo, hi, 2.5)),
        _ => None,
    };
    let e2e = data.iter().any(|d| !d.3.is_empty());

    // throttled %: a symlog axis, so that 0 shows and so do shares near a limit of 0.1%, even
    // beside a step throttled by tens of percent; linear up to about `c`, a power of ten
    let throttled_limit = slo.max_throttled_pct.filter(|l| l.is_finite() && *l >= 0.0);
    let throttled_max = max_of(
        data.iter()
            .flat_map(|d| d.1.iter().map(|p| p.1))
            .chain(throttled_limit),
    )
    .filter(|v| *v > 0.0)
    .unwrap_or(1.0);
    let c = [0.01, throttled_limit.unwrap_or(0.0) / 10.0, throttled_max]
        .into_iter()
        .filter(|v| *v > 0.0)
        .fold(0.01, f64::min)
        .max(1e-6);
    let c = 10f64.powf(c.log10().floor());
    let top = symlog(throttled_max, c);
    let top = top + (top * 0.12).max(0.15);
    let throttled_range = symlog_inverse(-top * 0.05, c)..symlog_inverse(top, c);
    let throttled_ticks = symlog_ticks(c, throttled_range.end, 8);

    let mut keys: Vec<Key> = series
        .iter()
        .map(|s| key(&count(s.shards), s.color, Swatch::Line(3)))
        .collect();
    keys.push(key("within SLO", INK, Swatch::Marker(true)));
    keys.push(key("SLO breached", INK, Swatch::Marker(false)));
    keys.push(key("put p99", INK, Swatch::Line(2)));
    if e2e {
        keys.push(key("e2e p99", INK, Swatch::Dashed));
    }

    let svg = svg((WIDTH, 820), |root| {
        let top = header(
            root,
            title,
            &keys,
            "log scales for throttled % (linear near 0) and p99 latency",
        )?;
        let (_, body) = root.split_vertically(top);
        // the throttled panel, in the middle, gets less height than the other two
        let rest = body.dim_in_pixel().1;
        let (achieved_area, rest_area) = body.split_vertically(rest * 37 / 100);
        let (throttled_area, latency_area) = rest_area.split_vertically(rest * 25 / 100);

        // achieved against offered, under the diagonal where all that was offered got in
        let mut chart = plot(&achieved_area, 24, 14, 24)
            .build_cartesian_2d(
                Axis::linear(0.0..x_end, x_ticks.clone()),
                Axis::linear(0.0..y_top, linear_ticks(0.0, y_top, 5)),
            )
            .map_err(err)?;
        mesh(
            &mut chart,
            ("", &axis_num),
            ("achieved records/s", &axis_num),
            true,
        )?;
        let d = x_end.min(y_top);
        dashed_rule(root, &[pixel(&chart, (0.0, 0.0)), pixel(&chart, (d, d))])?;
        // its label above its upper part, where the achieved rate seldom goes
        let (lx, ly) = pixel(&chart, (d * 0.8, d * 0.8));
        note(
            root,
            "achieved = offered",
            (lx as i32 - 8, ly as i32 - 6),
            Pos::new(HPos::Right, VPos::Bottom),
        )?;
        for (s, (achieved, ..)) in series.iter().zip(&data) {
            Line {
                label: "",
                color: s.color,
                width: 2,
                points: achieved.iter().map(|p| (p.0, p.1)).collect(),
            }
            .draw(&mut chart)?;
        }
        for (s, (achieved, ..)) in series.iter().zip(&data) {
            for p in achieved {
                let at = chart.backend_coord(&(p.0, p.1));
                marker(root, at, s.color, p.2)?;
            }
        }

        // the throttled share of attempts, the SLO's limit as a grey rule labelled on the left,
        // where steps below the knee lie at 0
        let mut chart = plot(&throttled_area, 24, 14, 24)
            .build_cartesian_2d(
                Axis::linear(0.0..x_end, x_ticks.clone()),
                Axis::symlog(throttled_range.clone(), c, throttled_ticks.clone()),
            )
            .map_err(err)?;
        mesh(
            &mut chart,
            ("", &axis_num),
            ("throttled % of attempts", &|v: &f64| pct_num(*v)),
            true,
        )?;
        if let Some(limit) = throttled_limit {
            let plot = chart.plotting_area().get_pixel_range();
            let y = chart.backend_coord(&(0.0, limit)).1;
            let (x0, x1) = (f64::from(plot.0.start), f64::from(plot.0.end));
            dashed_rule(root, &[(x0, f64::from(y)), (x1, f64::from(y))])?;
            // above the rule, or under it when it lies too near the top for that
            let (ty, v) = if y - plot.1.start < 18 {
                (y + 3, VPos::Top)
            } else {
                (y - 3, VPos::Bottom)
            };
            note(
                root,
                &format!("throttled SLO {}%", pct_num(limit)),
                (plot.0.start + 6, ty),
                Pos::new(HPos::Left, v),
            )?;
        }
        for (s, (_, throttled, ..)) in series.iter().zip(&data) {
            Line {
                label: "",
                color: s.color,
                width: 2,
                points: throttled.iter().map(|p| (p.0, p.1)).collect(),
            }
            .draw(&mut chart)?;
        }
        for (s, (_, throttled, ..)) in series.iter().zip(&data) {
            for p in throttled {
                let at = chart.backend_coord(&(p.0, p.1));
                marker(root, at, s.color, p.2)?;
            }
        }

        // p99 latencies: put solid, e2e dashed, the SLO's limits as grey rules
        let y_range = latency_range.clone().unwrap_or(1.0..10.0);
        let mut chart = plot(&latency_area, 24, 8, 44)
            .build_cartesian_2d(
                Axis::linear(0.0..x_end, x_ticks.clone()),
                Axis::log(y_range),
            )
            .map_err(err)?;
        mesh(
            &mut chart,
            ("offered records/s", &axis_num),
            ("p99 latency (ms)", &axis_num),
            true,
        )?;
        let plot = chart.plotting_area().get_pixel_range();
        if latency_range.is_none() {
            note(
                root,
                "no latency measured",
                (
                    (plot.0.start + plot.0.end) / 2,
                    (plot.1.start + plot.1.end) / 2,
                ),
                Pos::new(HPos::Center, VPos::Center),
            )?;
        }
        // labels on the left, where the latency is low, above their rules; when two rules lie
        // too close for that, the lower one's label goes under it
        let rules: Vec<(&str, i32)> = limits
            .iter()
            .map(|(label, ms)| (label.as_str(), chart.backend_coord(&(0.0, *ms)).1))
            .collect();
        for (label, y) in &rules {
            let (x0, x1) = (f64::from(plot.0.start), f64::from(plot.0.end));
            dashed_rule(root, &[(x0, f64::from(*y)), (x1, f64::from(*y))])?;
            let crowded = rules.iter().any(|(_, other)| other < y && y - other < 18);
            let (ty, v) = if crowded {
                (y + 3, VPos::Top)
            } else {
                (y - 3, VPos::Bottom)
            };
            note(root, label, (plot.0.start + 6, ty), Pos::new(HPos::Left, v))?;
        }
        for (s, (_, _, put, e2e)) in series.iter().zip(&data) {
            Line {
                label: "",
                color: s.color,
                width: 2,
                points: put.iter().map(|p| (p.0, p.1)).collect(),
            }
            .draw(&mut chart)?;
            let pixels: Vec<(f64, f64)> = e2e.iter().map(|p| pixel(&chart, (p.0, p.1))).collect();
            dashed_band(root, &pixels, s.color, 2.0)?;
        }
        for (s, (_, _, put, e2e)) in series.iter().zip(&data) {
            for p in put.iter().chain(e2e) {
                let at = chart.backend_coord(&(p.0, p.1));
                marker(root, at, s.color, p.2)?;
            }
        }
        Ok(())
    })?;
    Ok(Some(svg))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::metrics::interval::Counters;
    use crate::report::compare::Comparison;
    use crate::report::load::SpectrumRow;
    use crate::report::{
        Accounting, LatencySummary, PhaseSummary, RunSummary, SCHEMA_VERSION, SloVerdict,
    };
    use crate::scenario::Slo;
    use std::path::PathBuf;
    use std::time::Duration;

    fn latency(p50: f64, p99: f64) -> LatencySummary {
        LatencySummary {
            count: 100,
            p50_ms: p50,
            p90_ms: p99 * 0.8,
            p99_ms: p99,
            p999_ms: p99 * 1.2,
            max_ms: p99 * 1.5,
            mean_ms: p50,
        }
    }

    fn phase(name: &str, measure: bool, rps: f64, seconds: f64) -> PhaseSummary {
        let acknowledged = (rps * seconds) as u64;
        PhaseSummary {
            phase: name.into(),
            measure,
            duration_s: seconds,
            active_s: seconds,
            offered_rps: rps,
            achieved_rps: rps,
            achieved_pct: 100.0,
            throttled_pct: 0.0,
            counters: Counters {
                scheduled: acknowledged,
                acknowledged,
                throttled: 3,
                retried: 3,
                ..Counters::default()
            },
            put: latency(12.0, 25.0),
            put_uncorrected: latency(2.0, 6.0),
            put_service: latency(2.0, 5.0),
            e2e: latency(110.0, 220.0),
            in_stream: LatencySummary::default(),
            schedule_lag: latency(0.5, 2.0),
        }
    }

    fn variant(api: &str, shards: usize) -> VariantSummary {
        VariantSummary {
            api: api.into(),
            run_id: "f4a19680".into(),
            status: "completed".into(),
            started_at: "2026-11-26T00:14:08.722531625+00:00".into(),
            elapsed_s: 10.05,
            accounting: Accounting {
                scheduled: 2700,
                acknowledged: 2700,
                consumer: true,
                received: 2700,
                holds: true,
                ..Accounting::default()
            },
            phases: vec![
                phase("warmup", false, 300.0, 3.0),
                phase("steady", true, 300.0, 6.0),
                phase("total", true, 300.0, 6.0),
            ],
            per_shard: (0..shards)
                .map(|i| ShardSummary {
                    shard_id: format!("shardId-{i:012}"),
                    starting_hash_key: "0".into(),
                    ending_hash_key: "1".into(),
                    acknowledged: 1000,
                    acknowledged_bytes: 512_000,
                    throttled: (i % 3) as u64,
                    records_per_s: 300.0 / shards as f64,
                    bytes_per_s: 153_600.0 / shards as f64,
                    share_pct: 100.0 / shards as f64,
                    peak_records_per_s: 400.0 / shards as f64 + i as f64,
                })
                .collect(),
            slo: vec![
                SloVerdict {
                    name: "put_p99".into(),
                    threshold: "500.0ms".into(),
                    actual: "25.0ms".into(),
                    passed: true,
                },
                SloVerdict {
                    name: "e2e_p99".into(),
                    threshold: "100.0ms".into(),
                    actual: "220.0ms".into(),
                    passed: false,
                },
            ],
            warnings: vec!["records went out late: p99 schedule lag > 1s & more".into()],
        }
    }

    /// Ten intervals of `api`: 3 warm-up, 6 steady, then a short drain without puts.
    fn intervals(api: &str) -> Vec<IntervalRow> {
        (1..=10)
            .map(|i| {
                let drain = i == 10;
                let t = if drain { 9.05 } else { i as f64 };
                IntervalRow {
                    api: api.into(),
                    elapsed_s: t,
                    phase: match i {
                        1..=3 => "warmup",
                        10 => "drain",
                        _ => "steady",
                    }
                    .into(),
                    interval_s: if drain { 0.05 } else { 1.0 },
                    offered_rps: if drain { 0.0 } else { 300.0 },
                    acknowledged_rps: if drain { 0.0 } else { 298.0 + i as f64 },
                    received_rps: 280.0 + i as f64,
                    throttled: 0,
                    put_p50_ms: if drain { 0.0 } else { 12.0 + i as f64 / 10.0 },
                    put_p99_ms: if drain { 0.0 } else { 25.0 },
                    put_max_ms: if drain { 0.0 } else { 30.0 },
                    e2e_p50_ms: 110.0,
                    e2e_p99_ms: 220.0,
                    e2e_max_ms: 230.0,
                }
            })
            .collect()
    }

    fn spectrum(api: &str) -> Vec<SpectrumRow> {
        let mut rows = Vec::new();
        for (histogram, scale) in [("put", 1.0), ("put_uncorrected", 0.2), ("e2e", 9.0)] {
            for (percentile, value) in [
                (0.0, 0.9),
                (50.0, 13.0),
                (75.0, 19.0),
                (90.0, 22.0),
                (99.0, 26.0),
                (99.9, 37.0),
                (99.99, 45.0),
                (100.0, 48.0),
            ] {
                rows.push(SpectrumRow {
                    api: api.into(),
                    histogram: histogram.into(),
                    percentile,
                    value_ms: value * scale,
                    count: 1,
                });
            }
        }
        rows
    }

    /// A run of `apis` (each with `shards` shards), every file's rows filled in.
    pub(crate) fn sample(apis: &[&str], shards: usize) -> ReportData {
        let variants: Vec<VariantSummary> = apis.iter().map(|a| variant(a, shards)).collect();
        let comparison = Comparison::of(&variants);
        ReportData {
            dir: PathBuf::from("/nonexistent"),
            summary: RunSummary {
                schema_version: SCHEMA_VERSION,
                kbench_version: "0.1.0".into(),
                scenario: "burst <&> \"quoted\"".into(),
                status: "completed".into(),
                endpoint: "embedded".into(),
                region: "us-east-1".into(),
                stream: "kbench-burst".into(),
                shards,
                started_at: "2026-11-26T00:14:08.720282894+00:00".into(),
                ended_at: Some("2026-11-26T00:14:43.780856244+00:00".into()),
                elapsed_s: 10.05,
                variants,
                not_run: Vec::new(),
                comparison,
            },
            intervals: apis.iter().flat_map(|a| intervals(a)).collect(),
            shard_intervals: Vec::new(),
            spectrum: apis.iter().flat_map(|a| spectrum(a)).collect(),
            baseline: None,
        }
    }

    /// The data with nothing but run.json: no intervals, no spectrum, no shards.
    pub(crate) fn empty(apis: &[&str]) -> ReportData {
        let mut data = sample(apis, 0);
        data.intervals.clear();
        data.spectrum.clear();
        data
    }

    fn parse(svg: &str) -> roxmltree::Document<'_> {
        match roxmltree::Document::parse(svg) {
            Ok(doc) => doc,
            Err(e) => panic!("not XML: {e}\n{svg}"),
        }
    }

    fn texts(doc: &roxmltree::Document) -> Vec<String> {
        doc.descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .map(|t| t.trim().to_string())
            .collect()
    }

    /// The point lists of the polylines drawn in `color` ("#0072B2").
    fn polylines<'a>(doc: &'a roxmltree::Document, color: &str) -> Vec<&'a str> {
        doc.descendants()
            .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") == Some(color))
            .filter_map(|n| n.attribute("points"))
            .collect()
    }

    fn chart<'a>(charts: &'a [Chart], name: &str) -> &'a Chart {
        match charts.iter().find(|c| c.file_name == name) {
            Some(c) => c,
            None => panic!(
                "no {name} in {:?}",
                charts.iter().map(|c| &c.file_name).collect::<Vec<_>>()
            ),
        }
    }

    #[test]
    fn every_chart_of_a_variant_is_drawn_and_parses() {
        let charts = render(&sample(&["put_records"], 4)).expect("charts");
        let names: Vec<&str> = charts.iter().map(|c| c.file_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "put_records-throughput.svg",
                "put_records-latency.svg",
                "put_records-spectrum.svg",
                "put_records-shards.svg"
            ]
        );
        for c in &charts {
            let doc = parse(&c.svg);
            assert_eq!(doc.root_element().tag_name().name(), "svg");
            let texts = texts(&doc);
            assert!(
                texts.contains(&c.title),
                "{} has its title: {texts:?}",
                c.file_name
            );
            assert!(
                !c.title.contains("put_records"),
                "one variant: the title does not name it"
            );
        }
    }

    #[test]
    fn throughput_has_its_title_legend_and_a_point_per_interval() {
        let data = sample(&["put_records"], 4);
        let charts = render(&data).expect("charts");
        let c = chart(&charts, "put_records-throughput.svg");
        let doc = parse(&c.svg);
        let texts = texts(&doc);
        for label in [
            c.title.as_str(),
            "offered",
            "acknowledged",
            "received",
            "records/s",
            "time since the variant's start (s)",
            "warmup",
            "steady",
            "drain",
            "not measured",
        ] {
            assert!(texts.iter().any(|t| t == label), "{label:?} in {texts:?}");
        }
        let n = data.intervals.len();
        for color in [SKY, DEEP_BLUE, ORANGE] {
            let hex = format!("#{:02X}{:02X}{:02X}", color.0, color.1, color.2);
            let lines = polylines(&doc, &hex);
            assert_eq!(lines.len(), 1, "one polyline in {hex}");
            assert_eq!(
                lines[0].split_whitespace().count(),
                n,
                "a point per interval in {hex}: {}",
                lines[0]
            );
        }
    }

    #[test]
    fn latency_leaves_out_intervals_without_records() {
        let data = sample(&["put_records"], 4);
        let charts = render(&data).expect("charts");
        let doc = parse(&chart(&charts, "put_records-latency.svg").svg);
        let blue = polylines(&doc, "#0072B2");
        // p50 of put (the drain had no puts) and of e2e
        let points: Vec<usize> = blue.iter().map(|p| p.split_whitespace().count()).collect();
        assert_eq!(points, [9, 10]);
        let texts = texts(&doc);
        for label in [
            "p50",
            "p99",
            "max",
            "put latency (ms)",
            "end-to-end latency (ms)",
        ] {
            assert!(texts.iter().any(|t| t == label), "{label:?} in {texts:?}");
        }
    }

    #[test]
    fn spectrum_labels_percentiles_and_leaves_out_100() {
        let data = sample(&["put_records"], 4);
        let charts = render(&data).expect("charts");
        let doc = parse(&chart(&charts, "put_records-spectrum.svg").svg);
        let texts = texts(&doc);
        for label in [
            "0%",
            "90%",
            "99%",
            "99.9%",
            "99.99%",
            "put",
            "e2e",
            "percentile",
        ] {
            assert!(texts.iter().any(|t| t == label), "{label:?} in {texts:?}");
        }
        let put = polylines(&doc, "#0072B2");
        assert_eq!(put.len(), 1);
        assert_eq!(
            put[0].split_whitespace().count(),
            7,
            "8 rows less the 100% one"
        );
    }

    #[test]
    fn several_variants_name_theirs_and_many_shards_stay_labelled() {
        let data = sample(&["put_record", "put_records"], 64);
        let charts = render(&data).expect("charts");
        assert_eq!(charts.len(), 8);
        assert!(charts[0].file_name.starts_with("put_record-"));
        assert!(charts[4].file_name.starts_with("put_records-"));
        for c in &charts {
            parse(&c.svg);
            let api = c.file_name.split('-').next().unwrap_or_default();
            assert!(c.title.ends_with(&format!("({api})")), "{}", c.title);
        }
        let doc = parse(&chart(&charts, "put_records-shards.svg").svg);
        let labels = texts(&doc);
        assert!(labels.iter().any(|t| t == "0"), "{labels:?}");
        assert!(labels.iter().any(|t| t == "63"), "{labels:?}");
        assert!(!labels.iter().any(|t| t.is_empty()), "{labels:?}");
        assert!(!labels.iter().any(|t| t.starts_with("shardId")));

        let one = sample(&["put_records"], 1);
        let charts = render(&one).expect("charts");
        let doc = parse(&chart(&charts, "put_records-shards.svg").svg);
        assert!(texts(&doc).iter().any(|t| t == "0"));
    }

    #[test]
    fn no_data_no_chart() {
        let charts = render(&empty(&["put_records"])).expect("no panic");
        assert!(
            charts.is_empty(),
            "{:?}",
            charts.iter().map(|c| &c.file_name).collect::<Vec<_>>()
        );

        // values that are not numbers, or zero, draw nothing either
        let mut data = sample(&["put_records"], 0);
        for r in &mut data.intervals {
            r.offered_rps = f64::NAN;
            r.acknowledged_rps = f64::NAN;
            r.received_rps = f64::INFINITY;
            r.put_p50_ms = 0.0;
            r.put_p99_ms = f64::NAN;
            r.put_max_ms = -1.0;
            r.e2e_p50_ms = 0.0;
            r.e2e_p99_ms = 0.0;
            r.e2e_max_ms = 0.0;
        }
        for r in &mut data.spectrum {
            r.value_ms = f64::NAN;
        }
        let charts = render(&data).expect("no panic");
        assert!(
            charts.is_empty(),
            "{:?}",
            charts.iter().map(|c| &c.file_name).collect::<Vec<_>>()
        );

        // a single interval, all values equal
        let mut data = sample(&["put_records"], 1);
        data.intervals.truncate(1);
        data.spectrum.retain(|r| r.percentile == 0.0);
        data.summary.variants[0].per_shard[0].peak_records_per_s = f64::NAN;
        for c in render(&data).expect("no panic") {
            parse(&c.svg);
        }
    }

    #[test]
    fn without_a_consumer_nothing_is_drawn_as_received() {
        let mut data = sample(&["put_records"], 2);
        data.summary.variants[0].accounting.consumer = false;
        for r in &mut data.intervals {
            r.received_rps = 0.0;
            r.e2e_p50_ms = 0.0;
            r.e2e_p99_ms = 0.0;
            r.e2e_max_ms = 0.0;
        }
        let charts = render(&data).expect("charts");
        let doc = parse(&chart(&charts, "put_records-throughput.svg").svg);
        assert!(polylines(&doc, "#E69F00").is_empty());
        let labels = texts(&doc);
        assert!(!labels.iter().any(|t| t == "received"), "{labels:?}");
        assert!(
            labels
                .iter()
                .any(|t| t == "consumer disabled: nothing was read back")
        );
        let doc = parse(&chart(&charts, "put_records-latency.svg").svg);
        assert!(
            texts(&doc)
                .iter()
                .any(|t| t == "consumer disabled: nothing was read back")
        );
    }

    #[test]
    fn ticks_and_labels() {
        assert_eq!(linear_ticks(0.0, 3660.0, 6), [0.0, 1000.0, 2000.0, 3000.0]);
        assert_eq!(linear_ticks(0.0, 1.0, 3), [0.0, 0.5, 1.0]);
        assert_eq!(
            linear_ticks(0.0, 35.0, 12),
            [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0]
        );
        assert_eq!(linear_ticks(0.0, 0.0, 6), [0.0]);
        assert_eq!(
            log_ticks(0.5, 300.0),
            [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0]
        );
        assert_eq!(log_ticks(0.5, 3000.0), [1.0, 10.0, 100.0, 1000.0]);
        assert_eq!(log_ticks(8.0, 90.0), [10.0, 20.0, 50.0]);
        assert!(log_ticks(0.0, 10.0).is_empty());
        assert_eq!(log_ticks(1e-3, 1e9).len(), 7, "every other decade");
        let labels: Vec<String> = (0..5).map(|t| percentile_label(&f64::from(t))).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "99.99%"]);
        assert_eq!(percentile_label(&0.5), "");
        assert!((spectrum_x(99.9) - 3.0).abs() < 1e-9);
        assert_eq!(axis_num(&3000.0), "3,000");
        assert_eq!(axis_num(&0.5), "0.5");
        assert_eq!(axis_num(&20.0), "20");
        assert_eq!(axis_num(&1234567.0), "1,234,567");
        // throttled %: 0, then powers of ten, 2 and 5 times them only with room to spare
        assert_eq!(symlog_ticks(0.01, 1.5, 8), [0.0, 0.01, 0.1, 1.0]);
        assert_eq!(symlog_ticks(0.01, 0.8, 8), [0.0, 0.01, 0.1, 0.5]);
        assert_eq!(symlog_ticks(0.01, 50.0, 8), [0.0, 0.1, 1.0, 10.0]);
        assert_eq!(symlog_ticks(0.01, 0.0, 8), [0.0]);
        assert_eq!(symlog(0.0, 0.01), 0.0);
        assert_eq!(symlog(-0.3, 0.01), -symlog(0.3, 0.01));
        assert!(symlog(0.001, 0.01) < symlog(0.01, 0.01));
        assert!((symlog_inverse(symlog(0.3, 0.01), 0.01) - 0.3).abs() < 1e-12);
        for (v, label) in [
            (0.0, "0"),
            (0.1, "0.1"),
            (0.05, "0.05"),
            (0.125, "0.125"),
            (0.0005, "0.0005"),
            (2.5, "2.5"),
            (1500.0, "1,500"),
        ] {
            assert_eq!(pct_num(v), label);
        }
        assert_eq!(shard_label("shardId-000000000003"), "3");
        assert_eq!(shard_label("shardId-000000000120"), "120");
        assert_eq!(shard_label("odd"), "odd");
    }

    /// A step of a sweep: `shards` shards at `offered` records/s, within the SLO or not.
    fn step(shards: u32, n: u32, offered: f64, achieved: f64, put: f64, e2e: Option<f64>) -> Step {
        let passed = put <= 500.0 && achieved >= offered * 0.99;
        Step {
            shards,
            step: n,
            offered_rps: offered,
            achieved_rps: achieved,
            achieved_pct: achieved / offered * 100.0,
            achieved_bytes_per_s: achieved * 100.0,
            throttled_pct: if passed { 0.0 } else { 4.0 },
            put_p99_ms: put,
            e2e_p99_ms: e2e,
            lost: 0,
            given_up: 0,
            passed,
            breached: if passed {
                Vec::new()
            } else {
                vec!["put_p99 900.0ms > 500ms".into()]
            },
            dir: PathBuf::from(format!("/nonexistent/{shards}-{n}")),
        }
    }

    /// Two searches, each in the order it ran: up until a breach, then bisecting back.
    fn sweep_steps() -> Vec<Step> {
        vec![
            step(1, 1, 250.0, 250.0, 20.0, Some(210.0)),
            step(1, 2, 500.0, 500.0, 24.0, Some(220.0)),
            step(1, 3, 1000.0, 930.0, 900.0, Some(1400.0)),
            step(1, 4, 750.0, 750.0, 60.0, None),
            step(1, 5, 875.0, 850.0, 650.0, Some(1100.0)),
            step(2, 1, 500.0, 500.0, 19.0, Some(200.0)),
            step(2, 2, 1000.0, 1000.0, 22.0, Some(215.0)),
            step(2, 3, 2000.0, 1850.0, 950.0, Some(1500.0)),
            step(2, 4, 1500.0, 1500.0, 40.0, Some(260.0)),
            step(2, 5, 1750.0, 1700.0, 700.0, Some(1200.0)),
        ]
    }

    fn hex(c: RGBColor) -> String {
        format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
    }

    /// The circles ringed (hollow markers) and filled in `color`.
    fn markers(doc: &roxmltree::Document, color: &str) -> (usize, usize) {
        let circles = || doc.descendants().filter(|n| n.has_tag_name("circle"));
        let hollow = circles()
            .filter(|n| n.attribute("fill") == Some("none") && n.attribute("stroke") == Some(color))
            .count();
        let filled = circles()
            .filter(|n| n.attribute("fill") == Some(color))
            .count();
        (hollow, filled)
    }

    #[test]
    fn sweep_draws_a_line_and_markers_per_shard_count() {
        let steps = sweep_steps();
        let slo = Slo {
            put_p99: Some(Duration::from_millis(500)),
            ..Slo::default()
        };
        let title = "Sweep <burst> & \"knee\"";
        let svg = sweep(&steps, &slo, title).expect("drawn").expect("a chart");
        let doc = parse(&svg);
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let texts = texts(&doc);
        for label in [
            title,
            "1 shard",
            "2 shards",
            "within SLO",
            "SLO breached",
            "put p99",
            "e2e p99",
            "achieved = offered",
            "offered records/s",
            "achieved records/s",
            "p99 latency (ms)",
            "throttled % of attempts",
            "put p99 SLO 500 ms",
            "2,000",
        ] {
            assert!(texts.iter().any(|t| t == label), "{label:?} in {texts:?}");
        }
        assert!(!texts.iter().any(|t| t.starts_with("e2e p99 SLO")));
        assert!(!texts.iter().any(|t| t.starts_with("throttled SLO")));
        // the x axis is described once, under the bottom panel
        assert_eq!(
            texts.iter().filter(|t| *t == "offered records/s").count(),
            1
        );

        for (i, shards) in [1, 2].into_iter().enumerate() {
            let color = hex(SWEEP_COLORS[i]);
            let of: Vec<&Step> = steps.iter().filter(|s| s.shards == shards).collect();
            // achieved at the top, throttled % in the middle, put p99 at the bottom; the dashed
            // e2e line is no polyline
            let lines = polylines(&doc, &color);
            assert_eq!(lines.len(), 3, "{color}: {lines:?}");
            let pixels = |points: &str| -> Vec<(i32, i32)> {
                points
                    .split_whitespace()
                    .filter_map(|p| {
                        let (x, y) = p.split_once(',')?;
                        Some((x.parse().ok()?, y.parse().ok()?))
                    })
                    .collect()
            };
            for points in &lines {
                let xs: Vec<i32> = pixels(points).iter().map(|p| p.0).collect();
                assert_eq!(xs.len(), of.len(), "a point per step in {color}: {points}");
                assert!(
                    xs.windows(2).all(|w| w[0] < w[1]),
                    "sorted by offered rate: {points}"
                );
            }
            let ys: Vec<Vec<i32>> = lines
                .iter()
                .map(|l| pixels(l).iter().map(|p| p.1).collect())
                .collect();
            let lowest = |i: usize| ys[i].iter().max();
            let highest = |i: usize| ys[i].iter().min();
            assert!(
                lowest(0) < highest(1) && lowest(1) < highest(2),
                "panels in order in {color}: {ys:?}"
            );
            // throttled %: the steps within the SLO at 0, those breaching it (4%) higher up
            let mut sorted = of.clone();
            sorted.sort_by(|a, b| a.offered_rps.total_cmp(&b.offered_rps));
            let zero = ys[1][sorted.iter().position(|s| s.passed).expect("a pass")];
            for (s, y) in sorted.iter().zip(&ys[1]) {
                if s.throttled_pct == 0.0 {
                    assert_eq!(*y, zero, "{color}: {ys:?}");
                } else {
                    assert!(*y < zero - 50, "{color}: {ys:?}");
                }
            }
            // a marker per step at the top and in the middle, per put p99 and per e2e p99 at
            // the bottom
            let with_e2e = |f: fn(&&&Step) -> bool| {
                let n = of.iter().filter(f).count();
                let e2e = of
                    .iter()
                    .filter(f)
                    .filter(|s| s.e2e_p99_ms.is_some())
                    .count();
                3 * n + e2e
            };
            let (hollow, filled) = markers(&doc, &color);
            assert_eq!(hollow, with_e2e(|s| !s.passed), "breaching in {color}");
            assert_eq!(filled, with_e2e(|s| s.passed), "passing in {color}");
            // the e2e line is dashed
            let dashes = doc
                .descendants()
                .filter(|n| n.has_tag_name("polygon") && n.attribute("fill") == Some(&*color))
                .count();
            assert!(dashes > 4, "{dashes} dashes in {color}");
        }
        // the legend's two markers are ink
        assert_eq!(markers(&doc, &hex(INK)), (1, 1));
    }

    #[test]
    fn sweep_labels_only_the_slo_limits_set() {
        let steps = sweep_steps();
        let svg = sweep(&steps, &Slo::default(), "sweep")
            .expect("drawn")
            .expect("a chart");
        let labels = texts(&parse(&svg));
        assert!(!labels.iter().any(|t| t.contains(" SLO ")), "{labels:?}");

        let slo = Slo {
            max_throttled_pct: Some(0.1),
            ..Slo::default()
        };
        let svg = sweep(&steps, &slo, "sweep")
            .expect("drawn")
            .expect("a chart");
        let doc = parse(&svg);
        let labels = texts(&doc);
        assert!(
            labels.iter().any(|t| t == "throttled SLO 0.1%"),
            "{labels:?}"
        );
        assert!(!labels.iter().any(|t| t.contains("p99 SLO")), "{labels:?}");
        // the rule's dashes run across the middle panel, between the 0 and the 4% steps
        let ys = |points: &str| -> Vec<i32> {
            points
                .split_whitespace()
                .filter_map(|p| p.split_once(',')?.1.parse().ok())
                .collect()
        };
        let mut dashes_at: std::collections::BTreeMap<i32, usize> = Default::default();
        for y in polylines(&doc, &hex(GREY))
            .into_iter()
            .map(ys)
            .filter(|ys| ys.len() == 2 && ys[0] == ys[1])
        {
            *dashes_at.entry(y[0]).or_default() += 1;
        }
        let throttled = ys(polylines(&doc, &hex(SWEEP_COLORS[0]))[1]);
        let (top, bottom) = (throttled.iter().min(), throttled.iter().max());
        assert!(
            dashes_at
                .iter()
                .any(|(y, n)| *n > 20 && Some(y) > top && Some(y) < bottom),
            "a rule between {top:?} and {bottom:?} in {dashes_at:?}"
        );
        let slo = Slo {
            max_throttled_pct: Some(0.05),
            ..Slo::default()
        };
        let svg = sweep(&steps, &slo, "sweep")
            .expect("drawn")
            .expect("a chart");
        let labels = texts(&parse(&svg));
        assert!(
            labels.iter().any(|t| t == "throttled SLO 0.05%"),
            "{labels:?}"
        );

        let slo = Slo {
            put_p99: Some(Duration::from_millis(500)),
            e2e_p99: Some(Duration::from_secs(2)),
            ..Slo::default()
        };
        let svg = sweep(&steps, &slo, "sweep")
            .expect("drawn")
            .expect("a chart");
        let labels = texts(&parse(&svg));
        for label in ["put p99 SLO 500 ms", "e2e p99 SLO 2,000 ms"] {
            assert!(labels.iter().any(|t| t == label), "{label:?} in {labels:?}");
        }
        assert!(!labels.iter().any(|t| t.starts_with("throttled SLO")));

        // limits too close for both labels above their rules: the lower one's goes under it
        let slo = Slo {
            put_p99: Some(Duration::from_millis(500)),
            e2e_p99: Some(Duration::from_millis(600)),
            ..Slo::default()
        };
        let svg = sweep(&steps, &slo, "sweep")
            .expect("drawn")
            .expect("a chart");
        let doc = parse(&svg);
        let label = |text: &str| {
            let node = doc
                .descendants()
                .find(|n| n.has_tag_name("text") && n.text().map(str::trim) == Some(text));
            let Some(node) = node else {
                panic!("no {text:?} in {:?}", texts(&doc));
            };
            let y: i32 = node.attribute("y").and_then(|y| y.parse().ok()).expect("y");
            (y, node.attribute("dy").unwrap_or_default().to_string())
        };
        let (put_y, put_dy) = label("put p99 SLO 500 ms");
        let (e2e_y, e2e_dy) = label("e2e p99 SLO 600 ms");
        assert!(put_y > e2e_y, "{put_y} {e2e_y}");
        assert!(
            !put_dy.starts_with('-') && e2e_dy.starts_with('-'),
            "{put_dy} {e2e_dy}"
        );
    }

    #[test]
    fn sweep_without_steps_or_consumer() {
        let slo = Slo::default();
        assert!(sweep(&[], &slo, "sweep").expect("no error").is_none());

        // no consumer: no e2e line and no e2e legend entry
        let mut steps = sweep_steps();
        for s in &mut steps {
            s.e2e_p99_ms = None;
        }
        let doc_svg = sweep(&steps, &slo, "sweep")
            .expect("drawn")
            .expect("a chart");
        let doc = parse(&doc_svg);
        assert!(!texts(&doc).iter().any(|t| t == "e2e p99"));
        assert_eq!(
            doc.descendants()
                .filter(|n| n.has_tag_name("polygon"))
                .count(),
            0
        );

        // one step, no latency at all, values that are not numbers: still well-formed
        let mut one = vec![step(4, 1, 100.0, f64::NAN, f64::NAN, Some(0.0))];
        let svg = sweep(&one, &slo, "sweep").expect("drawn").expect("a chart");
        assert!(
            texts(&parse(&svg))
                .iter()
                .any(|t| t == "no latency measured")
        );
        one[0].offered_rps = f64::NAN;
        assert!(sweep(&one, &slo, "sweep").expect("no error").is_none());
    }

    #[test]
    fn sweep_colours_cycle_past_the_palette() {
        let steps: Vec<Step> = (1..=8)
            .map(|k| step(k, 1, 100.0 * k as f64, 100.0 * k as f64, 20.0, None))
            .collect();
        let svg = sweep(&steps, &Slo::default(), "sweep")
            .expect("drawn")
            .expect("a chart");
        let doc = parse(&svg);
        assert!(texts(&doc).iter().any(|t| t == "8 shards"));
        // shard counts 1 and 7 share the first colour, three panels each
        assert_eq!(polylines(&doc, &hex(SWEEP_COLORS[0])).len(), 6);
    }

    #[test]
    fn dashes_follow_the_path_round_corners() {
        let d = dashes(&[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)], 7.0, 5.0);
        // 0..7 on the first leg, the gap runs round the corner, then 12..19
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(d[0], [(0.0, 0.0), (7.0, 0.0)]);
        assert_eq!(d[1], [(10.0, 2.0), (10.0, 9.0)]);
        assert!(dashes(&[(0.0, 0.0)], 7.0, 5.0).is_empty());
        assert!(dashes(&[(0.0, 0.0), (5.0, 0.0)], 0.0, 5.0).is_empty());
    }
}
