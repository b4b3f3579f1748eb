//! Wires a run together: endpoint, stream, consumer, producer pool, collector, drain, report.
//!
//! Order matters: the consumer's iterators are taken before the first record is sent; the
//! report directory and the time series exist before the first interval ends; the summary is
//! written whether the run completes or is interrupted.

use crate::consumer::reader::{self, ReaderContext};
use crate::consumer::verify::Verifier;
use crate::endpoint::embedded::{Embedded, EmbeddedOptions};
use crate::endpoint::{client, stream};
use crate::metrics::collector::{Collector, Registry, Row};
use crate::metrics::interval::Stats;
use crate::metrics::seen::SeenSet;
use crate::producer::pool::{self, ProducerContext};
use crate::report::compare::Comparison;
use crate::report::csv::{ShardTimeseriesWriter, TimeseriesWriter};
use crate::report::hlog::HlogWriter;
use crate::report::{
    self, Accounting, PhaseSummary, RunReport, RunSummary, ShardSummary, SloVerdict, VariantSummary,
};
use crate::scenario::{Api, Endpoint, Scenario, Start};
use crate::workload::schedule::Schedule;
use crate::workload::shardmap::ShardMap;
use anyhow::Context;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long an interrupted run waits for the consumer to catch up.
const INTERRUPTED_DRAIN: Duration = Duration::from_secs(5);

/// How to run, beyond the scenario itself.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Parent of the report directory.
    pub out: PathBuf,
    /// Show progress bars (only when stdout is a terminal).
    pub progress: bool,
    pub embedded: EmbeddedOptions,
}

/// What a run produced.
pub struct RunOutcome {
    pub summary: RunSummary,
    pub dir: PathBuf,
    pub interrupted: bool,
}

/// Runs `scenario`; `cancel` (Ctrl-C) stops sending, drains briefly and still writes the report.
pub async fn run(
    scenario: &Scenario,
    settings: &RunSettings,
    cancel: CancellationToken,
) -> anyhow::Result<RunOutcome> {
    let session = Session::open(scenario, settings).await?;
    let result = session.run(scenario, settings, cancel).await;
    session.close().await;
    result
}

/// An endpoint and a ready stream that several runs can use in turn (`kbench sweep` runs every
/// step of a shard count on one stream): the embedded endpoint if the scenario uses it, the
/// client, and the stream, deleted on close if kbench created it and `delete_after` is set.
pub struct Session {
    embedded: Option<Embedded>,
    client: aws_sdk_kinesis::Client,
    ready: stream::ReadyStream,
    delete: bool,
}

impl Session {
    /// Starts the embedded endpoint if the scenario uses it and prepares its stream.
    pub async fn open(scenario: &Scenario, settings: &RunSettings) -> anyhow::Result<Session> {
        let target = &scenario.target;
        let embedded = match target.endpoint {
            Endpoint::Embedded => Some(Embedded::start(0, &settings.embedded).await?),
            _ => None,
        };
        let local_url = embedded.as_ref().map(Embedded::url);
        let client = client::build(
            &target.endpoint,
            target.region.as_deref(),
            local_url.as_deref(),
        )
        .await?;
        let deadline = if target.endpoint == Endpoint::Aws {
            Duration::from_secs(300)
        } else {
            Duration::from_secs(60)
        };
        let ready = stream::ensure(
            &client,
            &target.stream,
            target.shards,
            target.create,
            deadline,
        )
        .await
        .with_context(|| {
            format!(
                "cannot prepare stream `{}` on {}",
                target.stream, target.endpoint
            )
        });
        let ready = match ready {
            Ok(ready) => ready,
            Err(e) => {
                if let Some(e) = embedded {
                    e.shutdown().await;
                }
                return Err(e);
            }
        };
        Ok(Session {
            embedded,
            client,
            delete: ready.created && target.delete_after,
            ready,
        })
    }

    /// Runs `scenario` (its target must be the one the session was opened with) on the stream.
    pub async fn run(
        &self,
        scenario: &Scenario,
        settings: &RunSettings,
        cancel: CancellationToken,
    ) -> anyhow::Result<RunOutcome> {
        run_on_stream(scenario, settings, cancel, &self.client, &self.ready).await
    }

