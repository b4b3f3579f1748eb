//! Comparing two runs: a baseline (A) and a later run (B). Per API variant and phase: achieved
//! throughput, put and end-to-end percentiles, throttling and loss, with the change in percent
//! and a verdict against the regression thresholds (`--max-regression`).
//!
//! Noise: a latency only regresses when the difference is wider than the histogram's bucket at
//! that value (HdrHistogram, 3 significant digits) as well as beyond the threshold.

use super::summary::ms;
use super::{
    ConsumerPhase, ConsumerSummary, LatencySummary, PhaseSummary, RunSummary, VariantSummary,
};
use crate::metrics::histogram::Latency;
use std::fmt::Write;
use std::time::Duration;

/// Differences in throttled_pct up to this many percentage points are noise (a few throttled
/// attempts in a run that touches the shard limits), whatever the relative change.
const PERCENT_POINTS_RESOLUTION: f64 = 0.1;

/// How the verdict line (the last line of the table and of baseline.txt) starts on a regression.
pub const REGRESSED: &str = "regressed:";

/// The threshold when `--max-regression` gives none, in percent.
pub const DEFAULT_MAX_REGRESSION: f64 = 10.0;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// records/s; higher is better
    Rate,
    /// milliseconds; lower is better
    Latency,
    /// a percentage; lower is better
    Percent,
    /// a count; lower is better
    Count,
}

struct Metric {
    name: &'static str,
    kind: Kind,
    /// Whether the `--max-regression` for every metric applies. Tail figures beyond p99 rest on
    /// a handful of records (the maximum on one) and move by a third from run to run on the
    /// same machine, so they are gated only when named.
    gated: bool,
    /// None when the run did not measure it (no consumer, no records).
    value: fn(&VariantSummary, &PhaseSummary) -> Option<f64>,
}

fn latency(l: &LatencySummary, v: f64) -> Option<f64> {
    (l.count > 0).then_some(v)
}

const METRICS: &[Metric] = &[
    Metric {
        name: "achieved_rps",
        gated: true,
        kind: Kind::Rate,
        value: |_, p| (p.offered_rps > 0.0).then_some(p.achieved_rps),
    },
    Metric {
        name: "put_p50",
        gated: true,
        kind: Kind::Latency,
        value: |_, p| latency(&p.put, p.put.p50_ms),
    },
    Metric {
        name: "put_p99",
        gated: true,
        kind: Kind::Latency,
        value: |_, p| latency(&p.put, p.put.p99_ms),
    },
    Metric {
        name: "put_p999",
        gated: false,
        kind: Kind::Latency,
        value: |_, p| latency(&p.put, p.put.p999_ms),
    },
    Metric {
        name: "put_max",
        gated: false,
        kind: Kind::Latency,
        value: |_, p| latency(&p.put, p.put.max_ms),
    },
    Metric {
        name: "e2e_p50",
        gated: true,
        kind: Kind::Latency,
        value: |_, p| latency(&p.e2e, p.e2e.p50_ms),
    },
    Metric {
        name: "e2e_p99",
        gated: true,
        kind: Kind::Latency,
        value: |_, p| latency(&p.e2e, p.e2e.p99_ms),
    },
    Metric {
        name: "e2e_p999",
        gated: false,
        kind: Kind::Latency,
        value: |_, p| latency(&p.e2e, p.e2e.p999_ms),
    },
    Metric {
        name: "e2e_max",
        gated: false,
        kind: Kind::Latency,
        value: |_, p| latency(&p.e2e, p.e2e.max_ms),
    },
    Metric {
        name: "throttled_pct",
        gated: true,
        kind: Kind::Percent,
        value: |_, p| (p.counters.attempts > 0).then_some(p.throttled_pct),
    },
    Metric {
        name: "lost",
        gated: true,
        kind: Kind::Count,
        // loss is counted over the whole run, so it is shown once, with the total
        value: |v, p| {
            let total = v.total().is_some_and(|t| std::ptr::eq(t, p));
            (total && v.accounting.consumer).then_some(v.accounting.reads.lost as f64)
        },
    },
];

