//! What the layers over ferrokinesis read from a request, in one place so that each layer holds
//! only its behaviour: the operation it calls (from X-Amz-Target), its body (read whole, with a
//! size cap) and the stream it acts on, resolved the way ferrokinesis resolves it.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use std::borrow::Cow;

/// Largest request body the local endpoints read (the embedded one and the null one): a
/// PutRecords at the current 10 MiB quota (../shared/spec/KINESIS.md, "Data-plane limits"),
/// base64-encoded, with its JSON. Kinesis's own limits (500 records, 1 MiB a record, 5 MiB a
/// call in ferrokinesis) are smaller and answered with Kinesis's errors, so every body under
/// this one gets a Kinesis answer, never a bare 413.
///
/// The arithmetic, at the worst: 10 MiB of data and keys is 13,981,014 bytes of base64
/// (4 * ceil(10,485,760 / 3)); each of the 500 entries adds
/// `{"Data":"","PartitionKey":"","ExplicitHashKey":""},` (52 bytes), a 39-digit hash key, and
/// its key written as `\u00XX` escapes (6 bytes a character, up to 256 of them: at most
/// 1,536 bytes, though the key's UTF-8 bytes already count in the 10 MiB): 500 x 1,627 =
/// 813,500; the stream's name or ARN adds about 2 KiB. 14.8 MB in all (14.1 MiB), under 16 MiB.
pub(crate) const MAX_BODY_BYTES: usize = 16 << 20;

/// A Kinesis error as the service sends it over awsJson1_1: `status`, the code in the
/// `x-amzn-errortype` header and as `__type` in the body, and a message. The SDK reads the code
/// from either (../shared/spec/KINESIS.md, "Errors on the wire").
pub(crate) fn kinesis_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "__type": code, "message": message }).to_string();
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/x-amz-json-1.1")
        .header("x-amzn-errortype", code)
        .body(Body::from(body))
        .unwrap_or_default()
}

/// A request's X-Amz-Target (`Kinesis_20131202.PutRecords`); empty without one.
pub(crate) fn target(headers: &HeaderMap) -> &str {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The operation a request calls: what follows the last dot of its X-Amz-Target
/// (`Kinesis_20131202.PutRecords` gives `PutRecords`); empty without the header.
pub(crate) fn operation(headers: &HeaderMap) -> &str {
    target(headers).rsplit('.').next().unwrap_or("")
}

/// Reads the whole body of `request` (at most [`MAX_BODY_BYTES`]) and returns the request,
/// carrying the same body again for the layers and ferrokinesis after this one, with the bytes.
/// A body that cannot be read is answered here, the `Err`: one longer than [`MAX_BODY_BYTES`]
/// as ferrokinesis answers bodies over its limit (413, SerializationException), one that cannot
/// be read with a 400 SerializationException.
///
/// A body too long is read to its end all the same (up to [`DRAIN_BYTES`]) before the answer:
/// a server that answers while the client is still sending, and closes, leaves the client a
/// broken connection instead of the answer.
pub(crate) async fn read_body(request: Request) -> Result<(Request, Bytes), Response> {
    let declared: Option<u64> = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let (parts, body) = request.into_parts();
    if let Some(length) = declared.filter(|&n| n > MAX_BODY_BYTES as u64) {
        drain(body).await;
        return Err(kinesis_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "SerializationException",
            &format!("Request body is too large: {length} bytes, the limit is {MAX_BODY_BYTES}"),
        ));
    }
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => Ok((Request::from_parts(parts, Body::from(bytes.clone())), bytes)),
        Err(e) => Err(kinesis_error(
            StatusCode::BAD_REQUEST,
            "SerializationException",
            &format!("cannot read the request body: {e}"),
        )),
    }
}

/// Most of a refused body read to let its client finish sending: four times the limit.
const DRAIN_BYTES: usize = 4 * MAX_BODY_BYTES;

/// Reads `body` and drops it, up to [`DRAIN_BYTES`].
async fn drain(body: Body) {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut read = 0;
    while let Some(Ok(chunk)) = stream.next().await {
        read += chunk.len();
        if read > DRAIN_BYTES {
            break;
        }
    }
}

