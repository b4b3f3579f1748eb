//! CSV exporters: summary.csv (one row per API variant and phase, and each variant's measured
//! total), latency.csv (the percentile spectrum of each histogram), shards.csv, comparison.csv
//! (one row per variant) and the time series (one row per interval, streamed). Every file starts
//! with an `api` column naming the variant.

use super::{Exporter, LatencySummary, PhaseSummary, RunReport};
use crate::metrics::collector::Row;
use crate::metrics::interval::Counters;
use anyhow::Context;
use std::fs::File;
use std::path::Path;

pub(super) fn latency_columns(prefix: &str) -> Vec<String> {
    ["p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"]
        .iter()
        .map(|c| format!("{prefix}_{c}"))
        .collect()
}

/// The percentiles in ms; empty cells when there were no samples (in-stream latency not
/// measured, e2e without a consumer): a latency not measured is not 0 ms.
pub(super) fn latency_values(l: &LatencySummary) -> Vec<String> {
    [l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms]
        .iter()
        .map(|v| {
            if l.count == 0 {
                String::new()
            } else {
                format!("{v:.3}")
            }
        })
        .collect()
}

/// summary.csv
pub struct SummaryCsv;

impl SummaryCsv {
    fn header() -> Vec<String> {
        let mut h: Vec<String> = [
            "api",
            "phase",
            "measure",
            "duration_s",
            "active_s",
            "offered_rps",
            "achieved_rps",
            "achieved_pct",
            "throttled_pct",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        h.extend(Counters::NAMES.iter().map(|s| s.to_string()));
        for prefix in [
            "put",
            "put_uncorrected",
            "put_service",
            "e2e",
            "in_stream",
            "schedule_lag",
        ] {
            h.extend(latency_columns(prefix));
        }
        h
    }

    fn row(api: &str, p: &PhaseSummary) -> Vec<String> {
        let mut r = vec![
            api.to_string(),
            p.phase.clone(),
            p.measure.to_string(),
            format!("{:.3}", p.duration_s),
            format!("{:.3}", p.active_s),
            format!("{:.1}", p.offered_rps),
            format!("{:.1}", p.achieved_rps),
            format!("{:.2}", p.achieved_pct),
            format!("{:.3}", p.throttled_pct),
        ];
        r.extend(p.counters.values().iter().map(u64::to_string));
        for l in [
            &p.put,
            &p.put_uncorrected,
            &p.put_service,
            &p.e2e,
            &p.in_stream,
            &p.schedule_lag,
        ] {
            r.extend(latency_values(l));
        }
        r
    }
}

impl Exporter for SummaryCsv {
    fn file_name(&self) -> &'static str {
        "summary.csv"
    }

    fn render(&self, report: &RunReport) -> anyhow::Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(Self::header())?;
        for v in &report.summary.variants {
            for p in &v.phases {
                w.write_record(Self::row(&v.api, p))?;
            }
        }
        w.into_inner().context("cannot render summary.csv")
    }
}

/// latency.csv: the percentile spectrum of each histogram over the measured phases.
pub struct LatencyCsv;

impl Exporter for LatencyCsv {
    fn file_name(&self) -> &'static str {
        "latency.csv"
    }

    fn render(&self, report: &RunReport) -> anyhow::Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["api", "histogram", "percentile", "value_ms", "count"])?;
        for (v, m) in report.summary.variants.iter().zip(report.measured) {
            let total = v.total();
            let reported =
                |f: fn(&PhaseSummary) -> &LatencySummary| total.is_some_and(|t| f(t).count > 0);
            for (name, h, summary) in [
                ("put", &m.put_response, reported(|t| &t.put)),
                (
                    "put_uncorrected",
                    &m.put_uncorrected,
                    reported(|t| &t.put_uncorrected),
                ),
                ("put_service", &m.put_service, reported(|t| &t.put_service)),
                ("e2e", &m.e2e, reported(|t| &t.e2e)),
                ("in_stream", &m.in_stream, reported(|t| &t.in_stream)),
                ("schedule_lag", &m.lag, reported(|t| &t.schedule_lag)),
            ] {
                // what the summary does not report (in-stream latency from whole-second arrival
                // timestamps) has no spectrum: no rows, as for a histogram without samples
                if !summary {
                    continue;
                }
                spectrum(&mut w, &v.api, name, h)?;
            }
            // with several consumers, each one's own: `e2e/<consumer>`, `in_stream/<consumer>`
            if v.consumers.len() > 1 {
                for (c, r) in v.consumers.iter().zip(&m.reads) {
                    let t = c.total();
                    spectrum(&mut w, &v.api, &format!("e2e/{}", c.name), &r.e2e)?;
                    if t.is_some_and(|t| t.in_stream.count > 0) {
                        let name = format!("in_stream/{}", c.name);
                        spectrum(&mut w, &v.api, &name, &r.in_stream)?;
                    }
                }
            }
        }
        w.into_inner().context("cannot render latency.csv")
    }
}

