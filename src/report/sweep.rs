//! The results of a sweep as the reports show them: one [`Step`] per measured rate of a shard
//! count, the data that sweep.csv, the terminal's lines and the knee chart are drawn from. How
//! a sweep chooses its rates and judges a step is `kbench sweep`'s business, not the report's.

use serde::Serialize;
use std::path::PathBuf;

/// One measured step of a sweep: a warm-up and a measured phase at one offered rate.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub shards: u32,
    /// 1-based order of the step within its shard count's search.
    pub step: u32,
    /// Records/s the measured phase offered.
    pub offered_rps: f64,
    /// Records/s acknowledged in the measured phase.
    pub achieved_rps: f64,
    /// achieved_rps as a percentage of offered_rps.
    pub achieved_pct: f64,
    /// Data and partition-key bytes/s acknowledged in the measured phase.
    pub achieved_bytes_per_s: f64,
    /// Throttled record attempts as a percentage of all record attempts.
    pub throttled_pct: f64,
    pub put_p99_ms: f64,
    /// None when the scenario has no consumer.
    pub e2e_p99_ms: Option<f64>,
    pub lost: u64,
    /// Records of the measured phase given up (after max_attempts, or on an error).
    pub given_up: u64,
    /// Whether every SLO of the scenario held in the measured phase, no record was given up
    /// and some were acknowledged.
    pub passed: bool,
    /// Why it did not pass, e.g. "max_throttled_pct 3.20% (limit 0.1%)".
    pub breached: Vec<String>,
    /// The step's report directory.
    pub dir: PathBuf,
}

/// "1 shard", "4 shards".
pub(crate) fn count(shards: u32) -> String {
    if shards == 1 {
        "1 shard".into()
    } else {
        format!("{shards} shards")
    }
}
