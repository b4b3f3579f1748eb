//! Partition-key distributions: how each record's key is chosen.
//!
//! Each distribution is parsed from its `keys = { dist = "...", ... }` table here and sampled
//! with the run's seeded RNG, so adding a distribution touches only this file.

use rand::Rng;
use serde::Serialize;

/// A validated key distribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "dist", rename_all = "snake_case")]
pub enum KeyDist {
    /// Keys `k0`..`k{count-1}`, each equally likely.
    Uniform { count: u64 },
}

impl Default for KeyDist {
    fn default() -> Self {
        KeyDist::Uniform { count: 1000 }
    }
}

impl KeyDist {
    /// Reads `keys = { dist = "uniform", count = N }` (or a bare integer N, short for uniform).
    pub fn from_toml(value: &toml::Value) -> Result<Self, String> {
        if let toml::Value::Integer(n) = value {
            return uniform(*n);
        }
        let table = value.as_table().ok_or(
            "expected a table such as { dist = \"uniform\", count = 1000 } or a key count",
        )?;
        let dist = table
            .get("dist")
            .and_then(|d| d.as_str())
            .ok_or("missing `dist`: say which distribution, e.g. dist = \"uniform\"")?;
        match dist {
            "uniform" => {
                crate::scenario::check_table_keys(table, &["dist", "count"])?;
                let count = table
                    .get("count")
                    .map(|c| c.as_integer().ok_or("`count` must be an integer"))
                    .transpose()?
                    .unwrap_or(1000);
                uniform(count)
            }
            other => Err(format!(
                "unknown key distribution `{other}`{}; known: uniform",
                crate::scenario::suggest(other, &["uniform"])
            )),
        }
    }

    /// Longest key this distribution can produce, in bytes (for the record-size limit).
    pub fn max_key_len(&self) -> usize {
        match self {
            KeyDist::Uniform { count } => format!("k{}", count.saturating_sub(1)).len(),
        }
    }

    /// Writes the next key into `out` (cleared first), so a caller can reuse the buffer.
    pub fn sample_into<R: Rng>(&self, rng: &mut R, out: &mut String) {
        use std::fmt::Write;
        out.clear();
        match self {
            KeyDist::Uniform { count } => {
                let k = rng.random_range(0..*count);
                let _ = write!(out, "k{k}");
            }
        }
    }
}

fn uniform(count: i64) -> Result<KeyDist, String> {
    if count < 1 {
        return Err(format!(
            "`count` = {count}: there must be at least one key; use count = 1 or more"
        ));
    }
    Ok(KeyDist::Uniform {
        count: count as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    #[test]
    fn uniform_covers_all_keys_evenly() {
        let dist = KeyDist::from_toml(&toml::Value::Integer(10)).unwrap();
        let mut rng = SmallRng::seed_from_u64(1);
        let mut counts = std::collections::HashMap::new();
        let mut key = String::new();
        for _ in 0..10_000 {
            dist.sample_into(&mut rng, &mut key);
            *counts.entry(key.clone()).or_insert(0u32) += 1;
        }
        assert_eq!(counts.len(), 10);
        // each key expects 1000; 5 standard deviations is about 150
        assert!(
            counts.values().all(|&c| (850..=1150).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn bad_tables_are_explained() {
        let bad: toml::Value = toml::from_str("k = { dist = \"unifrom\" }").unwrap();
        let err = KeyDist::from_toml(&bad["k"]).unwrap_err();
        assert!(err.contains("did you mean `uniform`"), "{err}");
        assert!(KeyDist::from_toml(&toml::Value::Integer(0)).is_err());
    }
}
