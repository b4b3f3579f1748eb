//! `kbench run`: load and check the scenario and the baseline, run, print the summary, compare
//! with the baseline, draw the charts, and say with the exit code what matters most.

use super::RunSettings;
use crate::console::{EXIT_BREACH, EXIT_ERROR, EXIT_FAILED, EXIT_OK, out, signals};
use crate::endpoint::embedded::EmbeddedOptions;
use crate::report::load::{self, ReportData};
use crate::report::regression::{RunComparison, Threshold, Thresholds};
use crate::report::{RunReport, RunSummary, summary};
use crate::scenario::{self, overrides::Overrides};
use anyhow::Context;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// What `kbench run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunCommand {
    /// The scenario file.
    pub scenario: PathBuf,
    /// The flags that change the scenario.
    pub overrides: Overrides,
    /// Where report directories go.
    pub out: PathBuf,
    /// Progress bars, when stdout is a terminal.
    pub progress: bool,
    /// The final summary as JSON on stdout instead of the table.
    pub json: bool,
    /// The report directory to compare the run with.
    pub baseline: Option<PathBuf>,
    /// How much worse than the baseline a metric may be.
    pub max_regression: Vec<Threshold>,
    pub embedded: EmbeddedOptions,
}

/// Runs the command; returns the exit code. `cancel` gives the token that stops the run (Ctrl-C
/// in the CLI): it is called once the scenario and the baseline are loaded, just before the run.
pub async fn execute(
    cmd: &RunCommand,
    cancel: impl FnOnce() -> CancellationToken,
) -> anyhow::Result<i32> {
    let (scenario, notes) = scenario::load_with_notes(&cmd.scenario)?;
    for note in notes {
        eprintln!("note: {note}");
    }
    let warnings = cmd.overrides.warnings(&scenario);
    let scenario = cmd.overrides.apply(scenario)?;
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    scenario
        .check_replay_length()
        .map_err(|e| anyhow::anyhow!("{}: `records.payload`: {e}", cmd.scenario.display()))?;
    if cmd.baseline.is_none() && !cmd.max_regression.is_empty() {
        anyhow::bail!(
            "--max-regression needs --baseline RUN_DIR (the report directory to compare with)"
        );
    }
    // a bad baseline is bad input: say so before the run, not after it
    let baseline = match &cmd.baseline {
        Some(dir) => {
            let base =
                load::load_summary(dir).with_context(|| format!("--baseline {}", dir.display()))?;
            let apis: Vec<&str> = scenario.producer.apis.iter().map(|a| a.name()).collect();
            if !base.variants.iter().any(|v| apis.contains(&v.api.as_str())) {
                anyhow::bail!(
                    "--baseline {}: that run has no API variant of this scenario (it ran {}, this scenario runs {}): nothing to compare",
                    dir.display(),
                    base.apis(),
                    apis.join(", ")
                );
            }
            Some(base)
        }
        None => None,
    };
    let settings = RunSettings {
        out: cmd.out.clone(),
        progress: cmd.progress && !cmd.json,
        embedded: cmd.embedded.clone(),
    };
    let outcome = super::run(&scenario, &settings, cancel()).await?;
    let dir = outcome.dir.display().to_string();
    if cmd.json {
        let report = RunReport {
            summary: &outcome.summary,
            scenario: &scenario,
            measured: &[],
        };
        out(&crate::report::json::summary_json(&report, &outcome.dir)?);
    } else {
        out(summary::render(&outcome.summary, &dir).trim_end());
    }
    // errors from here on are reported, and the exit code still says the most important thing:
    // failed (3), then interrupted (130, 143), then an error (1), then an SLO breach or a
    // regression (2)
    let mut failed = false;
    let mut worse_than_baseline = false;
    if let (Some(base), Some(base_dir)) = (&baseline, &cmd.baseline) {
        match against_baseline(base, base_dir, &outcome.summary, &outcome.dir, cmd) {
            Ok(regressed) => worse_than_baseline = regressed,
            Err(e) => {
                eprintln!("error: --baseline {}: {e:#}", base_dir.display());
                failed = true;
            }
        }
    }
    // after baseline.txt, so report.html shows the comparison
    // charts and report.html that cannot be written (a full disk) leave the report incomplete
    let mut report_error = outcome.report_error.clone();
    if let Err(e) = ReportData::load(&outcome.dir).and_then(|d| crate::report::write_visuals(&d)) {
        let why = format!("no charts or report.html: {e:#}");
        if report_error.is_none() {
            crate::report::mark_incomplete(&outcome.dir, &why);
            report_error = Some(why);
        }
    }
    if let Some(e) = &report_error {
        eprintln!("error: the report in {dir} is incomplete: {e}");
    }
    if let Some(failure) = &outcome.failure {
        eprintln!("error: the run failed: {failure}");
        return Ok(EXIT_FAILED);
    }
    if report_error.is_some() {
        return Ok(EXIT_FAILED);
    }
    if outcome.interrupted {
        return Ok(signals::interrupted_exit_code());
    }
    if outcome.summary.slo_breached() {
        eprintln!("SLO breached: {}", breaches(&outcome.summary).join(", "));
        return Ok(if failed { EXIT_ERROR } else { EXIT_BREACH });
    }
    Ok(if failed {
        EXIT_ERROR
    } else if worse_than_baseline {
        EXIT_BREACH
    } else {
        EXIT_OK
    })
}

/// Each breached SLO as "name = actual (limit threshold)", named by variant when there are several.
fn breaches(summary: &RunSummary) -> Vec<String> {
    let several = summary.variants.len() > 1;
    summary
        .variants
        .iter()
        .flat_map(|v| v.slo.iter().map(move |s| (v, s)))
        .filter(|(_, s)| !s.passed)
        .map(|(v, s)| {
            let name = if several {
                format!("{} {}", v.api, s.name)
            } else {
                s.name.clone()
            };
            format!("{name} = {} (limit {})", s.actual, s.threshold)
        })
        .collect()
}

/// Compares the finished run with the baseline, prints the table and keeps it as baseline.txt.
/// Returns whether it regressed.
fn against_baseline(
    base: &RunSummary,
    base_dir: &Path,
    run: &RunSummary,
    run_dir: &Path,
    cmd: &RunCommand,
) -> anyhow::Result<bool> {
    let c = RunComparison::of(base, run, &Thresholds::new(&cmd.max_regression))?;
    let text = c.render(
        &base_dir.display().to_string(),
        &run_dir.display().to_string(),
    );
    crate::report::write_atomically(&run_dir.join("baseline.txt"), text.as_bytes())?;
    if cmd.json {
        eprintln!("{}", text.trim_end());
    } else {
        out(&format!(
            "\ncompared with the baseline\n{}",
            text.trim_end()
        ));
    }
    let regressed = c.regressions().next().is_some();
    if regressed {
        eprintln!("baseline: {}", c.verdict());
    }
    Ok(regressed)
}
