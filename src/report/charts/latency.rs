//! Latency over time: per interval the p50, p99 and max of put and of end-to-end latency, in two
//! panels on one log scale, leaving out the intervals without records.

use super::axis::{Axis, axis_num, linear_ticks, log_range, max_of, mesh, min_positive};
use super::draw::{
    DEEP_BLUE, Key, Line, ORANGE, PURPLE, SHADE, Swatch, WIDTH, err, header, key, note, plot, svg,
};
use super::timeline::{Pick, draw_phase_marks, phase_marks, shade_unmeasured};
use crate::report::VariantSummary;
use crate::report::load::IntervalRow;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The chart of a variant's put and end-to-end latency over time, or None without any.
pub(super) fn draw(
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
