//! One shard's subscription, renewed until the run stops or the shard closes.
//!
//! Each event's records go to the [`Verifier`](crate::consumer::verify::Verifier) (the task's metrics slot locked per event);
//! its ContinuationSequenceNumber is where the next subscription starts
//! (AFTER_SEQUENCE_NUMBER), so a renewal neither skips nor repeats a record. An event with
//! MillisBehindLatest 0 says the consumer was at the shard's tip when it was sent; it is
//! counted from when the task began waiting for it, as the polling reader counts from the start
//! of its call. Calls are paced to one per second per shard; ResourceInUseException waits 5 s,
//! other failures back off up to 5 s and are noted in the run's incidents.

use super::lineage::{Child, Lineage};
use super::{Efo, EfoError, Opened, Position, ShardContext};
use crate::endpoint::incidents::{Problem, transport_detail};
use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::operation::subscribe_to_shard::SubscribeToShardOutput;
use aws_sdk_kinesis::types::{ShardIteratorType, StartingPosition, SubscribeToShardEventStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio_util::sync::CancellationToken;

/// At most one SubscribeToShard call per second per shard (the service's limit).
const CALL_EVERY: Duration = Duration::from_secs(1);

/// The wait after ResourceInUseException: a call within 5 s of the previous successful one
/// gets it.
const IN_USE_WAIT: Duration = Duration::from_secs(5);

/// The longest backoff after other failures: within the incidents' episode gap, so one outage
/// is one episode.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A subscription silent this long is taken for stalled and renewed from its continuation
/// (Kinesis sends events, empty ones too, every few seconds).
const SILENCE: Duration = Duration::from_secs(30);

/// How far before its first call a LATEST subscription that ended before its first event is
/// renewed AT_TIMESTAMP: the endpoint's clock may be behind ours. What this reads from before
/// the run is not this run's (counted as foreign), and none of the run's records is missed.
const CLOCK_MARGIN: Duration = Duration::from_secs(5);

/// How a shard task ended.
#[derive(Debug)]
pub enum Ended {
    /// The run's stop token fired.
    Stopped,
    /// The shard was read to its end; its last event named these children.
    Closed {
        entry: usize,
        shard_id: String,
        children: Vec<Child>,
    },
    /// Nothing more can be read: the consumer or the stream is gone (in the incidents).
    Failed,
}

/// How a shard task begins.
pub(super) enum First {
    /// With the subscription [`super::subscribe_all`] made.
    Opened(Box<Opened>),
    /// By subscribing this shard at this position (a child shard).
    Call(String, Position),
}

/// The first subscription of a shard, before the run starts: ResourceInUseException is waited
/// out a few times, anything else is an error that says what it is.
pub(super) async fn first(
    efo: &Efo,
    consumer_arn: &str,
    shard_id: String,
    position: Position,
) -> Result<Opened, EfoError> {
    let mut tries = 0;
    loop {
        let asked_at = SystemTime::now();
        match call(efo, consumer_arn, &shard_id, &position).await {
            Ok(output) => {
                return Ok(Opened {
                    shard_id,
                    output,
                    position,
                    asked_at,
                    subscribed: Instant::now(),
                });
            }
            Err(Failure::InUse) if tries < 3 => {
                tries += 1;
                tokio::time::sleep(IN_USE_WAIT).await;
            }
            Err(f) => {
                let f = explained(efo, f).await;
                return Err(EfoError::Subscribe {
                    detail: f.words(efo),
                    shard_id,
                });
            }
        }
    }
}

/// How long [`explained`] waits for the endpoint's answer to an HTTP/2 connection preface.
const PROBE_WITHIN: Duration = Duration::from_secs(2);

/// `f`, a transport failure on a plain `http://` endpoint, with what the endpoint answers to
/// the start of an HTTP/2 connection: hyper says only "channel closed" when the endpoint
/// answered in HTTP/1.1 (docs/efo.md).
async fn explained(efo: &Efo, f: Failure) -> Failure {
    use crate::endpoint::h2c::{Answer, probe};
    let transport = matches!(
        &f,
        Failure::NotHttp2(_) | Failure::Other(Problem::Unreachable(_), _)
    );
    if !transport || !crate::endpoint::h2c::is_plain_http(&efo.endpoint) {
        return f;
    }
    let at_preface = "to the HTTP/2 connection preface";
    match probe(&efo.endpoint, PROBE_WITHIN).await {
        Answer::Http1(line) => Failure::NotHttp2(format!("it answered `{line}` {at_preface}")),
        Answer::Other(bytes) => Failure::NotHttp2(format!("it answered `{bytes}` {at_preface}")),
        Answer::Closed => Failure::NotHttp2(format!("it closed the connection {at_preface}")),
        Answer::Silent => Failure::NotHttp2(format!("no answer {at_preface}")),
        Answer::Http2 | Answer::Unreachable(_) => f,
    }
}

/// Why a SubscribeToShard call or its subscription failed.
#[derive(Debug, PartialEq)]
enum Failure {
    /// ResourceInUseException.
    InUse,
    /// No answer within the call timeout.
    NoAnswer,
    /// The request never got an HTTP/2 answer: the endpoint does not speak it (h2c).
    NotHttp2(String),
    /// ResourceNotFoundException for the consumer or the shard (not the stream): nothing more
    /// can be read from it.
    Gone(String),
    /// Anything else, as the run's incidents see it.
    Other(Problem, String),
}

impl Failure {
    fn of<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug + 'static>(
        err: &SdkError<E, R>,
    ) -> Failure {
        if let Some(code) = err.code() {
            if code == "ResourceInUseException" {
                return Failure::InUse;
            }
            let words = crate::endpoint::stream::message(err);
            // not found: the stream (fatal for the run), or only this consumer or shard
            if code == crate::endpoint::incidents::NOT_FOUND {
                let lower = words.to_ascii_lowercase();
                if lower.contains("consumer") || lower.contains("shard") {
                    return Failure::Gone(words);
                }
            }
            return match Problem::of_code(code) {
                Some(p) => Failure::Other(p, words),
                // throttling: not an incident elsewhere, but here a failed call all the same
                None => Failure::Other(Problem::Error(code.to_string()), words),
            };
        }
        match err {
            SdkError::TimeoutError(_) => Failure::NoAnswer,
            SdkError::DispatchFailure(d) if !d.is_io() && !d.is_timeout() && !d.is_user() => {
                Failure::NotHttp2(transport_detail(err))
            }
            _ => {
                let detail = transport_detail(err);
                Failure::Other(Problem::Unreachable(detail.clone()), detail)
            }
        }
    }

    /// The failure in words, for a run that cannot start.
    fn words(&self, efo: &Efo) -> String {
        let at = &efo.endpoint;
        let plain = crate::endpoint::h2c::is_plain_http(at);
        match self {
            Failure::InUse => "ResourceInUseException: the shard is already subscribed by this consumer (another kbench with the same run id?)".into(),
            Failure::NoAnswer if plain => format!(
                "no answer from {at} within {} s; on an http:// endpoint SubscribeToShard goes over HTTP/2 without TLS (h2c), and an endpoint that speaks only HTTP/1.1 may never answer it: use kind = \"polling\" there",
                efo.call_timeout.as_secs_f64()
            ),
            Failure::NoAnswer => format!(
                "no answer from {at} within {} s",
                efo.call_timeout.as_secs_f64()
            ),
            Failure::NotHttp2(detail) => format!(
                "the endpoint at {at} does not speak HTTP/2 without TLS (h2c), which SubscribeToShard needs on an http:// endpoint ({detail}); use kind = \"polling\" with an endpoint that speaks only HTTP/1.1"
            ),
            Failure::Gone(detail) | Failure::Other(_, detail) => format!("{detail} (endpoint {at})"),
        }
    }
}

