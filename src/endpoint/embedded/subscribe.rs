//! SubscribeToShard (enhanced fan-out) served as Kinesis serves it: records pushed to the
//! subscriber as they are written, from the starting position asked for, with the distance from
//! the tip, at 2 MB/s per consumer per shard, for a session of `efo_session` (5 minutes).
//!
//! Real Kinesis (../shared/spec/KINESIS.md, "Enhanced fan-out (EFO)"; API_SubscribeToShard):
//! an HTTP/2 event stream of `SubscribeToShardEvent`s for up to 5 minutes, each with the records
//! and a `ContinuationSequenceNumber` to renew from (AFTER_SEQUENCE_NUMBER); a second call for
//! the same consumer and shard within 5 s of a successful one gets ResourceInUseException; at the
//! end of a closed shard the last event names its `ChildShards`.
//!
//! Why ferrokinesis 0.7 lacks it: its SubscribeToShard looks at the store every 200 ms (so its
//! delivery latency is its poll), always says MillisBehindLatest 0, and its request validation
//! drops `StartingPosition.SequenceNumber` and `Timestamp`, so every AT/AFTER_SEQUENCE_NUMBER or
//! AT_TIMESTAMP subscription (every renewal) starts again at TRIM_HORIZON: five renewals
//! delivered 688 records for 150 written.
//!
//! How: a SubscribeToShard (JSON; a CBOR one is left to ferrokinesis) is first put to
//! ferrokinesis, whose answer is its validation (authentication, the consumer exists and is
//! ACTIVE, its stream is ACTIVE, the shard exists, the starting position's type), so every bad
//! call gets the answer it got before; the stream of events it would send is dropped unread.
//! Then the 5 s rule (`leases.rs`), then a GetShardIterator for the starting position through
//! the router below, so that AT/AFTER_SEQUENCE_NUMBER and AT_TIMESTAMP start where asked (and a
//! bad sequence number gets GetShardIterator's InvalidArgumentException). The subscription
//! (`session.rs`) then reads with GetRecords through the router below this layer (not through
//! the read limits above it: fan-out has its own budget, `pace.rs`), and PutRecord and
//! PutRecords answered 200 wake the subscriptions of their stream (`Writes`), so a record
//! reaches its subscribers milliseconds after it is written. Frames: `events.rs`.
//!
//! The pacing is off when limits are; the rest is on whatever the options say.

mod events;
mod leases;
mod pace;
mod session;

use super::EmbeddedOptions;
use super::request::{self, kinesis_error};
use super::server::Stopping;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use ferrokinesis::store::Store;
use leases::{Ended, Key, Leases};
use pace::Pacer;
use serde::Deserialize;
use session::{Session, Start};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;
use tower::ServiceExt;

/// Puts the behaviour on `router`; its own calls (GetShardIterator, GetRecords) go to `router`.
pub(super) fn layer(router: Router, store: &Store, options: &EmbeddedOptions) -> Router {
    let efo = Arc::new(Efo {
        inner: router.clone(),
        store: store.clone(),
        session: options.efo_session,
        paced: options.enforce_limits,
        leases: Mutex::new(Leases::default()),
        writes: Mutex::new(HashMap::new()),
    });
    router.layer(axum::middleware::from_fn_with_state(efo, subscribe))
}

async fn subscribe(State(efo): State<Arc<Efo>>, request: Request, next: Next) -> Response {
    match request::operation(request.headers()) {
        "SubscribeToShard" => efo.subscribe(request, next).await,
        "PutRecord" | "PutRecords" => efo.write(request, next).await,
        _ => next.run(request).await,
    }
}

