//! The embedded endpoint's own behaviour: reads wait for the writes in progress to their stream
//! (see src/endpoint/embedded/reads_after_writes.rs), so a client that stalls in the middle of a
//! request must not count as one in progress and hold up everybody else, and each stream's
//! writes and reads meet the same stream's lock however the client names the stream. Reads are
//! throttled at the per-shard read limits (src/endpoint/embedded/read_limits.rs) unless lifted.

mod common;

use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use aws_sdk_kinesis::types::ShardIteratorType;
use kbench::endpoint::embedded::EmbeddedOptions;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_request_body_does_not_hold_up_other_clients() {
    let (server, c, _) = common::endpoint_with_stream("stall", 1).await;
    let iterator = c
        .get_shard_iterator()
        .stream_name("stall")
        .shard_id("shardId-000000000000")
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator")
        .shard_iterator()
        .expect("an iterator")
        .to_string();

    // a PutRecords whose body never finishes arriving
    let mut stalled = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST / HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-amz-json-1.1\r\nx-amz-target: Kinesis_20131202.PutRecords\r\ncontent-length: 1000\r\n\r\n{{\"StreamName\":\"stall\",",
        server.addr
    );
    stalled.write_all(head.as_bytes()).await.expect("write");
    stalled.flush().await.expect("flush");
    tokio::time::sleep(Duration::from_millis(200)).await;

    // a read (which waits for writes in progress) and a write both go through
    let both = async {
        let read = c.get_records().shard_iterator(&iterator).send().await;
        let write = c
            .put_record()
            .stream_name("stall")
            .partition_key("k")
            .data(Blob::new(b"after".to_vec()))
            .send()
            .await;
        (read, write)
    };
    let (read, write) = tokio::time::timeout(Duration::from_secs(20), both)
        .await
        .expect("neither the read nor the write waits for the stalled client");
    read.expect("GetRecords");
    write.expect("PutRecord");
    drop(stalled);
    server.shutdown().await;
}

/// Writes `batches` PutRecords of 50 records to `stream` (by ARN when `arn` is given), each
/// record's data `<tag>-<n>`; returns how many were acknowledged.
async fn write(
    c: &aws_sdk_kinesis::Client,
    stream: &str,
    arn: Option<&str>,
    tag: &str,
    batches: usize,
) -> usize {
    let mut acknowledged = 0;
    for batch in 0..batches {
        let records = (0..50).map(|i| {
            PutRecordsRequestEntry::builder()
                .partition_key(format!("k{i}"))
                .data(Blob::new(format!("{tag}-{}", batch * 50 + i).into_bytes()))
                .build()
                .expect("entry")
        });
        let request = c.put_records().set_records(Some(records.collect()));
        let request = match arn {
            Some(arn) => request.stream_arn(arn),
            None => request.stream_name(stream),
        };
        let out = request.send().await.expect("PutRecords");
        acknowledged += out.records().len() - out.failed_record_count().unwrap_or(0) as usize;
    }
    acknowledged
}

/// Reads `stream`'s one shard from the start until `expected` distinct records are seen (or a
/// deadline passes); returns their data.
async fn read(c: &aws_sdk_kinesis::Client, stream: &str, expected: usize) -> HashSet<String> {
    let mut iterator = c
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id("shardId-000000000000")
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator")
        .shard_iterator()
        .expect("an iterator")
        .to_string();
    let mut seen = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < expected && Instant::now() < deadline {
        let out = c
            .get_records()
            .shard_iterator(&iterator)
            .send()
            .await
            .expect("GetRecords");
        for record in out.records() {
            seen.insert(String::from_utf8_lossy(record.data().as_ref()).into_owned());
        }
        iterator = out
            .next_shard_iterator()
            .expect("the shard is open")
            .to_string();
        if out.records().is_empty() {
            // paces the polling of a shard with nothing new; the result does not depend on it
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_writes_of_two_streams_run_together_and_lose_nothing() {
    // the reads poll as fast as they can, to meet the writes in progress as often as they can
    let options = EmbeddedOptions {
        enforce_read_limits: false,
        ..EmbeddedOptions::default()
    };
    let (server, c, _) = common::endpoint_with_stream_and("by-arn", 1, &options).await;
    kbench::endpoint::stream::ensure(&c, "by-name", 1, true, Duration::from_secs(30))
        .await
        .expect("second stream");
    let arn = c
        .describe_stream_summary()
        .stream_name("by-arn")
        .send()
        .await
        .expect("describe")
        .stream_description_summary()
        .expect("a summary")
        .stream_arn()
        .to_string();

    // 500 records a stream: under a shard's 1,000 records/s in any window, so none is throttled
    const BATCHES: usize = 10;
    let everything = async {
        tokio::join!(
            write(&c, "by-arn", Some(&arn), "a", BATCHES),
            write(&c, "by-name", None, "b", BATCHES),
            read(&c, "by-arn", BATCHES * 50),
            read(&c, "by-name", BATCHES * 50),
        )
    };
    let (acknowledged_a, acknowledged_b, read_a, read_b) =
        tokio::time::timeout(Duration::from_secs(120), everything)
            .await
            .expect("the writes and reads finish");
    assert_eq!(
        acknowledged_a,
        BATCHES * 50,
        "every write to a (by ARN) is acknowledged"
    );
    assert_eq!(
        acknowledged_b,
        BATCHES * 50,
        "every write to b (by name) is acknowledged"
    );
    assert!(
        read_a.iter().all(|d| d.starts_with("a-")),
        "stream a holds only its own records"
    );
    assert!(
        read_b.iter().all(|d| d.starts_with("b-")),
        "stream b holds only its own records"
    );
    assert_eq!(
        read_a.len(),
        acknowledged_a,
        "every write to a is read back"
    );
    assert_eq!(
        read_b.len(),
        acknowledged_b,
        "every write to b is read back"
    );
    server.shutdown().await;
}

/// Issue 16: the embedded endpoint refused bodies over 2 MiB with a 413. Kinesis's limits are
/// answered as Kinesis answers them, and a batch at the limit is acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_records_limits_are_answered_with_kinesis_errors_not_413() {
    let (server, c, _) = common::endpoint_with_stream("limits", 8).await;
    common::assert_put_records_limits(&c, "limits").await;
    server.shutdown().await;
}

/// Options with the faults of `table` (what `[target.faults]` holds).
fn with_faults(table: &str) -> EmbeddedOptions {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("faults.toml");
    std::fs::write(&path, table).expect("write");
    EmbeddedOptions {
        faults: Some(kbench::scenario::faults::load(&path).expect("valid faults")),
        ..Default::default()
    }
}

async fn put(c: &aws_sdk_kinesis::Client, stream: &str) -> Result<(), String> {
    match c
        .put_record()
        .stream_name(stream)
        .partition_key("k")
        .data(Blob::new(b"x".to_vec()))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(SdkError::DispatchFailure(e)) => Err(format!("dispatch failure: io {}", e.is_io())),
        Err(SdkError::ServiceError(e)) => Err(format!(
            "{} {}",
            e.raw().status().as_u16(),
            e.err().code().unwrap_or("")
        )),
        Err(e) => Err(format!("other: {e:?}")),
    }
}

/// Injected errors reach the SDK as Kinesis's own: the code it reads and the HTTP status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_errors_reach_the_sdk_as_kinesis_errors() {
    for (code, status) in [
        ("InternalFailure", 500),
        ("ServiceUnavailable", 503),
        ("ProvisionedThroughputExceededException", 400),
    ] {
        let options = with_faults(&format!(
            "errors = [{{ operation = \"PutRecord\", code = \"{code}\", rate = 1 }}]"
        ));
        let (server, c, _) = common::endpoint_with_stream_and("errors", 1, &options).await;
        assert_eq!(put(&c, "errors").await, Err(format!("{status} {code}")));
        assert_eq!(options.injected.snapshot().describe(), format!("1 {code}"));
        server.shutdown().await;
    }
}

/// A reset drops the connection without a response: the SDK sees a dispatch failure (an I/O
/// error), and the next call, on a new connection, goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_is_a_dispatch_failure_to_the_sdk() {
    let options = with_faults("reset_rate = 1");
    let (server, c, _) = common::endpoint_with_stream_and("reset", 1, &options).await;
    assert_eq!(
        put(&c, "reset").await,
        Err("dispatch failure: io true".into())
    );
    // only the data plane is reset: the stream's own calls go through
    let stored = c
        .describe_stream_summary()
        .stream_name("reset")
        .send()
        .await
        .expect("control-plane calls are not reset");
    assert!(stored.stream_description_summary().is_some());
    assert_eq!(options.injected.snapshot().resets, 1);
    server.shutdown().await;
}

