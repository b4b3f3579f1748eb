//! One subscription: the events of one consumer on one shard, from its starting position until
//! its session ends, read as they are written.
//!
//! A session is the state of a lazy stream of frames, the response body: nothing runs between
//! the client's reads of it, and nothing is left when it is dropped (the client went away, the
//! server stopped). It reads with GetRecords through the router below (so reads wait for the
//! writes in progress, see `reads_after_writes.rs`) and holds one read's records at a time.
//! After a read that found nothing it waits for a write to its stream (see `Writes` in
//! `subscribe.rs`), then reads again only if its shard was written to (ferrokinesis's per-shard
//! sequence counter moved). It sends an empty event when nothing was sent for a second, as
//! Kinesis does, so that the client sees the subscription alive and its position.

use super::events::{self, ChildShard, Event, HashKeyRange};
use super::leases::Ended;
use super::pace::Pacer;
use super::{Efo, Lease, Watch};
use axum::body::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long a subscription stays silent at most: then it sends an empty event.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// Record bytes (data and partition key) one event carries at most, unless one record is
/// larger; a read's records are sent as several events past it.
const EVENT_BYTES: u64 = 1024 * 1024;

/// Record bytes a read aims at: a second's worth at the fan-out limit. The next read's `Limit`
/// is this over the largest record of the last one, so a read holds about this much however
/// large the records are (more only when they grow from one read to the next).
const READ_BYTES: u64 = super::pace::EFO_READ_BYTES_PER_S;

/// The first read's `Limit`, before any record size is known: 10 records of the largest size
/// (1 MiB) are the 10 MB that one GetRecords may return on Kinesis.
const FIRST_LIMIT: u64 = 10;

/// Most records a GetRecords returns (../shared/spec/KINESIS.md, "Data-plane limits").
const MAX_LIMIT: u64 = crate::scenario::limits::GET_RECORDS_MAX_RECORDS as u64;

/// Where a subscription starts, as the SubscribeToShard call resolved it.
pub(super) struct Start {
    /// The consumer's stream.
    pub(super) stream: String,
    /// The shard, `shardId-NNNNNNNNNNNN`, and its index in the stream.
    pub(super) shard_id: String,
    pub(super) shard_ix: i64,
    /// A shard iterator at the starting position.
    pub(super) iterator: String,
    /// What the events carry as their continuation until a record is sent.
    pub(super) continuation: String,
}

/// A subscription in progress.
pub(super) struct Session {
    /// The endpoint's fan-out state: the router to read through, the store, the writes.
    efo: Arc<Efo>,
    /// Where it reads.
    stream: String,
    shard_id: String,
    shard_ix: i64,
    /// Where the next read starts; `None` once the shard's end (or a failure) has been sent.
    iterator: Option<String>,
    /// The continuation of the last event: the last record sent, or where the subscription
    /// started.
    continuation: String,
    /// The events of the last read not yet sent: its records, cut at [`EVENT_BYTES`].
    pending: VecDeque<Pending>,
    /// The next read's `Limit`.
    limit: u64,
    /// The consumer's read budget on the shard; `None` when limits are off.
    pacer: Option<Arc<Pacer>>,
    /// Woken by writes to the stream.
    writes: Watch,
    /// The shard's write counter before the last read: a wake-up with it unchanged is for
    /// another shard. `None` before the first read.
    seen: Option<u64>,
    /// Whether the last read stopped at its `Limit`: more records are there already.
    behind: bool,
    /// When the session ends.
    ends_at: Instant,
    /// Cancelled by a takeover or the server stopping.
    ends: CancellationToken,
    /// When the last frame was sent.
    last_sent: Instant,
    /// Whether the initial response has been sent.
    started: bool,
    /// The lease, given back when the session goes.
    lease: Lease,
}

/// What of one read waits to be sent.
enum Pending {
    /// An event.
    Event(Chunk),
    /// A failure, sent as an exception: the subscription's last message.
    Failure(Bytes),
}

/// The records of one event (and at a closed shard's end, its children).
#[derive(Default)]
struct Chunk {
    /// As GetRecords returned them.
    records: Vec<Box<RawValue>>,
    /// The last record's sequence number; `None` for an event without records.
    last: Option<String>,
    /// The last record's arrival, in epoch milliseconds.
    arrived_ms: Option<u64>,
    /// Their data and partition key bytes, for the pacer.
    bytes: u64,
    /// Whether more records are known to follow (later events of the read, or a read that
    /// stopped at its `Limit`): the event is behind the tip by its last record's age.
    more: bool,
    /// What the read said of its distance from the tip.
    read_millis: u64,
    /// The closed shard's children: this is its last event.
    children: Option<Vec<ChildShard>>,
}

