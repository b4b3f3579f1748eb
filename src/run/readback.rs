//! What every consumer role shares: reading back what the producer had acknowledged, the
//! drain, and the verdict on what was not read back (lost, or not verified and why), summed
//! up into the consumer's summary. [`super::polling`] and [`super::efo`] each own one.

use super::role::{Clock, Context, DrainLimit, Results};
use crate::consumer::reader::Tips;
use crate::consumer::verify::Verifier;
use crate::metrics::interval::ReadStats;
use crate::report::{ConsumerPhase, ConsumerSummary, ReadAccounting, VariantSummary};
use crate::scenario::Consumer;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the drain looks whether every acknowledged record has been read back.
const DRAIN_POLL: Duration = Duration::from_millis(50);

/// Read failures this close to the drain's end (seconds) mean the reads were failing when the
/// run ended (the readers back off up to 5 s between tries).
const FAILING_AT_END_S: f64 = 6.0;

/// One consumer's read-back.
pub struct Readback {
    /// Its index in the scenario's consumers (where its reads are recorded) and its settings.
    pub index: usize,
    pub spec: Consumer,
    /// The operation its reads go through, as incidents name it: "GetRecords",
    /// "SubscribeToShard".
    operation: &'static str,
    /// Shared by the shard readers: what was read, and the end-to-end latencies.
    pub verifier: Option<Arc<Verifier>>,
    pub tips: Option<Arc<Tips>>,
    /// When the drain began, from the run's start: a shard whose reader reached its tip after
    /// it has nothing acknowledged left unread.
    drain_began: Option<Duration>,
    drain_ended: Option<Duration>,
    clock: Option<Clock>,
}

impl Readback {
    pub fn new(index: usize, spec: Consumer, operation: &'static str) -> Readback {
        Readback {
            index,
            spec,
            operation,
            verifier: None,
            tips: None,
            drain_began: None,
            drain_ended: None,
            clock: None,
        }
    }

    /// At the run's start: the verifier and the tips of `shards` shard readers.
    pub fn begin(
        &mut self,
        run: &Context,
        clock: Clock,
        shards: usize,
    ) -> (Arc<Verifier>, Arc<Tips>) {
        let verifier = Arc::new(Verifier::new(
            self.index,
            run.run_id,
            run.schedule.clone(),
            clock.start,
            clock.start_unix_ns,
        ));
        let tips = Arc::new(Tips::new(shards, clock.start));
        self.verifier = Some(verifier.clone());
        self.tips = Some(tips.clone());
        self.clock = Some(clock);
        (verifier, tips)
    }

    /// Why records not read back cannot be called lost, if they cannot: None when every
    /// shard's reader reached the shard's end after the last record was acknowledged.
    pub fn unverified_why(&self, run: &Context, results: &Results) -> Option<String> {
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
            .find(|i| i.calls.contains_key(self.operation));
        let drain_end = self.drain_ended.unwrap_or_default().as_secs_f64();
        Some(match failing {
            Some(i) if i.to_s + FAILING_AT_END_S >= drain_end => format!(
                "the consumer{} could not read {of} to their end: {} met {}: {} until {:.1} s",
                self.named(run),
                self.operation,
                i.what,
                i.detail,
                i.to_s
            ),
            _ => format!(
                "kbench's consumer{} fell behind: it did not reach the end of {of} within the drain; not lost, but not read back",
                self.named(run)
            ),
        })
    }

    /// " `name`" when the scenario has several consumers, for its messages.
    pub fn named(&self, run: &Context) -> String {
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

    /// Waits for every acknowledged record to be read back, up to the consumer's drain (a
    /// Ctrl-C during the drain cuts what is left of it to the interrupted drain).
    pub async fn drain(&mut self, run: &Context<'_>, limit: DrainLimit) {
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
    }

    /// Adds the consumer's figures to the summary; `subscriptions` and `renewals` are an
    /// enhanced fan-out consumer's.
    pub fn summarise(
        &self,
        run: &Context,
        results: &Results,
        summary: &mut VariantSummary,
        subscriptions: u64,
        renewals: u64,
    ) {
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
            subscriptions,
            renewals,
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