    /// Deletes the stream if kbench created it (and may), and stops the embedded endpoint.
    pub async fn close(self) {
        if self.delete
            && let Err(e) = stream::delete(&self.client, &self.ready.name).await
        {
            tracing::warn!("{e:#}");
        }
        if let Some(e) = self.embedded {
            e.shutdown().await;
        }
    }
}

/// Pause between API variants on the same stream, so the shards' per-second write allowance of
/// one variant does not spill into the next.
const VARIANT_PAUSE: Duration = Duration::from_secs(2);

/// Runs each API variant in turn on the stream, all into one report directory.
///
/// Every variant uses the same stream (drained by the consumer before the next starts): on real
/// Kinesis a new stream takes a minute to create and costs shard-hours, and the same shards mean
/// the same hash-key ranges, so every variant writes to the same places. Later variants read from
/// `latest`, so the consumer sees only their own records.
async fn run_on_stream(
    scenario: &Scenario,
    settings: &RunSettings,
    cancel: CancellationToken,
    client: &aws_sdk_kinesis::Client,
    ready: &stream::ReadyStream,
) -> anyhow::Result<RunOutcome> {
    let dir = report::create_run_dir(&settings.out, &scenario.name)?;
    let started = Instant::now();
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
    write(&summary, &measured)?;

    let ranges = ready.shards.iter().map(|s| {
        (
            s.id.as_str(),
            s.starting_hash_key.as_str(),
            s.ending_hash_key.as_str(),
        )
    });
    let shard_map = match ShardMap::new(ranges) {
        Ok(map) => Arc::new(map),
        Err(e) if scenario.records.keys != crate::scenario::keys::KeyDist::EvenShards => {
            tracing::warn!(
                "stream `{}`: {e}; the per-shard view is off for this run",
                ready.name
            );
            Arc::new(ShardMap::default())
        }
        Err(e) => anyhow::bail!(
            "stream `{}`: {e}; even_shards needs the shards' hash-key ranges",
            ready.name
        ),
    };
    let base = std::time::SystemTime::now();
    let mut writers = Some(Writers {
        timeseries: TimeseriesWriter::create(&dir)?,
        shards: ShardTimeseriesWriter::create(
            &dir,
            shard_map.entries().map(|e| e.0.to_string()).collect(),
        )?,
        put_hlog: HlogWriter::create(
            &dir,
            "put.hlog",
            "put latency (intended send time -> acknowledgement, per record)",
            base,
            |s| &s.put_response,
        )?,
        e2e_hlog: HlogWriter::create(
            &dir,
            "e2e.hlog",
            "end-to-end latency (intended send time -> read by the consumer, per record)",
            base,
            |s| &s.e2e,
        )?,
    });

    let apis = &scenario.producer.apis;
    for (i, &api) in apis.iter().enumerate() {
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
        let variant = Variant {
            api,
            label: (apis.len() > 1).then(|| api.to_string()),
            start: if i == 0 {
                scenario.consumer.start
            } else {
                Start::Latest
            },
        };
        let run = VariantRun {
            scenario,
            settings,
            client,
            ready,
            shard_map: &shard_map,
        };
        let (variant_summary, variant_measured, back) =
            match run.run(&variant, writers.take(), &cancel).await {
                Ok(done) => done,
                Err(e) => {
                    // the report says the run failed rather than staying "running"
                    summary.status = "failed".into();
                    summary.ended_at = Some(chrono::Utc::now().to_rfc3339());
                    summary.elapsed_s = started.elapsed().as_secs_f64();
                    let _ = write(&summary, &measured);
                    return Err(e.context(format!("variant {api} failed")));
                }
            };
        writers = back;
        summary.variants.push(variant_summary);
        measured.push(variant_measured);
        summary.elapsed_s = started.elapsed().as_secs_f64();
        write(&summary, &measured)?;
    }

    let interrupted = cancel.is_cancelled();
    summary.status = if interrupted {
        "interrupted"
    } else {
        "completed"
    }
    .into();
    summary.ended_at = Some(chrono::Utc::now().to_rfc3339());
    summary.elapsed_s = started.elapsed().as_secs_f64();
    summary.comparison = Comparison::of(&summary.variants);
    write(&summary, &measured)?;
    Ok(RunOutcome {
        summary,
        dir,
        interrupted,
    })
}

