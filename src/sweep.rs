//! `kbench sweep`: the highest offered rate a scenario's stream sustains within its SLO, found by
//! short measured runs at stepped and then bisected rates, for one or more shard counts.
//!
//! Each step is an ordinary run of the scenario with its phases replaced by a warm-up and one
//! measured phase at a constant rate; every step of a shard count runs on the same stream (one
//! embedded endpoint, or one stream on a remote endpoint), one after the other. A step passes when
//! every SLO of the scenario holds in its measured phase.

pub mod command;

use crate::report::sweep::count;
use crate::report::{self, RunSummary};
use crate::run::{RunSettings, Session};
use crate::scenario::{Phase, Rate, Scenario, Start};
use crate::sizing::Workload;
use anyhow::Context;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub use crate::report::sweep::Step;

impl Step {
    /// The step's figures from its run's summary (the scenario's only API variant).
    fn of(shards: u32, step: u32, summary: &RunSummary, dir: &Path) -> anyhow::Result<Step> {
        let v = summary
            .variants
            .first()
            .context("the step's run has no results")?;
        let t = v.total().context("the step's run has no measured phase")?;
        let mut breached: Vec<String> = v
            .slo
            .iter()
            .filter(|s| !s.passed)
            .map(|s| format!("{} {} (limit {})", s.name, s.actual, s.threshold))
            .collect();
        // a stream that lost records or took none did not sustain the rate, whatever the SLO says
        let c = &t.counters;
        let given_up = c.given_up_throttled + c.given_up_error + c.given_up_interrupted;
        if given_up > 0 {
            breached.push(format!(
                "given up {given_up} records ({} after throttling, {} on errors)",
                c.given_up_throttled, c.given_up_error
            ));
        }
        if c.acknowledged == 0 {
            breached.push(format!(
                "nothing acknowledged ({} attempts failed)",
                c.failed
            ));
        }
        let bytes_per_s = if t.active_s > 0.0 {
            t.counters.acknowledged_bytes as f64 / t.active_s
        } else {
            0.0
        };
        Ok(Step {
            shards,
            step,
            offered_rps: t.offered_rps,
            achieved_rps: t.achieved_rps,
            achieved_pct: t.achieved_pct,
            achieved_bytes_per_s: bytes_per_s,
            throttled_pct: t.throttled_pct,
            put_p99_ms: t.put.p99_ms,
            e2e_p99_ms: v.accounting.consumer.then_some(t.e2e.p99_ms),
            lost: v.accounting.reads.lost,
            given_up,
            passed: breached.is_empty() && v.status == "completed",
            breached,
            dir: dir.to_path_buf(),
        })
    }
}

/// How a sweep runs, beyond the scenario.
#[derive(Debug, Clone)]
pub struct SweepSettings {
    /// The shard counts to search, in order.
    pub shard_counts: Vec<u32>,
    /// The first rate tried for each shard count; None: `estimate` of that count.
    pub start: Option<f64>,
    /// Unmeasured time at the step's rate before the measured phase.
    pub warmup: Duration,
    /// The measured phase of each step.
    pub measure: Duration,
    /// Stop bisecting when the failing rate is within this fraction above the passing one.
    pub precision: f64,
    /// Most steps per shard count.
    pub max_steps: u32,
    /// Where the sweep's directory goes, and how each step runs (its `out` is ignored).
    pub run: RunSettings,
}

/// What the sweep found for one shard count.
#[derive(Debug, Clone, Serialize)]
pub struct ShardResult {
    pub shards: u32,
    /// The calculator's capacity for this count (`kbench size` with no headroom), if known.
    pub estimate: Option<f64>,
    /// The highest offered rate that passed, and its step.
    pub max_rate: Option<f64>,
    pub max_step: Option<Step>,
    /// The lowest offered rate that failed.
    pub failed_rate: Option<f64>,
    /// Why the search ended before reaching the precision, if it did.
    pub stopped: Option<String>,
}

/// A whole sweep.
#[derive(Debug, Clone)]
pub struct SweepOutcome {
    pub dir: PathBuf,
    pub steps: Vec<Step>,
    pub results: Vec<ShardResult>,
    pub interrupted: bool,
}

/// Rates are tried in whole records per second.
fn whole(rate: f64) -> f64 {
    rate.round().max(1.0)
}

