//! GetRecords says how far behind the tip of its shard a reader is: `MillisBehindLatest` is the
//! age of the last record the response returned when the shard holds later ones, and 0 when the
//! reader has caught up.
//!
//! Real Kinesis: "the number of milliseconds the GetRecords response is from the tip of the
//! stream, indicating how far behind current time the consumer is; a value of zero indicates
//! that record processing is caught up" (GetRecords API reference). Consumers alarm on it, and
//! kbench reports its maximum per consumer and interval.
//!
//! Why ferrokinesis 0.7 lacks it: it answers 0 on every read of an open shard
//! (../shared/spec/KINESIS.md, "Enhanced fan-out"), so a poller ten seconds behind says it is
//! caught up.
//!
//! How: the answer's last record's sequence number carries, as ferrokinesis makes it, the
//! record's place in its shard; the shard's write counter says whether a later record exists,
//! and then the reader is behind by the time the first record it has not read has waited. A
//! sequence number carries its arrival in whole seconds only, so the layer also notes, per
//! shard, when each successful PutRecord / PutRecords call was answered and up to which place
//! it wrote ([`Arrivals`], the last [`KEPT_WRITES`] calls per shard; a record older than those
//! falls back to its whole-second arrival). Both answers are read with serde_json streaming
//! over them (the records are skipped, only sequence numbers and shard ids borrowed), and only
//! a GetRecords answer's leading `"MillisBehindLatest":0` is rewritten, so no record is copied.
//! A body of another shape (CBOR, an error) and the closed-shard answer, where ferrokinesis
//! already gives a value, pass unchanged. SubscribeToShard reads through this layer, so its
//! events say the same. DeleteStream forgets the stream's notes.
//!
//! It is on whatever the options say: it corrects a figure, it limits nothing.

use super::EmbeddedOptions;
use super::request;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use ferrokinesis::store::Store;
use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

/// Puts the behaviour on `router`.
pub(super) fn layer(router: Router, store: &Store, _options: &EmbeddedOptions) -> Router {
    let state = Arc::new(Behind {
        store: store.clone(),
        arrivals: Mutex::default(),
    });
    router.layer(axum::middleware::from_fn_with_state(state, behind_latest))
}

/// What the layer keeps: the store (its write counters) and when the writes were answered.
struct Behind {
    store: Store,
    arrivals: Mutex<Arrivals>,
}

impl Behind {
    fn arrivals(&self) -> std::sync::MutexGuard<'_, Arrivals> {
        self.arrivals.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn behind_latest(
    State(behind): State<Arc<Behind>>,
    request: Request,
    next: Next,
) -> Response {
    let operation = request::operation(request.headers());
    if !matches!(
        operation,
        "GetRecords" | "PutRecord" | "PutRecords" | "DeleteStream"
    ) {
        return next.run(request).await;
    }
    let operation = operation.to_string();
    let (request, body) = match request::read_body(request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let stream = request::stream_name(&operation, request.headers(), &body);
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let Some(stream) = stream else {
        return response;
    };
    if operation == "DeleteStream" {
        behind.arrivals().forget(&stream);
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return request::kinesis_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalFailure",
                &format!("the embedded endpoint could not read its own {operation} answer: {e}"),
            );
        }
    };
    let now = now_ms();
    let bytes = if operation != "GetRecords" {
        behind.arrivals().wrote(&stream, &written(&bytes), now);
        bytes
    } else if let Some(last) = last_read(&bytes) {
        let next = behind.store.current_shard_seq(&stream, last.shard).await;
        let ms = behind_ms(&last, next, now, &behind.arrivals(), &stream);
        // the length changes with the figure: the server counts it again
        parts.headers.remove(axum::http::header::CONTENT_LENGTH);
        rewritten(bytes, ms)
    } else {
        bytes
    };
    Response::from_parts(parts, Body::from(bytes))
}

/// How many write calls per shard [`Arrivals`] remembers.
const KEPT_WRITES: usize = 1024;

/// When a place's write was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answered {
    /// At this Unix ms.
    At(u64),
    /// Not yet: the shard's counter has passed it, but its write call is still in progress,
    /// so the record cannot be read yet.
    NotYet,
    /// Not remembered: too long ago, or before the layer saw the shard's writes.
    Unknown,
}

/// Per stream and shard, the last [`KEPT_WRITES`] successful write calls: the highest place in
/// the shard each wrote, and when it was answered (Unix ms), oldest first.
#[derive(Default)]
struct Arrivals {
    shards: HashMap<(String, i64), Shard>,
}