/// One SubscribeToShard call, until its initial response.
async fn call(
    efo: &Efo,
    consumer_arn: &str,
    shard_id: &str,
    position: &Position,
) -> Result<SubscribeToShardOutput, Failure> {
    let sent = efo
        .subscribe
        .subscribe_to_shard()
        .consumer_arn(consumer_arn)
        .shard_id(shard_id)
        .set_starting_position(starting_position(position))
        .send();
    match tokio::time::timeout(efo.call_timeout, sent).await {
        Err(_) => Err(Failure::NoAnswer),
        Ok(r) => r.map_err(|e| Failure::of(&e)),
    }
}

/// The StartingPosition for `p` (its type is always set, the one required field; were it not,
/// the SDK would refuse the request and the call would fail as any other).
fn starting_position(p: &Position) -> Option<StartingPosition> {
    let b = StartingPosition::builder();
    let b = match p {
        Position::Latest => b.r#type(ShardIteratorType::Latest),
        Position::TrimHorizon => b.r#type(ShardIteratorType::TrimHorizon),
        Position::After(seq) => b
            .r#type(ShardIteratorType::AfterSequenceNumber)
            .sequence_number(seq),
        Position::AtTimestamp(t) => b
            .r#type(ShardIteratorType::AtTimestamp)
            .timestamp(aws_smithy_types::DateTime::from(*t)),
    };
    b.build().ok()
}

