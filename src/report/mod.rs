//! Reports: the run summary model, and exporters that turn it into files and terminal text.
//!
//! Every exporter implements [`Exporter`] (bytes out, one file per format). Files are written
//! as the run goes (the time series row by row, the rest at the start and again at the end), so
//! an interrupted run still leaves a report.

pub mod charts;
pub mod command;
pub mod compare;
pub mod consumer_csv;
pub mod csv;
pub mod hlog;
pub mod html;
pub mod json;
pub mod load;
pub mod regression;
pub mod round;
mod scenario_section;
pub mod summary;
pub mod sweep;

use crate::metrics::histogram::Latency;
use crate::metrics::interval::{Counters, Stats};
use crate::scenario::Scenario;
use crate::workload::schedule::PhasePlan;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Version of the run.json layout (2: one entry per API variant under `variants`; 3: each
/// variant lists its `consumers`). Reports of version 2 are still read.
pub const SCHEMA_VERSION: u32 = 4;

/// Percentiles of one latency histogram, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    #[serde(serialize_with = "round::millis")]
    pub p50_ms: f64,
    #[serde(serialize_with = "round::millis")]
    pub p90_ms: f64,
    #[serde(serialize_with = "round::millis")]
    pub p99_ms: f64,
    #[serde(serialize_with = "round::millis")]
    pub p999_ms: f64,
    #[serde(serialize_with = "round::millis")]
    pub max_ms: f64,
    #[serde(serialize_with = "round::millis")]
    pub mean_ms: f64,
}

impl LatencySummary {
    pub fn of(h: &Latency) -> LatencySummary {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        LatencySummary {
            count: h.count(),
            p50_ms: ms(h.quantile(0.5)),
            p90_ms: ms(h.quantile(0.9)),
            p99_ms: ms(h.quantile(0.99)),
            p999_ms: ms(h.quantile(0.999)),
            max_ms: ms(h.max()),
            mean_ms: if h.is_empty() { 0.0 } else { ms(h.mean()) },
        }
    }
}

/// One phase (or the measured total) of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseSummary {
    pub phase: String,
    pub measure: bool,
    #[serde(serialize_with = "round::seconds")]
    pub duration_s: f64,
    /// Seconds from the phase's first acknowledgement to its last, or its duration if that is
    /// longer: a steady latency does not lengthen it, retries running past the phase do.
    #[serde(serialize_with = "round::seconds")]
    pub active_s: f64,
    /// Records per second the schedule offered (scheduled count / duration).
    #[serde(serialize_with = "round::rate")]
    pub offered_rps: f64,
    /// Records per second acknowledged (acknowledged / active time).
    #[serde(serialize_with = "round::rate")]
    pub achieved_rps: f64,
    /// Achieved records/s as a percentage of offered records/s: below 100 when the stream could
    /// not keep up and acknowledgements ran on after the phase (retries of throttled records),
    /// even if every record was acknowledged in the end.
    #[serde(serialize_with = "round::percent")]
    pub achieved_pct: f64,
    /// Throttled record attempts as a percentage of all record attempts.
    #[serde(serialize_with = "round::percent_fine")]
    pub throttled_pct: f64,
    pub counters: Counters,
    /// Intended send time -> acknowledgement, per record (coordinated-omission corrected).
    pub put: LatencySummary,
    /// Actual first send -> acknowledgement, per record (not corrected).
    pub put_uncorrected: LatencySummary,
    /// Request -> response, per API call.
    pub put_service: LatencySummary,
    /// Intended send time -> read by the consumer.
    pub e2e: LatencySummary,
    /// ApproximateArrivalTimestamp -> read by the consumer.
    pub in_stream: LatencySummary,
    /// When the generator made the record - its intended send time.
    pub schedule_lag: LatencySummary,
}

