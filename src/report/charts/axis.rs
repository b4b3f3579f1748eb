//! The axes of the charts: linear, logarithmic and symmetric-log scales with round ticks of
//! our choosing, their number labels, and the grid and axis lines they are drawn with.

use super::draw::{GREY, GRID, SMALL_SIZE, TEXT_SIZE, err, font};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::ops::Range;

/// The largest finite value, or None.
pub(super) fn max_of(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .reduce(f64::max)
}

/// The smallest finite positive value, or None.
pub(super) fn min_positive(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    values
        .into_iter()
        .filter(|v| v.is_finite() && *v > 0.0)
        .reduce(f64::min)
}

/// Evenly spaced round ticks (1, 2 or 5 times a power of ten) from `lo` to `hi`, at most
/// `max_n` + 1 of them.
pub(super) fn linear_ticks(lo: f64, hi: f64, max_n: usize) -> Vec<f64> {
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
pub(super) fn axis_num(v: &f64) -> String {
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
    let digits = crate::report::html::count(v.abs().round() as u64);
    if v < 0.0 {
        format!("-{digits}")
    } else {
        digits
    }
}

/// A log y range around `lo..=hi` (positive), with `headroom` times the top for labels.
pub(super) fn log_range(lo: f64, hi: f64, headroom: f64) -> Range<f64> {
    (lo / 1.6)..(hi.max(lo) * headroom)
}

/// An axis of f64 values, linear or logarithmic, with ticks of our choosing (plotters' own
/// key points are not always round, and its custom key points lose the label formatter).
pub(super) struct Axis {
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
    pub(super) fn linear(range: Range<f64>, ticks: Vec<f64>) -> Axis {
        Axis {
            scale: Scale::Linear(range.into()),
            ticks,
        }
    }

    /// `range` must be positive.
    pub(super) fn log(range: Range<f64>) -> Axis {
        let ticks = log_ticks(range.start, range.end);
        Axis {
            scale: Scale::Log(range.log_scale().into()),
            ticks,
        }
    }

    /// A symmetric-log axis over `range`, linear near zero up to about `c` (see [`symlog`]).
    pub(super) fn symlog(range: Range<f64>, c: f64, ticks: Vec<f64>) -> Axis {
        let mapped = (symlog(range.start, c)..symlog(range.end, c)).into();
        Axis {
            scale: Scale::SymLog { c, range, mapped },
            ticks,
        }
    }
}

/// log10(1 + |v| / c), signed like `v`: about linear for |v| well under `c`, logarithmic well
/// above it, and 0 at 0, which a log scale cannot show.
pub(super) fn symlog(v: f64, c: f64) -> f64 {
    v.signum() * (1.0 + v.abs() / c).log10()
}

/// The value whose [`symlog`] is `t`.
pub(super) fn symlog_inverse(t: f64, c: f64) -> f64 {
    t.signum() * c * (10f64.powf(t.abs()) - 1.0)
}

/// Ticks for a symlog axis from 0 to `hi` with linear threshold `c` (a power of ten): 0 and the
/// powers of ten from `c`, no two closer than a `max_n`th of the axis, then 2 and 5 times them
/// where there is room for twice that.
pub(super) fn symlog_ticks(c: f64, hi: f64, max_n: usize) -> Vec<f64> {
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
pub(super) fn mesh(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::charts::knee::pct_num;
    use crate::report::charts::shards::shard_label;
    use crate::report::charts::spectrum::{percentile_label, spectrum_x};

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
}
