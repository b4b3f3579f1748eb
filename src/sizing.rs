//! The shard calculator behind `kbench size`: for a rate, a record size, a partition-key
//! distribution and the consumers, the load on the average and on the hottest shard for a range
//! of shard counts, and the smallest count that fits the per-shard limits with headroom.
//!
//! The hottest shard is found by hashing the distribution's keys (MD5, as Kinesis routes them)
//! onto each candidate's hash-key ranges, split evenly as CreateStream splits them, and adding up
//! the keys' shares of the traffic. Offline and deterministic.

pub mod command;

use crate::scenario::keys::KeyDist;
use crate::scenario::limits::{self, MAX_SHARDS};
use crate::scenario::payload::Payload;
use crate::scenario::{ConsumerKind, Scenario};
use crate::workload::shardmap::ShardMap;

/// Per-shard write limits.
pub const SHARD_RECORDS_PER_S: f64 = limits::SHARD_WRITE_RECORDS_PER_SEC as f64;
pub const SHARD_WRITE_BYTES_PER_S: f64 = limits::SHARD_WRITE_BYTES_PER_SEC as f64;
/// Per-shard read limits shared by the polling consumers.
pub const SHARD_READ_BYTES_PER_S: f64 = 2.0 * 1024.0 * 1024.0;
pub const SHARD_GET_CALLS_PER_S: f64 = limits::GET_RECORDS_CALLS_PER_SEC as f64;
/// An on-demand stream's write capacity when it is created.
pub const ON_DEMAND_START_RECORDS_PER_S: f64 = 4000.0;
pub const ON_DEMAND_START_BYTES_PER_S: f64 = 4.0 * 1024.0 * 1024.0;

/// Distributions with more keys than this are treated as spread evenly (hashing them all
/// would take long and MD5 spreads that many keys within a fraction of a percent).
const MAX_HASHED_KEYS: u64 = 1_000_000;

/// What the stream must carry.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Records per second (the peak).
    pub rate: f64,
    /// Mean bytes per record counted against the limits: data plus partition key.
    pub record_bytes: f64,
    pub keys: KeyDist,
    /// Polling (GetRecords) consumers, each reading every shard.
    pub polling_consumers: u32,
    /// GetRecords calls per second each polling consumer makes per shard.
    pub polls_per_s: f64,
    /// Enhanced fan-out consumers (2 MiB/s per consumer per shard each).
    pub efo_consumers: u32,
    /// Spare capacity to keep, as a fraction (0.2 = 20%).
    pub headroom: f64,
}

/// Records/s and bytes/s.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Load {
    pub records_per_s: f64,
    pub bytes_per_s: f64,
}

/// One candidate shard count.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub shards: u32,
    pub average: Load,
    pub hottest: Load,
    /// Index of the hottest shard (0-based, as in `shardId-00000000000N`).
    pub hottest_shard: usize,
    /// The hottest shard's use of each limit, as a fraction: records, write bytes, read bytes
    /// (all polling consumers), GetRecords calls.
    pub write_records: f64,
    pub write_bytes: f64,
    pub read_bytes: f64,
    pub read_calls: f64,
    /// Whether the traffic's uses plus the headroom stay within 1, and the calls within the limit.
    pub fits: bool,
}

impl Candidate {
    /// The highest use of a limit by the traffic (records and bytes written and read).
    pub fn traffic_use(&self) -> f64 {
        self.write_records
            .max(self.write_bytes)
            .max(self.read_bytes)
    }
}

/// The calculator's answer.
#[derive(Debug, Clone)]
pub struct Sizing {
    pub candidates: Vec<Candidate>,
    /// The smallest shard count that fits, if any does.
    pub recommended: Option<u32>,
    /// The most frequent key's own load: a floor no shard count lowers.
    pub top_key: Load,
    /// Why no shard count fits, in plain words, with what to do instead.
    pub unfixable: Vec<String>,
}

