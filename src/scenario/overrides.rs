//! Changes the command line makes to a validated scenario: `run`'s and `sweep`'s flags.

use super::units::thousands;
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
    /// What the flags may not mean as given, one line each, for the scenario before they apply:
    /// a `--rate N` (a peak rate) that slows the scenario more than tenfold was likely meant
    /// as `--rate Nx`.
    pub fn warnings(&self, s: &Scenario) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Some(RateOverride::Peak(r)) = self.rate {
            let peak = s.peak_rate();
            if peak > 0.0 && r * 10.0 < peak {
                let times = if r == 2.0 {
                    "twice".to_string()
                } else {
                    format!("{r} times")
                };
                warnings.push(format!(
                    "--rate {r} sets the peak rate to {r} records/s, 1/{} of the scenario's {}; for {times} the scenario's rates write --rate {r}x",
                    (peak / r).round() as u64,
                    records_per_sec(peak)
                ));
            }
        }
        warnings
    }

    /// Applies the flags given to a validated scenario.
    pub fn apply(&self, mut s: Scenario) -> anyhow::Result<Scenario> {
        if let Some(e) = &self.endpoint {
            s.target.endpoint = e.clone();
            if s.target.faults.is_some() && *e != Endpoint::Embedded {
                anyhow::bail!(
                    "--endpoint {e}: the scenario has [target.faults], which only the embedded endpoint injects; leave --endpoint out, or serve the faults with `kbench serve --faults FILE` and point --endpoint at it"
                );
            }
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

/// A rate as the scenario would write it: whole records/s with thousands separated, else as is.
fn records_per_sec(rate: f64) -> String {
    if rate.fract() == 0.0 && rate < u64::MAX as f64 {
        thousands(rate as u64)
    } else {
        format!("{rate}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(rate: &str) -> Scenario {
        crate::scenario::parse(
            &format!("[[phase]]\nduration = \"1s\"\nrate = {rate}\n"),
            "t.toml",
            "t",
        )
        .expect("valid")
    }

    fn rate(text: &str) -> Overrides {
        Overrides {
            rate: Some(RateOverride::parse(text).expect("a rate")),
            ..Overrides::default()
        }
    }

    #[test]
    fn a_peak_rate_far_below_the_scenarios_warns_with_both_readings() {
        let s = scenario("3000");
        assert_eq!(
            rate("2").warnings(&s),
            vec!["--rate 2 sets the peak rate to 2 records/s, 1/1500 of the scenario's 3,000; for twice the scenario's rates write --rate 2x".to_string()]
        );
        assert_eq!(
            rate("3").warnings(&scenario("{ from = 100, to = 1000.5 }")),
            vec!["--rate 3 sets the peak rate to 3 records/s, 1/334 of the scenario's 1000.5; for 3 times the scenario's rates write --rate 3x".to_string()]
        );
        // a tenth or more of the scenario's peak, a factor, max, or no rate at all: no warning
        for text in ["300", "5000", "2x", "0.01x", "max"] {
            assert!(rate(text).warnings(&s).is_empty(), "{text}");
        }
        assert!(Overrides::default().warnings(&s).is_empty());
        assert!(rate("2").warnings(&scenario("\"max\"")).is_empty());
    }
}
