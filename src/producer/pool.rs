//! The producer pool: a scheduler that fills batches on the open-loop schedule, and `in_flight`
//! workers running the one send loop (parameterised by API) with retries of failed entries.
//!
//! Every scheduled record ends acknowledged or given up with a reason, and is counted once in
//! the phase it belongs to. A cancelled run stops scheduling; records not yet acknowledged are
//! given up as interrupted. With aggregation, an entry's outcome is every user record's in it.

use super::batch::{Entry, Packer, Record};
use super::retry;
use super::send::{Outcome, send};
use crate::endpoint::incidents::{Incidents, Problem, tally};
use crate::metrics::collector::Registry;
use crate::metrics::interval::Slot;
use crate::metrics::interval::shard_entry;
use crate::metrics::seen::SeenSet;
use crate::scenario::limits::PUT_PAYLOAD_UNIT_BYTES;
use crate::scenario::{Api, Producer, Records};
use crate::workload::Generator;
use crate::workload::schedule::{Arrivals, Due, Schedule};
use crate::workload::shardmap::ShardMap;
use aws_sdk_kinesis::Client;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Everything the producer needs to know about the run.
#[derive(Clone)]
pub struct ProducerContext {
    pub client: Client,
    pub stream: String,
    /// The API variant this run sends with.
    pub api: Api,
    pub producer: Producer,
    pub records: Records,
    pub schedule: Arc<Schedule>,
    pub seed: u64,
    pub run_id: u32,
    /// The run's time origin: intended times are offsets from it.
    pub start: Instant,
    /// The same origin as nanoseconds since the Unix epoch, for stamps.
    pub start_unix_ns: u64,
    /// Sequence numbers acknowledged so far, for the loss check.
    pub acked: Arc<Mutex<SeenSet>>,
    /// The stream's shards, to route and count records per shard.
    pub shards: Arc<ShardMap>,
    /// Told of every failed call; a gone stream stops the run.
    pub incidents: Arc<Incidents>,
}

/// Runs the schedule to the end (or until `cancel`), then waits for every worker to finish.
pub async fn run(ctx: ProducerContext, registry: &Registry, cancel: CancellationToken) {
    let ctx = Arc::new(ctx);
    let (tx, rx) = mpsc::channel::<Vec<Entry>>(1);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let workers: Vec<_> = (0..ctx.producer.in_flight)
        .map(|i| {
            let worker = Worker {
                ctx: ctx.clone(),
                slot: registry.slot(),
                cancel: cancel.clone(),
                rng: SmallRng::seed_from_u64(ctx.seed ^ (i as u64 + 1) << 32),
            };
            tokio::spawn(worker.run(rx.clone()))
        })
        .collect();
    // the scheduler gets a thread and timer of its own, so that workers busy with requests and
    // responses do not delay it: its lateness is the schedule lag every record reports
    let (slot, sched_cancel, sched_ctx) = (registry.slot(), cancel.clone(), ctx.clone());
    let scheduler = tokio::task::spawn_blocking(move || {
        match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        {
            Ok(rt) => rt.block_on(schedule(&sched_ctx, slot, tx, &sched_cancel)),
            Err(e) => tracing::error!("cannot start the producer's scheduler: {e}"),
        }
    });
    if let Err(e) = scheduler.await {
        tracing::error!("the producer's scheduler failed: {e}");
    }
    for w in workers {
        if let Err(e) = w.await {
            tracing::error!(
                "a producer worker failed: {e}; its records in flight are not accounted for"
            );
        }
    }
}