/// The search for the highest passing rate of one shard count: from the start rate, steps up
/// (or down) by a growing factor until one rate passes and one fails, then bisects between them.
#[derive(Debug, Clone)]
pub struct Search {
    start: f64,
    precision: f64,
    max_steps: u32,
    growth: f64,
    steps: u32,
    passed: Option<f64>,
    failed: Option<f64>,
}

/// The first factor the search steps by before it has a passing and a failing rate; each
/// further step squares it (x1.25, x1.56, x2.44, then x4 at most), so a poor start costs few
/// steps.
const FIRST_GROWTH: f64 = 1.25;
const MAX_GROWTH: f64 = 4.0;
/// Rates above this are not tried (the most a scenario may offer).
const MAX_RATE: f64 = crate::scenario::limits::MAX_RATE;

impl Search {
    pub fn new(start: f64, precision: f64, max_steps: u32) -> Search {
        Search {
            start: whole(start),
            precision,
            max_steps,
            growth: FIRST_GROWTH,
            steps: 0,
            passed: None,
            failed: None,
        }
    }

    /// The next rate to try, or None when the search is over.
    pub fn next(&self) -> Option<f64> {
        if self.steps >= self.max_steps {
            return None;
        }
        match (self.passed, self.failed) {
            (None, None) => Some(self.start),
            (Some(p), None) => {
                let r = whole(p * self.growth).max(p + 1.0);
                (r <= MAX_RATE).then_some(r)
            }
            (None, Some(f)) => {
                let r = whole(f / self.growth).min(f - 1.0);
                (r >= 1.0).then_some(r)
            }
            (Some(p), Some(f)) => {
                if (f - p) / p <= self.precision {
                    return None;
                }
                let mid = whole((p + f) / 2.0);
                (mid > p && mid < f).then_some(mid)
            }
        }
    }

    /// Records the verdict of a step at `rate`.
    pub fn record(&mut self, rate: f64, passed: bool) {
        self.steps += 1;
        if passed {
            self.passed = Some(self.passed.map_or(rate, |p| p.max(rate)));
        } else {
            self.failed = Some(self.failed.map_or(rate, |f| f.min(rate)));
        }
        // the start does not grow the factor: the first step away from it is x1.25
        if self.steps > 1 && (self.passed.is_none() || self.failed.is_none()) {
            self.growth = (self.growth * self.growth).min(MAX_GROWTH);
        }
    }

    /// The highest rate that passed and the lowest that failed.
    pub fn bounds(&self) -> (Option<f64>, Option<f64>) {
        (self.passed, self.failed)
    }

    /// Why the search ended without bracketing the knee within the precision, if it did.
    pub fn stopped(&self) -> Option<String> {
        match (self.passed, self.failed) {
            (Some(p), Some(f)) if (f - p) / p <= self.precision => None,
            // whole records/s cannot split the bracket further
            (Some(p), Some(f)) if f - p <= 1.0 => None,
            (Some(p), Some(f)) => Some(format!(
                "stopped after {} steps between {} (passed) and {} records/s (failed)",
                self.steps,
                thousands(p),
                thousands(f)
            )),
            (Some(p), None) => Some(format!(
                "every rate tried passed, up to {} records/s in {} steps: the limit is higher; raise --start or --max-steps (or are the shard limits off?)",
                thousands(p),
                self.steps
            )),
            (None, Some(f)) => Some(format!(
                "every rate tried failed the SLO, down to {} records/s; check the SLO against a slow rate with `kbench run`",
                thousands(f)
            )),
            (None, None) => Some("no step ran".into()),
        }
    }
}

/// The scenario of one step: the base scenario on `shards` shards, its phases replaced by a
/// warm-up and a measured phase at `rate`.
pub fn step_scenario(
    base: &Scenario,
    shards: u32,
    rate: f64,
    settings: &SweepSettings,
    first_on_stream: bool,
) -> Scenario {
    let mut s = base.clone();
    s.name = format!("{}-{shards}shards-{rate:.0}rps", base.name);
    s.target.shards = shards;
    s.target.stream = stream_name(base, shards, settings);
    let constant = Rate {
        from: rate,
        to: rate,
    };
    s.phase = Vec::new();
    if !settings.warmup.is_zero() {
        s.phase.push(Phase {
            name: "warmup".into(),
            duration: settings.warmup,
            rate: constant,
            measure: false,
        });
    }
    s.phase.push(Phase {
        name: "step".into(),
        duration: settings.measure,
        rate: constant,
        measure: true,
    });
    // later steps on the same stream read only their own records
    if !first_on_stream {
        for c in &mut s.consumers {
            c.start = Start::Latest;
        }
    }
    s
}

