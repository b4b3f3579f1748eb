//! The terminal summary: a compact table per phase, the accounting invariant and SLO verdicts.

use super::{LatencySummary, RunSummary};
use std::fmt::Write;

fn ms(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1}s", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0}ms")
    } else {
        format!("{v:.1}ms")
    }
}

fn lat(l: &LatencySummary, v: f64) -> String {
    if l.count == 0 { "-".into() } else { ms(v) }
}

/// Renders the summary for a terminal.
pub fn render(s: &RunSummary, dir: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nkbench {} — {} in {:.1}s on {} (stream {}, {} shards, {})",
        s.scenario, s.status, s.elapsed_s, s.endpoint, s.stream, s.shards, s.api
    );
    let _ = writeln!(
        out,
        "{:<18} {:>10} {:>10} {:>9} {:>9} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "phase",
        "offered/s",
        "achieved/s",
        "acked",
        "throttled",
        "retried",
        "gave up",
        "put p50",
        "put p99",
        "e2e p50",
        "e2e p99"
    );
    for p in &s.phases {
        let name = if p.measure {
            p.phase.clone()
        } else {
            format!("{} *", p.phase)
        };
        let c = &p.counters;
        let _ = writeln!(
            out,
            "{:<18} {:>10.1} {:>10.1} {:>9} {:>9} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9}",
            truncate(&name, 18),
            p.offered_rps,
            p.achieved_rps,
            c.acknowledged,
            c.throttled,
            c.retried,
            c.given_up(),
            lat(&p.put, p.put.p50_ms),
            lat(&p.put, p.put.p99_ms),
            lat(&p.e2e, p.e2e.p50_ms),
            lat(&p.e2e, p.e2e.p99_ms),
        );
    }
    if s.phases.iter().any(|p| !p.measure) {
        let _ = writeln!(
            out,
            "* not measured (warm-up): excluded from the total and the SLOs"
        );
    }
    let a = &s.accounting;
    let mark = |ok: bool| if ok { "ok" } else { "MISMATCH" };
    let sent_ok = a.scheduled == a.acknowledged + a.given_up;
    let _ = writeln!(
        out,
        "\naccounting: scheduled {} = acknowledged {} + given up {} (throttled {}, errors {}, interrupted {})  [{}]",
        a.scheduled,
        a.acknowledged,
        a.given_up,
        a.given_up_throttled,
        a.given_up_error,
        a.given_up_interrupted,
        mark(sent_ok)
    );
    if a.consumer {
        let _ = writeln!(
            out,
            "            received {} distinct of {} acknowledged; lost {}, duplicates {}, unacknowledged but received {}  [{}]",
            a.received,
            a.acknowledged,
            a.lost,
            a.duplicates,
            a.received_unacknowledged,
            mark(a.lost == 0 && a.received_unacknowledged == 0)
        );
    } else {
        let _ = writeln!(
            out,
            "            consumer disabled: nothing was read back, loss not checked"
        );
    }
    if let Some(t) = s.total() {
        let _ = writeln!(
            out,
            "latency (measured): put p99 {} (uncorrected {}, per call {}), e2e p99 {} (in stream {}), schedule lag p99 {}",
            lat(&t.put, t.put.p99_ms),
            lat(&t.put_uncorrected, t.put_uncorrected.p99_ms),
            lat(&t.put_service, t.put_service.p99_ms),
            lat(&t.e2e, t.e2e.p99_ms),
            lat(&t.in_stream, t.in_stream.p99_ms),
            lat(&t.schedule_lag, t.schedule_lag.p99_ms),
        );
    }
    for w in &s.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    if !s.slo.is_empty() {
        let verdicts: Vec<String> = s
            .slo
            .iter()
            .map(|v| {
                format!(
                    "{} {} (limit {}) {}",
                    v.name,
                    v.actual,
                    v.threshold,
                    if v.passed { "ok" } else { "BREACHED" }
                )
            })
            .collect();
        let _ = writeln!(out, "SLO: {}", verdicts.join("; "));
    }
    let _ = writeln!(out, "report: {dir}");
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}