/// Walks the schedule: makes each record when its intended time comes, fills batches by count,
/// bytes and linger, and hands them to the workers. Blocks when every worker is busy, so late
/// records go out as soon as a worker frees up, with their lateness measured.
async fn schedule(
    ctx: &ProducerContext,
    slot: Slot,
    tx: mpsc::Sender<Vec<Entry>>,
    cancel: &CancellationToken,
) {
    let p = &ctx.producer;
    let max_entries = if ctx.api.batches() {
        p.batch_max_records
    } else {
        1
    };
    let aggregation = match ctx.api {
        Api::PutRecordsAggregated => p.aggregation.clone(),
        _ => None,
    };
    let mut batch = Packer::new(max_entries, p.batch_max_bytes, aggregation);
    let mut generator = Generator::new(
        ctx.records.clone(),
        ctx.seed,
        ctx.run_id,
        0,
        ctx.shards.clone(),
    );
    let mut arrivals = Arrivals::new(ctx.schedule.clone(), p.arrival, ctx.seed);
    let mut next: u64 = 0;
    let mut linger_deadline = Instant::now();
    let mut next_record: Option<Record> = None;
    // the schedule has no records left to make
    let mut exhausted = false;
    // when the next record is due, if it is not yet
    let mut wake = None;
    loop {
        if cancel.is_cancelled() {
            break;
        }
        let now = Instant::now();
        // take every record whose time has come, as far as the batch has room
        let mut scheduled: Vec<(usize, Option<std::time::Duration>)> = Vec::new();
        loop {
            if next_record.is_none() && !exhausted {
                let elapsed = now - ctx.start;
                // a fixed rate's record has an intended time (and a lag behind it); a closed
                // loop's record is intended for the moment it is made
                let (phase, offset, lag) = match arrivals.next(next, elapsed) {
                    Due::Done => {
                        exhausted = true;
                        break;
                    }
                    Due::At(_, offset) if offset > elapsed => {
                        wake = Some(ctx.start + offset);
                        break;
                    }
                    Due::At(phase, offset) => (phase, offset, Some(elapsed - offset)),
                    Due::Now(phase) => (phase, elapsed, None),
                };
                let made = generator.make(next, ctx.start_unix_ns + offset.as_nanos() as u64);
                scheduled.push((phase, lag));
                next_record = Some(Record {
                    seq: next,
                    phase,
                    intended: ctx.start + offset,
                    key: made.key,
                    explicit_hash_key: made.explicit_hash_key,
                    shard: made.shard,
                    data: made.data,
                });
                next += 1;
            }
            let Some(record) = next_record.take() else {
                break;
            };
            if !batch.fits(&record) {
                next_record = Some(record);
                break;
            }
            if batch.is_empty() {
                linger_deadline = now + p.linger;
            }
            batch.push(record);
            if batch.is_full() {
                break;
            }
        }
        if !scheduled.is_empty() {
            let mut buckets = slot.lock();
            for (phase, lag) in scheduled {
                let stats = buckets.phase(phase);
                stats.counters.scheduled += 1;
                if let Some(lag) = lag {
                    stats.lag.record(lag);
                }
            }
        }
        let done = exhausted && next_record.is_none();
        let ready = !batch.is_empty()
            && (batch.is_full() || next_record.is_some() || done || now >= linger_deadline);
        if ready {
            let records = batch.take();
            // reserve first, so a cancellation while every worker is busy keeps the records here
            tokio::select! {
                permit = tx.reserve() => match permit {
                    Ok(permit) => permit.send(records),
                    Err(_) => give_up_interrupted(&slot, records),
                },
                _ = cancel.cancelled() => give_up_interrupted(&slot, records),
            }
            continue;
        }
        if done {
            break;
        }
        // sleep until the next record is due or the batch's linger runs out
        let mut until = wake.take().unwrap_or(now);
        if !batch.is_empty() {
            until = until.min(linger_deadline);
        }
        tokio::select! {
            _ = tokio::time::sleep_until(until.into()) => {}
            _ = cancel.cancelled() => {}
        }
    }
    // records scheduled but not yet handed over
    let mut left = batch.take();
    left.extend(next_record.map(Entry::plain));
    give_up_interrupted(&slot, left);
    // records whose time had come but that a blocked scheduler had not made yet: scheduled,
    // and given up as interrupted, so the accounting covers everything the schedule offered
    let due = ctx.schedule.due_by(ctx.start.elapsed());
    if due > next {
        let mut buckets = slot.lock();
        for (phase, n) in ctx.schedule.split_by_phase(next..due) {
            let c = &mut buckets.phase(phase).counters;
            c.scheduled += n;
            c.given_up_interrupted += n;
        }
    }
}

fn give_up_interrupted(slot: &Slot, entries: Vec<Entry>) {
    if entries.is_empty() {
        return;
    }
    let mut buckets = slot.lock();
    for u in entries.iter().flat_map(|e| e.users.as_slice()) {
        buckets.phase(u.phase).counters.given_up_interrupted += 1;
    }
}

/// How long a cancelled run waits for the answers to requests in flight before it gives their
/// records up as interrupted (they may still land: the consumer then reads them as
/// "unacknowledged but received").
const IN_FLIGHT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// One in-flight request slot: takes a batch, sends it, retries its failed entries.
struct Worker {
    ctx: Arc<ProducerContext>,
    slot: Slot,
    cancel: CancellationToken,
    rng: SmallRng,
}

impl Worker {
    async fn run(mut self, rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Vec<Entry>>>>) {
        loop {
            let batch = { rx.lock().await.recv().await };
            let Some(records) = batch else { break };
            self.deliver(records).await;
        }
    }