/// Where the next subscription of a shard starts: after the last continuation if any event
/// came; else where the first one did, a LATEST one at the time it was asked for.
fn renewal(continuation: Option<&str>, first: &Position, first_asked: SystemTime) -> Position {
    match continuation {
        Some(seq) => Position::After(seq.to_string()),
        None => match first {
            Position::Latest => {
                Position::AtTimestamp(first_asked.checked_sub(CLOCK_MARGIN).unwrap_or(first_asked))
            }
            other => other.clone(),
        },
    }
}

/// How reading one subscription ended.
enum Read {
    /// The subscription's time is over: subscribe again.
    Renew,
    /// The subscription broke.
    Broke(Failure),
    Done(Ended),
}

/// When a shard's next SubscribeToShard call may go out.
#[derive(Debug)]
struct Pace {
    /// One second after the last call, or later after a failure.
    next: Instant,
    /// The last successful call: the next one waits 5 s from it, or it would get
    /// ResourceInUseException.
    last_ok: Option<Instant>,
    backoff: Duration,
}

/// What to do after a failure.
#[derive(Debug, PartialEq)]
enum Then {
    Wait(Duration),
    BackOff,
    /// Nothing more can be read (the stream or the consumer is gone).
    Stop,
}

impl Pace {
    fn new(now: Instant, last_ok: Option<Instant>) -> Pace {
        Pace {
            next: now,
            last_ok,
            backoff: CALL_EVERY,
        }
    }

    fn at(&self) -> Instant {
        self.last_ok
            .map_or(self.next, |ok| self.next.max(ok + IN_USE_WAIT))
    }

    fn called(&mut self, at: Instant) {
        self.next = at + CALL_EVERY;
    }

    fn succeeded(&mut self, at: Instant) {
        self.last_ok = Some(at);
        self.backoff = CALL_EVERY;
    }

    fn failed(&mut self, now: Instant, then: &Then) {
        let wait = match then {
            Then::Wait(w) => *w,
            _ => {
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                self.backoff
            }
        };
        self.next = self.next.max(now + wait);
    }
}

