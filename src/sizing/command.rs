//! `kbench size`: the workload from the flags and/or a scenario, sized and priced.

use super::{Prices, Workload};
use crate::console::{EXIT_OK, out};
use crate::scenario;
use crate::scenario::keys::KeyDist;
use std::path::PathBuf;

/// What `kbench size` was asked.
#[derive(Debug, Clone)]
pub struct SizeRequest {
    /// Take the peak rate, record sizes, key distribution and consumer from this scenario.
    pub scenario: Option<PathBuf>,
    /// Records per second (the peak); with a scenario, replaces its peak rate.
    pub rate: Option<f64>,
    /// Mean record data size in bytes; with a scenario, replaces its sizes.
    pub record_size: Option<u64>,
    pub polling_consumers: Option<u32>,
    /// GetRecords calls per second each polling consumer makes on each shard.
    pub poll_rate: Option<f64>,
    pub efo_consumers: u32,
    /// Spare capacity to keep on the hottest shard, as a fraction.
    pub headroom: f64,
    pub prices: Prices,
}

/// Prints the sizing; returns the exit code.
pub fn size(req: &SizeRequest) -> anyhow::Result<i32> {
    let (w, keys) = workload(req)?;
    out(&super::render(&w, &w.size(), &keys, &req.prices));
    Ok(EXIT_OK)
}

/// The workload to size, and how its keys are described.
fn workload(req: &SizeRequest) -> anyhow::Result<(Workload, String)> {
    let scenario = match &req.scenario {
        Some(path) => Some(scenario::load(path)?),
        None => None,
    };
    let rate = match (req.rate, &scenario) {
        (Some(r), _) => r,
        (None, Some(s)) => match s.max_rate_phase() {
            Some((key, name)) => anyhow::bail!(
                "{}: {key} (phase `{name}`) runs at rate = \"max\", which has no rate to size for; give --rate RECORDS_PER_S",
                req.scenario
                    .as_deref()
                    .unwrap_or(std::path::Path::new("-"))
                    .display()
            ),
            None => s.peak_rate(),
        },
        (None, None) => anyhow::bail!("give --rate RECORDS_PER_S (or --scenario FILE)"),
    };
    // the flags alone: a typical 16-character key
    let (key_bytes, sampled) = scenario
        .as_ref()
        .map_or((16.0, None), super::mean_record_bytes);
    let data_bytes = match (req.record_size, &req.scenario) {
        (Some(n), _) => n as f64,
        (None, Some(path)) => sampled.ok_or_else(|| {
            anyhow::anyhow!(
                "{}: the JSON payload sizes its own records, which kbench size cannot know in advance; give --record-size (the mean record size)",
                path.display()
            )
        })?,
        (None, None) => anyhow::bail!("give --record-size SIZE (e.g. 2KiB) or --scenario FILE"),
    };
    let record_bytes = data_bytes + key_bytes;
    let (mut w, keys_text) = match &scenario {
        Some(s) => (
            Workload::of_scenario(s, rate, record_bytes),
            format!("keys {}", serde_json::to_string(&s.records.keys)?),
        ),
        None => (
            Workload {
                rate,
                record_bytes,
                keys: KeyDist::Unique,
                polling_consumers: 1,
                polls_per_s: 1.0,
                efo_consumers: 0,
                headroom: 0.0,
            },
            "many distinct keys (spread evenly)".to_string(),
        ),
    };
    if let Some(n) = req.polling_consumers {
        w.polling_consumers = n;
    }
    if let Some(r) = req.poll_rate {
        w.polls_per_s = r;
    }
    w.efo_consumers = req.efo_consumers;
    w.headroom = req.headroom;
    Ok((w, keys_text))
}
