//! Record-size distributions as a scenario describes them: how many bytes of data records
//! carry (stamp included), parsed and checked from `size = ...`.
//!
//! Continuous distributions are rounded to whole bytes and clamped to `[min, max]`; `min`
//! defaults to the stamp's size and `max` to the largest record any partition key allows. The
//! workload draws sizes from them (`workload::sizes`).

use super::limits::{MAX_PARTITION_KEY_CHARS, MAX_RECORD_BYTES, STAMP_LEN};
use super::{check_table_keys, suggest, units};
use serde::Serialize;

/// Default lower clamp: the stamp must fit.
const DEFAULT_MIN: u64 = STAMP_LEN as u64;
/// Default upper clamp: 1 MiB less the longest partition key.
const DEFAULT_MAX: u64 = MAX_RECORD_BYTES - MAX_PARTITION_KEY_CHARS as u64;

/// A validated size distribution; sizes are data bytes including kbench's stamp.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "dist", rename_all = "snake_case")]
pub enum SizeDist {
    /// Every record has the same size.
    Fixed {
        #[serde(serialize_with = "units::ser::size")]
        value: u64,
    },
    /// Every size from `min` to `max` equally likely.
    Uniform {
        #[serde(serialize_with = "units::ser::size")]
        min: u64,
        #[serde(serialize_with = "units::ser::size")]
        max: u64,
    },
    /// Normal around `mean` with standard deviation `stddev`, clamped.
    Normal {
        #[serde(serialize_with = "units::ser::size")]
        mean: u64,
        #[serde(serialize_with = "units::ser::size")]
        stddev: u64,
        #[serde(serialize_with = "units::ser::size")]
        min: u64,
        #[serde(serialize_with = "units::ser::size")]
        max: u64,
        /// Made once when the scenario is checked; the workload draws from it.
        #[serde(skip)]
        sampler: rand_distr::Normal<f64>,
    },
    /// Log-normal with the given `median` and `sigma` (of the underlying normal), clamped.
    Lognormal {
        #[serde(serialize_with = "units::ser::size")]
        median: u64,
        sigma: f64,
        #[serde(serialize_with = "units::ser::size")]
        min: u64,
        #[serde(serialize_with = "units::ser::size")]
        max: u64,
        /// Made once when the scenario is checked; the workload draws from it.
        #[serde(skip)]
        sampler: rand_distr::LogNormal<f64>,
    },
    /// Pareto (long tail) from `scale` up with tail index `shape`, clamped.
    Pareto {
        #[serde(serialize_with = "units::ser::size")]
        scale: u64,
        shape: f64,
        #[serde(serialize_with = "units::ser::size")]
        min: u64,
        #[serde(serialize_with = "units::ser::size")]
        max: u64,
        /// Made once when the scenario is checked; the workload draws from it.
        #[serde(skip)]
        sampler: rand_distr::Pareto<f64>,
    },
    /// An empirical table of `[size, weight]` pairs.
    Empirical {
        table: Vec<(u64, f64)>,
        /// The rows' weights, made once when the scenario is checked; the workload draws a
        /// row from it.
        #[serde(skip)]
        index: rand::distr::weighted::WeightedIndex<f64>,
    },
}

impl Default for SizeDist {
    fn default() -> Self {
        SizeDist::Fixed { value: 1024 }
    }
}

const KNOWN: &[&str] = &[
    "fixed",
    "uniform",
    "normal",
    "lognormal",
    "pareto",
    "empirical",
];

