//! The consumer's accounting: decodes stamps, records end-to-end latency, counts duplicates.
//!
//! Loss is computed at the end against the set of acknowledged sequence numbers: a record is
//! lost when it was acknowledged but never read back. Aggregates (KPL format, checksum verified)
//! are taken apart first, so every check is per user record.

use crate::aggregate;
use crate::metrics::interval::Buckets;
use crate::metrics::seen::SeenSet;
use crate::workload::schedule::Schedule;
use crate::workload::stamp::Stamp;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Shared by every shard reader of one consumer.
#[derive(Debug)]
pub struct Verifier {
    /// The consumer's index in the scenario: its reads go to `Stats::read(consumer)`.
    consumer: usize,
    run_id: u32,
    schedule: Arc<Schedule>,
    start: Instant,
    start_unix_ns: u64,
    /// Sequence numbers read back so far.
    pub received: Mutex<SeenSet>,
    /// Arrival timestamps seen, and how many had a non-zero millisecond part: an endpoint
    /// that reports whole seconds makes the in-stream latency meaningless.
    arrivals: AtomicU64,
    arrivals_subsecond: AtomicU64,
}

/// A record as read from the stream: its data and ApproximateArrivalTimestamp (Unix ms).
pub struct Received<'a> {
    pub data: &'a [u8],
    pub arrival_unix_ms: Option<i64>,
}

impl Verifier {
    pub fn new(
        consumer: usize,
        run_id: u32,
        schedule: Arc<Schedule>,
        start: Instant,
        start_unix_ns: u64,
    ) -> Verifier {
        Verifier {
            consumer,
            run_id,
            schedule,
            start,
            start_unix_ns,
            received: Mutex::new(SeenSet::default()),
            arrivals: AtomicU64::new(0),
            arrivals_subsecond: AtomicU64::new(0),
        }
    }

    /// Accounts for one GetRecords response, read at `now`, into `buckets`.
    pub fn observe<'a>(
        &self,
        records: impl IntoIterator<Item = Received<'a>>,
        now: Instant,
        buckets: &mut Buckets,
    ) {
        let now_unix_ns =
            self.start_unix_ns + now.saturating_duration_since(self.start).as_nanos() as u64;
        let total = self.schedule.total();
        let mut seen = self.received.lock().unwrap_or_else(|e| e.into_inner());
        let mut one = |data: &[u8], arrival_unix_ms: Option<i64>| {
            let stamp = match Stamp::read(data) {
                Some(s) if s.run_id == self.run_id && s.seq < total => s,
                _ => {
                    // counted against the current phase: it is not this run's record
                    let p = self
                        .schedule
                        .phase_at(now.saturating_duration_since(self.start));
                    buckets.phase(p).read(self.consumer).counters.foreign += 1;
                    return;
                }
            };
            let stats = buckets
                .phase(self.schedule.phase_of(stamp.seq))
                .read(self.consumer);
            stats.counters.received += 1;
            if !seen.insert(stamp.seq) {
                stats.counters.duplicates += 1;
                return;
            }
            stats.e2e.record(Duration::from_nanos(
                now_unix_ns.saturating_sub(stamp.intended_unix_ns),
            ));
            if let Some(ms) = arrival_unix_ms.filter(|ms| *ms > 0) {
                self.arrivals.fetch_add(1, Ordering::Relaxed);
                if ms % 1000 != 0 {
                    self.arrivals_subsecond.fetch_add(1, Ordering::Relaxed);
                }
                let arrival_ns = ms as u64 * 1_000_000;
                stats
                    .in_stream
                    .record(Duration::from_nanos(now_unix_ns.saturating_sub(arrival_ns)));
            }
        };
        for r in records {
            // an aggregate's user records are each a record of the run; anything else is plain
            match aggregate::decode(r.data) {
                Some(agg) => {
                    for u in agg.records() {
                        one(u.data, r.arrival_unix_ms);
                    }
                }
                None => one(r.data, r.arrival_unix_ms),
            }
        }
    }

    /// The consumer's index in the scenario.
    pub fn consumer(&self) -> usize {
        self.consumer
    }

    /// The phase running `elapsed` after the run's start.
    pub fn phase_at(&self, elapsed: Duration) -> usize {
        self.schedule.phase_at(elapsed)
    }

    /// Whether arrival timestamps carry milliseconds (false when the endpoint reports whole
    /// seconds, or reported none).
    pub fn arrival_has_millis(&self) -> bool {
        self.arrivals_subsecond.load(Ordering::Relaxed) > 0
    }

    /// Distinct records of this run read back so far.
    pub fn received_distinct(&self) -> u64 {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Phase, Rate};

    #[test]
    fn counts_latency_duplicates_and_foreign_records() {
        let schedule = Arc::new(Schedule::new(&[Phase {
            name: "p".into(),
            duration: Duration::from_secs(1),
            rate: Rate {
                from: 100.0,
                to: 100.0,
            },
            measure: true,
        }]));
        let start = Instant::now();
        let start_unix_ns = 1_000_000_000_000;
        let v = Verifier::new(1, 9, schedule, start, start_unix_ns);
        let stamped = |run_id, seq| {
            let mut d = vec![0u8; 40];
            Stamp {
                run_id,
                producer_id: 0,
                seq,
                intended_unix_ns: start_unix_ns,
            }
            .write(&mut d);
            d
        };
        let (a, b, other) = (stamped(9, 1), stamped(9, 2), stamped(8, 1));
        let mut buckets = Buckets::default();
        let now = start + Duration::from_millis(250);
        let recs = [&a, &b, &a, &other, &b"plain"[..].to_vec()];
        v.observe(
            recs.iter().map(|d| Received {
                data: d,
                arrival_unix_ms: None,
            }),
            now,
            &mut buckets,
        );
        let s = buckets.phase(0).read(1);
        assert_eq!(s.counters.received, 3);
        assert_eq!(s.counters.duplicates, 1);
        assert_eq!(s.counters.foreign, 2);
        assert_eq!(s.e2e.count(), 2);
        let ms = s.e2e.quantile(0.5).as_millis();
        assert!((249..=251).contains(&ms), "{ms}");
        assert_eq!(v.received_distinct(), 2);
    }
}