#[derive(Default)]
struct Shard {
    writes: VecDeque<(u64, u64)>,
    /// The highest place among the calls no longer kept.
    forgotten: Option<u64>,
}

impl Arrivals {
    /// A write call to `stream` answered at `now_ms` wrote up to these places of these shards.
    fn wrote(&mut self, stream: &str, places: &[(i64, u64)], now_ms: u64) {
        for &(shard, place) in places {
            let s = self.shards.entry((stream.to_string(), shard)).or_default();
            if s.writes.len() == KEPT_WRITES
                && let Some((gone, _)) = s.writes.pop_front()
            {
                s.forgotten = s.forgotten.max(Some(gone));
            }
            s.writes.push_back((place, now_ms));
        }
    }

    /// When the write of place `place` of `shard` was answered.
    fn answered(&self, stream: &str, shard: i64, place: u64) -> Answered {
        let Some(s) = self.shards.get(&(stream.to_string(), shard)) else {
            return Answered::Unknown;
        };
        if s.forgotten.is_some_and(|f| place <= f) {
            return Answered::Unknown;
        }
        // the calls' places increase: the first that reached `place` wrote it
        let i = s.writes.partition_point(|&(p, _)| p < place);
        match s.writes.get(i) {
            Some(&(_, ms)) => Answered::At(ms),
            None => Answered::NotYet,
        }
    }

    fn forget(&mut self, stream: &str) {
        self.shards.retain(|(s, _), _| s != stream);
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Where the last record of an answer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Last {
    /// Its shard's index.
    shard: i64,
    /// Its place in the shard (0 for the first record written to it).
    index: u64,
    /// When it arrived, in Unix milliseconds cut to the whole second.
    arrived_ms: u64,
}

/// How far behind the tip a reader of `stream` whose answer ended at `last` is, now
/// (`now_ms`), the shard's write counter at `next` (the place the next record will take): 0
/// when it read the last record, or the next one is still being written; otherwise how long
/// the first record it has not read has waited, from `arrivals`, or, when that write is not
/// remembered, since the whole second the last one read arrived in.
fn behind_ms(last: &Last, next: u64, now_ms: u64, arrivals: &Arrivals, stream: &str) -> u64 {
    let unread = last.index.saturating_add(1);
    if unread >= next {
        return 0;
    }
    let since = match arrivals.answered(stream, last.shard, unread) {
        Answered::At(ms) => ms,
        Answered::NotYet => return 0,
        Answered::Unknown => last.arrived_ms,
    };
    now_ms.saturating_sub(since)
}

/// The highest place written per shard by a PutRecord / PutRecords answer (the records a
/// PutRecords call failed have no sequence number and count for nothing).
fn written(body: &[u8]) -> Vec<(i64, u64)> {
    let Ok(answer) = serde_json::from_slice::<Written>(body) else {
        return Vec::new();
    };
    answer
        .last_per_shard
        .iter()
        .chain(&answer.one)
        .filter_map(|seq| {
            let seq = ferrokinesis::sequence::parse_sequence(seq).ok()?;
            Some((seq.shard_ix, seq.seq_ix?))
        })
        .collect()
}

/// A write's answer: PutRecords's `Records`, each shard's last sequence number kept (a shard's
/// places increase through the list), or PutRecord's own `SequenceNumber`.
#[derive(Deserialize)]
struct Written {
    #[serde(rename = "Records", deserialize_with = "last_per_shard", default)]
    last_per_shard: Vec<String>,
    #[serde(rename = "SequenceNumber", default)]
    one: Option<String>,
}

fn last_per_shard<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    deserializer.deserialize_seq(LastPerShard)
}

/// Visits PutRecords's result entries and keeps each shard's last sequence number.
struct LastPerShard;

impl<'de> Visitor<'de> for LastPerShard {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of PutRecords results")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut entries: A) -> Result<Self::Value, A::Error> {
        let mut last: HashMap<Cow<'de, str>, Cow<'de, str>> = HashMap::new();
        while let Some(entry) = entries.next_element::<Placed<'de>>()? {
            if let (Some(shard), Some(seq)) = (entry.shard_id, entry.sequence_number) {
                last.insert(shard, seq);
            }
        }
        Ok(last.into_values().map(Cow::into_owned).collect())
    }
}

/// A PutRecords result entry: where its record went; a failed one has neither.
#[derive(Deserialize)]
struct Placed<'a> {
    #[serde(rename = "ShardId", borrow, default)]
    shard_id: Option<Cow<'a, str>>,
    #[serde(rename = "SequenceNumber", borrow, default)]
    sequence_number: Option<Cow<'a, str>>,
}