/// Prices for the monthly estimate, in US dollars.
#[derive(Debug, Clone, PartialEq)]
pub struct Prices {
    /// Provisioned: per shard-hour.
    pub shard_hour: f64,
    /// Provisioned: per million PUT payload units (25 KiB each, per record rounded up).
    pub put_units_million: f64,
    /// On-demand: per stream-hour.
    pub on_demand_stream_hour: f64,
    /// On-demand: per GiB written (each record rounded up to 1 KiB).
    pub on_demand_gb_in: f64,
    /// On-demand: per GiB read, per consumer.
    pub on_demand_gb_out: f64,
}

/// Where the default prices come from (named in the output and in docs/sizing.md).
pub const PRICE_SOURCE: &str = "us-east-1 list prices published at aws.amazon.com/kinesis/data-streams/pricing as of 2024 (not re-checked from here: pass --price-* for current or other-region prices)";

impl Default for Prices {
    fn default() -> Self {
        Prices {
            shard_hour: 0.015,
            put_units_million: 0.014,
            on_demand_stream_hour: 0.04,
            on_demand_gb_in: 0.08,
            on_demand_gb_out: 0.04,
        }
    }
}

/// Hours in the month the estimate covers (AWS's pricing examples use 730).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// A month's cost in each capacity mode, in US dollars.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthlyCost {
    pub shard_hours: f64,
    pub put_units: f64,
    pub on_demand_stream: f64,
    pub on_demand_in: f64,
    pub on_demand_out: f64,
}

impl MonthlyCost {
    pub fn provisioned(&self) -> f64 {
        self.shard_hours + self.put_units
    }

    pub fn on_demand(&self) -> f64 {
        self.on_demand_stream + self.on_demand_in + self.on_demand_out
    }
}

impl Workload {
    /// The cost of carrying this workload for a month on `shards` provisioned shards, and on an
    /// on-demand stream; records taken at their mean size. Enhanced fan-out is not included.
    pub fn monthly_cost(&self, shards: u32, p: &Prices) -> MonthlyCost {
        let records = self.rate * 3600.0 * HOURS_PER_MONTH;
        let units_per_record = (self.record_bytes / (25.0 * 1024.0)).ceil().max(1.0);
        let gib = |kib_per_record: f64| records * kib_per_record / (1024.0 * 1024.0);
        let gib_in = gib((self.record_bytes / 1024.0).ceil().max(1.0));
        MonthlyCost {
            shard_hours: f64::from(shards) * HOURS_PER_MONTH * p.shard_hour,
            put_units: records * units_per_record / 1e6 * p.put_units_million,
            on_demand_stream: HOURS_PER_MONTH * p.on_demand_stream_hour,
            on_demand_in: gib_in * p.on_demand_gb_in,
            // reads are billed on the data read, not rounded per record
            on_demand_out: gib(self.record_bytes / 1024.0)
                * f64::from(self.polling_consumers)
                * p.on_demand_gb_out,
        }
    }
}

/// The keys of a distribution and their shares of the records; None when keys are spread evenly
/// over the hash-key space (a fresh key per record, explicit hash keys, or very many keys).
fn key_shares(keys: &KeyDist) -> Option<Vec<(u128, f64)>> {
    let numbered = |count: u64, share: &dyn Fn(u64) -> f64| -> Vec<(u128, f64)> {
        (0..count)
            .map(|i| (ShardMap::hash_key(&format!("k{i}")), share(i)))
            .collect()
    };
    match keys {
        KeyDist::Uniform { count } | KeyDist::Sequential { count } if *count <= MAX_HASHED_KEYS => {
            let p = 1.0 / *count as f64;
            Some(numbered(*count, &|_| p))
        }
        KeyDist::Zipf {
            count, exponent, ..
        } if *count <= MAX_HASHED_KEYS => {
            let weights: Vec<f64> = (1..=*count).map(|r| (r as f64).powf(-exponent)).collect();
            let total: f64 = weights.iter().sum();
            Some(numbered(*count, &|i| weights[i as usize] / total))
        }
        KeyDist::Hot { fraction, count } if *count <= MAX_HASHED_KEYS => {
            let rest = (1.0 - fraction) / *count as f64;
            let mut shares = numbered(*count, &|_| rest);
            shares.push((ShardMap::hash_key("hot"), *fraction));
            Some(shares)
        }
        _ => None,
    }
}

