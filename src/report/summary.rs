//! The terminal summary: a compact table per phase, the accounting invariant and SLO verdicts.

use super::compare::Comparison;
use super::{LatencySummary, RunSummary, VariantSummary};
use std::fmt::Write;

/// Milliseconds as "13.0ms", "250ms" or "12.5s".
pub(crate) fn ms(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1}s", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0}ms")
    } else {
        format!("{v:.1}ms")
    }
}

pub(crate) fn lat(l: &LatencySummary, v: f64) -> String {
    if l.count == 0 { "-".into() } else { ms(v) }
}

/// Renders the summary for a terminal.
pub fn render(s: &RunSummary, dir: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nkbench {} — {} in {:.1}s on {} (stream {}, {} shards, {})",
        s.scenario,
        s.status,
        s.elapsed_s,
        s.endpoint,
        s.stream,
        s.shards,
        s.apis()
    );
    let several = s.variants.len() + s.not_run.len() > 1;
    for v in &s.variants {
        if several {
            let _ = writeln!(out, "\n── {} ── {} in {:.1}s", v.api, v.status, v.elapsed_s);
        }
        render_variant(&mut out, v);
    }
    for api in &s.not_run {
        let _ = writeln!(
            out,
            "\n── {api} ── not run: the run {} before it",
            stopped(&s.status)
        );
    }
    if let Some(c) = &s.comparison {
        render_comparison(&mut out, c);
    }
    if let Some(injected) = &s.faults_injected {
        let said = injected.describe();
        let said = if said.is_empty() { "none" } else { &said };
        let _ = writeln!(out, "faults injected: {said}");
    }
    if let Some(e) = &s.report_error {
        let _ = writeln!(
            out,
            "failed: the report is incomplete (the figures above are whole): {e}"
        );
    }
    let _ = writeln!(out, "report: {dir}");
    out
}

/// Each consumer's read accounting, named when the run has several (a report of schema 2 has
/// only the one in `accounting`).
pub(crate) fn read_accounts(s: &VariantSummary) -> Vec<(Option<&str>, &super::ReadAccounting)> {
    match s.consumers.as_slice() {
        [] => vec![(None, &s.accounting.reads)],
        [one] => vec![(None, &one.accounting)],
        many => many
            .iter()
            .map(|c| (Some(c.name.as_str()), &c.accounting))
            .collect(),
    }
}

/// The columns of the consumer table (terminal and report.html).
pub(crate) const CONSUMER_COLUMNS: [&str; 10] = [
    "consumer",
    "kind",
    "received",
    "lost",
    "e2e p50",
    "e2e p99",
    "reads",
    "throttled",
    "behind max",
    "renewals",
];

/// One row of the consumer table per consumer, over the measured phases.
pub(crate) fn consumer_rows(s: &VariantSummary) -> Vec<[String; 10]> {
    s.consumers
        .iter()
        .map(|c| {
            let t = c.total().cloned().unwrap_or_default();
            [
                c.name.clone(),
                c.kind.clone(),
                crate::scenario::units::thousands(c.accounting.received),
                crate::scenario::units::thousands(c.accounting.lost),
                lat(&t.e2e, t.e2e.p50_ms),
                lat(&t.e2e, t.e2e.p99_ms),
                crate::scenario::units::thousands(t.counters.get_calls),
                crate::scenario::units::thousands(t.counters.get_throttled),
                t.behind_ms_max.map_or("-".into(), |b| ms(b as f64)),
                if c.kind == "efo" {
                    c.renewals.to_string()
                } else {
                    "-".into()
                },
            ]
        })
        .collect()
}

