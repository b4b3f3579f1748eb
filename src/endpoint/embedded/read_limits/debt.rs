//! A shard's GetRecords byte allowance: a bucket that fills at the read limit, up to one
//! second of it, and that a response can overdraw.
//!
//! Why not governor, which limits the call rates beside it: its GCRA tests a cost before it
//! lets a call through and refuses outright a cost above its burst (`InsufficientCapacity`),
//! but Kinesis only learns a response's size once it has read the records: it delivers the
//! response whole, charges its bytes after, and throttles the shard's next calls until the
//! overdraft is paid back ("a 10 MB response makes the next 5 s of calls throttle",
//! ../shared/spec/KINESIS.md, "Data-plane limits"). That is a bucket that can go below zero,
//! which governor cannot express; it is a dozen lines of arithmetic here.

/// What a shard owes, kept as a single time, as GCRA keeps its theoretical arrival time: the
/// moment its bucket is full again (`full_at`, nanoseconds on the limiter's clock). The level
/// at `now` is `capacity - rate * (full_at - now)` (full once `full_at <= now`), so nothing
/// needs updating as time passes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Debt {
    /// When the bucket is full again, in nanoseconds on the limiter's clock.
    full_at: u64,
}

/// How fast a bucket fills and how much it holds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Allowance {
    /// Bytes a second the bucket fills with.
    bytes_per_sec: u64,
    /// How long an empty bucket takes to fill: its capacity over its rate, in nanoseconds.
    fill_nanos: u64,
}

const NANOS_PER_SEC: u64 = 1_000_000_000;

impl Allowance {
    /// A bucket filling at `bytes_per_sec` that holds `seconds` of it when full.
    pub(super) const fn new(bytes_per_sec: u64, seconds: u64) -> Allowance {
        Allowance {
            bytes_per_sec,
            fill_nanos: seconds * NANOS_PER_SEC,
        }
    }

    /// How long `bytes` take to pay back, in nanoseconds, rounded up (so that a single byte
    /// over the allowance is a debt), at most `u64::MAX`.
    fn nanos(&self, bytes: u64) -> u64 {
        let nanos = (u128::from(bytes) * u128::from(NANOS_PER_SEC))
            .div_ceil(u128::from(self.bytes_per_sec.max(1)));
        u64::try_from(nanos).unwrap_or(u64::MAX)
    }

    /// Whether the bucket is below zero at `now`: the shard's calls are throttled.
    pub(super) fn in_debt(&self, debt: &Debt, now: u64) -> bool {
        debt.full_at.saturating_sub(now) > self.fill_nanos
    }

    /// Draws `bytes` from the bucket at `now`, below zero if need be.
    pub(super) fn charge(&self, debt: &mut Debt, now: u64, bytes: u64) {
        debt.full_at = debt.full_at.max(now).saturating_add(self.nanos(bytes));
    }

    /// Whether the bucket is full at `now`: the same as no record of it at all, so that record
    /// can go.
    pub(super) fn is_full(&self, debt: &Debt, now: u64) -> bool {
        debt.full_at <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;
    /// 2 MiB a second, a second's worth when full.
    const TWO_MIB: Allowance = Allowance::new(2 * MIB, 1);
    const SEC: u64 = NANOS_PER_SEC;

    #[test]
    fn a_full_bucket_pays_for_one_seconds_allowance_without_debt() {
        let mut debt = Debt::default();
        TWO_MIB.charge(&mut debt, 0, 2 * MIB);
        assert!(
            !TWO_MIB.in_debt(&debt, 0),
            "exactly the allowance is no debt"
        );
        TWO_MIB.charge(&mut debt, 0, 1);
        assert!(TWO_MIB.in_debt(&debt, 0), "one byte over is a debt");
        // the byte is paid back in 477 ns (1 s / 2 MiB, rounded up)
        assert!(TWO_MIB.in_debt(&debt, 476));
        assert!(!TWO_MIB.in_debt(&debt, 477));
    }

    #[test]
    fn a_ten_mib_response_is_paid_back_at_the_read_rate() {
        // from a full bucket: 8 MiB over, 4 s to pay back
        let mut debt = Debt::default();
        TWO_MIB.charge(&mut debt, 10 * SEC, 10 * MIB);
        assert!(TWO_MIB.in_debt(&debt, 10 * SEC));
        assert!(TWO_MIB.in_debt(&debt, 14 * SEC - 1));
        assert!(!TWO_MIB.in_debt(&debt, 14 * SEC));
        assert!(!TWO_MIB.is_full(&debt, 14 * SEC), "not full until 15 s");
        assert!(TWO_MIB.is_full(&debt, 15 * SEC));
        // from an empty bucket (2 MiB just read): 5 s, as AWS's GetRecords page says
        let mut debt = Debt::default();
        TWO_MIB.charge(&mut debt, 0, 2 * MIB);
        TWO_MIB.charge(&mut debt, 0, 10 * MIB);
        assert!(TWO_MIB.in_debt(&debt, 5 * SEC - 1));
        assert!(!TWO_MIB.in_debt(&debt, 5 * SEC));
    }

    #[test]
    fn reading_at_the_rate_never_runs_into_debt_and_an_idle_bucket_fills() {
        let mut debt = Debt::default();
        // 400 KiB every 200 ms: 2,000 KiB a second, just under 2 MiB
        for i in 0..100 {
            let now = i * SEC / 5;
            assert!(!TWO_MIB.in_debt(&debt, now), "call {i}");
            TWO_MIB.charge(&mut debt, now, 400 * 1024);
        }
        // after a long pause the bucket holds one second's worth, not more
        let later = 1_000 * SEC;
        assert!(TWO_MIB.is_full(&debt, later));
        TWO_MIB.charge(&mut debt, later, 2 * MIB + 1);
        assert!(TWO_MIB.in_debt(&debt, later));
    }

    #[test]
    fn huge_charges_saturate_instead_of_overflowing() {
        let mut debt = Debt::default();
        TWO_MIB.charge(&mut debt, u64::MAX - 1, u64::MAX);
        assert_eq!(debt.full_at, u64::MAX);
        assert!(!TWO_MIB.is_full(&debt, u64::MAX - 1));
    }
}