impl PhaseSummary {
    /// `start_s` is the phase's start as an offset from the run's start.
    /// `active_s`: the duration, or longer when acknowledgements took longer than it.
    pub fn new(
        phase: &str,
        measure: bool,
        duration_s: f64,
        active_s: f64,
        offered: u64,
        stats: &Stats,
    ) -> PhaseSummary {
        let c = &stats.counters;
        let per_s = |n: u64, secs: f64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let offered_rps = per_s(offered, duration_s);
        let achieved_rps = per_s(c.acknowledged, active_s);
        PhaseSummary {
            phase: phase.to_string(),
            measure,
            duration_s,
            active_s,
            offered_rps,
            achieved_rps,
            achieved_pct: if offered_rps > 0.0 {
                achieved_rps * 100.0 / offered_rps
            } else {
                0.0
            },
            throttled_pct: pct(c.throttled, c.attempts),
            counters: c.clone(),
            put: LatencySummary::of(&stats.put_response),
            put_uncorrected: LatencySummary::of(&stats.put_uncorrected),
            put_service: LatencySummary::of(&stats.put_service),
            e2e: LatencySummary::of(&stats.e2e),
            in_stream: LatencySummary::of(&stats.in_stream),
            schedule_lag: LatencySummary::of(&stats.lag),
        }
    }

    /// `offered`: the records the phase offered (a closed-loop phase's are what it made).
    pub fn of_plan(plan: &PhasePlan, offered: u64, stats: &Stats) -> PhaseSummary {
        Self::of_run(plan, plan.duration, offered, stats)
    }

    /// A phase that ran for `ran` of its planned time (an interrupted run's), which its rates
    /// are computed over.
    pub fn of_run(plan: &PhasePlan, ran: Duration, offered: u64, stats: &Stats) -> PhaseSummary {
        let duration = ran.as_secs_f64();
        // from the first acknowledgement to the last, so that a steady latency does not count
        // against the rate while a backlog (retries running past the phase) does
        let span = stats.first_ack.map_or(0.0, |first| {
            (stats.last_ack.saturating_sub(first)).as_secs_f64()
        });
        let active = duration.max(span);
        Self::new(&plan.name, plan.measure, duration, active, offered, stats)
    }
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Every record accounted for, over the whole run (measured or not).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Accounting {
    pub scheduled: u64,
    pub acknowledged: u64,
    pub given_up: u64,
    pub given_up_throttled: u64,
    pub given_up_error: u64,
    pub given_up_interrupted: u64,
    /// Whether a consumer read the stream back (the read figures are 0 when not).
    pub consumer: bool,
    /// What the consumers read back, summed over them (each consumer's own is in
    /// [`VariantSummary::consumers`]; with one consumer, the same figures).
    #[serde(flatten)]
    pub reads: ReadAccounting,
    /// scheduled = acknowledged + given up, and for every consumer received = acknowledged.
    pub holds: bool,
}

/// What a consumer read back, against what the producer had acknowledged.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ReadAccounting {
    /// Distinct records of this run read back.
    pub received: u64,
    pub duplicates: u64,
    /// Acknowledged but never read back, though the consumer read their shard to its end
    /// after they were written.
    pub lost: u64,
    /// Read back although never acknowledged (e.g. a timed-out request that did land).
    pub received_unacknowledged: u64,
    /// Acknowledged but not read back, and not lost either, since the consumer never reached
    /// the end of their shard after they were written: the stream vanished, the run was
    /// interrupted, the endpoint stopped answering, or kbench's consumer fell behind.
    #[serde(default, alias = "unverified_stream_gone")]
    pub unverified: u64,
    /// Why `unverified` is not 0, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unverified_why: Option<String>,
}

impl ReadAccounting {
    /// Every acknowledged record read back, and nothing read that was not acknowledged.
    pub fn holds(&self) -> bool {
        self.lost == 0 && self.received_unacknowledged == 0
    }