/// The rows of one histogram's percentile spectrum.
fn spectrum(
    w: &mut csv::Writer<Vec<u8>>,
    api: &str,
    name: &str,
    h: &crate::metrics::histogram::Latency,
) -> anyhow::Result<()> {
    for (pct, value, count) in h.spectrum() {
        w.write_record([
            api.to_string(),
            name.to_string(),
            format!("{pct:.6}"),
            format!("{:.3}", value.as_secs_f64() * 1000.0),
            count.to_string(),
        ])?;
    }
    Ok(())
}

/// timeseries.csv, written one row per interval and flushed, so it survives an interruption.
pub struct TimeseriesWriter {
    w: csv::Writer<File>,
    /// The run's consumers: `received_rps` is per consumer (the mean), comparable with
    /// `acknowledged_rps` however many read the stream; each one's own is in
    /// consumer_timeseries.csv.
    consumers: u64,
}

impl TimeseriesWriter {
    pub fn create(dir: &Path) -> anyhow::Result<TimeseriesWriter> {
        let path = dir.join("timeseries.csv");
        let file =
            File::create(&path).with_context(|| format!("cannot create `{}`", path.display()))?;
        let mut w = csv::Writer::from_writer(file);
        let mut header: Vec<String> = [
            "api",
            "elapsed_s",
            "phase",
            "interval_s",
            "offered_rps",
            "acknowledged_rps",
            "received_rps",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        header.extend(Counters::NAMES.iter().map(|s| s.to_string()));
        header.extend(
            [
                "put_p50_ms",
                "put_p99_ms",
                "put_max_ms",
                "put_service_p99_ms",
                "e2e_p50_ms",
                "e2e_p99_ms",
                "e2e_max_ms",
                "schedule_lag_p99_ms",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        w.write_record(header)?;
        w.flush()?;
        Ok(TimeseriesWriter { w, consumers: 1 })
    }

    /// With `n` consumers (at least one is assumed).
    pub fn consumers(mut self, n: usize) -> TimeseriesWriter {
        self.consumers = (n as u64).max(1);
        self
    }

    /// Writes one interval of variant `api`; `elapsed_s` counts from the variant's start.
    pub fn write(&mut self, api: &str, row: &Row) -> anyhow::Result<()> {
        let s = &row.stats;
        let c = &s.counters;
        let secs = row.length.as_secs_f64().max(1e-9);
        let ms = |d: std::time::Duration| format!("{:.3}", d.as_secs_f64() * 1000.0);
        let mut r = vec![
            api.to_string(),
            format!("{:.3}", row.elapsed.as_secs_f64()),
            row.phase.clone(),
            format!("{secs:.3}"),
            format!("{:.1}", row.offered as f64 / secs),
            format!("{:.1}", c.acknowledged as f64 / secs),
            format!(
                "{:.1}",
                c.received_distinct() as f64 / self.consumers as f64 / secs
            ),
        ];
        r.extend(c.values().iter().map(u64::to_string));
        r.extend([
            ms(s.put_response.quantile(0.5)),
            ms(s.put_response.quantile(0.99)),
            ms(s.put_response.max()),
            ms(s.put_service.quantile(0.99)),
            ms(s.e2e.quantile(0.5)),
            ms(s.e2e.quantile(0.99)),
            ms(s.e2e.max()),
            ms(s.lag.quantile(0.99)),
        ]);
        self.w.write_record(r)?;
        self.w.flush()?;
        Ok(())
    }
}

/// shards.csv: per-shard writes over the measured phases.
pub struct ShardsCsv;

impl Exporter for ShardsCsv {
    fn file_name(&self) -> &'static str {
        "shards.csv"
    }

    fn render(&self, report: &RunReport) -> anyhow::Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "api",
            "shard_id",
            "starting_hash_key",
            "ending_hash_key",
            "acknowledged",
            "acknowledged_bytes",
            "throttled",
            "records_per_s",
            "bytes_per_s",
            "share_pct",
            "peak_records_per_s",
        ])?;
        for (api, s) in report
            .summary
            .variants
            .iter()
            .flat_map(|v| v.per_shard.iter().map(move |s| (&v.api, s)))
        {
            w.write_record([
                api.clone(),
                s.shard_id.clone(),
                s.starting_hash_key.clone(),
                s.ending_hash_key.clone(),
                s.acknowledged.to_string(),
                s.acknowledged_bytes.to_string(),
                s.throttled.to_string(),
                format!("{:.1}", s.records_per_s),
                format!("{:.1}", s.bytes_per_s),
                format!("{:.2}", s.share_pct),
                format!("{:.1}", s.peak_records_per_s),
            ])?;
        }
        w.into_inner().context("cannot render shards.csv")
    }
}

/// shard_timeseries.csv: per shard and interval, written as the run goes.
pub struct ShardTimeseriesWriter {
    w: csv::Writer<File>,
    ids: Vec<String>,
}