/// The names `--max-regression METRIC=PCT` accepts.
pub fn metric_names() -> Vec<&'static str> {
    METRICS.iter().map(|m| m.name).collect()
}

/// One `--max-regression` value.
#[derive(Debug, Clone, PartialEq)]
pub enum Threshold {
    /// `10%`: every metric (None: `off`, nothing is gated unless a metric says so).
    All(Option<f64>),
    /// `put_p99=20%` or `put_max=off`.
    Metric(String, Option<f64>),
}

impl Threshold {
    /// Parses `10%`, `10`, `off`, `put_p99=20%`, `put_max=off`.
    pub fn parse(s: &str) -> Result<Threshold, String> {
        fn pct(v: &str) -> Result<Option<f64>, String> {
            if v.eq_ignore_ascii_case("off") {
                return Ok(None);
            }
            let n: f64 = v
                .trim_end_matches('%')
                .trim()
                .parse()
                .map_err(|_| format!("`{v}` is not a percentage; use e.g. 10% (or off)"))?;
            if !(n >= 0.0 && n.is_finite()) {
                return Err(format!("`{v}`: a threshold must be 0% or more"));
            }
            Ok(Some(n))
        }
        match s.split_once('=') {
            None => Ok(Threshold::All(pct(s.trim())?)),
            Some((name, v)) => {
                let name = name.trim();
                if !METRICS.iter().any(|m| m.name == name) {
                    return Err(format!(
                        "unknown metric `{name}`{}; metrics: {}",
                        crate::scenario::suggest(name, &metric_names()),
                        metric_names().join(", ")
                    ));
                }
                Ok(Threshold::Metric(name.to_string(), pct(v.trim())?))
            }
        }
    }
}

/// The regression limits, in percent, per metric (None: not gated).
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    all: Option<f64>,
    metric: Vec<(String, Option<f64>)>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            all: Some(DEFAULT_MAX_REGRESSION),
            metric: Vec::new(),
        }
    }
}

impl Thresholds {
    /// From the `--max-regression` values in order (a later value wins).
    pub fn new(settings: &[Threshold]) -> Thresholds {
        let mut t = Thresholds::default();
        for s in settings {
            match s {
                Threshold::All(v) => t.all = *v,
                Threshold::Metric(name, v) => {
                    t.metric.retain(|(n, _)| n != name);
                    t.metric.push((name.clone(), *v));
                }
            }
        }
        t
    }

    fn limit(&self, metric: &Metric) -> Option<f64> {
        match self.metric.iter().find(|(n, _)| n == metric.name) {
            Some((_, v)) => *v,
            None if metric.gated => self.all,
            None => None,
        }
    }

    /// "10% on every metric; put_max off, e2e_p99 25%".
    pub fn describe(&self) -> String {
        let show = |v: Option<f64>| v.map_or("off".to_string(), |v| format!("{v}%"));
        let mut text = match self.all {
            Some(v) => format!(
                "{v}% on {} (p99.9 and max are shown, gated only when named)",
                METRICS
                    .iter()
                    .filter(|m| m.gated)
                    .map(|m| m.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => "off unless named".to_string(),
        };
        if !self.metric.is_empty() {
            let named: Vec<String> = self
                .metric
                .iter()
                .map(|(n, v)| format!("{n} {}", show(*v)))
                .collect();
            let _ = write!(text, "; {}", named.join(", "));
        }
        text
    }
}

/// How one metric of one phase fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Worse than the baseline by more than the threshold (and, for latencies, than the
    /// histogram's resolution).
    Regressed,
    /// Worse by more than the threshold, but by no more than the measurement's resolution (the
    /// histogram's bucket for latencies, 0.1 percentage points for throttled_pct).
    WithinResolution,
    /// Within the threshold.
    Ok,
    /// Better than the baseline.
    Better,
    /// Not gated: a warm-up phase, or the threshold is off.
    NotGated,
    /// One of the runs did not measure it.
    NotMeasured,
}

impl Verdict {
    fn text(self) -> &'static str {
        match self {
            Verdict::Regressed => "REGRESSED",
            Verdict::WithinResolution => "ok (within resolution)",
            Verdict::Ok => "ok",
            Verdict::Better => "better",
            Verdict::NotGated => "not gated",
            Verdict::NotMeasured => "-",
        }
    }
}

