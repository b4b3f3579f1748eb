//! The embedded Firehose endpoint: CreateDeliveryStream, DescribeDeliveryStream,
//! ListDeliveryStreams, DeleteDeliveryStream, and PutRecord / PutRecordBatch for DirectPut, over
//! awsJson1_1 (`X-Amz-Target: Firehose_20150804.<Operation>`), on the same port as Kinesis and
//! S3. A delivery stream is CREATING for the endpoint's lifecycle delay and until it reads (every
//! open shard's LATEST iterator taken), then ACTIVE: what is written once it is ACTIVE is
//! delivered. It then delivers (`delivery.rs`: reading its Kinesis stream, or taking DirectPut
//! records, into objects of the embedded S3); deleting it stops its delivery and removes it.
//!
//! Validated as Firehose validates (../shared/spec/KINESIS.md, "Firehose delivery"): the name
//! (1-64 of `[a-zA-Z0-9_.-]`), the buffering hints (1-128 MiB, 0-900 s: out of range is a
//! `ValidationException` in AWS's "1 validation error detected" wording), a stream-sourced
//! delivery stream names a Kinesis stream that exists, one S3 destination with a bucket ARN of
//! a bucket that exists, prefixes whose expressions it can apply; PutRecord to a stream-sourced
//! delivery stream is refused.

use super::delivery::{self, Counts, Destination, Sink};
use crate::scenario::Endpoint;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{OnceCell, mpsc};
use tokio_util::sync::CancellationToken;

/// The target prefix of Firehose's operations.
pub(super) const TARGET_PREFIX: &str = "Firehose_20150804.";

const ACCOUNT: &str = "000000000000";

/// Whether a request is for Firehose.
pub(super) fn is_firehose(headers: &axum::http::HeaderMap) -> bool {
    super::request::target(headers).starts_with(TARGET_PREFIX)
}

/// Where the embedded Firehose runs.
pub(super) struct Setting {
    /// Goes into ARNs.
    pub region: String,
    /// How long a new delivery stream stays CREATING.
    pub delay: Duration,
    /// The endpoint's own URL: the delivery engine reads Kinesis and writes S3 through it.
    pub url: String,
    /// The embedded S3's directory (a bucket is a folder of it); None: no S3 is served, and
    /// no delivery stream can be created.
    pub s3_dir: Option<PathBuf>,
    /// Cancelled when the endpoint stops: every delivery stops with it.
    pub stop: CancellationToken,
}

/// The Firehose API as a router.
pub(super) fn router(setting: Setting) -> Router {
    let state = Arc::new(Firehose {
        setting,
        clients: OnceCell::new(),
        streams: Mutex::default(),
    });
    Router::new().fallback(handle).with_state(state)
}

struct Firehose {
    setting: Setting,
    /// The delivery engine's clients of the endpoint itself, made at first use.
    clients: OnceCell<(aws_sdk_kinesis::Client, aws_sdk_s3::Client)>,
    streams: Mutex<BTreeMap<String, DeliveryStream>>,
}

struct DeliveryStream {
    arn: String,
    kind: String,
    created: Instant,
    created_unix_s: f64,
    source: Option<SourceConfig>,
    destination: S3Config,
    /// Stops its delivery (when deleted, or when the endpoint stops).
    stop: CancellationToken,
    counts: Arc<Counts>,
    /// DirectPut: where PutRecord and PutRecordBatch hand their records to its delivery.
    direct: Option<mpsc::Sender<Vec<Bytes>>>,
}