/// The endpoint's fan-out: what its subscriptions share.
struct Efo {
    /// The router this layer wraps: ferrokinesis and the layers below.
    inner: Router,
    /// ferrokinesis's store: the shards' write counters and lineage.
    store: Store,
    /// How long a subscription lasts.
    session: Duration,
    /// Whether subscriptions are paced at the fan-out read limit.
    paced: bool,
    /// The subscriptions of the last few seconds, for the 5 s rule, with their pacers.
    leases: Mutex<Leases<Arc<Pacer>>>,
    /// For each stream with a subscription, what wakes its subscriptions when it is written to.
    writes: Mutex<HashMap<String, watch::Sender<()>>>,
}

/// A call to the router below that failed, as Kinesis said it.
struct Failure {
    status: StatusCode,
    /// The error code (`__type`, or `x-amzn-errortype`).
    code: String,
    message: String,
}

impl Failure {
    /// The router below answered what this layer cannot read: an InternalFailure.
    fn internal(message: String) -> Failure {
        Failure {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "InternalFailure".into(),
            message,
        }
    }
}

/// A SubscribeToShard request's body (what ferrokinesis's validation keeps, and the starting
/// position's sequence number and timestamp, which it drops).
#[derive(Deserialize)]
struct Input {
    #[serde(rename = "ConsumerARN")]
    consumer_arn: String,
    #[serde(rename = "ShardId")]
    shard_id: String,
    #[serde(rename = "StartingPosition")]
    starting_position: StartingPosition,
}

#[derive(Deserialize)]
struct StartingPosition {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "SequenceNumber", default)]
    sequence_number: Option<String>,
    /// Epoch seconds, passed on to GetShardIterator as sent.
    #[serde(rename = "Timestamp", default)]
    timestamp: Option<serde_json::Value>,
}

/// The authentication the calls to the router below carry: ferrokinesis wants the fields of a
/// signature, not a valid one.
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=kbench/20240101/us-east-1/kinesis/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0";

