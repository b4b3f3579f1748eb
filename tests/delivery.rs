//! The embedded Firehose delivers as Firehose does (issue 18; src/endpoint/embedded/delivery.rs):
//! a delivery stream reads its Kinesis stream from LATEST, closes each shard's objects at the
//! size hint or the interval hint, de-aggregates KPL records, and writes objects named as
//! Firehose names them into the embedded S3 on the same port. Objects are counted and their
//! bytes checked, never timed, apart from the interval test, which counts objects within one.

mod common;

use axum::body::Bytes;
use axum::http::Request;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kbench::endpoint::client;
use kbench::endpoint::embedded::{Embedded, EmbeddedOptions};
use kbench::scenario::Endpoint;
use serde_json::{Value, json};
use std::time::Duration;

/// Long enough for anything here on a loaded machine; reaching it fails the test.
const DEADLINE: Duration = Duration::from_secs(90);

const BUCKET: &str = "pipeline";

/// The hash keys that put a record on the first or the second of two shards.
const SHARD_KEYS: [&str; 2] = ["0", "200000000000000000000000000000000000000"];

struct Pipeline {
    server: Embedded,
    kinesis: aws_sdk_kinesis::Client,
    s3: aws_sdk_s3::Client,
    _dir: tempfile::TempDir,
}

/// An endpoint serving S3 (without write or read limits unless `limits`), a stream `stream` of
/// `shards` shards and the bucket [`BUCKET`].
async fn pipeline(stream: &str, shards: u32, limits: bool) -> Pipeline {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = EmbeddedOptions {
        enforce_limits: limits,
        s3_dir: Some(dir.path().to_path_buf()),
        ..EmbeddedOptions::default()
    };
    let (server, kinesis, _) = common::endpoint_with_stream_and(stream, shards, &options).await;
    let s3 = client::s3(&Endpoint::Embedded, None, Some(&server.url()))
        .await
        .expect("s3 client");
    s3.create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("bucket");
    Pipeline {
        server,
        kinesis,
        s3,
        _dir: dir,
    }
}

/// A Firehose call; its status and JSON answer.
async fn firehose(url: &str, operation: &str, body: &Value) -> (u16, Value) {
    let request = Request::post(format!("{url}/"))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("Firehose_20150804.{operation}"))
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request");
    let client = Client::builder(TokioExecutor::new()).build_http();
    let response = client.request(request).await.expect("firehose call");
    let status = response.status().as_u16();
    (status, common::json_body(response.into_body()).await)
}

/// Creates the delivery stream `name` reading `stream` with `s3` as its
/// ExtendedS3DestinationConfiguration (bucket [`BUCKET`] unless it names one), and waits until
/// it is ACTIVE.
async fn deliver(p: &Pipeline, name: &str, stream: &str, mut s3: Value) {
    s3["RoleARN"] = "arn:aws:iam::000000000000:role/firehose".into();
    if s3.get("BucketARN").is_none() {
        s3["BucketARN"] = format!("arn:aws:s3:::{BUCKET}").into();
    }
    let create = json!({
        "DeliveryStreamName": name,
        "DeliveryStreamType": "KinesisStreamAsSource",
        "KinesisStreamSourceConfiguration": {
            "KinesisStreamARN": format!("arn:aws:kinesis:us-east-1:000000000000:stream/{stream}"),
            "RoleARN": "arn:aws:iam::000000000000:role/firehose",
        },
        "ExtendedS3DestinationConfiguration": s3,
    });
    let url = p.server.url();
    let (status, out) = firehose(&url, "CreateDeliveryStream", &create).await;
    assert_eq!(status, 200, "{out}");
    until("the delivery stream is ACTIVE", || async {
        let (_, d) = firehose(
            &url,
            "DescribeDeliveryStream",
            &json!({"DeliveryStreamName": name}),
        )
        .await;
        d["DeliveryStreamDescription"]["DeliveryStreamStatus"] == "ACTIVE"
    })
    .await;
    // ACTIVE means reading: every shard's LATEST iterator is taken, so nothing written from
    // now on is missed
}

