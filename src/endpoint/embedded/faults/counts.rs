//! What the faults layer injected, counted per kind: live counters the endpoint adds to, and
//! the plain counts a run reads from them for its report.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counts {
    ($($(#[doc = $doc:expr])* $name:ident),* $(,)?) => {
        /// The live counters: shared by the endpoint (which adds) and the run (which reads).
        #[derive(Debug, Default)]
        pub struct Injected { $($(#[doc = $doc])* pub(super) $name: AtomicU64,)* }

        /// The faults injected, per kind (a run reports those injected while it ran).
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct InjectedCounts { $($(#[doc = $doc])* pub $name: u64,)* }

        impl Injected {
            /// The counts now.
            pub fn snapshot(&self) -> InjectedCounts {
                InjectedCounts { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }

        impl InjectedCounts {
            /// The counts from `before` to `self` (a run's share of an endpoint's counts).
            pub fn since(&self, before: &InjectedCounts) -> InjectedCounts {
                InjectedCounts { $($name: self.$name.saturating_sub(before.$name),)* }
            }
        }
    };
}

counts! {
    /// Calls answered with InternalFailure (HTTP 500).
    internal_failure,
    /// Calls answered with ServiceUnavailable (HTTP 503).
    service_unavailable,
    /// Calls answered with ProvisionedThroughputExceededException (HTTP 400) beyond the limits.
    throttled,
    /// PutRecords entries failed with ProvisionedThroughputExceededException, not stored.
    partial_throttled,
    /// PutRecords entries failed with InternalFailure, not stored.
    partial_internal_failure,
    /// Calls given added latency.
    delayed,
    /// Stalls that held at least one request.
    stalls,
    /// Requests held by a stall.
    stalled,
    /// Calls served whose connection was then dropped without the response.
    resets,
    /// Outages that dropped at least one request.
    outages,
    /// Requests whose connection was dropped, unserved, during an outage.
    outage_dropped,
}

impl Injected {
    /// Adds one to `counter`.
    pub(super) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

impl InjectedCounts {
    /// The counts in words, the kinds that happened only: "120 InternalFailure, 3 stalls
    /// (40 requests held), ..."; empty when nothing was injected.
    pub fn describe(&self) -> String {
        let plural =
            |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut parts = Vec::new();
        for (n, code) in [
            (self.internal_failure, "InternalFailure"),
            (self.service_unavailable, "ServiceUnavailable"),
            (self.throttled, "ProvisionedThroughputExceededException"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {code}"));
            }
        }
        let partial = self.partial_throttled + self.partial_internal_failure;
        if partial > 0 {
            parts.push(format!(
                "{} ({} throttled, {} InternalFailure)",
                plural(
                    partial,
                    "failed PutRecords entry",
                    "failed PutRecords entries"
                ),
                self.partial_throttled,
                self.partial_internal_failure
            ));
        }
        if self.delayed > 0 {
            parts.push(plural(self.delayed, "call delayed", "calls delayed"));
        }
        // a count of events, with the requests they dropped or held
        for (n, one, many, requests, what) in [
            (self.stalls, "stall", "stalls", self.stalled, "held"),
            (self.resets, "connection reset", "connection resets", 0, ""),
            (
                self.outages,
                "outage",
                "outages",
                self.outage_dropped,
                "dropped",
            ),
        ] {
            if n == 0 {
                continue;
            }
            let mut said = plural(n, one, many);
            if !what.is_empty() {
                said.push_str(&format!(
                    " ({} {what})",
                    plural(requests, "request", "requests")
                ));
            }
            parts.push(said);
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counts_say_what_happened_in_words() {
        let counts = InjectedCounts {
            internal_failure: 120,
            partial_throttled: 3,
            partial_internal_failure: 1,
            stalls: 1,
            stalled: 40,
            resets: 2,
            outages: 1,
            outage_dropped: 1,
            ..InjectedCounts::default()
        };
        assert_eq!(
            counts.describe(),
            "120 InternalFailure, 4 failed PutRecords entries (3 throttled, 1 InternalFailure), 1 stall (40 requests held), 2 connection resets, 1 outage (1 request dropped)"
        );
        assert_eq!(InjectedCounts::default().describe(), "");
        let later = InjectedCounts {
            internal_failure: 125,
            ..counts
        };
        assert_eq!(later.since(&counts).internal_failure, 5);
        assert_eq!(later.since(&counts).stalled, 0);
    }
}