impl ShardTimeseriesWriter {
    /// `ids`: shard ids in shard-map order.
    pub fn create(dir: &Path, ids: Vec<String>) -> anyhow::Result<ShardTimeseriesWriter> {
        let path = dir.join("shard_timeseries.csv");
        let file =
            File::create(&path).with_context(|| format!("cannot create `{}`", path.display()))?;
        let mut w = csv::Writer::from_writer(file);
        w.write_record([
            "api",
            "elapsed_s",
            "phase",
            "shard_id",
            "acknowledged_rps",
            "acknowledged_bytes_per_s",
            "throttled",
        ])?;
        w.flush()?;
        Ok(ShardTimeseriesWriter { w, ids })
    }

    pub fn write(&mut self, api: &str, row: &Row) -> anyhow::Result<()> {
        let secs = row.length.as_secs_f64().max(1e-9);
        for (id, s) in self.ids.iter().zip(
            row.stats
                .shards
                .iter()
                .chain(std::iter::repeat(&Default::default())),
        ) {
            self.w.write_record([
                api.to_string(),
                format!("{:.3}", row.elapsed.as_secs_f64()),
                row.phase.clone(),
                id.clone(),
                format!("{:.1}", s.acknowledged as f64 / secs),
                format!("{:.1}", s.acknowledged_bytes as f64 / secs),
                s.throttled.to_string(),
            ])?;
        }
        self.w.flush()?;
        Ok(())
    }
}

/// comparison.csv: one row per API variant over the measured phases.
pub struct ComparisonCsv;

impl Exporter for ComparisonCsv {
    fn file_name(&self) -> &'static str {
        "comparison.csv"
    }

    fn render(&self, report: &RunReport) -> anyhow::Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        for row in report.summary.comparison.iter().flat_map(|c| &c.rows) {
            // serde names the columns after the row's fields
            w.serialize(row)?;
        }
        w.into_inner().context("cannot render comparison.csv")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::interval::Stats;
    use std::time::Duration;

    fn row(length_ms: u64, acknowledged: u64) -> Row {
        let mut stats = Stats::default();
        stats.counters.acknowledged = acknowledged;
        Row {
            elapsed: Duration::from_millis(35_000 + length_ms),
            phase: "drain".into(),
            length: Duration::from_millis(length_ms),
            offered: 0,
            stats,
            by_phase: Vec::new(),
        }
    }

    /// A short last interval's rate is over its real length: 67 records in 50 ms are 1340/s,
    /// not 67/s as if it were a whole second (the throughput chart leaves such a point out).
    #[test]
    fn a_partial_interval_rate_is_over_its_real_length() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut w = TimeseriesWriter::create(dir.path()).expect("writer");
        w.write("put_records", &row(1000, 300)).expect("row");
        w.write("put_records", &row(50, 67)).expect("row");
        drop(w);
        let mut r = csv::Reader::from_path(dir.path().join("timeseries.csv")).expect("csv");
        let rows: Vec<csv::StringRecord> = r.records().map(|r| r.expect("row")).collect();
        assert_eq!((&rows[0][3], &rows[0][5]), ("1.000", "300.0"));
        assert_eq!((&rows[1][3], &rows[1][5]), ("0.050", "1340.0"));
    }

    fn columns(csv_text: &[u8]) -> Vec<std::collections::BTreeMap<String, String>> {
        let mut r = csv::Reader::from_reader(csv_text);
        let headers = r.headers().expect("headers").clone();
        r.records()
            .map(|row| {
                let row = row.expect("row");
                headers
                    .iter()
                    .zip(row.iter())
                    .map(|(h, v)| (h.to_string(), v.to_string()))
                    .collect()
            })
            .collect()
    }

    /// In-stream latency not measured (no samples in the summary, as with whole-second arrival
    /// timestamps): summary.csv leaves its cells empty and latency.csv has no rows for it, even
    /// though the histograms hold whole-second samples; what was measured is written as before.
    #[test]
    fn latency_without_samples_is_written_as_empty_cells() {
        let data = crate::report::charts::tests::sample(&["put_records"], 2);
        let scenario =
            crate::scenario::parse("[[phase]]\nduration = \"1s\"\nrate = 10\n", "t.toml", "t")
                .expect("a scenario");
        let mut measured = Stats::default();
        measured.e2e.record(Duration::from_millis(110));
        measured.put_response.record(Duration::from_millis(12));
        // what a whole-second ApproximateArrivalTimestamp makes of in-stream latency
        measured.in_stream.record(Duration::from_millis(680));
        let report = RunReport {
            summary: &data.summary,
            scenario: &scenario,
            measured: std::slice::from_ref(&measured),
        };
        assert_eq!(data.summary.variants[0].phases.len(), 3);
        let summary = columns(&SummaryCsv.render(&report).expect("summary.csv"));
        assert_eq!(summary.len(), 3);
        for row in &summary {
            for c in ["p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"] {
                assert_eq!(row[&format!("in_stream_{c}")], "", "in_stream_{c}: {row:?}");
            }
            assert_eq!(row["e2e_p99_ms"], "220.000");
        }
        let spectrum =
            String::from_utf8(LatencyCsv.render(&report).expect("latency.csv")).expect("utf-8");
        assert!(!spectrum.contains(",in_stream,"), "{spectrum}");
        assert!(
            spectrum.contains("put_records,e2e,100.000000,110."),
            "{spectrum}"
        );
    }
}
