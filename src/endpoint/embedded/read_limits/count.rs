//! How many bytes a GetRecords response reads from its shard, as Kinesis counts them against
//! the shard's 2 MB/s: each record's data (its bytes, not their base64) plus its partition key
//! (UTF-8 bytes), the measure Kinesis uses for a record's size on the write side too
//! (../shared/spec/KINESIS.md, "Data-plane limits"). Sequence numbers, timestamps and the JSON
//! around them are not counted.
//!
//! The body is read once, with serde_json streaming over it: the records are visited one by
//! one and only summed, the strings are borrowed from the body (no allocation for them), the
//! base64 is measured, never decoded, and every other field is skipped unread.

use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// The bytes of the records in the GetRecords response `body` (awsJson), or `None` when it is
/// not one (CBOR, or not the shape): the caller then charges nothing.
pub(super) fn record_bytes(body: &[u8]) -> Option<u64> {
    serde_json::from_slice::<Output>(body).ok().map(|o| o.bytes)
}

/// A GetRecords response: only `Records`, summed as it is read.
#[derive(Deserialize)]
struct Output {
    /// The records' bytes.
    #[serde(rename = "Records", deserialize_with = "sum", default)]
    bytes: u64,
}

fn sum<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    deserializer.deserialize_seq(Sum)
}

/// Visits the records of `Records` and adds up their sizes, keeping none of them.
struct Sum;

impl<'de> Visitor<'de> for Sum {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut records: A) -> Result<u64, A::Error> {
        let mut total = 0u64;
        while let Some(record) = records.next_element::<Record<'de>>()? {
            total = total.saturating_add(record.bytes());
        }
        Ok(total)
    }
}

/// What counts of a record; its other fields are skipped.
#[derive(Deserialize)]
struct Record<'a> {
    /// The data, base64 (borrowed from the body: base64 has nothing to unescape).
    #[serde(rename = "Data", borrow)]
    data: Cow<'a, str>,
    /// The partition key.
    #[serde(rename = "PartitionKey", borrow)]
    partition_key: Cow<'a, str>,
}

impl Record<'_> {
    /// The data's bytes (decoded from the base64's length) plus the key's.
    fn bytes(&self) -> u64 {
        let base64 = self.data.trim_end_matches('=');
        let data = base64.len() as u64 * 3 / 4;
        data + self.partition_key.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    fn response(records: &[(&[u8], &str)]) -> String {
        let records: Vec<serde_json::Value> = records
            .iter()
            .enumerate()
            .map(|(i, (data, key))| {
                serde_json::json!({
                    "ApproximateArrivalTimestamp": 1_700_000_000.5,
                    "Data": STANDARD.encode(data),
                    "PartitionKey": key,
                    "SequenceNumber": format!("4959033827149025660855969253836157109592157598913658889{i}"),
                })
            })
            .collect();
        serde_json::json!({
            "MillisBehindLatest": 0,
            "NextShardIterator": "AAAAAAAAAAE=",
            "Records": records,
        })
        .to_string()
    }

    #[test]
    fn data_and_keys_count_not_base64_or_json() {
        // every length mod 3, so every padding of the base64
        for n in 0..10usize {
            let data = vec![7u8; n];
            let body = response(&[(&data, "k"), (b"", "key-\u{e9}")]);
            assert_eq!(
                record_bytes(body.as_bytes()),
                Some(n as u64 + 1 + 6),
                "{n} bytes of data; the key's UTF-8 bytes"
            );
        }
        let big = vec![0u8; 1 << 20];
        let records: Vec<(&[u8], &str)> = (0..3).map(|_| (big.as_slice(), "pk")).collect();
        assert_eq!(
            record_bytes(response(&records).as_bytes()),
            Some(3 * ((1 << 20) + 2))
        );
    }

    #[test]
    fn no_records_is_zero_and_what_is_not_a_response_is_none() {
        assert_eq!(record_bytes(response(&[]).as_bytes()), Some(0));
        assert_eq!(record_bytes(br#"{"MillisBehindLatest":0}"#), Some(0));
        // escapes in the key are counted as what they spell
        let escaped = br#"{"Records":[{"Data":"eA==","PartitionKey":"\u006b\/"}]}"#;
        assert_eq!(record_bytes(escaped), Some(3));
        for bad in [
            &b""[..],
            b"\xa1dRecords",
            br#"{"Records":7}"#,
            br#"{"Records":[{"Data":"eA=="}]}"#,
            br#"{"Records":[],"Records":[]}"#,
        ] {
            assert_eq!(record_bytes(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
