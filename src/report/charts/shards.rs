//! The load per shard over the measured phases: each shard's average and peak records/s against
//! the shard write limit, and under it the record attempts throttled on each shard.

use super::axis::{Axis, axis_num, linear_ticks, max_of, mesh};
use super::draw::{
    DEEP_BLUE, FONT, INK, SMALL_SIZE, Swatch, VERMILLION, WIDTH, err, font, header, key, note,
    plot, svg, text_width,
};
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

/// Width of a peak marker, and how far its white ring reaches above and below its middle.
const PEAK_WIDTH: u32 = 3;
const PEAK_HALO: i32 = 3;

/// A rectangle of pixels, for keeping labels off each other and off the marks.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    x0: i32,
    y0: i32,
    x1: i32,
    y1: i32,
}

impl Bounds {
    fn new(x0: i32, y0: i32, x1: i32, y1: i32) -> Bounds {
        Bounds {
            x0: x0.min(x1),
            y0: y0.min(y1),
            x1: x0.max(x1),
            y1: y0.max(y1),
        }
    }

    /// Where `text` in small type anchored at `at` by `h` and `v` lies, about.
    fn of_text(text: &str, at: (i32, i32), h: HPos, v: VPos) -> Bounds {
        let w = text_width(text, SMALL_SIZE);
        let tall = (SMALL_SIZE / 1.24).ceil() as i32 + 2;
        let x0 = match h {
            HPos::Left => at.0,
            HPos::Center => at.0 - w / 2,
            HPos::Right => at.0 - w,
        };
        let y0 = match v {
            VPos::Top => at.1,
            VPos::Center => at.1 - tall / 2,
            VPos::Bottom => at.1 - tall,
        };
        Bounds::new(x0, y0, x0 + w, y0 + tall)
    }

    fn overlaps(&self, o: &Bounds) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }
}

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
        // the limit under the peaks, so that a peak at the limit stays in sight
        let area = chart.plotting_area().get_pixel_range();
        let px = |x: f64, y: f64| chart.backend_coord(&(x, y));
        let limit_y = limit.then(|| px(0.0, SHARD_LIMIT_RPS).1);
        if let Some(y) = limit_y {
            let mut x = area.0.start;
            while x < area.0.end {
                root.draw(&Rectangle::new(
                    [(x, y - 1), ((x + 8).min(area.0.end), y + 1)],
                    VERMILLION.filled(),
                ))
                .map_err(err)?;
                x += 13;
            }
        }
        // each peak ringed in white, so that it stands out of the line it lies on
        let peak_box = |i: usize, p: f64| {
            let x = i as f64;
            let (x0, y) = px(x - half - 0.06, p);
            let (x1, _) = px(x + half + 0.06, p);
            (x0, y, x1)
        };
        for (i, p) in peak.iter().enumerate() {
            let (x0, y, x1) = peak_box(i, *p);
            root.draw(&Rectangle::new(
                [(x0 - 1, y - PEAK_HALO), (x1 + 1, y + PEAK_HALO)],
                WHITE.filled(),
            ))
            .map_err(err)?;
            root.draw(&PathElement::new(
                vec![(x0, y), (x1, y)],
                INK.stroke_width(PEAK_WIDTH),
            ))
            .map_err(err)?;
        }
        // the busiest shard's peak, labelled over its marker
        let mut taken: Vec<Bounds> = peak
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let (x0, y, x1) = peak_box(i, *p);
                Bounds::new(x0 - 1, y - PEAK_HALO, x1 + 1, y + PEAK_HALO)
            })
            .collect();
        taken.extend(avg.iter().enumerate().map(|(i, a)| {
            let (x0, y) = px(i as f64 - half, *a);
            let (x1, bottom) = px(i as f64 + half, 0.0);
            Bounds::new(x0, y, x1, bottom)
        }));
        if let Some((i, p)) = peak
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, p)| *p > 0.0)
            .max_by(|a, b| a.1.total_cmp(&b.1))
        {
            let (x0, y, x1) = peak_box(i, p);
            let text = format!("peak {}/s", axis_num(&p.round()));
            let at = ((x0 + x1) / 2, y - PEAK_HALO - 3);
            let style = font(SMALL_SIZE).pos(Pos::new(HPos::Center, VPos::Bottom));
            root.draw(&Text::new(text.clone(), at, style))
                .map_err(err)?;
            taken.push(Bounds::of_text(&text, at, HPos::Center, VPos::Bottom));
        }
        // the limit named at an end of its line, where nothing else is
        if let Some(y) = limit_y {
            let text = "limit 1,000/s";
            let (left, right) = (area.0.start + 6, area.0.end - 6);
            let candidates = [
                (right, y - 4, HPos::Right, VPos::Bottom),
                (left, y - 4, HPos::Left, VPos::Bottom),
                (right, y + 4, HPos::Right, VPos::Top),
                (left, y + 4, HPos::Left, VPos::Top),
            ];
            if let Some((x, y, h, v)) = candidates.into_iter().find(|(x, y, h, v)| {
                let b = Bounds::of_text(text, (*x, *y), *h, *v);
                !taken.iter().any(|t| t.overlaps(&b))
            }) {
                let style = (FONT, SMALL_SIZE)
                    .into_font()
                    .color(&VERMILLION)
                    .pos(Pos::new(h, v));
                root.draw(&Text::new(text, (x, y), style)).map_err(err)?;
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