/// The time series files, handed from one variant's collector to the next.
struct Writers {
    timeseries: TimeseriesWriter,
    shards: ShardTimeseriesWriter,
    put_hlog: HlogWriter,
    e2e_hlog: HlogWriter,
}

impl Writers {
    /// Writes one interval of variant `api`, which started at `variant_start`.
    fn write(
        &mut self,
        api: &str,
        phases: &[String],
        variant_start: std::time::SystemTime,
        row: &Row,
    ) -> anyhow::Result<()> {
        self.timeseries.write(api, row)?;
        self.shards.write(api, row)?;
        self.put_hlog.write(api, phases, variant_start, row)?;
        self.e2e_hlog.write(api, phases, variant_start, row)
    }
}

/// One API variant of a run.
struct Variant {
    api: Api,
    /// Shown before phase names when a run has several variants.
    label: Option<String>,
    /// Where the consumer starts reading.
    start: Start,
}

/// What every variant of a run shares.
struct VariantRun<'a> {
    scenario: &'a Scenario,
    settings: &'a RunSettings,
    client: &'a aws_sdk_kinesis::Client,
    ready: &'a stream::ReadyStream,
    shard_map: &'a Arc<ShardMap>,
}

impl VariantRun<'_> {
    /// Runs the scenario's phases once with `variant.api`: consumer iterators, collector,
    /// producer, drain, summary.
    async fn run(
        &self,
        variant: &Variant,
        writers: Option<Writers>,
        cancel: &CancellationToken,
    ) -> anyhow::Result<(VariantSummary, Stats, Option<Writers>)> {
        let VariantRun {
            scenario,
            settings,
            client,
            ready,
            shard_map,
        } = *self;
        let schedule = Arc::new(Schedule::new(&scenario.phase));
        let registry = Registry::default();
        let run_id: u32 = rand::random();
        let mut summary = VariantSummary {
            api: variant.api.to_string(),
            run_id: format!("{run_id:08x}"),
            status: "running".into(),
            started_at: chrono::Utc::now().to_rfc3339(),
            elapsed_s: 0.0,
            accounting: Accounting::default(),
            phases: Vec::new(),
            per_shard: Vec::new(),
            slo: Vec::new(),
            warnings: Vec::new(),
        };

        // the consumer's iterators come before the first record is sent
        let shard_ids: Vec<String> = ready.shards.iter().map(|s| s.id.clone()).collect();
        let cursors = if scenario.consumer.enabled {
            reader::open(client, &ready.name, &shard_ids, variant.start).await?
        } else {
            Vec::new()
        };

        let start = Instant::now();
        let start_unix_ns = pool::unix_now_ns();
        let verifier = Arc::new(Verifier::new(
            run_id,
            schedule.clone(),
            start,
            start_unix_ns,
        ));
        let consumer_stop = CancellationToken::new();
        let reader_ctx = ReaderContext {
            client: client.clone(),
            stream: ready.name.clone(),
            verifier: verifier.clone(),
            poll_interval: scenario.consumer.poll_interval,
            start,
        };
        let readers: Vec<_> = cursors
            .into_iter()
            .map(|c| {
                tokio::spawn(reader::read_shard(
                    reader_ctx.clone(),
                    c,
                    registry.slot(),
                    consumer_stop.clone(),
                ))
            })
            .collect();

        let progress = Progress::new(settings.progress, &schedule, variant.label.as_deref());
        let collector_stop = CancellationToken::new();
        let collector_task = {
            let collector = Collector::new(registry.clone(), schedule.clone());
            let stop = collector_stop.clone();
            let interval = scenario.report.interval;
            let progress = progress.clone();
            let api = variant.api.to_string();
            let phase_names: Vec<String> = schedule.phases.iter().map(|p| p.name.clone()).collect();
            let variant_start = std::time::UNIX_EPOCH + Duration::from_nanos(start_unix_ns);
            tokio::spawn(async move {
                let mut collector = collector;
                let mut writers = writers;
                let mut ticker = tokio::time::interval_at((start + interval).into(), interval);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut write_error = None;
                loop {
                    let last = tokio::select! {
                        _ = ticker.tick() => false,
                        _ = stop.cancelled() => true,
                    };
                    let row = collector.collect(start.elapsed());
                    if let Some(w) = writers.as_mut()
                        && let Err(e) = w.write(&api, &phase_names, variant_start, &row)
                    {
                        write_error.get_or_insert(e);
                    }
                    progress.update(&row, &collector);
                    if last {
                        break;
                    }
                }
                (collector, writers, write_error)
            })
        };

        let acked = Arc::new(Mutex::new(SeenSet::default()));
        let ctx = ProducerContext {
            client: client.clone(),
            stream: ready.name.clone(),
            api: variant.api,
            producer: scenario.producer.clone(),
            records: scenario.records.clone(),
            schedule: schedule.clone(),
            seed: scenario.seed,
            run_id,
            start,
            start_unix_ns,
            acked: acked.clone(),
            shards: shard_map.clone(),
        };
        pool::run(ctx, &registry, cancel.clone()).await;

        // drain: wait for every acknowledged record to be read back, up to the drain period
        // (a Ctrl-C during the drain cuts what is left of it to the interrupted drain)
        if scenario.consumer.enabled {
            let drain = scenario.consumer.drain;
            progress.message(&format!(
                "draining (up to {})",
                crate::scenario::units::format_duration(drain)
            ));
            let began = Instant::now();
            loop {
                let all_read = {
                    let acked = acked.lock().unwrap_or_else(|e| e.into_inner());
                    let received = verifier.received.lock().unwrap_or_else(|e| e.into_inner());
                    acked.intersection_len(&received) >= acked.len()
                };
                let limit = if cancel.is_cancelled() {
                    drain.min(INTERRUPTED_DRAIN)
                } else {
                    drain
                };
                if all_read || began.elapsed() >= limit {
                    break;
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                    _ = cancel.cancelled() => {}
                }
            }
        }
        let interrupted = cancel.is_cancelled();
        consumer_stop.cancel();
        for r in readers {
            let _ = r.await;
        }
        collector_stop.cancel();
        let (collector, writers, write_error) =
            collector_task.await.context("the collector task failed")?;
        progress.finish();
        if let Some(e) = write_error {
            tracing::warn!("the time series files are incomplete: {e:#}");
        }

        summary.status = if interrupted {
            "interrupted"
        } else {
            "completed"
        }
        .into();
        summary.elapsed_s = start.elapsed().as_secs_f64();
        let measured = collector.measured();
        let run = RunState {
            schedule: &schedule,
            collector: &collector,
            measured: &measured,
            acked: &acked,
            verifier: &verifier,
            shard_map,
        };
        fill_summary(&mut summary, scenario, &run);
        Ok((summary, measured, writers))
    }
}

