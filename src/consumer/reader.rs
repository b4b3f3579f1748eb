//! Polling consumer: one GetRecords loop per shard, paced to the per-shard call limit.
//!
//! Iterators are taken with [`open`] before the first record is sent, so nothing is missed.
//! A throttled or failed call backs off and tries again; an expired iterator is renewed after
//! the last sequence number read; a closed shard ends its loop.

use super::verify::{Received, Verifier};
use crate::endpoint::stream::{NOT_FOUND, Vanished};
use crate::metrics::interval::Slot;
use crate::scenario::Start;
use crate::scenario::limits::GET_RECORDS_MAX_RECORDS;
use anyhow::Context;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::types::ShardIteratorType;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Longest a GetRecords or GetShardIterator call may take before it is abandoned and retried.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A shard and where reading it starts.
pub struct Cursor {
    pub shard_id: String,
    pub iterator: String,
}

/// Takes an iterator for every shard.
pub async fn open(
    client: &Client,
    stream: &str,
    shards: &[String],
    start: Start,
) -> anyhow::Result<Vec<Cursor>> {
    let kind = match start {
        Start::Latest => ShardIteratorType::Latest,
        Start::TrimHorizon => ShardIteratorType::TrimHorizon,
    };
    let mut cursors = Vec::new();
    for shard_id in shards {
        let out = client
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard_id)
            .shard_iterator_type(kind.clone())
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(crate::endpoint::stream::message(&e)))
            .with_context(|| {
                format!("GetShardIterator for {shard_id} of stream `{stream}` failed")
            })?;
        let iterator = out
            .shard_iterator()
            .with_context(|| format!("GetShardIterator for {shard_id} returned no iterator"))?
            .to_string();
        cursors.push(Cursor {
            shard_id: shard_id.clone(),
            iterator,
        });
    }
    Ok(cursors)
}

/// Everything a shard reader needs.
#[derive(Clone)]
pub struct ReaderContext {
    pub client: Client,
    pub stream: String,
    pub verifier: Arc<Verifier>,
    pub poll_interval: Duration,
    pub start: Instant,
    /// Told when GetRecords finds the stream gone, which stops the run.
    pub vanished: Arc<Vanished>,
}

/// Reads one shard until `stop` fires or the shard closes.
pub async fn read_shard(ctx: ReaderContext, cursor: Cursor, slot: Slot, stop: CancellationToken) {
    let Cursor {
        shard_id,
        mut iterator,
    } = cursor;
    let mut last_seq: Option<String> = None;
    let mut backoff = ctx.poll_interval;
    while !stop.is_cancelled() {
        let called = Instant::now();
        let call = ctx
            .client
            .get_records()
            .shard_iterator(&iterator)
            .limit(GET_RECORDS_MAX_RECORDS)
            .send();
        // a stalled connection must not keep the run from ending
        let result = tokio::select! {
            r = tokio::time::timeout(CALL_TIMEOUT, call) => match r {
                Ok(r) => r.map_err(|e| e.code().unwrap_or("RequestError").to_string()),
                Err(_) => Err("Timeout".to_string()),
            },
            _ = stop.cancelled() => break,
        };
        let now = Instant::now();
        let phase = |b: &mut crate::metrics::interval::Buckets| {
            let p = ctx.verifier_phase(now);
            b.phase(p).counters.get_calls += 1;
        };
        let wait = match result {
            Ok(out) => {
                {
                    let mut buckets = slot.lock();
                    phase(&mut buckets);
                    let received = out.records().iter().map(|r| Received {
                        data: r.data().as_ref(),
                        arrival_unix_ms: r
                            .approximate_arrival_timestamp()
                            .and_then(|t| t.to_millis().ok()),
                    });
                    ctx.verifier.observe(received, now, &mut buckets);
                }
                if let Some(last) = out.records().last() {
                    last_seq = Some(last.sequence_number().to_string());
                }
                backoff = ctx.poll_interval;
                match out.next_shard_iterator() {
                    Some(next) => iterator = next.to_string(),
                    None => {
                        tracing::info!(shard = %shard_id, "shard closed; its reader stops");
                        return;
                    }
                }
                ctx.poll_interval
            }
            Err(code) => {
                {
                    let mut buckets = slot.lock();
                    phase(&mut buckets);
                    if code == "ProvisionedThroughputExceededException" {
                        let p = ctx.verifier_phase(now);
                        buckets.phase(p).counters.get_throttled += 1;
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
                    if code == NOT_FOUND {
                        ctx.vanished.report("GetRecords");
                    }
                    tracing::debug!(shard = %shard_id, code = %code, "GetRecords failed; backing off");
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                backoff
            }
        };
        let next_call = called + wait;
        tokio::select! {
            _ = tokio::time::sleep_until(next_call.into()) => {}
            _ = stop.cancelled() => {}
        }
    }
}

impl ReaderContext {
    fn verifier_phase(&self, now: Instant) -> usize {
        self.verifier
            .phase_at(now.saturating_duration_since(self.start))
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
