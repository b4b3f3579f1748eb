//! Polling consumer: one GetRecords loop per shard, paced to the per-shard call limit.
//!
//! Iterators are taken with [`open`] before the first record is sent, so nothing is missed.
//! A throttled or failed call backs off and tries again; an expired iterator is renewed after
//! the last sequence number read; a closed shard ends its loop.

use super::verify::{Received, Verifier};
use crate::endpoint::incidents::{Incidents, Problem};
use crate::metrics::histogram::Latency;
use crate::metrics::interval::Slot;
use crate::scenario::Start;
use anyhow::Context;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::types::ShardIteratorType;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Longest a GetRecords or GetShardIterator call may take before it is abandoned and retried.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A shard and where reading it starts.
pub struct Cursor {
    pub shard_id: String,
    pub iterator: String,
}

/// GetShardIterator calls in flight at once when the readers open: 10,000 shards one after
/// the other would keep the run from starting for a minute.
const OPEN_IN_FLIGHT: usize = 32;

/// Takes an iterator for every shard (in the order of `shards`).
pub async fn open(
    client: &Client,
    stream: &str,
    shards: &[String],
    start: Start,
) -> anyhow::Result<Vec<Cursor>> {
    use futures_util::{StreamExt, TryStreamExt};
    let kind = match start {
        Start::Latest => ShardIteratorType::Latest,
        Start::TrimHorizon => ShardIteratorType::TrimHorizon,
    };
    futures_util::stream::iter(shards.iter().cloned())
        .map(|shard_id| {
            let (kind, client, stream) = (kind.clone(), client.clone(), stream.to_string());
            async move {
                let out = client
                    .get_shard_iterator()
                    .stream_name(&stream)
                    .shard_id(&shard_id)
                    .shard_iterator_type(kind)
                    .send()
                    .await
                    .map_err(|e| anyhow::anyhow!(crate::endpoint::stream::message(&e)))
                    .with_context(|| {
                        format!("GetShardIterator for {shard_id} of stream `{stream}` failed")
                    })?;
                let iterator = out
                    .shard_iterator()
                    .with_context(|| {
                        format!("GetShardIterator for {shard_id} returned no iterator")
                    })?
                    .to_string();
                anyhow::Ok(Cursor { shard_id, iterator })
            }
        })
        .buffered(OPEN_IN_FLIGHT)
        .try_collect()
        .await
}

/// How far each shard's reader has got, so that a record not read back is called lost only
/// when the reader did reach the end of its shard after it was written, and how late the
/// readers' polls ran against their schedule (kbench's consumer being the bottleneck).
#[derive(Debug)]
pub struct Tips {
    /// Per shard (in the order the readers were given): nanoseconds from the run's start to the
    /// start of the latest call that found the reader at the shard's tip (no records, nothing
    /// behind); 0 for never, `u64::MAX` for a closed shard read to its end.
    at_tip: Vec<AtomicU64>,
    start: Instant,
    /// How late each call went out against the reader's poll schedule.
    poll_lag: Mutex<Latency>,
}

impl Tips {
    pub fn new(shards: usize, start: Instant) -> Tips {
        Tips {
            at_tip: (0..shards).map(|_| AtomicU64::new(0)).collect(),
            start,
            poll_lag: Mutex::new(Latency::new()),
        }
    }

    pub(crate) fn reached(&self, shard: usize, call_started: Instant) {
        let ns = call_started
            .saturating_duration_since(self.start)
            .as_nanos() as u64;
        if let Some(t) = self.at_tip.get(shard) {
            t.fetch_max(ns.max(1), Ordering::Relaxed);
        }
    }

    pub(crate) fn closed(&self, shard: usize) {
        if let Some(t) = self.at_tip.get(shard) {
            t.store(u64::MAX, Ordering::Relaxed);
        }
    }