/// The share of records on each of `n` shards.
fn shard_shares(shares: Option<&[(u128, f64)]>, n: u32) -> Vec<f64> {
    match shares {
        None => vec![1.0 / f64::from(n); n as usize],
        Some(keys) => {
            let map = ShardMap::even(n);
            let mut per = vec![0.0; map.len()];
            for (hash, p) in keys {
                if let Some(i) = map.shard_of_hash(*hash) {
                    per[i] += p;
                }
            }
            per
        }
    }
}

impl Workload {
    fn candidate(&self, shares: Option<&[(u128, f64)]>, n: u32) -> Candidate {
        let per = shard_shares(shares, n);
        let (hottest_shard, hot) = per
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, 0.0));
        let load = |share: f64| Load {
            records_per_s: self.rate * share,
            bytes_per_s: self.rate * share * self.record_bytes,
        };
        let hottest = load(hot);
        let consumers = f64::from(self.polling_consumers);
        let c = Candidate {
            shards: n,
            average: load(1.0 / f64::from(n)),
            hottest,
            hottest_shard,
            write_records: hottest.records_per_s / SHARD_RECORDS_PER_S,
            write_bytes: hottest.bytes_per_s / SHARD_WRITE_BYTES_PER_S,
            read_bytes: hottest.bytes_per_s * consumers / SHARD_READ_BYTES_PER_S,
            read_calls: consumers * self.polls_per_s / SHARD_GET_CALLS_PER_S,
            fits: false,
        };
        // the headroom is for traffic; the consumers' call rate is configured, not variable
        Candidate {
            fits: c.traffic_use() * (1.0 + self.headroom) <= 1.0 && c.read_calls <= 1.0,
            ..c
        }
    }

    /// Sizes the stream: the recommendation and a table of candidates around it.
    pub fn size(&self) -> Sizing {
        let shares = key_shares(&self.keys);
        let shares = shares.as_deref();
        let top = self.keys.top_share();
        let top_key = Load {
            records_per_s: self.rate * top,
            bytes_per_s: self.rate * top * self.record_bytes,
        };
        let mut unfixable = Vec::new();
        let room = 1.0 / (1.0 + self.headroom);
        if top_key.records_per_s > SHARD_RECORDS_PER_S * room
            || top_key.bytes_per_s > SHARD_WRITE_BYTES_PER_S * room
        {
            unfixable.push(format!(
                "the most frequent partition key alone carries {:.0} records/s ({:.0} KiB/s), more than one shard takes with {:.0}% headroom (1,000 records/s, 1,024 KiB/s): no number of shards fixes this, because one key always lands on one shard; spread that key's records over more keys (e.g. append a suffix 0-9) or give them explicit hash keys",
                top_key.records_per_s,
                top_key.bytes_per_s / 1024.0,
                self.headroom * 100.0
            ));
        }
        let calls = f64::from(self.polling_consumers) * self.polls_per_s;
        if calls > SHARD_GET_CALLS_PER_S {
            unfixable.push(format!(
                "{} polling consumer(s) at {:.1} GetRecords calls/s each make {calls:.1} calls/s per shard, above the 5 calls/s every shard allows: more shards do not help; use enhanced fan-out consumers, or poll less often",
                self.polling_consumers, self.polls_per_s
            ));
        }
        // the average load gives a lower bound; the hottest shard decides
        let need = |per_shard: f64, total: f64| (total / (per_shard * room)).ceil();
        let avg_bound = need(SHARD_RECORDS_PER_S, self.rate)
            .max(need(SHARD_WRITE_BYTES_PER_S, self.rate * self.record_bytes))
            .max(need(
                SHARD_READ_BYTES_PER_S,
                self.rate * self.record_bytes * f64::from(self.polling_consumers),
            ))
            .clamp(1.0, f64::from(MAX_SHARDS)) as u32;
        let mut recommended = None;
        if unfixable.is_empty() {
            let mut n = avg_bound;
            while n <= MAX_SHARDS {
                if self.candidate(shares, n).fits {
                    recommended = Some(n);
                    break;
                }
                n += 1;
            }
            if recommended.is_none() {
                unfixable.push(format!(
                    "no stream of up to {MAX_SHARDS} shards carries this with the headroom asked for"
                ));
            }
        }
        let mut counts: Vec<u32> = vec![1, avg_bound];
        if let Some(r) = recommended {
            counts.extend([r.saturating_sub(1), r, r + 1, r * 2]);
        } else {
            counts.extend([avg_bound * 2, avg_bound * 4]);
        }
        let mut pow = 2;
        while pow < avg_bound {
            counts.push(pow);
            pow *= 2;
        }
        counts.retain(|&n| (1..=MAX_SHARDS).contains(&n));
        counts.sort_unstable();
        counts.dedup();
        // keep the table short: the smallest few, then the ones around the answer
        while counts.len() > 10 {
            counts.remove(1);
        }
        Sizing {
            candidates: counts.iter().map(|&n| self.candidate(shares, n)).collect(),
            recommended,
            top_key,
            unfixable,
        }
    }
}

