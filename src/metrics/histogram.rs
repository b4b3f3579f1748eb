//! Latency histograms: HdrHistogram in microseconds, 3 significant digits, growing as needed.

use hdrhistogram::Histogram;
use std::time::Duration;

/// A latency distribution in microseconds.
#[derive(Clone, Debug)]
pub struct Latency {
    hist: Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    pub fn new() -> Latency {
        // 3 significant digits; auto-resizing, so the range is whatever was recorded.
        let mut hist = Histogram::new(3).expect("3 significant digits is a valid precision");
        hist.auto(true);
        Latency { hist }
    }

    /// Records one latency (rounded to whole microseconds, at least 1).
    pub fn record(&mut self, d: Duration) {
        let us = (d.as_micros() as u64).max(1);
        // with auto-resize on, recording cannot fail for a u64 value
        let _ = self.hist.record(us);
    }

    pub fn merge(&mut self, other: &Latency) {
        // auto-resize is on, so adding a histogram of any range succeeds
        let _ = self.hist.add(&other.hist);
    }

    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// The underlying histogram (microseconds), for the interval logs.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.hist
    }

    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    /// The value at quantile `q` (0..=1); zero when nothing was recorded.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.hist.is_empty() {
            return Duration::ZERO;
        }
        Duration::from_micros(self.hist.value_at_quantile(q))
    }

    pub fn max(&self) -> Duration {
        if self.hist.is_empty() {
            return Duration::ZERO;
        }
        Duration::from_micros(self.hist.max())
    }

    pub fn mean(&self) -> Duration {
        Duration::from_secs_f64(self.hist.mean() / 1e6)
    }

    /// The width of the bucket that holds `value` in a latency histogram: two values closer
    /// than this may be recorded as the same one, so a smaller difference is not a measured
    /// difference.
    pub fn resolution(value: Duration) -> Duration {
        let us = (value.as_micros() as u64).max(1);
        Duration::from_micros(Latency::new().hist.equivalent_range(us))
    }

    /// The percentile spectrum: (percentile, value, cumulative count) at HdrHistogram's
    /// classic half-distance steps, ending at 100%.
    pub fn spectrum(&self) -> Vec<(f64, Duration, u64)> {
        if self.hist.is_empty() {
            return Vec::new();
        }
        self.hist
            .iter_quantiles(1)
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
}