/// The answer's last record, when it is a ferrokinesis GetRecords answer of an open shard with
/// records and `MillisBehindLatest` 0; `None` otherwise (nothing to correct).
fn last_read(body: &[u8]) -> Option<Last> {
    if !body.starts_with(ZERO) {
        return None;
    }
    let answer: Answer = serde_json::from_slice(body).ok()?;
    let seq = ferrokinesis::sequence::parse_sequence(&answer.last?).ok()?;
    Some(Last {
        shard: seq.shard_ix,
        index: seq.seq_ix?,
        arrived_ms: seq.seq_time?,
    })
}

/// How ferrokinesis's answer begins when it says 0 (its keys come sorted, this one first).
const ZERO: &[u8] = br#"{"MillisBehindLatest":0,"#;

/// `body` saying `behind` instead of 0; the rest of it as it was.
fn rewritten(body: Bytes, behind: u64) -> Bytes {
    if behind == 0 {
        return body;
    }
    let head = format!(r#"{{"MillisBehindLatest":{behind},"#);
    let mut out = Vec::with_capacity(body.len() + head.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(&body[ZERO.len()..]);
    Bytes::from(out)
}

/// A GetRecords answer: only the last record's sequence number is kept.
#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "Records", deserialize_with = "last_sequence", default)]
    last: Option<String>,
}

fn last_sequence<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    deserializer.deserialize_seq(LastSequence)
}

/// Visits the records and keeps the last one's sequence number.
struct LastSequence;

impl<'de> Visitor<'de> for LastSequence {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut records: A) -> Result<Self::Value, A::Error> {
        let mut last: Option<Cow<'de, str>> = None;
        while let Some(record) = records.next_element::<Sequenced<'de>>()? {
            last = Some(record.sequence_number);
        }
        Ok(last.map(Cow::into_owned))
    }
}