/// What a finished run leaves behind, for the summary.
struct RunState<'a> {
    schedule: &'a Schedule,
    collector: &'a Collector,
    measured: &'a Stats,
    acked: &'a Mutex<SeenSet>,
    verifier: &'a Verifier,
    shard_map: &'a ShardMap,
}

fn fill_summary(summary: &mut VariantSummary, scenario: &Scenario, run: &RunState) {
    let RunState {
        schedule,
        collector,
        measured,
        acked,
        verifier,
        shard_map,
    } = *run;
    summary.phases = schedule
        .phases
        .iter()
        .zip(&collector.phases)
        .enumerate()
        .map(|(i, (plan, stats))| PhaseSummary::of_plan(plan, schedule.count(i), stats))
        .collect();
    // the total adds up the measured phases (a warm-up between them does not count)
    let measured_phases: Vec<&PhaseSummary> = summary.phases.iter().filter(|p| p.measure).collect();
    let duration: f64 = measured_phases.iter().map(|p| p.duration_s).sum();
    let active: f64 = measured_phases.iter().map(|p| p.active_s).sum();
    let offered: u64 = (0..schedule.phases.len())
        .filter(|&i| schedule.phases[i].measure)
        .map(|i| schedule.count(i))
        .sum();
    let total = PhaseSummary::new("total", true, duration, active, offered, measured);
    summary.phases.push(total);

    let all = collector.all_counters();
    let acked = acked.lock().unwrap_or_else(|e| e.into_inner());
    let received = verifier.received.lock().unwrap_or_else(|e| e.into_inner());
    let both = acked.intersection_len(&received);
    let consumer = scenario.consumer.enabled;
    let mut a = Accounting {
        scheduled: all.scheduled,
        acknowledged: all.acknowledged,
        given_up: all.given_up(),
        given_up_throttled: all.given_up_throttled,
        given_up_error: all.given_up_error,
        given_up_interrupted: all.given_up_interrupted,
        consumer,
        received: if consumer { received.len() } else { 0 },
        duplicates: if consumer { all.duplicates } else { 0 },
        lost: if consumer { acked.len() - both } else { 0 },
        received_unacknowledged: if consumer { received.len() - both } else { 0 },
        holds: false,
    };
    a.holds = a.scheduled == a.acknowledged + a.given_up
        && (!consumer || (a.lost == 0 && a.received_unacknowledged == 0));
    summary.accounting = a;

    let total = summary.phases.last().cloned();
    if let Some(t) = &total {
        summary.slo = slo_verdicts(scenario, t, &summary.accounting);
        if t.schedule_lag.p99_ms > 100.0 {
            summary.warnings.push(format!(
                "records went out late: p99 schedule lag {:.0}ms. All {} in-flight requests were busy (with retries or slow responses), so the offered rate was not sent on time; latencies are measured from the intended send time, so they include this wait. Raise producer.in_flight or lower the rate to measure the stream rather than the client.",
                t.schedule_lag.p99_ms, scenario.producer.in_flight
            ));
        }
    }
    if consumer && measured.in_stream.count() > 0 && !verifier.arrival_has_millis() {
        for p in &mut summary.phases {
            p.in_stream = Default::default();
        }
        summary.warnings.push(
            "the endpoint reports ApproximateArrivalTimestamp in whole seconds, so in-stream latency is not reported".into(),
        );
    }
    summary.per_shard = shard_summaries(
        shard_map,
        measured,
        collector,
        total.as_ref().map_or(0.0, |t| t.active_s),
    );
    let aggregated = summary.api == Api::PutRecordsAggregated.name();
    summary.warnings.extend(shard_warnings(
        scenario,
        schedule,
        &summary.per_shard,
        measured,
        aggregated,
    ));
    if all.foreign > 0 {
        summary.warnings.push(format!(
            "the consumer read {} records that were not written by this run (another writer on the stream, or an earlier run with start = \"trim_horizon\")",
            all.foreign
        ));
    }
}

