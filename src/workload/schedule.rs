//! The open-loop schedule: every record's intended send time, fixed before the run starts.
//!
//! Record `i` of the run belongs to exactly one phase and has an intended time computed from the
//! phase's rate (constant, or a linear ramp), so latency can be measured from when a record
//! *should* have gone out rather than when a busy generator got round to it.

use crate::scenario::{Arrival, Phase};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Duration;

/// One phase laid out in time and in record indices.
#[derive(Debug, Clone)]
pub struct PhasePlan {
    pub name: String,
    /// Offset of the phase's start from the run's start.
    pub start: Duration,
    pub duration: Duration,
    /// Rate at the start and at the end of the phase, records per second.
    pub from: f64,
    pub to: f64,
    /// Index of the phase's first record in the run.
    pub first: u64,
    /// Records the phase offers.
    pub count: u64,
    /// Whether the phase counts toward the measured statistics and SLOs.
    pub measure: bool,
}

impl PhasePlan {
    /// Offset from the phase start of its `k`-th record (k < count).
    fn offset_of(&self, k: u64) -> Duration {
        self.offset_at(k as f64)
    }

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
}

/// All phases of a run, back to back.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub phases: Vec<PhasePlan>,
}

impl Schedule {
    pub fn new(phases: &[Phase]) -> Schedule {
        let mut start = Duration::ZERO;
        let mut first = 0;
        let plans = phases
            .iter()
            .map(|p| {
                let count =
                    (p.duration.as_secs_f64() * (p.rate.from + p.rate.to) / 2.0).round() as u64;
                let plan = PhasePlan {
                    name: p.name.clone(),
                    start,
                    duration: p.duration,
                    from: p.rate.from,
                    to: p.rate.to,
                    first,
                    count,
                    measure: p.measure,
                };
                start += p.duration;
                first += count;
                plan
            })
            .collect();
        Schedule { phases: plans }
    }

    /// Records the whole run offers.
    pub fn total(&self) -> u64 {
        self.phases.iter().map(|p| p.count).sum()
    }

    /// Length of the whole run.
    pub fn duration(&self) -> Duration {
        self.phases.iter().map(|p| p.duration).sum()
    }

    /// The phase that record `index` belongs to.
    pub fn phase_of(&self, index: u64) -> usize {
        let i = self.phases.partition_point(|p| p.first + p.count <= index);
        i.min(self.phases.len().saturating_sub(1))
    }

    /// The phase running at `elapsed` since the run's start (the last one once all are over).
    pub fn phase_at(&self, elapsed: Duration) -> usize {
        let i = self
            .phases
            .partition_point(|p| p.start + p.duration <= elapsed);
        i.min(self.phases.len().saturating_sub(1))
    }

    /// How many records are due by `elapsed` (intended send time at or before it).
    pub fn due_by(&self, elapsed: Duration) -> u64 {
        let p = &self.phases[self.phase_at(elapsed)];
        if elapsed < p.start {
            return p.first;
        }
        let t = (elapsed - p.start)
            .as_secs_f64()
            .min(p.duration.as_secs_f64());
        let d = p.duration.as_secs_f64();
        let n = p.from * t + (p.to - p.from) * t * t / (2.0 * d);
        // a small tolerance: a record is due at its own (nanosecond-rounded) intended time
        p.first + (((n + 1e-6).floor() as u64) + 1).min(p.count)
    }

    /// How many of the records in `range` belong to each phase: (phase, count) pairs.
    pub fn split_by_phase(&self, range: std::ops::Range<u64>) -> Vec<(usize, u64)> {
        self.phases
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let lo = range.start.max(p.first);
                let hi = range.end.min(p.first + p.count);
                (hi > lo).then(|| (i, hi - lo))
            })
            .collect()
    }

    /// Intended send time of record `index`, as an offset from the run's start.
    pub fn intended_offset(&self, index: u64) -> Duration {
        let p = &self.phases[self.phase_of(index)];
        p.start + p.offset_of(index - p.first)
    }
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
            last: None,
            poisson: None,
        }
    }

    /// Intended send time of record `index`, as an offset from the run's start.
    pub fn offset(&mut self, index: u64) -> Duration {
        if let Some((i, offset)) = self.last
            && i == index
        {
            return offset;
        }
        let offset = match self.arrival {
            Arrival::Constant => self.schedule.intended_offset(index),
            Arrival::Poisson => self.poisson_offset(index),
        };
        self.last = Some((index, offset));
        offset
    }

    fn poisson_offset(&mut self, index: u64) -> Duration {
        let p_ix = self.schedule.phase_of(index);
        let plan = &self.schedule.phases[p_ix];
        if self.poisson.as_ref().is_none_or(|s| s.0 != p_ix) {
            let phase_seed = self.seed ^ 0x9E37_79B9_7F4A_7C15_u64.wrapping_mul(p_ix as u64 + 1);
            self.poisson = Some((p_ix, SmallRng::seed_from_u64(phase_seed), 0.0));
        }
        let Some((_, rng, last)) = self.poisson.as_mut() else {
            return self.schedule.intended_offset(index);
        };
        // the next of the phase's sorted uniform draws: the smallest of the `left` draws still to
        // place, all above the last one
        let left = plan.count.saturating_sub(index - plan.first).max(1) as f64;
        let v = 1.0 - rng.random::<f64>();
        *last = 1.0 - (1.0 - *last) * v.powf(1.0 / left);
        plan.start + plan.offset_at(*last * plan.count as f64)
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
        assert_eq!(s.phases[1].first, 200);
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
        let times: Vec<f64> = (0..s.total()).map(|i| a.offset(i).as_secs_f64()).collect();
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
        assert_eq!(again.offset(0).as_secs_f64(), times[0]);
        let mut constant = Arrivals::new(s, Arrival::Constant, 3);
        assert_eq!(constant.offset(500), Duration::from_millis(500));
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