/// Reads shard `first` under tip entry `entry` until `stop` fires or the shard closes.
pub(super) async fn subscribe_shard(
    ctx: Arc<ShardContext>,
    lineage: Arc<Mutex<Lineage>>,
    entry: usize,
    first: First,
    stop: CancellationToken,
) -> Ended {
    let slot = (ctx.slot)();
    let (shard_id, mut output, start_at, first_asked, last_ok) = match first {
        First::Opened(o) => (
            o.shard_id,
            Some(o.output),
            o.position,
            o.asked_at,
            Some(o.subscribed),
        ),
        First::Call(shard_id, p) => (shard_id, None, p, SystemTime::now(), None),
    };
    let stats = &ctx.stats;
    let mut continuation: Option<String> = None;
    let mut pace = Pace::new(Instant::now(), last_ok);
    if last_ok.is_some() {
        add(&stats.subscriptions, 1);
    }
    loop {
        let events = match output.take() {
            Some(o) => o,
            None => {
                tokio::select! {
                    _ = tokio::time::sleep_until(pace.at().into()) => {}
                    _ = stop.cancelled() => return Ended::Stopped,
                }
                let position = renewal(continuation.as_deref(), &start_at, first_asked);
                pace.called(Instant::now());
                let result = tokio::select! {
                    r = call(&ctx.efo, &ctx.consumer_arn, &shard_id, &position) => r,
                    _ = stop.cancelled() => return Ended::Stopped,
                };
                match result {
                    Ok(o) => {
                        add(&stats.subscriptions, 1);
                        if pace.last_ok.is_some() {
                            add(&stats.renewals, 1);
                        }
                        pace.succeeded(Instant::now());
                        o
                    }
                    Err(f) => {
                        let then = failed(&ctx, &shard_id, f);
                        if then == Then::Stop {
                            return Ended::Failed;
                        }
                        pace.failed(Instant::now(), &then);
                        continue;
                    }
                }
            }
        };
        let read = read(
            &ctx,
            &lineage,
            entry,
            &shard_id,
            events,
            &slot,
            &mut continuation,
            &stop,
        );
        match read.await {
            // the next call waits for the pace only
            Read::Renew => {}
            Read::Broke(f) => {
                let then = failed(&ctx, &shard_id, f);
                if then == Then::Stop {
                    return Ended::Failed;
                }
                pace.failed(Instant::now(), &then);
            }
            Read::Done(Ended::Closed { children, .. }) => {
                tracing::info!(shard = %shard_id, children = children.len(), "shard closed; its subscription ends");
                return Ended::Closed {
                    entry,
                    shard_id,
                    children,
                };
            }
            Read::Done(ended) => return ended,
        }
    }
}

fn add(counter: &std::sync::atomic::AtomicU64, n: u64) {
    counter.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
}

/// Counts and notes a failed call or broken subscription (ResourceInUseException is counted,
/// not noted: it is the 5-second rule, as throttling is a rate); says what to do next.
fn failed(ctx: &ShardContext, shard_id: &str, f: Failure) -> Then {
    let stats = &ctx.stats;
    let problem = match &f {
        Failure::InUse => {
            add(&stats.resource_in_use, 1);
            return Then::Wait(IN_USE_WAIT);
        }
        Failure::NoAnswer => Problem::TimedOut,
        Failure::NotHttp2(d) => Problem::Unreachable(d.clone()),
        Failure::Other(p, _) => p.clone(),
        Failure::Gone(why) => Problem::Error(why.clone()),
    };
    add(&stats.failed_calls, 1);
    tracing::debug!(shard = %shard_id, why = %f.words(&ctx.efo), "SubscribeToShard failed");
    let gone = matches!(f, Failure::Gone(_)) || problem == Problem::StreamGone;
    ctx.incidents.note(problem, "SubscribeToShard", 1);
    if gone { Then::Stop } else { Then::BackOff }
}

