//! The producer pool as a role: it runs the phases, then says what was written, per shard.

use super::role::{Clock, Context, Hook, Results, Role};
use crate::metrics::collector::Collector;
use crate::metrics::interval::Stats;
use crate::producer::pool::{self, ProducerContext};
use crate::report::{ShardSummary, VariantSummary};
use crate::scenario::units::thousands;
use crate::scenario::{Api, Scenario};
use crate::workload::schedule::Schedule;
use crate::workload::shardmap::ShardMap;

/// p99 schedule lag above which the summary says records went out late.
const LATE_P99_MS: f64 = 100.0;

/// Share of record attempts throttled above which late records are put down to the stream's
/// write limits (the retries of throttled records keep the workers busy) rather than the client.
const THROTTLED_CAUSE_PCT: f64 = 1.0;

/// Sends the schedule's records through the scenario's API variant.
#[derive(Default)]
pub struct ProducerPool {
    /// Set at the run's start: stamps and latencies are measured from it.
    clock: Option<Clock>,
}

impl Role for ProducerPool {
    fn start(&mut self, _run: &Context, clock: Clock) {
        self.clock = Some(clock);
    }

    fn phases<'a>(&'a mut self, run: &'a Context) -> Hook<'a, ()> {
        Box::pin(async move {
            let Some(clock) = self.clock else { return };
            let ctx = ProducerContext {
                client: run.client.clone(),
                stream: run.stream.name.clone(),
                api: run.api,
                producer: run.scenario.producer.clone(),
                records: run.scenario.records.clone(),
                schedule: run.schedule.clone(),
                seed: run.scenario.seed,
                run_id: run.run_id,
                start: clock.start,
                start_unix_ns: clock.start_unix_ns,
                acked: run.acked.clone(),
                shards: run.shard_map.clone(),
                incidents: run.incidents.clone(),
            };
            pool::run(ctx, &run.registry, run.cancel.clone()).await;
        })
    }

    fn summarise(&self, run: &Context, results: &Results, summary: &mut VariantSummary) {
        let all = results.collector.all_counters();
        let a = &mut summary.accounting;
        a.scheduled = all.scheduled;
        a.acknowledged = all.acknowledged;
        a.given_up = all.given_up();
        a.given_up_throttled = all.given_up_throttled;
        a.given_up_error = all.given_up_error;
        a.given_up_interrupted = all.given_up_interrupted;

        let total = summary.phases.last().cloned();
        if let Some(t) = &total
            && let Some(w) = late_warning(
                t.schedule_lag.p99_ms,
                t.throttled_pct,
                run.scenario.producer.in_flight,
            )
        {
            summary.warnings.push(w);
        }
        summary.per_shard = shard_summaries(
            run.shard_map,
            results.measured,
            results.collector,
            total.as_ref().map_or(0.0, |t| t.active_s),
        );
        let aggregated = run.api == Api::PutRecordsAggregated;
        summary.warnings.extend(shard_warnings(
            run.scenario,
            &run.schedule,
            &summary.per_shard,
            results.measured,
            aggregated,
        ));
    }
}

/// Why records went out late, when they did (p99 schedule lag above [`LATE_P99_MS`]), with the
/// advice that matches the cause: throttling at the shard limits means the stream is the limit;
/// workers all busy without throttling means the client is.
fn late_warning(lag_p99_ms: f64, throttled_pct: f64, in_flight: usize) -> Option<String> {
    if lag_p99_ms <= LATE_P99_MS {
        return None;
    }
    Some(if throttled_pct >= THROTTLED_CAUSE_PCT {
        format!(
            "records went out late: p99 schedule lag {}ms. {throttled_pct:.1}% of record attempts were throttled at the shards' write limits (1,000 records/s and 1 MiB/s per shard), and their retries kept all {in_flight} in-flight requests busy: the stream is the limit here, not the client. Add shards (kbench size says how many) or lower the rate; latencies are measured from the intended send time, so they include this wait.",
            whole(lag_p99_ms)
        )
    } else {
        format!(
            "records went out late: p99 schedule lag {}ms. All {in_flight} in-flight requests were busy (with retries or slow responses), so the offered rate was not sent on time; latencies are measured from the intended send time, so they include this wait. Raise producer.in_flight or lower the rate to measure the stream rather than the client.",
            whole(lag_p99_ms)
        )
    })
}

