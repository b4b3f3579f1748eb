//! What a variant's run concludes from every role's figures: whether the accounting holds, and
//! the SLO verdicts.

use crate::report::{Accounting, PhaseSummary, SloVerdict, VariantSummary};
use crate::scenario::Scenario;
use std::time::Duration;

/// Checks the accounting and the SLOs once every role has added its figures. An interrupted
/// run's SLOs are not evaluated: it did not run what the SLOs were set for, and its drain was
/// cut short, so a breach (or a pass) would be one it did not measure.
pub fn conclude(summary: &mut VariantSummary, scenario: &Scenario, interrupted: bool) {
    let a = &mut summary.accounting;
    a.holds = a.scheduled == a.acknowledged + a.given_up
        && (!a.consumer || (a.lost == 0 && a.received_unacknowledged == 0));
    if interrupted {
        summary.slo.clear();
    } else if let Some(t) = summary.phases.last() {
        summary.slo = slo_verdicts(scenario, t, &summary.accounting);
    }
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
