//! Per-interval statistics: counters and histograms, one bucket per phase, owned per task.
//!
//! Each producer worker, consumer reader and the scheduler owns a [`Slot`]; it locks its own slot
//! once per batch (uncontended) and the collector swaps the contents out once per interval.
//! Memory is fixed: a few histograms per phase per task, whatever the run length.

use super::histogram::Latency;
use crate::workload::shardmap::NO_SHARD;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

macro_rules! counters {
    ($(#[doc = $what:literal])* $counters:ident { $($(#[doc = $doc:literal])* $name:ident),* $(,)? }) => {
        $(#[doc = $what])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub struct $counters { $($(#[doc = $doc])* pub $name: u64,)* }

        impl $counters {
            /// Column names, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name)),*];

            pub fn add(&mut self, other: &$counters) {
                $(self.$name += other.$name;)*
            }

            /// Values in the order of [`Counters::NAMES`].
            pub fn values(&self) -> Vec<u64> {
                vec![$(self.$name),*]
            }
        }
    };
}

counters! {
    /// Record and call counts; the read counts are every consumer's, summed.
    Counters {
    /// Records whose intended send time came (generated and handed to the producer).
    scheduled,
    /// Records sent at least once.
    sent,
    /// Record attempts, first sends and retries.
    attempts,
    /// Record attempts after the first.
    retried,
    /// Records acknowledged with a sequence number.
    acknowledged,
    /// Data + partition key bytes of acknowledged records.
    acknowledged_bytes,
    /// Record attempts rejected with ProvisionedThroughputExceededException.
    throttled,
    /// Record attempts that failed otherwise (InternalFailure, request errors, timeouts).
    failed,
    /// Records given up after max_attempts, last failure a throttle.
    given_up_throttled,
    /// Records given up after max_attempts or on a non-retryable error, last failure not a throttle.
    given_up_error,
    /// Records never acknowledged because the run was interrupted.
    given_up_interrupted,
    /// API calls made (PutRecords or PutRecord).
    calls,
    /// API calls that failed as a whole.
    call_errors,
    /// Bytes of the put requests sent, every attempt (HTTP request line, headers and body).
    request_bytes,
    /// Kinesis records acknowledged: an aggregate counts once, however many records it carries.
    kinesis_records,
    /// PUT payload units of the acknowledged Kinesis records (each rounded up to 25 KiB).
    put_units,
    /// Records of this run read back by the consumer, duplicates included.
    received,
    /// Records read back more than once.
    duplicates,
    /// Records on the stream without this run's stamp (other runs, other writers).
    foreign,
    /// GetRecords calls.
    get_calls,
    /// GetRecords calls rejected as throttled.
    get_throttled,
    }
}

counters! {
    /// What one consumer read.
    ReadCounters {
    /// Records of this run read back, duplicates included.
    received,
    /// Records read back more than once.
    duplicates,
    /// Records on the stream without this run's stamp.
    foreign,
    /// GetRecords calls (polling), or SubscribeToShard events (enhanced fan-out).
    get_calls,
    /// Reads rejected as throttled (GetRecords, GetShardIterator, SubscribeToShard).
    get_throttled,
    }
}

/// What one consumer read in one interval (or, merged, over a phase).
#[derive(Clone, Debug, Default)]
pub struct ReadStats {
    pub counters: ReadCounters,
    /// Per record: intended send time -> read by this consumer.
    pub e2e: Latency,
    /// Per record: ApproximateArrivalTimestamp -> read by this consumer.
    pub in_stream: Latency,
    /// The highest MillisBehindLatest the reads were told (None: no read said).
    pub behind_ms: Option<u64>,
}

impl ReadStats {
    pub fn merge(&mut self, other: &ReadStats) {
        self.counters.add(&other.counters);
        self.e2e.merge(&other.e2e);
        self.in_stream.merge(&other.in_stream);
        self.behind_ms = self.behind_ms.max(other.behind_ms);
    }

    /// A read's MillisBehindLatest.
    pub fn behind(&mut self, ms: i64) {
        self.behind_ms = self.behind_ms.max(Some(ms.max(0) as u64));
    }
}

impl Counters {
    pub fn given_up(&self) -> u64 {
        self.given_up_throttled + self.given_up_error + self.given_up_interrupted
    }

    /// Distinct records read back.
    pub fn received_distinct(&self) -> u64 {
        self.received - self.duplicates
    }
}

/// Write counts of one shard (by its index in the stream's shard map).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ShardCounters {
    pub acknowledged: u64,
    pub acknowledged_bytes: u64,
    pub throttled: u64,
}

impl ShardCounters {
    pub fn add(&mut self, other: &ShardCounters) {
        self.acknowledged += other.acknowledged;
        self.acknowledged_bytes += other.acknowledged_bytes;
        self.throttled += other.throttled;
    }
}

/// The counters of shard `i`, created on first use; None for [`NO_SHARD`].
pub fn shard_entry(shards: &mut Vec<ShardCounters>, i: u32) -> Option<&mut ShardCounters> {
    if i == NO_SHARD {
        return None;
    }
    let i = i as usize;
    if shards.len() <= i {
        shards.resize(i + 1, ShardCounters::default());
    }
    Some(&mut shards[i])
}

/// Everything measured about one phase in one interval (or, merged, over a whole phase).
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub counters: Counters,
    /// Per API call: request sent -> response (service time).
    pub put_service: Latency,
    /// Per record: intended send time -> acknowledgement (coordinated-omission corrected).
    pub put_response: Latency,
    /// Per record: actual first send -> acknowledgement (uncorrected, for comparison).
    pub put_uncorrected: Latency,
    /// Per record: intended send time -> consumer receive.
    pub e2e: Latency,
    /// Per record: ApproximateArrivalTimestamp -> consumer receive (time spent in the stream).
    pub in_stream: Latency,
    /// Per record: how late the generator made it versus its intended time (generator health;
    /// batching linger and busy workers show up in `put_response`, not here).
    pub lag: Latency,
    /// Earliest acknowledgement, as an offset from the run's start.
    pub first_ack: Option<Duration>,
    /// Latest acknowledgement, as an offset from the run's start (zero if none).
    pub last_ack: Duration,
    /// Per-shard write counts, indexed like the stream's shard map.
    pub shards: Vec<ShardCounters>,
    /// What each consumer read, by its index in the scenario. Readers record here only;
    /// [`Stats::roll_up_reads`] adds them into `counters`, `e2e` and `in_stream`.
    pub reads: Vec<ReadStats>,
}

