//! What a variant's run concludes from every role's figures: whether the accounting holds, and
//! the SLO verdicts.

use crate::report::{Accounting, PhaseSummary, SloVerdict, VariantSummary};
use crate::scenario::Scenario;
use std::time::Duration;

/// Concludes: whether the accounting holds, whether the run failed and why, its status, and
/// the SLO verdicts. `fatal` is what stopped the run, if something did (the stream vanished,
/// the hard deadline). A run fails when kbench cannot vouch for what it measured: its books do
/// not add up, most records failed with errors, acknowledged records could not be verified, or
/// records were lost with no `max_lost` SLO to judge them. An interrupted or failed run's SLOs
/// are not evaluated: it did not run what they were set for, so a breach (or a pass) would be
/// one it did not measure.
pub fn conclude(
    summary: &mut VariantSummary,
    scenario: &Scenario,
    interrupted: bool,
    fatal: Option<String>,
) {
    let a = &mut summary.accounting;
    a.holds = a.scheduled == a.acknowledged + a.given_up
        && (!a.consumer || (a.lost == 0 && a.received_unacknowledged == 0));
    summary.failure =
        fatal.or_else(|| (!interrupted).then(|| failure(summary, scenario)).flatten());
    summary.status = status(summary.failure.is_some(), interrupted).into();
    if summary.failure.is_some() || interrupted {
        summary.slo.clear();
    } else if let Some(t) = summary.phases.last() {
        summary.slo = slo_verdicts(scenario, t, &summary.accounting);
    }
}

/// A run's (or a variant's) status: a failure outranks an interruption.
pub fn status(failed: bool, interrupted: bool) -> &'static str {
    if failed {
        "failed"
    } else if interrupted {
        "interrupted"
    } else {
        "completed"
    }
}

/// Why a run that ran to its end failed, in words, if it did.
fn failure(summary: &VariantSummary, scenario: &Scenario) -> Option<String> {
    let a = &summary.accounting;
    let n = crate::scenario::units::thousands;
    if a.scheduled != a.acknowledged + a.given_up {
        return Some(format!(
            "kbench's own accounting does not add up: scheduled {} but acknowledged {} + given up {}; this is a bug in kbench, please report it",
            n(a.scheduled),
            n(a.acknowledged),
            n(a.given_up)
        ));
    }
    // the first trouble with the endpoint, as the likely cause
    let cause = summary
        .incidents
        .first()
        .map(|i| format!("; {}", i.describe(n)))
        .unwrap_or_default();
    if a.given_up_error > 0 && a.given_up_error * 2 > a.scheduled {
        return Some(format!(
            "most records failed: {} of {} ({:.0}%) given up after errors{cause}",
            n(a.given_up_error),
            n(a.scheduled),
            a.given_up_error as f64 * 100.0 / a.scheduled as f64
        ));
    }
    if a.unverified > 0 {
        return Some(format!(
            "{} acknowledged records were not verified: {}",
            n(a.unverified),
            a.unverified_why.as_deref().unwrap_or("not read back")
        ));
    }
    if a.lost > 0 && scenario.slo.max_lost.is_none() {
        return Some(format!(
            "{} records lost: acknowledged, but not found though the consumer read every shard to its end (set [slo] max_lost to judge loss as an SLO)",
            n(a.lost)
        ));
    }
    None
}

fn slo_verdicts(scenario: &Scenario, t: &PhaseSummary, a: &Accounting) -> Vec<SloVerdict> {
    let s = &scenario.slo;
    let mut v = Vec::new();
    let fmt_ms = |d: Duration| format!("{:.1}ms", d.as_secs_f64() * 1000.0);
    if let Some(limit) = s.put_p99 {
        v.push(SloVerdict {
            name: "put_p99".into(),
            threshold: fmt_ms(limit),
            actual: format!("{:.1}ms", t.put.p99_ms),
            passed: t.put.p99_ms <= limit.as_secs_f64() * 1000.0,
        });
    }
    if let Some(limit) = s.e2e_p99 {
        v.push(SloVerdict {
            name: "e2e_p99".into(),
            threshold: fmt_ms(limit),
            actual: format!("{:.1}ms", t.e2e.p99_ms),
            passed: t.e2e.count > 0 && t.e2e.p99_ms <= limit.as_secs_f64() * 1000.0,
        });
    }
    if let Some(limit) = s.max_throttled_pct {
        v.push(SloVerdict {
            name: "max_throttled_pct".into(),
            threshold: format!("{limit}%"),
            actual: format!("{:.2}%", t.throttled_pct),
            passed: t.throttled_pct <= limit,
        });
    }
    if let Some(limit) = s.max_lost {
        v.push(SloVerdict {
            name: "max_lost".into(),
            threshold: limit.to_string(),
            actual: a.lost.to_string(),
            passed: a.lost <= limit,
        });
    }
    if let Some(limit) = s.min_achieved_pct {
        v.push(SloVerdict {
            name: "min_achieved_pct".into(),
            threshold: format!("{limit}%"),
            actual: format!("{:.2}%", t.achieved_pct),
            passed: t.achieved_pct >= limit,
        });
    }
    v
}