    /// Adds another consumer's figures (the first reason for unverified records is kept).
    pub fn add(&mut self, other: &ReadAccounting) {
        self.received += other.received;
        self.duplicates += other.duplicates;
        self.lost += other.lost;
        self.received_unacknowledged += other.received_unacknowledged;
        self.unverified += other.unverified;
        if self.unverified_why.is_none() {
            self.unverified_why = other.unverified_why.clone();
        }
    }

    /// What the consumer could not verify, in words, when it was anything:
    /// ", not verified N (the stream vanished before they were read back)".
    pub fn unverified_note(&self, count: impl Fn(u64) -> String) -> String {
        if self.unverified == 0 {
            return String::new();
        }
        format!(
            ", not verified {} ({})",
            count(self.unverified),
            self.unverified_why
                .as_deref()
                .unwrap_or("not read back before the run ended")
        )
    }

    /// "ok", "MISMATCH" or "NOT VERIFIED", for the accounting line.
    pub fn mark(&self) -> &'static str {
        if !self.holds() {
            "MISMATCH"
        } else if self.unverified > 0 {
            "NOT VERIFIED"
        } else {
            "ok"
        }
    }
}

/// One consumer of a variant's run: what it read back, verified on its own.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConsumerSummary {
    pub name: String,
    /// "polling" or "efo".
    pub kind: String,
    pub accounting: ReadAccounting,
    /// One entry per phase, then "total" over the measured phases.
    pub phases: Vec<ConsumerPhase>,
    /// Enhanced fan-out: SubscribeToShard calls that succeeded, and how many of them renewed a
    /// subscription that had ended (0 for a polling consumer).
    #[serde(default)]
    pub subscriptions: u64,
    #[serde(default)]
    pub renewals: u64,
}

impl ConsumerSummary {
    /// Over the measured phases.
    pub fn total(&self) -> Option<&ConsumerPhase> {
        self.phases.last().filter(|p| p.phase == "total")
    }
}

/// What one consumer read in one phase (or over the measured ones).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ConsumerPhase {
    pub phase: String,
    pub measure: bool,
    pub counters: crate::metrics::interval::ReadCounters,
    /// Intended send time -> read by this consumer.
    pub e2e: LatencySummary,
    /// ApproximateArrivalTimestamp -> read by this consumer.
    pub in_stream: LatencySummary,
    /// The highest MillisBehindLatest its reads were told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behind_ms_max: Option<u64>,
}

impl ConsumerPhase {
    pub fn new(phase: &str, measure: bool, r: &crate::metrics::interval::ReadStats) -> Self {
        ConsumerPhase {
            phase: phase.to_string(),
            measure,
            counters: r.counters.clone(),
            e2e: LatencySummary::of(&r.e2e),
            in_stream: LatencySummary::of(&r.in_stream),
            behind_ms_max: r.behind_ms,
        }
    }
}

/// Writes to one shard over the measured phases.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardSummary {
    pub shard_id: String,
    pub starting_hash_key: String,
    pub ending_hash_key: String,
    pub acknowledged: u64,
    pub acknowledged_bytes: u64,
    /// Record attempts rejected as throttled on this shard.
    pub throttled: u64,
    /// Acknowledged records/s and bytes/s over the measured active time.
    #[serde(serialize_with = "round::rate")]
    pub records_per_s: f64,
    #[serde(serialize_with = "round::rate")]
    pub bytes_per_s: f64,
    /// Share of all acknowledged records, in percent (an even share is 100 / shards).
    #[serde(serialize_with = "round::percent")]
    pub share_pct: f64,
    /// Highest acknowledged records/s in any one interval.
    #[serde(serialize_with = "round::rate")]
    pub peak_records_per_s: f64,
}

/// The verdict on one SLO threshold.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SloVerdict {
    /// The SLO, with the consumer it judged when the run has several: "e2e_p99 (efo-1)".
    pub name: String,
    /// The consumer a consumer's SLO (`e2e_p99`, `max_lost`) judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<String>,
    pub threshold: String,
    pub actual: String,
    pub passed: bool,
}

