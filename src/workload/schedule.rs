//! The open-loop schedule: every record's intended send time, fixed before the run starts.
//!
//! Record `i` of the run belongs to exactly one phase and has an intended time computed from the
//! phase's rate (constant, or a linear ramp), so latency can be measured from when a record
//! *should* have gone out rather than when a busy generator got round to it.

use crate::scenario::{Arrival, Phase};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One phase laid out in time and in record indices.
#[derive(Debug, Clone)]
pub struct PhasePlan {
    pub name: String,
    /// Offset of the phase's start from the run's start.
    pub start: Duration,
    pub duration: Duration,
    /// Rate at the start and at the end of the phase, records per second (fixed-rate phases).
    pub from: f64,
    pub to: f64,
    /// `rate = "max"`: a closed loop, whose records are due as soon as the producer can take
    /// them, until the phase's time is over.
    pub closed: bool,
    /// Records a fixed-rate phase offers ([`Phase::planned`]; 0 for a closed-loop phase: see
    /// [`Schedule::count`]).
    planned: u64,
    /// Whether the phase counts toward the measured statistics and SLOs.
    pub measure: bool,
}

impl PhasePlan {
    /// Offset from the phase start by which `k` records (a real number) are due at its rate.
    fn offset_at(&self, k: f64) -> Duration {
        let d = self.duration.as_secs_f64();
        let (a, b) = (self.from, self.to);
        let t = if (b - a).abs() < 1e-9 {
            k / a
        } else {
            // records by time t: a*t + (b-a)*t^2/(2d) = k, solved for t
            let slope = (b - a) / d;
            ((a * a + 2.0 * slope * k).max(0.0).sqrt() - a) / slope
        };
        Duration::from_secs_f64(t.clamp(0.0, d))
    }

    /// When the phase's time is over, as an offset from the run's start.
    pub fn end(&self) -> Duration {
        self.start + self.duration
    }
}

/// All phases of a run, back to back.
///
/// Record indices run on across phases. A fixed-rate phase's count is known in advance; a
/// closed-loop phase's is the number its producer has made so far (final once its time is over),
/// published here so that the consumer and the collector can place every record made.
#[derive(Debug)]
pub struct Schedule {
    pub phases: Vec<PhasePlan>,
    /// Records made so far in each closed-loop phase (0 for the others).
    made: Vec<AtomicU64>,
}

impl Schedule {
    pub fn new(phases: &[Phase]) -> Schedule {
        let mut start = Duration::ZERO;
        let plans = phases
            .iter()
            .map(|p| {
                let closed = p.rate.is_max();
                let planned = p.planned();
                let plan = PhasePlan {
                    name: p.name.clone(),
                    start,
                    duration: p.duration,
                    from: p.rate.from,
                    to: p.rate.to,
                    closed,
                    planned,
                    measure: p.measure,
                };
                start += p.duration;
                plan
            })
            .collect::<Vec<_>>();
        let made = plans.iter().map(|_| AtomicU64::new(0)).collect();
        Schedule {
            phases: plans,
            made,
        }
    }

    /// Records phase `i` offers: planned for a fixed rate, made so far for a closed loop.
    pub fn count(&self, i: usize) -> u64 {
        let p = &self.phases[i];
        if p.closed {
            self.made[i].load(Ordering::Acquire)
        } else {
            p.planned
        }
    }

    /// Index of phase `i`'s first record.
    pub fn first(&self, i: usize) -> u64 {
        (0..i).map(|j| self.count(j)).sum()
    }

    /// Records the whole run offers (so far, while a closed-loop phase runs).
    pub fn total(&self) -> u64 {
        self.first(self.phases.len())
    }

    /// Length of the whole run.
    pub fn duration(&self) -> Duration {
        self.phases.iter().map(|p| p.duration).sum()
    }

    /// Whether any phase runs a closed loop.
    pub fn has_closed(&self) -> bool {
        self.phases.iter().any(|p| p.closed)
    }

    /// The highest rate a phase offers, records per second: a closed-loop phase's is what it
    /// made over its duration.
    pub fn peak_rate(&self) -> f64 {
        (0..self.phases.len())
            .map(|i| {
                let p = &self.phases[i];
                if p.closed {
                    self.count(i) as f64 / p.duration.as_secs_f64().max(1e-9)
                } else {
                    p.from.max(p.to)
                }
            })
            .fold(0.0, f64::max)
    }

    /// The phase that record `index` belongs to (among the records made so far).
    pub fn phase_of(&self, index: u64) -> usize {
        let mut end = 0;
        for i in 0..self.phases.len() {
            end += self.count(i);
            if index < end {
                return i;
            }
        }
        self.phases.len().saturating_sub(1)
    }

