//! The enhanced fan-out consumer's client side against the embedded endpoint (served over
//! HTTP/1.1 and h2c on one port) and against endpoints that cannot serve it: register a
//! consumer, subscribe every shard at LATEST, read what the SDK puts through the shard tasks
//! into a Verifier, deregister; leave someone else's consumer alone; say clearly, and in time,
//! that an endpoint has no EFO or no HTTP/2.
//!
//! ferrokinesis's own SubscribeToShard (on the embedded endpoint today) restarts renewals at
//! TRIM_HORIZON (../shared/spec/KINESIS.md), so these tests check exactly-once within one
//! subscription (ferrokinesis's last five minutes), not across renewals.

mod common;

use kbench::consumer::efo::{
    self, ACTIVE_WITHIN, Efo, EfoError, EfoStats, Registered, ShardContext,
};
use kbench::consumer::reader::Tips;
use kbench::consumer::verify::Verifier;
use kbench::endpoint::client;
use kbench::endpoint::incidents::Incidents;
use kbench::metrics::interval::Slot;
use kbench::scenario::{Endpoint, Phase, Rate, Start};
use kbench::workload::schedule::Schedule;
use kbench::workload::stamp::Stamp;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

const RUN_ID: u32 = 17;

/// The EFO clients for the endpoint at `url`.
async fn efo_for(url: &str) -> Efo {
    let endpoint = Endpoint::Url(url.to_string());
    let control = client::build(&endpoint, None, None).await.expect("client");
    let subscribe = client::efo_client(&endpoint, None, None)
        .await
        .expect("efo client");
    Efo::new(control, subscribe, url)
}

