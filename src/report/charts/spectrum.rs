//! The latency percentile spectrum: put (corrected and uncorrected) and end-to-end latency
//! against the percentile over the measured phases, on log scales that spread the tail out.

use super::axis::{Axis, axis_num, log_range, max_of, mesh, min_positive};
use super::draw::{BLUISH_GREEN, DEEP_BLUE, Key, Line, ORANGE, WIDTH, err, header, plot, svg};
use crate::report::VariantSummary;
use crate::report::load::ReportData;

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

/// The chart of a variant's latency percentiles, or None without any.
pub(super) fn draw(
    data: &ReportData,
    v: &VariantSummary,
    title: &str,
) -> anyhow::Result<Option<String>> {
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
            7,
            "8 rows less the 100% one"
        );
    }
}