/// A record's sequence number; its other fields are skipped.
#[derive(Deserialize)]
struct Sequenced<'a> {
    #[serde(rename = "SequenceNumber", borrow)]
    sequence_number: Cow<'a, str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caught_up_is_zero_and_behind_is_how_long_the_first_unread_record_waited() {
        let last = Last {
            shard: 2,
            index: 9,
            arrived_ms: 1_000,
        };
        let mut arrivals = Arrivals::default();
        // calls answered at 1.2 s (places up to 9) and 1.5 s (10 to 14) on shard 2
        arrivals.wrote("s", &[(2, 9), (0, 3)], 1_200);
        arrivals.wrote("s", &[(2, 14)], 1_500);
        // the shard's next record will take place 10: the last one was read
        assert_eq!(behind_ms(&last, 10, 5_000, &arrivals, "s"), 0);
        // place 10 was written at 1.5 s
        assert_eq!(behind_ms(&last, 15, 5_000, &arrivals, "s"), 3_500);
        // place 15 is counted but its call not answered yet: nothing readable is unread
        let at_14 = Last { index: 14, ..last };
        assert_eq!(behind_ms(&at_14, 16, 5_000, &arrivals, "s"), 0);
        // another stream's notes say nothing of this one: the whole second is used
        assert_eq!(behind_ms(&last, 15, 5_000, &arrivals, "t"), 4_000);
        // a clock that went back says 0, never a wrap-around
        assert_eq!(behind_ms(&last, 15, 500, &arrivals, "s"), 0);
        arrivals.forget("s");
        assert_eq!(arrivals.answered("s", 2, 10), Answered::Unknown);
    }

    #[test]
    fn only_the_last_writes_are_kept_and_an_older_place_is_not_guessed() {
        let mut arrivals = Arrivals::default();
        for call in 0..(KEPT_WRITES as u64 + 10) {
            // ten records per call: places 10 c .. 10 c + 9
            arrivals.wrote("s", &[(0, call * 10 + 9)], 1_000 + call);
        }
        // the first ten calls are forgotten: their places are not answered with a later time
        assert_eq!(arrivals.answered("s", 0, 5), Answered::Unknown);
        assert_eq!(arrivals.answered("s", 0, 99), Answered::Unknown);
        assert_eq!(arrivals.answered("s", 0, 100), Answered::At(1_010));
        assert_eq!(arrivals.answered("s", 0, 105), Answered::At(1_010));
        let past = KEPT_WRITES as u64 * 10 + 100;
        assert_eq!(arrivals.answered("s", 0, past), Answered::NotYet);
        let s = &arrivals.shards[&("s".to_string(), 0)];
        assert_eq!(s.writes.len(), KEPT_WRITES);
    }

    #[test]
    fn a_put_records_answer_gives_each_shards_last_place() {
        use ferrokinesis::sequence::{SeqObj, stringify_sequence};
        let seq = |shard_ix: i64, ix: u64| {
            stringify_sequence(&SeqObj {
                shard_create_time: 1_700_000_000_000,
                seq_ix: Some(ix),
                byte1: None,
                seq_time: Some(1_700_000_001_000),
                seq_rand: None,
                shard_ix,
                version: 2,
            })
        };
        let body = serde_json::json!({
            "FailedRecordCount": 1,
            "Records": [
                {"SequenceNumber": seq(0, 4), "ShardId": "shardId-000000000000"},
                {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "x"},
                {"SequenceNumber": seq(1, 7), "ShardId": "shardId-000000000001"},
                {"SequenceNumber": seq(0, 5), "ShardId": "shardId-000000000000"},
            ]
        });
        let mut places = written(body.to_string().as_bytes());
        places.sort();
        assert_eq!(places, [(0, 5), (1, 7)]);
        let one =
            serde_json::json!({"SequenceNumber": seq(3, 9), "ShardId": "shardId-000000000003"});
        assert_eq!(written(one.to_string().as_bytes()), [(3, 9)]);
        assert!(written(b"\xa2").is_empty());
    }

    #[test]
    fn only_a_leading_zero_is_rewritten_and_the_records_are_kept() {
        let body = Bytes::from_static(
            br#"{"MillisBehindLatest":0,"NextShardIterator":"i","Records":[{"Data":"eA=="}]}"#,
        );
        assert_eq!(
            &rewritten(body.clone(), 1234)[..],
            &br#"{"MillisBehindLatest":1234,"NextShardIterator":"i","Records":[{"Data":"eA=="}]}"#
                [..]
        );
        assert_eq!(rewritten(body.clone(), 0), body);
        // no records, a closed shard's own value, another shape: nothing to correct
        for other in [
            &br#"{"MillisBehindLatest":0,"NextShardIterator":"i","Records":[]}"#[..],
            br#"{"MillisBehindLatest":77,"Records":[{"SequenceNumber":"1"}]}"#,
            br#"{"__type":"ResourceNotFoundException"}"#,
            b"\xa2",
        ] {
            assert_eq!(last_read(other), None);
        }
    }

    /// Through ferrokinesis: a reader that took one record of three written 50 ms before is
    /// at least 50 ms behind; one that took them all has caught up.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ferrokinesis_answers_say_how_far_behind_the_reader_is() {
        use aws_sdk_kinesis::primitives::Blob;
        use aws_sdk_kinesis::types::ShardIteratorType;
        use std::time::Duration;
        let (app, store) = ferrokinesis::create_app(ferrokinesis::store::StoreOptions {
            create_stream_ms: 10,
            ..Default::default()
        });
        let app = layer(app, &store, &EmbeddedOptions::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let server = super::super::Embedded::serve_app(listener, app).expect("serve");
        let endpoint = crate::scenario::Endpoint::Embedded;
        let c = crate::endpoint::client::build(&endpoint, None, Some(&server.url()))
            .await
            .expect("client");
        crate::endpoint::stream::ensure(&c, "behind", 1, true, Duration::from_secs(30))
            .await
            .expect("stream");
        for i in 0..3 {
            c.put_record()
                .stream_name("behind")
                .partition_key(format!("k{i}"))
                .data(Blob::new(vec![b'x'; 10]))
                .send()
                .await
                .expect("PutRecord");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let iterator = || {
            c.get_shard_iterator()
                .stream_name("behind")
                .shard_id("shardId-000000000000")
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
        };
        let first = iterator().await.expect("iterator").shard_iterator;
        let one = c
            .get_records()
            .set_shard_iterator(first)
            .limit(1)
            .send()
            .await
            .expect("GetRecords");
        assert_eq!(one.records().len(), 1);
        // the second record's write was answered before the sleep: 50 ms and more, and less
        // than the whole seconds a sequence number's time would give on its own
        let behind = one.millis_behind_latest().unwrap_or(0);
        assert!((50..60_000).contains(&behind), "{behind} ms behind");
        let all = c
            .get_records()
            .set_shard_iterator(iterator().await.expect("iterator").shard_iterator)
            .send()
            .await
            .expect("GetRecords");
        assert_eq!(all.records().len(), 3);
        assert_eq!(all.millis_behind_latest(), Some(0));
        server.shutdown().await;
    }
}
