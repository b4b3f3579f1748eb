//! The enhanced fan-out read limit: 2 MB/s per consumer per shard (../shared/spec/KINESIS.md,
//! "Data-plane limits"). A subscription is paced to it, never throttled: an event waits until
//! its records' bytes fit, so a consumer that falls behind catches up at the limit, as on
//! Kinesis. The budget is a token bucket (governor's GCRA) holding one second's worth, shared
//! by a consumer's renewals on the shard (see `leases.rs`).

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;

/// What one consumer may read from one shard per second: 2 MB (MiB, as kbench counts the
/// write limit).
pub(super) const EFO_READ_BYTES_PER_S: u64 = 2 * 1024 * 1024;

/// The bucket counts in cells of this many bytes, so that a second's budget is a small count
/// and the refill interval (1 s / cells) is exact to the nanosecond.
const CELL_BYTES: u64 = 1024;

/// Cells a second, also the bucket's size (a second's worth).
const CELLS_PER_S: u32 = (EFO_READ_BYTES_PER_S / CELL_BYTES) as u32;

/// The read budget of one consumer on one shard.
pub(super) struct Pacer {
    limiter: DefaultDirectRateLimiter,
}

impl Default for Pacer {
    fn default() -> Self {
        let cells = NonZeroU32::new(CELLS_PER_S).unwrap_or(NonZeroU32::MIN);
        Pacer {
            limiter: RateLimiter::direct(Quota::per_second(cells)),
        }
    }
}

impl Pacer {
    /// Waits until `bytes` more may be sent. More than a second's worth (a record larger than
    /// 2 MiB, which a raised max record size allows) is taken a second's worth at a time.
    pub(super) async fn wait(&self, bytes: u64) {
        for cells in cells_of(bytes) {
            loop {
                match self.limiter.check_n(cells) {
                    Ok(Ok(())) => break,
                    Ok(Err(not_until)) => {
                        let now = DefaultClock::default().now();
                        tokio::time::sleep(not_until.wait_time_from(now)).await;
                    }
                    // cannot happen: no piece is larger than the bucket
                    Err(_) => break,
                }
            }
        }
    }
}

/// `bytes` as pieces of at most a bucket's worth of cells, rounded up (an empty event costs
/// nothing).
fn cells_of(bytes: u64) -> impl Iterator<Item = NonZeroU32> {
    let mut cells = bytes.div_ceil(CELL_BYTES);
    std::iter::from_fn(move || {
        let take = cells.min(u64::from(CELLS_PER_S));
        cells -= take;
        NonZeroU32::new(take as u32)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(bytes: u64) -> Vec<u32> {
        cells_of(bytes).map(NonZeroU32::get).collect()
    }

    #[test]
    fn bytes_are_counted_in_whole_cells_and_split_by_the_bucket() {
        assert_eq!(pieces(0), Vec::<u32>::new());
        assert_eq!(pieces(1), vec![1]);
        assert_eq!(pieces(1024), vec![1]);
        assert_eq!(pieces(1025), vec![2]);
        assert_eq!(pieces(EFO_READ_BYTES_PER_S), vec![2048]);
        assert_eq!(pieces(5 * 1024 * 1024 + 1), vec![2048, 2048, 1025]);
    }

    #[test]
    fn the_budget_is_two_mib_a_second_with_a_second_of_burst() {
        let clock = governor::clock::FakeRelativeClock::default();
        let quota = Quota::per_second(NonZeroU32::new(CELLS_PER_S).expect("cells"));
        let limiter = RateLimiter::direct_with_clock(quota, clock.clone());
        let second = NonZeroU32::new(CELLS_PER_S).expect("cells");
        assert_eq!(limiter.check_n(second), Ok(Ok(())), "a full second at once");
        assert!(
            limiter.check_n(NonZeroU32::MIN).is_ok_and(|d| d.is_err()),
            "then nothing"
        );
        clock.advance(std::time::Duration::from_millis(500));
        let half = NonZeroU32::new(CELLS_PER_S / 2).expect("cells");
        assert_eq!(
            limiter.check_n(half),
            Ok(Ok(())),
            "half a second later, half"
        );
        assert!(limiter.check_n(NonZeroU32::MIN).is_ok_and(|d| d.is_err()));
    }
}