impl Stats {
    pub fn merge(&mut self, other: &Stats) {
        self.counters.add(&other.counters);
        self.put_service.merge(&other.put_service);
        self.put_response.merge(&other.put_response);
        self.put_uncorrected.merge(&other.put_uncorrected);
        self.e2e.merge(&other.e2e);
        self.in_stream.merge(&other.in_stream);
        self.lag.merge(&other.lag);
        self.first_ack = match (self.first_ack, other.first_ack) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_ack = self.last_ack.max(other.last_ack);
        for (i, s) in other.shards.iter().enumerate() {
            if let Some(mine) = shard_entry(&mut self.shards, i as u32) {
                mine.add(s);
            }
        }
        for (i, r) in other.reads.iter().enumerate() {
            self.read(i).merge(r);
        }
    }

    /// What consumer `i` read, created on first use.
    pub fn read(&mut self, i: usize) -> &mut ReadStats {
        if self.reads.len() <= i {
            self.reads.resize_with(i + 1, Default::default);
        }
        &mut self.reads[i]
    }

    /// Adds every consumer's reads into the all-consumer figures (`counters`' read counts,
    /// `e2e`, `in_stream`); called once on each task's fresh statistics, before any merge.
    pub fn roll_up_reads(&mut self) {
        for r in &self.reads {
            let (c, rc) = (&mut self.counters, &r.counters);
            c.received += rc.received;
            c.duplicates += rc.duplicates;
            c.foreign += rc.foreign;
            c.get_calls += rc.get_calls;
            c.get_throttled += rc.get_throttled;
            self.e2e.merge(&r.e2e);
            self.in_stream.merge(&r.in_stream);
        }
    }
}

/// Per-phase buckets of one task for the current interval.
#[derive(Debug, Default)]
pub struct Buckets {
    phases: Vec<Option<Box<Stats>>>,
}

impl Buckets {
    /// The bucket of phase `p`, created on first use.
    pub fn phase(&mut self, p: usize) -> &mut Stats {
        if self.phases.len() <= p {
            self.phases.resize_with(p + 1, || None);
        }
        self.phases[p].get_or_insert_with(Default::default)
    }

    /// The used buckets, mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Stats> {
        self.phases.iter_mut().filter_map(|s| s.as_deref_mut())
    }

    /// Iterates (phase, stats) over the buckets that were used.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &Stats)> {
        self.phases
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_deref().map(|s| (i, s)))
    }
}

/// One task's statistics, shared with the collector.
#[derive(Debug, Default, Clone)]
pub struct Slot(Arc<Mutex<Buckets>>);

impl Slot {
    pub fn lock(&self) -> MutexGuard<'_, Buckets> {
        // a panicking holder leaves plain counters behind; keep using them
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the interval's buckets, leaving empty ones.
    pub fn take(&self) -> Buckets {
        std::mem::take(&mut *self.lock())
    }
}