/// Per-shard writes over the measured phases, in hash-key order.
fn shard_summaries(
    map: &ShardMap,
    measured: &Stats,
    collector: &Collector,
    active_s: f64,
) -> Vec<ShardSummary> {
    let total: u64 = measured.shards.iter().map(|s| s.acknowledged).sum();
    map.entries()
        .enumerate()
        .map(|(i, (id, start, end))| {
            let c = measured.shards.get(i).cloned().unwrap_or_default();
            let per_s = |n: u64| {
                if active_s > 0.0 {
                    n as f64 / active_s
                } else {
                    0.0
                }
            };
            ShardSummary {
                shard_id: id.to_string(),
                starting_hash_key: start.to_string(),
                ending_hash_key: end.to_string(),
                records_per_s: per_s(c.acknowledged),
                bytes_per_s: per_s(c.acknowledged_bytes),
                share_pct: if total > 0 {
                    c.acknowledged as f64 * 100.0 / total as f64
                } else {
                    0.0
                },
                peak_records_per_s: collector.shard_peaks.get(i).copied().unwrap_or(0.0),
                acknowledged: c.acknowledged,
                acknowledged_bytes: c.acknowledged_bytes,
                throttled: c.throttled,
            }
        })
        .collect()
}

/// Plain words about skew: the hottest shard against an even share, and a key too hot for any
/// single shard.
fn shard_warnings(
    scenario: &Scenario,
    schedule: &Schedule,
    shards: &[ShardSummary],
    measured: &Stats,
    aggregated: bool,
) -> Vec<String> {
    use crate::scenario::limits::{SHARD_WRITE_BYTES_PER_SEC, SHARD_WRITE_RECORDS_PER_SEC};
    let mut warnings = Vec::new();
    let even = 100.0 / shards.len().max(1) as f64;
    if let Some(hot) = shards
        .iter()
        .max_by(|a, b| a.share_pct.total_cmp(&b.share_pct))
        && shards.len() > 1
        && hot.share_pct > even * 1.5
    {
        warnings.push(format!(
            "hottest shard: {} took {:.1}% of acknowledged records (an even share is {:.1}%), peaking at {:.0} records/s; {} of its record attempts were throttled",
            hot.shard_id, hot.share_pct, even, hot.peak_records_per_s, hot.throttled
        ));
    }
    let peak_rate = schedule.peak_rate();
    // a payload that names its key field decides the keys itself: its skew is not known here
    let top = if scenario.records.payload.keys_itself() {
        0.0
    } else {
        scenario.records.keys.top_share()
    };
    let c = &measured.counters;
    let mean_bytes = if c.acknowledged > 0 {
        c.acknowledged_bytes as f64 / c.acknowledged as f64
    } else {
        scenario.records.size.min() as f64
    };
    let key_rate = top * peak_rate;
    // aggregated, a key's records share Kinesis records: only its bytes meet a shard's limit
    if (!aggregated && key_rate > SHARD_WRITE_RECORDS_PER_SEC as f64)
        || key_rate * mean_bytes > SHARD_WRITE_BYTES_PER_SEC as f64
    {
        warnings.push(format!(
            "the most frequent partition key alone gets {:.0} records/s ({:.0} KiB/s) at the peak rate, above one shard's write limit (1,000 records/s, 1 MiB/s): no number of shards fixes this; spread that key's records (more keys, or explicit hash keys)",
            key_rate,
            key_rate * mean_bytes / 1024.0
        ));
    }
    warnings
}

