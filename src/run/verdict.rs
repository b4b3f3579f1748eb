//! What a variant's run concludes from every role's figures: whether the accounting holds, and
//! the SLO verdicts.

use crate::report::{ConsumerSummary, PhaseSummary, SloVerdict, VariantSummary};
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
        && summary.consumers.iter().all(|c| c.accounting.holds());
    summary.failure =
        fatal.or_else(|| (!interrupted).then(|| failure(summary, scenario)).flatten());
    summary.status = status(summary.failure.is_some(), interrupted).into();
    if summary.failure.is_some() || interrupted {
        summary.slo.clear();
    } else if let Some(t) = summary.phases.last() {
        summary.slo = slo_verdicts(scenario, t, &summary.consumers);
        if let Some(d) = &summary.delivery {
            summary.slo.extend(delivery_verdicts(scenario, d));
        }
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
    let several = summary.consumers.len() > 1;
    let by = |name: &str| {
        if several {
            format!(" by consumer `{name}`")
        } else {
            String::new()
        }
    };
    for c in &summary.consumers {
        let r = &c.accounting;
        if r.unverified > 0 {
            return Some(format!(
                "{} acknowledged records were not verified{}: {}",
                n(r.unverified),
                by(&c.name),
                r.unverified_why.as_deref().unwrap_or("not read back")
            ));
        }
    }
    if let Some(d) = &summary.delivery {
        if d.unverified > 0 {
            return Some(format!(
                "{} acknowledged records were not verified in S3: {}",
                n(d.unverified),
                d.unverified_why.as_deref().unwrap_or("not delivered")
            ));
        }
        if d.lost > 0 && scenario.slo.max_delivery_lost.is_none() {
            return Some(format!(
                "{} records lost on the way to S3: acknowledged, but in no object under s3://{}/{} by the end of the delivery drain (set [slo] max_delivery_lost to judge it as an SLO, or a longer [delivery] drain)",
                n(d.lost),
                d.bucket,
                d.prefix
            ));
        }
    }
    for c in &summary.consumers {
        let judged = spec(scenario, &c.name).and_then(|s| s.max_lost(&scenario.slo));
        if c.accounting.lost > 0 && judged.is_none() {
            return Some(format!(
                "{} records lost{}: acknowledged, but not found though the consumer read every shard to its end (set [slo] max_lost to judge loss as an SLO)",
                n(c.accounting.lost),
                by(&c.name)
            ));
        }
    }
    None
}

/// The scenario's consumer of that name.
fn spec<'a>(scenario: &'a Scenario, name: &str) -> Option<&'a crate::scenario::Consumer> {
    scenario.consumers.iter().find(|c| c.name == name)
}

/// One SLO's verdict (of no one consumer).
fn verdict(name: &str, threshold: String, actual: String, passed: bool) -> SloVerdict {
    SloVerdict {
        name: name.into(),
        consumer: None,
        threshold,
        actual,
        passed,
    }
}

/// The delivery SLOs: `delivery_p99`, `max_delivery_lost`, `max_delivery_duplicates_pct`.
fn delivery_verdicts(scenario: &Scenario, d: &crate::report::DeliverySummary) -> Vec<SloVerdict> {
    let s = &scenario.slo;
    let mut v = Vec::new();
    if let Some(limit) = s.delivery_p99 {
        v.push(verdict(
            "delivery_p99",
            format!("{:.1}ms", limit.as_secs_f64() * 1000.0),
            format!("{:.1}ms", d.latency.p99_ms),
            d.latency.count > 0 && d.latency.p99_ms <= limit.as_secs_f64() * 1000.0,
        ));
    }
    if let Some(limit) = s.max_delivery_lost {
        v.push(verdict(
            "max_delivery_lost",
            limit.to_string(),
            d.lost.to_string(),
            d.lost <= limit,
        ));
    }
    if let Some(limit) = s.max_delivery_duplicates_pct {
        let pct = d.duplicates_pct();
        v.push(verdict(
            "max_delivery_duplicates_pct",
            format!("{limit}%"),
            format!("{pct:.2}%"),
            pct <= limit,
        ));
    }
    v
}

fn slo_verdicts(
    scenario: &Scenario,
    t: &PhaseSummary,
    consumers: &[ConsumerSummary],
) -> Vec<SloVerdict> {
    let s = &scenario.slo;
    let mut v = Vec::new();
    let fmt_ms = |d: Duration| format!("{:.1}ms", d.as_secs_f64() * 1000.0);
    if let Some(limit) = s.put_p99 {
        v.push(verdict(
            "put_p99",
            fmt_ms(limit),
            format!("{:.1}ms", t.put.p99_ms),
            t.put.p99_ms <= limit.as_secs_f64() * 1000.0,
        ));
    }
    // the consumers' SLOs judge every consumer, each by its own limit if it has one
    let several = consumers.len() > 1;
    let mut per_consumer = |name: &str, c: &ConsumerSummary, mut x: SloVerdict| {
        if several {
            x.name = format!("{name} ({})", c.name);
        }
        x.consumer = Some(c.name.clone());
        v.push(x);
    };
    for c in consumers {
        let Some(own) = spec(scenario, &c.name) else {
            continue;
        };
        let e2e = c.total().map(|t| t.e2e.clone()).unwrap_or_default();
        if let Some(limit) = own.e2e_p99(s) {
            let x = verdict(
                "e2e_p99",
                fmt_ms(limit),
                format!("{:.1}ms", e2e.p99_ms),
                e2e.count > 0 && e2e.p99_ms <= limit.as_secs_f64() * 1000.0,
            );
            per_consumer("e2e_p99", c, x);
        }
        if let Some(limit) = own.max_lost(s) {
            let lost = c.accounting.lost;
            per_consumer(
                "max_lost",
                c,
                verdict(
                    "max_lost",
                    limit.to_string(),
                    lost.to_string(),
                    lost <= limit,
                ),
            );
        }
    }
    if let Some(limit) = s.max_throttled_pct {
        v.push(verdict(
            "max_throttled_pct",
            format!("{limit}%"),
            format!("{:.2}%", t.throttled_pct),
            t.throttled_pct <= limit,
        ));
    }
    if let Some(limit) = s.min_achieved_pct {
        v.push(verdict(
            "min_achieved_pct",
            format!("{limit}%"),
            format!("{:.2}%", t.achieved_pct),
            t.achieved_pct >= limit,
        ));
    }
    v
}
