//! The load per shard over the measured phases: each shard's average and peak records/s against
//! the shard write limit, and under it the record attempts throttled on each shard.

use super::axis::{Axis, axis_num, linear_ticks, max_of, mesh};
use super::draw::{DEEP_BLUE, INK, Swatch, VERMILLION, WIDTH, err, header, key, note, plot, svg};
use crate::report::{ShardSummary, VariantSummary};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The shard's number: "3" for shardId-000000000003 (the id itself when it has none).
pub(super) fn shard_label(id: &str) -> String {
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

/// The chart of a variant's load per shard, or None without shards.
pub(super) fn draw(v: &VariantSummary, title: &str) -> anyhow::Result<Option<String>> {
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