fn slo_verdicts(scenario: &Scenario, t: &PhaseSummary, a: &Accounting) -> Vec<SloVerdict> {
    let s = &scenario.slo;
    let mut v = Vec::new();
    let fmt_ms = |d: Duration| format!("{:.1}ms", d.as_secs_f64() * 1000.0);
    if let Some(limit) = s.put_p99 {
        v.push(SloVerdict {
            name: "put_p99".into(),
            threshold: fmt_ms(limit),
            actual: format!("{:.1}ms", t.put.p99_ms),
            passed: t.put.p99_ms <= limit.as_secs_f64() * 1000.0,
        });
    }
    if let Some(limit) = s.e2e_p99 {
        v.push(SloVerdict {
            name: "e2e_p99".into(),
            threshold: fmt_ms(limit),
            actual: format!("{:.1}ms", t.e2e.p99_ms),
            passed: t.e2e.count > 0 && t.e2e.p99_ms <= limit.as_secs_f64() * 1000.0,
        });
    }
    if let Some(limit) = s.max_throttled_pct {
        v.push(SloVerdict {
            name: "max_throttled_pct".into(),
            threshold: format!("{limit}%"),
            actual: format!("{:.2}%", t.throttled_pct),
            passed: t.throttled_pct <= limit,
        });
    }
    if let Some(limit) = s.max_lost {
        v.push(SloVerdict {
            name: "max_lost".into(),
            threshold: limit.to_string(),
            actual: a.lost.to_string(),
            passed: a.lost <= limit,
        });
    }
    if let Some(limit) = s.min_achieved_pct {
        v.push(SloVerdict {
            name: "min_achieved_pct".into(),
            threshold: format!("{limit}%"),
            actual: format!("{:.2}%", t.achieved_pct),
            passed: t.achieved_pct >= limit,
        });
    }
    v
}

/// Progress bars, one per phase; inert when hidden.
#[derive(Clone)]
struct Progress {
    inner: Option<Arc<ProgressInner>>,
}