/// One metric of one phase of one variant (of one consumer, for the read side), A against B.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    pub api: String,
    pub phase: String,
    pub metric: &'static str,
    /// The consumer a read-side metric (`e2e_*`, `lost`) is of, when both runs list their
    /// consumers (schema 3); None: the all-consumer figure of an older report.
    pub consumer: Option<String>,
    kind: Kind,
    pub a: Option<f64>,
    pub b: Option<f64>,
    /// (B - A) / A in percent; infinite when A is 0 and B is not.
    pub change_pct: Option<f64>,
    pub limit_pct: Option<f64>,
    pub verdict: Verdict,
}

/// A compared with B.
#[derive(Debug, Clone)]
pub struct RunComparison {
    pub deltas: Vec<Delta>,
    /// Things a reader must know: variants or phases on one side only, interrupted runs,
    /// different scenarios or shard counts.
    pub notes: Vec<String>,
    pub thresholds: Thresholds,
}

impl Delta {
    /// The metric, with its consumer: "e2e_p99 (archive)".
    pub fn label(&self) -> String {
        match &self.consumer {
            Some(c) => format!("{} ({c})", self.metric),
            None => self.metric.to_string(),
        }
    }
}

/// Whether a metric is of the read side, gated per consumer when the runs list consumers.
fn is_read_metric(name: &str) -> bool {
    name.starts_with("e2e_") || name == "lost"
}

/// A consumer's own figure of a read-side metric in phase `p`.
fn consumer_value(name: &str, c: &ConsumerSummary, p: &ConsumerPhase) -> Option<f64> {
    match name {
        "e2e_p50" => latency(&p.e2e, p.e2e.p50_ms),
        "e2e_p99" => latency(&p.e2e, p.e2e.p99_ms),
        "e2e_p999" => latency(&p.e2e, p.e2e.p999_ms),
        "e2e_max" => latency(&p.e2e, p.e2e.max_ms),
        // loss is counted over the whole run, so it is shown once, with the total
        "lost" => (p.phase == "total").then_some(c.accounting.lost as f64),
        _ => None,
    }
}

fn change_pct(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else if a == 0.0 {
        f64::INFINITY.copysign(b)
    } else {
        (b - a) * 100.0 / a.abs()
    }
}

fn judge(kind: Kind, a: f64, b: f64, limit: Option<f64>, measured: bool) -> Verdict {
    let change = change_pct(a, b);
    // how much worse B is, in percent (0 when it is not worse)
    let worse = if kind == Kind::Rate { -change } else { change };
    let beyond_resolution = match kind {
        // a hand-edited run.json may hold any number: out of a Duration's range is "beyond"
        Kind::Latency => match Duration::try_from_secs_f64(a.max(b).max(0.0) / 1000.0) {
            Ok(at) => (b - a).abs() > Latency::resolution(at).as_secs_f64() * 1000.0,
            Err(_) => true,
        },
        Kind::Percent => (b - a).abs() > PERCENT_POINTS_RESOLUTION,
        _ => a != b,
    };
    match limit {
        _ if !measured => Verdict::NotGated,
        None => Verdict::NotGated,
        Some(limit) if worse > limit => {
            if beyond_resolution {
                Verdict::Regressed
            } else {
                Verdict::WithinResolution
            }
        }
        Some(limit) if -worse > limit && beyond_resolution => Verdict::Better,
        Some(_) => Verdict::Ok,
    }
}

