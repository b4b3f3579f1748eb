//! Reading a report directory back: run.json (the summary) and the CSV files the charts are
//! drawn from. `kbench report` and `kbench compare` start here, and so does the end of
//! `kbench run`, so what a run shows and what a re-rendering shows come from the same files.

use super::{RunSummary, SCHEMA_VERSION};
use crate::scenario::Api;
use anyhow::{Context, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One row of timeseries.csv: one interval of one variant.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct IntervalRow {
    pub api: String,
    /// Seconds from the variant's start to the end of the interval.
    pub elapsed_s: f64,
    pub phase: String,
    pub interval_s: f64,
    pub offered_rps: f64,
    pub acknowledged_rps: f64,
    pub received_rps: f64,
    pub throttled: u64,
    pub put_p50_ms: f64,
    pub put_p99_ms: f64,
    pub put_max_ms: f64,
    pub e2e_p50_ms: f64,
    pub e2e_p99_ms: f64,
    pub e2e_max_ms: f64,
}

/// One row of shard_timeseries.csv: one shard in one interval.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ShardIntervalRow {
    pub api: String,
    pub elapsed_s: f64,
    pub phase: String,
    pub shard_id: String,
    pub acknowledged_rps: f64,
    pub acknowledged_bytes_per_s: f64,
    pub throttled: u64,
}

/// One row of consumer_timeseries.csv: one consumer in one interval. A latency is None in an
/// interval where that consumer read nothing (an empty cell).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ConsumerIntervalRow {
    pub api: String,
    pub elapsed_s: f64,
    pub phase: String,
    pub consumer: String,
    pub received_rps: f64,
    pub e2e_p50_ms: Option<f64>,
    pub e2e_p99_ms: Option<f64>,
    pub e2e_max_ms: Option<f64>,
}

/// One row of latency.csv: a point of a histogram's percentile spectrum (measured phases).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct SpectrumRow {
    pub api: String,
    pub histogram: String,
    /// 0..=100.
    pub percentile: f64,
    pub value_ms: f64,
    pub count: u64,
}

/// Everything the charts, report.html and the terminal summary are made from.
#[derive(Debug, Clone)]
pub struct ReportData {
    pub dir: PathBuf,
    pub summary: RunSummary,
    pub intervals: Vec<IntervalRow>,
    /// Empty when the run had no shard map (shard_timeseries.csv absent).
    pub shard_intervals: Vec<ShardIntervalRow>,
    /// Empty when the run had no consumer (or predates consumer_timeseries.csv).
    pub consumer_intervals: Vec<ConsumerIntervalRow>,
    pub spectrum: Vec<SpectrumRow>,
    /// baseline.txt: the comparison with `--baseline`, when the run had one.
    pub baseline: Option<String>,
    /// run.json's `effective_scenario` (the scenario as `kbench validate` prints it, TOML keys
    /// as JSON) and `scenario_file`, for report.html's Scenario section.
    pub scenario: ScenarioRecord,
}

/// What run.json keeps of the scenario that ran.
#[derive(Debug, Clone, Default)]
pub struct ScenarioRecord {
    /// `effective_scenario`; JSON null when run.json has none.
    pub effective: serde_json::Value,
    /// The scenario file as `kbench run` was given it (absent from older run.json files).
    pub file: Option<String>,
}

/// A report directory's run.json, checked for the schema version this build reads.
pub fn load_summary(dir: &Path) -> anyhow::Result<RunSummary> {
    read_run_json(dir).map(|(summary, _)| summary)
}