/// Polls `done` every 20 ms until it holds or `within` passes.
async fn eventually(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let began = Instant::now();
    while !done() {
        if began.elapsed() > within {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_subscribes_reads_every_record_once_and_deregisters() {
    let (server, c, ready) = common::endpoint_with_stream("efo", 2).await;
    read_back(&server.url(), &c, &ready).await;
}

/// By hand, not in CI: the same against the endpoint at `KBENCH_EFO_ENDPOINT` (an emulator:
/// `KBENCH_EFO_ENDPOINT=http://127.0.0.1:4568 cargo test --release --test efo_client -- --ignored`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs an endpoint at KBENCH_EFO_ENDPOINT"]
async fn against_the_endpoint_at_kbench_efo_endpoint() {
    let url = std::env::var("KBENCH_EFO_ENDPOINT").expect("KBENCH_EFO_ENDPOINT");
    let c = client::build(&Endpoint::Url(url.clone()), None, None)
        .await
        .expect("client");
    let ready =
        kbench::endpoint::stream::ensure(&c, "kbench-efo", 2, true, Duration::from_secs(60))
            .await
            .expect("stream");
    read_back(&url, &c, &ready).await;
}

/// Registers a consumer on `ready`, subscribes its shards at LATEST, writes 200 records and
/// reads each back once through the shard tasks, then deregisters.
async fn read_back(
    url: &str,
    c: &aws_sdk_kinesis::Client,
    ready: &kbench::endpoint::stream::ReadyStream,
) {
    let efo = efo_for(url).await;
    let arn = efo::stream_arn(&efo, &ready.name)
        .await
        .expect("stream arn");
    let consumer = efo::register(
        &efo,
        &arn,
        &format!("kbench-{RUN_ID}-efo-{}", std::process::id()),
        ACTIVE_WITHIN,
    )
    .await
    .expect("register");
    assert!(consumer.ours());
    let shards: Vec<String> = ready.shards.iter().map(|s| s.id.clone()).collect();
    let opened = efo::subscribe_all(&efo, &consumer.arn, &shards, Start::Latest)
        .await
        .expect("subscribe");
    assert_eq!(opened.len(), 2);

    let start = Instant::now();
    let start_unix_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64;
    let records = 200u64;
    let schedule = Arc::new(Schedule::new(&[Phase {
        name: "p".into(),
        duration: Duration::from_secs(1),
        rate: Rate {
            from: records as f64,
            to: records as f64,
        },
        measure: true,
    }]));
    let verifier = Arc::new(Verifier::new(0, RUN_ID, schedule, start, start_unix_ns));
    let slot = Slot::default();
    let for_tasks = slot.clone();
    let stop = CancellationToken::new();
    let ctx = ShardContext {
        efo: efo.clone(),
        consumer_arn: consumer.arn.clone(),
        verifier: verifier.clone(),
        start,
        incidents: Arc::new(Incidents::new(&ready.name, CancellationToken::new())),
        tips: Arc::new(Tips::new(shards.len(), start)),
        stats: Arc::new(EfoStats::default()),
        slot: Arc::new(move || for_tasks.clone()),
    };
    let (tips, stats) = (ctx.tips.clone(), ctx.stats.clone());
    let task = efo::spawn(ctx, opened, stop.clone());

    // written after subscribe_all returned: every one must come through the subscriptions
    for batch in 0..records / 100 {
        let mut put = c.put_records().stream_name(&ready.name);
        for seq in batch * 100..(batch + 1) * 100 {
            let mut data = vec![0u8; 64];
            Stamp {
                run_id: RUN_ID,
                producer_id: 0,
                seq,
                intended_unix_ns: start_unix_ns,
            }
            .write(&mut data);
            let entry = aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                .data(data.into())
                .partition_key(format!("k{seq}"))
                .build()
                .expect("entry");
            put = put.records(entry);
        }
        let out = put.send().await.expect("put records");
        assert_eq!(out.failed_record_count(), Some(0));
    }
    let all = eventually(Duration::from_secs(30), || {
        verifier.received_distinct() == records
    })
    .await;
    assert!(all, "read {} of {records}", verifier.received_distinct());
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the shard tasks stop when told")
        .expect("no panic");

    let buckets = slot.take();
    let counters = &buckets.iter().next().expect("a phase").1.reads[0].counters;
    assert_eq!(counters.received, records);
    assert_eq!(counters.duplicates, 0, "once each within one subscription");
    assert_eq!(counters.foreign, 0);
    assert_eq!(stats.subscriptions.load(Ordering::Relaxed), 2);
    assert_eq!(stats.renewals.load(Ordering::Relaxed), 0);
    assert_eq!(stats.failed_calls.load(Ordering::Relaxed), 0);
    assert_eq!(stats.records.load(Ordering::Relaxed), records);
    assert!(stats.events.load(Ordering::Relaxed) >= 2);
    // an event with MillisBehindLatest 0 came on every shard: each was at its tip
    assert_eq!(tips.behind_since(Duration::from_nanos(1)), 0);

    let (name, consumer_arn) = (consumer.name.clone(), consumer.arn.clone());
    assert!(consumer.deregister().await.expect("deregister"));
    let gone = c
        .describe_stream_consumer()
        .consumer_arn(&consumer_arn)
        .send()
        .await;
    let status = gone.as_ref().ok().and_then(|o| {
        o.consumer_description()
            .map(|d| d.consumer_status().as_str().to_string())
    });
    assert!(
        gone.is_err() || status.as_deref() == Some("DELETING"),
        "{name} still registered: {status:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_registered_by_someone_else_is_neither_reused_nor_deregistered() {
    let (server, c, ready) = common::endpoint_with_stream("theirs", 1).await;
    let efo = efo_for(&server.url()).await;
    let arn = efo::stream_arn(&efo, &ready.name)
        .await
        .expect("stream arn");
    c.register_stream_consumer()
        .stream_arn(&arn)
        .consumer_name("kbench-17-theirs")
        .send()
        .await
        .expect("their registration");

    let err = efo::register(&efo, &arn, "kbench-17-theirs", ACTIVE_WITHIN)
        .await
        .expect_err("the name is taken");
    assert!(matches!(err, EfoError::AlreadyRegistered { .. }), "{err}");
    let words = err.to_string();
    assert!(
        words.contains("`kbench-17-theirs` is already registered"),
        "{words}"
    );
    assert!(words.contains("deregister-stream-consumer"), "{words}");

    // theirs becomes ACTIVE on its own time; kbench may read with it then, never deregister it
    let began = Instant::now();
    let theirs = loop {
        match Registered::existing(&efo, &arn, "kbench-17-theirs").await {
            Ok(r) => break r,
            Err(EfoError::NotActive { .. }) if began.elapsed() < Duration::from_secs(30) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert!(!theirs.ours());
    assert!(!theirs.deregister().await.expect("a no-op"));
    let still = c
        .describe_stream_consumer()
        .stream_arn(&arn)
        .consumer_name("kbench-17-theirs")
        .send()
        .await
        .expect("still there");
    assert_eq!(
        still
            .consumer_description()
            .map(|d| d.consumer_status().as_str()),
        Some("ACTIVE")
    );
}

/// A TCP server that answers every connection as an HTTP/1.1-only server answers what it
/// cannot parse: `400` with an UnknownOperationException body (kinesalite's answer to an
/// operation it does not know), then closes. `silent`: accepts and never says anything.
async fn http1_only(silent: bool) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut conn, _)) = listener.accept().await {
            if silent {
                held.push(conn);
                continue;
            }
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                let body = r#"{"__type":"UnknownOperationException"}"#;
                let answer = format!(
                    "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(answer.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    (url, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_without_efo_says_so() {
    let (url, server) = http1_only(false).await;
    let efo = efo_for(&url).await;
    let err = efo::register(
        &efo,
        "arn:aws:kinesis:us-east-1:000000000000:stream/s",
        "kbench-17-c",
        ACTIVE_WITHIN,
    )
    .await
    .expect_err("no EFO there");
    let words = err.to_string();
    assert!(matches!(err, EfoError::Unsupported { .. }), "{words}");
    assert!(
        words.starts_with(&format!("the endpoint at {url} does not support enhanced fan-out (RegisterStreamConsumer: UnknownOperationException")),
        "{words}"
    );
    assert!(words.ends_with("use kind = \"polling\""), "{words}");
    server.abort();
}

/// The error of subscribing one shard through `efo` (whose endpoint cannot serve it), within
/// a minute: an error, never a hang.
async fn subscribe_error(efo: &Efo) -> String {
    let consumer = "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1";
    let shards = ["shardId-000000000000".to_string()];
    tokio::time::timeout(
        Duration::from_secs(60),
        efo::subscribe_all(efo, consumer, &shards, Start::Latest),
    )
    .await
    .expect("an error, not a hang")
    .expect_err("no subscription there")
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http1_only_endpoint_fails_subscribe_to_shard_clearly() {
    let (url, server) = http1_only(false).await;
    let words = subscribe_error(&efo_for(&url).await).await;
    assert!(
        words.contains(&format!(
            "the endpoint at {url} does not speak HTTP/2 without TLS (h2c)"
        )),
        "{words}"
    );
    assert!(
        words.contains("it answered `HTTP/1.1 400 Bad Request` to the HTTP/2 connection preface"),
        "{words}"
    );
    assert!(words.contains("use kind = \"polling\""), "{words}");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_endpoint_is_an_error_within_the_call_timeout() {
    let (url, server) = http1_only(true).await;
    let mut efo = efo_for(&url).await;
    efo.call_timeout = Duration::from_millis(500);
    let words = subscribe_error(&efo).await;
    assert!(
        words.contains(&format!("no answer from {url} within 0.5 s")),
        "{words}"
    );
    assert!(words.contains("speaks only HTTP/1.1"), "{words}");
    server.abort();
}
