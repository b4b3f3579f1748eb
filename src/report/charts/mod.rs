//! SVG charts of a report: per API variant the throughput and latency over time, the latency
//! percentile spectrum, each consumer's end-to-end latency (with several) and the per-shard load, and a sweep's knee chart. Drawn with plotters' SVG
//! backend and its built-in text measurement, so no system font is read; text stays `<text>`
//! elements.
//!
//! A chart without data is left out, never drawn empty.
//!
//! Each chart has a file of its own; `draw` holds what they are all drawn with (palette,
//! document, header and legend), `axis` their scales and ticks, and `timeline` the phases that
//! the charts over time mark.

mod axis;
mod consumers;
mod draw;
mod knee;
mod latency;
mod shards;
mod spectrum;
#[cfg(test)]
pub(crate) mod tests;
mod throughput;
mod timeline;

pub use knee::sweep;

use super::load::{IntervalRow, ReportData};

/// One chart, ready to be written to `charts/<file_name>` or embedded in report.html.
#[derive(Debug, Clone)]
pub struct Chart {
    pub file_name: String,
    pub title: String,
    pub svg: String,
}

/// Every chart of the report, in the order report.html shows them: per variant throughput,
/// latency, percentile spectrum, (with several consumers) each consumer's end-to-end latency
/// over time and by percentile, and shards.
pub fn render(data: &ReportData) -> anyhow::Result<Vec<Chart>> {
    let several = data.summary.variants.len() > 1;
    let mut charts = Vec::new();
    for v in &data.summary.variants {
        let rows: Vec<&IntervalRow> = data
            .intervals_of(&v.api)
            .filter(|r| r.elapsed_s.is_finite() && r.interval_s.is_finite())
            .collect();
        let titled = |what: &str| {
            if several {
                format!("{what} ({})", v.api)
            } else {
                what.to_string()
            }
        };
        type Draw<'a> = Box<dyn Fn(&str) -> anyhow::Result<Option<String>> + 'a>;
        let kinds: [(&str, &str, Draw); 6] = [
            (
                "throughput",
                "Throughput over time: records/s offered, acknowledged and received",
                Box::new(|t| throughput::draw(v, &rows, t)),
            ),
            (
                "latency",
                "Latency over time: put and end-to-end, per interval",
                Box::new(|t| latency::draw(v, &rows, t)),
            ),
            (
                "spectrum",
                "Latency by percentile over the measured phases",
                Box::new(|t| spectrum::draw(data, v, t)),
            ),
            (
                "consumers",
                "End-to-end latency per consumer over time",
                Box::new(|t| consumers::over_time(data, v, &rows, t)),
            ),
            (
                "consumer-spectrum",
                "End-to-end latency by percentile, per consumer, over the measured phases",
                Box::new(|t| consumers::spectrum(data, v, t)),
            ),
            (
                "shards",
                "Writes per shard over the measured phases",
                Box::new(|t| shards::draw(v, t)),
            ),
        ];
        for (kind, what, draw) in kinds {
            let title = titled(what);
            if let Some(svg) = draw(&title)? {
                charts.push(Chart {
                    file_name: format!("{}-{kind}.svg", v.api),
                    title,
                    svg,
                });
            }
        }
    }
    Ok(charts)
}