/// Everything a report says about a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    pub schema_version: u32,
    pub kbench_version: String,
    pub scenario: String,
    /// "running", "completed", "interrupted" or "failed" (a variant stopped with an error).
    pub status: String,
    pub endpoint: String,
    pub region: String,
    pub stream: String,
    pub shards: usize,
    pub started_at: String,
    pub ended_at: Option<String>,
    /// Seconds from the first variant's start to the end of the last one's drain.
    #[serde(serialize_with = "round::seconds")]
    pub elapsed_s: f64,
    /// One entry per API variant that ran, in the scenario's order.
    pub variants: Vec<VariantSummary>,
    /// Variants the scenario lists that did not run (the run was interrupted before them).
    pub not_run: Vec<String>,
    /// With two or more variants: one row per variant and the winners.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<compare::Comparison>,
    /// The first report file that could not be written, and why: the report is incomplete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_error: Option<String>,
    /// With `[target.faults]`: the faults the embedded endpoint injected during the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults_injected: Option<crate::endpoint::embedded::InjectedCounts>,
}

/// One API variant's run over the scenario's phases.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VariantSummary {
    /// "put_record", "put_records" or "put_records_aggregated".
    pub api: String,
    /// The id in this variant's record stamps.
    pub run_id: String,
    /// "running", "completed", "interrupted" or "failed".
    pub status: String,
    /// Why the run failed, in words (e.g. the stream vanished mid-run); None unless failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    pub started_at: String,
    /// Seconds from the first scheduled record to the end of the drain.
    #[serde(serialize_with = "round::seconds")]
    pub elapsed_s: f64,
    pub accounting: Accounting,
    /// One entry per phase, then "total" over the measured phases.
    pub phases: Vec<PhaseSummary>,
    /// Per-shard writes over the measured phases, in hash-key order.
    pub per_shard: Vec<ShardSummary>,
    pub slo: Vec<SloVerdict>,
    /// Plain-words warnings about the run's own health (a generator that fell behind, ...).
    pub warnings: Vec<String>,
    /// Trouble with the endpoint, episode by episode, in the order it began.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<Incident>,
    /// Each consumer, in the scenario's order (schema 3; empty in older reports, whose one
    /// consumer's figures are in `accounting` and the phases).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumers: Vec<ConsumerSummary>,
    /// The leg into S3, when the scenario has a `[delivery]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliverySummary>,
}

/// What landed in S3: the delivery verifier's accounting, record by record.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DeliverySummary {
    /// "firehose" or "s3".
    pub kind: String,
    pub bucket: String,
    /// The prefix listed.
    pub prefix: String,
    /// Objects read, their bytes in S3, and objects that could not be read.
    pub objects: u64,
    pub bytes: u64,
    #[serde(default)]
    pub unreadable: u64,
    /// Distinct acknowledged records found in the objects.
    pub delivered: u64,
    /// Records found again in a later object (Firehose delivers at least once).
    pub duplicates: u64,
    /// Acknowledged and not delivered by the end of the drain.
    pub lost: u64,
    /// Acknowledged and not delivered, but not called lost (the run was stopped), and why.
    #[serde(default)]
    pub unverified: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unverified_why: Option<String>,
    /// Intended send time to the object first seen in a listing.
    pub latency: LatencySummary,
}

impl DeliverySummary {
    /// "ok", "LOST" or "NOT VERIFIED", for the summary's delivery line.
    pub fn mark(&self) -> &'static str {
        if self.lost > 0 || self.unreadable > 0 {
            "LOST"
        } else if self.unverified > 0 {
            "NOT VERIFIED"
        } else {
            "ok"
        }
    }

    /// Duplicates as a share of the records delivered, in percent.
    pub fn duplicates_pct(&self) -> f64 {
        if self.delivered == 0 {
            0.0
        } else {
            self.duplicates as f64 * 100.0 / self.delivered as f64
        }
    }
}

