//! Backoff between attempts: exponential from a base, capped, jittered.

use crate::scenario::Backoff;
use rand::Rng;
use std::time::Duration;

/// Delay before attempt `attempt + 1`, after `attempt` failed attempts (attempt >= 1).
pub fn delay<R: Rng>(backoff: &Backoff, attempt: u32, rng: &mut R) -> Duration {
    let exp = backoff
        .base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let cap = exp.min(backoff.max);
    // "equal jitter": anywhere in [cap/2, cap], so retries spread out but never fire at once
    let half = cap / 2;
    half + cap.saturating_sub(half).mul_f64(rng.random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps() {
        let b = Backoff {
            base: Duration::from_millis(50),
            max: Duration::from_millis(300),
        };
        let mut rng = rand::rng();
        for _ in 0..100 {
            let d1 = delay(&b, 1, &mut rng);
            assert!(d1 >= Duration::from_millis(25) && d1 <= Duration::from_millis(50));
            let d3 = delay(&b, 3, &mut rng);
            assert!(d3 >= Duration::from_millis(100) && d3 <= Duration::from_millis(200));
            let d30 = delay(&b, 30, &mut rng);
            assert!(d30 >= Duration::from_millis(150) && d30 <= Duration::from_millis(300));
        }
    }
}