/// The stream of a shard count: the scenario's, or with several counts `<stream>-<N>shards`, so
/// that on a remote endpoint each count has its own stream (a stream being deleted cannot be
/// created again at once).
pub fn stream_name(base: &Scenario, shards: u32, settings: &SweepSettings) -> String {
    if settings.shard_counts.len() > 1 {
        format!("{}-{shards}shards", base.target.stream)
    } else {
        base.target.stream.clone()
    }
}

/// What the scenario's stream must satisfy, in words; an error when the scenario has no SLO.
pub fn check_slo(s: &Scenario) -> Result<(), String> {
    let slo = &s.slo;
    if slo.put_p99.is_none()
        && slo.e2e_p99.is_none()
        && slo.max_throttled_pct.is_none()
        && slo.min_achieved_pct.is_none()
    {
        let what = if slo.max_lost.is_some() {
            "the scenario's [slo] has only `max_lost`, which does not depend on the rate"
        } else {
            "the scenario has no [slo] for the sweep to hold"
        };
        return Err(format!(
            "{what}: add at least one of `max_throttled_pct`, `min_achieved_pct`, `put_p99` or `e2e_p99` under [slo], e.g.\n  [slo]\n  max_throttled_pct = 0.1\n  min_achieved_pct = 99.0"
        ));
    }
    if s.producer.apis.len() != 1 {
        let names: Vec<&str> = s.producer.apis.iter().map(|a| a.name()).collect();
        return Err(format!(
            "the scenario runs {} API variants ({}); a sweep measures one: pick it with --api",
            names.len(),
            names.join(", ")
        ));
    }
    Ok(())
}

/// The calculator's view of a scenario at `rate` (no headroom), or None when its record sizes
/// are not known in advance (JSON templates, replayed records).
pub fn calculator(s: &Scenario, rate: f64) -> Option<Workload> {
    let (key_bytes, data_bytes) = crate::sizing::mean_record_bytes(s);
    data_bytes.map(|data| Workload::of_scenario(s, rate, data + key_bytes))
}

/// Runs the sweep: for each shard count a search of measured steps, starting at
/// `settings.start`, else at the capacity `calculator` gives that count, else at 1,000
/// records/s per shard. `on_step` sees each step as it finishes.
pub async fn run(
    base: &Scenario,
    settings: &SweepSettings,
    calculator: Option<&Workload>,
    cancel: CancellationToken,
    mut on_step: impl FnMut(&Step),
) -> anyhow::Result<SweepOutcome> {
    let dir = report::create_run_dir(&settings.run.out, &format!("{}-sweep", base.name))?;
    let step_settings = RunSettings {
        out: dir.join("steps"),
        progress: false,
        ..settings.run.clone()
    };
    let mut outcome = SweepOutcome {
        dir,
        steps: Vec::new(),
        results: Vec::new(),
        interrupted: false,
    };
    for &shards in &settings.shard_counts {
        if cancel.is_cancelled() {
            outcome.interrupted = true;
            break;
        }
        let estimate = calculator
            .map(|w| w.capacity(shards))
            .filter(|e| e.is_finite());
        let start = settings
            .start
            .or(estimate)
            .unwrap_or(crate::sizing::SHARD_RECORDS_PER_S * f64::from(shards));
        let mut search = Search::new(start, settings.precision, settings.max_steps);
        let first = step_scenario(base, shards, start, settings, true);
        let session = Session::open(&first, &step_settings).await?;
        let ctx = Ctx {
            base,
            settings,
            step_settings: &step_settings,
            cancel: &cancel,
        };
        let searched = search_count(
            &ctx,
            shards,
            &mut search,
            &session,
            &mut outcome,
            &mut on_step,
        )
        .await;
        session.close(None).await;
        // after every shard count, and before any error, so the sweep keeps what it measured
        write_files(&outcome.dir, &outcome.steps, base)?;
        let best = searched?;
        let (max_rate, failed_rate) = search.bounds();
        outcome.results.push(ShardResult {
            shards,
            estimate,
            max_rate,
            max_step: best,
            failed_rate,
            stopped: if outcome.interrupted {
                Some("interrupted".into())
            } else {
                search.stopped()
            },
        });
    }
    Ok(outcome)
}