    /// Sends `entries` until each is acknowledged or given up.
    async fn deliver(&mut self, mut pending: Vec<Entry>) {
        let p = self.ctx.producer.clone();
        while !pending.is_empty() {
            if self.cancel.is_cancelled() {
                give_up_interrupted(&self.slot, pending);
                return;
            }
            let sent_at = Instant::now();
            for e in &mut pending {
                e.attempts += 1;
                e.first_sent.get_or_insert(sent_at);
            }
            let sending = send(
                &self.ctx.client,
                &self.ctx.stream,
                self.ctx.api,
                &pending,
                p.request_timeout,
            );
            // a cancelled run waits for an answer in flight a little while, a second signal
            // ("stop now") not at all: at any load the run ends within its interrupted drain
            let cut = async {
                tokio::select! {
                    _ = async {
                        self.cancel.cancelled().await;
                        tokio::time::sleep(IN_FLIGHT_GRACE).await;
                    } => {}
                    _ = crate::console::signals::stop_now().cancelled() => {}
                }
            };
            let sent = tokio::select! {
                sent = sending => sent,
                _ = cut => {
                    give_up_interrupted(&self.slot, pending);
                    return;
                }
            };
            let done_at = Instant::now();
            let operation = self.ctx.api.operation();
            for (problem, n) in &sent.problems {
                self.ctx.incidents.note(problem.clone(), operation, *n);
            }
            // entries that failed in a call that succeeded, by code
            let mut entry_failures: Vec<(String, u64)> = Vec::new();
            let whole_call_failed = sent.call_errors > 0 || !self.ctx.api.batches();
            let mut retry = Vec::new();
            let mut attempts_made = 0;
            {
                let mut buckets = self.slot.lock();
                let call_stats = buckets.phase(pending[0].phase());
                call_stats.counters.calls += sent.calls;
                call_stats.counters.call_errors += sent.call_errors;
                call_stats.counters.request_bytes += sent.request_bytes;
                call_stats
                    .put_service
                    .record((done_at - sent_at) / sent.calls.max(1) as u32);
                let mut acked = self.ctx.acked.lock().unwrap_or_else(|e| e.into_inner());
                for (e, outcome) in pending.drain(..).zip(sent.outcomes) {
                    attempts_made = attempts_made.max(e.attempts);
                    if outcome == Outcome::Acked {
                        let c = &mut buckets.phase(e.phase()).counters;
                        c.kinesis_records += 1;
                        c.put_units += e.wire_bytes().div_ceil(PUT_PAYLOAD_UNIT_BYTES).max(1);
                    }
                    let retryable = match &outcome {
                        Outcome::Acked => false,
                        Outcome::Throttled => true,
                        Outcome::Failed { code, retryable } => {
                            tracing::debug!(code = %code, attempt = e.attempts, "record attempt failed");
                            if !whole_call_failed {
                                tally(&mut entry_failures, code.clone());
                            }
                            *retryable
                        }
                    };
                    let retry_it = retryable && e.attempts < p.max_attempts;
                    for u in e.users.as_slice() {
                        let stats = buckets.phase(u.phase);
                        let c = &mut stats.counters;
                        c.attempts += 1;
                        if e.attempts == 1 {
                            c.sent += 1;
                        } else {
                            c.retried += 1;
                        }
                        let shard = shard_entry(&mut stats.shards, u.shard);
                        match &outcome {
                            Outcome::Acked => {
                                c.acknowledged += 1;
                                c.acknowledged_bytes += u.bytes as u64;
                                if let Some(s) = shard {
                                    s.acknowledged += 1;
                                    s.acknowledged_bytes += u.bytes as u64;
                                }
                                stats
                                    .put_response
                                    .record(done_at.saturating_duration_since(u.intended));
                                stats
                                    .put_uncorrected
                                    .record(done_at - e.first_sent.unwrap_or(sent_at));
                                acked.insert(u.seq);
                                let at = done_at - self.ctx.start;
                                stats.first_ack = Some(stats.first_ack.map_or(at, |f| f.min(at)));
                                stats.last_ack = stats.last_ack.max(at);
                                continue;
                            }
                            Outcome::Throttled => {
                                c.throttled += 1;
                                if let Some(s) = shard {
                                    s.throttled += 1;
                                }
                            }
                            Outcome::Failed { .. } => c.failed += 1,
                        }
                        if retry_it {
                            continue;
                        } else if outcome == Outcome::Throttled {
                            c.given_up_throttled += 1;
                        } else {
                            c.given_up_error += 1;
                        }
                    }
                    if retry_it {
                        retry.push(e);
                    }
                }
            }
            for (code, n) in entry_failures {
                self.ctx
                    .incidents
                    .note(Problem::RecordFailed(code), "PutRecords entries", n);
            }
            pending = retry;
            if !pending.is_empty() {
                let wait = retry::delay(&p.backoff, attempts_made, &mut self.rng);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = self.cancel.cancelled() => {}
                }
            }
        }
    }
}

/// The time origin of a run as nanoseconds since the Unix epoch.
pub fn unix_now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