impl Chunk {
    /// An event without records.
    fn empty(read_millis: u64, children: Option<Vec<ChildShard>>) -> Chunk {
        Chunk {
            read_millis,
            children,
            ..Chunk::default()
        }
    }

    /// Adds `record`, whose fields are `fields`.
    fn push(&mut self, record: Box<RawValue>, fields: Fields) {
        self.records.push(record);
        self.last = Some(fields.sequence_number);
        self.arrived_ms = Some(fields.arrived_ms);
        self.bytes += fields.bytes;
    }
}

/// Why a wait ended.
enum Wake {
    /// Read: the shard was written to, or (`heartbeat`) nothing was sent for a while.
    Read { heartbeat: bool },
    /// The session is over: its time ran out, it was taken over, or the server stops.
    Over,
}

impl Session {
    pub(super) fn new(
        efo: Arc<Efo>,
        start: Start,
        mut lease: Lease,
        ends: CancellationToken,
        pacer: Option<Arc<Pacer>>,
    ) -> Session {
        let now = Instant::now();
        let writes = Watch::new(&efo, &start.stream);
        // from now on, a session dropped before its end is a client gone
        lease.ended = Ended::ClientGone;
        // a session too long for the clock (EmbeddedOptions is public) lasts a year
        let ends_at = now
            .checked_add(efo.session)
            .unwrap_or(now + Duration::from_secs(365 * 24 * 3600));
        Session {
            ends_at,
            lease,
            efo,
            stream: start.stream,
            shard_id: start.shard_id,
            shard_ix: start.shard_ix,
            iterator: Some(start.iterator),
            continuation: start.continuation,
            pending: VecDeque::new(),
            limit: FIRST_LIMIT,
            pacer,
            writes,
            seen: None,
            behind: false,
            ends,
            last_sent: now,
            started: false,
        }
    }

    /// The next frame to send; `None`: the subscription is over (the response ends).
    pub(super) async fn next(&mut self) -> Option<Bytes> {
        if !self.started {
            self.started = true;
            return self.sent(events::initial_response());
        }
        loop {
            match self.pending.pop_front() {
                Some(Pending::Failure(frame)) => return self.sent(Ok(frame)),
                Some(Pending::Event(chunk)) => {
                    if !self.paced(chunk.bytes).await {
                        return self.over();
                    }
                    let frame = self.frame(chunk);
                    return self.sent(frame);
                }
                None => {}
            }
            if self.iterator.is_none() {
                return self.over();
            }
            match self.wait().await {
                Wake::Over => return self.over(),
                Wake::Read { heartbeat } => self.read(heartbeat).await,
            }
        }
    }

    /// Waits for the budget of `bytes`; false if the session ended meanwhile.
    async fn paced(&self, bytes: u64) -> bool {
        let Some(pacer) = &self.pacer else {
            return true;
        };
        tokio::select! {
            () = pacer.wait(bytes) => true,
            () = self.ends.cancelled() => false,
            () = tokio::time::sleep_until(self.ends_at) => false,
        }
    }

    /// Waits until there is something to read, or a heartbeat is due, or the session is over.
    async fn wait(&mut self) -> Wake {
        if self.ends.is_cancelled() || Instant::now() >= self.ends_at {
            return Wake::Over;
        }
        let seen = match self.seen {
            // the last read stopped at its limit: read on at once
            Some(_) if self.behind => return Wake::Read { heartbeat: false },
            Some(seen) => seen,
            // the first read, at once
            None => return Wake::Read { heartbeat: true },
        };
        loop {
            tokio::select! {
                biased;
                () = self.ends.cancelled() => return Wake::Over,
                () = tokio::time::sleep_until(self.ends_at) => return Wake::Over,
                () = self.writes.changed() => {
                    let counter = self.efo.store.current_shard_seq(&self.stream, self.shard_ix);
                    if counter.await != seen {
                        return Wake::Read { heartbeat: false };
                    }
                }
                () = tokio::time::sleep_until(self.last_sent + HEARTBEAT) => {
                    return Wake::Read { heartbeat: true };
                }
            }
        }
    }

