use super::*;
use governor::clock::FakeRelativeClock;
use std::time::Duration;

const MIB: u64 = 1 << 20;

fn fresh() -> (ReadLimits<FakeRelativeClock>, FakeRelativeClock) {
    let clock = FakeRelativeClock::default();
    (ReadLimits::new(clock.clone(), "000000000000".into()), clock)
}

fn shard(stream: &str, n: u32) -> Shard {
    Shard {
        stream: stream.into(),
        shard_id: format!("shardId-{n:012}"),
    }
}

/// How many of `calls` calls to `call`, `every` apart, are throttled.
fn throttles(
    clock: &FakeRelativeClock,
    calls: usize,
    every: Duration,
    mut call: impl FnMut() -> Result<(), Throttled>,
) -> usize {
    (0..calls)
        .filter(|_| {
            let throttled = call().is_err();
            clock.advance(every);
            throttled
        })
        .count()
}

#[test]
fn six_get_records_calls_on_a_shard_within_a_second_get_one_throttle() {
    let a = shard("s", 0);
    for every in [Duration::ZERO, Duration::from_millis(10)] {
        let (limits, clock) = fresh();
        assert!(limits.get_records(&a).is_ok(), "the first call passes");
        let throttled = throttles(&clock, 5, every, || limits.get_records(&a));
        assert_eq!(throttled, 1, "6 calls {every:?} apart");
    }
    // at the limit, one call every 200 ms, none is throttled, however long
    let (limits, clock) = fresh();
    let ms200 = Duration::from_millis(200);
    assert_eq!(throttles(&clock, 100, ms200, || limits.get_records(&a)), 0);
    // a little faster, and some are
    let ms150 = Duration::from_millis(150);
    assert!(throttles(&clock, 100, ms150, || limits.get_records(&a)) > 0);
}

#[test]
fn get_shard_iterator_six_calls_in_a_second_get_one_throttle() {
    let (limits, clock) = fresh();
    let a = shard("s", 0);
    let ms = Duration::from_millis(10);
    assert_eq!(
        throttles(&clock, 6, ms, || limits.get_shard_iterator(&a)),
        1
    );
    // its limit is its own: GetRecords on the same shard is not held up by it
    let (limits, clock) = fresh();
    assert_eq!(
        throttles(&clock, 5, ms, || limits.get_shard_iterator(&a)),
        0
    );
    assert_eq!(throttles(&clock, 5, ms, || limits.get_records(&a)), 0);
    // and once its burst is spent, one more call per 200 ms passes
    let (limits, clock) = fresh();
    let none = Duration::ZERO;
    assert_eq!(
        throttles(&clock, 7, none, || limits.get_shard_iterator(&a)),
        2
    );
    clock.advance(Duration::from_millis(200));
    assert!(limits.get_shard_iterator(&a).is_ok());
    assert!(limits.get_shard_iterator(&a).is_err());
}

#[test]
fn a_response_over_two_mib_puts_the_shard_in_debt_until_it_is_paid_back() {
    let (limits, clock) = fresh();
    let a = shard("s", 0);
    assert!(limits.get_records(&a).is_ok());
    // 10 MiB from a full allowance: 8 MiB owed, 4 s at 2 MiB/s
    limits.charge(&a, 10 * MIB);
    // (calls 200 ms apart, at the call rate, so that only the debt can refuse them)
    let mut passed_at = None;
    for tick in 1..=50u32 {
        clock.advance(Duration::from_millis(200));
        if limits.get_records(&a).is_ok() {
            passed_at = Some(tick);
            break;
        }
    }
    assert_eq!(passed_at, Some(20), "throttled for 4 s, in 200 ms steps");
    // then calls pass at the call rate again
    let ms200 = Duration::from_millis(200);
    assert_eq!(throttles(&clock, 20, ms200, || limits.get_records(&a)), 0);

    // one byte over a full allowance is a debt too, paid back in half a microsecond
    let (limits, clock) = fresh();
    assert!(limits.get_records(&a).is_ok());
    limits.charge(&a, 2 * MIB + 1);
    assert_eq!(limits.get_records(&a), Err(Throttled));
    clock.advance(Duration::from_micros(1));
    assert_eq!(limits.get_records(&a), Ok(()));
    // and exactly the allowance is none
    let (limits, _clock) = fresh();
    limits.charge(&a, 2 * MIB);
    assert_eq!(limits.get_records(&a), Ok(()));
}