/// Metric `m` of (api, phase, consumer), A's `x` against B's `y`, judged against its limit.
fn delta(
    (api, phase, consumer): (&str, &str, Option<&str>),
    m: &Metric,
    x: Option<f64>,
    y: Option<f64>,
    thresholds: &Thresholds,
    measured: bool,
) -> Delta {
    let limit = thresholds.limit(m);
    let (change, verdict) = match (x, y) {
        (Some(x), Some(y)) => (Some(change_pct(x, y)), judge(m.kind, x, y, limit, measured)),
        _ => (None, Verdict::NotMeasured),
    };
    Delta {
        api: api.to_string(),
        phase: phase.to_string(),
        metric: m.name,
        consumer: consumer.map(str::to_string),
        kind: m.kind,
        a: x,
        b: y,
        change_pct: change,
        limit_pct: limit.filter(|_| measured),
        verdict,
    }
}

/// The read-side metrics of every consumer both variants have (by name), phase by phase.
fn consumer_deltas(
    va: &VariantSummary,
    vb: &VariantSummary,
    thresholds: &Thresholds,
    deltas: &mut Vec<Delta>,
    notes: &mut Vec<String>,
) {
    for ca in &va.consumers {
        let Some(cb) = vb.consumers.iter().find(|c| c.name == ca.name) else {
            notes.push(format!("{}: consumer `{}` is in A only", va.api, ca.name));
            continue;
        };
        for pa in &ca.phases {
            let Some(pb) = cb.phases.iter().find(|p| p.phase == pa.phase) else {
                continue;
            };
            let measured = pa.measure && pb.measure;
            for m in METRICS.iter().filter(|m| is_read_metric(m.name)) {
                let (x, y) = (
                    consumer_value(m.name, ca, pa),
                    consumer_value(m.name, cb, pb),
                );
                if x.is_none() && y.is_none() {
                    continue;
                }
                let at = (va.api.as_str(), pa.phase.as_str(), Some(ca.name.as_str()));
                deltas.push(delta(at, m, x, y, thresholds, measured));
            }
        }
    }
    for cb in &vb.consumers {
        if !va.consumers.iter().any(|c| c.name == cb.name) {
            notes.push(format!("{}: consumer `{}` is in B only", vb.api, cb.name));
        }
    }
}

impl RunComparison {
    /// Compares every variant and phase that both runs have. Errors when they share no variant.
    pub fn of(
        a: &RunSummary,
        b: &RunSummary,
        thresholds: &Thresholds,
    ) -> anyhow::Result<RunComparison> {
        let mut notes = Vec::new();
        if a.scenario != b.scenario {
            notes.push(format!(
                "the runs are of different scenarios: A `{}`, B `{}`",
                a.scenario, b.scenario
            ));
        }
        if a.shards != b.shards {
            notes.push(format!(
                "the streams differ: A has {} shards, B {}",
                a.shards, b.shards
            ));
        }
        for (side, s) in [("A", a), ("B", b)] {
            if s.status != "completed" {
                notes.push(format!(
                    "{side} is {}: its figures cover only part of the run",
                    s.status
                ));
            }
        }
        let mut deltas = Vec::new();
        for va in &a.variants {
            let Some(vb) = b.variants.iter().find(|v| v.api == va.api) else {
                notes.push(format!("variant {} ran in A only", va.api));
                continue;
            };
            let per_consumer = !va.consumers.is_empty() && !vb.consumers.is_empty();
            // every phase of A in A's order, then the total; phases of B alone are noted
            for pa in &va.phases {
                let Some(pb) = vb.phases.iter().find(|p| p.phase == pa.phase) else {
                    notes.push(format!("{}: phase `{}` is in A only", va.api, pa.phase));
                    continue;
                };
                let measured = pa.measure && pb.measure;
                if change_pct(pa.offered_rps, pb.offered_rps).abs() > 1.0 {
                    notes.push(format!(
                        "{}: phase `{}` offered {:.1} records/s in A, {:.1} in B: achieved_rps differs for that reason too",
                        va.api, pa.phase, pa.offered_rps, pb.offered_rps
                    ));
                }
                for m in METRICS {
                    if per_consumer && is_read_metric(m.name) {
                        continue;
                    }
                    let (x, y) = ((m.value)(va, pa), (m.value)(vb, pb));
                    if x.is_none() && y.is_none() {
                        continue;
                    }
                    let at = (va.api.as_str(), pa.phase.as_str(), None);
                    deltas.push(delta(at, m, x, y, thresholds, measured));
                }
            }
            for pb in &vb.phases {
                if !va.phases.iter().any(|p| p.phase == pb.phase) {
                    notes.push(format!("{}: phase `{}` is in B only", vb.api, pb.phase));
                }
            }
            if per_consumer {
                consumer_deltas(va, vb, thresholds, &mut deltas, &mut notes);
            }
        }
        for vb in &b.variants {
            if !a.variants.iter().any(|v| v.api == vb.api) {
                notes.push(format!("variant {} ran in B only", vb.api));
            }
        }
        if deltas.is_empty() {
            let why: String = notes.iter().map(|n| format!("; {n}")).collect();
            anyhow::bail!(
                "nothing to compare: the runs share no API variant with a phase in common (A ran {}, B ran {}){why}",
                a.apis(),
                b.apis(),
            );
        }
        Ok(RunComparison {
            deltas,
            notes,
            thresholds: thresholds.clone(),
        })
    }

