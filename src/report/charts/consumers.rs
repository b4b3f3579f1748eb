//! End-to-end latency per consumer, for a run with several on one stream: each consumer's p50
//! and p99 per interval (two panels over time) and its percentile spectrum over the measured
//! phases, one line per consumer, so that the one that falls behind stands out. Drawn from
//! consumer_timeseries.csv and latency.csv's `e2e/<name>` rows. With one consumer its figures
//! are the latency and spectrum charts' end-to-end lines, and these charts are left out.

use super::draw::{
    BLUISH_GREEN, DEEP_BLUE, GREY, INK, Key, Line, ORANGE, PURPLE, SKY, Swatch, VERMILLION, key,
};
use super::latency::{Panel, panels_over_time};
use super::spectrum::{draw_lines, histogram_line};
use crate::report::VariantSummary;
use crate::report::load::{ConsumerIntervalRow, IntervalRow, ReportData};
use plotters::style::RGBColor;

/// A colour for each of the first eight consumers (Okabe-Ito, then ink and grey).
const COLOURS: [RGBColor; 8] = [
    DEEP_BLUE,
    ORANGE,
    BLUISH_GREEN,
    VERMILLION,
    SKY,
    PURPLE,
    INK,
    GREY,
];

/// Consumer `i`'s colour and line width: the colours in turn, in thick lines for the first
/// eight consumers, thin ones for the next eight, and so on.
fn style(i: usize) -> (RGBColor, u32) {
    (
        COLOURS[i % COLOURS.len()],
        2 - ((i / COLOURS.len()) % 2) as u32,
    )
}

fn keys(v: &VariantSummary) -> Vec<Key> {
    v.consumers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (color, width) = style(i);
            key(&c.name, color, Swatch::Line(width))
        })
        .collect()
}

/// The chart of each consumer's end-to-end p50 and p99 over time, or None with fewer than two
/// consumers or no reads.
pub(super) fn over_time(
    data: &ReportData,
    v: &VariantSummary,
    rows: &[&IntervalRow],
    title: &str,
) -> anyhow::Result<Option<String>> {
    if v.consumers.len() < 2 {
        return Ok(None);
    }
    type Pick = fn(&ConsumerIntervalRow) -> Option<f64>;
    let panels: [(&str, Pick); 2] = [
        ("end-to-end p50 (ms)", |r| r.e2e_p50_ms),
        ("end-to-end p99 (ms)", |r| r.e2e_p99_ms),
    ];
    let panels: Vec<Panel> = panels
        .into_iter()
        .map(|(desc, pick)| Panel {
            desc,
            empty: "no consumer read a record",
            lines: v
                .consumers
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let (color, width) = style(i);
                    Line {
                        label: c.name.clone(),
                        color,
                        width,
                        points: data
                            .consumer_intervals_of(&v.api, &c.name)
                            .filter_map(|r| Some((r.elapsed_s, pick(r)?)))
                            .filter(|(_, y)| y.is_finite() && *y > 0.0)
                            .collect(),
                    }
                })
                .collect(),
        })
        .collect();
    panels_over_time(
        v,
        rows,
        title,
        keys(v),
        "log scale; intervals in which a consumer read nothing are left out",
        &panels,
    )
}

/// The chart of each consumer's end-to-end latency by percentile, or None with fewer than two
/// consumers or no reads.
pub(super) fn spectrum(
    data: &ReportData,
    v: &VariantSummary,
    title: &str,
) -> anyhow::Result<Option<String>> {
    if v.consumers.len() < 2 {
        return Ok(None);
    }
    let lines = v
        .consumers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = format!("e2e/{}", c.name);
            histogram_line(data, &v.api, &name, c.name.clone(), style(i))
        })
        .collect();
    draw_lines(title, lines)
}

#[cfg(test)]
mod tests {
    use super::style;
    use crate::report::charts::render;
    use crate::report::charts::tests::{chart, parse, polylines, sample, texts, with_consumers};

    #[test]
    fn several_consumers_get_a_line_each_over_time_and_by_percentile() {
        let data = with_consumers(sample(&["put_records"], 4), &["archive", "analytics"]);
        let charts = render(&data).expect("charts");
        let over_time = parse(&chart(&charts, "put_records-consumers.svg").svg);
        let by_percentile = parse(&chart(&charts, "put_records-consumer-spectrum.svg").svg);
        for doc in [&over_time, &by_percentile] {
            let texts = texts(doc);
            for name in ["archive", "analytics"] {
                assert!(texts.iter().any(|t| t == name), "{name:?} in {texts:?}");
            }
        }
        // archive blue, analytics orange; over time a p50 and a p99 panel each, every interval
        // with reads (the sample's ten) a point
        for color in ["#0072B2", "#E69F00"] {
            let lines = polylines(&over_time, color);
            let points: Vec<usize> = lines.iter().map(|p| p.split_whitespace().count()).collect();
            assert_eq!(points, [10, 10], "{color}");
            assert_eq!(polylines(&by_percentile, color).len(), 1, "{color}");
        }
        // the all-consumer panel says what it is
        let latency = parse(&chart(&charts, "put_records-latency.svg").svg);
        assert!(
            texts(&latency)
                .iter()
                .any(|t| t == "end-to-end latency (ms), all consumers")
        );
    }

    #[test]
    fn one_consumer_has_no_per_consumer_charts() {
        let data = with_consumers(sample(&["put_records"], 4), &["only"]);
        let charts = render(&data).expect("charts");
        assert!(
            charts.iter().all(|c| !c.file_name.contains("consumer")),
            "{:?}",
            charts.iter().map(|c| &c.file_name).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_consumer_that_read_nothing_has_no_points() {
        let mut data = with_consumers(sample(&["put_records"], 4), &["a", "b"]);
        data.consumer_intervals.retain(|r| r.consumer == "a");
        data.spectrum.retain(|r| r.histogram != "e2e/b");
        let charts = render(&data).expect("charts");
        let doc = parse(&chart(&charts, "put_records-consumers.svg").svg);
        assert_eq!(polylines(&doc, "#0072B2").len(), 2);
        assert!(polylines(&doc, "#E69F00").is_empty());
    }

    #[test]
    fn colours_repeat_in_thin_lines_past_eight_consumers() {
        assert_eq!(style(0), style(16));
        assert_eq!(style(0).0, style(8).0);
        assert_eq!((style(0).1, style(8).1), (2, 1));
    }
}
