//! SubscribeToShard's answer on the wire: the AWS event stream (`application/vnd.amazon.eventstream`)
//! that the Rust SDK and boto3 read. Each message is a binary frame (aws-smithy-eventstream
//! writes it: lengths, headers, payload, CRCs) whose headers say what it is:
//! - first `initial-response` (`:message-type` `event`, `:event-type` `initial-response`, a
//!   `{}` JSON payload): the SDK's `send()` returns once it has it;
//! - then `SubscribeToShardEvent` events (`:event-type` `SubscribeToShardEvent`,
//!   `:content-type` `application/json`) whose payload is the event as JSON: `Records` (each
//!   as GetRecords gave it: `Data` in base64, `PartitionKey`, `SequenceNumber`,
//!   `ApproximateArrivalTimestamp` in epoch seconds), `ContinuationSequenceNumber`,
//!   `MillisBehindLatest`, and at the end of a closed shard `ChildShards` with no
//!   continuation (what the KCL and Flink read as the shard's end);
//! - or an `exception` (`:message-type` `exception`, `:exception-type` the error code, a
//!   `{"message": ...}` payload), which the SDK's `recv()` returns as that error.
//!
//! The same shapes ferrokinesis sends (its event_stream.rs), with the initial response's
//! content type and payload that real Kinesis sends.

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use axum::body::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;

/// The event stream's content type, for the HTTP response.
pub(super) const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

/// A frame that could not be written: a header or the payload too long for the format (4 GiB;
/// kbench's events are a few MiB at most).
#[derive(Debug, thiserror::Error)]
#[error("cannot write an event stream frame: {0}")]
pub(super) struct FrameError(String);

/// One `SubscribeToShardEvent`, as its JSON payload has it.
#[derive(Serialize)]
pub(super) struct Event<'a> {
    /// The records, each as GetRecords returned it.
    #[serde(rename = "Records")]
    pub(super) records: &'a [Box<RawValue>],
    /// Where a renewal resumes (AFTER_SEQUENCE_NUMBER); none at the end of a closed shard.
    #[serde(
        rename = "ContinuationSequenceNumber",
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) continuation: Option<&'a str>,
    /// How far behind the tip of the shard the event's last record is, in milliseconds; 0 when
    /// nothing more is there to read.
    #[serde(rename = "MillisBehindLatest")]
    pub(super) millis_behind_latest: u64,
    /// The shard's children, in the last event of a closed shard only.
    #[serde(rename = "ChildShards", skip_serializing_if = "Option::is_none")]
    pub(super) child_shards: Option<&'a [ChildShard]>,
}

/// A child of a closed shard, as an event's `ChildShards` lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(super) struct ChildShard {
    #[serde(rename = "ShardId")]
    pub(super) shard_id: String,
    /// The shards it came from: the closed one, and for a merge the other one too.
    #[serde(rename = "ParentShards")]
    pub(super) parent_shards: Vec<String>,
    #[serde(rename = "HashKeyRange")]
    pub(super) hash_key_range: HashKeyRange,
}

/// A shard's range of hash keys, decimal strings.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(super) struct HashKeyRange {
    #[serde(rename = "StartingHashKey")]
    pub(super) starting_hash_key: String,
    #[serde(rename = "EndingHashKey")]
    pub(super) ending_hash_key: String,
}

/// The first message of every subscription.
pub(super) fn initial_response() -> Result<Bytes, FrameError> {
    frame(
        Message::new(Bytes::from_static(b"{}"))
            .add_header(string(":message-type", "event"))
            .add_header(string(":event-type", "initial-response"))
            .add_header(string(":content-type", "application/json")),
    )
}

/// A `SubscribeToShardEvent` message.
pub(super) fn event(event: &Event<'_>) -> Result<Bytes, FrameError> {
    let payload = serde_json::to_vec(event).map_err(|e| FrameError(e.to_string()))?;
    frame(
        Message::new(payload)
            .add_header(string(":message-type", "event"))
            .add_header(string(":event-type", "SubscribeToShardEvent"))
            .add_header(string(":content-type", "application/json")),
    )
}