/// The time between one step's measured phase and the next's: the shard limits' window.
const STEP_GAP: Duration = Duration::from_secs(1);

/// What every step of a sweep shares.
struct Ctx<'a> {
    base: &'a Scenario,
    settings: &'a SweepSettings,
    step_settings: &'a RunSettings,
    cancel: &'a CancellationToken,
}

/// The steps of one shard count's search on its session; returns the passing step with the
/// highest rate. Steps go into `outcome` as they end.
async fn search_count(
    ctx: &Ctx<'_>,
    shards: u32,
    search: &mut Search,
    session: &Session,
    outcome: &mut SweepOutcome,
    on_step: &mut impl FnMut(&Step),
) -> anyhow::Result<Option<Step>> {
    let Ctx {
        base,
        settings,
        step_settings,
        cancel,
    } = *ctx;
    let mut best: Option<Step> = None;
    let mut n = 0;
    while let Some(rate) = search.next() {
        // the shards' last one-second limit window of the previous step must not reach into
        // this step's measured phase: a warm-up shorter than that is topped up with a pause
        let pause = STEP_GAP.saturating_sub(settings.warmup);
        if n > 0 && !pause.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = cancel.cancelled() => {}
            }
        }
        if cancel.is_cancelled() {
            outcome.interrupted = true;
            break;
        }
        n += 1;
        let scenario = step_scenario(base, shards, rate, settings, n == 1);
        scenario
            .check_replay_length()
            .map_err(|e| anyhow::anyhow!("`records.payload`: {e} (a step at {rate} records/s)"))?;
        let run = session
            .run(&scenario, step_settings, cancel.clone())
            .await
            .with_context(|| format!("{shards} shards, step {n} at {rate} records/s"))?;
        if run.interrupted {
            outcome.interrupted = true;
            break;
        }
        if let Some(failure) = &run.failure {
            anyhow::bail!("{shards} shards, step {n} at {rate} records/s: {failure}");
        }
        let step = Step::of(shards, n, &run.summary, &run.dir)?;
        on_step(&step);
        search.record(rate, step.passed);
        if step.passed
            && best
                .as_ref()
                .is_none_or(|b| b.offered_rps < step.offered_rps)
        {
            best = Some(step.clone());
        }
        outcome.steps.push(step);
    }
    Ok(best)
}