/// Whether a request's body is JSON as ferrokinesis reads it: sent as
/// `application/x-amz-json-1.1`, the only JSON content type it serves (the others are CBOR or
/// refused).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    content_type == Some("application/x-amz-json-1.1")
}

/// The stream a request to `operation` acts on, as ferrokinesis resolves it: for GetRecords the
/// stream its shard iterator was made for (ferrokinesis reads that one, whatever else the body
/// says); otherwise `StreamName`, or the name in `StreamARN`. `None` when that cannot be told
/// for certain: a body that is not JSON (CBOR, or none), is not the expected shape, names a
/// field twice, gives both a name and an ARN, or carries an iterator ferrokinesis did not make.
/// A caller that needs the stream must then treat the request as touching every stream.
pub(crate) fn stream_name(operation: &str, headers: &HeaderMap, body: &[u8]) -> Option<String> {
    if !is_json_object(headers, body) {
        return None;
    }
    if operation == "GetRecords" {
        return iterated(body).map(|shard| shard.stream);
    }
    named(body).map(|(stream, _)| stream)
}

/// One shard of one stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Shard {
    /// The stream's name.
    pub stream: String,
    /// The shard's id as ferrokinesis writes it (`shardId-000000000003`).
    pub shard_id: String,
}

/// The shard a GetRecords or GetShardIterator request reads, as ferrokinesis resolves it: for
/// GetRecords the one its shard iterator was made for; for GetShardIterator the stream (as in
/// [`stream_name`]) and its `ShardId`, which ferrokinesis also takes as a bare number (`3`).
/// `None` for other operations and whenever [`stream_name`] would give `None`, or the shard id
/// is not one ferrokinesis takes (it then answers the request with an error itself).
pub(crate) fn shard(operation: &str, headers: &HeaderMap, body: &[u8]) -> Option<Shard> {
    if !is_json_object(headers, body) {
        return None;
    }
    match operation {
        "GetRecords" => iterated(body),
        "GetShardIterator" => {
            let (stream, shard_id) = named(body)?;
            let (shard_id, _) = ferrokinesis::sequence::resolve_shard_id(&shard_id?).ok()?;
            Some(Shard { stream, shard_id })
        }
        _ => None,
    }
}

/// Whether `body` is sent as JSON and is an object: the only bodies that ferrokinesis reads as
/// JSON and serves (serde would also read a struct from an array).
fn is_json_object(headers: &HeaderMap, body: &[u8]) -> bool {
    is_json(headers) && body.trim_ascii_start().first() == Some(&b'{')
}

/// The shard a GetRecords body's iterator was made for (ferrokinesis's iterators are encrypted
/// with a key it publishes, so they can be read back).
fn iterated(body: &[u8]) -> Option<Shard> {
    let input: Iterated = serde_json::from_slice(body).ok()?;
    let (_, stream, shard_id, _) =
        ferrokinesis::shard_iterator::decode_shard_iterator(&input.shard_iterator).ok()?;
    Some(Shard { stream, shard_id }).filter(|s| !s.stream.is_empty())
}

/// The stream a body names (by `StreamName` or `StreamARN`), and its `ShardId` if it has one.
fn named(body: &[u8]) -> Option<(String, Option<String>)> {
    let input: Named = serde_json::from_slice(body).ok()?;
    let name = input.stream_name.filter(|s| !s.is_empty());
    let arn = input.stream_arn.filter(|s| !s.is_empty());
    let stream = match (name, arn) {
        (Some(name), None) => name.into_owned(),
        // arn:aws:kinesis:<region>:<account>:stream/<name>: ferrokinesis takes what follows the
        // first slash, up to the next one
        (None, Some(arn)) => arn.split('/').nth(1)?.to_string(),
        // both: ferrokinesis refuses the request; neither: it names no stream
        _ => return None,
    };
    let shard_id = input.shard_id.map(Cow::into_owned);
    Some((stream, shard_id)).filter(|(s, _)| !s.is_empty())
}

