//! The consumers' own files: consumers.csv (one row per API variant, consumer and phase, and each
//! consumer's measured total) and consumer_timeseries.csv (one row per interval and consumer,
//! streamed).
//!
//! They are files of their own rather than a `consumer` column in summary.csv and
//! timeseries.csv: those rows are the write side's, and a column would repeat every put figure
//! once per consumer. summary.csv and timeseries.csv keep their `e2e` and `received` columns
//! as every consumer's reads together (with one consumer, its own).

use super::csv::{latency_columns, latency_values};
use super::{Exporter, RunReport};
use crate::metrics::collector::Row;
use crate::metrics::interval::ReadCounters;
use anyhow::Context;
use std::fs::File;
use std::path::Path;

/// consumers.csv
pub struct ConsumersCsv;

impl Exporter for ConsumersCsv {
    fn file_name(&self) -> &'static str {
        "consumers.csv"
    }

    fn render(&self, report: &RunReport) -> anyhow::Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<String> = ["api", "consumer", "kind", "phase", "measure"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        header.extend(ReadCounters::NAMES.iter().map(|s| s.to_string()));
        header.extend(latency_columns("e2e"));
        header.extend(latency_columns("in_stream"));
        // the accounting is over the whole run: on the total row only
        header.extend(
            [
                "behind_ms_max",
                "lost",
                "unverified",
                "received_unacknowledged",
                "subscriptions",
                "renewals",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        w.write_record(&header)?;
        for v in &report.summary.variants {
            for c in &v.consumers {
                for p in &c.phases {
                    let mut r = vec![
                        v.api.clone(),
                        c.name.clone(),
                        c.kind.clone(),
                        p.phase.clone(),
                        p.measure.to_string(),
                    ];
                    r.extend(p.counters.values().iter().map(u64::to_string));
                    r.extend(latency_values(&p.e2e));
                    r.extend(latency_values(&p.in_stream));
                    r.push(p.behind_ms_max.map_or(String::new(), |b| b.to_string()));
                    let a = &c.accounting;
                    if p.phase == "total" {
                        r.extend(
                            [
                                a.lost,
                                a.unverified,
                                a.received_unacknowledged,
                                c.subscriptions,
                                c.renewals,
                            ]
                            .map(|n| n.to_string()),
                        );
                    } else {
                        r.extend(std::iter::repeat_n(String::new(), 5));
                    }
                    w.write_record(&r)?;
                }
            }
        }
        w.into_inner().context("cannot render consumers.csv")
    }
}

/// consumer_timeseries.csv: per consumer and interval, written as the run goes.
pub struct ConsumerTimeseriesWriter {
    w: csv::Writer<File>,
    /// The scenario's consumers, by index.
    names: Vec<String>,
}

impl ConsumerTimeseriesWriter {
    pub fn create(dir: &Path, names: &[String]) -> anyhow::Result<ConsumerTimeseriesWriter> {
        let path = dir.join("consumer_timeseries.csv");
        let file =
            File::create(&path).with_context(|| format!("cannot create `{}`", path.display()))?;
        let mut w = csv::Writer::from_writer(file);
        let mut header: Vec<String> = [
            "api",
            "elapsed_s",
            "phase",
            "interval_s",
            "consumer",
            "received_rps",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        header.extend(ReadCounters::NAMES.iter().map(|s| s.to_string()));
        header.extend(
            ["e2e_p50_ms", "e2e_p99_ms", "e2e_max_ms", "behind_ms_max"]
                .iter()
                .map(|s| s.to_string()),
        );
        w.write_record(header)?;
        w.flush()?;
        Ok(ConsumerTimeseriesWriter {
            w,
            names: names.to_vec(),
        })
    }

    /// One row per consumer for the interval of `row`; `elapsed_s` counts from the variant's
    /// start. A latency with no sample is an empty cell.
    pub fn write(&mut self, api: &str, row: &Row) -> anyhow::Result<()> {
        let secs = row.length.as_secs_f64().max(1e-9);
        let none = Default::default();
        for (i, name) in self.names.iter().enumerate() {
            let s = row.stats.reads.get(i).unwrap_or(&none);
            let c = &s.counters;
            let ms = |d: std::time::Duration| {
                if s.e2e.is_empty() {
                    String::new()
                } else {
                    format!("{:.3}", d.as_secs_f64() * 1000.0)
                }
            };
            let mut r = vec![
                api.to_string(),
                format!("{:.3}", row.elapsed.as_secs_f64()),
                row.phase.clone(),
                format!("{secs:.3}"),
                name.clone(),
                format!("{:.1}", (c.received - c.duplicates) as f64 / secs),
            ];
            r.extend(c.values().iter().map(u64::to_string));
            r.extend([
                ms(s.e2e.quantile(0.5)),
                ms(s.e2e.quantile(0.99)),
                ms(s.e2e.max()),
                s.behind_ms.map_or(String::new(), |b| b.to_string()),
            ]);
            self.w.write_record(r)?;
        }
        self.w.flush()?;
        Ok(())
    }
}