/// Writes sweep.csv and the knee chart, sweep.svg.
fn write_files(dir: &Path, steps: &[Step], base: &Scenario) -> anyhow::Result<()> {
    write_csv(dir, steps)?;
    let title = format!(
        "Sweep of {}: achieved rate, throttling and p99 latency by offered rate",
        base.name
    );
    if let Some(svg) = crate::report::charts::sweep(steps, &base.slo, &title)? {
        let path = dir.join("sweep.svg");
        std::fs::write(&path, svg).with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(())
}

/// The column names of sweep.csv.
const CSV_COLUMNS: [&str; 15] = [
    "shards",
    "step",
    "offered_rps",
    "achieved_rps",
    "achieved_pct",
    "achieved_bytes_per_s",
    "throttled_pct",
    "put_p99_ms",
    "e2e_p99_ms",
    "lost",
    "given_up",
    "passed",
    "breached",
    "dir",
    "per_shard_rps",
];

/// Writes `sweep.csv`: one row per step, in the order they ran.
pub fn write_csv(dir: &Path, steps: &[Step]) -> anyhow::Result<()> {
    let path = dir.join("sweep.csv");
    let mut w = csv::Writer::from_path(&path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    w.write_record(CSV_COLUMNS)?;
    for s in steps {
        w.write_record([
            s.shards.to_string(),
            s.step.to_string(),
            format!("{:.1}", s.offered_rps),
            format!("{:.1}", s.achieved_rps),
            format!("{:.2}", s.achieved_pct),
            format!("{:.0}", s.achieved_bytes_per_s),
            format!("{:.3}", s.throttled_pct),
            format!("{:.2}", s.put_p99_ms),
            s.e2e_p99_ms.map_or(String::new(), |v| format!("{v:.2}")),
            s.lost.to_string(),
            s.given_up.to_string(),
            s.passed.to_string(),
            s.breached.join("; "),
            s.dir
                .strip_prefix(dir)
                .unwrap_or(&s.dir)
                .display()
                .to_string(),
            format!("{:.1}", s.achieved_rps / f64::from(s.shards.max(1))),
        ])?;
    }
    w.flush()
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}

/// A rate as a whole number with thousands separators: `12345.6` as `12,346`.
fn thousands(v: f64) -> String {
    crate::report::html::count(v.max(0.0).round() as u64)
}

/// One step, as the terminal shows it while the sweep runs.
pub fn step_line(s: &Step) -> String {
    let e2e = s
        .e2e_p99_ms
        .map_or(String::new(), |v| format!("  e2e p99 {v:>6.0} ms"));
    let verdict = if s.passed {
        "ok".to_string()
    } else {
        format!("BREACHED: {}", s.breached.join(", "))
    };
    format!(
        "{:>9}  step {:>2}  offered {:>9}/s  achieved {:>9}/s ({:>5.1}%)  throttled {:>6.2}%  put p99 {:>6.1} ms{e2e}  {verdict}",
        count(s.shards),
        s.step,
        thousands(s.offered_rps),
        thousands(s.achieved_rps),
        s.achieved_pct,
        s.throttled_pct,
        s.put_p99_ms,
    )
}

/// The sweep's answer: per shard count the highest sustainable rate, and the shard count for
/// `target` records/s.
pub fn render(outcome: &SweepOutcome, target: f64) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:>6}  {:>15}  {:>10}  {:>11}  {:>9}  {:>9}  {:>14}  {:>10}\n",
        "shards",
        "max records/s",
        "per shard",
        "KiB/s/shard",
        "put p99",
        "e2e p99",
        "first failing",
        "calculator"
    ));
    for r in &outcome.results {
        let n = f64::from(r.shards);
        let (max, per, kib, put, e2e) = match (&r.max_rate, &r.max_step) {
            (Some(m), Some(s)) => (
                thousands(*m),
                thousands(s.achieved_rps / n),
                thousands(s.achieved_bytes_per_s / n / 1024.0),
                format!("{:.1} ms", s.put_p99_ms),
                s.e2e_p99_ms.map_or("-".into(), |v| format!("{v:.0} ms")),
            ),
            _ => (
                "none".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ),
        };
        out.push_str(&format!(
            "{:>6}  {:>15}  {:>10}  {:>11}  {:>9}  {:>9}  {:>14}  {:>10}\n",
            r.shards,
            max,
            per,
            kib,
            put,
            e2e,
            r.failed_rate.map_or("-".into(), thousands),
            r.estimate.map_or("-".into(), thousands),
        ));
        if let Some(why) = &r.stopped {
            out.push_str(&format!("        {}: {why}\n", count(r.shards)));
        }
    }
    out.push_str(
        "max records/s: the highest offered rate within the SLO; first failing: the lowest that breached it; calculator: what `kbench size --headroom 0%` expects\n",
    );
    out.push_str(&recommendation(&outcome.results, target));
    out
}

/// The fewest shards of those swept that sustained `target` records/s.
pub fn recommended(results: &[ShardResult], target: f64) -> Option<&ShardResult> {
    results
        .iter()
        .filter(|r| r.max_rate.is_some_and(|m| m >= target))
        .min_by_key(|r| r.shards)
}

