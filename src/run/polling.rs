//! A polling consumer as a role: a GetRecords loop per shard, verified against what the
//! producer had acknowledged. A scenario's consumers are one role each; their reads share the
//! stream's per-shard limits as on Kinesis.

use super::role::{Clock, Context, DrainLimit, Hook, Results, Role};
use crate::consumer::reader::{self, Cursor, ReaderContext, Tips};
use crate::consumer::verify::Verifier;
use crate::metrics::interval::ReadStats;
use crate::report::{ConsumerPhase, ConsumerSummary, ReadAccounting, VariantSummary};
use crate::scenario::Consumer;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often the drain looks whether every acknowledged record has been read back.
const DRAIN_POLL: Duration = Duration::from_millis(50);

/// Reads every shard of the stream from its start position.
pub struct PollingConsumer {
    /// Its index in the scenario's consumers (where its reads are recorded) and its settings.
    index: usize,
    spec: Consumer,
    /// Shard iterators taken before the first record is sent; handed to the readers at start.
    cursors: Vec<Cursor>,
    /// Shared by the shard readers: what was read, and the end-to-end latencies.
    verifier: Option<Arc<Verifier>>,
    readers: Vec<JoinHandle<()>>,
    /// Stops the shard readers.
    stop: CancellationToken,
    tips: Option<Arc<Tips>>,
    /// When the drain began, from the run's start: a shard whose reader reached its tip after
    /// it has nothing acknowledged left unread.
    drain_began: Option<Duration>,
    drain_ended: Option<Duration>,
    clock: Option<Clock>,
}

/// GetRecords failures this close to the drain's end (seconds) mean the reads were failing
/// when the run ended (the reader backs off up to 5 s between tries).
const FAILING_AT_END_S: f64 = 6.0;

/// Readers whose polls run later than this many poll intervals (p99) are the bottleneck.
const BEHIND_INTERVALS: u32 = 2;

impl PollingConsumer {
    pub fn new(index: usize, spec: Consumer) -> PollingConsumer {
        PollingConsumer {
            index,
            spec,
            cursors: Vec::new(),
            verifier: None,
            readers: Vec::new(),
            stop: CancellationToken::new(),
            tips: None,
            drain_began: None,
            drain_ended: None,
            clock: None,
        }
    }

    /// Why records not read back cannot be called lost, if they cannot: None when every
    /// shard's reader reached the shard's end after the last record was acknowledged.
    fn unverified_why(&self, run: &Context, results: &Results) -> Option<String> {
        if run.incidents.stream_gone() {
            return Some("the stream vanished before they were read back".into());
        }
        if results.cut_at.is_some() || run.cancel.is_cancelled() {
            return Some("the run was stopped before they were read back".into());
        }
        let tips = self.tips.as_ref()?;
        let behind = tips.behind_since(self.drain_began?);
        if behind == 0 {
            return None;
        }
        let of = format!("{behind} of {} shards", tips.shards());
        // reads failing at the end of the run: the endpoint, not the consumer
        let failing = run
            .incidents
            .episodes()
            .into_iter()
            .rev()
            .find(|i| i.calls.contains_key("GetRecords"));
        let drain_end = self.drain_ended.unwrap_or_default().as_secs_f64();
        Some(match failing {
            Some(i) if i.to_s + FAILING_AT_END_S >= drain_end => format!(
                "the consumer could not read {of} to their end: GetRecords met {}: {} until {:.1} s",
                i.what, i.detail, i.to_s
            ),
            _ => format!(
                "kbench's consumer{} fell behind: it did not reach the end of {of} within the drain; not lost, but not read back",
                self.named(run)
            ),
        })
    }

    /// A warning when the readers' polls ran late against their schedule: kbench's consumer,
    /// not the stream, set the pace, and end-to-end latency includes its delay.
    fn fell_behind(&self, run: &Context) -> Option<String> {
        let lag = self.tips.as_ref()?.poll_lag();
        let interval = self.spec.poll_interval();
        let p99 = lag.quantile(0.99);
        (p99 > interval * BEHIND_INTERVALS).then(|| {
            format!(
                "kbench's consumer{} fell behind its own poll schedule: p99 {:.0} ms late, max {:.0} ms, against a {:.0} ms poll interval over {} shards; end-to-end latency includes that delay (read fewer shards per process, or raise poll_interval)",
                self.named(run),
                p99.as_secs_f64() * 1e3,
                lag.max().as_secs_f64() * 1e3,
                interval.as_secs_f64() * 1e3,
                run.stream.shards.len()
            )
        })
    }

    /// " `name`" when the scenario has several consumers, for its messages.
    fn named(&self, run: &Context) -> String {
        named(run, &self.spec.name)
    }

    /// Whether every record the producer had acknowledged has been read back.
    fn all_read(&self, run: &Context) -> bool {
        let Some(verifier) = &self.verifier else {
            return true;
        };
        let acked = run.acked.lock().unwrap_or_else(|e| e.into_inner());
        let received = verifier.received.lock().unwrap_or_else(|e| e.into_inner());
        acked.intersection_len(&received) >= acked.len()
    }
}

