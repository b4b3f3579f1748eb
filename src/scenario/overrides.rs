//! Changes the command line makes to a validated scenario: `run`'s and `sweep`'s flags.

use super::{Endpoint, Rate, Scenario};
use std::time::Duration;

/// How `--rate` changes the scenario's rates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateOverride {
    /// Multiply every rate.
    Factor(f64),
    /// Scale every rate so the highest is this many records per second.
    Peak(f64),
    /// Every phase at `rate = "max"`.
    Max,
}

impl RateOverride {
    /// Reads `--rate`: "max", a factor such as "2x", or a peak rate such as "5000".
    pub fn parse(s: &str) -> Result<RateOverride, String> {
        if s == "max" {
            return Ok(RateOverride::Max);
        }
        let (text, factor) = match s.strip_suffix('x') {
            Some(t) => (t, true),
            None => (s, false),
        };
        let v: f64 = text.parse().map_err(|_| {
            format!("`{s}` is not a rate; use e.g. 5000 (peak records/s), 2x (multiply) or max")
        })?;
        if !(v > 0.0 && v.is_finite()) {
            return Err(format!("`{s}`: rates must be greater than 0"));
        }
        Ok(if factor {
            RateOverride::Factor(v)
        } else {
            RateOverride::Peak(v)
        })
    }
}

/// What the flags set; `None` keeps the scenario's own value.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub endpoint: Option<Endpoint>,
    pub region: Option<String>,
    pub stream: Option<String>,
    pub seed: Option<u64>,
    pub shards: Option<u32>,
    /// Total duration: phases are scaled to add up to it.
    pub duration: Option<Duration>,
    pub rate: Option<RateOverride>,
}

impl Overrides {
    /// Applies the flags given to a validated scenario.
    pub fn apply(&self, mut s: Scenario) -> anyhow::Result<Scenario> {
        if let Some(e) = &self.endpoint {
            s.target.endpoint = e.clone();
        }
        if let Some(r) = &self.region {
            s.target.region = Some(r.clone());
        }
        if let Some(stream) = &self.stream {
            s.target.stream = stream.clone();
        }
        if let Some(seed) = self.seed {
            s.seed = seed;
        }
        if let Some(n) = self.shards {
            s.target.shards = n;
        }
        if let Some(total) = self.duration {
            let current: Duration = s.phase.iter().map(|p| p.duration).sum();
            let factor = total.as_secs_f64() / current.as_secs_f64();
            for p in &mut s.phase {
                p.duration = p.duration.mul_f64(factor);
            }
        }
        if let Some(rate) = self.rate {
            let peak = s.peak_rate();
            let factor = match rate {
                RateOverride::Max => f64::INFINITY,
                _ if peak == 0.0 => anyhow::bail!(
                    "--rate: every phase runs at rate = \"max\", so there is no rate to scale; leave --rate out"
                ),
                RateOverride::Factor(f) => f,
                RateOverride::Peak(r) => r / peak,
            };
            for p in &mut s.phase {
                p.rate = if factor.is_infinite() {
                    Rate::MAX
                } else {
                    Rate {
                        from: p.rate.from * factor,
                        to: p.rate.to * factor,
                    }
                };
            }
        }
        Ok(s)
    }
}
