//! Throughput over time: per interval the records/s offered, acknowledged and (with a consumer)
//! received, the warm-up shaded and each phase's start marked.

use super::axis::{Axis, axis_num, linear_ticks, max_of, mesh};
use super::draw::{
    DEEP_BLUE, Key, Line, ORANGE, SHADE, SKY, Swatch, WIDTH, err, header, key, plot, svg,
};
use super::timeline::{Pick, draw_phase_marks, phase_marks, shade_unmeasured};
use crate::report::VariantSummary;
use crate::report::load::IntervalRow;
use plotters::prelude::*;

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
}
