//! The collector as a role: once per interval it merges every task's metrics into one row,
//! writes the row to the time-series files and shows it on the progress display; at the end it
//! hands the run's totals to the other roles and writes the per-phase summary.

use super::progress::Progress;
use super::role::{Clock, Context, Hook, Results, Role};
use crate::metrics::collector::{Collector, Row};
use crate::metrics::interval::Stats;
use crate::report::consumer_csv::ConsumerTimeseriesWriter;
use crate::report::csv::{ShardTimeseriesWriter, TimeseriesWriter};
use crate::report::hlog::{HlogWriter, Pick};
use crate::report::{PhaseSummary, VariantSummary};
use anyhow::Context as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The time-series files of a report directory, written by each variant's collector in turn.
pub struct Writers {
    timeseries: TimeseriesWriter,
    shards: ShardTimeseriesWriter,
    consumers: ConsumerTimeseriesWriter,
    put_hlog: HlogWriter,
    e2e_hlog: HlogWriter,
    /// With several consumers, one e2e log each (`e2e-<name>.hlog`), by consumer index.
    consumer_hlogs: Vec<(String, HlogWriter)>,
    /// The first write that failed (a full disk): the rows after it are still collected and
    /// the summary still printed, and the run says its report is incomplete.
    pub error: Option<String>,
    dir: std::path::PathBuf,
}

/// "cannot write report file `<dir>/<name>`", the context of a failed write.
fn file(dir: &Path, name: &str) -> String {
    format!("cannot write report file `{}`", dir.join(name).display())
}

impl Writers {
    /// Creates the files in `dir`; `shards` names the per-shard columns, `consumers` the
    /// scenario's consumers, `base` is the time the interval logs count from.
    pub fn create(
        dir: &Path,
        shards: Vec<String>,
        consumers: &[String],
        base: SystemTime,
    ) -> anyhow::Result<Writers> {
        let mut consumer_hlogs = Vec::new();
        if consumers.len() > 1 {
            for (i, name) in consumers.iter().enumerate() {
                let file_name = format!("e2e-{name}.hlog");
                let what = format!(
                    "end-to-end latency of consumer {name} (intended send time -> read by it, per record)"
                );
                let pick: Pick = Box::new(move |s: &Stats| s.reads.get(i).map(|r| &r.e2e));
                let log = HlogWriter::create(dir, &file_name, &what, base, pick)
                    .with_context(|| file(dir, &file_name))?;
                consumer_hlogs.push((file_name, log));
            }
        }
        Ok(Writers {
            consumers: ConsumerTimeseriesWriter::create(dir, consumers)
                .with_context(|| file(dir, "consumer_timeseries.csv"))?,
            consumer_hlogs,
            timeseries: TimeseriesWriter::create(dir)
                .map(|w| w.consumers(consumers.len()))
                .with_context(|| file(dir, "timeseries.csv"))?,
            shards: ShardTimeseriesWriter::create(dir, shards)
                .with_context(|| file(dir, "shard_timeseries.csv"))?,
            put_hlog: HlogWriter::create(
                dir,
                "put.hlog",
                "put latency (intended send time -> acknowledgement, per record)",
                base,
                Box::new(|s: &Stats| Some(&s.put_response)),
            )
            .with_context(|| file(dir, "put.hlog"))?,
            e2e_hlog: HlogWriter::create(
                dir,
                "e2e.hlog",
                "end-to-end latency (intended send time -> read by a consumer, per record, every consumer's reads)",
                base,
                Box::new(|s: &Stats| Some(&s.e2e)),
            )
            .with_context(|| file(dir, "e2e.hlog"))?,
            dir: dir.to_path_buf(),
            error: None,
        })
    }

