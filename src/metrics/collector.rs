//! The collector: once per interval it takes every task's buckets, merges them into one
//! interval row and into the per-phase totals.

use super::interval::{Buckets, Counters, Slot, Stats};
use crate::workload::schedule::Schedule;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Shortest interval whose rates count toward the per-shard peaks, as a share of the report
/// interval: the last one, cut short by the end of the run, does not.
const MIN_PEAK_SHARE: f64 = 0.9;

/// Where tasks get their slots; the collector reads them all.
#[derive(Debug, Default, Clone)]
pub struct Registry {
    slots: Arc<Mutex<Vec<Slot>>>,
}

impl Registry {
    /// A new slot for one task, registered with the collector.
    pub fn slot(&self) -> Slot {
        let slot = Slot::default();
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(slot.clone());
        slot
    }

    fn take_all(&self) -> Vec<Buckets> {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.iter().map(Slot::take).collect()
    }
}

/// One row of the time series.
#[derive(Debug, Clone)]
pub struct Row {
    /// End of the interval, seconds since the run started.
    pub elapsed: Duration,
    /// Phase running when the interval began ("drain" once every phase is over).
    pub phase: String,
    /// Length of the interval.
    pub length: Duration,
    /// Records the schedule offered in the interval (whether or not the generator kept up).
    pub offered: u64,
    pub stats: Stats,
    /// The same interval by the phase the records belong to (indexed by phase; empty where a
    /// phase had nothing in the interval).
    pub by_phase: Vec<Stats>,
}

/// Merges interval statistics into per-phase totals.
#[derive(Debug)]
pub struct Collector {
    registry: Registry,
    schedule: Arc<Schedule>,
    /// Totals per phase, over the run so far.
    pub phases: Vec<Stats>,
    /// Highest acknowledged records/s of each shard in any whole interval.
    pub shard_peaks: Vec<f64>,
    /// Intervals shorter than this do not count toward `shard_peaks`.
    min_peak_interval: Duration,
    last: Duration,
    /// Records due by `last` (none before the run starts).
    last_due: u64,
}

impl Collector {
    pub fn new(registry: Registry, schedule: Arc<Schedule>) -> Collector {
        let phases = vec![Stats::default(); schedule.phases.len()];
        Collector {
            registry,
            schedule,
            phases,
            shard_peaks: Vec::new(),
            min_peak_interval: Duration::from_millis(500),
            last: Duration::ZERO,
            last_due: 0,
        }
    }

    /// Counts only intervals nearly as long as `interval`, the report interval, toward the
    /// per-shard peaks (half a second without it): a short one, such as the run's last, makes a
    /// rate of a few records in a fraction of the time, above what a shard takes in a second.
    pub fn with_report_interval(mut self, interval: Duration) -> Collector {
        self.min_peak_interval = interval.mul_f64(MIN_PEAK_SHARE);
        self
    }

    /// Takes everything recorded since the last call; `elapsed` is the time since the run start.
    pub fn collect(&mut self, elapsed: Duration) -> Row {
        let mut interval = Stats::default();
        let mut by_phase = vec![Stats::default(); self.phases.len()];
        for mut buckets in self.registry.take_all() {
            buckets.iter_mut().for_each(Stats::roll_up_reads);
            for (p, stats) in buckets.iter() {
                interval.merge(stats);
                if let (Some(total), Some(this)) = (self.phases.get_mut(p), by_phase.get_mut(p)) {
                    total.merge(stats);
                    this.merge(stats);
                }
            }
        }
        // an interval belongs to the phase running when it began; after the last, to the drain
        let phase = if self.last >= self.schedule.duration() {
            "drain".to_string()
        } else {
            self.schedule.phases[self.schedule.phase_at(self.last)]
                .name
                .clone()
        };
        // what came due since the last interval (a closed-loop phase's due records are those made
        // so far, whatever the time, so the count is kept rather than asked again)
        let due = self.schedule.due_by(elapsed);
        let row = Row {
            elapsed,
            phase,
            length: elapsed.saturating_sub(self.last),
            offered: due.saturating_sub(self.last_due),
            stats: interval,
            by_phase,
        };
        self.last = elapsed;
        self.last_due = due;
        // peaks over whole intervals only: a short final interval would inflate the rate
        let secs = row.length.as_secs_f64();
        if row.length >= self.min_peak_interval && secs > 0.0 {
            if self.shard_peaks.len() < row.stats.shards.len() {
                self.shard_peaks.resize(row.stats.shards.len(), 0.0);
            }
            for (peak, s) in self.shard_peaks.iter_mut().zip(&row.stats.shards) {
                *peak = peak.max(s.acknowledged as f64 / secs);
            }
        }
        row
    }

