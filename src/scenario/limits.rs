//! Kinesis service limits kbench enforces before any network I/O, as named constants.
//!
//! Sources: ../shared/spec/KINESIS.md (the Kinesis quotas page and the Smithy model).

use std::time::Duration;

/// Largest record: data (before base64) plus partition key, in bytes.
pub const MAX_RECORD_BYTES: u64 = 1024 * 1024;
/// Partition keys are 1 to 256 Unicode characters.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;
/// PutRecords takes at most 500 entries per call.
pub const MAX_BATCH_RECORDS: usize = 500;
/// PutRecords request size limit (data + keys), the long-standing 5 MiB.
pub const MAX_BATCH_BYTES: u64 = 5 * 1024 * 1024;
/// Write limit of one shard in records per second.
pub const SHARD_WRITE_RECORDS_PER_SEC: u64 = 1000;
/// Write limit of one shard in bytes per second (data + partition key).
pub const SHARD_WRITE_BYTES_PER_SEC: u64 = 1024 * 1024;
/// GetRecords calls per second per shard.
pub const GET_RECORDS_CALLS_PER_SEC: u32 = 5;
/// Most records one GetRecords call may return.
pub const GET_RECORDS_MAX_RECORDS: i32 = 10_000;
/// Shard counts kbench accepts for a stream it creates (a sanity bound, not a service limit).
pub const MAX_SHARDS: u32 = 10_000;
/// Highest rate a phase may offer, records per second (a sanity bound, not a service limit; keeps
/// record counts exact in floating point).
pub const MAX_RATE: f64 = 10_000_000.0;
/// Longest a single put request may take before it counts as failed (the SDK's own guard is 2m).
pub const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// KPL's default AggregationMaxSize: the largest aggregate record.
pub const KPL_AGGREGATION_MAX_BYTES: u64 = 51_200;
/// The smallest AggregationMaxSize the KPL accepts.
pub const MIN_AGGREGATE_BYTES: u64 = 64;
/// A PUT payload unit: each Kinesis record is billed in chunks of this many bytes (25 KiB),
/// an aggregate counting as one record.
pub const PUT_PAYLOAD_UNIT_BYTES: u64 = 25 * 1024;

/// Bytes kbench's stamp takes at the start of a random record's data (magic, run id, producer
/// id, sequence number, intended send time: the layout is the workload's record stamp, which
/// asserts that it adds up to this).
pub const STAMP_LEN: usize = 28;
/// Bytes the stamp takes at the start of a JSON record: `{"_kbench":"<56 hex digits>",`.
pub const JSON_STAMP_LEN: usize = 70;

/// Longest scenario name, in bytes (a sanity bound, not a service limit): the name starts the
/// report directory `<name>-<UTC time>` (a sweep's steps add `-<N>shards-<R>rps`), which must
/// stay under the 255 bytes file systems allow a folder name, and the default stream
/// `kbench-<name>` (a sweep adds `-<N>shards`) under Kinesis' 128 characters.
pub const MAX_NAME_BYTES: usize = 100;
/// Most phases a scenario may have (a sanity bound, not a service limit): a phase keeps its own
/// statistics for the run and a row in every report, and a day at one-minute steps is 1,440.
pub const MAX_PHASES: usize = 10_000;

/// The durations a scenario's keys may take, with the reason for each bound: an error says the
/// bound, the key and the reason. None may be so long that only Ctrl-C would end the run.
#[derive(Debug, Clone, Copy)]
pub struct DurationBound {
    pub min: Duration,
    pub max: Duration,
    /// Why, for the message.
    pub why: &'static str,
}

/// `producer.linger`: how long a batch waits to fill. The KPL's RecordMaxBufferedTime defaults
/// to 100 ms and has no useful upper bound; a minute is far past any latency worth measuring
/// and keeps a slow phase's last batch from waiting out the run.
pub const LINGER: DurationBound = DurationBound {
    min: Duration::ZERO,
    max: Duration::from_secs(60),
    why: "a batch that waits longer holds its records past any latency worth measuring",
};
/// `producer.backoff.base` and `.max`: the AWS SDKs cap retry backoff at 20 s; a minute between
/// attempts already leaves a record's retries longer than any phase worth retrying in.
pub const BACKOFF: DurationBound = DurationBound {
    min: Duration::ZERO,
    max: Duration::from_secs(60),
    why: "the AWS SDKs cap retry backoff at 20s",
};
/// `producer.request_timeout`: above 0, and at most the SDK's own 2-minute guard.
pub const REQUEST_TIMEOUT: DurationBound = DurationBound {
    min: Duration::from_millis(1),
    max: MAX_REQUEST_TIMEOUT,
    why: "a request gets an answer or fails well within the SDK's 2m guard",
};
/// `consumer.drain`: how long the consumer waits for stragglers after the last phase. Records
/// reach GetRecords within seconds; ten minutes covers a consumer far behind, not a hang.
pub const DRAIN: DurationBound = DurationBound {
    min: Duration::ZERO,
    max: Duration::from_secs(600),
    why: "records reach GetRecords within seconds of their put",
};
/// `delivery.drain`: the last objects land one buffering interval (at most 900 s) after their
/// records, and a few seconds more.
pub const DELIVERY_DRAIN: DurationBound = DurationBound {
    min: Duration::ZERO,
    max: Duration::from_secs(1200),
    why: "Firehose flushes a buffer at most 900 s after its first record",
};
/// `delivery.buffer.interval`: Firehose's IntervalInSeconds for S3, 0 to 900 s.
pub const DELIVERY_INTERVAL: DurationBound = DurationBound {
    min: Duration::ZERO,
    max: Duration::from_secs(900),
    why: "Firehose's buffering interval for S3 is 0 to 900 seconds",
};
/// `delivery.buffer.size`: Firehose's SizeInMBs for S3, 1 to 128 MiB (default 5).
pub const DELIVERY_BUFFER_MIB: std::ops::RangeInclusive<u64> = 1..=128;

/// `consumer.poll_interval`: at least 200 ms (GetRecords' 5 calls per second per shard), at most
/// a minute: a shard iterator expires 5 minutes after it was returned, and a consumer polling
/// once a minute measures its own pauses, not the stream.
pub const POLL_INTERVAL: DurationBound = DurationBound {
    min: Duration::from_millis(1000 / GET_RECORDS_CALLS_PER_SEC as u64),
    max: Duration::from_secs(60),
    why: "shard iterators expire 5 minutes after GetRecords returns them",
};
/// `report.interval`: the time series' resolution. At least 100 ms (each row costs a write per
/// file), at most an hour: a longer interval gives a run one row, no time series.
pub const REPORT_INTERVAL: DurationBound = DurationBound {
    min: Duration::from_millis(100),
    max: Duration::from_secs(3600),
    why: "each row is one interval of the time series",
};
/// `slo.put_p99` and `slo.e2e_p99`: thresholds, which never make a run longer; no latency of a
/// run exceeds the run, itself at most 30 days.
pub const LATENCY_SLO: DurationBound = DurationBound {
    min: Duration::ZERO,
    max: super::units::MAX_DURATION,
    why: "no latency exceeds the run, at most 30 days",
};