/// The fields of a request body that name its stream; the others are skipped, not kept.
#[derive(Deserialize)]
struct Named<'a> {
    /// The stream by name.
    #[serde(rename = "StreamName", borrow, default)]
    stream_name: Option<Cow<'a, str>>,
    /// The stream by ARN, when no name is given.
    #[serde(rename = "StreamARN", borrow, default)]
    stream_arn: Option<Cow<'a, str>>,
    /// The shard, in a GetShardIterator.
    #[serde(rename = "ShardId", borrow, default)]
    shard_id: Option<Cow<'a, str>>,
}

/// The field of a GetRecords body that says what it reads.
#[derive(Deserialize)]
struct Iterated<'a> {
    /// Where to read, made by ferrokinesis's GetShardIterator or a previous GetRecords; it
    /// holds the stream name.
    #[serde(rename = "ShardIterator", borrow)]
    shard_iterator: Cow<'a, str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers_for(operation: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-amz-json-1.1"),
        );
        if let Ok(target) = HeaderValue::from_str(&format!("Kinesis_20131202.{operation}")) {
            headers.insert("x-amz-target", target);
        }
        headers
    }

    fn stream_of(operation: &str, body: &str) -> Option<String> {
        stream_name(operation, &headers_for(operation), body.as_bytes())
    }

    fn iterator(stream: &str) -> String {
        ferrokinesis::shard_iterator::create_shard_iterator(
            stream,
            "shardId-000000000003",
            "49590338271490256608559692538361571095921575989136588898",
            1_700_000_000_000,
        )
    }

    #[test]
    fn the_operation_is_what_follows_the_last_dot_of_the_target() {
        assert_eq!(operation(&headers_for("PutRecords")), "PutRecords");
        assert_eq!(
            target(&headers_for("PutRecords")),
            "Kinesis_20131202.PutRecords"
        );
        let mut headers = HeaderMap::new();
        assert_eq!(operation(&headers), "");
        headers.insert("x-amz-target", HeaderValue::from_static("GetRecords"));
        assert_eq!(operation(&headers), "GetRecords");
    }

    #[test]
    fn a_write_names_its_stream_by_name_or_arn() {
        let records = r#""Records":[{"Data":"eA==","PartitionKey":"k"}]"#;
        assert_eq!(
            stream_of(
                "PutRecords",
                &format!(r#"{{{records},"StreamName":"orders"}}"#)
            ),
            Some("orders".into())
        );
        assert_eq!(
            stream_of(
                "PutRecords",
                &format!(
                    r#"{{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/orders",{records}}}"#
                )
            ),
            Some("orders".into())
        );
        assert_eq!(
            stream_of(
                "PutRecord",
                r#"{"StreamName":"o\u0072ders","Data":"eA==","PartitionKey":"k"}"#
            ),
            Some("orders".into()),
            "an escaped name is the name it spells"
        );
        assert_eq!(
            stream_of(
                "PutRecord",
                r#"{"StreamName":null,"StreamARN":"arn:x:stream/b"}"#
            ),
            Some("b".into()),
            "a null name is no name, as in ferrokinesis"
        );
    }

    #[test]
    fn a_read_names_the_stream_its_iterator_was_made_for() {
        let body = format!(
            r#"{{"ShardIterator":"{}","Limit":100}}"#,
            iterator("clicks")
        );
        assert_eq!(stream_of("GetRecords", &body), Some("clicks".into()));
        // ferrokinesis reads the iterator's stream, whatever StreamARN says
        let body = format!(
            r#"{{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/other","ShardIterator":"{}"}}"#,
            iterator("clicks")
        );
        assert_eq!(stream_of("GetRecords", &body), Some("clicks".into()));
    }

    #[test]
    fn a_read_names_its_shard_from_the_iterator_or_the_shard_id() {
        let shard = |stream: &str, id: &str| {
            Some(Shard {
                stream: stream.into(),
                shard_id: id.into(),
            })
        };
        let shard_of = |operation: &str, body: &str| {
            super::shard(operation, &headers_for(operation), body.as_bytes())
        };
        let body = format!(r#"{{"ShardIterator":"{}"}}"#, iterator("clicks"));
        assert_eq!(
            shard_of("GetRecords", &body),
            shard("clicks", "shardId-000000000003")
        );
        let typed = r#""ShardIteratorType":"LATEST""#;
        for (body, expected) in [
            (
                format!(r#"{{"StreamName":"a","ShardId":"shardId-000000000001",{typed}}}"#),
                shard("a", "shardId-000000000001"),
            ),
            // ferrokinesis takes a bare number, and any prefix before the dash
            (
                format!(r#"{{"ShardId":"7","StreamARN":"arn:x:stream/b",{typed}}}"#),
                shard("b", "shardId-000000000007"),
            ),
            (
                format!(r#"{{"StreamName":"a","ShardId":"x",{typed}}}"#),
                None,
            ),
            (format!(r#"{{"StreamName":"a",{typed}}}"#), None),
            (format!(r#"{{"ShardId":"1",{typed}}}"#), None),
        ] {
            assert_eq!(shard_of("GetShardIterator", &body), expected, "{body}");
        }
        let put = r#"{"StreamName":"a","ShardId":"1"}"#;
        assert_eq!(shard_of("PutRecords", put), None, "not a read");
        let mut cbor = headers_for("GetShardIterator");
        cbor.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-amz-cbor-1.1"),
        );
        let body = br#"{"StreamName":"a","ShardId":"1"}"#;
        assert_eq!(super::shard("GetShardIterator", &cbor, body), None);
    }

    #[test]
    fn what_cannot_be_told_for_certain_names_no_stream() {
        for (operation, body) in [
            ("PutRecords", "not json"),
            ("PutRecords", ""),
            ("PutRecords", "[]"),
            ("PutRecords", r#"["orders"]"#),
            ("PutRecords", r#"{"Records":[]}"#),
            ("PutRecords", r#"{"StreamName":""}"#),
            ("PutRecords", r#"{"StreamName":7}"#),
            ("PutRecords", r#"{"StreamName":"a","StreamName":"b"}"#),
            (
                "PutRecords",
                r#"{"StreamName":"a","StreamARN":"arn:x:stream/a"}"#,
            ),
            (
                "PutRecord",
                r#"{"StreamARN":"arn:aws:kinesis:us-east-1:0:stream"}"#,
            ),
            (
                "PutRecord",
                r#"{"StreamARN":"arn:aws:kinesis:us-east-1:0:stream/"}"#,
            ),
            ("GetRecords", r#"{"ShardIterator":"AAAAAAAAAAE="}"#),
            ("GetRecords", r#"{"ShardIterator":"not base64 at all"}"#),
            ("GetRecords", r#"{"Limit":10}"#),
            ("GetRecords", r#"{"ShardIterator":7}"#),
        ] {
            assert_eq!(stream_of(operation, body), None, "{operation} {body}");
        }
        let twice = format!(
            r#"{{"ShardIterator":"{}","ShardIterator":"{}"}}"#,
            iterator("a"),
            iterator("b")
        );
        assert_eq!(stream_of("GetRecords", &twice), None);
    }

    #[test]
    fn a_body_not_sent_as_json_names_no_stream() {
        let body = br#"{"StreamName":"orders"}"#;
        for (content_type, stream) in [
            (Some("application/x-amz-json-1.1"), Some("orders")),
            (
                Some("application/x-amz-json-1.1; charset=utf-8"),
                Some("orders"),
            ),
            (Some("application/x-amz-cbor-1.1"), None),
            (Some("application/json"), None),
            (None, None),
        ] {
            let mut headers = headers_for("PutRecords");
            headers.remove(header::CONTENT_TYPE);
            if let Some(content_type) = content_type {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            }
            assert_eq!(
                stream_name("PutRecords", &headers, body).as_deref(),
                stream,
                "{content_type:?}"
            );
        }
    }
}