impl Workload {
    /// A scenario's workload at `rate` records/s of `record_bytes` (data and key) each: its key
    /// distribution and its consumers (polling ones at their poll intervals, enhanced fan-out
    /// ones); no headroom.
    pub fn of_scenario(s: &Scenario, rate: f64, record_bytes: f64) -> Workload {
        let polling: Vec<f64> = s
            .consumers
            .iter()
            .filter(|c| c.kind == ConsumerKind::Polling)
            .map(|c| 1.0 / c.poll_interval().as_secs_f64().max(1e-3))
            .collect();
        Workload {
            rate,
            record_bytes,
            keys: s.records.keys.clone(),
            polling_consumers: polling.len() as u32,
            // the consumers' mean rate: the calls per shard come out as their sum
            polls_per_s: if polling.is_empty() {
                1.0
            } else {
                polling.iter().sum::<f64>() / polling.len() as f64
            },
            efo_consumers: s
                .consumers
                .iter()
                .filter(|c| c.kind == ConsumerKind::Efo)
                .count() as u32,
            headroom: 0.0,
        }
    }

    /// The highest rate `shards` shards carry with no headroom: the rate at which the hottest
    /// shard reaches its first traffic limit (records or bytes written, bytes read). Infinite
    /// when the workload carries no traffic.
    pub fn capacity(&self, shards: u32) -> f64 {
        let shares = key_shares(&self.keys);
        let used = self.candidate(shares.as_deref(), shards).traffic_use();
        if used > 0.0 {
            self.rate / used
        } else {
            f64::INFINITY
        }
    }
}

/// Mean bytes of a scenario's records as the limits count them, by sampling its distributions
/// with its seed: the partition key, and the data (None for payloads that size themselves:
/// JSON templates and replayed records).
pub fn mean_record_bytes(s: &Scenario) -> (f64, Option<f64>) {
    use rand::SeedableRng;
    const SAMPLES: u64 = 100_000;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(s.seed);
    let mut key = String::new();
    let key_bytes = (0..SAMPLES)
        .map(|i| {
            s.records.keys.sample_into(&mut rng, i, &mut key);
            key.len() as f64
        })
        .sum::<f64>()
        / SAMPLES as f64;
    let data_bytes = matches!(s.records.payload, Payload::Random).then(|| {
        (0..SAMPLES)
            .map(|_| s.records.size.sample(&mut rng) as f64)
            .sum::<f64>()
            / SAMPLES as f64
    });
    (key_bytes, data_bytes)
}