/// An episode of trouble with the endpoint: what, from when to when, and how many calls (or
/// PutRecords entries) met it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Incident {
    /// "endpoint unreachable", "error responses", "requests timed out", "stream not found",
    /// "records failed in PutRecords".
    pub what: String,
    /// "connection refused", "InternalFailure", "HTTP 413" ...
    pub detail: String,
    /// From the run's start, in seconds.
    #[serde(serialize_with = "round::seconds")]
    pub from_s: f64,
    #[serde(serialize_with = "round::seconds")]
    pub to_s: f64,
    /// Calls per operation ("PutRecords", "GetRecords"), or entries ("PutRecords entries").
    pub calls: std::collections::BTreeMap<String, u64>,
}

impl Incident {
    /// "endpoint unreachable from 5.0 s to 25.7 s: connection refused (20,284 PutRecords calls)".
    pub fn describe(&self, count: impl Fn(u64) -> String) -> String {
        let when = if self.to_s - self.from_s < 0.05 {
            format!("at {:.1} s", self.from_s)
        } else {
            format!("from {:.1} s to {:.1} s", self.from_s, self.to_s)
        };
        let calls: Vec<String> = self
            .calls
            .iter()
            .map(|(op, n)| match (op.strip_suffix(" entries"), *n == 1) {
                (Some(op), true) => format!("1 {op} entry"),
                (Some(_), false) => format!("{} {op}", count(*n)),
                (None, true) => format!("1 {op} call"),
                (None, false) => format!("{} {op} calls", count(*n)),
            })
            .collect();
        format!(
            "{} {when}: {} ({})",
            self.what,
            self.detail,
            calls.join(", ")
        )
    }
}

/// Why a run's SLOs were not evaluated, from its status: it was interrupted or it failed, so it
/// did not run what the SLOs were set for.
pub fn slos_not_evaluated(status: &str) -> Option<&'static str> {
    match status {
        "interrupted" => Some("interrupted: SLOs not evaluated"),
        "failed" => Some("failed: SLOs not evaluated"),
        _ => None,
    }
}

impl VariantSummary {
    /// The measured total (last entry of `phases`).
    pub fn total(&self) -> Option<&PhaseSummary> {
        self.phases.last()
    }
}

impl RunSummary {
    /// Whether any variant breached an SLO.
    pub fn slo_breached(&self) -> bool {
        self.variants.iter().flat_map(|v| &v.slo).any(|v| !v.passed)
    }

    /// "put_records" or "put_record, put_records".
    pub fn apis(&self) -> String {
        let mut names: Vec<&str> = self.variants.iter().map(|v| v.api.as_str()).collect();
        names.extend(self.not_run.iter().map(String::as_str));
        names.join(", ")
    }
}

/// A finished (or interrupted) run, as handed to the exporters.
pub struct RunReport<'a> {
    pub summary: &'a RunSummary,
    pub scenario: &'a Scenario,
    /// Histograms over the measured phases, one per variant (like `summary.variants`), for the
    /// percentile spectrum.
    pub measured: &'a [Stats],
}

/// Turns a report into one file's bytes.
pub trait Exporter {
    fn file_name(&self) -> &'static str;
    fn render(&self, report: &RunReport) -> anyhow::Result<Vec<u8>>;
}

/// The exporters that write whole files from `report` (comparison.csv when it compares).
pub fn exporters(report: &RunReport) -> Vec<Box<dyn Exporter>> {
    let mut all: Vec<Box<dyn Exporter>> = vec![
        Box::new(csv::SummaryCsv),
        Box::new(csv::LatencyCsv),
        Box::new(csv::ShardsCsv),
        Box::new(json::RunJson),
    ];
    if report
        .summary
        .variants
        .iter()
        .any(|v| !v.consumers.is_empty())
    {
        all.push(Box::new(consumer_csv::ConsumersCsv));
    }
    if report.summary.comparison.is_some() {
        all.push(Box::new(csv::ComparisonCsv));
    }
    all
}