impl Role for PollingConsumer {
    fn prepare<'a>(&'a mut self, run: &'a Context) -> Hook<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let shard_ids: Vec<String> = run.stream.shards.iter().map(|s| s.id.clone()).collect();
            let start = run.consumer_start.unwrap_or(self.spec.start);
            self.cursors = reader::open(run.client, &run.stream.name, &shard_ids, start).await?;
            Ok(())
        })
    }

    fn start(&mut self, run: &Context, clock: Clock) {
        let verifier = Arc::new(Verifier::new(
            self.index,
            run.run_id,
            run.schedule.clone(),
            clock.start,
            clock.start_unix_ns,
        ));
        let ctx = ReaderContext {
            client: run.client.clone(),
            stream: run.stream.name.clone(),
            verifier: verifier.clone(),
            poll_interval: self.spec.poll_interval(),
            max_records: self.spec.max_records() as i32,
            start: clock.start,
            incidents: run.incidents.clone(),
            tips: Arc::new(Tips::new(self.cursors.len(), clock.start)),
            reads: Arc::new(tokio::sync::Semaphore::new(reader::READS_IN_FLIGHT)),
        };
        self.tips = Some(ctx.tips.clone());
        self.clock = Some(clock);
        self.readers = std::mem::take(&mut self.cursors)
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                tokio::spawn(reader::read_shard(
                    ctx.clone(),
                    i,
                    c,
                    run.registry.slot(),
                    self.stop.clone(),
                ))
            })
            .collect();
        self.verifier = Some(verifier);
    }

    /// Waits for every acknowledged record to be read back, up to the drain period (a Ctrl-C
    /// during the drain cuts what is left of it to the interrupted drain).
    fn drain<'a>(&'a mut self, run: &'a Context, limit: DrainLimit) -> Hook<'a, ()> {
        Box::pin(async move {
            let began = Instant::now();
            let limit = DrainLimit {
                limit: self.spec.drain,
                ..limit
            };
            self.drain_began = self.clock.map(|c| began.saturating_duration_since(c.start));
            // a stream that vanished has nothing left to read
            while !self.all_read(run)
                && !run.incidents.stream_gone()
                && began.elapsed() < limit.now(&run.cancel)
            {
                if run.cancel.is_cancelled() {
                    tokio::time::sleep(DRAIN_POLL).await;
                    continue;
                }
                tokio::select! {
                    _ = tokio::time::sleep(DRAIN_POLL) => {}
                    _ = run.cancel.cancelled() => {}
                }
            }
            self.drain_ended = self.clock.map(|c| c.start.elapsed());
        })
    }

    fn stop<'a>(&'a mut self, _run: &'a Context) -> Hook<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.stop.cancel();
            for r in self.readers.drain(..) {
                let _ = r.await;
            }
            Ok(())
        })
    }

    fn summarise(&self, run: &Context, results: &Results, summary: &mut VariantSummary) {
        let Some(verifier) = &self.verifier else {
            return;
        };
        let acked = run.acked.lock().unwrap_or_else(|e| e.into_inner());
        let received = verifier.received.lock().unwrap_or_else(|e| e.into_inner());
        let both = acked.intersection_len(&received);
        let mut a = ReadAccounting {
            received: received.len(),
            received_unacknowledged: received.len() - both,
            ..Default::default()
        };
        let mut phases: Vec<ConsumerPhase> = run
            .schedule
            .phases
            .iter()
            .zip(&results.collector.phases)
            .map(|(plan, stats)| {
                let reads = stats.reads.get(self.index).cloned().unwrap_or_default();
                ConsumerPhase::new(&plan.name, plan.measure, &reads)
            })
            .collect();
        let mut measured = ReadStats::default();
        let mut all = ReadStats::default();
        for (plan, stats) in run.schedule.phases.iter().zip(&results.collector.phases) {
            if let Some(r) = stats.reads.get(self.index) {
                all.merge(r);
                if plan.measure {
                    measured.merge(r);
                }
            }
        }
        phases.push(ConsumerPhase::new("total", true, &measured));
        a.duplicates = all.counters.duplicates;
        // a record not read back is lost only if its shard's reader reached the shard's end
        // after it was written; otherwise it is not verified, and the summary says why
        let unread = acked.len() - both;
        match self.unverified_why(run, results) {
            Some(why) if unread > 0 => {
                a.unverified = unread;
                a.unverified_why = Some(why);
            }
            _ => a.lost = unread,
        }
        summary.accounting.consumer = true;
        summary.accounting.reads.add(&a);
        if let Some(w) = self.fell_behind(run) {
            summary.warnings.push(w);
        }
        if measured.in_stream.count() > 0 && !verifier.arrival_has_millis() {
            for p in &mut phases {
                p.in_stream = Default::default();
            }
            // the all-consumer figures too: the endpoint is the same for every consumer
            for p in &mut summary.phases {
                p.in_stream = Default::default();
            }
            let said = "the endpoint reports ApproximateArrivalTimestamp in whole seconds, so in-stream latency is not reported";
            if !summary.warnings.iter().any(|w| w == said) {
                summary.warnings.push(said.into());
            }
        }
        if all.counters.foreign > 0 {
            summary.warnings.push(format!(
                "the consumer{} read {} records that were not written by this run (another writer on the stream, or an earlier run with start = \"trim_horizon\")",
                self.named(run),
                all.counters.foreign
            ));
        }
        summary.consumers.push(ConsumerSummary {
            name: self.spec.name.clone(),
            kind: self.spec.kind.name().into(),
            accounting: a,
            phases,
            subscriptions: 0,
            renewals: 0,
        });
    }
}

/// " `name`" when the scenario has several consumers (a message about one must say which),
/// "" when it has one.
pub(super) fn named(run: &Context, name: &str) -> String {
    if run.scenario.consumers.len() > 1 {
        format!(" `{name}`")
    } else {
        String::new()
    }
}
