//! The embedded endpoint serves enhanced fan-out as Kinesis does (issue 17): HTTP/2 without TLS
//! beside HTTP/1.1 on one port, and a SubscribeToShard that starts where it is asked to (the
//! ferrokinesis bug: every AT/AFTER_SEQUENCE_NUMBER renewal restarted at TRIM_HORIZON), pushes
//! records as they are written, ends its session cleanly for the client to renew, and refuses
//! a second subscription within 5 s. See src/endpoint/embedded/subscribe.rs.
//!
//! The subscriptions are read with a raw h2c client (hyper-util, HTTP/2 only) and
//! aws-smithy-eventstream's decoder, so the wire is what is checked; one test reads them with
//! the SDK itself. Session ends are counted, never timed.

mod common;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{ConsumerStatus, StartingPosition, SubscribeToShardEventStream};
use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use aws_smithy_types::event_stream::Message;
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kbench::endpoint::embedded::{Embedded, EmbeddedOptions};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;

/// Long enough for anything here on a loaded machine; reaching it fails the test.
const DEADLINE: Duration = Duration::from_secs(60);

const SHARD: &str = "shardId-000000000000";

type H2c = Client<HttpConnector, Full<Bytes>>;

/// A client that speaks HTTP/2 only, without TLS (prior knowledge).
fn h2c() -> H2c {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http()
}

/// A client that speaks HTTP/1.1.
fn http1() -> H2c {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A Kinesis call as the SDK sends it (any signature does for the embedded endpoint).
fn kinesis_request(url: &str, operation: &str, body: &Value) -> Request<Full<Bytes>> {
    Request::post(format!("{url}/"))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("Kinesis_20131202.{operation}"))
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0",
        )
        .header("x-amz-date", "20240101T000000Z")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request")
}

/// An endpoint whose subscriptions last `session`, a one-shard stream `name` on it with records
/// `r0`..`r{records-1}` (their sequence numbers returned), and an ACTIVE consumer's ARN.
async fn setup(
    name: &str,
    session: Duration,
    records: usize,
) -> (Embedded, aws_sdk_kinesis::Client, String, Vec<String>) {
    let options = EmbeddedOptions {
        efo_session: session,
        ..EmbeddedOptions::default()
    };
    let (server, c, _) = common::endpoint_with_stream_and(name, 1, &options).await;
    let arn = c
        .describe_stream_summary()
        .stream_name(name)
        .send()
        .await
        .expect("summary")
        .stream_description_summary()
        .expect("a summary")
        .stream_arn()
        .to_string();
    let consumer = c
        .register_stream_consumer()
        .stream_arn(&arn)
        .consumer_name("efo")
        .send()
        .await
        .expect("register")
        .consumer()
        .expect("a consumer")
        .consumer_arn()
        .to_string();
    until("the consumer is ACTIVE", || async {
        let described = c
            .describe_stream_consumer()
            .consumer_arn(&consumer)
            .send()
            .await;
        let described = described.expect("DescribeStreamConsumer");
        let status = described
            .consumer_description()
            .map(|d| d.consumer_status());
        status == Some(&ConsumerStatus::Active)
    })
    .await;
    let mut sequence_numbers = Vec::new();
    for i in 0..records {
        sequence_numbers.push(put(&c, name, &format!("r{i}")).await);
    }
    (server, c, consumer, sequence_numbers)
}

/// Polls `done` until it is true (within [`DEADLINE`]).
async fn until<F: std::future::Future<Output = bool>>(what: &str, done: impl FnMut() -> F) {
    common::until(what, DEADLINE, done).await;
}

/// Writes one record whose data is `data`; its sequence number.
async fn put(c: &aws_sdk_kinesis::Client, stream: &str, data: &str) -> String {
    c.put_record()
        .stream_name(stream)
        .partition_key("k")
        .data(Blob::new(data.as_bytes().to_vec()))
        .send()
        .await
        .expect("PutRecord")
        .sequence_number()
        .to_string()
}

