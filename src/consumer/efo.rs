//! The enhanced fan-out (EFO) consumer's mechanics: register a consumer, subscribe to every
//! shard, hand each event's records to the [`Verifier`], renew each subscription when it ends,
//! follow closed shards to their children, deregister at the end.
//!
//! ../shared/spec/KINESIS.md, "Enhanced fan-out (EFO)": RegisterStreamConsumer, wait for
//! ACTIVE, then SubscribeToShard per shard; events come over HTTP/2 for up to 5 minutes, then
//! the subscription is renewed AFTER_SEQUENCE_NUMBER its last ContinuationSequenceNumber (so
//! nothing is read twice or skipped); one call per second per shard, ResourceInUseException
//! within 5 s of the previous one.
//!
//! How a role uses it:
//! - prepare: [`register`] (named `kbench-<run id>-<consumer name>`), then [`subscribe_all`]
//!   before the first record is sent; keep the [`Registered`].
//! - start: [`spawn`] the shard tasks with the [`Opened`] subscriptions.
//! - stop (end, Ctrl-C, error alike): cancel the token, await the task, then
//!   [`Registered::deregister`]. [`EfoStats`] has the counts for the summary.
//!
//! Control-plane calls go through the run's client; SubscribeToShard through
//! [`crate::endpoint::client::efo_client`], which speaks HTTP/2 on `http://` endpoints too.
//! Every call has a timeout: an endpoint that does not answer (one that speaks only HTTP/1.1,
//! see docs/efo.md) is an error that names it, not a hang.

mod lineage;
mod register;
mod shard;

pub use lineage::Child;
pub use register::{ACTIVE_WITHIN, Registered, register};
pub use shard::Ended;
use shard::subscribe_shard;

use crate::consumer::reader::Tips;
use crate::consumer::verify::Verifier;
use crate::endpoint::incidents::Incidents;
use crate::metrics::interval::Slot;
use crate::scenario::Start;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::operation::subscribe_to_shard::SubscribeToShardOutput;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Longest any EFO call may take before it is abandoned (SubscribeToShard: until its initial
/// response).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// SubscribeToShard calls in flight at once while subscribing every shard: 10,000 shards one
/// after the other would keep the run from starting for minutes.
const SUBSCRIBE_IN_FLIGHT: usize = 32;

/// The clients of an EFO consumer and where they go.
#[derive(Clone, Debug)]
pub struct Efo {
    /// RegisterStreamConsumer, DescribeStreamConsumer, DeregisterStreamConsumer: the run's
    /// client (any HTTP version will do, so an endpoint without EFO says so in its words).
    pub control: Client,
    /// SubscribeToShard: [`crate::endpoint::client::efo_client`]'s (HTTP/2).
    pub subscribe: Client,
    /// The endpoint in words, for messages: its URL, or "AWS (region)".
    pub endpoint: String,
    /// Longest any call may take: [`CALL_TIMEOUT`] unless a test wants less.
    pub call_timeout: Duration,
}

impl Efo {
    pub fn new(control: Client, subscribe: Client, endpoint: impl Into<String>) -> Efo {
        Efo {
            control,
            subscribe,
            endpoint: endpoint.into(),
            call_timeout: CALL_TIMEOUT,
        }
    }
}

/// What went wrong with the EFO consumer, in words that say what to do.
#[derive(Debug, thiserror::Error)]
pub enum EfoError {
    #[error(
        "the endpoint at {endpoint} does not support enhanced fan-out (RegisterStreamConsumer: {detail}); use kind = \"polling\""
    )]
    Unsupported { endpoint: String, detail: String },
    #[error(
        "a consumer named `{name}` is already registered on {stream_arn}, not by this run (a run with the same run id, or one that ended without deregistering it): kbench neither reads with nor deregisters a consumer it did not register; deregister it (aws kinesis deregister-stream-consumer --stream-arn {stream_arn} --consumer-name {name}) or pick another run id"
    )]
    AlreadyRegistered { name: String, stream_arn: String },
    #[error(
        "stream consumer `{name}` did not become ACTIVE within {waited_s} s (it was {state}); it has been deregistered if kbench registered it"
    )]
    NotActive {
        name: String,
        state: String,
        waited_s: u64,
    },
    #[error("{operation} for stream consumer `{name}` failed: {detail}")]
    Call {
        operation: &'static str,
        name: String,
        detail: String,
    },
    #[error("SubscribeToShard for {shard_id} failed: {detail}")]
    Subscribe { shard_id: String, detail: String },
}

/// The stream's ARN, which RegisterStreamConsumer takes.
pub async fn stream_arn(efo: &Efo, stream: &str) -> anyhow::Result<String> {
    let sent = efo
        .control
        .describe_stream_summary()
        .stream_name(stream)
        .send();
    let out = tokio::time::timeout(efo.call_timeout, sent)
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "DescribeStreamSummary of stream `{stream}` on {}: no answer within {} s",
                efo.endpoint,
                efo.call_timeout.as_secs_f64()
            )
        })?
        .map_err(|e| {
            anyhow::anyhow!(
                "DescribeStreamSummary of stream `{stream}` failed: {}",
                crate::endpoint::stream::message(&e)
            )
        })?;
    out.stream_description_summary()
        .map(|d| d.stream_arn().to_string())
        .ok_or_else(|| {
            anyhow::anyhow!("DescribeStreamSummary of stream `{stream}` has no StreamARN")
        })
}

