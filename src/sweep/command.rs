//! `kbench sweep`: check the scenario and the flags, search every shard count, print each step
//! as it ends and then the answer.

use super::{SweepSettings, calculator, recommended, render, step_line, stream_name};
use crate::console::{EXIT_BREACH, EXIT_INTERRUPTED, EXIT_OK, out};
use crate::scenario::{self, Slo, overrides::Overrides, units};
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What `kbench sweep` was asked to do.
#[derive(Debug, Clone)]
pub struct SweepCommand {
    /// The scenario file, with an [slo].
    pub scenario: PathBuf,
    /// Endpoint, region, stream and seed flags.
    pub overrides: Overrides,
    /// The API to sweep when the scenario lists several.
    pub api: Option<String>,
    /// The rate to size for (default: the scenario's peak rate).
    pub target_rate: Option<f64>,
    /// How the sweep runs; no shard counts: the scenario's.
    pub settings: SweepSettings,
}

/// Runs the sweep; exit 2 when no shard count tried sustains the target rate. `cancel` gives the
/// token that stops it (Ctrl-C in the CLI), called just before the first step.
pub async fn execute(
    cmd: &SweepCommand,
    cancel: impl FnOnce() -> CancellationToken,
) -> anyhow::Result<i32> {
    let path = cmd.scenario.display().to_string();
    let mut scenario = cmd.overrides.apply(scenario::load(&cmd.scenario)?)?;
    if let Some(name) = &cmd.api {
        let api = scenario::Api::parse(name).map_err(|e| anyhow::anyhow!("--api: {e}"))?;
        scenario.producer.apis = vec![api];
    }
    super::check_slo(&scenario).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    let target = match (cmd.target_rate, scenario.max_rate_phase()) {
        (Some(rate), _) => rate,
        (None, None) => scenario.peak_rate(),
        (None, Some((key, name))) => anyhow::bail!(
            "{}: {key} (phase `{name}`) runs at rate = \"max\", which sets no target to sweep for; give --target-rate RECORDS_PER_S",
            cmd.scenario.display()
        ),
    };
    // the calculator's capacity per shard count: the start of each search, and shown beside it
    let workload = calculator(&scenario, target);
    let mut settings = cmd.settings.clone();
    if settings.shard_counts.is_empty() {
        settings.shard_counts = vec![scenario.target.shards];
    }
    for &n in &settings.shard_counts {
        let name = stream_name(&scenario, n, &settings);
        scenario::validate::check_stream_name(&name).map_err(|e| {
            anyhow::anyhow!(
                "the stream for {n} shards, `{name}`: {e}; choose a shorter name with --stream"
            )
        })?;
    }
    let counts: Vec<String> = settings
        .shard_counts
        .iter()
        .map(|n| n.to_string())
        .collect();
    out(&format!(
        "kbench sweep {path}: {} on {} shards; each step {} warm-up + {} measured; a step passes when every SLO holds ({}); starting {}",
        scenario.producer.apis[0],
        counts.join(", "),
        units::format_duration(settings.warmup),
        units::format_duration(settings.measure),
        slo_text(&scenario.slo),
        match (settings.start, &workload) {
            (Some(r), _) => format!("at {r} records/s"),
            (None, Some(_)) => "at the calculator's estimate".into(),
            (None, None) => "at 1,000 records/s per shard (the payload, a JSON template or replayed records, sizes its own records, so the calculator cannot; --start sets the first rate)".into(),
        }
    ));
    let outcome = super::run(&scenario, &settings, workload.as_ref(), cancel(), |step| {
        out(&step_line(step))
    })
    .await?;
    out("");
    out(render(&outcome, target).trim_end());
    out(&format!(
        "sweep.csv, sweep.svg (the knee chart) and each step's report under steps/: {}",
        outcome.dir.display()
    ));
    if outcome.interrupted {
        return Ok(EXIT_INTERRUPTED);
    }
    Ok(if recommended(&outcome.results, target).is_some() {
        EXIT_OK
    } else {
        EXIT_BREACH
    })
}

/// The SLO in one line, e.g. "max_throttled_pct 0.1%, min_achieved_pct 99%".
fn slo_text(slo: &Slo) -> String {
    let ms = |d: Duration| format!("{}ms", d.as_millis());
    [
        slo.put_p99.map(|d| format!("put_p99 {}", ms(d))),
        slo.e2e_p99.map(|d| format!("e2e_p99 {}", ms(d))),
        slo.max_throttled_pct
            .map(|v| format!("max_throttled_pct {v}%")),
        slo.max_lost.map(|v| format!("max_lost {v}")),
        slo.min_achieved_pct
            .map(|v| format!("min_achieved_pct {v}%")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ")
}