/// A subscription's response body, read message by message.
struct Subscription {
    body: Body,
    buffer: Vec<u8>,
    decoder: MessageFrameDecoder,
}

/// What a subscription sent.
#[derive(Debug, Default)]
struct Received {
    /// The records' data, in order.
    data: Vec<String>,
    /// The `SubscribeToShardEvent` payloads.
    events: Vec<Value>,
}

impl Subscription {
    /// The next message; `None` when the response has ended.
    async fn next(&mut self) -> Option<Message> {
        loop {
            let mut unread: &[u8] = &self.buffer;
            let before = unread.len();
            let decoded = self
                .decoder
                .decode_frame(&mut unread)
                .expect("a valid frame");
            let consumed = before - unread.len();
            self.buffer.drain(..consumed);
            if let DecodedFrame::Complete(message) = decoded {
                return Some(message);
            }
            let frame = tokio::time::timeout(DEADLINE, self.body.frame())
                .await
                .expect("the subscription sends or ends in time")?
                .expect("the body reads");
            if let Ok(data) = frame.into_data() {
                self.buffer.extend_from_slice(&data);
            }
        }
    }

    /// The next `SubscribeToShardEvent`'s payload; `None` at the end.
    async fn next_event(&mut self) -> Option<Value> {
        let message = self.next().await?;
        assert_eq!(header(&message, ":message-type"), Some("event".into()));
        assert_eq!(
            header(&message, ":event-type"),
            Some("SubscribeToShardEvent".into())
        );
        Some(serde_json::from_slice(message.payload()).expect("a JSON event"))
    }

    /// Every event until the session ends.
    async fn until_end(mut self) -> Received {
        let mut received = Received::default();
        while let Some(event) = self.next_event().await {
            received.data.extend(data_of(&event));
            received.events.push(event);
        }
        received
    }
}

impl Received {
    /// The last event's continuation.
    fn continuation(&self) -> String {
        let last = self.events.last().expect("at least one event");
        last["ContinuationSequenceNumber"]
            .as_str()
            .expect("a continuation")
            .to_string()
    }
}

fn header(message: &Message, name: &str) -> Option<String> {
    let header = message
        .headers()
        .iter()
        .find(|h| h.name().as_str() == name)?;
    Some(header.value().as_string().ok()?.as_str().to_string())
}

/// The data of an event's records, decoded.
fn data_of(event: &Value) -> Vec<String> {
    use base64::Engine;
    let records = event["Records"].as_array().expect("Records");
    records
        .iter()
        .map(|r| {
            let data = base64::engine::general_purpose::STANDARD
                .decode(r["Data"].as_str().expect("Data"))
                .expect("base64");
            String::from_utf8(data).expect("utf-8")
        })
        .collect()
}

/// SubscribeToShard over HTTP/2 from `position`; the subscription, once its initial response
/// has come.
async fn subscribe(url: &str, consumer: &str, position: Value) -> Subscription {
    let (status, body) = try_subscribe(&h2c(), url, consumer, SHARD, position).await;
    assert_eq!(status, StatusCode::OK);
    let mut subscription = Subscription {
        body,
        buffer: Vec::new(),
        decoder: MessageFrameDecoder::new(),
    };
    let initial = subscription.next().await.expect("an initial response");
    assert_eq!(
        header(&initial, ":event-type"),
        Some("initial-response".into())
    );
    subscription
}

/// SubscribeToShard with `client`: the status and the body. The response must be HTTP/2 when
/// the client speaks it.
async fn try_subscribe(
    client: &H2c,
    url: &str,
    consumer: &str,
    shard: &str,
    position: Value,
) -> (StatusCode, Body) {
    let body = json!({ "ConsumerARN": consumer, "ShardId": shard, "StartingPosition": position });
    let response = tokio::time::timeout(
        DEADLINE,
        client.request(kinesis_request(url, "SubscribeToShard", &body)),
    )
    .await
    .expect("SubscribeToShard answers in time")
    .expect("SubscribeToShard");
    assert_eq!(response.version(), Version::HTTP_2, "served over HTTP/2");
    let status = response.status();
    if status == StatusCode::OK {
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/vnd.amazon.eventstream")
        );
    }
    (status, Body::new(response.into_body()))
}