/// Polls `done` until it is true (within [`DEADLINE`]).
async fn until<F: std::future::Future<Output = bool>>(what: &str, done: impl FnMut() -> F) {
    common::until(what, DEADLINE, done).await;
}

/// Writes `data` to the shard `shard` (0 or 1) of `stream`, retrying throttled writes.
async fn put(c: &aws_sdk_kinesis::Client, stream: &str, shard: usize, data: Vec<u8>) {
    loop {
        let sent = c
            .put_record()
            .stream_name(stream)
            .partition_key("k")
            .explicit_hash_key(SHARD_KEYS[shard])
            .data(aws_sdk_kinesis::primitives::Blob::new(data.clone()))
            .send()
            .await;
        match sent {
            Ok(_) => return,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_provisioned_throughput_exceeded_exception()) =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!(
                "PutRecord: {}",
                aws_sdk_kinesis::error::DisplayErrorContext(&e)
            ),
        }
    }
}

/// The keys of the bucket's objects under `prefix` and their bodies, in key order.
async fn objects(s3: &aws_sdk_s3::Client, prefix: &str) -> Vec<(String, Vec<u8>)> {
    let listed = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(prefix)
        .send()
        .await
        .expect("list");
    let mut out = Vec::new();
    for object in listed.contents() {
        let key = object.key().expect("a key").to_string();
        let body = s3
            .get_object()
            .bucket(BUCKET)
            .key(&key)
            .send()
            .await
            .expect("get")
            .body
            .collect()
            .await
            .expect("body")
            .into_bytes()
            .to_vec();
        out.push((key, body));
    }
    out
}

