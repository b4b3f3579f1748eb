//! The null endpoint: answers PutRecord and PutRecords with success without storing anything,
//! so a run against it measures the client side alone ("how fast can this machine push?").
//!
//! It speaks the Kinesis JSON protocol for the calls a run's producer needs: CreateStream,
//! DescribeStreamSummary, ListShards and DeleteStream keep a list of streams and their shards
//! (split as CreateStream splits them); PutRecord and PutRecords parse every record, route it
//! to its shard by its explicit hash key or the MD5 of its partition key, and acknowledge it
//! with a sequence number. Reads are refused with a message that says to turn the consumer off:
//! there is nothing to read back. A PutRecords is held to Kinesis's limits as ferrokinesis holds
//! it (500 records, 1 MiB of data a record, 5 MiB of data and keys a call), with the same errors.

use super::embedded::request::{kinesis_error, operation, read_body, target};
use crate::scenario::limits::{MAX_BATCH_BYTES, MAX_BATCH_RECORDS, MAX_RECORD_BYTES};
use crate::workload::shardmap::ShardMap;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
struct Streams {
    by_name: Mutex<HashMap<String, Arc<ShardMap>>>,
    /// The next sequence number (one counter for every shard).
    sequence: AtomicU64,
}

/// The null endpoint's router, ready to serve.
pub fn app() -> axum::Router {
    axum::Router::new()
        .route("/", axum::routing::post(handle))
        .with_state(Arc::new(Streams::default()))
}

async fn handle(State(streams): State<Arc<Streams>>, request: Request) -> Response {
    // the body whole, up to the limit every local endpoint has; over it, a 413
    let (request, body) = match read_body(request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let headers = request.headers();
    let target = target(headers);
    let result = match operation(headers) {
        "PutRecords" => put_records(&streams, &body),
        "PutRecord" => put_record(&streams, &body),
        "CreateStream" => create_stream(&streams, &body),
        "DescribeStreamSummary" => describe_stream_summary(&streams, &body),
        "ListShards" => list_shards(&streams, &body),
        "DeleteStream" => delete_stream(&streams, &body),
        "GetShardIterator" | "GetRecords" | "SubscribeToShard" => Err(Failure::invalid(
            "the null endpoint stores nothing, so there is nothing to read: run with `enabled = false` under [consumer]",
        )),
        _ => Err(Failure::invalid(format!(
            "the null endpoint answers PutRecord, PutRecords and the stream calls a run needs, not `{target}`"
        ))),
    };
    match result {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-amz-json-1.1")],
            body,
        )
            .into_response(),
        Err(f) => kinesis_error(StatusCode::BAD_REQUEST, f.kind, &f.message),
    }
}

/// A Kinesis error: its type (`__type`) and message.
struct Failure {
    kind: &'static str,
    message: String,
}

impl Failure {
    fn invalid(message: impl Into<String>) -> Failure {
        Failure {
            kind: "InvalidArgumentException",
            message: message.into(),
        }
    }

    fn not_found(name: &str) -> Failure {
        Failure {
            kind: "ResourceNotFoundException",
            message: format!("Stream {name} under account 000000000000 not found."),
        }
    }
}

type Answer = Result<String, Failure>;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Named<'a> {
    #[serde(borrow, default)]
    stream_name: Option<Cow<'a, str>>,
    #[serde(default)]
    shard_count: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Record<'a> {
    // parsed (a string must be there) and measured, neither decoded nor kept
    #[serde(borrow)]
    data: Cow<'a, str>,
    #[serde(borrow)]
    partition_key: Cow<'a, str>,
    #[serde(borrow, default)]
    explicit_hash_key: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutRecordsIn<'a> {
    #[serde(borrow, default)]
    stream_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    records: Vec<Record<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutRecordIn<'a> {
    #[serde(borrow, default)]
    stream_name: Option<Cow<'a, str>>,
    #[serde(borrow, flatten)]
    record: Record<'a>,
}

fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|e| Failure {
        kind: "SerializationException",
        message: format!("cannot read the request: {e}"),
    })
}

fn name<'a>(stream_name: &'a Option<Cow<'a, str>>) -> Result<&'a str, Failure> {
    stream_name
        .as_deref()
        .ok_or_else(|| Failure::invalid("the null endpoint needs StreamName (not StreamARN)"))
}

impl Streams {
    fn get(&self, name: &str) -> Result<Arc<ShardMap>, Failure> {
        self.by_name
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| Failure::not_found(name))
    }

    /// Appends the fields that acknowledge `record` on `map` to `out`
    /// (`"SequenceNumber":..,"ShardId":..`, without braces).
    fn acknowledge(
        &self,
        map: &ShardMap,
        record: &Record,
        out: &mut String,
    ) -> Result<(), Failure> {
        let hash = match &record.explicit_hash_key {
            Some(h) => h.parse::<u128>().map_err(|_| {
                Failure::invalid(format!("ExplicitHashKey `{h}` is not a 128-bit number"))
            })?,
            None => ShardMap::hash_key(&record.partition_key),
        };
        let shard = map
            .shard_of_hash(hash)
            .map(|i| map.id(i))
            .ok_or_else(|| Failure::invalid("no shard holds this hash key"))?;
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let _ = write!(out, r#""SequenceNumber":"{sequence}","ShardId":"{shard}""#);
        Ok(())
    }
}