/// Writes every exporter's file into `dir`.
pub fn write_all(dir: &Path, report: &RunReport) -> anyhow::Result<()> {
    for e in exporters(report) {
        let path = dir.join(e.file_name());
        let bytes = e.render(report)?;
        write_atomically(&path, &bytes)?;
    }
    Ok(())
}

/// Writes via a temporary file and a rename, so a reader never sees half a file; a failed
/// write leaves no temporary file behind.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let written = std::fs::write(&tmp, bytes)
        .with_context(|| format!("cannot write report file `{}`", path.display()))
        .and_then(|_| {
            std::fs::rename(&tmp, path)
                .with_context(|| format!("cannot write report file `{}`", path.display()))
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Marks the report in `dir` incomplete where it can still be marked: its run.json (as last
/// written) gets status "failed" and `report_error` = `why`, written atomically or else in
/// place (which needs little more room than the file it replaces); failing that, the smallest
/// run.json that says so.
pub fn mark_incomplete(dir: &Path, why: &str) {
    let path = dir.join("run.json");
    let marked = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|mut v| {
            let o = v.as_object_mut()?;
            o.insert("status".into(), "failed".into());
            o.insert("report_error".into(), why.into());
            serde_json::to_vec_pretty(&v).ok()
        });
    if let Some(full) = marked
        && (write_atomically(&path, &full).is_ok() || std::fs::write(&path, &full).is_ok())
    {
        return;
    }
    let small = serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "status": "failed",
        "report_error": why,
    });
    if std::fs::write(&path, small.to_string()).is_err() {
        tracing::warn!("cannot mark `{}` incomplete", path.display());
    }
}

/// Draws the charts into `<dir>/charts/` and writes `<dir>/report.html`, from the directory's files.
pub fn write_visuals(data: &load::ReportData) -> anyhow::Result<()> {
    let charts = charts::render(data)?;
    let chart_dir = data.dir.join("charts");
    std::fs::create_dir_all(&chart_dir).with_context(|| {
        format!(
            "cannot create the charts directory `{}`",
            chart_dir.display()
        )
    })?;
    for c in &charts {
        write_atomically(&chart_dir.join(&c.file_name), c.svg.as_bytes())?;
    }
    let page = html::render(data, &charts);
    write_atomically(&data.dir.join("report.html"), page.as_bytes())
}

