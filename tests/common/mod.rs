//! What several integration tests share; each test file uses part of it.
#![allow(dead_code)]

use kbench::endpoint::embedded::{Embedded, EmbeddedOptions};
use kbench::endpoint::{client, stream};
use kbench::report::VariantSummary;
use kbench::scenario::Endpoint;

/// An embedded endpoint on a free loopback port, a client for it, and a stream on it.
pub async fn endpoint_with_stream(
    name: &str,
    shards: u32,
) -> (Embedded, aws_sdk_kinesis::Client, stream::ReadyStream) {
    endpoint_with_stream_and(name, shards, &EmbeddedOptions::default()).await
}

/// [`endpoint_with_stream`] with `options`.
pub async fn endpoint_with_stream_and(
    name: &str,
    shards: u32,
    options: &EmbeddedOptions,
) -> (Embedded, aws_sdk_kinesis::Client, stream::ReadyStream) {
    let server = Embedded::start(0, options).await.expect("endpoint");
    let c = client::build(&Endpoint::Embedded, None, Some(&server.url()))
        .await
        .expect("client");
    let ready = stream::ensure(&c, name, shards, true, std::time::Duration::from_secs(30))
        .await
        .expect("stream");
    (server, c, ready)
}

/// Records in the run of [`at_the_batch_limit`]: three full batches.
pub const AT_THE_BATCH_LIMIT_RECORDS: u64 = 1500;

/// Issue 16: a scenario whose PutRecords batches are as large as Kinesis takes, 500 records of
/// 10 KiB (about 5 MiB of data, 6.7 MiB of base64 in the body): the linger outlasts the time
/// 500 records take to arrive, so every batch closes full. `target` is the rest of [target].
pub fn at_the_batch_limit(target: &str, consumer: bool) -> String {
    format!(
        r#"
name = "batch-limit"
[target]
stream = "batch-limit"
shards = 8
{target}
[producer]
in_flight = 2
linger = "2s"
[records]
size = "10KiB"
keys = {{ dist = "uniform", count = 1000 }}
[[phase]]
duration = "3s"
rate = 500
[consumer]
enabled = {consumer}
drain = "20s"
"#
    )
}

/// Every record of [`at_the_batch_limit`] acknowledged in full batches, none given up.
pub fn assert_at_the_batch_limit(v: &VariantSummary) {
    let a = &v.accounting;
    let total = v.total().expect("a total row");
    let c = &total.counters;
    assert_eq!(a.scheduled, AT_THE_BATCH_LIMIT_RECORDS, "{a:?}");
    assert_eq!(a.acknowledged, a.scheduled, "{a:?} {c:?}");
    assert_eq!(a.given_up, 0, "{a:?}");
    assert_eq!((c.failed, c.call_errors, c.retried), (0, 0, 0), "{c:?}");
    // the batches were at the limit: 500 records, and bodies far above axum's default 2 MiB
    assert!(c.calls <= 4, "{} calls for 1,500 records", c.calls);
    let per_call = c.request_bytes / c.calls.max(1);
    assert!(per_call > 6 << 20, "{per_call} bytes per request");
}

/// What the endpoint answers a PutRecords of `records` records of `size` bytes each to `stream`:
/// `Ok(acknowledged)` or the error code.
pub async fn put_records_of(
    c: &aws_sdk_kinesis::Client,
    stream: &str,
    records: usize,
    size: usize,
) -> Result<usize, String> {
    use aws_sdk_kinesis::error::ProvideErrorMetadata;
    let entries = (0..records).map(|i| {
        aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
            .partition_key(format!("k{i}"))
            .data(aws_sdk_kinesis::primitives::Blob::new(vec![b'x'; size]))
            .build()
            .expect("entry")
    });
    match c
        .put_records()
        .stream_name(stream)
        .set_records(Some(entries.collect()))
        .send()
        .await
    {
        Ok(out) => Ok(out.records().len() - out.failed_record_count().unwrap_or(0) as usize),
        Err(e) => Err(e.code().unwrap_or("(no code)").to_string()),
    }
}

/// Kinesis's PutRecords limits, answered with Kinesis's errors (never a bare 413) up to a body
/// of a 10 MiB payload, the current quota: a batch at the limit is acknowledged whole.
pub async fn assert_put_records_limits(c: &aws_sdk_kinesis::Client, stream: &str) {
    const MIB: usize = 1 << 20;
    // 500 records and 5 MiB of data and keys: all of it (on 8 shards, under their 1 MiB/s each)
    let at_the_limit = (5 * MIB) / 500 - 4;
    assert_eq!(put_records_of(c, stream, 500, at_the_limit).await, Ok(500));
    // 10 records of 1 MiB: a 10 MiB payload, 13.3 MiB of base64; over the 5 MiB a call
    assert_eq!(
        put_records_of(c, stream, 10, MIB - 4).await,
        Err("InvalidArgumentException".into())
    );
    // 13 records of 1 MiB: a body of 17.3 MiB, over any the endpoint reads; still a Kinesis error
    assert_eq!(
        put_records_of(c, stream, 13, MIB - 4).await,
        Err("SerializationException".into())
    );
    assert_eq!(
        put_records_of(c, stream, 1, MIB + 1).await,
        Err("ValidationException".into()),
        "a record over 1 MiB"
    );
    assert_eq!(
        put_records_of(c, stream, 501, 10).await,
        Err("ValidationException".into()),
        "501 records"
    );
}

/// Polls `done` every 20 ms until it is true; panics naming `what` after `deadline`.
pub async fn until<F: std::future::Future<Output = bool>>(
    what: &str,
    deadline: std::time::Duration,
    mut done: impl FnMut() -> F,
) {
    let polled = async {
        while !done().await {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(deadline, polled)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within {deadline:?}"));
}

/// A response body read whole, as JSON.
pub async fn json_body(body: hyper::body::Incoming) -> serde_json::Value {
    use http_body_util::BodyExt;
    let bytes = body.collect().await.expect("body").to_bytes();
    serde_json::from_slice(&bytes).expect("a JSON body")
}

/// run.json's errors against the committed schema (schemas/run.schema.json).
pub fn schema_errors(json: &serde_json::Value) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/run.schema.json");
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("the schema")).expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    validator.iter_errors(json).map(|e| e.to_string()).collect()
}