/// The error code of a refused call's body.
async fn error_code(body: Body) -> String {
    let bytes = body.collect().await.expect("the body").to_bytes();
    let error: Value = serde_json::from_slice(&bytes).expect("a JSON error");
    error["__type"].as_str().expect("__type").to_string()
}

fn after(sequence_number: &str) -> Value {
    json!({ "Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": sequence_number })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_without_tls_and_http1_are_served_on_one_port() {
    let server = Embedded::start(0, &EmbeddedOptions::default())
        .await
        .expect("endpoint");
    let url = server.url();
    for (client, version) in [(h2c(), Version::HTTP_2), (http1(), Version::HTTP_11)] {
        let response = client
            .request(kinesis_request(&url, "ListStreams", &json!({})))
            .await
            .expect("ListStreams");
        assert_eq!(response.version(), version);
        assert_eq!(response.status(), StatusCode::OK);
        let listed = common::json_body(response.into_body()).await;
        assert!(listed["StreamNames"].is_array(), "{listed}");
    }
    server.shutdown().await;
}

/// The exact bug: a renewal AFTER_SEQUENCE_NUMBER got every record again from TRIM_HORIZON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_sequence_number_comes_exactly_what_follows_it() {
    let (server, _c, consumer, seqs) = setup("after", Duration::from_secs(2), 10).await;
    let received = subscribe(&server.url(), &consumer, after(&seqs[3]))
        .await
        .until_end()
        .await;
    let want: Vec<String> = (4..10).map(|i| format!("r{i}")).collect();
    assert_eq!(received.data, want);
    assert_eq!(received.continuation(), seqs[9]);
    // and AT_SEQUENCE_NUMBER includes the record itself
    let at = json!({ "Type": "AT_SEQUENCE_NUMBER", "SequenceNumber": seqs[8] });
    let received = subscribe(&server.url(), &consumer, at)
        .await
        .until_end()
        .await;
    assert_eq!(received.data, ["r8", "r9"]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewals_from_each_continuation_deliver_every_record_once() {
    const RECORDS: usize = 40;
    let (server, c, consumer, _) = setup("renewals", Duration::from_secs(2), 0).await;
    let url = server.url();
    let mut subscription = subscribe(&url, &consumer, json!({ "Type": "TRIM_HORIZON" })).await;
    // written while the subscriptions come and go
    let writer = tokio::spawn(async move {
        for i in 0..RECORDS {
            put(&c, "renewals", &format!("r{i}")).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut data = Vec::new();
    let mut sessions = 0;
    let all = async {
        loop {
            let received = subscription.until_end().await;
            sessions += 1;
            data.extend(received.data.iter().cloned());
            if sessions > 3 && data.len() >= RECORDS {
                break;
            }
            subscription = subscribe(&url, &consumer, after(&received.continuation())).await;
        }
    };
    tokio::time::timeout(DEADLINE * 2, all)
        .await
        .expect("every record arrives");
    writer.await.expect("the writer");
    let want: Vec<String> = (0..RECORDS).map(|i| format!("r{i}")).collect();
    assert_eq!(data, want, "in order, each once, over {sessions} sessions");
    assert!(sessions >= 4, "three renewals at least");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_written_during_a_subscription_arrives_on_it() {
    let (server, c, consumer, _) = setup("push", Duration::from_secs(300), 0).await;
    let mut subscription = subscribe(&server.url(), &consumer, json!({ "Type": "LATEST" })).await;
    // the first event says where the subscription is: nothing yet
    let first = subscription.next_event().await.expect("a first event");
    assert_eq!(data_of(&first), Vec::<String>::new());
    assert_eq!(first["MillisBehindLatest"], 0);
    let written = put(&c, "push", "pushed").await;
    let event = loop {
        let event = subscription
            .next_event()
            .await
            .expect("the subscription goes on");
        if !data_of(&event).is_empty() {
            break event;
        }
    };
    assert_eq!(data_of(&event), ["pushed"]);
    assert_eq!(event["ContinuationSequenceNumber"], written.as_str());
    assert_eq!(event["Records"][0]["SequenceNumber"], written.as_str());
    assert_eq!(event["MillisBehindLatest"], 0, "caught up");
    drop(subscription);
    server.shutdown().await;
}

/// A subscriber behind the tip is told how far; once caught up, 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn millis_behind_latest_says_how_far_behind_the_tip_an_event_is() {
    // more than the first read takes (10 records), so that it stops short of the tip
    let (server, _c, consumer, _) = setup("behind", Duration::from_secs(300), 25).await;
    // the records are older than this when they are read: an age, not a synchronisation
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut subscription =
        subscribe(&server.url(), &consumer, json!({ "Type": "TRIM_HORIZON" })).await;
    let mut data = Vec::new();
    let mut behind = Vec::new();
    while data.len() < 25 {
        let event = subscription.next_event().await.expect("an event");
        data.extend(data_of(&event));
        behind.push(event["MillisBehindLatest"].as_u64().expect("a number"));
    }
    let want: Vec<String> = (0..25).map(|i| format!("r{i}")).collect();
    assert_eq!(data, want);
    assert!(
        behind[0] >= 50,
        "the first read stopped short of the tip: {behind:?}"
    );
    assert_eq!(behind.last(), Some(&0), "caught up: {behind:?}");
    drop(subscription);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_subscription_within_five_seconds_is_refused() {
    let (server, _c, consumer, _) = setup("inuse", Duration::from_secs(300), 0).await;
    let url = server.url();
    let first = subscribe(&url, &consumer, json!({ "Type": "LATEST" })).await;
    let (status, body) =
        try_subscribe(&h2c(), &url, &consumer, SHARD, json!({ "Type": "LATEST" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(body).await, "ResourceInUseException");
    drop(first);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_subscriptions_get_kinesis_errors() {
    let (server, _c, consumer, _) = setup("bad", Duration::from_secs(300), 0).await;
    let url = server.url();
    let client = h2c();
    let unknown = consumer.replace("/consumer/efo:", "/consumer/nobody:");
    assert_ne!(unknown, consumer);
    for (consumer, shard, position, code) in [
        (
            unknown.as_str(),
            SHARD,
            json!({ "Type": "LATEST" }),
            "ResourceNotFoundException",
        ),
        (
            consumer.as_str(),
            "shardId-000000000007",
            json!({ "Type": "LATEST" }),
            "ResourceNotFoundException",
        ),
        (
            consumer.as_str(),
            SHARD,
            json!({ "Type": "AT_SEQUENCE_NUMBER" }),
            "InvalidArgumentException",
        ),
        (
            consumer.as_str(),
            SHARD,
            json!({ "Type": "SOMEWHERE" }),
            "ValidationException",
        ),
    ] {
        let (status, body) = try_subscribe(&client, &url, consumer, shard, position).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{code}");
        assert_eq!(error_code(body).await, code);
    }
    // a refused call does not count: a good one goes through
    let good = subscribe(&url, &consumer, json!({ "Type": "TRIM_HORIZON" })).await;
    drop(good);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_server_ends_its_subscriptions() {
    let (server, _c, consumer, _) = setup("stop", Duration::from_secs(300), 2).await;
    let mut subscription =
        subscribe(&server.url(), &consumer, json!({ "Type": "TRIM_HORIZON" })).await;
    let first = subscription.next_event().await.expect("a first event");
    assert_eq!(data_of(&first), ["r0", "r1"]);
    tokio::time::timeout(DEADLINE, server.shutdown())
        .await
        .expect("the server stops");
    let rest = tokio::time::timeout(DEADLINE, subscription.until_end())
        .await
        .expect("the subscription ends");
    assert!(rest.data.is_empty());
}

/// The SDK itself (over HTTP/1.1, its plain-http client) reads the events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_reads_the_events() {
    let (server, c, consumer, seqs) = setup("sdk", Duration::from_secs(2), 3).await;
    let position = StartingPosition::builder()
        .r#type(aws_sdk_kinesis::types::ShardIteratorType::AfterSequenceNumber)
        .sequence_number(&seqs[0])
        .build()
        .expect("position");
    let mut output = c
        .subscribe_to_shard()
        .consumer_arn(&consumer)
        .shard_id(SHARD)
        .starting_position(position)
        .send()
        .await
        .expect("SubscribeToShard");
    let mut data = Vec::new();
    let mut continuation = String::new();
    let read = async {
        while let Some(event) = output.event_stream.recv().await.expect("an event") {
            if let SubscribeToShardEventStream::SubscribeToShardEvent(event) = event {
                for record in event.records() {
                    data.push(String::from_utf8_lossy(record.data().as_ref()).into_owned());
                }
                continuation = event.continuation_sequence_number().to_string();
            }
        }
    };
    tokio::time::timeout(DEADLINE, read)
        .await
        .expect("the session ends");
    assert_eq!(data, ["r1", "r2"]);
    assert_eq!(continuation, seqs[2]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_shard_ends_with_its_children() {
    let (server, c, consumer, _) = setup("split", Duration::from_secs(300), 2).await;
    c.split_shard()
        .stream_name("split")
        .shard_to_split(SHARD)
        .new_starting_hash_key((1u128 << 127).to_string())
        .send()
        .await
        .expect("SplitShard");
    until("the stream is ACTIVE again", || async {
        let summary = c
            .describe_stream_summary()
            .stream_name("split")
            .send()
            .await;
        let summary = summary.expect("DescribeStreamSummary");
        let status = summary
            .stream_description_summary()
            .map(|s| s.stream_status());
        status == Some(&aws_sdk_kinesis::types::StreamStatus::Active)
    })
    .await;
    let received = subscribe(&server.url(), &consumer, json!({ "Type": "TRIM_HORIZON" }))
        .await
        .until_end()
        .await;
    assert_eq!(received.data, ["r0", "r1"]);
    let last = received.events.last().expect("a last event");
    assert_eq!(last.get("ContinuationSequenceNumber"), None, "{last}");
    let children: HashSet<&str> = last["ChildShards"]
        .as_array()
        .expect("ChildShards")
        .iter()
        .map(|c| c["ShardId"].as_str().expect("ShardId"))
        .collect();
    assert_eq!(children.len(), 2, "{last}");
    for child in last["ChildShards"].as_array().into_iter().flatten() {
        assert_eq!(child["ParentShards"], json!([SHARD]));
    }
    server.shutdown().await;
}

/// The faults' connection resets work over HTTP/2 too: the call's connection is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_drops_an_http2_connection() {
    let options = EmbeddedOptions {
        faults: Some(kbench::scenario::faults::Faults {
            reset_rate: 1.0,
            ..Default::default()
        }),
        ..EmbeddedOptions::default()
    };
    let server = Embedded::start(0, &options).await.expect("endpoint");
    let url = server.url();
    let body = json!({ "StreamName": "none", "PartitionKey": "k", "Data": "eA==" });
    let put = tokio::time::timeout(
        DEADLINE,
        h2c().request(kinesis_request(&url, "PutRecord", &body)),
    )
    .await
    .expect("the call ends in time");
    assert!(put.is_err(), "a severed call gets no answer: {put:?}");
    assert_eq!(options.injected.snapshot().resets, 1);
    // a call the faults leave alone is answered, over HTTP/2
    let listed = h2c()
        .request(kinesis_request(&url, "ListStreams", &json!({})))
        .await
        .expect("ListStreams");
    assert_eq!(listed.version(), Version::HTTP_2);
    assert_eq!(listed.status(), StatusCode::OK);
    server.shutdown().await;
}