#[tokio::test]
async fn objects_close_at_the_size_hint_and_are_named_as_firehose_names_them() {
    let p = pipeline("sized", 2, false).await;
    deliver(
        &p,
        "sized-to-s3",
        "sized",
        json!({"Prefix": "sized/", "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 900}}),
    )
    .await;
    // 25 records of 100 KiB on each shard: ten fit in 1 MiB, so two objects of ten close at
    // the size hint on each shard and five records wait for the interval (15 minutes)
    const RECORD: usize = 100 * 1024;
    for i in 0..25u8 {
        for shard in 0..2 {
            put(&p.kinesis, "sized", shard, vec![b'a' + i % 26; RECORD]).await;
        }
    }
    until("four objects", || async {
        objects(&p.s3, "sized/").await.len() >= 4
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await; // nothing more may come
    let objects = objects(&p.s3, "sized/").await;
    assert_eq!(objects.len(), 4, "two objects per shard");
    let key_shape = regex_free_key_check("sized/", "sized-to-s3", false);
    for (key, body) in &objects {
        key_shape(key);
        assert_eq!(
            body.len(),
            10 * RECORD,
            "{key}: ten records, closed by size"
        );
    }
}

/// A checker of keys `<prefix>YYYY/MM/dd/HH/<name>-1-YYYY-MM-dd-HH-mm-ss-<uuid>[.gz]`.
fn regex_free_key_check(prefix: &str, name: &str, gz: bool) -> impl Fn(&str) {
    let prefix = prefix.to_string();
    let name = name.to_string();
    move |key: &str| {
        let rest = key
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{key}: not under {prefix}"));
        let rest = if gz {
            rest.strip_suffix(".gz")
                .unwrap_or_else(|| panic!("{key}: no .gz"))
        } else {
            rest
        };
        let (time_prefix, file) = rest.split_at(14);
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        let parts: Vec<&str> = time_prefix.split('/').collect();
        assert!(
            parts.len() == 5 && parts[..4].iter().all(|p| digits(p)) && parts[4].is_empty(),
            "{key}: no YYYY/MM/dd/HH/ after the prefix"
        );
        let file = file
            .strip_prefix(&format!("{name}-1-"))
            .unwrap_or_else(|| panic!("{key}: not <name>-<version>-"));
        let (stamp, id) = file.split_at(20);
        assert!(
            stamp.split('-').take(6).all(|p| p.len() >= 2 && digits(p)) && stamp.ends_with('-'),
            "{key}: no YYYY-MM-dd-HH-mm-ss-"
        );
        assert!(
            uuid::Uuid::parse_str(id).is_ok(),
            "{key}: no uuid at the end"
        );
        assert_eq!(
            &stamp[..13],
            &format!("{}-{}-{}-{}", parts[0], parts[1], parts[2], parts[3]),
            "{key}: the name's time is the prefix's hour"
        );
    }
}

#[tokio::test]
async fn objects_close_at_the_interval_hint_when_the_size_is_not_reached() {
    let p = pipeline("timed", 1, false).await;
    deliver(
        &p,
        "timed-to-s3",
        "timed",
        json!({"BufferingHints": {"SizeInMBs": 128, "IntervalInSeconds": 2}}),
    )
    .await;
    // a record every 100 ms for 8 s: about four intervals of 2 s
    let started = std::time::Instant::now();
    let mut sent = 0u32;
    while started.elapsed() < Duration::from_secs(8) {
        put(&p.kinesis, "timed", 0, format!("r{sent};").into_bytes()).await;
        sent += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all = || async {
        let got: usize = objects(&p.s3, "")
            .await
            .iter()
            .map(|(_, b)| b.iter().filter(|&&c| c == b';').count())
            .sum();
        got == sent as usize
    };
    until("every record delivered", all).await;
    let objects = objects(&p.s3, "").await;
    assert!(
        (3..=5).contains(&objects.len()),
        "{} objects for 8 s of records at a 2 s interval (4, within one)",
        objects.len()
    );
    // each record once, in order
    let text: String = objects
        .iter()
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .collect();
    let expected: String = (0..sent).map(|i| format!("r{i};")).collect();
    assert_eq!(text, expected);
}

#[tokio::test]
async fn kpl_aggregates_are_delivered_as_their_records_with_the_delimiter_and_gzipped() {
    use std::io::Read;
    let p = pipeline("kpl", 1, true).await;
    deliver(
        &p,
        "kpl-to-s3",
        "kpl",
        json!({
            "Prefix": "kpl/",
            "CompressionFormat": "GZIP",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1},
            "ProcessingConfiguration": {"Enabled": true, "Processors": [
                {"Type": "AppendDelimiterToRecord"}
            ]},
        }),
    )
    .await;
    let mut aggregate = kbench::aggregate::Builder::new();
    for i in 0..30 {
        aggregate.push(&format!("k{i}"), None, format!("user-{i}").into_bytes());
    }
    put(&p.kinesis, "kpl", 0, aggregate.finish()).await;
    put(&p.kinesis, "kpl", 0, b"plain".to_vec()).await;
    let delivered = || async {
        let mut text = Vec::new();
        for (key, body) in objects(&p.s3, "kpl/").await {
            assert!(key.ends_with(".gz"), "{key}");
            flate2::read::GzDecoder::new(body.as_slice())
                .read_to_end(&mut text)
                .expect("gunzip");
        }
        text
    };
    until("31 records", || async {
        delivered().await.iter().filter(|&&c| c == b'\n').count() >= 31
    })
    .await;
    let mut expected: Vec<u8> = (0..30)
        .flat_map(|i| format!("user-{i}\n").into_bytes())
        .collect();
    expected.extend_from_slice(b"plain\n");
    assert_eq!(
        String::from_utf8_lossy(&delivered().await),
        String::from_utf8_lossy(&expected)
    );
}

#[tokio::test]
async fn a_delivery_stream_is_refused_for_a_missing_stream_or_bucket() {
    let p = pipeline("here", 1, false).await;
    let url = p.server.url();
    for (stream, bucket, says) in [
        ("missing", BUCKET, "Stream missing under account"),
        ("here", "no-such-bucket", "no-such-bucket"),
    ] {
        let create = json!({
            "DeliveryStreamName": "refused",
            "DeliveryStreamType": "KinesisStreamAsSource",
            "KinesisStreamSourceConfiguration": {
                "KinesisStreamARN": format!("arn:aws:kinesis:us-east-1:000000000000:stream/{stream}"),
                "RoleARN": "arn:aws:iam::000000000000:role/firehose",
            },
            "ExtendedS3DestinationConfiguration": {
                "RoleARN": "arn:aws:iam::000000000000:role/firehose",
                "BucketARN": format!("arn:aws:s3:::{bucket}"),
            },
        });
        let (status, e) = firehose(&url, "CreateDeliveryStream", &create).await;
        assert_eq!(
            (status, e["__type"].as_str()),
            (400, Some("InvalidArgumentException")),
            "{e}"
        );
        let message = e["message"].as_str().unwrap_or("");
        assert!(message.contains(says), "{message}");
    }
}

// --- kbench run with a [delivery] table ---------------------------------------------------------

fn run_settings(out: &std::path::Path) -> kbench::run::RunSettings {
    kbench::run::RunSettings {
        out: out.to_path_buf(),
        progress: false,
        embedded: EmbeddedOptions::default(),
    }
}

async fn run_pipeline(text: &str, out: &std::path::Path) -> kbench::run::RunOutcome {
    let scenario = kbench::scenario::parse(text, "pipeline.toml", "pipeline")
        .unwrap_or_else(|e| panic!("{e}"));
    kbench::run::run(
        &scenario,
        &run_settings(out),
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("run failed: {e:#}"))
}

#[tokio::test]
async fn a_run_with_a_delivery_finds_every_acknowledged_record_once_in_s3() {
    let out = tempfile::tempdir().expect("temp dir");
    let text = r#"
name = "pipeline"
[target]
shards = 2
[records]
payload = { template = '{"n": {{int 0 1000}}}' }
[[phase]]
name = "run"
duration = "4s"
rate = 250
[consumer]
poll_interval = "1s"
[delivery]
bucket = "kbench-pipeline"
prefix = "clicks/"
buffer = { size = "1MiB", interval = "1s" }
compression = "gzip"
delimiter = "\n"
"#;
    let outcome = run_pipeline(text, out.path()).await;
    let v = &outcome.summary.variants[0];
    assert_eq!(v.status, "completed", "{:?}", v.failure);
    let d = v.delivery.as_ref().expect("a delivery summary");
    assert_eq!(d.delivered, 1000);
    assert_eq!(
        (d.lost, d.duplicates, d.unverified, d.unreadable),
        (0, 0, 0, 0)
    );
    assert_eq!(d.latency.count, 1000);
    assert_eq!(
        (d.kind.as_str(), d.prefix.as_str()),
        ("firehose", "clicks/")
    );
    // the objects are beside the report, named as Firehose names them, and objects.csv has a
    // row for each
    let bucket = outcome
        .dir
        .join("s3")
        .join("kbench-pipeline")
        .join("clicks");
    let mut keys = Vec::new();
    for entry in walk(&bucket) {
        let key = entry
            .strip_prefix(outcome.dir.join("s3").join("kbench-pipeline"))
            .expect("under the bucket")
            .to_string_lossy()
            .into_owned();
        keys.push(key);
    }
    assert_eq!(keys.len() as u64, d.objects);
    let check = regex_free_key_check("clicks/", "kbench-pipeline-to-s3", true);
    for k in &keys {
        check(k);
    }
    let csv = std::fs::read_to_string(outcome.dir.join("objects.csv")).expect("objects.csv");
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len() as u64, d.objects, "{csv}");
    let records: u64 = rows
        .iter()
        .map(|r| {
            r.split(',')
                .nth(4)
                .and_then(|n| n.parse::<u64>().ok())
                .expect("records")
        })
        .sum();
    assert_eq!(records, 1000, "{csv}");
    assert!(rows.iter().all(|r| r.ends_with(",interval")), "{csv}");
    let run: Value =
        serde_json::from_slice(&std::fs::read(outcome.dir.join("run.json")).expect("run.json"))
            .expect("JSON");
    let errors = common::schema_errors(&run);
    assert!(errors.is_empty(), "run.json against the schema: {errors:?}");
    assert_eq!(run["variants"][0]["delivery"]["delivered"], 1000);
    // the delivery stream kbench created is gone: a second run can create it again
    let again = run_pipeline(text, out.path()).await;
    let d = again.summary.variants[0]
        .delivery
        .as_ref()
        .expect("delivery");
    assert_eq!((d.delivered, d.lost), (1000, 0));
}

/// Every file under `dir` (hidden ones left out).
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a folder").flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