/// The calculator's answer for a terminal.
pub fn render(w: &Workload, s: &Sizing, keys: &str, prices: &Prices) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "kbench size: {:.0} records/s of {:.0} B (data + partition key, mean) = {:.1} KiB/s; {keys}",
        w.rate,
        w.record_bytes,
        w.rate * w.record_bytes / 1024.0
    );
    let _ = writeln!(
        out,
        "consumers: {} polling ({:.1} GetRecords/s per shard each), {} enhanced fan-out; headroom {:.0}%\n",
        w.polling_consumers,
        w.polls_per_s,
        w.efo_consumers,
        w.headroom * 100.0
    );
    let _ = writeln!(
        out,
        "{:>7} {:>10} {:>10} {:>13} {:>13} {:>9} {:>9} {:>9} {:>9}  fits",
        "shards",
        "avg rec/s",
        "avg KiB/s",
        "hottest rec/s",
        "hottest KiB/s",
        "records",
        "write B",
        "read B",
        "calls"
    );
    let pct = |v: f64| format!("{:.0}%", v * 100.0);
    for c in &s.candidates {
        let _ = writeln!(
            out,
            "{:>7} {:>10.1} {:>10.1} {:>13.1} {:>13.1} {:>9} {:>9} {:>9} {:>9}  {}",
            c.shards,
            c.average.records_per_s,
            c.average.bytes_per_s / 1024.0,
            c.hottest.records_per_s,
            c.hottest.bytes_per_s / 1024.0,
            pct(c.write_records),
            pct(c.write_bytes),
            pct(c.read_bytes),
            pct(c.read_calls),
            if c.fits { "yes" } else { "no" }
        );
    }
    let _ = writeln!(
        out,
        "(use of the hottest shard's limits: 1,000 records/s and 1 MiB/s written, 2 MiB/s read by all polling consumers, 5 GetRecords calls/s)"
    );
    match s.recommended {
        Some(n) => {
            let c = s.candidates.iter().find(|c| c.shards == n);
            let why = c.map_or(String::new(), |c| {
                let skew = if c.hottest.records_per_s > c.average.records_per_s * 1.05 {
                    format!(
                        "; the hottest shard ({}) gets {:.0}% more than the average, so the key spread, not the total, decides",
                        c.hottest_shard,
                        (c.hottest.records_per_s / c.average.records_per_s - 1.0) * 100.0
                    )
                } else {
                    String::new()
                };
                format!(
                    " (its hottest shard at {:.0}% of a limit{skew})",
                    c.traffic_use() * 100.0
                )
            });
            let _ = writeln!(out, "\nrecommended: {n} shards{why}");
        }
        None => {
            let _ = writeln!(out, "\nno shard count fits:");
            for u in &s.unfixable {
                let _ = writeln!(out, "  - {u}");
            }
        }
    }
    if s.top_key.records_per_s > 0.0 {
        let _ = writeln!(
            out,
            "most frequent key: {:.1} records/s, {:.1} KiB/s (one shard carries it whatever the shard count)",
            s.top_key.records_per_s,
            s.top_key.bytes_per_s / 1024.0
        );
    }
    let shards = s
        .recommended
        .or_else(|| s.candidates.last().map(|c| c.shards))
        .unwrap_or(1);
    let cost = w.monthly_cost(shards, prices);
    let _ = writeln!(
        out,
        "cost per month ({HOURS_PER_MONTH:.0} h): provisioned, {shards} shards: ${:.2} (shard-hours ${:.2} + PUT payload units ${:.2}); on-demand: ${:.2} (stream ${:.2} + data in ${:.2} + data out ${:.2}); enhanced fan-out not included\nprices: ${}/shard-hour, ${}/million PUT payload units; on-demand ${}/stream-hour, ${}/GiB in, ${}/GiB out: {}",
        cost.provisioned(),
        cost.shard_hours,
        cost.put_units,
        cost.on_demand(),
        cost.on_demand_stream,
        cost.on_demand_in,
        cost.on_demand_out,
        prices.shard_hour,
        prices.put_units_million,
        prices.on_demand_stream_hour,
        prices.on_demand_gb_in,
        prices.on_demand_gb_out,
        if *prices == Prices::default() {
            PRICE_SOURCE
        } else {
            "as given with --price-*"
        }
    );
    let bytes = w.rate * w.record_bytes;
    let fits_start =
        w.rate <= ON_DEMAND_START_RECORDS_PER_S && bytes <= ON_DEMAND_START_BYTES_PER_S;
    let _ = writeln!(
        out,
        "on-demand: a new on-demand stream takes 4,000 records/s and 4 MiB/s of writes; this workload {} ({:.0} records/s, {:.2} MiB/s). It then scales with traffic, but its shards keep the per-shard limits, so a hot key is throttled there too.",
        if fits_start {
            "fits from the start"
        } else {
            "is above that at first and is throttled until the stream has scaled"
        },
        w.rate,
        bytes / SHARD_WRITE_BYTES_PER_S
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(rate: f64, bytes: f64, keys: KeyDist) -> Workload {
        Workload {
            rate,
            record_bytes: bytes,
            keys,
            polling_consumers: 1,
            polls_per_s: 1.0,
            efo_consumers: 0,
            headroom: 0.2,
        }
    }

    #[test]
    fn monthly_cost_adds_up() {
        // 1,000 records/s of 1 KiB on 2 shards, one consumer
        let w = workload(1000.0, 1024.0, KeyDist::Unique);
        let c = w.monthly_cost(2, &Prices::default());
        let records = 1000.0 * 3600.0 * 730.0; // 2.628e9
        assert!((c.shard_hours - 2.0 * 730.0 * 0.015).abs() < 1e-9);
        assert!((c.put_units - records / 1e6 * 0.014).abs() < 1e-6);
        let gib = records / (1024.0 * 1024.0);
        assert!((c.on_demand_in - gib * 0.08).abs() < 1e-6);
        assert!((c.on_demand_out - gib * 0.04).abs() < 1e-6);
        assert!((c.on_demand_stream - 730.0 * 0.04).abs() < 1e-9);
        // a 30 KiB record is two PUT payload units and 30 KiB in
        let big =
            workload(1000.0, 30.0 * 1024.0, KeyDist::Unique).monthly_cost(2, &Prices::default());
        assert!((big.put_units - 2.0 * c.put_units).abs() < 1e-6);
        assert!((big.on_demand_in - 30.0 * c.on_demand_in).abs() < 1e-6);
    }

    #[test]
    fn many_even_keys_need_the_average_plus_headroom() {
        // 5,000 records/s of 100 B: 5 shards on average, 6 with 20% headroom
        let s = workload(5000.0, 100.0, KeyDist::Unique).size();
        assert_eq!(s.recommended, Some(6));
        assert!(s.unfixable.is_empty());
        let six = s
            .candidates
            .iter()
            .find(|c| c.shards == 6)
            .expect("6 listed");
        assert!((six.hottest.records_per_s - 5000.0 / 6.0).abs() < 1e-6);
        // 2 MiB/s of 4 KiB records: the byte limit decides (2 shards, 3 with headroom)
        let s = workload(512.0, 4096.0, KeyDist::Unique).size();
        assert_eq!(s.recommended, Some(3));
    }

    #[test]
    fn a_skewed_key_spread_needs_more_shards_than_the_average() {
        let table: toml::Table =
            toml::from_str("dist = \"zipf\"\ncount = 1000\nexponent = 1.0").expect("TOML");
        let zipf = KeyDist::from_toml(&toml::Value::Table(table)).expect("zipf");
        let s = workload(5000.0, 100.0, zipf).size();
        let avg = workload(5000.0, 100.0, KeyDist::Unique).size();
        let (r, even) = (s.recommended.expect("fits"), avg.recommended.expect("fits"));
        assert!(r > even, "zipf {r} shards, even keys {even}");
        let c = s.candidates.iter().find(|c| c.shards == r).expect("listed");
        assert!(c.hottest.records_per_s > c.average.records_per_s * 1.2);
        assert!(c.fits);
    }

    #[test]
    fn one_hot_key_over_a_shard_is_not_fixable_by_shards() {
        let hot = KeyDist::Hot {
            fraction: 0.5,
            count: 100,
        };
        let s = workload(4000.0, 100.0, hot).size();
        assert_eq!(s.recommended, None);
        assert!(s.unfixable[0].contains("no number of shards fixes this"));
        assert!((s.top_key.records_per_s - 2000.0).abs() < 1e-6);
    }

    #[test]
    fn too_many_polling_consumers_are_not_fixable_by_shards() {
        let mut w = workload(100.0, 100.0, KeyDist::Unique);
        w.polling_consumers = 6;
        let s = w.size();
        assert_eq!(s.recommended, None);
        assert!(
            s.unfixable[0].contains("enhanced fan-out"),
            "{:?}",
            s.unfixable
        );
    }
}