    /// Totals over the measured phases (`measure = true`).
    pub fn measured(&self) -> Stats {
        let mut total = Stats::default();
        for (stats, plan) in self.phases.iter().zip(&self.schedule.phases) {
            if plan.measure {
                total.merge(stats);
            }
        }
        total
    }

    /// Counters over every phase, measured or not (for the accounting invariant).
    pub fn all_counters(&self) -> Counters {
        let mut c = Counters::default();
        for s in &self.phases {
            c.add(&s.counters);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::interval::ShardCounters;
    use crate::scenario::{Phase, Rate};

    /// A closed-loop phase offers, interval by interval, the records made in it.
    #[test]
    fn a_closed_loop_phase_offers_what_was_made_each_interval() {
        use crate::scenario::Arrival;
        use crate::workload::schedule::{Arrivals, Due};
        let phase = |secs, rate| Phase {
            name: "p".into(),
            duration: Duration::from_secs(secs),
            rate,
            measure: true,
        };
        let fixed = Rate {
            from: 100.0,
            to: 100.0,
        };
        let schedule = Arc::new(Schedule::new(&[phase(1, fixed), phase(3, Rate::MAX)]));
        let mut arrivals = Arrivals::new(schedule.clone(), Arrival::Constant, 1);
        let mut c = Collector::new(Registry::default(), schedule);
        assert_eq!(c.collect(Duration::from_secs(1)).offered, 100);
        // the scheduler makes 700 records in the second second, then 300 in the third
        let make = |a: &mut Arrivals, range: std::ops::Range<u64>, at: f64| {
            for i in range {
                assert_eq!(a.next(i, Duration::from_secs_f64(at)), Due::Now(1));
            }
        };
        make(&mut arrivals, 100..800, 1.5);
        assert_eq!(c.collect(Duration::from_secs(2)).offered, 700);
        make(&mut arrivals, 800..1100, 2.5);
        assert_eq!(c.collect(Duration::from_secs(3)).offered, 300);
        assert_eq!(c.collect(Duration::from_secs(4)).offered, 0);
    }

    #[test]
    fn buckets_land_in_their_phase_and_in_the_row() {
        let phase = |m| Phase {
            name: "p".into(),
            duration: Duration::from_secs(1),
            rate: Rate {
                from: 10.0,
                to: 10.0,
            },
            measure: m,
        };
        let schedule = Arc::new(Schedule::new(&[phase(false), phase(true)]));
        let registry = Registry::default();
        let (a, b) = (registry.slot(), registry.slot());
        a.lock().phase(0).counters.acknowledged += 2;
        b.lock().phase(1).counters.acknowledged += 3;
        b.lock()
            .phase(1)
            .put_response
            .record(Duration::from_millis(5));
        let mut c = Collector::new(registry, schedule);
        let row = c.collect(Duration::from_millis(1500));
        assert_eq!(row.stats.counters.acknowledged, 5);
        assert_eq!(row.by_phase[0].counters.acknowledged, 2);
        assert_eq!(row.by_phase[1].put_response.count(), 1);
        assert_eq!(row.length, Duration::from_millis(1500));
        assert_eq!(c.phases[0].counters.acknowledged, 2);
        assert_eq!(c.measured().counters.acknowledged, 3);
        assert_eq!(c.measured().put_response.count(), 1);
        assert_eq!(c.all_counters().acknowledged, 5);
        // taken: the next interval starts empty
        assert_eq!(
            c.collect(Duration::from_secs(2))
                .stats
                .counters
                .acknowledged,
            0
        );
    }

    #[test]
    fn a_short_last_interval_does_not_make_a_peak() {
        let schedule = Arc::new(Schedule::new(&[Phase {
            name: "p".into(),
            duration: Duration::from_secs(2),
            rate: Rate {
                from: 1000.0,
                to: 1000.0,
            },
            measure: true,
        }]));
        let registry = Registry::default();
        let slot = registry.slot();
        let ack = |n: u64| {
            let mut b = slot.lock();
            let shards = &mut b.phase(0).shards;
            shards.resize(1, ShardCounters::default());
            shards[0].acknowledged += n;
        };
        let mut c =
            Collector::new(registry.clone(), schedule).with_report_interval(Duration::from_secs(1));
        ack(1000);
        c.collect(Duration::from_secs(1));
        ack(950);
        c.collect(Duration::from_millis(1950));
        // 900 records in the last 0.7 s would be 1,286 records/s
        ack(900);
        c.collect(Duration::from_millis(2650));
        assert_eq!(c.shard_peaks, [1000.0]);
    }
}
