//! The null endpoint (`kbench serve --null`): the SDK and a whole run against it.

mod common;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use kbench::endpoint::embedded::{Embedded, EmbeddedOptions};
use kbench::endpoint::{client, stream};
use kbench::run::{self as runner, RunSettings};
use kbench::scenario::{self, Endpoint};
use kbench::workload::shardmap::ShardMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

async fn null_client() -> (Embedded, aws_sdk_kinesis::Client) {
    let server = Embedded::start_null(0).await.expect("null endpoint");
    let url = Endpoint::parse(&server.url()).expect("url");
    let c = client::build(&url, None, None).await.expect("client");
    (server, c)
}

#[tokio::test]
async fn acknowledges_every_record_on_its_shard_and_stores_nothing() {
    let (server, c) = null_client().await;
    // not there yet: create = false is refused, as on Kinesis
    let missing = stream::ensure(&c, "s", 4, false, Duration::from_secs(5)).await;
    assert!(
        format!("{:#}", missing.expect_err("missing")).contains("does not exist"),
        "missing stream"
    );
    let ready = stream::ensure(&c, "s", 4, true, Duration::from_secs(5))
        .await
        .expect("stream");
    assert!(ready.created);
    let even = ShardMap::even(4);
    let listed: Vec<(String, String, String)> = ready
        .shards
        .iter()
        .map(|s| {
            (
                s.id.clone(),
                s.starting_hash_key.clone(),
                s.ending_hash_key.clone(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = even
        .entries()
        .map(|(id, a, b)| (id.to_string(), a.to_string(), b.to_string()))
        .collect();
    assert_eq!(listed, expected, "CreateStream's even split");

    let entries: Vec<PutRecordsRequestEntry> = (0..500)
        .map(|i| {
            let b = PutRecordsRequestEntry::builder()
                .data(Blob::new(vec![7u8; 100]))
                .partition_key(format!("k{i}"));
            // every tenth record by explicit hash key: the last shard
            let b = if i % 10 == 0 {
                b.explicit_hash_key(u128::MAX.to_string())
            } else {
                b
            };
            b.build().expect("entry")
        })
        .collect();
    let out = c
        .put_records()
        .stream_name("s")
        .set_records(Some(entries))
        .send()
        .await
        .expect("PutRecords");
    assert_eq!(out.failed_record_count(), Some(0));
    assert_eq!(out.records().len(), 500);
    let mut sequences = std::collections::HashSet::new();
    for (i, r) in out.records().iter().enumerate() {
        let want = if i % 10 == 0 {
            even.id(3).to_string()
        } else {
            even.id(even.shard_of_key(&format!("k{i}")).expect("shard"))
                .to_string()
        };
        assert_eq!(r.shard_id(), Some(want.as_str()), "record {i}");
        assert!(sequences.insert(r.sequence_number().expect("seq").to_string()));
    }
    let one = c
        .put_record()
        .stream_name("s")
        .partition_key("a")
        .data(Blob::new(b"x".to_vec()))
        .send()
        .await
        .expect("PutRecord");
    assert_eq!(
        one.shard_id(),
        even.id(even.shard_of_key("a").expect("shard"))
    );
    // nothing to read back, and it says what to do
    let read = c
        .get_shard_iterator()
        .stream_name("s")
        .shard_id(even.id(0))
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
        .send()
        .await;
    let e = read.expect_err("no reads");
    assert!(format!("{:?}", e).contains("enabled = false"), "{e:?}");
    // unknown streams are not found
    let e = c
        .put_record()
        .stream_name("nope")
        .partition_key("a")
        .data(Blob::new(b"x".to_vec()))
        .send()
        .await
        .expect_err("unknown stream");
    assert!(
        format!("{e:?}").contains("ResourceNotFoundException"),
        "{e:?}"
    );
    stream::delete(&c, "s").await.expect("deleted");
    server.shutdown().await;
}

fn scenario(consumer: bool) -> scenario::Scenario {
    let text = format!(
        "[target]\nshards = 2\n[records]\nsize = \"100B\"\n[[phase]]\nduration = \"2s\"\nrate = 2000\n[consumer]\nenabled = {consumer}\n"
    );
    scenario::parse(&text, "null.toml", "null").expect("valid")
}

/// A run's settings, its report under `out`.
fn settings(out: &std::path::Path) -> RunSettings {
    RunSettings {
        out: out.to_path_buf(),
        progress: false,
        embedded: EmbeddedOptions::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_against_it_accounts_for_every_record() {
    let server = Embedded::start_null(0).await.expect("null endpoint");
    let out = tempfile::tempdir().expect("tempdir");
    let settings = settings(out.path());
    let mut s = scenario(false);
    s.target.endpoint = Endpoint::parse(&server.url()).expect("url");
    let run = runner::run(&s, &settings, CancellationToken::new())
        .await
        .expect("run");
    let v = &run.summary.variants[0];
    assert_eq!(v.status, "completed");
    assert_eq!(v.accounting.scheduled, 4000);
    assert_eq!(v.accounting.acknowledged, 4000);
    assert_eq!(v.accounting.given_up, 0);
    let total = v.total().expect("total");
    assert_eq!(total.counters.throttled, 0);

    // with the consumer on, the run stops with the reason
    let mut s = scenario(true);
    s.target.endpoint = Endpoint::parse(&server.url()).expect("url");
    let e = runner::run(&s, &settings, CancellationToken::new())
        .await
        .err()
        .expect("a consumer cannot read from the null endpoint");
    assert!(format!("{e:#}").contains("enabled = false"), "{e:#}");
    server.shutdown().await;
}

/// Issue 16: a PutRecords batch at the Kinesis limit (500 records of 10 KiB, a body of about
/// 6.7 MiB) is acknowledged whole by the null endpoint too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_records_batch_at_the_kinesis_limit_is_accepted_end_to_end() {
    let server = Embedded::start_null(0).await.expect("null endpoint");
    let out = tempfile::tempdir().expect("tempdir");
    let settings = settings(out.path());
    let text = common::at_the_batch_limit(&format!("endpoint = \"{}\"", server.url()), false);
    let s = scenario::parse(&text, "limit.toml", "limit").expect("valid");
    let run = runner::run(&s, &settings, CancellationToken::new())
        .await
        .expect("run");
    common::assert_at_the_batch_limit(&run.summary.variants[0]);
    server.shutdown().await;
}

/// Issue 16: the null endpoint holds a PutRecords to Kinesis's limits as the embedded one does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_records_limits_are_answered_with_kinesis_errors_not_413() {
    let (server, c) = null_client().await;
    stream::ensure(&c, "limits", 8, true, Duration::from_secs(5))
        .await
        .expect("stream");
    common::assert_put_records_limits(&c, "limits").await;
    server.shutdown().await;
}

/// Issue 16: the null endpoint takes faults too (`kbench serve --null --faults FILE`): a
/// PutRecords has entries failed in their places and the rest acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_failures_on_the_null_endpoint_keep_the_entries_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("faults.toml");
    std::fs::write(&path, "partial_failure_rate = 0.5\n").expect("write");
    let options = EmbeddedOptions {
        faults: Some(scenario::faults::load(&path).expect("valid")),
        ..EmbeddedOptions::default()
    };
    let server = Embedded::start_null_with(0, &options)
        .await
        .expect("null endpoint");
    let url = Endpoint::parse(&server.url()).expect("url");
    let c = client::build(&url, None, None).await.expect("client");
    stream::ensure(&c, "p", 2, true, Duration::from_secs(5))
        .await
        .expect("stream");
    let entries = (0..200).map(|i| {
        PutRecordsRequestEntry::builder()
            .partition_key(format!("k{i}"))
            .data(Blob::new(vec![1u8; 10]))
            .build()
            .expect("entry")
    });
    let out = c
        .put_records()
        .stream_name("p")
        .set_records(Some(entries.collect()))
        .send()
        .await
        .expect("PutRecords");
    let records = out.records();
    assert_eq!(records.len(), 200);
    let failed = records.iter().filter(|r| r.error_code().is_some()).count();
    assert_eq!(out.failed_record_count(), Some(failed as i32));
    assert!((50..150).contains(&failed), "{failed} of 200 at 50%");
    // a record acknowledged is on the shard its key maps to: the answers are in request order
    let even = ShardMap::even(2);
    for (i, r) in records.iter().enumerate() {
        if let Some(shard) = r.shard_id() {
            let want = even.id(even.shard_of_key(&format!("k{i}")).expect("shard"));
            assert_eq!(shard, want, "record {i}");
        }
    }
    let counts = options.injected.snapshot();
    assert_eq!(
        (counts.partial_throttled + counts.partial_internal_failure) as usize,
        failed
    );
    server.shutdown().await;
}
