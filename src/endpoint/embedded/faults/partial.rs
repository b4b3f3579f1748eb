//! Partial failures of a PutRecords: some entries fail while the others are stored, as Kinesis
//! fails entries of a call that succeeds (../shared/spec/KINESIS.md, "PutRecords partial
//! failure": HTTP 200, `FailedRecordCount` > 0, `Records` in request order, each a sequence
//! number or an `ErrorCode`).
//!
//! The failed entries must not be stored, so they are taken out before the request goes on:
//! only the others are forwarded, and the failed ones are put back into the answer in their
//! places. The bodies are split and joined as raw JSON, never decoded: no base64 is touched.

use super::super::request::{self, MAX_BODY_BYTES};
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// Why an entry fails; `None` in a plan: it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EntryFault {
    Throttled,
    InternalFailure,
}

impl EntryFault {
    /// The entry of the answer for a record that failed so.
    fn entry(self) -> &'static str {
        match self {
            EntryFault::Throttled => {
                r#"{"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"Rate exceeded for shard (a partial failure injected by kbench)"}"#
            }
            EntryFault::InternalFailure => {
                r#"{"ErrorCode":"InternalFailure","ErrorMessage":"Internal service failure (a partial failure injected by kbench)"}"#
            }
        }
    }
}

/// Serves the PutRecords `request` with the entries `plan` picks failed: `plan` is called with
/// the number of entries and gives each one's fault. A body that is not a JSON PutRecords (CBOR,
/// or not the shape) is forwarded whole, as is one whose plan fails nothing.
pub(super) async fn put_records(
    request: Request,
    next: Next,
    plan: impl FnOnce(usize) -> Vec<Option<EntryFault>>,
) -> Response {
    let (request, body) = match request::read_body(request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let Some(input) = Split::of(&body, "Records") else {
        return next.run(request).await;
    };
    let faults = plan(input.items.len());
    if faults.iter().all(Option::is_none) {
        return next.run(request).await;
    }
    let kept = input.join(
        faults
            .iter()
            .zip(&input.items)
            .filter(|(f, _)| f.is_none())
            .map(|(_, r)| r.get()),
    );
    let failed = faults.iter().filter(|f| f.is_some()).count() as u64;
    if kept.is_none() {
        // nothing left to store: answer here, every entry failed
        let entries = faults.iter().flatten().map(|f| f.entry());
        return answer(&format!(
            r#"{{"FailedRecordCount":{failed},"Records":[{}]}}"#,
            entries.collect::<Vec<_>>().join(",")
        ));
    }
    let (mut parts, _) = request.into_parts();
    let kept = kept.unwrap_or_default();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, kept.len().into());
    let response = next.run(Request::from_parts(parts, Body::from(kept))).await;
    if response.status() != StatusCode::OK {
        // the call failed whole (the stream is gone, ...): so it does for the client
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return request::kinesis_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            "the endpoint's answer could not be read",
        );
    };
    match splice(&body, &faults, failed) {
        Some(spliced) => {
            let mut response = Response::from_parts(parts, Body::from(spliced.clone()));
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, spliced.len().into());
            response
        }
        // not the answer expected: passed on as it is, the client sees what it can
        None => Response::from_parts(parts, Body::from(body)),
    }
}

