//! A sweep's knee chart: against the offered rate, the achieved records/s, the throttled share
//! of attempts and the p99 latencies of every step, one colour per shard count, the steps within
//! the SLO filled and the breaching ones hollow, with the SLO's limits as rules.

use super::axis::{
    Axis, axis_num, linear_ticks, log_range, max_of, mesh, min_positive, symlog, symlog_inverse,
    symlog_ticks,
};
use super::draw::{
    Area, BLUISH_GREEN, DEEP_BLUE, GREY, INK, Key, Line, ORANGE, PURPLE, SKY, Swatch, VERMILLION,
    WIDTH, err, header, key, marker, note, plot, svg,
};
use crate::report::sweep::{Step, count};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The colours of a sweep's shard counts, smallest count first; cycled when there are more.
const SWEEP_COLORS: [RGBColor; 6] = [DEEP_BLUE, ORANGE, BLUISH_GREEN, VERMILLION, PURPLE, SKY];

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
pub(super) fn pct_num(v: f64) -> String {
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
                label: String::new(),
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
                label: String::new(),
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
                label: String::new(),
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
mod tests {
    use super::*;
    use crate::report::charts::tests::{parse, polylines, texts};
    use crate::scenario::Slo;
    use std::path::PathBuf;
    use std::time::Duration;

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