    pub fn regressions(&self) -> impl Iterator<Item = &Delta> {
        self.deltas
            .iter()
            .filter(|d| d.verdict == Verdict::Regressed)
    }

    /// One line per regression: "put_records burst put_p99 +15.2% (limit 10%)".
    fn regression_lines(&self) -> Vec<String> {
        let several = self.deltas.iter().any(|d| d.api != self.deltas[0].api);
        self.regressions()
            .map(|d| {
                let api = if several {
                    format!("{} ", d.api)
                } else {
                    String::new()
                };
                format!(
                    "{api}{} {} {} (limit {}%)",
                    d.phase,
                    d.label(),
                    change_text(d.change_pct),
                    d.limit_pct.unwrap_or(0.0)
                )
            })
            .collect()
    }

    /// The side-by-side table; `a` and `b` name the runs (their directories).
    pub fn render(&self, a: &str, b: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "A (baseline): {a}\nB:            {b}");
        let _ = writeln!(out, "limits: {}", self.thresholds.describe());
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        let mut api = "";
        let mut phase = "";
        for d in &self.deltas {
            if d.api != api {
                api = &d.api;
                phase = "";
                let _ = writeln!(
                    out,
                    "\n── {api} ──\n{:<14} {:<14} {:>12} {:>12} {:>9} {:>6}  verdict",
                    "phase", "metric", "A", "B", "change", "limit"
                );
            }
            let shown = if d.phase != phase {
                d.phase.as_str()
            } else {
                ""
            };
            phase = &d.phase;
            let value = |v: Option<f64>| v.map_or("-".to_string(), |v| format_value(d.kind, v));
            let _ = writeln!(
                out,
                "{:<14} {:<14} {:>12} {:>12} {:>9} {:>6}  {}",
                shown,
                d.label(),
                value(d.a),
                value(d.b),
                change_text(d.change_pct),
                d.limit_pct.map_or("-".to_string(), |l| format!("{l}%")),
                d.verdict.text()
            );
        }
        let _ = writeln!(out, "\n{}", self.verdict());
        out
    }

    /// "no regression beyond the limits" or "regressed: 3 metrics beyond the limits: ...",
    /// naming the first five.
    pub fn verdict(&self) -> String {
        let lines = self.regression_lines();
        match lines.len() {
            0 => "no regression beyond the limits".to_string(),
            n => {
                let more = if n > 5 {
                    format!("; and {} more", n - 5)
                } else {
                    String::new()
                };
                let metrics = if n == 1 { "metric" } else { "metrics" };
                format!(
                    "{REGRESSED} {n} {metrics} beyond the limits: {}{more}",
                    lines[..n.min(5)].join("; ")
                )
            }
        }
    }
}

fn format_value(kind: Kind, v: f64) -> String {
    match kind {
        Kind::Rate => format!("{v:.1}"),
        Kind::Latency => ms(v),
        Kind::Percent => format!("{v:.2}%"),
        Kind::Count => format!("{v:.0}"),
    }
}