fn put_records(streams: &Streams, body: &[u8]) -> Answer {
    let input: PutRecordsIn = parse(body)?;
    let map = streams.get(name(&input.stream_name)?)?;
    within_limits(&input.records)?;
    let mut out = String::with_capacity(32 + input.records.len() * 64);
    out.push_str(r#"{"FailedRecordCount":0,"EncryptionType":"NONE","Records":["#);
    for (i, record) in input.records.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        streams.acknowledge(&map, record, &mut out)?;
        out.push('}');
    }
    out.push_str("]}");
    Ok(out)
}

/// Kinesis's limits on a PutRecords, checked as ferrokinesis checks them: the count and each
/// record's data (ValidationException), then the data and keys of the whole call
/// (InvalidArgumentException).
fn within_limits(records: &[Record]) -> Result<(), Failure> {
    let invalid = |message: String| Failure {
        kind: "ValidationException",
        message: format!("1 validation error detected: {message}"),
    };
    if records.is_empty() || records.len() > MAX_BATCH_RECORDS {
        return Err(invalid(format!(
            "Value at 'records' failed to satisfy constraint: Member must have length between 1 and {MAX_BATCH_RECORDS} (it has {})",
            records.len()
        )));
    }
    let mut total = 0u64;
    for (i, record) in records.iter().enumerate() {
        let data = base64_decoded_len(&record.data);
        if data > MAX_RECORD_BYTES {
            return Err(invalid(format!(
                "Value at 'records.{}.member.data' failed to satisfy constraint: Member must have length less than or equal to {MAX_RECORD_BYTES}",
                i + 1
            )));
        }
        total += data + record.partition_key.len() as u64;
    }
    if total > MAX_BATCH_BYTES {
        return Err(Failure::invalid(format!(
            "Records' total data + partition key payload exceeds {MAX_BATCH_BYTES} bytes"
        )));
    }
    Ok(())
}

/// The length of what `text` decodes to as padded base64, without decoding it.
fn base64_decoded_len(text: &str) -> u64 {
    let padding = text.bytes().rev().take(2).filter(|&b| b == b'=').count();
    ((text.len() / 4 * 3).saturating_sub(padding)) as u64
}

fn put_record(streams: &Streams, body: &[u8]) -> Answer {
    let input: PutRecordIn = parse(body)?;
    let map = streams.get(name(&input.stream_name)?)?;
    if base64_decoded_len(&input.record.data) > MAX_RECORD_BYTES {
        return Err(Failure {
            kind: "ValidationException",
            message: format!(
                "1 validation error detected: Value at 'data' failed to satisfy constraint: Member must have length less than or equal to {MAX_RECORD_BYTES}"
            ),
        });
    }
    let mut out = String::with_capacity(80);
    out.push('{');
    streams.acknowledge(&map, &input.record, &mut out)?;
    out.push_str(r#","EncryptionType":"NONE"}"#);
    Ok(out)
}

fn create_stream(streams: &Streams, body: &[u8]) -> Answer {
    let input: Named = parse(body)?;
    let name = name(&input.stream_name)?;
    let shards = input.shard_count.unwrap_or(1);
    if shards == 0 || shards > crate::scenario::limits::MAX_SHARDS {
        return Err(Failure::invalid(format!(
            "ShardCount {shards}: give 1 to {}",
            crate::scenario::limits::MAX_SHARDS
        )));
    }
    let mut by_name = streams.by_name.lock().unwrap_or_else(|p| p.into_inner());
    if by_name.contains_key(name) {
        return Err(Failure {
            kind: "ResourceInUseException",
            message: format!("Stream {name} under account 000000000000 already exists."),
        });
    }
    by_name.insert(name.to_string(), Arc::new(ShardMap::even(shards)));
    Ok("{}".into())
}

fn describe_stream_summary(streams: &Streams, body: &[u8]) -> Answer {
    let input: Named = parse(body)?;
    let name = name(&input.stream_name)?;
    let map = streams.get(name)?;
    Ok(serde_json::json!({
        "StreamDescriptionSummary": {
            "StreamName": name,
            "StreamARN": format!("arn:aws:kinesis:us-east-1:000000000000:stream/{name}"),
            "StreamStatus": "ACTIVE",
            "StreamModeDetails": { "StreamMode": "PROVISIONED" },
            "RetentionPeriodHours": 24,
            "StreamCreationTimestamp": 0.0,
            "EnhancedMonitoring": [{ "ShardLevelMetrics": [] }],
            "EncryptionType": "NONE",
            "OpenShardCount": map.len(),
            "ConsumerCount": 0
        }
    })
    .to_string())
}

fn list_shards(streams: &Streams, body: &[u8]) -> Answer {
    let input: Named = parse(body)?;
    let map = streams.get(name(&input.stream_name)?)?;
    let shards: Vec<serde_json::Value> = map
        .entries()
        .map(|(id, start, end)| {
            serde_json::json!({
                "ShardId": id,
                "HashKeyRange": { "StartingHashKey": start.to_string(), "EndingHashKey": end.to_string() },
                "SequenceNumberRange": { "StartingSequenceNumber": "0" }
            })
        })
        .collect();
    Ok(serde_json::json!({ "Shards": shards }).to_string())
}

fn delete_stream(streams: &Streams, body: &[u8]) -> Answer {
    let input: Named = parse(body)?;
    let name = name(&input.stream_name)?;
    match streams
        .by_name
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(name)
    {
        Some(_) => Ok("{}".into()),
        None => Err(Failure::not_found(name)),
    }
}