/// The answer to the forwarded entries with the failed ones put back in their places, and
/// `FailedRecordCount` counting them too; None when the answer is not a PutRecords answer for
/// exactly the entries forwarded.
fn splice(body: &Bytes, faults: &[Option<EntryFault>], failed: u64) -> Option<String> {
    let mut answer = Split::of(body, "Records")?;
    let forwarded = faults.iter().filter(|f| f.is_none()).count();
    if answer.items.len() != forwarded {
        return None;
    }
    let before: u64 = match answer.rest.remove("FailedRecordCount") {
        Some(n) => serde_json::from_str(n.get()).ok()?,
        None => 0,
    };
    let count = (before + failed).to_string();
    let mut stored = answer.items.iter();
    let entries: Vec<&str> = faults
        .iter()
        .map(|f| match f {
            Some(f) => Some(f.entry()),
            None => stored.next().map(|r| r.get()),
        })
        .collect::<Option<_>>()?;
    let mut out = answer.join(entries.into_iter())?;
    // `{"FailedRecordCount":N,` then the rest: `join` leaves the object open at the front
    out.replace_range(0..1, &format!(r#"{{"FailedRecordCount":{count},"#));
    Some(out)
}

/// A JSON object split into its list under one key (each item raw) and its other fields (raw).
struct Split<'a> {
    /// The list's key.
    key: &'static str,
    /// Its items, in order.
    items: Vec<&'a RawValue>,
    /// The other fields, by name.
    rest: BTreeMap<String, &'a RawValue>,
}

impl<'a> Split<'a> {
    /// `body` split at `key`; None when it is not a JSON object with a list under `key`.
    fn of(body: &'a [u8], key: &'static str) -> Option<Split<'a>> {
        let mut rest: BTreeMap<String, &RawValue> = serde_json::from_slice(body).ok()?;
        let items = serde_json::from_str(rest.remove(key)?.get()).ok()?;
        Some(Split { key, items, rest })
    }

    /// The object again with `items` as its list; None when there are none.
    fn join<'i>(&self, items: impl Iterator<Item = &'i str>) -> Option<String> {
        let items: Vec<&str> = items.collect();
        if items.is_empty() {
            return None;
        }
        let mut out = String::from("{");
        for (name, value) in &self.rest {
            out.push_str(&serde_json::to_string(name).ok()?);
            out.push(':');
            out.push_str(value.get());
            out.push(',');
        }
        out.push_str(&format!("\"{}\":[{}]}}", self.key, items.join(",")));
        Some(out)
    }
}

/// An HTTP 200 answer with `body`, as Kinesis sends one.
fn answer(body: &str) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/x-amz-json-1.1")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_entries_are_put_back_in_their_places() {
        let faults = [
            None,
            Some(EntryFault::Throttled),
            None,
            Some(EntryFault::InternalFailure),
        ];
        // what ferrokinesis answers for the two forwarded entries, one of them throttled by it
        let answer = Bytes::from(
            r#"{"FailedRecordCount":1,"Records":[{"SequenceNumber":"1","ShardId":"shardId-000000000000"},{"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"x"}],"EncryptionType":"NONE"}"#,
        );
        let spliced = splice(&answer, &faults, 2).expect("spliced");
        let v: serde_json::Value = serde_json::from_str(&spliced).expect("JSON");
        assert_eq!(v["FailedRecordCount"], 3);
        assert_eq!(v["EncryptionType"], "NONE");
        let records = v["Records"].as_array().expect("records");
        assert_eq!(records.len(), 4);
        assert_eq!(records[0]["SequenceNumber"], "1");
        assert_eq!(
            records[1]["ErrorCode"],
            "ProvisionedThroughputExceededException"
        );
        assert_eq!(records[2]["ErrorMessage"], "x");
        assert_eq!(records[3]["ErrorCode"], "InternalFailure");
        // an answer for another number of entries is not spliced
        assert_eq!(splice(&answer, &faults[..2], 1), None);
        assert_eq!(splice(&Bytes::from("{}"), &faults, 2), None);
    }

    #[test]
    fn a_request_keeps_its_fields_and_loses_the_failed_entries() {
        let body = br#"{"StreamName":"s\"q","Records":[{"Data":"YQ==","PartitionKey":"a"},{"Data":"Yg==","PartitionKey":"b"}]}"#;
        let split = Split::of(body, "Records").expect("a PutRecords");
        assert_eq!(split.items.len(), 2);
        let kept = split
            .join(split.items.iter().skip(1).map(|r| r.get()))
            .expect("one left");
        let v: serde_json::Value = serde_json::from_str(&kept).expect("JSON");
        assert_eq!(v["StreamName"], "s\"q");
        assert_eq!(v["Records"].as_array().map(Vec::len), Some(1));
        assert_eq!(v["Records"][0]["PartitionKey"], "b");
        assert!(split.join(std::iter::empty()).is_none());
        assert!(Split::of(b"\xa2cbor", "Records").is_none());
        assert!(Split::of(br#"{"Records":7}"#, "Records").is_none());
    }
}