/// run.json's summary, and the scenario it records.
fn read_run_json(dir: &Path) -> anyhow::Result<(RunSummary, ScenarioRecord)> {
    if !dir.is_dir() {
        bail!(
            "`{}` is not a directory; give a report directory such as results/burst-20261126T101500Z",
            dir.display()
        );
    }
    let path = dir.join("run.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "`{}` is not a kbench report directory: `run.json` is missing",
            dir.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    };
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("`{}` is not valid JSON", path.display()))?;
    match value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
    {
        // versions 2 and 3 differ only in what they lack (per-consumer figures, the delivery):
        // read as they are
        Some(v) if (2..=u64::from(SCHEMA_VERSION)).contains(&v) => {}
        Some(v) => bail!(
            "`{}` has schema_version {v}, written by kbench {}; this kbench ({}) reads versions 2 to {SCHEMA_VERSION} only: re-run the scenario with this version",
            path.display(),
            value
                .get("kbench_version")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("of unknown version"),
            env!("CARGO_PKG_VERSION"),
        ),
        None => bail!(
            "`{}` has no schema_version: it is not a kbench run.json",
            path.display()
        ),
    }
    let scenario = ScenarioRecord {
        effective: value.get("effective_scenario").cloned().unwrap_or_default(),
        file: value
            .get("scenario_file")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string),
    };
    let summary: RunSummary = serde_json::from_value(value).with_context(|| {
        format!(
            "`{}` does not match run.json schema version {SCHEMA_VERSION} (see schemas/run.schema.json)",
            path.display()
        )
    })?;
    // variant names become chart file names: only the known ones
    for api in summary
        .variants
        .iter()
        .map(|v| &v.api)
        .chain(&summary.not_run)
    {
        if Api::parse(api).is_err() {
            bail!(
                "`{}` names an unknown API variant `{api}`; kbench writes put_record, put_records or put_records_aggregated",
                path.display()
            );
        }
    }
    Ok((summary, scenario))
}

fn read_csv<T: serde::de::DeserializeOwned>(dir: &Path, name: &str) -> anyhow::Result<Vec<T>> {
    let path = dir.join(name);
    let mut reader = match csv::Reader::from_path(&path) {
        Ok(r) => r,
        Err(e) if matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::NotFound) =>
        {
            bail!(
                "`{}` is not a complete kbench report directory: `{name}` is missing",
                dir.display()
            )
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    };
    let mut rows = Vec::new();
    for (i, row) in reader.deserialize().enumerate() {
        // line 1 is the header
        rows.push(row.with_context(|| format!("`{}` line {}", path.display(), i + 2))?);
    }
    Ok(rows)
}

/// A file only some runs write: no rows when it is absent.
fn read_optional_csv<T: serde::de::DeserializeOwned>(
    dir: &Path,
    name: &str,
) -> anyhow::Result<Vec<T>> {
    if dir.join(name).exists() {
        read_csv(dir, name)
    } else {
        Ok(Vec::new())
    }
}

impl ReportData {
    /// Reads run.json, timeseries.csv, latency.csv and (when present) shard_timeseries.csv,
    /// consumer_timeseries.csv and baseline.txt.
    pub fn load(dir: &Path) -> anyhow::Result<ReportData> {
        let (summary, scenario) = read_run_json(dir)?;
        let intervals = read_csv(dir, "timeseries.csv")?;
        let spectrum = read_csv(dir, "latency.csv")?;
        let shard_intervals = read_optional_csv(dir, "shard_timeseries.csv")?;
        let consumer_intervals = read_optional_csv(dir, "consumer_timeseries.csv")?;
        let baseline_path = dir.join("baseline.txt");
        let baseline = if baseline_path.exists() {
            Some(
                std::fs::read_to_string(&baseline_path)
                    .with_context(|| format!("cannot read `{}`", baseline_path.display()))?,
            )
        } else {
            None
        };
        Ok(ReportData {
            baseline,
            dir: dir.to_path_buf(),
            summary,
            intervals,
            shard_intervals,
            consumer_intervals,
            spectrum,
            scenario,
        })
    }

    /// The intervals of variant `api`, in time order.
    pub fn intervals_of<'a>(&'a self, api: &'a str) -> impl Iterator<Item = &'a IntervalRow> {
        self.intervals.iter().filter(move |r| r.api == api)
    }

    /// The shard intervals of variant `api`, in time order.
    pub fn shard_intervals_of<'a>(
        &'a self,
        api: &'a str,
    ) -> impl Iterator<Item = &'a ShardIntervalRow> {
        self.shard_intervals.iter().filter(move |r| r.api == api)
    }

    /// Consumer `name`'s intervals of variant `api`, in time order.
    pub fn consumer_intervals_of<'a>(
        &'a self,
        api: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a ConsumerIntervalRow> {
        self.consumer_intervals
            .iter()
            .filter(move |r| r.api == api && r.consumer == name)
    }

    /// The spectrum of histogram `name` ("put", "e2e", ...) of variant `api`.
    pub fn spectrum_of<'a>(
        &'a self,
        api: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a SpectrumRow> {
        self.spectrum
            .iter()
            .filter(move |r| r.api == api && r.histogram == name)
    }
}
