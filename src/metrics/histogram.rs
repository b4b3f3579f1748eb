//! Latency histograms: HdrHistogram in microseconds, 3 significant digits, growing as needed.
//!
//! A histogram takes 16 KiB or more, and a run keeps six per phase per task per interval, per
//! phase in each interval row and per phase in the totals. So a latency holds its first
//! [`FEW`] values as they are and makes the histogram only when more come: a phase that records
//! nothing costs nothing, one that records a few values (a short phase, a task's share of an
//! interval) a few bytes each, whatever the number of phases. Every answer is the histogram's,
//! whichever form holds the values.

use hdrhistogram::Histogram;
use std::borrow::Cow;
use std::time::Duration;

/// Values a latency keeps as they are before it makes its histogram (8 bytes each, against the
/// histogram's 16 KiB or more).
const FEW: usize = 64;

/// A latency distribution in microseconds.
#[derive(Clone, Debug, Default)]
pub struct Latency {
    /// The values, in microseconds, while there are at most [`FEW`] and `hist` is None.
    few: Vec<u64>,
    /// Every value once there are more than [`FEW`] (then `few` is empty).
    hist: Option<Box<Histogram<u64>>>,
}

/// A histogram as kbench makes them: 3 significant digits, auto-resizing, so the range is
/// whatever was recorded.
fn new_histogram() -> Histogram<u64> {
    let mut hist = Histogram::new(3).expect("3 significant digits is a valid precision");
    hist.auto(true);
    hist
}

impl Latency {
    pub fn new() -> Latency {
        Latency::default()
    }

    /// The histogram, made from the values kept so far if there is none yet.
    fn hist_mut(&mut self) -> &mut Histogram<u64> {
        let few = &mut self.few;
        self.hist.get_or_insert_with(|| {
            let mut h = new_histogram();
            for v in few.drain(..) {
                // with auto-resize on, recording cannot fail for a u64 value
                let _ = h.record(v);
            }
            few.shrink_to_fit();
            Box::new(h)
        })
    }

    fn record_us(&mut self, us: u64) {
        if self.hist.is_none() && self.few.len() < FEW {
            self.few.push(us);
        } else {
            let _ = self.hist_mut().record(us);
        }
    }

    /// Records one latency (rounded to whole microseconds, at least 1).
    pub fn record(&mut self, d: Duration) {
        self.record_us((d.as_micros() as u64).max(1));
    }

    pub fn merge(&mut self, other: &Latency) {
        match other.hist.as_deref() {
            // auto-resize is on, so adding a histogram of any range succeeds
            Some(theirs) if !theirs.is_empty() => {
                let _ = self.hist_mut().add(theirs);
            }
            Some(_) => {}
            None => {
                for &us in &other.few {
                    self.record_us(us);
                }
            }
        }
    }

    pub fn count(&self) -> u64 {
        self.hist
            .as_ref()
            .map_or(self.few.len() as u64, |h| h.len())
    }

    /// The values as a histogram (microseconds), for the interval logs: the one held, or one
    /// made for the occasion from the few values kept.
    pub fn histogram(&self) -> Cow<'_, Histogram<u64>> {
        match self.hist.as_deref() {
            Some(h) => Cow::Borrowed(h),
            None => {
                let mut h = new_histogram();
                for &us in &self.few {
                    let _ = h.record(us);
                }
                Cow::Owned(h)
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// The histogram when it holds at least one value.
    fn recorded(&self) -> Option<Cow<'_, Histogram<u64>>> {
        (!self.is_empty()).then(|| self.histogram())
    }

    /// The value at quantile `q` (0..=1); zero when nothing was recorded.
    pub fn quantile(&self, q: f64) -> Duration {
        self.recorded().map_or(Duration::ZERO, |h| {
            Duration::from_micros(h.value_at_quantile(q))
        })
    }

    pub fn max(&self) -> Duration {
        self.recorded()
            .map_or(Duration::ZERO, |h| Duration::from_micros(h.max()))
    }

    pub fn mean(&self) -> Duration {
        self.recorded()
            .map_or(Duration::ZERO, |h| Duration::from_secs_f64(h.mean() / 1e6))
    }

    /// The width of the bucket that holds `value` in a latency histogram: two values closer
    /// than this may be recorded as the same one, so a smaller difference is not a measured
    /// difference.
    pub fn resolution(value: Duration) -> Duration {
        let us = (value.as_micros() as u64).max(1);
        Duration::from_micros(new_histogram().equivalent_range(us))
    }

    /// The percentile spectrum: (percentile, value, cumulative count) at HdrHistogram's
    /// classic half-distance steps, ending at 100%.
    pub fn spectrum(&self) -> Vec<(f64, Duration, u64)> {
        let Some(hist) = self.recorded() else {
            return Vec::new();
        };
        hist.iter_quantiles(1)
            .map(|v| {
                (
                    v.quantile_iterated_to() * 100.0,
                    Duration::from_micros(v.value_iterated_to()),
                    v.count_since_last_iteration(),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_merge() {
        let mut a = Latency::new();
        for ms in 1..=100 {
            a.record(Duration::from_millis(ms));
        }
        let mut b = Latency::new();
        b.record(Duration::from_secs(30));
        a.merge(&b);
        assert_eq!(a.count(), 101);
        let p50 = a.quantile(0.5).as_millis();
        assert!((50..=51).contains(&p50), "{p50}");
        assert!(a.max() >= Duration::from_millis(29_990));
        let spectrum = a.spectrum();
        assert!(
            spectrum
                .windows(2)
                .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1)
        );
        assert_eq!(spectrum.last().map(|s| s.0), Some(100.0));
        assert_eq!(Latency::new().quantile(0.99), Duration::ZERO);
    }

    /// 20,000 phases made a run peak at 4.9 GB: every phase's statistics held six empty
    /// histograms of 16 KiB, per task, per interval row and in the totals.
    #[test]
    fn memory_does_not_grow_with_phases_that_record_few_values() {
        let mut a = Latency::new();
        a.merge(&Latency::new());
        assert!(
            a.hist.is_none() && a.few.is_empty(),
            "merging nothing keeps nothing"
        );
        assert!(a.is_empty() && a.spectrum().is_empty());
        assert_eq!((a.max(), a.mean()), (Duration::ZERO, Duration::ZERO));
        assert!(a.histogram().is_empty());
        // a Stats holds only pointers until something is recorded
        assert!(std::mem::size_of::<crate::metrics::interval::Stats>() <= 512);
        // up to FEW values are kept as they are, and answer as the histogram would
        let mut few = Latency::new();
        let mut hist = new_histogram();
        for ms in 1..=FEW as u64 {
            few.record(Duration::from_micros(ms * 997));
            let _ = hist.record(ms * 997);
        }
        assert!(few.hist.is_none());
        let mut merged = Latency::new();
        merged.merge(&few);
        assert!(merged.hist.is_none() && merged.count() == FEW as u64);
        for q in [0.0, 0.5, 0.9, 0.99, 1.0] {
            assert_eq!(
                few.quantile(q),
                Duration::from_micros(hist.value_at_quantile(q)),
                "{q}"
            );
        }
        assert_eq!(few.max(), Duration::from_micros(hist.max()));
        // one more makes the histogram, holding every value
        merged.merge(&few);
        assert!(merged.hist.is_some() && merged.few.is_empty());
        assert_eq!(merged.count(), 2 * FEW as u64);
        assert_eq!(merged.quantile(1.0), few.quantile(1.0));
    }
}
