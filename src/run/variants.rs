//! A run's API variants, each in turn on one stream, all into one report directory.
//!
//! Every variant uses the same stream (drained by the consumer before the next starts): on real
//! Kinesis a new stream takes a minute to create and costs shard-hours, and the same shards mean
//! the same hash-key ranges, so every variant writes to the same places. Later variants read from
//! `latest`, so the consumer sees only their own records.

use super::collector::Writers;
use super::variant::{self, Variant};
use super::{RunOutcome, RunSettings};
use crate::endpoint::{client, stream};
use crate::metrics::interval::Stats;
use crate::report::compare::Comparison;
use crate::report::{self, RunReport, RunSummary};
use crate::scenario::{Endpoint, Scenario, Start};
use crate::workload::shardmap::ShardMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Pause between API variants on the same stream, so the shards' per-second write allowance of
/// one variant does not spill into the next.
const VARIANT_PAUSE: Duration = Duration::from_secs(2);

/// What every variant of a run shares.
pub struct Shared<'a> {
    pub scenario: &'a Scenario,
    pub settings: &'a RunSettings,
    pub client: &'a aws_sdk_kinesis::Client,
    pub efo: Option<&'a crate::consumer::efo::Efo>,
    pub delivery: Option<&'a crate::delivery::setup::Prepared>,
    pub ready: &'a stream::ReadyStream,
    /// The report directory.
    pub dir: &'a std::path::Path,
    pub shard_map: &'a Arc<ShardMap>,
    pub cancel: &'a CancellationToken,
}

/// Runs each API variant in turn on the stream, all into one report directory.
pub async fn run(
    scenario: &Scenario,
    settings: &RunSettings,
    cancel: CancellationToken,
    client: &aws_sdk_kinesis::Client,
    efo: Option<&crate::consumer::efo::Efo>,
    delivery: Option<&crate::delivery::setup::Prepared>,
    ready: &stream::ReadyStream,
) -> anyhow::Result<RunOutcome> {
    let dir = report::create_run_dir(&settings.out, &scenario.name)?;
    let started = Instant::now();
    // the faults the endpoint injects during this run (a sweep runs several on one endpoint)
    let injected_before = settings.embedded.injected.snapshot();
    let injected = || {
        scenario.target.faults.as_ref().map(|_| {
            let now = settings.embedded.injected.snapshot();
            now.since(&injected_before)
        })
    };
    let mut summary = RunSummary {
        schema_version: report::SCHEMA_VERSION,
        kbench_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: scenario.name.clone(),
        status: "running".into(),
        endpoint: scenario.target.endpoint.to_string(),
        region: scenario
            .target
            .region
            .clone()
            .unwrap_or_else(|| "(from the AWS environment)".into()),
        stream: ready.name.clone(),
        shards: ready.shards.len(),
        started_at: chrono::Utc::now().to_rfc3339(),
        ended_at: None,
        elapsed_s: 0.0,
        variants: Vec::new(),
        not_run: Vec::new(),
        comparison: None,
        report_error: None,
        faults_injected: injected(),
    };
    if scenario.target.endpoint != Endpoint::Aws && scenario.target.region.is_none() {
        summary.region = client::LOCAL_REGION.into();
    }
    let mut measured: Vec<Stats> = Vec::new();
    let write = |summary: &RunSummary, measured: &[Stats]| {
        report::write_all(
            &dir,
            &RunReport {
                summary,
                scenario,
                measured,
            },
        )
    };
    // a report that cannot be written at the start stops the run before it sends anything
    write(&summary, &measured)?;
    // after that, the run goes on and the summary is printed from memory; the first failed
    // write is what the run reports
    let mut report_error: Option<String> = None;
    let mut keep = |written: anyhow::Result<()>| {
        if let Err(e) = written {
            report_error.get_or_insert(format!("{e:#}"));
        }
    };

    let shard_map = Arc::new(shard_map(scenario, ready)?);
    let shard_ids = shard_map.entries().map(|e| e.0.to_string()).collect();
    let consumers: Vec<String> = scenario.consumers.iter().map(|c| c.name.clone()).collect();
    let writers = Arc::new(Mutex::new(Writers::create(
        &dir,
        shard_ids,
        &consumers,
        std::time::SystemTime::now(),
    )?));
    let shared = Shared {
        scenario,
        settings,
        client,
        efo,
        delivery,
        ready,
        dir: &dir,
        shard_map: &shard_map,
        cancel: &cancel,
    };

    let apis = &scenario.producer.apis;
    let mut failure: Option<String> = None;
    for (i, &api) in apis.iter().enumerate() {
        if failure.is_some() {
            summary.not_run.push(api.to_string());
            continue;
        }
        if i > 0 && !cancel.is_cancelled() {
            tokio::select! {
                _ = tokio::time::sleep(VARIANT_PAUSE) => {}
                _ = cancel.cancelled() => {}
            }
        }
        if cancel.is_cancelled() {
            summary.not_run.push(api.to_string());
            continue;
        }
        let v = Variant {
            api,
            label: (apis.len() > 1).then(|| api.to_string()),
            start: (i > 0).then_some(Start::Latest),
        };
        let (variant_summary, variant_measured) = match variant::run(&shared, &v, &writers).await {
            Ok(done) => done,
            Err(e) => {
                // the report says the run failed rather than staying "running"
                summary.status = "failed".into();
                summary.ended_at = Some(chrono::Utc::now().to_rfc3339());
                summary.elapsed_s = started.elapsed().as_secs_f64();
                summary.faults_injected = injected();
                let _ = write(&summary, &measured);
                return Err(e.context(format!("variant {api} failed")));
            }
        };
        failure = variant_summary.failure.clone();
        summary.variants.push(variant_summary);
        measured.push(variant_measured);
        summary.elapsed_s = started.elapsed().as_secs_f64();
        summary.faults_injected = injected();
        keep(write(&summary, &measured));
    }

    let interrupted = cancel.is_cancelled();
    summary.status = super::verdict::status(failure.is_some(), interrupted).into();
    summary.ended_at = Some(chrono::Utc::now().to_rfc3339());
    summary.elapsed_s = started.elapsed().as_secs_f64();
    summary.comparison = Comparison::of(&summary.variants);
    summary.faults_injected = injected();
    keep(write(&summary, &measured));
    let writers_error = writers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .error
        .clone();
    let report_error = report_error.or(writers_error);
    if let Some(e) = &report_error {
        // run.json says so, if anything can still be written
        summary.report_error = Some(e.clone());
        summary.status = "failed".into();
        report::mark_incomplete(&dir, e);
    }
    Ok(RunOutcome {
        summary,
        dir,
        interrupted,
        failure,
        report_error,
    })
}

/// The stream's shards by hash-key range; without them the per-shard view is off, unless the
/// keys are explicit hash keys spread over the shards, which need them.
fn shard_map(scenario: &Scenario, ready: &stream::ReadyStream) -> anyhow::Result<ShardMap> {
    let ranges = ready.shards.iter().map(|s| {
        (
            s.id.as_str(),
            s.starting_hash_key.as_str(),
            s.ending_hash_key.as_str(),
        )
    });
    match ShardMap::new(ranges) {
        Ok(map) => Ok(map),
        Err(e) if scenario.records.keys != crate::scenario::keys::KeyDist::EvenShards => {
            tracing::warn!(
                "stream `{}`: {e}; the per-shard view is off for this run",
                ready.name
            );
            Ok(ShardMap::default())
        }
        Err(e) => anyhow::bail!(
            "stream `{}`: {e}; even_shards needs the shards' hash-key ranges",
            ready.name
        ),
    }
}