    /// Shards whose reader has not been at the tip since `since` (from the run's start).
    pub fn behind_since(&self, since: Duration) -> usize {
        let since = (since.as_nanos() as u64).max(1);
        self.at_tip
            .iter()
            .filter(|t| t.load(Ordering::Relaxed) < since)
            .count()
    }

    pub fn shards(&self) -> usize {
        self.at_tip.len()
    }

    /// The readers' lateness against their poll schedule.
    pub fn poll_lag(&self) -> Latency {
        self.poll_lag
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Everything a shard reader needs.
#[derive(Clone)]
pub struct ReaderContext {
    pub client: Client,
    pub stream: String,
    pub verifier: Arc<Verifier>,
    pub poll_interval: Duration,
    /// GetRecords' `Limit`.
    pub max_records: i32,
    pub start: Instant,
    /// Told of every failed call; a gone stream stops the run.
    pub incidents: Arc<Incidents>,
    pub tips: Arc<Tips>,
    /// GetRecords calls in flight, over every shard: see [`READS_IN_FLIGHT`].
    pub reads: Arc<tokio::sync::Semaphore>,
}

/// GetRecords calls one consumer keeps in flight at most. Thousands of shards polled each on
/// its own would flood the endpoint (and kbench's own process, where the embedded endpoint
/// runs) with calls; capped, the consumer falls behind its poll schedule instead, and says so.
pub const READS_IN_FLIGHT: usize = 64;

/// Reads one shard (the `index`th of the run's) until `stop` fires or the shard closes.
pub async fn read_shard(
    ctx: ReaderContext,
    index: usize,
    cursor: Cursor,
    slot: Slot,
    stop: CancellationToken,
) {
    let Cursor {
        shard_id,
        mut iterator,
    } = cursor;
    let mut last_seq: Option<String> = None;
    let mut backoff = ctx.poll_interval;
    let mut due = Instant::now();
    while !stop.is_cancelled() {
        let permit = tokio::select! {
            p = ctx.reads.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = stop.cancelled() => break,
        };
        let called = Instant::now();
        {
            let mut lag = ctx.tips.poll_lag.lock().unwrap_or_else(|e| e.into_inner());
            lag.record(called.saturating_duration_since(due));
        }
        let call = ctx
            .client
            .get_records()
            .shard_iterator(&iterator)
            .limit(ctx.max_records)
            .send();
        // a stalled connection must not keep the run from ending
        let result = tokio::select! {
            r = tokio::time::timeout(CALL_TIMEOUT, call) => match r {
                Ok(r) => r.map_err(|e| {
                    (e.code().unwrap_or("RequestError").to_string(), Problem::of_error(&e))
                }),
                Err(_) => Err(("Timeout".to_string(), Some(Problem::TimedOut))),
            },
            _ = stop.cancelled() => break,
        };
        drop(permit);
        let now = Instant::now();
        let reads = |b: &mut crate::metrics::interval::Buckets| {
            let p = ctx.verifier_phase(now);
            b.phase(p).read(ctx.verifier.consumer()).counters.get_calls += 1;
        };
        let wait = match result {
            Ok(out) => {
                {
                    let mut buckets = slot.lock();
                    reads(&mut buckets);
                    if let Some(ms) = out.millis_behind_latest() {
                        let p = ctx.verifier_phase(now);
                        buckets.phase(p).read(ctx.verifier.consumer()).behind(ms);
                    }
                    let received = out.records().iter().map(received);
                    ctx.verifier.observe(received, now, &mut buckets);
                }
                if let Some(last) = out.records().last() {
                    last_seq = Some(last.sequence_number().to_string());
                }
                backoff = ctx.poll_interval;
                if out.records().is_empty() && out.millis_behind_latest().unwrap_or(0) == 0 {
                    ctx.tips.reached(index, called);
                }
                match out.next_shard_iterator() {
                    Some(next) => iterator = next.to_string(),
                    None => {
                        tracing::info!(shard = %shard_id, "shard closed; its reader stops");
                        ctx.tips.closed(index);
                        return;
                    }
                }
                drifted(ctx.poll_interval, rand::random::<f64>())
            }
            Err((code, problem)) => {
                {
                    let mut buckets = slot.lock();
                    reads(&mut buckets);
                    if code == "ProvisionedThroughputExceededException" {
                        let p = ctx.verifier_phase(now);
                        buckets
                            .phase(p)
                            .read(ctx.verifier.consumer())
                            .counters
                            .get_throttled += 1;
                    }
                }
                if code == "ExpiredIteratorException" {
                    match renew(&ctx, &shard_id, last_seq.as_deref()).await {
                        Some(it) => iterator = it,
                        None => {
                            tracing::warn!(shard = %shard_id, "could not renew an expired iterator")
                        }
                    }
                } else {
                    if let Some(problem) = problem {
                        ctx.incidents.note(problem, "GetRecords", 1);
                    }
                    tracing::debug!(shard = %shard_id, code = %code, "GetRecords failed; backing off");
                }
                if code == "ProvisionedThroughputExceededException" {
                    // the shard's calls are shared with the other readers of the stream: try
                    // again after one poll interval and a random part of another, so that the
                    // readers take turns instead of one backing off ever longer and starving
                    // (a throttle is not a fault of the endpoint)
                    ctx.poll_interval.mul_f64(1.0 + rand::random::<f64>())
                } else {
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    backoff
                }
            }
        };
        due = called + wait;
        tokio::select! {
            _ = tokio::time::sleep_until(due.into()) => {}
            _ = stop.cancelled() => {}
        }
    }
}

/// The wait after a successful call: the poll interval, drifted by up to 10% either way
/// (`unit` in 0..1). Real pollers drift (their network and their own work); a perfectly regular
/// one polls in step with the shard's call allowance, which refills one call every 200 ms, so
/// whichever poller wins a call keeps winning and the others sharing the shard starve for
/// seconds (five pollers' e2e p99 reached 29 s that way).
fn drifted(interval: Duration, unit: f64) -> Duration {
    interval.mul_f64(0.9 + 0.2 * unit.clamp(0.0, 1.0))
}

impl ReaderContext {
    fn verifier_phase(&self, now: Instant) -> usize {
        self.verifier
            .phase_at(now.saturating_duration_since(self.start))
    }
}

/// A record read (by GetRecords or in a SubscribeToShard event), as the verifier takes it.
pub(crate) fn received(r: &aws_sdk_kinesis::types::Record) -> Received<'_> {
    Received {
        data: r.data().as_ref(),
        arrival_unix_ms: r
            .approximate_arrival_timestamp()
            .and_then(|t| t.to_millis().ok()),
    }
}

/// A fresh iterator after the last record read (or at the latest position if none was read).
async fn renew(ctx: &ReaderContext, shard_id: &str, last_seq: Option<&str>) -> Option<String> {
    let req = ctx
        .client
        .get_shard_iterator()
        .stream_name(&ctx.stream)
        .shard_id(shard_id);
    let req = match last_seq {
        Some(seq) => req
            .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
            .starting_sequence_number(seq),
        None => req.shard_iterator_type(ShardIteratorType::Latest),
    };
    tokio::time::timeout(CALL_TIMEOUT, req.send())
        .await
        .ok()?
        .ok()?
        .shard_iterator()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::drifted;
    use std::time::Duration;

    #[test]
    fn a_poll_drifts_by_at_most_a_tenth_of_its_interval() {
        let ms = Duration::from_millis;
        assert_eq!(drifted(ms(200), 0.0), ms(180));
        assert_eq!(drifted(ms(200), 0.5), ms(200));
        assert_eq!(drifted(ms(200), 1.0), ms(220));
        assert_eq!(drifted(ms(200), 7.0), ms(220));
    }
}