struct ProgressInner {
    multi: MultiProgress,
    bars: Vec<ProgressBar>,
    /// For each closed-loop phase, its time span (its bar counts milliseconds, not records).
    closed: Vec<Option<(Duration, Duration)>>,
    started: Mutex<Vec<bool>>,
    /// Set once the producer is done: what the drain is waiting for.
    draining: Mutex<Option<String>>,
}

impl Progress {
    /// `label` (the API variant, when a run has several) goes before each phase name.
    fn new(show: bool, schedule: &Schedule, label: Option<&str>) -> Progress {
        if !show {
            return Progress { inner: None };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
        let style = |template: &str| {
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ")
        };
        // a fixed rate's bar counts records against the planned count; a closed loop's has no
        // count in advance, so its bar shows the phase's time and its message the records made
        let fixed = style("{prefix:>14} [{bar:30}] {pos:>8}/{len:8} {msg}");
        let closed = style("{prefix:>14} [{bar:30}] {msg}");
        let bars = schedule
            .phases
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let prefix = match label {
                    Some(l) => format!("{l} {}", p.name),
                    None => p.name.clone(),
                };
                let bar = ProgressBar::hidden()
                    .with_style(if p.closed { &closed } else { &fixed }.clone())
                    .with_prefix(prefix);
                bar.set_length(if p.closed {
                    p.duration.as_millis() as u64
                } else {
                    schedule.count(i)
                });
                bar
            })
            .collect::<Vec<_>>();
        Progress {
            inner: Some(Arc::new(ProgressInner {
                multi,
                started: Mutex::new(vec![false; bars.len()]),
                closed: schedule
                    .phases
                    .iter()
                    .map(|p| p.closed.then_some((p.start, p.duration)))
                    .collect(),
                bars,
                draining: Mutex::new(None),
            })),
        }
    }

    fn update(&self, row: &Row, collector: &Collector) {
        let Some(inner) = &self.inner else { return };
        let mut started = inner.started.lock().unwrap_or_else(|e| e.into_inner());
        let current = collector
            .phases
            .iter()
            .rposition(|s| s.counters.scheduled > 0);
        let producing = current.is_some_and(|c| match inner.closed[c] {
            Some((start, duration)) => row.elapsed < start + duration,
            None => collector.phases[c].counters.scheduled < inner.bars[c].length().unwrap_or(0),
        });
        for (i, (bar, total)) in inner.bars.iter().zip(&collector.phases).enumerate() {
            let c = &total.counters;
            if c.scheduled == 0 {
                continue;
            }
            if !started[i] {
                started[i] = true;
                let added = inner.multi.add(bar.clone());
                added.set_draw_target(ProgressDrawTarget::stdout());
            }
            let mut msg = format!(
                "acked {}  throttled {}  gave up {}",
                c.acknowledged,
                c.throttled,
                c.given_up()
            );
            match inner.closed[i] {
                Some((start, duration)) => {
                    let into = row.elapsed.saturating_sub(start).min(duration);
                    bar.set_position(into.as_millis() as u64);
                    msg = format!("{:>8} made (rate = max)  {msg}", c.scheduled);
                }
                None => bar.set_position(c.scheduled),
            }
            if Some(i) == current && producing {
                let secs = row.length.as_secs_f64().max(1e-9);
                msg = format!(
                    "{:>6.0} rec/s  put p99 {:>6.1}ms  {msg}",
                    row.stats.counters.acknowledged as f64 / secs,
                    row.stats.put_response.quantile(0.99).as_secs_f64() * 1000.0
                );
            }
            bar.set_message(msg);
        }
        let draining = inner.draining.lock().unwrap_or_else(|e| e.into_inner());
        if let (Some(text), Some(c)) = (draining.as_ref(), current) {
            let all = collector.all_counters();
            inner.bars[c].set_message(format!(
                "{text}: {} of {} acknowledged records read back",
                all.received_distinct(),
                all.acknowledged
            ));
        }
    }

    fn message(&self, text: &str) {
        if let Some(inner) = &self.inner {
            *inner.draining.lock().unwrap_or_else(|e| e.into_inner()) = Some(text.to_string());
        }
    }

    fn finish(&self) {
        if let Some(inner) = &self.inner {
            for bar in &inner.bars {
                bar.finish();
            }
            let _ = inner.multi.clear();
        }
    }
}
