//! The embedded Firehose endpoint's control plane: CreateDeliveryStream, DescribeDeliveryStream,
//! ListDeliveryStreams and DeleteDeliveryStream over awsJson1_1 (`X-Amz-Target:
//! Firehose_20150804.<Operation>`), on the same port as Kinesis and S3. A delivery stream is
//! CREATING for the endpoint's lifecycle delay, then ACTIVE; deleting it removes it.
//!
//! Validated as Firehose validates (../shared/spec/KINESIS.md, "Firehose delivery"): the name
//! (1-64 of `[a-zA-Z0-9_.-]`), the buffering hints (1-128 MiB, 0-900 s: out of range is a
//! `ValidationException` in AWS's "1 validation error detected" wording), a stream-sourced
//! delivery stream names its Kinesis stream, and one S3 destination with a bucket ARN.
//!
//! Not yet: the delivery engine (reading the stream, buffering, writing objects), PutRecord /
//! PutRecordBatch for DirectPut.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The target prefix of Firehose's operations.
pub(super) const TARGET_PREFIX: &str = "Firehose_20150804.";

const ACCOUNT: &str = "000000000000";

/// Whether a request is for Firehose.
pub(super) fn is_firehose(headers: &axum::http::HeaderMap) -> bool {
    super::request::target(headers).starts_with(TARGET_PREFIX)
}

/// The Firehose API as a router; `region` goes into ARNs, `delay` is how long a new delivery
/// stream stays CREATING.
pub(super) fn router(region: &str, delay: Duration) -> Router {
    let state = Arc::new(Firehose {
        region: region.to_string(),
        delay,
        streams: Mutex::default(),
    });
    Router::new().fallback(handle).with_state(state)
}

struct Firehose {
    region: String,
    delay: Duration,
    streams: Mutex<BTreeMap<String, DeliveryStream>>,
}

struct DeliveryStream {
    arn: String,
    kind: String,
    created: Instant,
    created_unix_s: f64,
    source: Option<SourceConfig>,
    destination: S3Config,
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
        "CreateDeliveryStream" => parsed(&body, |c| f.create(c)),
        "DescribeDeliveryStream" => parsed(&body, |n: Named| f.describe(&n.delivery_stream_name)),
        "ListDeliveryStreams" => parsed(&body, |l| f.list(l)),
        "DeleteDeliveryStream" => parsed(&body, |n: Named| f.delete(&n.delivery_stream_name)),
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
    match serde_json::from_slice(body) {
        Ok(input) => then(input),
        Err(e) => error(
            "SerializationException",
            &format!("cannot read the request: {e}"),
        ),
    }
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

    fn create(&self, c: Create) -> Response {
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
        let mut streams = self.streams();
        if streams.contains_key(&name) {
            return error(
                "ResourceInUseException",
                &format!("Firehose {name} under accountId {ACCOUNT} already exists"),
            );
        }
        let arn = format!(
            "arn:aws:firehose:{}:{ACCOUNT}:deliverystream/{name}",
            self.region
        );
        let created_unix_s = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        streams.insert(
            name,
            DeliveryStream {
                arn: arn.clone(),
                kind,
                created: Instant::now(),
                created_unix_s,
                source: c.kinesis_stream_source_configuration,
                destination,
            },
        );
        answer(serde_json::json!({ "DeliveryStreamARN": arn }))
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
        let status = if d.created.elapsed() >= self.delay {
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
                "DeliveryStartTimestamp": d.created_unix_s + self.delay.as_secs_f64(),
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
            Some(_) => answer(serde_json::json!({})),
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

    fn create(name: &str, hints: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "DeliveryStreamName": name,
            "DeliveryStreamType": "KinesisStreamAsSource",
            "KinesisStreamSourceConfiguration": {
                "KinesisStreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/clicks",
                "RoleARN": "arn:aws:iam::000000000000:role/firehose",
            },
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
        let app = router("us-east-1", Duration::from_millis(50));
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
        assert_eq!(d["DeliveryStreamType"], "KinesisStreamAsSource");
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

    #[tokio::test]
    async fn hints_out_of_range_get_aws_validation_errors() {
        let app = router("us-east-1", Duration::ZERO);
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
        no_source["KinesisStreamSourceConfiguration"] = serde_json::Value::Null;
        let (status, e) = call(&app, "CreateDeliveryStream", no_source).await;
        assert_eq!(
            (status, e["__type"].as_str()),
            (400, Some("InvalidArgumentException"))
        );
        let (status, e) = call(&app, "PutRecord", serde_json::json!({})).await;
        assert_eq!(
            (status, e["__type"].as_str()),
            (400, Some("UnknownOperationException"))
        );
    }
}