/// The consumer table: each consumer's end-to-end latency, reads, read throttles and how far
/// behind the stream's tip its reads were told they were.
fn render_consumers(out: &mut String, s: &VariantSummary) {
    if s.consumers.is_empty() {
        return;
    }
    const WIDTHS: [usize; 10] = [18, 7, 10, 7, 9, 9, 9, 9, 10, 8];
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(WIDTHS)
            .enumerate()
            .map(|(i, (c, w))| {
                if i < 2 {
                    format!("{:<w$}", truncate(c, w))
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let head: Vec<String> = CONSUMER_COLUMNS.iter().map(|c| c.to_string()).collect();
    let _ = writeln!(
        out,
        "
{}",
        line(&head)
    );
    for row in consumer_rows(s) {
        let _ = writeln!(out, "{}", line(&row));
    }
    let _ = writeln!(
        out,
        "(measured phases; reads: GetRecords calls, or SubscribeToShard events; behind: MillisBehindLatest)"
    );
}

/// The delivery leg: what landed in S3, and how long it took.
fn render_delivery(out: &mut String, s: &VariantSummary) {
    let Some(d) = &s.delivery else {
        return;
    };
    let unverified = match (d.unverified, &d.unverified_why) {
        (0, _) => String::new(),
        (n, why) => format!(
            ", not verified {n} ({})",
            why.as_deref()
                .unwrap_or("not delivered before the run ended")
        ),
    };
    let _ = writeln!(
        out,
        "\ndelivery ({} -> s3://{}/{}): {} of {} acknowledged delivered in {} objects ({}); lost {}, duplicates {}{unverified}  [{}]",
        d.kind,
        d.bucket,
        d.prefix,
        d.delivered,
        s.accounting.acknowledged,
        d.objects,
        bytesize::ByteSize::b(d.bytes).display().iec(),
        d.lost,
        d.duplicates,
        d.mark()
    );
    if d.latency.count > 0 {
        let _ = writeln!(
            out,
            "            delivery latency p50 {}, p99 {}, max {} (intended send -> object first listed, every second)",
            lat(&d.latency, d.latency.p50_ms),
            lat(&d.latency, d.latency.p99_ms),
            lat(&d.latency, d.latency.max_ms),
        );
    }
}

/// The columns of the phase table (terminal and report.html).
pub(crate) const PHASE_COLUMNS: [&str; 11] = [
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
    "e2e p99",
];

/// One variant: phases, shards, accounting, latency, warnings, SLO verdicts.
fn render_variant(out: &mut String, s: &VariantSummary) {
    // the widths of the rows below: the name left-aligned, the figures right-aligned
    const WIDTHS: [usize; 11] = [18, 10, 10, 9, 9, 8, 8, 9, 9, 9, 9];
    let head: Vec<String> = PHASE_COLUMNS
        .iter()
        .zip(WIDTHS)
        .enumerate()
        .map(|(i, (c, w))| {
            if i == 0 {
                format!("{c:<w$}")
            } else {
                format!("{c:>w$}")
            }
        })
        .collect();
    let _ = writeln!(out, "{}", head.join(" "));
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
    render_shards(out, s);
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
        for (name, r) in read_accounts(s) {
            let who = name.map(|n| format!("{n}: ")).unwrap_or_default();
            let _ = writeln!(
                out,
                "            {who}received {} distinct of {} acknowledged; lost {}, duplicates {}, unacknowledged but received {}{}  [{}]",
                r.received,
                a.acknowledged,
                r.lost,
                r.duplicates,
                r.received_unacknowledged,
                r.unverified_note(|n| n.to_string()),
                r.mark()
            );
        }
    } else {
        let _ = writeln!(
            out,
            "            consumer disabled: nothing was read back, loss not checked"
        );
    }
    render_consumers(out, s);
    render_delivery(out, s);
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
    for i in &s.incidents {
        let _ = writeln!(
            out,
            "incident: {}",
            i.describe(crate::scenario::units::thousands)
        );
    }
    if let Some(f) = &s.failure {
        let _ = writeln!(out, "failed: {f}");
    }
    if let Some(why) = super::slos_not_evaluated(&s.status) {
        let _ = writeln!(
            out,
            "SLO: {why} (the figures above are what was measured, as it happened)"
        );
    } else if !s.slo.is_empty() {
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
}

/// The variants side by side, then the winners.
fn render_comparison(out: &mut String, c: &Comparison) {
    let _ = writeln!(
        out,
        "\ncomparison (measured phases)\n{:<24} {:>9} {:>10} {:>8} {:>9} {:>17} {:>24} {:>17} {:>9} {:>8} {:>8} {:>9} {:>10} {:>9}",
        "api",
        "offered/s",
        "achieved/s",
        "calls",
        "rec/call",
        "call p50/p99/p999",
        "record p50/p99/p999",
        "e2e p50/p99",
        "throttled",
        "retried",
        "gave up",
        "PUT units",
        "req MiB",
        "verified"
    );
    for r in &c.rows {
        let three = |a: f64, b: f64, cc: f64| format!("{}/{}/{}", ms(a), ms(b), ms(cc));
        let _ = writeln!(
            out,
            "{:<24} {:>9.0} {:>10.1} {:>8} {:>9.1} {:>17} {:>24} {:>17} {:>9} {:>8} {:>8} {:>9} {:>10.1} {:>9}",
            r.api,
            r.offered_rps,
            r.achieved_rps,
            r.calls,
            r.records_per_call,
            three(r.put_call_p50_ms, r.put_call_p99_ms, r.put_call_p999_ms),
            three(
                r.put_record_p50_ms,
                r.put_record_p99_ms,
                r.put_record_p999_ms
            ),
            format!("{}/{}", ms(r.e2e_p50_ms), ms(r.e2e_p99_ms)),
            r.throttled,
            r.retried,
            r.given_up,
            r.put_units,
            r.request_bytes as f64 / (1024.0 * 1024.0),
            if r.status != "completed" {
                r.status.clone()
            } else if r.verified {
                "yes".to_string()
            } else if r.lost > 0 {
                format!("NO ({} lost)", r.lost)
            } else {
                "NO (see accounting)".to_string()
            }
        );
    }
    for w in &c.winners {
        let _ = writeln!(out, "{w}");
    }
}

/// The per-shard view: every shard up to 16, else the 8 hottest.
fn render_shards(out: &mut String, s: &VariantSummary) {
    if s.per_shard.len() < 2 {
        return;
    }
    let mut rows: Vec<_> = s.per_shard.iter().collect();
    let title = if rows.len() > 16 {
        rows.sort_by(|a, b| b.share_pct.total_cmp(&a.share_pct));
        rows.truncate(8);
        "the 8 hottest shards (measured)"
    } else {
        "shards (measured)"
    };
    let even = 100.0 / s.per_shard.len() as f64;
    let _ = writeln!(
        out,
        "\n{:<24} {:>10} {:>10} {:>8} {:>10} {:>10}",
        title, "records/s", "KiB/s", "share", "peak rec/s", "throttled"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<24} {:>10.1} {:>10.1} {:>7.1}% {:>10.0} {:>10}",
            r.shard_id,
            r.records_per_s,
            r.bytes_per_s / 1024.0,
            r.share_pct,
            r.peak_records_per_s,
            r.throttled
        );
    }
    let _ = writeln!(
        out,
        "(an even share is {even:.1}%; limits: 1,000 records/s and 1,024 KiB/s per shard)"
    );
    if s.api == crate::scenario::Api::PutRecordsAggregated.name() {
        let _ = writeln!(
            out,
            "(user records and their bytes; an aggregate counts as one record toward the shard's 1,000 records/s)"
        );
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

/// How a run that left variants out stopped: "was interrupted" or "failed".
pub(crate) fn stopped(status: &str) -> &'static str {
    if status == "failed" {
        "failed"
    } else {
        "was interrupted"
    }
}