impl Efo {
    async fn subscribe(self: &Arc<Self>, request: Request, next: Next) -> Response {
        let (request, body) = match request::read_body(request).await {
            Ok(read) => read,
            Err(refused) => return refused,
        };
        if !request::is_json(request.headers()) {
            return next.run(request).await;
        }
        let stopping = request
            .extensions()
            .get::<Stopping>()
            .map(|stopping| stopping.0.clone());
        // ferrokinesis's validation: an answer other than 200 is the call's answer
        let asked = self.inner.clone().oneshot(request).await;
        let Ok(asked) = asked;
        if !asked.status().is_success() {
            return asked;
        }
        drop(asked);
        let Ok(input) = serde_json::from_slice::<Input>(&body) else {
            return kinesis_error(
                StatusCode::BAD_REQUEST,
                "SerializationException",
                "cannot read the SubscribeToShard request",
            );
        };
        let (Some(stream), Ok((shard_id, shard_ix))) = (
            stream_of_consumer(&input.consumer_arn),
            ferrokinesis::sequence::resolve_shard_id(&input.shard_id),
        ) else {
            return kinesis_error(
                StatusCode::BAD_REQUEST,
                "ResourceNotFoundException",
                &format!("Shard {} not found.", input.shard_id),
            );
        };
        let key = Key {
            consumer: input.consumer_arn.clone(),
            shard: shard_id.clone(),
        };
        let granted = self.leases().acquire(
            key.clone(),
            tokio::time::Instant::now(),
            stopping.as_ref(),
            Arc::default,
        );
        let Ok(grant) = granted else {
            return kinesis_error(
                StatusCode::BAD_REQUEST,
                "ResourceInUseException",
                &format!(
                    "Another active subscription exists for this consumer: {} on {shard_id}",
                    input.consumer_arn
                ),
            );
        };
        // given back as never started unless the session takes it
        let lease = Lease {
            efo: Arc::clone(self),
            key,
            generation: grant.generation,
            ended: Ended::NeverStarted,
        };
        let start = match self
            .start(&stream, &shard_id, &input.starting_position)
            .await
        {
            Ok((iterator, continuation)) => Start {
                stream,
                shard_id,
                shard_ix,
                iterator,
                continuation,
            },
            Err(failure) => return kinesis_error(failure.status, &failure.code, &failure.message),
        };
        let pacer = self.paced.then_some(grant.shared);
        let session = Session::new(Arc::clone(self), start, lease, grant.ends, pacer);
        let frames = futures_util::stream::unfold(session, |mut session| async move {
            let frame = session.next().await?;
            Some((Ok::<Bytes, std::convert::Infallible>(frame), session))
        });
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, events::CONTENT_TYPE)
            .body(Body::from_stream(frames))
            .unwrap_or_default()
    }

    /// A shard iterator at `position` on the shard, and the continuation before it (see
    /// [`session::continuation_before`]).
    async fn start(
        &self,
        stream: &str,
        shard_id: &str,
        position: &StartingPosition,
    ) -> Result<(String, String), Failure> {
        let mut body = serde_json::json!({
            "StreamName": stream,
            "ShardId": shard_id,
            "ShardIteratorType": position.kind,
        });
        if let Some(sequence_number) = &position.sequence_number {
            body["StartingSequenceNumber"] = sequence_number.as_str().into();
        }
        if let Some(timestamp) = &position.timestamp {
            body["Timestamp"] = timestamp.clone();
        }
        let answer = self.call("GetShardIterator", &body).await?;
        #[derive(Deserialize)]
        struct Iterator {
            #[serde(rename = "ShardIterator")]
            shard_iterator: String,
        }
        let iterator = serde_json::from_slice::<Iterator>(&answer)
            .map_err(|e| {
                Failure::internal(format!("GetShardIterator answered something else: {e}"))
            })?
            .shard_iterator;
        let (_, _, _, at) = ferrokinesis::shard_iterator::decode_shard_iterator(&iterator)
            .map_err(|e| {
                Failure::internal(format!(
                    "GetShardIterator gave an iterator it cannot read: {e}"
                ))
            })?;
        let continuation = match (&position.sequence_number, position.kind.as_str()) {
            (Some(after), "AFTER_SEQUENCE_NUMBER") => after.clone(),
            _ => session::continuation_before(&at).unwrap_or(at),
        };
        Ok((iterator, continuation))
    }

    /// Calls `operation` on the router below with the JSON `body`; its answer's body, or how it
    /// failed.
    async fn call(&self, operation: &str, body: &serde_json::Value) -> Result<Bytes, Failure> {
        let request = Request::builder()
            .method("POST")
            .uri("/")
            .header(header::CONTENT_TYPE, "application/x-amz-json-1.1")
            .header("x-amz-target", format!("Kinesis_20131202.{operation}"))
            .header(header::AUTHORIZATION, AUTHORIZATION)
            .header("x-amz-date", "20240101T000000Z")
            .body(Body::from(body.to_string()))
            .map_err(|e| Failure::internal(format!("cannot build a {operation} request: {e}")))?;
        let Ok(response) = self.inner.clone().oneshot(request).await;
        let status = response.status();
        let code = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(':').next().unwrap_or(v).to_string());
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .map_err(|e| Failure::internal(format!("cannot read the {operation} answer: {e}")))?;
        if status.is_success() {
            return Ok(bytes);
        }
        #[derive(Deserialize, Default)]
        struct Error {
            #[serde(rename = "__type", default)]
            code: Option<String>,
            #[serde(default)]
            message: Option<String>,
        }
        let error: Error = serde_json::from_slice(&bytes).unwrap_or_default();
        Err(Failure {
            status,
            code: error
                .code
                .or(code)
                .unwrap_or_else(|| "InternalFailure".into()),
            message: error
                .message
                .unwrap_or_else(|| format!("{operation} failed with status {status}")),
        })
    }

    /// A write: once answered 200, the subscriptions of its stream (of every stream, when its
    /// stream cannot be told or only one is watched) look at their shards. Without
    /// subscriptions it is passed on as it is.
    async fn write(&self, request: Request, next: Next) -> Response {
        let watched = self.watched().len();
        if watched == 0 {
            return next.run(request).await;
        }
        let (request, stream) = if watched == 1 {
            // the one stream watched is woken whatever the write's stream: its subscriptions
            // read only if their shard was written to, so the body need not be read
            (request, None)
        } else {
            let (request, body) = match request::read_body(request).await {
                Ok(read) => read,
                Err(refused) => return refused,
            };
            let operation = request::operation(request.headers());
            let stream = request::stream_name(operation, request.headers(), &body);
            (request, stream)
        };
        let response = next.run(request).await;
        if response.status().is_success() {
            let watched = self.watched();
            match stream {
                Some(stream) => {
                    if let Some(wake) = watched.get(&stream) {
                        wake.send_replace(());
                    }
                }
                None => watched.values().for_each(|wake| {
                    wake.send_replace(());
                }),
            }
        }
        response
    }

    fn leases(&self) -> MutexGuard<'_, Leases<Arc<Pacer>>> {
        self.leases.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn watched(&self) -> MutexGuard<'_, HashMap<String, watch::Sender<()>>> {
        self.writes.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A subscription's lease on its consumer and shard (see `leases.rs`), given back when it goes:
/// with the call, if the call fails or its client leaves before the answer, else with the
/// session.
struct Lease {
    efo: Arc<Efo>,
    key: Key,
    generation: u64,
    /// How it ended, as the session (or the call) says when it goes.
    ended: Ended,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let now = tokio::time::Instant::now();
        self.efo
            .leases()
            .end(&self.key, self.generation, now, self.ended);
    }
}

/// The stream of a consumer's ARN (`arn:aws:kinesis:<region>:<account>:stream/<name>/consumer/
/// <consumer>:<time>`), as ferrokinesis reads it.
fn stream_of_consumer(arn: &str) -> Option<String> {
    let (stream_arn, _) = arn.split_once("/consumer/")?;
    let name = stream_arn.split('/').nth(1)?;
    (!name.is_empty()).then(|| name.to_string())
}

/// A subscription's ear on the writes to its stream; the stream's entry goes with its last
/// subscription.
struct Watch {
    efo: Arc<Efo>,
    stream: String,
    /// `None` only while dropping.
    receiver: Option<watch::Receiver<()>>,
}

impl Watch {
    fn new(efo: &Arc<Efo>, stream: &str) -> Watch {
        let receiver = efo
            .watched()
            .entry(stream.to_string())
            .or_insert_with(|| watch::channel(()).0)
            .subscribe();
        Watch {
            efo: Arc::clone(efo),
            stream: stream.to_string(),
            receiver: Some(receiver),
        }
    }

    /// Counts every write so far as seen.
    fn mark_seen(&mut self) {
        if let Some(receiver) = &mut self.receiver {
            receiver.mark_unchanged();
        }
    }

    /// Waits for a write not yet seen (at once if there is one), and counts it as seen.
    async fn changed(&mut self) {
        let changed = match &mut self.receiver {
            Some(receiver) => receiver.changed().await.is_ok(),
            None => false,
        };
        if !changed {
            // no sender: nothing will come (the heartbeat still wakes the session)
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut watched = self.efo.watched();
        drop(self.receiver.take());
        if watched
            .get(&self.stream)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            watched.remove(&self.stream);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_arn_names_its_stream() {
        assert_eq!(
            stream_of_consumer("arn:aws:kinesis:us-east-1:000000000000:stream/orders/consumer/c:1"),
            Some("orders".into())
        );
        assert_eq!(
            stream_of_consumer("arn:aws:kinesis:us-east-1:0:stream/orders"),
            None
        );
        assert_eq!(stream_of_consumer("arn:x:stream//consumer/c:1"), None);
    }
}