    /// Reads from the iterator and queues what is to be sent: the records as events, the
    /// shard's end, a failure, or (`heartbeat`, nothing read) an empty event.
    async fn read(&mut self, heartbeat: bool) {
        let Some(iterator) = self.iterator.take() else {
            return;
        };
        // before the counter, so that a write finished after it wakes the next wait
        self.writes.mark_seen();
        let counter = self
            .efo
            .store
            .current_shard_seq(&self.stream, self.shard_ix);
        self.seen = Some(counter.await);
        let body = serde_json::json!({ "ShardIterator": iterator, "Limit": self.limit });
        let read = match self.efo.call("GetRecords", &body).await {
            Ok(bytes) => match serde_json::from_slice::<Read>(&bytes) {
                Ok(read) => read,
                Err(e) => {
                    let message = format!("GetRecords answered something else: {e}");
                    return self.failed("InternalFailure", &message);
                }
            },
            Err(failure) => return self.failed(&failure.code, &failure.message),
        };
        let read_millis = read.millis_behind_latest.unwrap_or(0);
        self.behind = read.records.len() as u64 >= self.limit;
        self.iterator = read.next_shard_iterator;
        if read.records.is_empty() && self.iterator.is_some() {
            if heartbeat {
                self.pending
                    .push_back(Pending::Event(Chunk::empty(read_millis, None)));
            }
            return;
        }
        let mut largest = 0;
        let mut chunk = Chunk {
            read_millis,
            ..Chunk::default()
        };
        for record in read.records {
            let Some(fields) = Fields::of(&record) else {
                return self.failed("InternalFailure", "GetRecords returned a malformed record");
            };
            let bytes = fields.bytes;
            largest = largest.max(bytes);
            if chunk.bytes > 0 && chunk.bytes + bytes > EVENT_BYTES {
                let full = std::mem::replace(
                    &mut chunk,
                    Chunk {
                        read_millis,
                        ..Chunk::default()
                    },
                );
                self.pending
                    .push_back(Pending::Event(Chunk { more: true, ..full }));
            }
            chunk.push(record, fields);
        }
        if !chunk.records.is_empty() {
            chunk.more = self.behind;
            self.pending.push_back(Pending::Event(chunk));
            self.limit = (READ_BYTES / largest.max(1)).clamp(1, MAX_LIMIT);
        }
        if self.iterator.is_none() {
            // the end of a closed shard: its children, in the last event
            let children = self.children().await;
            self.pending
                .push_back(Pending::Event(Chunk::empty(read_millis, Some(children))));
        }
    }

    /// Queues `code` as the subscription's last message.
    fn failed(&mut self, code: &str, message: &str) {
        self.iterator = None;
        self.pending.clear();
        match events::exception(code, message) {
            Ok(frame) => self.pending.push_back(Pending::Failure(frame)),
            Err(e) => tracing::error!("SubscribeToShard on {}: {e}", self.shard_id),
        }
    }

    /// The shard's children, from the stream's shards as the store keeps them (ferrokinesis
    /// keeps each shard's parent and, for a merge, adjacent parent).
    async fn children(&self) -> Vec<ChildShard> {
        let Ok(stream) = self.efo.store.get_stream(&self.stream).await else {
            return Vec::new();
        };
        stream
            .shards
            .iter()
            .filter(|s| {
                s.parent_shard_id.as_deref() == Some(&self.shard_id)
                    || s.adjacent_parent_shard_id.as_deref() == Some(&self.shard_id)
            })
            .map(|s| ChildShard {
                shard_id: s.shard_id.clone(),
                parent_shards: s
                    .parent_shard_id
                    .iter()
                    .chain(s.adjacent_parent_shard_id.iter())
                    .cloned()
                    .collect(),
                hash_key_range: HashKeyRange {
                    starting_hash_key: s.hash_key_range.starting_hash_key.clone(),
                    ending_hash_key: s.hash_key_range.ending_hash_key.clone(),
                },
            })
            .collect()
    }

    /// The frame of an event, with its position: its continuation advances the session's.
    fn frame(&mut self, chunk: Chunk) -> Result<Bytes, events::FrameError> {
        if let Some(last) = chunk.last {
            self.continuation = last;
        }
        let behind = match chunk.arrived_ms {
            Some(arrived) if chunk.more => now_ms().saturating_sub(arrived).max(chunk.read_millis),
            _ => chunk.read_millis,
        };
        events::event(&Event {
            records: &chunk.records,
            continuation: chunk
                .children
                .is_none()
                .then_some(self.continuation.as_str()),
            millis_behind_latest: behind,
            child_shards: chunk.children.as_deref(),
        })
    }

    /// `frame` sent now; a frame that could not be written ends the subscription.
    fn sent(&mut self, frame: Result<Bytes, events::FrameError>) -> Option<Bytes> {
        match frame {
            Ok(frame) => {
                self.last_sent = Instant::now();
                Some(frame)
            }
            Err(e) => {
                tracing::error!("SubscribeToShard on {}: {e}", self.shard_id);
                self.over()
            }
        }
    }