    /// Writes one interval of variant `api`, which started at `variant_start`; the first
    /// failure is kept in [`Writers::error`].
    fn write(&mut self, api: &str, phases: &[String], variant_start: SystemTime, row: &Row) {
        let dir = &self.dir;
        let written = self
            .timeseries
            .write(api, row)
            .with_context(|| file(dir, "timeseries.csv"))
            .and_then(|_| {
                self.shards
                    .write(api, row)
                    .with_context(|| file(dir, "shard_timeseries.csv"))
            })
            .and_then(|_| {
                self.put_hlog
                    .write(api, phases, variant_start, row)
                    .with_context(|| file(dir, "put.hlog"))
            })
            .and_then(|_| {
                self.e2e_hlog
                    .write(api, phases, variant_start, row)
                    .with_context(|| file(dir, "e2e.hlog"))
            })
            .and_then(|_| {
                self.consumers
                    .write(api, row)
                    .with_context(|| file(dir, "consumer_timeseries.csv"))
            })
            .and_then(|_| {
                self.consumer_hlogs.iter_mut().try_for_each(|(name, log)| {
                    log.write(api, phases, variant_start, row)
                        .with_context(|| file(dir, name))
                })
            });
        if let Err(e) = written {
            self.error.get_or_insert(format!("{e:#}"));
        }
    }
}

/// Collects every interval of one variant's run.
pub struct CollectorRole {
    writers: Arc<Mutex<Writers>>,
    progress: Progress,
    /// Stops the collector after one last row.
    stop: CancellationToken,
    task: Option<JoinHandle<Collector>>,
}

impl CollectorRole {
    pub fn new(writers: Arc<Mutex<Writers>>, progress: Progress) -> CollectorRole {
        CollectorRole {
            writers,
            progress,
            stop: CancellationToken::new(),
            task: None,
        }
    }
}

impl Role for CollectorRole {
    fn start(&mut self, run: &Context, clock: Clock) {
        let interval = run.scenario.report.interval;
        let mut collector = Collector::new(run.registry.clone(), run.schedule.clone())
            .with_report_interval(interval);
        let stop = self.stop.clone();
        let progress = self.progress.clone();
        let writers = self.writers.clone();
        let api = run.api.to_string();
        let phase_names: Vec<String> = run.schedule.phases.iter().map(|p| p.name.clone()).collect();
        let variant_start = std::time::UNIX_EPOCH + Duration::from_nanos(clock.start_unix_ns);
        let start = clock.start;
        self.task = Some(tokio::spawn(async move {
            let mut ticker = tokio::time::interval_at((start + interval).into(), interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let last = tokio::select! {
                    _ = ticker.tick() => false,
                    _ = stop.cancelled() => true,
                };
                let row = collector.collect(start.elapsed());
                writers.lock().unwrap_or_else(|e| e.into_inner()).write(
                    &api,
                    &phase_names,
                    variant_start,
                    &row,
                );
                progress.update(&row, &collector);
                if last {
                    break;
                }
            }
            collector
        }));
    }

    fn stop<'a>(&'a mut self, run: &'a Context) -> Hook<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.stop.cancel();
            let Some(task) = self.task.take() else {
                return Ok(());
            };
            let collector = task.await.context("the collector task failed")?;
            let _ = run.collected.set(collector);
            Ok(())
        })
    }

    /// The phases, and their measured total (a warm-up between them does not count).
    fn summarise(&self, run: &Context, results: &Results, summary: &mut VariantSummary) {
        let schedule = &run.schedule;
        // cut short, a phase offered what it scheduled before the cut, over the time it ran
        let offered = |i: usize| match results.cut_at {
            Some(_) => results.collector.phases[i].counters.scheduled,
            None => schedule.count(i),
        };
        summary.phases = schedule
            .phases
            .iter()
            .zip(&results.collector.phases)
            .enumerate()
            .map(|(i, (plan, stats))| match results.cut_at {
                Some(at) => {
                    let ran = at.saturating_sub(plan.start).min(plan.duration);
                    PhaseSummary::of_run(plan, ran, offered(i), stats)
                }
                None => PhaseSummary::of_plan(plan, offered(i), stats),
            })
            .collect();
        let measured: Vec<&PhaseSummary> = summary.phases.iter().filter(|p| p.measure).collect();
        let duration: f64 = measured.iter().map(|p| p.duration_s).sum();
        let active: f64 = measured.iter().map(|p| p.active_s).sum();
        let offered: u64 = (0..schedule.phases.len())
            .filter(|&i| schedule.phases[i].measure)
            .map(offered)
            .sum();
        let total = PhaseSummary::new("total", true, duration, active, offered, results.measured);
        summary.phases.push(total);
    }
}