/// During an outage every request's connection is dropped; after it, the same endpoint
/// answers again with its state kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_drops_every_connection_and_ends_without_a_restart() {
    let options = with_faults("outage = { from = \"0s\", to = \"1s\" }");
    let (server, c, _) = common::endpoint_with_stream_and("outage", 1, &options).await;
    // the first put starts the fault clock, in the outage
    let started = Instant::now();
    assert_eq!(
        put(&c, "outage").await,
        Err("dispatch failure: io true".into())
    );
    assert_eq!(
        put(&c, "outage").await,
        Err("dispatch failure: io true".into())
    );
    tokio::time::sleep(Duration::from_secs(1).saturating_sub(started.elapsed())).await;
    assert_eq!(put(&c, "outage").await, Ok(()), "the stream is still there");
    let counts = options.injected.snapshot();
    assert_eq!((counts.outages, counts.outage_dropped), (1, 2));
    server.shutdown().await;
}

/// How many of `results` are throttled as Kinesis throttles a read: HTTP 400,
/// ProvisionedThroughputExceededException, the shard named; any other error fails the test.
fn throttles<T, E: ProvideErrorMetadata + std::fmt::Debug>(
    results: Vec<Result<T, SdkError<E, aws_sdk_kinesis::config::http::HttpResponse>>>,
    shard: &str,
) -> usize {
    let mut throttled = 0;
    for result in results {
        match result {
            Ok(_) => {}
            Err(SdkError::ServiceError(e)) => {
                assert_eq!(e.raw().status().as_u16(), 400);
                assert_eq!(
                    e.err().code(),
                    Some("ProvisionedThroughputExceededException")
                );
                let message = format!("Rate exceeded for Shard - 000000000000/reads/{shard}");
                assert_eq!(e.err().message(), Some(message.as_str()));
                throttled += 1;
            }
            Err(e) => panic!("not a throttle: {e:?}"),
        }
    }
    throttled
}

