//! Latency over time: per interval the p50, p99 and max of put and of end-to-end latency, in two
//! panels on one log scale, leaving out the intervals without records; and the panels over time
//! that the per-consumer chart is drawn with too.

use super::axis::{Axis, axis_num, linear_ticks, log_range, max_of, mesh, min_positive};
use super::draw::{
    DEEP_BLUE, Key, Line, ORANGE, PURPLE, SHADE, Swatch, WIDTH, err, header, key, note, plot, svg,
};
use super::timeline::{Pick, draw_phase_marks, phase_marks, shade_unmeasured};
use crate::report::VariantSummary;
use crate::report::load::IntervalRow;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One panel of a chart over time: its y axis's title, its lines, and what it says when none of
/// them has a point.
pub(super) struct Panel {
    pub(super) desc: &'static str,
    pub(super) lines: Vec<Line>,
    pub(super) empty: &'static str,
}

/// The chart of a variant's put and end-to-end latency over time, or None without any.
/// `several` consumers: the end-to-end panel is all of them together.
pub(super) fn draw(
    v: &VariantSummary,
    rows: &[&IntervalRow],
    title: &str,
) -> anyhow::Result<Option<String>> {
    let e2e = if v.consumers.len() > 1 {
        "end-to-end latency (ms), all consumers"
    } else {
        "end-to-end latency (ms)"
    };
    let panels: [(&str, [Pick; 3], &str); 2] = [
        (
            "put latency (ms)",
            [|r| r.put_p50_ms, |r| r.put_p99_ms, |r| r.put_max_ms],
            "no records in any interval",
        ),
        (
            e2e,
            [|r| r.e2e_p50_ms, |r| r.e2e_p99_ms, |r| r.e2e_max_ms],
            if v.accounting.consumer {
                "no records in any interval"
            } else {
                "consumer disabled: nothing was read back"
            },
        ),
    ];
    let names = [
        ("p50", DEEP_BLUE, 2),
        ("p99", ORANGE, 2),
        ("max", PURPLE, 1),
    ];
    // per panel, per series: only the intervals that had records (0 means none)
    let panels: Vec<Panel> = panels
        .into_iter()
        .map(|(desc, picks, empty)| Panel {
            desc,
            empty,
            lines: picks
                .iter()
                .zip(names)
                .map(|(f, (label, color, width))| Line {
                    label: label.to_string(),
                    color,
                    width,
                    points: rows
                        .iter()
                        .map(|r| (r.elapsed_s, f(r)))
                        .filter(|(_, y)| y.is_finite() && *y > 0.0)
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let keys: Vec<Key> = names
        .iter()
        .map(|(n, c, w)| key(n, *c, Swatch::Line(*w)))
        .collect();
    panels_over_time(
        v,
        rows,
        title,
        keys,
        "log scale; intervals without records are left out",
        &panels,
    )
}

/// Panels stacked over the variant's time line (`rows`, its intervals), on one log scale so
/// that they compare at a glance, the phases marked and the unmeasured ones shaded; None when
/// no line has a point.
pub(super) fn panels_over_time(
    v: &VariantSummary,
    rows: &[&IntervalRow],
    title: &str,
    mut keys: Vec<Key>,
    remark: &str,
    panels: &[Panel],
) -> anyhow::Result<Option<String>> {
    let values = || {
        panels
            .iter()
            .flat_map(|p| &p.lines)
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
    let y_range = log_range(lo, hi, 3.0);
    let marks = phase_marks(v, rows);
    if marks.iter().any(|m| !m.measured) {
        keys.push(key("not measured", SHADE, Swatch::Shade));
    }
    let height = 180 + 240 * panels.len() as u32;
    let svg = svg((WIDTH, height), |root| {
        let top = header(root, title, &keys, remark)?;
        let (_, body) = root.split_vertically(top);
        let areas = body.split_evenly((panels.len(), 1));
        for (i, (panel, area)) in panels.iter().zip(&areas).enumerate() {
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
            mesh(
                &mut chart,
                (x_desc, &axis_num),
                (panel.desc, &axis_num),
                true,
            )?;
            draw_phase_marks(root, &marks, &x_range, &plot, i == 0)?;
            if panel.lines.iter().all(|l| l.points.is_empty()) {
                note(
                    root,
                    panel.empty,
                    (
                        (plot.0.start + plot.0.end) / 2,
                        (plot.1.start + plot.1.end) / 2,
                    ),
                    Pos::new(HPos::Center, VPos::Center),
                )?;
            }
            for line in &panel.lines {
                line.draw(&mut chart)?;
            }
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
}
