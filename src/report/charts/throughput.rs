//! Throughput over time: per interval the records/s offered, acknowledged and (with a consumer)
//! received, the warm-up shaded and each phase's start marked. An interval shorter than half the
//! report interval (the run's last, cut short by its end) is left out of the lines and a note
//! says so: its rate is right in timeseries.csv, but over a few records it is a noisy point.

use super::axis::{Axis, axis_num, linear_ticks, max_of, mesh};
use super::draw::{
    DEEP_BLUE, Key, Line, ORANGE, SHADE, SKY, Swatch, WIDTH, err, header, key, plot, svg,
};
use super::timeline::{Pick, draw_phase_marks, phase_marks, shade_unmeasured};
use crate::report::VariantSummary;
use crate::report::load::IntervalRow;
use plotters::prelude::*;

/// Intervals shorter than this share of the report interval are not drawn.
const MIN_SHARE_OF_INTERVAL: f64 = 0.5;

/// The report interval of `rows`: the median interval length (every interval but a run's last
/// has it), or None without rows.
fn report_interval(rows: &[&IntervalRow]) -> Option<f64> {
    let mut lengths: Vec<f64> = rows
        .iter()
        .map(|r| r.interval_s)
        .filter(|s| s.is_finite() && *s > 0.0)
        .collect();
    lengths.sort_by(f64::total_cmp);
    lengths.get(lengths.len() / 2).copied()
}

/// Whether an interval is long enough for its rate to be drawn.
fn whole(r: &IntervalRow, interval_s: Option<f64>) -> bool {
    interval_s.is_none_or(|i| r.interval_s >= i * MIN_SHARE_OF_INTERVAL)
}

/// The chart of a variant's records/s over time, or None without intervals.
pub(super) fn draw(
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
    let interval_s = report_interval(rows);
    let short = rows.iter().filter(|r| !whole(r, interval_s)).count();
    let lines: Vec<Line> = series
        .iter()
        .filter(|(label, ..)| consumer || *label != "received")
        .map(|(label, color, width, f)| Line {
            label: label.to_string(),
            color: *color,
            width: *width,
            points: rows
                .iter()
                .filter(|r| whole(r, interval_s))
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
    let mut remarks: Vec<String> = Vec::new();
    if !consumer {
        remarks.push("consumer disabled: nothing was read back".into());
    }
    if short > 0 {
        let intervals = if short == 1 { "interval" } else { "intervals" };
        remarks.push(format!(
            "{short} {intervals} shorter than half the report interval not drawn"
        ));
    }
    let remark = remarks.join("; ");
    let svg = svg((WIDTH, 430), |root| {
        let top = header(root, title, &keys, &remark)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::charts::render;
    use crate::report::charts::tests::{chart, parse, polylines, sample, texts};

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
        // the sample's last interval (the drain, 0.05 s) is left out
        let n = data.intervals.len() - 1;
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

    /// A 50 ms last interval whose few records make a rate far above the run's: not drawn, and
    /// the chart says so; with every interval whole, no note.
    #[test]
    fn a_short_last_interval_is_left_out_of_the_rate_lines_and_noted() {
        let mut data = sample(&["put_records"], 4);
        let last = data.intervals.last_mut().expect("intervals");
        assert_eq!(last.interval_s, 0.05);
        // 67 records received in 50 ms: 1340/s against the run's 300/s
        last.received_rps = 67.0 / 0.05;
        let charts = render(&data).expect("charts");
        let c = chart(&charts, "put_records-throughput.svg");
        let doc = parse(&c.svg);
        let note = "1 interval shorter than half the report interval not drawn";
        assert!(texts(&doc).iter().any(|t| t == note), "{:?}", texts(&doc));
        let hex = format!("#{:02X}{:02X}{:02X}", ORANGE.0, ORANGE.1, ORANGE.2);
        let received = polylines(&doc, &hex);
        assert_eq!(received.len(), 1);
        assert_eq!(
            received[0].split_whitespace().count(),
            data.intervals.len() - 1,
            "{}",
            received[0]
        );
        // the y axis is scaled to the whole intervals: no tick near 1340
        let top_tick = texts(&doc)
            .iter()
            .filter_map(|t| t.replace(',', "").parse::<f64>().ok())
            .fold(0.0, f64::max);
        assert!(top_tick < 1000.0, "highest number on the chart {top_tick}");

        let mut whole = sample(&["put_records"], 4);
        whole.intervals.retain(|r| r.interval_s >= 1.0);
        let charts = render(&whole).expect("charts");
        let c = chart(&charts, "put_records-throughput.svg");
        assert!(!c.svg.contains("not drawn"));
    }
}