impl SizeDist {
    /// Reads `size = "1KiB"`, `size = 1024` or `size = { dist = "...", ... }`.
    pub fn from_toml(value: &toml::Value) -> Result<Self, String> {
        let table = match value {
            toml::Value::String(_) | toml::Value::Integer(_) => {
                return Ok(SizeDist::Fixed { value: size_of(value)? });
            }
            toml::Value::Table(table) => table,
            _ => return Err("expected a size such as \"1KiB\" or a table such as { dist = \"lognormal\", median = \"1KiB\", sigma = 0.5 }".into()),
        };
        let dist = table
            .get("dist")
            .and_then(|d| d.as_str())
            .ok_or("missing `dist`: say which distribution, e.g. dist = \"fixed\"")?;
        let check = |known: &[&str]| check_table_keys(table, known);
        let size = |key: &str| -> Result<u64, String> {
            size_of(
                table
                    .get(key)
                    .ok_or_else(|| format!("missing `{key}` for dist = \"{dist}\""))?,
            )
            .map_err(|e| format!("`{key}`: {e}"))
        };
        let opt_size = |key: &str, default: u64| -> Result<u64, String> {
            table.get(key).map_or(Ok(default), |v| {
                size_of(v).map_err(|e| format!("`{key}`: {e}"))
            })
        };
        let positive = |key: &str| -> Result<f64, String> {
            let v = match table.get(key) {
                Some(toml::Value::Float(f)) => *f,
                Some(toml::Value::Integer(i)) => *i as f64,
                Some(_) => return Err(format!("`{key}` must be a number")),
                None => return Err(format!("missing `{key}` for dist = \"{dist}\"")),
            };
            if v > 0.0 && v.is_finite() {
                Ok(v)
            } else {
                Err(format!("`{key}` = {v}: it must be greater than 0"))
            }
        };
        let clamps = || -> Result<(u64, u64), String> {
            ordered(opt_size("min", DEFAULT_MIN)?, opt_size("max", DEFAULT_MAX)?)
        };
        let dist = match dist {
            "fixed" => {
                check(&["dist", "value"])?;
                SizeDist::Fixed {
                    value: size("value")?,
                }
            }
            "uniform" => {
                check(&["dist", "min", "max"])?;
                let (min, max) = ordered(size("min")?, size("max")?)?;
                SizeDist::Uniform { min, max }
            }
            "normal" => {
                check(&["dist", "mean", "stddev", "min", "max"])?;
                let (mean, stddev) = (size("mean")?, size("stddev")?);
                let (min, max) = clamps()?;
                let sampler = rand_distr::Normal::new(mean as f64, stddev as f64)
                    .map_err(|e| format!("{e}"))?;
                SizeDist::Normal {
                    mean,
                    stddev,
                    min,
                    max,
                    sampler,
                }
            }
            "lognormal" => {
                check(&["dist", "median", "sigma", "min", "max"])?;
                let median = size("median")?;
                if median == 0 {
                    return Err("`median` must be more than 0 bytes".into());
                }
                let sigma = positive("sigma")?;
                let (min, max) = clamps()?;
                let sampler = rand_distr::LogNormal::new((median as f64).ln(), sigma)
                    .map_err(|e| format!("{e}"))?;
                SizeDist::Lognormal {
                    median,
                    sigma,
                    min,
                    max,
                    sampler,
                }
            }
            "pareto" => {
                check(&["dist", "scale", "shape", "min", "max"])?;
                let scale = size("scale")?;
                if scale == 0 {
                    return Err("`scale` (the smallest size) must be more than 0 bytes".into());
                }
                let shape = positive("shape")?;
                let (min, max) = clamps()?;
                let sampler =
                    rand_distr::Pareto::new(scale as f64, shape).map_err(|e| format!("{e}"))?;
                SizeDist::Pareto {
                    scale,
                    shape,
                    min,
                    max,
                    sampler,
                }
            }
            "empirical" => {
                check(&["dist", "table"])?;
                let rows = table
                    .get("table")
                    .and_then(|t| t.as_array())
                    .ok_or("missing `table`: a list of [size, weight] pairs, e.g. table = [[\"100B\", 3], [\"10KiB\", 1]]")?;
                let mut pairs = Vec::new();
                for (i, row) in rows.iter().enumerate() {
                    let pair = row
                        .as_array()
                        .filter(|p| p.len() == 2)
                        .ok_or_else(|| format!("table row {}: expected [size, weight]", i + 1))?;
                    let size =
                        size_of(&pair[0]).map_err(|e| format!("table row {}: {e}", i + 1))?;
                    let weight = match &pair[1] {
                        toml::Value::Integer(w) => *w as f64,
                        toml::Value::Float(w) => *w,
                        _ => {
                            return Err(format!(
                                "table row {}: the weight must be a number",
                                i + 1
                            ));
                        }
                    };
                    if !(weight >= 0.0 && weight.is_finite()) {
                        return Err(format!(
                            "table row {}: weight {weight} must be 0 or more",
                            i + 1
                        ));
                    }
                    pairs.push((size, weight));
                }
                if !pairs.iter().map(|p| p.1).sum::<f64>().is_finite() {
                    return Err(
                        "the table's weights add up past the largest number; scale them down"
                            .into(),
                    );
                }
                let index = rand::distr::weighted::WeightedIndex::new(pairs.iter().map(|p| p.1))
                    .map_err(|_| {
                        "the table needs at least one row with a weight above 0".to_string()
                    })?;
                SizeDist::Empirical {
                    table: pairs,
                    index,
                }
            }
            other => {
                return Err(format!(
                    "unknown size distribution `{other}`{}; known: {}",
                    suggest(other, KNOWN),
                    KNOWN.join(", ")
                ));
            }
        };
        Ok(dist)
    }

    /// Smallest size this distribution can produce.
    pub fn min(&self) -> u64 {
        match self {
            SizeDist::Fixed { value } => *value,
            SizeDist::Uniform { min, .. }
            | SizeDist::Normal { min, .. }
            | SizeDist::Lognormal { min, .. }
            | SizeDist::Pareto { min, .. } => *min,
            SizeDist::Empirical { table, .. } => table
                .iter()
                .filter(|r| r.1 > 0.0)
                .map(|r| r.0)
                .min()
                .unwrap_or(0),
        }
    }

    /// Largest size this distribution can produce.
    pub fn max(&self) -> u64 {
        match self {
            SizeDist::Fixed { value } => *value,
            SizeDist::Uniform { max, .. }
            | SizeDist::Normal { max, .. }
            | SizeDist::Lognormal { max, .. }
            | SizeDist::Pareto { max, .. } => *max,
            SizeDist::Empirical { table, .. } => table
                .iter()
                .filter(|r| r.1 > 0.0)
                .map(|r| r.0)
                .max()
                .unwrap_or(0),
        }
    }
}

/// `(min, max)`, or an error when they are the wrong way round.
fn ordered(min: u64, max: u64) -> Result<(u64, u64), String> {
    if min > max {
        return Err(format!(
            "`min` ({min} bytes) is above `max` ({max} bytes); swap them"
        ));
    }
    Ok((min, max))
}

/// Reads one size value: a string with units or an integer number of bytes.
fn size_of(value: &toml::Value) -> Result<u64, String> {
    match value {
        toml::Value::String(s) => units::parse_size(s),
        toml::Value::Integer(n) if *n >= 0 => Ok(*n as u64),
        toml::Value::Integer(n) => Err(format!("{n} is negative; sizes are 0 bytes or more")),
        _ => Err("expected a size such as \"1KiB\" or a number of bytes".into()),
    }
}

#[cfg(test)]
mod tests;