    /// The phase running at `elapsed` since the run's start (the last one once all are over).
    pub fn phase_at(&self, elapsed: Duration) -> usize {
        let i = self.phases.partition_point(|p| p.end() <= elapsed);
        i.min(self.phases.len().saturating_sub(1))
    }

    /// How many records are due by `elapsed` (intended send time at or before it); in a
    /// closed-loop phase, the records made so far.
    pub fn due_by(&self, elapsed: Duration) -> u64 {
        let i = self.phase_at(elapsed);
        let p = &self.phases[i];
        let first = self.first(i);
        if elapsed < p.start {
            return first;
        }
        if p.closed {
            return first + self.count(i);
        }
        let t = (elapsed - p.start)
            .as_secs_f64()
            .min(p.duration.as_secs_f64());
        let d = p.duration.as_secs_f64();
        let n = p.from * t + (p.to - p.from) * t * t / (2.0 * d);
        // a small tolerance: a record is due at its own (nanosecond-rounded) intended time
        first + (((n + 1e-6).floor() as u64) + 1).min(p.planned)
    }

    /// How many of the records in `range` belong to each phase: (phase, count) pairs.
    pub fn split_by_phase(&self, range: std::ops::Range<u64>) -> Vec<(usize, u64)> {
        let mut first = 0;
        let mut out = Vec::new();
        for i in 0..self.phases.len() {
            let count = self.count(i);
            let lo = range.start.max(first);
            let hi = range.end.min(first + count);
            if hi > lo {
                out.push((i, hi - lo));
            }
            first += count;
        }
        out
    }

    /// Intended send time of record `index` (of a fixed-rate phase), as an offset from the
    /// run's start.
    #[cfg(test)]
    pub fn intended_offset(&self, index: u64) -> Duration {
        let phase = self.phase_of(index);
        let p = &self.phases[phase];
        p.start + p.offset_at((index - self.first(phase)) as f64)
    }
}

/// When the next record is due, as [`Arrivals::next`] sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Due {
    /// At this offset from the run's start (a fixed-rate phase; it may lie in the past).
    At(usize, Duration),
    /// Now: a closed-loop phase is running. Its count includes the record from this call on.
    Now(usize),
    /// The run has no more records.
    Done,
}

/// Intended send times in record order, for either arrival process.
///
/// Constant arrivals come straight from the schedule. Poisson arrivals keep each phase's record
/// count: given their number, the times of a Poisson process are independent draws from the
/// rate curve, sorted. The sorted draws are made one at a time in order (each the smallest of the
/// draws still to place), so no phase needs a pass over all its records first.
/// Calls must come with indices in increasing order; asking again for the same index is free.
pub struct Arrivals {
    schedule: Arc<Schedule>,
    arrival: Arrival,
    seed: u64,
    /// The phase of the last record asked for, and the index of its first record.
    cur: usize,
    cur_first: u64,
    /// The last index asked for and its offset.
    last: Option<(u64, Duration)>,
    /// Poisson state of the current phase: (phase, its seeded RNG, the last sorted uniform draw).
    poisson: Option<(usize, SmallRng, f64)>,
}

impl Arrivals {
    pub fn new(schedule: Arc<Schedule>, arrival: Arrival, seed: u64) -> Arrivals {
        Arrivals {
            schedule,
            arrival,
            seed,
            cur: 0,
            cur_first: 0,
            last: None,
            poisson: None,
        }
    }

    /// When record `index` is due, asked at `elapsed` since the run's start. Calls must come
    /// with indices in increasing order, each the last one asked for or the one after; an index
    /// that was answered `Now` is made by the caller and not asked for again.
    ///
    /// A fixed-rate phase's records are due at their intended times. A closed-loop phase's
    /// records are due at once from its start until its time is over; each call for a new
    /// index counts one more record in the phase (the caller makes it).
    pub fn next(&mut self, index: u64, elapsed: Duration) -> Due {
        while let Some(p) = self.schedule.phases.get(self.cur) {
            if p.closed {
                if elapsed >= p.end() {
                    self.advance();
                    continue;
                }
                if elapsed < p.start {
                    return Due::At(self.cur, p.start);
                }
                self.schedule.made[self.cur].store(index + 1 - self.cur_first, Ordering::Release);
                return Due::Now(self.cur);
            }
            if index >= self.cur_first + p.planned {
                self.advance();
                continue;
            }
            return Due::At(self.cur, self.offset(index));
        }
        Due::Done
    }

    /// On to the next phase; the current one's count is final.
    fn advance(&mut self) {
        self.cur_first += self.schedule.count(self.cur);
        self.cur += 1;
    }

