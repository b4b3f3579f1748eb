//! Changes the command line makes to a validated scenario: `run`'s and `sweep`'s flags.

use super::units::{format_duration, thousands};
use super::validate::{check_rate, show_number};
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
            // what the factor makes of each phase's rate is checked when it is applied
            RateOverride::Factor(v)
        } else {
            // the same bounds as a phase's `rate` in the file
            RateOverride::Peak(check_rate(v, "the peak rate")?)
        })
    }
}

impl std::fmt::Display for RateOverride {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RateOverride::Factor(x) => write!(f, "{}x", show_number(*x)),
            RateOverride::Peak(r) => f.write_str(&show_number(*r)),
            RateOverride::Max => f.write_str("max"),
        }
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
        let mut warnings = self.silenced_phases(s);
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

    /// A line for each phase that offers records as written but none once `--duration` and
    /// `--rate` scale it (when every phase would offer none, [`Overrides::apply`] fails).
    fn silenced_phases(&self, s: &Scenario) -> Vec<String> {
        let Ok(scaled) = self.apply(s.clone()) else {
            return Vec::new();
        };
        s.phase
            .iter()
            .zip(&scaled.phase)
            .enumerate()
            .filter(|(_, (before, _))| before.offers_no_record().is_none())
            .filter_map(|(i, (_, after))| {
                after.offers_no_record().map(|why| {
                    format!(
                        "{}: phase[{}] `{}` offers no record: {why}; give a longer --duration or a higher --rate",
                        self.scaling_flags(),
                        i + 1,
                        after.name
                    )
                })
            })
            .collect()
    }

    /// `--duration 2s` and/or `--rate 2x`, as given.
    fn scaling_flags(&self) -> String {
        let mut flags = Vec::new();
        if let Some(d) = self.duration {
            flags.push(format!("--duration {}", format_duration(d)));
        }
        if let Some(r) = self.rate {
            flags.push(format!("--rate {r}"));
        }
        flags.join(" ")
    }

    /// Applies the flags given to a validated scenario. What `--duration` and `--rate` make of
    /// the phases is checked as the file's phases are: every phase longer than 0s, every rate
    /// within the bounds of `rate`, and some record offered.
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
            if !current.is_zero() {
                // each phase is at most the total, itself at most the longest duration allowed
                let factor = total.as_secs_f64() / current.as_secs_f64();
                for (i, p) in s.phase.iter_mut().enumerate() {
                    p.duration = p.duration.mul_f64(factor).min(total);
                    if p.duration.is_zero() {
                        anyhow::bail!(
                            "--duration {}: phase[{}] `{}` would last 0s; give a longer --duration",
                            format_duration(total),
                            i + 1,
                            p.name
                        );
                    }
                }
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
            for (i, p) in s.phase.iter_mut().enumerate() {
                p.rate = if factor.is_infinite() {
                    Rate::MAX
                } else {
                    let what = format!("phase[{}] `{}`'s rate", i + 1, p.name);
                    let scaled = |r: f64| {
                        check_rate(r * factor, &what)
                            .map_err(|e| anyhow::anyhow!("--rate {rate}: {e}; give a lower --rate"))
                    };
                    Rate {
                        from: scaled(p.rate.from)?,
                        to: scaled(p.rate.to)?,
                    }
                };
            }
        }
        if let Some(why) = s
            .phase
            .iter()
            .map(|p| p.offers_no_record())
            .collect::<Option<Vec<_>>>()
            && !why.is_empty()
        {
            anyhow::bail!(
                "{}: no phase offers a record ({}), so the run would send nothing; give a longer --duration or a higher --rate",
                self.scaling_flags(),
                why.first().map_or("", |w| w.as_str())
            );
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

    fn scaled(text: &str, flags: Overrides) -> anyhow::Result<Scenario> {
        flags.apply(scenario(text))
    }

    /// A phase `slow` of `first` at 1 record/s, then 10s at 1,000.
    fn slow_then_fast(first: &str) -> Scenario {
        crate::scenario::parse(
            &format!("[[phase]]\nname = \"slow\"\nduration = \"{first}\"\nrate = 1\n[[phase]]\nduration = \"10s\"\nrate = 1000\n"),
            "t.toml",
            "t",
        )
        .expect("valid")
    }

    fn total(d: Duration) -> Overrides {
        Overrides {
            duration: Some(d),
            ..Overrides::default()
        }
    }

    /// `--rate 1e308` scheduled u64::MAX records and `--rate 1e9x` four trillion: the flag gets
    /// the bounds of a file's `rate`.
    #[test]
    fn the_rate_flag_cannot_bypass_the_rate_limit() {
        for text in ["1e308", "10000001", "inf"] {
            let e = RateOverride::parse(text).expect_err(text);
            assert!(
                e.contains("at most 10000000 records per second") || e.contains("greater than 0"),
                "{text}: {e}"
            );
        }
        assert_eq!(
            RateOverride::parse("1e308").unwrap_err(),
            "the peak rate is 1e308; kbench offers at most 10000000 records per second"
        );
        let e = scaled("1000", rate("1e9x")).expect_err("too fast");
        assert_eq!(
            e.to_string(),
            "--rate 1000000000x: phase[1] `phase-1`'s rate is 1000000000000; kbench offers at most 10000000 records per second; give a lower --rate"
        );
        let e = scaled("{ from = 10, to = 1000 }", rate("1e-320x")).expect_err("underflow");
        assert!(e.to_string().starts_with("--rate 1e-320x: "), "{e}");
        // within the bounds: applied
        let s = scaled("1000", rate("10000x")).expect("10 million records/s");
        assert_eq!(s.phase[0].rate.from, 10_000_000.0);
    }

    /// 20,000 phases scaled by `--duration` each offered 0.1 of a record: the run scheduled
    /// nothing and said nothing.
    #[test]
    fn phases_scaled_below_one_record_are_reported() {
        let two = slow_then_fast("10s");
        let flags = total(Duration::from_millis(20));
        assert_eq!(
            flags.warnings(&two),
            vec!["--duration 20ms: phase[1] `slow` offers no record: 10ms at 1 records/s makes 0.01 of a record, which rounds to none; give a longer --duration or a higher --rate".to_string()]
        );
        assert_eq!(
            flags
                .apply(two.clone())
                .expect("one phase still sends")
                .phase[1]
                .planned(),
            10
        );
        // every phase below one record: nothing would be sent, an error
        let e = total(Duration::from_micros(800))
            .apply(two.clone())
            .expect_err("nothing to send");
        assert!(
            e.to_string()
                .starts_with("--duration 800us: no phase offers a record (400us at 1 records/s"),
            "{e}"
        );
        let e = scaled("1000", rate("0.0001x")).expect_err("nothing to send");
        assert!(
            e.to_string()
                .starts_with("--rate 0.0001x: no phase offers a record"),
            "{e}"
        );
        // a phase scaled to nothing at all
        let e = total(Duration::from_micros(1))
            .apply(slow_then_fast("1ms"))
            .expect_err("0s phases");
        assert_eq!(
            e.to_string(),
            "--duration 1us: phase[1] `slow` would last 0s; give a longer --duration"
        );
    }
}