impl Drop for DeliveryStream {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct SourceConfig {
    #[serde(rename = "KinesisStreamARN")]
    kinesis_stream_arn: String,
    #[serde(rename = "RoleARN", default)]
    role_arn: String,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct S3Config {
    #[serde(rename = "RoleARN", default)]
    role_arn: String,
    #[serde(rename = "BucketARN")]
    bucket_arn: String,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    error_output_prefix: Option<String>,
    #[serde(default)]
    buffering_hints: Option<Hints>,
    #[serde(default)]
    compression_format: Option<String>,
    #[serde(default)]
    processing_configuration: Option<serde_json::Value>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "PascalCase")]
struct Hints {
    #[serde(rename = "SizeInMBs", default)]
    size_in_mbs: Option<i64>,
    #[serde(default)]
    interval_in_seconds: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Create {
    delivery_stream_name: String,
    #[serde(default)]
    delivery_stream_type: Option<String>,
    #[serde(default)]
    kinesis_stream_source_configuration: Option<SourceConfig>,
    #[serde(default)]
    extended_s3_destination_configuration: Option<S3Config>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Named {
    delivery_stream_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutOne {
    delivery_stream_name: String,
    record: Blob,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutBatch {
    delivery_stream_name: String,
    records: Vec<Blob>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Blob {
    data: String,
}

/// Firehose's limits on DirectPut (../shared/spec/KINESIS.md): a record's data, a batch's
/// records and bytes.
const MAX_RECORD_BYTES: usize = 1_000 * 1024;
const MAX_BATCH_RECORDS: usize = 500;
const MAX_BATCH_BYTES: usize = 4 << 20;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct List {
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    exclusive_start_delivery_stream_name: Option<String>,
}

/// A Firehose error: 400, the code in `x-amzn-errortype` and `__type`, and the message.
fn error(code: &str, message: &str) -> Response {
    super::request::kinesis_error(StatusCode::BAD_REQUEST, code, message)
}

fn answer(value: serde_json::Value) -> Response {
    Response::builder()
        .header("content-type", "application/x-amz-json-1.1")
        .body(axum::body::Body::from(value.to_string()))
        .unwrap_or_default()
}

async fn handle(State(f): State<Arc<Firehose>>, request: Request) -> Response {
    let operation = super::request::operation(request.headers()).to_string();
    let body: Bytes = match super::request::read_body(request).await {
        Ok((_, body)) => body,
        Err(refused) => return refused,
    };
    match operation.as_str() {
        "CreateDeliveryStream" => match input(&body) {
            Ok(c) => f.create(c).await,
            Err(refused) => *refused,
        },
        "DescribeDeliveryStream" => parsed(&body, |n: Named| f.describe(&n.delivery_stream_name)),
        "ListDeliveryStreams" => parsed(&body, |l| f.list(l)),
        "DeleteDeliveryStream" => parsed(&body, |n: Named| f.delete(&n.delivery_stream_name)),
        "PutRecord" => match input::<PutOne>(&body) {
            Ok(p) => f.put(&p.delivery_stream_name, vec![p.record], false).await,
            Err(refused) => *refused,
        },
        "PutRecordBatch" => match input::<PutBatch>(&body) {
            Ok(p) => f.put(&p.delivery_stream_name, p.records, true).await,
            Err(refused) => *refused,
        },
        other => error(
            "UnknownOperationException",
            &format!("the embedded Firehose endpoint does not serve {other} (yet)"),
        ),
    }
}

/// `body` as a `T`, handed to `then`; a body that is not one is a SerializationException.
fn parsed<T: serde::de::DeserializeOwned>(
    body: &[u8],
    then: impl FnOnce(T) -> Response,
) -> Response {
    match input(body) {
        Ok(input) => then(input),
        Err(refused) => *refused,
    }
}

/// `body` as a `T`; a body that is not one is answered with a SerializationException.
fn input<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(error(
            "SerializationException",
            &format!("cannot read the request: {e}"),
        ))
    })
}

/// The delimiter the AppendDelimiterToRecord processor appends, when it is on: its `Delimiter`
/// parameter with `\n`, `\t`, `\r` and `\\` read as the characters they name, a newline
/// when it has none.
fn delimiter(processing: Option<&serde_json::Value>) -> Option<Vec<u8>> {
    let processing = processing?;
    if processing["Enabled"] == serde_json::Value::Bool(false) {
        return None;
    }
    let processor = processing["Processors"]
        .as_array()?
        .iter()
        .find(|p| p["Type"] == "AppendDelimiterToRecord")?;
    let given = processor["Parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["ParameterName"] == "Delimiter"))
        .and_then(|p| p["ParameterValue"].as_str());
    let Some(given) = given else {
        return Some(b"\n".to_vec());
    };
    let mut out = Vec::new();
    let mut chars = given.chars();
    while let Some(c) = chars.next() {
        let c = match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => '\n',
                Some('t') => '\t',
                Some('r') => '\r',
                Some(other) => other,
                None => '\\',
            },
            (c, false) => c,
        };
        let mut buf = [0; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    Some(out)
}

/// AWS's wording for a value out of its range.
fn out_of_range(value: i64, at: &str, constraint: &str) -> String {
    format!(
        "1 validation error detected: Value '{value}' at '{at}' failed to satisfy constraint: Member must have value {constraint}"
    )
}

impl Firehose {
    fn streams(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, DeliveryStream>> {
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn create(self: &Arc<Self>, c: Create) -> Response {
        let name = c.delivery_stream_name;
        let valid_name = (1..=64).contains(&name.len())
            && name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "_.-".contains(ch));
        if !valid_name {
            return error(
                "ValidationException",
                &format!(
                    "1 validation error detected: Value '{name}' at 'deliveryStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 1 and 64"
                ),
            );
        }
        let kind = c.delivery_stream_type.unwrap_or_else(|| "DirectPut".into());
        match (kind.as_str(), &c.kinesis_stream_source_configuration) {
            ("KinesisStreamAsSource", None) => {
                return error(
                    "InvalidArgumentException",
                    "KinesisStreamSourceConfiguration is required for a KinesisStreamAsSource delivery stream",
                );
            }
            ("DirectPut", Some(_)) => {
                return error(
                    "InvalidArgumentException",
                    "KinesisStreamSourceConfiguration is only allowed for a KinesisStreamAsSource delivery stream",
                );
            }
            ("KinesisStreamAsSource" | "DirectPut", _) => {}
            (other, _) => {
                return error(
                    "InvalidArgumentException",
                    &format!(
                        "the embedded Firehose endpoint serves DirectPut and KinesisStreamAsSource delivery streams, not {other}"
                    ),
                );
            }
        }
        let Some(destination) = c.extended_s3_destination_configuration else {
            return error(
                "InvalidArgumentException",
                "the embedded Firehose endpoint needs an ExtendedS3DestinationConfiguration",
            );
        };
        if !destination.bucket_arn.starts_with("arn:aws:s3:::") {
            return error(
                "ValidationException",
                &format!(
                    "1 validation error detected: Value '{}' at 'extendedS3DestinationConfiguration.bucketARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:.*:s3:::.*",
                    destination.bucket_arn
                ),
            );
        }
        if let Some(h) = destination.buffering_hints {
            let at = "extendedS3DestinationConfiguration.bufferingHints";
            if let Some(mb) = h.size_in_mbs.filter(|v| !(1..=128).contains(v)) {
                let constraint = if mb < 1 {
                    "greater than or equal to 1"
                } else {
                    "less than or equal to 128"
                };
                return error(
                    "ValidationException",
                    &out_of_range(mb, &format!("{at}.sizeInMBs"), constraint),
                );
            }
            if let Some(s) = h.interval_in_seconds.filter(|v| !(0..=900).contains(v)) {
                let constraint = if s < 0 {
                    "greater than or equal to 0"
                } else {
                    "less than or equal to 900"
                };
                return error(
                    "ValidationException",
                    &out_of_range(s, &format!("{at}.intervalInSeconds"), constraint),
                );
            }
        }
        let prefix = destination.prefix.clone().unwrap_or_default();
        let error_prefix = destination.error_output_prefix.clone().unwrap_or_default();
        if let Err(e) = delivery::check_prefix(&prefix, false)
            .and_then(|()| delivery::check_prefix(&error_prefix, true))
        {
            return error("InvalidArgumentException", &e);
        }
        if delivery::has_expressions(&prefix) && error_prefix.is_empty() {
            return error(
                "InvalidArgumentException",
                "ErrorOutputPrefix cannot be null or empty when Prefix contains expressions",
            );
        }
        let bucket = destination.bucket_arn["arn:aws:s3:::".len()..].to_string();
        let Some(s3_dir) = &self.setting.s3_dir else {
            return error(
                "InvalidArgumentException",
                "this embedded endpoint serves no S3, so it cannot deliver: start it with S3 (kbench serve serves it unless --no-s3)",
            );
        };
        if bucket.is_empty() || bucket.contains('/') || !s3_dir.join(&bucket).is_dir() {
            return error(
                "InvalidArgumentException",
                &format!(
                    "The specified bucket does not exist: {bucket} (create it first: aws s3 mb s3://{bucket})"
                ),
            );
        }
        let source_stream = match &c.kinesis_stream_source_configuration {
            Some(src) => match self.source_stream(&src.kinesis_stream_arn).await {
                Ok(stream) => Some(stream),
                Err(refused) => return refused,
            },
            None => None,
        };
        let hints = destination.buffering_hints;
        let size_mib = hints.and_then(|h| h.size_in_mbs).unwrap_or(5);
        let interval_s = hints.and_then(|h| h.interval_in_seconds).unwrap_or(300);
        let target = Arc::new(Destination {
            name: name.clone(),
            version: "1".into(),
            bucket,
            prefix,
            size: usize::try_from(size_mib).unwrap_or(5) << 20,
            interval: Duration::from_secs(u64::try_from(interval_s).unwrap_or(300)),
            gzip: destination.compression_format.as_deref() == Some("GZIP"),
            delimiter: delimiter(destination.processing_configuration.as_ref()),
        });
        if let Some(format) = destination
            .compression_format
            .as_deref()
            .filter(|f| !["UNCOMPRESSED", "GZIP"].contains(f))
        {
            return error(
                "InvalidArgumentException",
                &format!(
                    "the embedded Firehose delivers UNCOMPRESSED and GZIP objects, not {format}"
                ),
            );
        }
        let mut streams = self.streams();
        if streams.contains_key(&name) {
            return error(
                "ResourceInUseException",
                &format!("Firehose {name} under accountId {ACCOUNT} already exists"),
            );
        }
        let arn = format!(
            "arn:aws:firehose:{}:{ACCOUNT}:deliverystream/{name}",
            self.setting.region
        );
        let created_unix_s = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let stop = self.setting.stop.child_token();
        let counts = Arc::new(Counts::default());
        let (direct, records) = match source_stream {
            Some(_) => (None, None),
            None => {
                let (tx, rx) = mpsc::channel(64);
                (Some(tx), Some(rx))
            }
        };
        tokio::spawn(self.clone().deliver(
            source_stream,
            records,
            target,
            counts.clone(),
            stop.clone(),
        ));
        streams.insert(
            name,
            DeliveryStream {
                arn: arn.clone(),
                kind,
                created: Instant::now(),
                created_unix_s,
                source: c.kinesis_stream_source_configuration,
                destination,
                stop,
                counts,
                direct,
            },
        );
        answer(serde_json::json!({ "DeliveryStreamARN": arn }))
    }

    /// The delivery engine's clients of this endpoint.
    async fn clients(&self) -> anyhow::Result<&(aws_sdk_kinesis::Client, aws_sdk_s3::Client)> {
        let s = &self.setting;
        self.clients
            .get_or_try_init(|| async {
                let endpoint = Endpoint::Url(s.url.clone());
                let kinesis = crate::endpoint::client::build(&endpoint, Some(&s.region), None);
                let s3 = crate::endpoint::client::s3(&endpoint, Some(&s.region), None);
                Ok((kinesis.await?, s3.await?))
            })
            .await
    }

    /// The name of the Kinesis stream `arn` names, if it exists.
    async fn source_stream(&self, arn: &str) -> Result<String, Response> {
        let Some((_, stream)) = arn
            .strip_prefix("arn:aws:kinesis:")
            .and_then(|rest| rest.split_once(":stream/"))
        else {
            return Err(error(
                "ValidationException",
                &format!(
                    "1 validation error detected: Value '{arn}' at 'kinesisStreamSourceConfiguration.kinesisStreamARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:.*:kinesis:[a-zA-Z0-9\\-]+:\\d{{12}}:stream/[a-zA-Z0-9_.-]+"
                ),
            ));
        };
        let (kinesis, _) = self.clients().await.map_err(|e| {
            error(
                "ServiceUnavailableException",
                &format!("the embedded Firehose cannot reach its Kinesis: {e}"),
            )
        })?;
        match kinesis
            .describe_stream_summary()
            .stream_name(stream)
            .send()
            .await
        {
            Ok(_) => Ok(stream.to_string()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Err(error(
                    "InvalidArgumentException",
                    &format!("Stream {stream} under account {ACCOUNT} not found."),
                ))
            }
            Err(e) => Err(error(
                "ServiceUnavailableException",
                &format!(
                    "the embedded Firehose cannot describe {stream}: {}",
                    aws_sdk_kinesis::error::DisplayErrorContext(&e)
                ),
            )),
        }
    }

    /// A delivery stream's delivery: from when it is ACTIVE until `stop`.
    async fn deliver(
        self: Arc<Self>,
        source_stream: Option<String>,
        records: Option<mpsc::Receiver<Vec<Bytes>>>,
        target: Arc<Destination>,
        counts: Arc<Counts>,
        stop: CancellationToken,
    ) {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(self.setting.delay) => {}
        }
        let (kinesis, s3) = match self.clients().await {
            Ok(clients) => clients.clone(),
            Err(e) => {
                tracing::error!("firehose {}: cannot deliver: {e}", target.name);
                return;
            }
        };
        match (source_stream, records) {
            (Some(stream), _) => {
                delivery::from_stream(kinesis, s3, stream, target, counts, stop).await;
            }
            (None, Some(records)) => {
                counts
                    .reading
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                let sink = Sink::new(target, s3, counts, stop);
                delivery::from_puts(records, sink).await;
            }
            (None, None) => {}
        }
    }

    /// PutRecord (`batch` false) or PutRecordBatch into a DirectPut delivery stream.
    async fn put(&self, name: &str, records: Vec<Blob>, batch: bool) -> Response {
        use base64::Engine;
        let direct = {
            let streams = self.streams();
            let Some(d) = streams.get(name) else {
                return Self::not_found(name);
            };
            if !d.counts.reading.load(std::sync::atomic::Ordering::Relaxed) {
                return error(
                    "ResourceNotFoundException",
                    &format!(
                        "Firehose {name} under account {ACCOUNT} is not ACTIVE yet (CREATING)."
                    ),
                );
            }
            match &d.direct {
                Some(direct) => direct.clone(),
                None => {
                    return error(
                        "InvalidArgumentException",
                        "This operation is not permitted on KinesisStreamAsSource delivery stream type.",
                    );
                }
            }
        };
        if records.is_empty() || records.len() > MAX_BATCH_RECORDS {
            let constraint = if records.is_empty() {
                "Member must have length greater than or equal to 1"
            } else {
                "Member must have length less than or equal to 500"
            };
            return error(
                "ValidationException",
                &format!(
                    "1 validation error detected: Value at 'records' failed to satisfy constraint: {constraint}"
                ),
            );
        }
        let mut data = Vec::with_capacity(records.len());
        let mut total = 0;
        for (i, record) in records.iter().enumerate() {
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(&record.data) else {
                return error(
                    "SerializationException",
                    &format!("the data of record {i} is not base64"),
                );
            };
            if bytes.len() > MAX_RECORD_BYTES {
                let at = if batch {
                    format!("records.{}.member.data", i + 1)
                } else {
                    "record.data".into()
                };
                return error(
                    "ValidationException",
                    &format!(
                        "1 validation error detected: Value at '{at}' failed to satisfy constraint: Member must have length less than or equal to {MAX_RECORD_BYTES}"
                    ),
                );
            }
            total += bytes.len();
            data.push(Bytes::from(bytes));
        }
        if total > MAX_BATCH_BYTES {
            return error(
                "InvalidArgumentException",
                &format!("Records size exceeds 4 MiB limit ({total} bytes)"),
            );
        }
        let ids: Vec<String> = (0..data.len())
            .map(|_| {
                uuid::Builder::from_random_bytes(rand::random())
                    .into_uuid()
                    .simple()
                    .to_string()
            })
            .collect();
        if direct.send(data).await.is_err() {
            return Self::not_found(name);
        }
        if batch {
            let responses: Vec<serde_json::Value> = ids
                .iter()
                .map(|id| serde_json::json!({ "RecordId": id }))
                .collect();
            answer(serde_json::json!({
                "FailedPutCount": 0,
                "Encrypted": false,
                "RequestResponses": responses,
            }))
        } else {
            answer(serde_json::json!({ "RecordId": ids[0], "Encrypted": false }))
        }
    }

    fn not_found(name: &str) -> Response {
        error(
            "ResourceNotFoundException",
            &format!("Firehose {name} under account {ACCOUNT} not found."),
        )
    }

    fn describe(&self, name: &str) -> Response {
        let streams = self.streams();
        let Some(d) = streams.get(name) else {
            return Self::not_found(name);
        };
        let status = if d.created.elapsed() >= self.setting.delay
            && d.counts.reading.load(std::sync::atomic::Ordering::Relaxed)
        {
            "ACTIVE"
        } else {
            "CREATING"
        };
        let hints = d.destination.buffering_hints;
        let size = hints.and_then(|h| h.size_in_mbs).unwrap_or(5);
        let interval = hints.and_then(|h| h.interval_in_seconds).unwrap_or(300);
        let mut s3 = serde_json::json!({
            "RoleARN": d.destination.role_arn,
            "BucketARN": d.destination.bucket_arn,
            "BufferingHints": { "SizeInMBs": size, "IntervalInSeconds": interval },
            "CompressionFormat": d.destination.compression_format.as_deref().unwrap_or("UNCOMPRESSED"),
            "EncryptionConfiguration": { "NoEncryptionConfig": "NoEncryption" },
            "CloudWatchLoggingOptions": { "Enabled": false },
            "S3BackupMode": "Disabled",
        });
        if let Some(p) = &d.destination.prefix {
            s3["Prefix"] = p.clone().into();
        }
        if let Some(p) = &d.destination.error_output_prefix {
            s3["ErrorOutputPrefix"] = p.clone().into();
        }
        if let Some(p) = &d.destination.processing_configuration {
            s3["ProcessingConfiguration"] = p.clone();
        }
        let source = match &d.source {
            Some(src) => serde_json::json!({ "KinesisStreamSourceDescription": {
                "KinesisStreamARN": src.kinesis_stream_arn,
                "RoleARN": src.role_arn,
                "DeliveryStartTimestamp": d.created_unix_s + self.setting.delay.as_secs_f64(),
            }}),
            None => serde_json::json!({ "DirectPutSourceDescription": {} }),
        };
        answer(serde_json::json!({ "DeliveryStreamDescription": {
            "DeliveryStreamName": name,
            "DeliveryStreamARN": d.arn,
            "DeliveryStreamStatus": status,
            "DeliveryStreamType": d.kind,
            "VersionId": "1",
            "CreateTimestamp": d.created_unix_s,
            "Source": source,
            "Destinations": [{
                "DestinationId": "destinationId-000000000001",
                "ExtendedS3DestinationDescription": s3,
            }],
            "HasMoreDestinations": false,
        }}))
    }

    fn list(&self, l: List) -> Response {
        let streams = self.streams();
        let limit = l.limit.unwrap_or(10).clamp(1, 10_000);
        let after = l.exclusive_start_delivery_stream_name.unwrap_or_default();
        let names: Vec<&String> = streams
            .keys()
            .filter(|n| n.as_str() > after.as_str())
            .collect();
        let more = names.len() > limit;
        let names: Vec<&String> = names.into_iter().take(limit).collect();
        answer(serde_json::json!({
            "DeliveryStreamNames": names,
            "HasMoreDeliveryStreams": more,
        }))
    }

    fn delete(&self, name: &str) -> Response {
        match self.streams().remove(name) {
            Some(d) => {
                let c = &d.counts;
                tracing::info!(
                    "firehose {name} deleted: {} records in {} objects ({} bytes) delivered, {} read throttles, {} failed writes",
                    c.records.load(std::sync::atomic::Ordering::Relaxed),
                    c.objects.load(std::sync::atomic::Ordering::Relaxed),
                    c.bytes.load(std::sync::atomic::Ordering::Relaxed),
                    c.read_throttles.load(std::sync::atomic::Ordering::Relaxed),
                    c.write_failures.load(std::sync::atomic::Ordering::Relaxed),
                );
                answer(serde_json::json!({}))
            }
            None => Self::not_found(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    async fn call(
        app: &Router,
        operation: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let request = Request::builder()
            .method("POST")
            .uri("/")
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", format!("{TARGET_PREFIX}{operation}"))
            .body(axum::body::Body::from(body.to_string()))
            .expect("request");
        let Ok(response) = app.clone().oneshot(request).await;
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, serde_json::from_slice(&bytes).expect("JSON"))
    }

    /// The Firehose router, with an S3 directory that has the bucket `pipeline`; nothing
    /// listens at its URL, so its delivery cannot write (these tests do not need it to).
    fn app(delay: Duration) -> (Router, tempfile::TempDir, CancellationToken) {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("pipeline")).expect("bucket");
        let stop = CancellationToken::new();
        let app = router(Setting {
            region: "us-east-1".into(),
            delay,
            url: "http://127.0.0.1:9".into(),
            s3_dir: Some(dir.path().to_path_buf()),
            stop: stop.clone(),
        });
        (app, dir, stop)
    }

    /// A DirectPut delivery stream (a stream-sourced one would need a Kinesis endpoint).
    fn create(name: &str, hints: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "DeliveryStreamName": name,
            "DeliveryStreamType": "DirectPut",
            "ExtendedS3DestinationConfiguration": {
                "RoleARN": "arn:aws:iam::000000000000:role/firehose",
                "BucketARN": "arn:aws:s3:::pipeline",
                "Prefix": "clicks/",
                "BufferingHints": hints,
            },
        })
    }

    #[tokio::test]
    async fn a_delivery_stream_is_created_creating_then_active_listed_and_deleted() {
        let (app, _dir, stop) = app(Duration::from_millis(50));
        let _stop = stop.drop_guard();
        let hints = serde_json::json!({"SizeInMBs": 1, "IntervalInSeconds": 60});
        let (status, out) = call(
            &app,
            "CreateDeliveryStream",
            create("clicks-to-s3", hints.clone()),
        )
        .await;
        assert_eq!(status, 200, "{out}");
        assert_eq!(
            out["DeliveryStreamARN"],
            "arn:aws:firehose:us-east-1:000000000000:deliverystream/clicks-to-s3"
        );
        let describe = serde_json::json!({"DeliveryStreamName": "clicks-to-s3"});
        let (_, d) = call(&app, "DescribeDeliveryStream", describe.clone()).await;
        let d = &d["DeliveryStreamDescription"];
        assert_eq!(d["DeliveryStreamStatus"], "CREATING");
        assert_eq!(d["DeliveryStreamType"], "DirectPut");
        let s3 = &d["Destinations"][0]["ExtendedS3DestinationDescription"];
        assert_eq!(s3["BufferingHints"], hints);
        assert_eq!(s3["Prefix"], "clicks/");
        assert_eq!(s3["CompressionFormat"], "UNCOMPRESSED");
        tokio::time::sleep(Duration::from_millis(60)).await;
        let (_, d) = call(&app, "DescribeDeliveryStream", describe.clone()).await;
        assert_eq!(
            d["DeliveryStreamDescription"]["DeliveryStreamStatus"],
            "ACTIVE"
        );
        // a second one of the same name is refused
        let (status, e) = call(
            &app,
            "CreateDeliveryStream",
            create("clicks-to-s3", hints.clone()),
        )
        .await;
        assert_eq!(
            (status, e["__type"].as_str()),
            (400, Some("ResourceInUseException"))
        );
        call(&app, "CreateDeliveryStream", create("another", hints)).await;
        let (_, l) = call(&app, "ListDeliveryStreams", serde_json::json!({"Limit": 1})).await;
        assert_eq!(l["DeliveryStreamNames"], serde_json::json!(["another"]));
        assert_eq!(l["HasMoreDeliveryStreams"], true);
        let (status, _) = call(&app, "DeleteDeliveryStream", describe.clone()).await;
        assert_eq!(status, 200);
        let (status, e) = call(&app, "DescribeDeliveryStream", describe).await;
        assert_eq!(
            (status, e["__type"].as_str()),
            (400, Some("ResourceNotFoundException"))
        );
    }

    #[test]
    fn the_delimiter_processor_is_read_as_firehose_reads_it() {
        let with = |parameters: serde_json::Value, enabled: bool| {
            let p = serde_json::json!({"Enabled": enabled, "Processors": [
                {"Type": "AppendDelimiterToRecord", "Parameters": parameters}
            ]});
            delimiter(Some(&p))
        };
        assert_eq!(with(serde_json::json!([]), true), Some(b"\n".to_vec()));
        let escaped = serde_json::json!([{"ParameterName": "Delimiter", "ParameterValue": "\\n"}]);
        assert_eq!(with(escaped.clone(), true), Some(b"\n".to_vec()));
        let pipes = serde_json::json!([{"ParameterName": "Delimiter", "ParameterValue": "||"}]);
        assert_eq!(with(pipes, true), Some(b"||".to_vec()));
        assert_eq!(with(escaped, false), None);
        assert_eq!(delimiter(None), None);
    }

    #[tokio::test]
    async fn direct_put_takes_records_and_batches_within_firehose_limits() {
        use base64::Engine;
        let (app, _dir, stop) = app(Duration::ZERO);
        let _stop = stop.drop_guard();
        let (status, _) = call(
            &app,
            "CreateDeliveryStream",
            create("direct", serde_json::json!({})),
        )
        .await;
        assert_eq!(status, 200);
        let describe = serde_json::json!({"DeliveryStreamName": "direct"});
        tokio::time::timeout(Duration::from_secs(60), async {
            while call(&app, "DescribeDeliveryStream", describe.clone())
                .await
                .1["DeliveryStreamDescription"]["DeliveryStreamStatus"]
                != "ACTIVE"
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("ACTIVE");
        let data = base64::engine::general_purpose::STANDARD.encode(b"hello");
        let one = serde_json::json!({"DeliveryStreamName": "direct", "Record": {"Data": data}});
        let (status, out) = call(&app, "PutRecord", one).await;
        assert_eq!(status, 200, "{out}");
        assert_eq!(out["Encrypted"], false);
        assert!(
            out["RecordId"].as_str().is_some_and(|id| !id.is_empty()),
            "{out}"
        );
        let records: Vec<serde_json::Value> =
            (0..3).map(|_| serde_json::json!({"Data": data})).collect();
        let batch = serde_json::json!({"DeliveryStreamName": "direct", "Records": records});
        let (status, out) = call(&app, "PutRecordBatch", batch).await;
        assert_eq!(status, 200, "{out}");
        assert_eq!(out["FailedPutCount"], 0);
        assert_eq!(out["RequestResponses"].as_array().map(Vec::len), Some(3));
        let records: Vec<serde_json::Value> = (0..501)
            .map(|_| serde_json::json!({"Data": data}))
            .collect();
        let batch = serde_json::json!({"DeliveryStreamName": "direct", "Records": records});
        let (status, e) = call(&app, "PutRecordBatch", batch).await;
        assert_eq!(
            (status, e["__type"].as_str()),
            (400, Some("ValidationException")),
            "{e}"
        );
        let big = base64::engine::general_purpose::STANDARD.encode(vec![0u8; MAX_RECORD_BYTES + 1]);
        let one = serde_json::json!({"DeliveryStreamName": "direct", "Record": {"Data": big}});
        let (status, e) = call(&app, "PutRecord", one).await;
        assert_eq!(
            (status, e["__type"].as_str()),
            (400, Some("ValidationException")),
            "{e}"
        );
    }

    #[tokio::test]
    async fn hints_out_of_range_get_aws_validation_errors() {
        let (app, _dir, stop) = app(Duration::ZERO);
        let _stop = stop.drop_guard();
        for (hints, at, constraint) in [
            (
                serde_json::json!({"SizeInMBs": 0}),
                "sizeInMBs",
                "greater than or equal to 1",
            ),
            (
                serde_json::json!({"SizeInMBs": 129}),
                "sizeInMBs",
                "less than or equal to 128",
            ),
            (
                serde_json::json!({"IntervalInSeconds": 901}),
                "intervalInSeconds",
                "less than or equal to 900",
            ),
        ] {
            let (status, e) = call(&app, "CreateDeliveryStream", create("d", hints)).await;
            assert_eq!(
                (status, e["__type"].as_str()),
                (400, Some("ValidationException"))
            );
            let message = e["message"].as_str().unwrap_or("");
            assert!(
                message.starts_with("1 validation error detected: Value '"),
                "{message}"
            );
            assert!(
                message.contains(&format!("bufferingHints.{at}")),
                "{message}"
            );
            assert!(message.ends_with(constraint), "{message}");
        }
        let mut no_source = create("d", serde_json::json!({}));
        no_source["DeliveryStreamType"] = "KinesisStreamAsSource".into();
        let (status, e) = call(&app, "CreateDeliveryStream", no_source).await;
        assert_eq!(
            (status, e["__type"].as_str()),
            (400, Some("InvalidArgumentException"))
        );
        let mut no_bucket = create("d", serde_json::json!({}));
        no_bucket["ExtendedS3DestinationConfiguration"]["BucketARN"] = "arn:aws:s3:::nope".into();
        let (status, e) = call(&app, "CreateDeliveryStream", no_bucket).await;
        assert_eq!(
            (
                status,
                e["__type"].as_str(),
                e["message"].as_str().map(|m| m.contains("nope"))
            ),
            (400, Some("InvalidArgumentException"), Some(true))
        );
        let mut bad_prefix = create("d", serde_json::json!({}));
        bad_prefix["ExtendedS3DestinationConfiguration"]["Prefix"] = "a/!{timestamp:yyyy}/".into();
        let (status, e) = call(&app, "CreateDeliveryStream", bad_prefix).await;
        assert_eq!(
            (
                status,
                e["__type"].as_str(),
                e["message"]
                    .as_str()
                    .map(|m| m.contains("ErrorOutputPrefix"))
            ),
            (400, Some("InvalidArgumentException"), Some(true)),
            "an expression in the prefix needs an error output prefix"
        );
        let put = serde_json::json!({"DeliveryStreamName": "nope", "Record": {"Data": "eA=="}});
        let (status, e) = call(&app, "PutRecord", put).await;
        assert_eq!(
            (status, e["__type"].as_str()),
            (400, Some("ResourceNotFoundException"))
        );
    }
}