/// `<scenario>-<UTC timestamp>` under `base`, created: always a folder directly in `base`.
/// Scenario names are checked when the scenario is read; this checks again that the folder's
/// name is one plain component (no separator, no `..`, no control character), so that no name
/// can write outside `base` (`--out`).
pub fn create_run_dir(base: &Path, scenario: &str) -> anyhow::Result<PathBuf> {
    let cannot = |dir: &Path| {
        format!(
            "cannot create report directory `{}`; check --out",
            dir.display()
        )
    };
    crate::scenario::validate::check_folder_name(scenario)
        .map_err(|e| anyhow::anyhow!("cannot name a report directory after the scenario: {e}"))?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let leaf = |n: u32| -> anyhow::Result<PathBuf> {
        let name = match n {
            1 => format!("{scenario}-{stamp}"),
            n => format!("{scenario}-{stamp}-{n}"),
        };
        let mut parts = Path::new(&name).components();
        match (parts.next(), parts.next()) {
            // 255 bytes: the longest folder name file systems allow
            (Some(std::path::Component::Normal(_)), None) if name.len() <= 255 => {
                Ok(base.join(&name))
            }
            _ => anyhow::bail!(
                "cannot name a report directory `{}`: it is not a single folder name; rename the scenario",
                name.escape_debug()
            ),
        }
    };
    std::fs::create_dir_all(base).with_context(|| cannot(base))?;
    let mut n = 1;
    // create_dir, not a look then a create: two runs started in the same second (two processes
    // on one --out) must not both take the same directory
    loop {
        let dir = leaf(n)?;
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(e).with_context(|| cannot(&dir)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_started_together_get_directories_of_their_own() {
        let base = tempfile::tempdir().expect("temp dir");
        let out = base.path().join("results");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let made: Vec<PathBuf> = (0..8)
            .map(|_| {
                let out = out.clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    create_run_dir(&out, "burst").expect("a directory")
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .collect();
        let distinct: std::collections::BTreeSet<&PathBuf> = made.iter().collect();
        assert_eq!(distinct.len(), 8, "{made:?}");
        assert!(made.iter().all(|d| d.is_dir() && d.starts_with(&out)));
    }

    /// `name = "../../../escaped"` wrote the report outside --out, `"a/b\nc"` made a folder
    /// with a line break in its name: the path builder itself takes one plain folder name only.
    #[test]
    fn a_scenario_name_cannot_escape_the_out_folder() {
        let base = tempfile::tempdir().expect("temp dir");
        let out = base.path().join("a").join("results");
        for name in [
            "../../../escaped",
            "a/b\nc",
            "..",
            "/abs",
            "x\\y",
            "tab\there",
        ] {
            let e = create_run_dir(&out, name).expect_err(name);
            assert!(
                format!("{e:#}").contains("cannot name a report directory"),
                "{name}: {e:#}"
            );
        }
        assert!(create_run_dir(&out, &"n".repeat(300)).is_err());
        // nothing was made outside --out, nor inside it
        let made: Vec<_> = walk(base.path());
        assert!(
            made.iter()
                .all(|p| p.starts_with(&out) || out.starts_with(p)),
            "{made:?}"
        );
        assert!(!out.exists() || std::fs::read_dir(&out).expect("out").next().is_none());
        let ok = create_run_dir(&out, "burst.v2").expect("a plain name");
        assert_eq!(ok.parent(), Some(out.as_path()));
    }

    /// Every path under `dir`.
    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(walk(&path));
            }
            found.push(path);
        }
        found
    }
}

#[cfg(test)]
mod write_tests {
    use super::*;

    /// A full disk (here /dev/full, which fails every write with ENOSPC) gives an error naming
    /// the report file, and leaves no temporary file behind.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_write_to_a_full_disk_names_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("summary.csv");
        let tmp = path.with_extension("tmp");
        if std::os::unix::fs::symlink("/dev/full", &tmp).is_err() {
            eprintln!("skipped: cannot link to /dev/full");
            return;
        }
        let e = write_atomically(&path, b"a,b\n").expect_err("the disk is full");
        let text = format!("{e:#}");
        assert!(
            text.contains("summary.csv") && text.contains("No space left on device"),
            "{text}"
        );
        assert!(
            !tmp.exists() && std::fs::symlink_metadata(&tmp).is_err(),
            "no tmp left"
        );
        assert!(!path.exists());
    }
}

#[cfg(test)]
mod incident_tests {
    use super::*;

    #[test]
    fn an_incident_says_what_when_and_how_many_in_words() {
        let i = Incident {
            what: "endpoint unreachable".into(),
            detail: "connection refused".into(),
            from_s: 4.8,
            to_s: 15.8,
            calls: [
                ("GetRecords".to_string(), 1),
                ("PutRecords".to_string(), 1455),
                ("PutRecords entries".to_string(), 1),
            ]
            .into(),
        };
        assert_eq!(
            i.describe(crate::scenario::units::thousands),
            "endpoint unreachable from 4.8 s to 15.8 s: connection refused (1 GetRecords call, 1,455 PutRecords calls, 1 PutRecords entry)"
        );
        let at = Incident { to_s: 4.8, ..i };
        assert!(
            at.describe(|n| n.to_string())
                .starts_with("endpoint unreachable at 4.8 s:")
        );
    }
}