    /// The subscription ends by itself: a renewal may come at once.
    fn over(&mut self) -> Option<Bytes> {
        self.lease.ended = Ended::ByItself;
        self.iterator = None;
        self.pending.clear();
        None
    }
}

/// A GetRecords response, its records kept as they came.
#[derive(Deserialize)]
struct Read {
    #[serde(rename = "Records")]
    records: Vec<Box<RawValue>>,
    #[serde(rename = "NextShardIterator", default)]
    next_shard_iterator: Option<String>,
    #[serde(rename = "MillisBehindLatest", default)]
    millis_behind_latest: Option<u64>,
}

/// What a session reads of a record; the rest is passed on untouched.
#[derive(Deserialize)]
struct RecordFields<'a> {
    #[serde(rename = "SequenceNumber", borrow)]
    sequence_number: Cow<'a, str>,
    #[serde(rename = "ApproximateArrivalTimestamp", default)]
    approximate_arrival_timestamp: f64,
    /// Base64.
    #[serde(rename = "Data", borrow)]
    data: Cow<'a, str>,
    #[serde(rename = "PartitionKey", borrow)]
    partition_key: Cow<'a, str>,
}

/// What a session keeps of a record's fields.
struct Fields {
    sequence_number: String,
    /// Its arrival, in epoch milliseconds.
    arrived_ms: u64,
    /// Its size.
    bytes: u64,
}

impl Fields {
    /// The fields of `record`; `None` if it is not a record.
    fn of(record: &RawValue) -> Option<Fields> {
        let fields: RecordFields = serde_json::from_str(record.get()).ok()?;
        Some(Fields {
            bytes: fields.bytes(),
            sequence_number: fields.sequence_number.into_owned(),
            arrived_ms: (fields.approximate_arrival_timestamp * 1000.0) as u64,
        })
    }
}

impl RecordFields<'_> {
    /// The record's size as Kinesis counts it: its data (decoded) and its partition key.
    fn bytes(&self) -> u64 {
        let data = self.data.as_bytes();
        let padding = data.iter().rev().take_while(|&&b| b == b'=').count();
        let decoded = (data.len() / 4 * 3).saturating_sub(padding);
        (decoded + self.partition_key.len()) as u64
    }
}

/// The continuation to give before any record is sent, for a subscription that starts at
/// `position` (the sequence number a shard iterator points at): the sequence number `c` for
/// which AFTER_SEQUENCE_NUMBER `c` starts at `position` again, so a renewal from it misses
/// nothing and repeats nothing. ferrokinesis orders a shard's sequence numbers by their
/// record index, then the time; AFTER_SEQUENCE_NUMBER `c` is `c` a second later, so `c` is
/// `position` a second earlier. `None` when `position` is not one of ferrokinesis's.
pub(super) fn continuation_before(position: &str) -> Option<String> {
    use ferrokinesis::sequence::{parse_sequence, stringify_sequence};
    let mut seq = parse_sequence(position).ok()?;
    if seq.version != 2 {
        return None;
    }
    seq.seq_time = Some(seq.seq_time?.checked_sub(1000)?);
    seq.byte1 = None;
    Some(stringify_sequence(&seq))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrokinesis::sequence::{SeqObj, increment_sequence, parse_sequence, stringify_sequence};

    fn seq(ix: u64, time_ms: u64) -> String {
        stringify_sequence(&SeqObj {
            shard_create_time: 1_700_000_000_000,
            seq_ix: Some(ix),
            byte1: None,
            seq_time: Some(time_ms),
            seq_rand: None,
            shard_ix: 3,
            version: 2,
        })
    }

    #[test]
    fn after_the_continuation_before_a_position_is_that_position() {
        for position in [
            seq(0, 1_700_000_000_000),
            seq(41, 1_700_000_123_000),
            seq(7, 1_700_000_999_000),
        ] {
            let before = continuation_before(&position).expect("a continuation");
            let after = increment_sequence(&parse_sequence(&before).expect("parses"), None);
            assert_eq!(after, position);
        }
        assert_eq!(continuation_before("not a sequence number"), None);
    }

    #[test]
    fn a_record_counts_its_decoded_data_and_its_key() {
        let fields = |data: &'static str, key: &'static str| RecordFields {
            sequence_number: "1".into(),
            approximate_arrival_timestamp: 0.0,
            data: data.into(),
            partition_key: key.into(),
        };
        assert_eq!(fields("", "k").bytes(), 1);
        assert_eq!(fields("eA==", "k").bytes(), 2);
        assert_eq!(fields("eHk=", "").bytes(), 2);
        assert_eq!(fields("eHl6", "ab").bytes(), 5);
    }
}