#[test]
fn two_shards_do_not_share_a_limit() {
    let (limits, clock) = fresh();
    let a = shard("s", 0);
    let b = shard("s", 1);
    let other_stream = shard("t", 0);
    let none = Duration::ZERO;
    assert_eq!(throttles(&clock, 6, none, || limits.get_records(&a)), 1);
    assert_eq!(
        throttles(&clock, 6, none, || limits.get_shard_iterator(&a)),
        1
    );
    for s in [&b, &other_stream] {
        assert_eq!(throttles(&clock, 5, none, || limits.get_records(s)), 0);
        assert_eq!(
            throttles(&clock, 5, none, || limits.get_shard_iterator(s)),
            0
        );
    }
    // a debt on one shard holds up no other
    clock.advance(Duration::from_secs(2));
    limits.charge(&a, 10 * MIB);
    assert_eq!(limits.get_records(&a), Err(Throttled));
    assert_eq!(limits.get_records(&b), Ok(()));
    assert_eq!(limits.get_records(&other_stream), Ok(()));
}

#[test]
fn idle_shards_are_forgotten_so_memory_stays_bounded() {
    let (limits, clock) = fresh();
    for n in 0..10_000 {
        let s = shard("s", n);
        assert!(limits.get_shard_iterator(&s).is_ok());
        assert!(limits.get_records(&s).is_ok());
        limits.charge(&s, 3 * MIB);
    }
    assert_eq!(limits.tracked(), (10_000, 10_000, 10_000));
    // the stream is deleted; once the sweep is due, a read of another shard drops them all
    clock.advance(Duration::from_secs(6));
    assert!(limits.get_records(&shard("new", 0)).is_ok());
    assert_eq!(limits.tracked(), (1, 0, 0));
    // a shard still paying back a debt keeps its entry, and its debt, through the sweep
    let a = shard("s", 0);
    limits.charge(&a, 40 * MIB);
    clock.advance(Duration::from_secs(6));
    assert_eq!(limits.get_records(&a), Err(Throttled));
    assert_eq!(limits.tracked().2, 1);
}

#[tokio::test]
async fn a_throttled_read_is_answered_as_kinesis_answers_it() {
    let (limits, _clock) = fresh();
    let response = limits.throttled(&shard("orders", 3));
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let code = "ProvisionedThroughputExceededException";
    assert_eq!(
        response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok()),
        Some(code)
    );
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .expect("body");
    let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(body["__type"], code);
    assert_eq!(
        body["message"],
        "Rate exceeded for Shard - 000000000000/orders/shardId-000000000003"
    );
}

/// The layer on ferrokinesis itself, through the SDK, on a fake clock that stands still: the
/// bytes of ferrokinesis's own GetRecords answer are charged, and the shard's next calls are
/// throttled until the debt is paid back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferrokinesis_answers_are_charged_and_the_shard_throttled_until_paid_back() {
    use aws_sdk_kinesis::error::ProvideErrorMetadata;
    use aws_sdk_kinesis::primitives::Blob;
    use aws_sdk_kinesis::types::ShardIteratorType;
    let (app, store) = ferrokinesis::create_app(ferrokinesis::store::StoreOptions {
        create_stream_ms: 10,
        ..Default::default()
    });
    let (limits, clock) = fresh();
    let account = store.aws_account_id.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let server =
        super::super::Embedded::serve_app(listener, apply(app, Arc::new(limits))).expect("serve");
    let endpoint = crate::scenario::Endpoint::Embedded;
    let c = crate::endpoint::client::build(&endpoint, None, Some(&server.url()))
        .await
        .expect("client");
    crate::endpoint::stream::ensure(&c, "bytes", 1, true, Duration::from_secs(30))
        .await
        .expect("stream");
    // three records of 1 MiB each, data and key: 3 MiB, 1 MiB over a full allowance
    for _ in 0..3 {
        c.put_record()
            .stream_name("bytes")
            .partition_key("k")
            .data(Blob::new(vec![b'x'; (MIB - 1) as usize]))
            .send()
            .await
            .expect("PutRecord");
    }
    let iterator = c
        .get_shard_iterator()
        .stream_name("bytes")
        .shard_id("shardId-000000000000")
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("GetShardIterator")
        .shard_iterator
        .expect("an iterator");
    let read = c
        .get_records()
        .shard_iterator(iterator)
        .send()
        .await
        .expect("the first GetRecords is delivered whole");
    assert_eq!(read.records().len(), 3);
    let next = read.next_shard_iterator().expect("open shard").to_string();
    let get = || c.get_records().shard_iterator(&next).send();
    let throttled = get().await.expect_err("1 MiB owed");
    assert_eq!(
        throttled.code(),
        Some("ProvisionedThroughputExceededException")
    );
    assert_eq!(
        throttled.message().map(str::to_string),
        Some(format!(
            "Rate exceeded for Shard - {account}/bytes/shardId-000000000000"
        ))
    );
    // 1 MiB at 2 MiB/s: paid back after 500 ms
    clock.advance(Duration::from_millis(499));
    assert!(get().await.is_err(), "still owing at 499 ms");
    clock.advance(Duration::from_millis(1));
    let after = get().await.expect("paid back at 500 ms");
    assert!(after.records().is_empty());
    server.shutdown().await;
}