fn change_text(c: Option<f64>) -> String {
    match c {
        None => "-".into(),
        Some(c) if c.is_infinite() => "new".into(),
        Some(c) => format!("{c:+.1}%"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse_and_later_values_win() {
        assert_eq!(Threshold::parse("10%"), Ok(Threshold::All(Some(10.0))));
        assert_eq!(Threshold::parse("2.5"), Ok(Threshold::All(Some(2.5))));
        assert_eq!(Threshold::parse("off"), Ok(Threshold::All(None)));
        assert_eq!(
            Threshold::parse("put_p99=20%"),
            Ok(Threshold::Metric("put_p99".into(), Some(20.0)))
        );
        let e = Threshold::parse("put_p98=20%").unwrap_err();
        assert!(e.contains("did you mean `put_p99`"), "{e}");
        assert!(Threshold::parse("-5%").is_err());
        assert!(Threshold::parse("fast").is_err());
        let t = Thresholds::new(&[
            Threshold::All(Some(5.0)),
            Threshold::Metric("put_max".into(), None),
            Threshold::Metric("put_max".into(), Some(50.0)),
        ]);
        let metric = |name: &str| METRICS.iter().find(|m| m.name == name).expect("known");
        assert_eq!(t.limit(metric("put_p99")), Some(5.0));
        assert_eq!(t.limit(metric("put_max")), Some(50.0));
        assert_eq!(
            t.limit(metric("e2e_max")),
            None,
            "max is gated only when named"
        );
        assert!(t.describe().ends_with("; put_max 50%"), "{}", t.describe());
        assert_eq!(Thresholds::new(&[]).limit(metric("lost")), Some(10.0));
    }

    #[test]
    fn judging_respects_direction_threshold_and_resolution() {
        // throughput down 15% against a 10% limit
        assert_eq!(
            judge(Kind::Rate, 1000.0, 850.0, Some(10.0), true),
            Verdict::Regressed
        );
        assert_eq!(
            judge(Kind::Rate, 1000.0, 950.0, Some(10.0), true),
            Verdict::Ok
        );
        assert_eq!(
            judge(Kind::Rate, 1000.0, 1200.0, Some(10.0), true),
            Verdict::Better
        );
        assert_eq!(
            judge(Kind::Rate, 1000.0, 1050.0, Some(10.0), true),
            Verdict::Ok
        );
        // latency up 20%
        assert_eq!(
            judge(Kind::Latency, 100.0, 120.0, Some(10.0), true),
            Verdict::Regressed
        );
        // at 10 s the histogram's buckets are 8.2 ms wide: 10,000 ms -> 10,007 ms is within
        // its resolution even at a 0% limit, 10,000 ms -> 10,020 ms is not
        assert_eq!(
            judge(Kind::Latency, 10_000.0, 10_007.0, Some(0.0), true),
            Verdict::WithinResolution
        );
        assert_eq!(
            judge(Kind::Latency, 10_000.0, 10_020.0, Some(0.0), true),
            Verdict::Regressed
        );
        // throttled_pct: 0.1 percentage points and less are noise, more is not
        assert_eq!(
            judge(Kind::Percent, 0.0, 0.08, Some(10.0), true),
            Verdict::WithinResolution
        );
        assert_eq!(
            judge(Kind::Percent, 0.0, 0.5, Some(10.0), true),
            Verdict::Regressed
        );
        // out of a Duration's range: no panic, a difference
        assert_eq!(
            judge(Kind::Latency, 1.0, 1e30, Some(10.0), true),
            Verdict::Regressed
        );
        // anything lost where nothing was is a regression at any finite limit
        assert_eq!(
            judge(Kind::Count, 0.0, 1.0, Some(1000.0), true),
            Verdict::Regressed
        );
        // warm-up phases and `off` are not gated
        assert_eq!(
            judge(Kind::Latency, 1.0, 100.0, Some(10.0), false),
            Verdict::NotGated
        );
        assert_eq!(
            judge(Kind::Latency, 1.0, 100.0, None, true),
            Verdict::NotGated
        );
    }
}