/// Where a subscription starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Position {
    Latest,
    TrimHorizon,
    /// AFTER_SEQUENCE_NUMBER: a renewal, after the last ContinuationSequenceNumber.
    After(String),
    /// AT_TIMESTAMP: a renewal of a LATEST subscription that ended before its first event.
    AtTimestamp(SystemTime),
}

impl From<Start> for Position {
    fn from(start: Start) -> Position {
        match start {
            Start::Latest => Position::Latest,
            Start::TrimHorizon => Position::TrimHorizon,
        }
    }
}

/// A shard's first subscription, made before the run started: its events are read once the
/// shard tasks are spawned.
#[derive(Debug)]
pub struct Opened {
    pub shard_id: String,
    pub(crate) output: SubscribeToShardOutput,
    /// Where it started, and when it was asked for (wall clock): where a renewal starts if it
    /// ends before its first event.
    pub(crate) position: Position,
    pub(crate) asked_at: SystemTime,
    /// When the call succeeded: the next one waits 5 s from it.
    pub(crate) subscribed: Instant,
}

/// Subscribes every shard of `shards` (in order) at `start`, a few at a time; returns once
/// every first SubscribeToShard has had its initial response, so that nothing written after
/// this returns is missed.
pub async fn subscribe_all(
    efo: &Efo,
    consumer_arn: &str,
    shards: &[String],
    start: Start,
) -> Result<Vec<Opened>, EfoError> {
    use futures_util::{StreamExt, TryStreamExt};
    futures_util::stream::iter(shards.iter().cloned())
        .map(|shard_id| shard::first(efo, consumer_arn, shard_id, start.into()))
        .buffered(SUBSCRIBE_IN_FLIGHT)
        .try_collect()
        .await
}

/// The EFO consumer's counts over every shard, for the summary.
#[derive(Debug, Default)]
pub struct EfoStats {
    /// Successful SubscribeToShard calls.
    pub subscriptions: AtomicU64,
    /// Successful SubscribeToShard calls after a shard's first (the 5-minute renewals, and
    /// those after a failure).
    pub renewals: AtomicU64,
    /// ResourceInUseException answers and stream errors (a call too soon after the previous
    /// one, or another subscription took the shard over).
    pub resource_in_use: AtomicU64,
    /// Other failed calls and broken subscriptions (each also noted in the run's incidents).
    pub failed_calls: AtomicU64,
    /// SubscribeToShardEvents received.
    pub events: AtomicU64,
    /// Kinesis records received in them (an aggregate counts once).
    pub records: AtomicU64,
    /// The largest MillisBehindLatest of any event.
    pub behind_max_ms: AtomicU64,
    /// Per tip entry (shard index): the MillisBehindLatest of its latest event.
    behind_last_ms: Mutex<Vec<u64>>,
}

impl EfoStats {
    fn behind(&self, entry: usize, ms: i64) {
        let ms = ms.max(0) as u64;
        self.behind_max_ms.fetch_max(ms, Ordering::Relaxed);
        let mut last = self
            .behind_last_ms
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if last.len() <= entry {
            last.resize(entry + 1, 0);
        }
        last[entry] = ms;
    }

    /// Per shard index: the MillisBehindLatest of its latest event (0 for none yet).
    pub fn behind_last_ms(&self) -> Vec<u64> {
        self.behind_last_ms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Everything the shard tasks share.
#[derive(Clone)]
pub struct ShardContext {
    /// The SubscribeToShard client, and the endpoint in words.
    pub efo: Efo,
    pub consumer_arn: String,
    pub verifier: Arc<Verifier>,
    /// The run's start (for phases).
    pub start: Instant,
    /// Told of every failed call; a gone stream stops the run.
    pub incidents: Arc<Incidents>,
    /// Per shard the run started with, in the order of `opened` (`Tips::new(opened.len(),
    /// start)`): when its reader was last at the tip.
    pub tips: Arc<Tips>,
    pub stats: Arc<EfoStats>,
    /// A metrics slot for each shard task (children included): the run's registry.
    pub slot: Arc<dyn Fn() -> Slot + Send + Sync>,
}

/// Reads every shard of `opened` (their order is the tip entries' order) until `stop`, and
/// each closed shard's children once all their parents are read; the task ends when every
/// shard task has. The role's stop hook cancels `stop` and awaits it.
pub fn spawn(ctx: ShardContext, opened: Vec<Opened>, stop: CancellationToken) -> JoinHandle<()> {
    let shards: Vec<String> = opened.iter().map(|o| o.shard_id.clone()).collect();
    let lineage = Arc::new(Mutex::new(lineage::Lineage::new(ctx.tips.clone(), &shards)));
    let ctx = Arc::new(ctx);
    tokio::spawn(async move {
        let mut tasks = tokio::task::JoinSet::new();
        for (entry, o) in opened.into_iter().enumerate() {
            let task = subscribe_shard(
                ctx.clone(),
                lineage.clone(),
                entry,
                shard::First::Opened(Box::new(o)),
                stop.clone(),
            );
            tasks.spawn(task);
        }
        while let Some(done) = tasks.join_next().await {
            let Ok(Ended::Closed {
                entry,
                shard_id,
                children,
            }) = done
            else {
                continue;
            };
            let start = lineage
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .closed(entry, &shard_id, &children);
            for child in start {
                tracing::info!(parent = %shard_id, shard = %child, "reading a child shard");
                let first = shard::First::Call(child, Position::TrimHorizon);
                tasks.spawn(subscribe_shard(
                    ctx.clone(),
                    lineage.clone(),
                    entry,
                    first,
                    stop.clone(),
                ));
            }
        }
    })
}