/// A rate or a latency as a whole number, with commas: 12468.4 -> "12,468".
fn whole(v: f64) -> String {
    thousands(if v.is_finite() {
        v.round().max(0.0) as u64
    } else {
        0
    })
}

/// Per-shard writes over the measured phases, in hash-key order.
fn shard_summaries(
    map: &ShardMap,
    measured: &Stats,
    collector: &Collector,
    active_s: f64,
) -> Vec<ShardSummary> {
    let total: u64 = measured.shards.iter().map(|s| s.acknowledged).sum();
    map.entries()
        .enumerate()
        .map(|(i, (id, start, end))| {
            let c = measured.shards.get(i).cloned().unwrap_or_default();
            let per_s = |n: u64| {
                if active_s > 0.0 {
                    n as f64 / active_s
                } else {
                    0.0
                }
            };
            ShardSummary {
                shard_id: id.to_string(),
                starting_hash_key: start.to_string(),
                ending_hash_key: end.to_string(),
                records_per_s: per_s(c.acknowledged),
                bytes_per_s: per_s(c.acknowledged_bytes),
                share_pct: if total > 0 {
                    c.acknowledged as f64 * 100.0 / total as f64
                } else {
                    0.0
                },
                peak_records_per_s: collector.shard_peaks.get(i).copied().unwrap_or(0.0),
                acknowledged: c.acknowledged,
                acknowledged_bytes: c.acknowledged_bytes,
                throttled: c.throttled,
            }
        })
        .collect()
}

/// Plain words about skew: the hottest shard against an even share, and a key too hot for any
/// single shard.
fn shard_warnings(
    scenario: &Scenario,
    schedule: &Schedule,
    shards: &[ShardSummary],
    measured: &Stats,
    aggregated: bool,
) -> Vec<String> {
    use crate::scenario::limits::{SHARD_WRITE_BYTES_PER_SEC, SHARD_WRITE_RECORDS_PER_SEC};
    let mut warnings = Vec::new();
    let even = 100.0 / shards.len().max(1) as f64;
    if let Some(hot) = shards
        .iter()
        .max_by(|a, b| a.share_pct.total_cmp(&b.share_pct))
        && shards.len() > 1
        && hot.share_pct > even * 1.5
    {
        warnings.push(format!(
            "hottest shard: {} took {:.1}% of acknowledged records (an even share is {:.1}%), peaking at {} records/s; {} of its record attempts were throttled",
            hot.shard_id,
            hot.share_pct,
            even,
            whole(hot.peak_records_per_s),
            thousands(hot.throttled)
        ));
    }
    let peak_rate = schedule.peak_rate();
    // a payload that names its key field decides the keys itself: its skew is not known here
    let top = if scenario.records.payload.keys_itself() {
        0.0
    } else {
        scenario.records.keys.top_share()
    };
    let c = &measured.counters;
    let mean_bytes = if c.acknowledged > 0 {
        c.acknowledged_bytes as f64 / c.acknowledged as f64
    } else {
        scenario.records.size.min() as f64
    };
    let key_rate = top * peak_rate;
    // aggregated, a key's records share Kinesis records: only its bytes meet a shard's limit
    if (!aggregated && key_rate > SHARD_WRITE_RECORDS_PER_SEC as f64)
        || key_rate * mean_bytes > SHARD_WRITE_BYTES_PER_SEC as f64
    {
        warnings.push(format!(
            "the most frequent partition key alone gets {} records/s ({} KiB/s) at the peak rate, above one shard's write limit (1,000 records/s, 1 MiB/s): no number of shards fixes this; spread that key's records (more keys, or explicit hash keys)",
            whole(key_rate),
            whole(key_rate * mean_bytes / 1024.0)
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_records_are_put_down_to_the_stream_when_it_throttled_and_to_the_client_when_not() {
        assert_eq!(late_warning(80.0, 50.0, 16), None);
        let stream = late_warning(900.0, 42.0, 16).expect("late");
        assert!(
            stream.contains("42.0% of record attempts were throttled"),
            "{stream}"
        );
        assert!(stream.contains("the stream is the limit here"), "{stream}");
        assert!(!stream.contains("Raise producer.in_flight"), "{stream}");
        let client = late_warning(900.0, 0.2, 16).expect("late");
        assert!(
            client.contains("All 16 in-flight requests were busy"),
            "{client}"
        );
        assert!(client.contains("Raise producer.in_flight"), "{client}");
    }
}