/// Reads one subscription's events until it ends, the shard closes or `stop` fires.
#[allow(clippy::too_many_arguments)]
async fn read(
    ctx: &ShardContext,
    lineage: &Mutex<Lineage>,
    entry: usize,
    shard_id: &str,
    mut output: SubscribeToShardOutput,
    slot: &crate::metrics::interval::Slot,
    continuation: &mut Option<String>,
    stop: &CancellationToken,
) -> Read {
    let stats = &ctx.stats;
    let mut waiting_since = Instant::now();
    loop {
        let next = tokio::select! {
            r = tokio::time::timeout(SILENCE, output.event_stream.recv()) => r,
            _ = stop.cancelled() => return Read::Done(Ended::Stopped),
        };
        let event = match next {
            Err(_) => return Read::Broke(Failure::NoAnswer),
            // the subscription's five minutes are over
            Ok(Ok(None)) => return Read::Renew,
            Ok(Ok(Some(SubscribeToShardEventStream::SubscribeToShardEvent(ev)))) => ev,
            Ok(Ok(Some(_))) => continue,
            Ok(Err(e)) => return Read::Broke(Failure::of(&e)),
        };
        let now = Instant::now();
        {
            let mut buckets = slot.lock();
            let received = event
                .records()
                .iter()
                .map(crate::consumer::reader::received);
            ctx.verifier.observe(received, now, &mut buckets);
            // an event is this consumer's read of the interval, as a GetRecords call is
            let phase = ctx
                .verifier
                .phase_at(now.saturating_duration_since(ctx.start));
            let reads = buckets.phase(phase).read(ctx.verifier.consumer());
            reads.counters.get_calls += 1;
            reads.behind(event.millis_behind_latest());
        }
        add(&stats.events, 1);
        add(&stats.records, event.records().len() as u64);
        stats.behind(entry, event.millis_behind_latest());
        if !event.continuation_sequence_number().is_empty() {
            *continuation = Some(event.continuation_sequence_number().to_string());
        }
        if event.millis_behind_latest() == 0 {
            lineage.lock().unwrap_or_else(|e| e.into_inner()).reached(
                entry,
                shard_id,
                waiting_since,
            );
        }
        if !event.child_shards().is_empty() {
            let children = event
                .child_shards()
                .iter()
                .map(|c| Child {
                    shard_id: c.shard_id().to_string(),
                    parents: c.parent_shards().to_vec(),
                })
                .collect();
            return Read::Done(Ended::Closed {
                entry,
                shard_id: shard_id.to_string(),
                children,
            });
        }
        waiting_since = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_paced_a_second_apart_backed_off_and_five_seconds_after_a_success() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut pace = Pace::new(t0, None);
        assert_eq!(pace.at(), t0);
        pace.called(t0);
        pace.failed(t0, &Then::BackOff);
        assert_eq!(pace.at(), t0 + s(2));
        pace.called(t0 + s(2));
        pace.failed(t0 + s(2), &Then::BackOff);
        assert_eq!(pace.at(), t0 + s(6));
        for _ in 0..5 {
            pace.failed(t0 + s(6), &Then::BackOff);
        }
        assert_eq!(pace.at(), t0 + s(11), "capped at {MAX_BACKOFF:?}");
        // a success resets the backoff; a subscription that breaks at once waits out the 5 s
        pace.called(t0 + s(20));
        pace.succeeded(t0 + s(20));
        assert_eq!(pace.at(), t0 + s(25));
        pace.failed(t0 + s(21), &Then::BackOff);
        assert_eq!(pace.at(), t0 + s(25));
        // subscribed before the run: renewed at once after its five minutes
        let mut pace = Pace::new(t0 + s(1), Some(t0));
        assert_eq!(pace.at(), t0 + s(5));
        assert!(pace.at() < t0 + s(300));
        pace.called(t0 + s(300));
        pace.failed(t0 + s(300), &Then::Wait(IN_USE_WAIT));
        assert_eq!(pace.at(), t0 + s(305));
    }

    #[test]
    fn renewals_start_after_the_last_continuation() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        assert_eq!(
            renewal(Some("42"), &Position::Latest, t),
            Position::After("42".into())
        );
        assert_eq!(
            renewal(Some("42"), &Position::TrimHorizon, t),
            Position::After("42".into())
        );
        // no event yet: where the first one did, a LATEST one at its time less the margin
        assert_eq!(
            renewal(None, &Position::TrimHorizon, t),
            Position::TrimHorizon
        );
        assert_eq!(
            renewal(None, &Position::Latest, t),
            Position::AtTimestamp(t - CLOCK_MARGIN)
        );
    }

    #[test]
    fn starting_positions_carry_their_sequence_number_and_time() {
        let p = starting_position(&Position::After("7".into())).expect("type set");
        assert_eq!(p.r#type(), &ShardIteratorType::AfterSequenceNumber);
        assert_eq!(p.sequence_number(), Some("7"));
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_500);
        let p = starting_position(&Position::AtTimestamp(t)).expect("type set");
        assert_eq!(p.r#type(), &ShardIteratorType::AtTimestamp);
        assert_eq!(p.timestamp().and_then(|t| t.to_millis().ok()), Some(1_500));
    }
}
