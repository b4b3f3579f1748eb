//! The latency percentile spectrum: put (corrected and uncorrected) and end-to-end latency
//! against the percentile over the measured phases, on log scales that spread the tail out; and
//! the spectrum chart of any lines, which the per-consumer chart is drawn with too.

use super::axis::{Axis, axis_num, log_range, max_of, mesh, min_positive};
use super::draw::{BLUISH_GREEN, DEEP_BLUE, Key, Line, ORANGE, WIDTH, err, header, plot, svg};
use crate::report::VariantSummary;
use crate::report::load::{ReportData, SpectrumRow};
use plotters::style::RGBColor;

/// Position of percentile `p` (0..100) on the spectrum's axis: log10(1 / (1 - p)).
pub(super) fn spectrum_x(p: f64) -> f64 {
    -(1.0 - p / 100.0).log10()
}

/// The spectrum axis label at `t` = 0, 1, 2, ...: "0%", "90%", "99%", "99.9%", ...
pub(super) fn percentile_label(t: &f64) -> String {
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

/// How far (in decades of the percentile axis) a line may end short of the longest before the
/// chart says why.
const SHORT_BY: f64 = 0.1;

/// A histogram's spectrum rows as the points of its line, and its sample count (the rows'
/// counts added up).
///
/// With n samples the deepest percentile the data tells apart is 100 (1 - 1/n), at
/// x = log10(n); every percentile past it is the maximum. So each line runs to exactly there,
/// the maximum its last point, whichever step HdrHistogram's iteration stopped at: a histogram
/// whose top samples all share the maximum (uncorrected put latency, one value per batch) stops
/// iterating early, and one with distinct values steps past it. Lines of as many samples end
/// together, and a line of fewer ends where its data does. The 100% row itself lies at
/// infinity and is left out. Rows without counts (0 in all) are drawn as they are.
fn ends<'a>(rows: impl Iterator<Item = &'a SpectrumRow>) -> (Vec<(f64, f64)>, u64) {
    let rows: Vec<&SpectrumRow> = rows
        .filter(|r| r.percentile.is_finite() && (0.0..=100.0).contains(&r.percentile))
        .collect();
    let samples: u64 = rows.iter().map(|r| r.count).sum();
    // a log scale has no place for 0
    let rows: Vec<&SpectrumRow> = rows
        .into_iter()
        .filter(|r| r.value_ms.is_finite() && r.value_ms > 0.0)
        .collect();
    let mut points: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| r.percentile < 100.0)
        .map(|r| (spectrum_x(r.percentile), r.value_ms))
        .filter(|(x, _)| x.is_finite())
        .collect();
    if samples == 0 {
        return (points, 0);
    }
    let Some(max) = max_of(rows.iter().map(|r| r.value_ms)) else {
        return (points, samples);
    };
    let end = (samples as f64).log10();
    points.retain(|p| p.0 < end);
    points.push((end, max));
    (points, samples)
}

/// 100 (1 - 1/n) as a percentile, cut (not rounded) to the digits n samples give:
/// 1,200 -> "99.91%", 49,500 -> "99.997%", 100 -> "99%".
pub(super) fn deepest_percentile(samples: u64) -> String {
    if samples <= 1 {
        return "0%".into();
    }
    let p = 100.0 * (1.0 - 1.0 / samples as f64);
    let decimals = ((samples as f64).log10().ceil() as i32 - 2).max(0);
    let scale = 10f64.powi(decimals);
    format!(
        "{:.*}%",
        decimals as usize,
        (p * scale + 1e-9).floor() / scale
    )
}

/// The line of histogram `name` of variant `api` in latency.csv, and its sample count; no
/// points when the histogram has no rows.
pub(super) fn histogram_line(
    data: &ReportData,
    api: &str,
    name: &str,
    label: String,
    (color, width): (RGBColor, u32),
) -> (Line, u64) {
    let (points, samples) = ends(data.spectrum_of(api, name));
    let line = Line {
        label,
        color,
        width,
        points,
    };
    (line, samples)
}

/// The chart of a variant's latency percentiles, or None without any.
pub(super) fn draw(
    data: &ReportData,
    v: &VariantSummary,
    title: &str,
) -> anyhow::Result<Option<String>> {
    let e2e = if v.consumers.len() > 1 {
        "e2e (all consumers)"
    } else {
        "e2e"
    };
    let histograms = [
        ("put", "put", DEEP_BLUE, 2),
        ("put_uncorrected", "put (uncorrected)", BLUISH_GREEN, 1),
        ("e2e", e2e, ORANGE, 2),
    ];
    let lines = histograms
        .iter()
        .map(|(name, label, color, width)| {
            histogram_line(data, &v.api, name, label.to_string(), (*color, *width))
        })
        .collect();
    draw_lines(title, lines)
}

/// A spectrum chart of `lines` (each with its sample count), or None when none has a point.
/// Every line ends where its own samples run out (see `ends`); one that ends well short of the
/// longest says so.
pub(super) fn draw_lines(title: &str, lines: Vec<(Line, u64)>) -> anyhow::Result<Option<String>> {
    let lines: Vec<(Line, u64)> = lines
        .into_iter()
        .filter(|(l, _)| !l.points.is_empty())
        .collect();
    let last_x = |l: &Line| l.points.last().map_or(0.0, |p| p.0);
    let longest = max_of(lines.iter().map(|(l, _)| last_x(l))).unwrap_or(0.0);
    let mut remark = "log scales".to_string();
    for (l, samples) in &lines {
        if *samples > 0 && last_x(l) < longest - SHORT_BY {
            remark.push_str(&format!(
                "; {} ends at {}: {} samples",
                l.label,
                deepest_percentile(*samples),
                crate::report::html::count(*samples)
            ));
        }
    }
    let lines: Vec<Line> = lines.into_iter().map(|(l, _)| l).collect();
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
        let top = header(root, title, &keys, &remark)?;
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

#[cfg(test)]
mod tests {
    use crate::report::charts::render;
    use crate::report::charts::tests::{chart, parse, polylines, sample, texts};

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
            8,
            "8 rows less the 100% one, and the maximum where 100,000 samples end (99.999%)"
        );
    }
}