/// Issue 17: the per-shard read limits are on by default. A burst of GetRecords (or
/// GetShardIterator) calls on one shard, far above 5 a second, gets
/// ProvisionedThroughputExceededException after its first calls; `enforce_read_limits = false`
/// (`--no-read-limits`) or `enforce_limits = false` (`--no-limits`) lifts them. No timing: 30
/// calls sent at once would have to take over 5 s to arrive for none to be throttled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_reads_on_a_shard_is_throttled_unless_the_read_limits_are_lifted() {
    for (enforce_limits, enforce_read_limits) in [(true, true), (true, false), (false, true)] {
        let options = EmbeddedOptions {
            enforce_limits,
            enforce_read_limits,
            ..EmbeddedOptions::default()
        };
        let limited = enforce_limits && enforce_read_limits;
        let (server, c, _) = common::endpoint_with_stream_and("reads", 2, &options).await;
        let iterator_of = |shard: &'static str| {
            c.get_shard_iterator()
                .stream_name("reads")
                .shard_id(shard)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
        };
        let shard = "shardId-000000000000";
        let iterator = iterator_of(shard)
            .await
            .expect("the first GetShardIterator passes")
            .shard_iterator()
            .expect("an iterator")
            .to_string();
        c.get_records()
            .shard_iterator(&iterator)
            .send()
            .await
            .expect("the first GetRecords passes");
        let reads = (0..30).map(|_| c.get_records().shard_iterator(&iterator).send());
        let throttled = throttles(futures_util::future::join_all(reads).await, shard);
        let iterators = (0..30).map(|_| iterator_of(shard));
        let iterators_throttled = throttles(futures_util::future::join_all(iterators).await, shard);
        let options = format!("enforce_limits {enforce_limits}, read {enforce_read_limits}");
        if limited {
            assert!(throttled >= 1, "{options}: no GetRecords throttled");
            assert!(
                iterators_throttled >= 1,
                "{options}: no GetShardIterator throttled"
            );
            // the other shard has limits of its own
            let other = "shardId-000000000001";
            let iterator = iterator_of(other).await.expect("another shard's iterator");
            let iterator = iterator.shard_iterator().expect("an iterator");
            c.get_records()
                .shard_iterator(iterator)
                .send()
                .await
                .expect("another shard's GetRecords");
        } else {
            assert_eq!((throttled, iterators_throttled), (0, 0), "{options}");
        }
        server.shutdown().await;
    }
}