/// An exception message: the subscription failed with `code` (a Kinesis error code such as
/// `ResourceNotFoundException` or `InternalFailure`).
pub(super) fn exception(code: &str, message: &str) -> Result<Bytes, FrameError> {
    let payload = serde_json::json!({ "message": message }).to_string();
    frame(
        Message::new(payload)
            .add_header(string(":message-type", "exception"))
            .add_header(string(":exception-type", code))
            .add_header(string(":content-type", "application/json")),
    )
}

fn string(name: &'static str, value: &str) -> Header {
    Header::new(name, HeaderValue::String(value.to_string().into()))
}

fn frame(message: Message) -> Result<Bytes, FrameError> {
    let mut buffer = Vec::with_capacity(message.payload().len() + 128);
    write_message_to(&message, &mut buffer).map_err(|e| FrameError(e.to_string()))?;
    Ok(Bytes::from(buffer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::read_message_from;

    fn header<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
        message
            .headers()
            .iter()
            .find(|h| h.name().as_str() == name)
            .and_then(|h| h.value().as_string().ok())
            .map(|s| s.as_str())
    }

    fn read(frame: Bytes) -> Message {
        read_message_from(frame).expect("a valid frame")
    }

    #[test]
    fn the_initial_response_is_an_event_the_sdk_recognises() {
        let message = read(initial_response().expect("frame"));
        assert_eq!(header(&message, ":message-type"), Some("event"));
        assert_eq!(header(&message, ":event-type"), Some("initial-response"));
        assert_eq!(&message.payload()[..], b"{}");
    }

    #[test]
    fn an_event_carries_the_records_as_read_and_its_position() {
        let records: Vec<Box<RawValue>> = vec![
            RawValue::from_string(
                r#"{"Data":"eA==","PartitionKey":"k","SequenceNumber":"1","ApproximateArrivalTimestamp":1.5}"#
                    .into(),
            )
            .expect("raw"),
        ];
        let message = read(
            event(&Event {
                records: &records,
                continuation: Some("1"),
                millis_behind_latest: 12,
                child_shards: None,
            })
            .expect("frame"),
        );
        assert_eq!(header(&message, ":message-type"), Some("event"));
        assert_eq!(
            header(&message, ":event-type"),
            Some("SubscribeToShardEvent")
        );
        assert_eq!(header(&message, ":content-type"), Some("application/json"));
        let payload: serde_json::Value =
            serde_json::from_slice(message.payload()).expect("json payload");
        assert_eq!(
            payload,
            serde_json::json!({
                "Records": [{"Data": "eA==", "PartitionKey": "k", "SequenceNumber": "1",
                             "ApproximateArrivalTimestamp": 1.5}],
                "ContinuationSequenceNumber": "1",
                "MillisBehindLatest": 12,
            })
        );
    }

    #[test]
    fn the_last_event_of_a_closed_shard_names_its_children_and_no_continuation() {
        let children = [ChildShard {
            shard_id: "shardId-000000000002".into(),
            parent_shards: vec!["shardId-000000000000".into(), "shardId-000000000001".into()],
            hash_key_range: HashKeyRange {
                starting_hash_key: "0".into(),
                ending_hash_key: "340282366920938463463374607431768211455".into(),
            },
        }];
        let message = read(
            event(&Event {
                records: &[],
                continuation: None,
                millis_behind_latest: 0,
                child_shards: Some(&children),
            })
            .expect("frame"),
        );
        let payload: serde_json::Value =
            serde_json::from_slice(message.payload()).expect("json payload");
        assert_eq!(payload.get("ContinuationSequenceNumber"), None);
        assert_eq!(
            payload["ChildShards"][0]["ParentShards"],
            serde_json::json!(["shardId-000000000000", "shardId-000000000001"])
        );
        assert_eq!(
            payload["ChildShards"][0]["HashKeyRange"]["StartingHashKey"],
            "0"
        );
    }

    #[test]
    fn an_exception_names_its_error_code() {
        let message = read(exception("ResourceNotFoundException", "gone").expect("frame"));
        assert_eq!(header(&message, ":message-type"), Some("exception"));
        assert_eq!(
            header(&message, ":exception-type"),
            Some("ResourceNotFoundException")
        );
        assert_eq!(&message.payload()[..], br#"{"message":"gone"}"#);
    }
}
