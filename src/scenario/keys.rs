//! Partition-key distributions as a scenario describes them: which keys records get, and how
//! often each.
//!
//! Each distribution is parsed and checked from its `keys = { dist = "...", ... }` table here;
//! the workload samples keys from it (`workload::keys`).

use super::{check_table_keys, suggest};
use serde::Serialize;

/// A validated key distribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "dist", rename_all = "snake_case")]
pub enum KeyDist {
    /// Keys `k0`..`k{count-1}`, each equally likely.
    Uniform { count: u64 },
    /// Keys `k0`..`k{count-1}`, key of rank r (from 1) with probability proportional to r^-exponent.
    Zipf {
        count: u64,
        exponent: f64,
        /// Made once when the scenario is checked (which checks the parameters); the workload
        /// draws ranks from it.
        #[serde(skip)]
        sampler: rand_distr::Zipf<f64>,
    },
    /// A share `fraction` of records on the key `hot`, the rest uniform over `k0`..`k{count-1}`.
    Hot { fraction: f64, count: u64 },
    /// `k0`, `k1`, ... in record order, wrapping after `count` keys.
    Sequential { count: u64 },
    /// A fresh key for every record (`u` + its sequence number).
    Unique,
    /// Records spread round-robin over the stream's shards with explicit hash keys (the middle
    /// of each shard's range), for a perfectly balanced baseline; partition keys `s0`, `s1`, ...
    /// name the target shard.
    EvenShards,
}

impl Default for KeyDist {
    fn default() -> Self {
        KeyDist::Uniform { count: 1000 }
    }
}

/// Every distribution name, for messages.
const KNOWN: &[&str] = &[
    "uniform",
    "zipf",
    "hot",
    "sequential",
    "unique",
    "even_shards",
];

impl KeyDist {
    /// Reads `keys = { dist = "...", ... }` (or a bare integer N, short for uniform over N keys).
    pub fn from_toml(value: &toml::Value) -> Result<Self, String> {
        if let toml::Value::Integer(n) = value {
            return Ok(KeyDist::Uniform {
                count: count_of(*n)?,
            });
        }
        let table = value.as_table().ok_or(
            "expected a table such as { dist = \"uniform\", count = 1000 } or a key count",
        )?;
        let dist = table
            .get("dist")
            .and_then(|d| d.as_str())
            .ok_or("missing `dist`: say which distribution, e.g. dist = \"uniform\"")?;
        let count = || -> Result<u64, String> {
            match table.get("count") {
                None => Ok(1000),
                Some(c) => count_of(c.as_integer().ok_or("`count` must be an integer")?),
            }
        };
        let number = |key: &str| -> Result<Option<f64>, String> {
            match table.get(key) {
                None => Ok(None),
                Some(toml::Value::Float(f)) => Ok(Some(*f)),
                Some(toml::Value::Integer(i)) => Ok(Some(*i as f64)),
                Some(_) => Err(format!("`{key}` must be a number")),
            }
        };
        let check = |known: &[&str]| check_table_keys(table, known);
        match dist {
            "uniform" => {
                check(&["dist", "count"])?;
                Ok(KeyDist::Uniform { count: count()? })
            }
            "zipf" => {
                check(&["dist", "count", "exponent"])?;
                let count = count()?;
                let exponent = number("exponent")?.unwrap_or(1.0);
                if !(exponent > 0.0 && exponent.is_finite()) {
                    return Err(format!(
                        "`exponent` = {exponent}: a Zipf exponent must be greater than 0 (1.0 is the classic skew)"
                    ));
                }
                let sampler = rand_distr::Zipf::new(count as f64, exponent)
                    .map_err(|e| format!("invalid Zipf parameters: {e}"))?;
                Ok(KeyDist::Zipf {
                    count,
                    exponent,
                    sampler,
                })
            }
            "hot" => {
                check(&["dist", "count", "fraction"])?;
                let fraction = number("fraction")?.ok_or(
                    "a hot key needs `fraction`, the share of records on it, e.g. fraction = 0.5",
                )?;
                if !(0.0..=1.0).contains(&fraction) {
                    return Err(format!("`fraction` = {fraction}: use a share from 0 to 1"));
                }
                Ok(KeyDist::Hot {
                    fraction,
                    count: count()?,
                })
            }
            "sequential" => {
                check(&["dist", "count"])?;
                Ok(KeyDist::Sequential { count: count()? })
            }
            "unique" => {
                check(&["dist"])?;
                Ok(KeyDist::Unique)
            }
            "even_shards" => {
                check(&["dist"])?;
                Ok(KeyDist::EvenShards)
            }
            other => Err(format!(
                "unknown key distribution `{other}`{}; known: {}",
                suggest(other, KNOWN),
                KNOWN.join(", ")
            )),
        }
    }

    /// Longest key this distribution can produce, in bytes (for the record-size limit).
    pub fn max_key_len(&self) -> usize {
        let numbered = |count: u64| format!("k{}", count.saturating_sub(1)).len();
        match self {
            KeyDist::Uniform { count }
            | KeyDist::Zipf { count, .. }
            | KeyDist::Sequential { count } => numbered(*count),
            KeyDist::Hot { count, .. } => numbered(*count).max("hot".len()),
            KeyDist::Unique => format!("u{}", u64::MAX).len(),
            KeyDist::EvenShards => format!("s{}", u64::MAX).len(),
        }
    }

    /// Share of records on the most frequent key (what one shard must absorb at least).
    pub fn top_share(&self) -> f64 {
        match self {
            KeyDist::Uniform { count } | KeyDist::Sequential { count } => 1.0 / *count as f64,
            KeyDist::Zipf {
                count, exponent, ..
            } => 1.0 / harmonic(*count, *exponent),
            KeyDist::Hot { fraction, count } => fraction.max((1.0 - fraction) / *count as f64),
            KeyDist::Unique | KeyDist::EvenShards => 0.0,
        }
    }
}

fn count_of(count: i64) -> Result<u64, String> {
    if count < 1 {
        return Err(format!(
            "`count` = {count}: there must be at least one key; use count = 1 or more"
        ));
    }
    Ok(count as u64)
}

/// Generalised harmonic number H(n, s) = sum of k^-s for k = 1..n (the tail past a million
/// terms by its integral, which is accurate to far better than a percent there).
pub(crate) fn harmonic(n: u64, s: f64) -> f64 {
    const EXACT: u64 = 1_000_000;
    let exact: f64 = (1..=n.min(EXACT)).map(|k| (k as f64).powf(-s)).sum();
    if n <= EXACT {
        return exact;
    }
    let (a, b) = (EXACT as f64 + 0.5, n as f64 + 0.5);
    let tail = if (s - 1.0).abs() < 1e-12 {
        (b / a).ln()
    } else {
        (b.powf(1.0 - s) - a.powf(1.0 - s)) / (1.0 - s)
    };
    exact + tail
}

#[cfg(test)]
mod tests;