/// Which shard count carries `target` records/s, in words.
pub fn recommendation(results: &[ShardResult], target: f64) -> String {
    let mut sorted: Vec<&ShardResult> = results.iter().collect();
    sorted.sort_by_key(|r| r.shards);
    let mut text = match recommended(results, target) {
        Some(r) => format!(
            "for {} records/s: {} (sustained {} records/s within the SLO; no headroom: add some for growth and bursts)\n",
            thousands(target),
            count(r.shards),
            thousands(r.max_rate.unwrap_or(0.0))
        ),
        None => format!(
            "for {} records/s: none of the shard counts tried sustains it within the SLO; try more shards (--shards), and see `kbench size`\n",
            thousands(target)
        ),
    };
    // more shards that barely raise the ceiling: a hot key decides, or something else than
    // the shards (the client, the endpoint)
    let measured = |r: &&ShardResult| r.stopped.is_none() && r.max_rate.is_some();
    if let (Some(lo), Some(hi)) = (sorted.first(), sorted.last())
        && hi.shards >= lo.shards * 2
        && measured(lo)
        && measured(hi)
        && let (Some(a), Some(b)) = (lo.max_rate, hi.max_rate)
        && b < a * 1.2
    {
        let gain = (b / a - 1.0) * 100.0;
        let (lo_n, hi_n) = (count(lo.shards), count(hi.shards));
        match (lo.estimate, hi.estimate) {
            (Some(x), Some(y)) if y >= x * 1.2 => text.push_str(&format!(
                "{hi_n} sustain only {gain:.0}% more than {lo_n}, though the calculator expects {:.0}% more: something other than the shards limits the stream; check the steps' schedule lag (is the client keeping up?) and the endpoint\n",
                (y / x - 1.0) * 100.0
            )),
            _ => text.push_str(&format!(
                "{hi_n} sustain only {gain:.0}% more than {lo_n}: the hottest key, not the shard count, sets the limit; adding shards does not help (spread the key, see `kbench size`)\n"
            )),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a search against a stream that passes every rate up to `capacity`.
    fn search(start: f64, capacity: f64) -> (Search, Vec<f64>) {
        let mut s = Search::new(start, 0.02, 12);
        let mut tried = Vec::new();
        while let Some(r) = s.next() {
            tried.push(r);
            s.record(r, r <= capacity);
        }
        (s, tried)
    }

    #[test]
    fn search_brackets_then_bisects_to_the_precision() {
        let (s, tried) = search(1000.0, 1000.0);
        let (p, f) = s.bounds();
        let (p, f) = (p.expect("a rate passed"), f.expect("a rate failed"));
        assert!(p <= 1000.0 && f > 1000.0, "{p} {f}");
        assert!((f - p) / p <= 0.02, "{p} {f}");
        assert_eq!(tried[0], 1000.0);
        assert_eq!(tried[1], 1250.0, "first step up is x1.25");
        assert!(tried.len() <= 7, "{tried:?}");
        assert_eq!(s.stopped(), None);
    }

    #[test]
    fn search_from_a_poor_start_grows_its_steps() {
        // start 10x too low: x1.25, x1.56, x2.44, ... reaches the knee in a few steps
        let (s, tried) = search(100.0, 1000.0);
        let (p, f) = s.bounds();
        let (p, f) = (p.expect("passed"), f.expect("failed"));
        assert!(
            p <= 1000.0 && f > 1000.0 && (f - p) / p <= 0.02,
            "{tried:?}"
        );
        assert!(tried.len() <= 12, "{tried:?}");
        // and from too high
        let (s, tried) = search(20_000.0, 1000.0);
        let (p, f) = s.bounds();
        let (p, f) = (p.expect("passed"), f.expect("failed"));
        assert!(
            p <= 1000.0 && f > 1000.0 && (f - p) / p <= 0.02,
            "{tried:?}"
        );
    }

    #[test]
    fn search_says_why_it_stopped() {
        // nothing passes
        let (s, tried) = search(1000.0, 0.0);
        assert_eq!(s.bounds().0, None);
        assert_eq!(*tried.last().expect("tried"), 1.0, "{tried:?}");
        assert!(
            s.stopped()
                .expect("stopped")
                .contains("every rate tried failed")
        );
        // everything passes: stops at max_steps or the highest rate tried
        let (s, tried) = search(1000.0, f64::INFINITY);
        assert!(
            tried.windows(2).all(|w| w[1] > w[0] && w[1] <= w[0] * 4.0),
            "{tried:?}"
        );
        assert!(
            s.stopped()
                .expect("stopped")
                .contains("the limit is higher")
        );
        // max_steps before the precision
        let mut s = Search::new(1000.0, 0.001, 3);
        while let Some(r) = s.next() {
            s.record(r, r <= 1100.0);
        }
        assert!(
            s.stopped()
                .expect("stopped")
                .contains("stopped after 3 steps")
        );
    }

    #[test]
    fn search_steps_by_whole_records_at_tiny_rates() {
        let (s, tried) = search(1.0, 3.0);
        assert_eq!(s.bounds(), (Some(3.0), Some(4.0)), "{tried:?}");
        let (s, tried) = search(2.0, 1.0);
        assert_eq!(s.bounds(), (Some(1.0), Some(2.0)), "{tried:?}");
        assert_eq!(s.stopped(), None);
    }

    fn step(shards: u32, offered: f64, passed: bool) -> Step {
        Step {
            shards,
            step: 1,
            offered_rps: offered,
            achieved_rps: offered,
            achieved_pct: 100.0,
            achieved_bytes_per_s: offered * 100.0,
            throttled_pct: 0.0,
            put_p99_ms: 20.0,
            e2e_p99_ms: None,
            lost: 0,
            given_up: 0,
            passed,
            breached: Vec::new(),
            dir: PathBuf::from("steps/x"),
        }
    }

    fn result(shards: u32, max: f64) -> ShardResult {
        ShardResult {
            shards,
            estimate: Some(1000.0 * f64::from(shards)),
            max_rate: Some(max),
            max_step: Some(step(shards, max, true)),
            failed_rate: Some(max * 1.02),
            stopped: None,
        }
    }

    #[test]
    fn recommends_the_smallest_count_that_sustains_the_target() {
        let results = [result(1, 990.0), result(2, 1980.0), result(4, 3950.0)];
        let text = recommendation(&results, 1500.0);
        assert!(text.starts_with("for 1,500 records/s: 2 shards"), "{text}");
        assert!(!text.contains("hottest key"), "{text}");
        let text = recommendation(&results, 5000.0);
        assert!(text.contains("none of the shard counts"), "{text}");
    }

    #[test]
    fn says_when_more_shards_do_not_help() {
        // the calculator expected the hot key too (its estimates barely rise)
        let mut results = [result(1, 1000.0), result(4, 1050.0)];
        results[1].estimate = Some(1100.0);
        let text = recommendation(&results, 2000.0);
        assert!(
            text.contains("the hottest key, not the shard count"),
            "{text}"
        );
        // the calculator expected 4x: the shards are not what limits
        results[1].estimate = Some(4000.0);
        let text = recommendation(&results, 2000.0);
        assert!(text.contains("something other than the shards"), "{text}");
        assert!(!text.contains("hottest key"), "{text}");
        // a search that stopped early gives no ceiling to compare
        results[1].stopped = Some("stopped after 12 steps".into());
        let text = recommendation(&results, 2000.0);
        assert!(!text.contains("more than"), "{text}");
    }

    #[test]
    fn step_scenario_is_a_warmup_and_one_measured_phase() {
        let base = crate::scenario::parse(
            "[[phase]]\nduration = \"10s\"\nrate = 100\n[[phase]]\nduration = \"30s\"\nrate = { from = 1000, to = 200 }\n[consumer]\nstart = \"trim_horizon\"\n",
            "t.toml",
            "t",
        )
        .expect("valid");
        let settings = SweepSettings {
            shard_counts: vec![3],
            start: None,
            warmup: Duration::from_secs(2),
            measure: Duration::from_secs(5),
            precision: 0.02,
            max_steps: 10,
            run: RunSettings {
                out: PathBuf::from("results"),
                progress: false,
                embedded: Default::default(),
            },
        };
        let s = step_scenario(&base, 3, 2500.0, &settings, false);
        assert_eq!(s.target.shards, 3);
        assert_eq!(
            s.target.stream, base.target.stream,
            "one count: the scenario's stream"
        );
        assert_eq!(s.phase.len(), 2);
        assert!(!s.phase[0].measure && s.phase[1].measure);
        assert_eq!(s.phase[1].duration, Duration::from_secs(5));
        assert!(
            s.phase
                .iter()
                .all(|p| p.rate.from == 2500.0 && p.rate.to == 2500.0)
        );
        assert_eq!(s.consumers[0].start, Start::Latest);
        assert_eq!(
            step_scenario(&base, 3, 2500.0, &settings, true).consumers[0].start,
            Start::TrimHorizon
        );
        assert!(
            check_slo(&base)
                .expect_err("no SLO")
                .contains("add at least one")
        );
    }

    #[test]
    fn csv_has_one_row_per_step() {
        let dir = tempfile::tempdir().expect("tempdir");
        let steps = [step(1, 900.0, true), step(1, 1100.0, false)];
        write_csv(dir.path(), &steps).expect("written");
        let text = std::fs::read_to_string(dir.path().join("sweep.csv")).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("shards,step,offered_rps,achieved_rps"));
        assert!(lines[2].contains(",false,"), "{}", lines[2]);
    }
}