    /// Intended send time of record `index` of the current (fixed-rate) phase.
    fn offset(&mut self, index: u64) -> Duration {
        if let Some((i, offset)) = self.last
            && i == index
        {
            return offset;
        }
        let plan = &self.schedule.phases[self.cur];
        let k = index - self.cur_first;
        let offset = match self.arrival {
            Arrival::Constant => plan.start + plan.offset_at(k as f64),
            Arrival::Poisson => self.poisson_offset(k),
        };
        self.last = Some((index, offset));
        offset
    }

    /// The `k`-th record of the current phase under Poisson arrivals.
    fn poisson_offset(&mut self, k: u64) -> Duration {
        let p_ix = self.cur;
        let plan = &self.schedule.phases[p_ix];
        if self.poisson.as_ref().is_none_or(|s| s.0 != p_ix) {
            let phase_seed = self.seed ^ 0x9E37_79B9_7F4A_7C15_u64.wrapping_mul(p_ix as u64 + 1);
            self.poisson = Some((p_ix, SmallRng::seed_from_u64(phase_seed), 0.0));
        }
        let Some((_, rng, last)) = self.poisson.as_mut() else {
            return plan.start + plan.offset_at(k as f64);
        };
        // the next of the phase's sorted uniform draws: the smallest of the `left` draws still to
        // place, all above the last one
        let left = plan.planned.saturating_sub(k).max(1) as f64;
        let v = 1.0 - rng.random::<f64>();
        *last = 1.0 - (1.0 - *last) * v.powf(1.0 / left);
        plan.start + plan.offset_at(*last * plan.planned as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Phase, Rate};

    fn phase(secs: u64, from: f64, to: f64) -> Phase {
        Phase {
            name: "p".into(),
            duration: Duration::from_secs(secs),
            rate: Rate { from, to },
            measure: true,
        }
    }

    /// The intended offset of record `i` of a fixed-rate phase.
    fn at(a: &mut Arrivals, i: u64) -> Duration {
        match a.next(i, Duration::ZERO) {
            Due::At(_, offset) => offset,
            other => panic!("record {i}: {other:?}"),
        }
    }

    #[test]
    fn constant_rate_spaces_records_evenly() {
        let s = Schedule::new(&[phase(10, 100.0, 100.0)]);
        assert_eq!(s.total(), 1000);
        assert_eq!(s.intended_offset(0), Duration::ZERO);
        assert_eq!(s.intended_offset(50), Duration::from_millis(500));
        assert_eq!(s.intended_offset(999), Duration::from_millis(9990));
    }

    #[test]
    fn ramp_matches_the_integral_of_its_rate() {
        // 0 -> 200 rec/s over 10 s: 1000 records; half of them in the last 2.93 s
        let s = Schedule::new(&[phase(10, 1.0, 199.0)]);
        assert_eq!(s.total(), 1000);
        // records by time t: t + 9.9 t^2 = 250 at t ~= 4.975 s
        let t = s.intended_offset(250).as_secs_f64();
        assert!((t - 4.975).abs() < 0.01, "{t}");
        // monotone, and inside the phase
        let mut last = Duration::ZERO;
        for i in 0..1000 {
            let o = s.intended_offset(i);
            assert!(o >= last && o <= Duration::from_secs(10));
            last = o;
        }
    }

    #[test]
    fn ramp_down_and_phases_back_to_back() {
        let s = Schedule::new(&[phase(2, 100.0, 100.0), phase(10, 1000.0, 100.0)]);
        assert_eq!(s.first(1), 200);
        assert_eq!(s.total(), 200 + 5500);
        assert_eq!(s.phase_of(199), 0);
        assert_eq!(s.phase_of(200), 1);
        assert_eq!(s.phase_of(10_000), 1);
        assert_eq!(s.intended_offset(200), Duration::from_secs(2));
        assert_eq!(s.phase_at(Duration::from_millis(2500)), 1);
        assert_eq!(s.phase_at(Duration::from_secs(60)), 1);
        assert!(s.intended_offset(5699) <= Duration::from_secs(12));
    }

    /// Gaps between Poisson arrivals are exponential: a Kolmogorov-Smirnov test against
    /// Exp(rate), and each phase keeps its record count.
    #[test]
    fn poisson_arrivals_have_exponential_gaps() {
        let s = Arc::new(Schedule::new(&[
            phase(20, 1000.0, 1000.0),
            phase(10, 100.0, 100.0),
        ]));
        let mut a = Arrivals::new(s.clone(), Arrival::Poisson, 3);
        let times: Vec<f64> = (0..s.total())
            .map(|i| at(&mut a, i).as_secs_f64())
            .collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "in order");
        assert!(times[..20_000].iter().all(|&t| t <= 20.0));
        assert!(times[20_000..].iter().all(|&t| (20.0..=30.0).contains(&t)));
        let mut gaps: Vec<f64> = times[..20_000].windows(2).map(|w| w[1] - w[0]).collect();
        gaps.sort_by(f64::total_cmp);
        let n = gaps.len() as f64;
        let d = gaps
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let cdf = 1.0 - (-1000.0 * g).exp();
                (cdf - i as f64 / n)
                    .abs()
                    .max(((i + 1) as f64 / n - cdf).abs())
            })
            .fold(0.0, f64::max);
        // the KS critical value at 99.9% is 1.95 / sqrt(n) = 0.0138 for n = 20,000
        assert!(d < 1.95 / n.sqrt(), "KS distance {d}");
        // not the constant schedule: the gaps vary
        assert!(gaps[0] < 0.0001 && gaps[gaps.len() - 1] > 0.004);
        // same seed, same times
        let mut again = Arrivals::new(s.clone(), Arrival::Poisson, 3);
        assert_eq!(at(&mut again, 0).as_secs_f64(), times[0]);
        let mut constant = Arrivals::new(s, Arrival::Constant, 3);
        assert_eq!(at(&mut constant, 500), Duration::from_millis(500));
    }

    /// A closed-loop phase between two fixed-rate ones: its records are due at once while its
    /// time runs, its count is what was made, and the phase after it starts from there.
    #[test]
    fn closed_loop_phase_counts_what_was_made() {
        let s = Arc::new(Schedule::new(&[
            phase(2, 100.0, 100.0),
            max_phase(3),
            phase(1, 50.0, 50.0),
        ]));
        assert!(s.has_closed());
        let mut a = Arrivals::new(s.clone(), Arrival::Constant, 1);
        let secs = Duration::from_secs_f64;
        for i in 0..200 {
            assert!(matches!(a.next(i, secs(1.0)), Due::At(0, _)));
        }
        // the fixed phase's records are all made: the closed one waits for its start
        assert_eq!(a.next(200, secs(1.9)), Due::At(1, secs(2.0)));
        assert_eq!(s.count(1), 0);
        assert_eq!(a.next(200, secs(2.0)), Due::Now(1));
        assert_eq!(s.count(1), 1);
        for i in 201..1000 {
            assert_eq!(a.next(i, secs(2.5)), Due::Now(1));
        }
        assert_eq!((s.count(1), s.total()), (800, 1050));
        assert_eq!(s.due_by(secs(3.0)), 1000);
        assert_eq!(s.phase_of(999), 1);
        // its time is over: record 1000 is the next phase's first
        assert_eq!(a.next(1000, secs(5.0)), Due::At(2, secs(5.0)));
        assert_eq!((s.first(2), s.total()), (1000, 1050));
        assert_eq!((s.phase_of(999), s.phase_of(1000)), (1, 2));
        assert_eq!(
            s.split_by_phase(150..1010),
            vec![(0, 50), (1, 800), (2, 10)]
        );
        assert!((s.peak_rate() - 800.0 / 3.0).abs() < 1e-9);
        assert_eq!(a.next(1049, secs(5.5)), Due::At(2, secs(5.98)));
        assert_eq!(a.next(1050, secs(6.1)), Due::Done);
        // no time left for a closed phase: it makes nothing
        let late = Arc::new(Schedule::new(&[max_phase(1)]));
        let mut a = Arrivals::new(late.clone(), Arrival::Poisson, 1);
        assert_eq!(a.next(0, secs(1.0)), Due::Done);
        assert_eq!(late.total(), 0);
    }

    fn max_phase(secs: u64) -> Phase {
        Phase {
            rate: Rate::MAX,
            ..phase(secs, 0.0, 0.0)
        }
    }

    #[test]
    fn ranges_split_at_phase_boundaries() {
        let s = Schedule::new(&[phase(2, 100.0, 100.0), phase(10, 1000.0, 100.0)]);
        assert_eq!(s.split_by_phase(150..300), vec![(0, 50), (1, 100)]);
        assert_eq!(s.split_by_phase(0..0), vec![]);
    }

    #[test]
    fn due_by_counts_records_whose_time_has_come() {
        let s = Schedule::new(&[phase(2, 100.0, 100.0), phase(10, 1000.0, 100.0)]);
        assert_eq!(s.due_by(Duration::ZERO), 1);
        assert_eq!(s.due_by(Duration::from_millis(995)), 100);
        assert_eq!(s.due_by(Duration::from_secs(60)), s.total());
        for i in [0, 150, 199, 200, 201, 3000, 5699] {
            let t = s.intended_offset(i);
            assert!(s.due_by(t) > i, "record {i} is due at its own time");
        }
    }
}
