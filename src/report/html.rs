//! report.html: the run at a glance in one self-contained file. The verdict first, then the
//! comparison of the variants, the scenario's parameters, and per variant the phase table, the
//! accounting, the SLO verdicts, warnings, the shards and the charts (inline SVG). Written as
//! XHTML (it parses as XML), with an inline style sheet and nothing loaded from anywhere: no
//! scripts, fonts, images or links out.

use super::charts::Chart;
use super::compare::{Comparison, ComparisonRow};
use super::load::ReportData;
use super::summary::{lat, ms};
use super::{PhaseSummary, RunSummary, VariantSummary};
use std::fmt::Write;

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;color:#222;background:#fff;max-width:1000px;margin:0 auto;padding:12px 24px 40px}
h1{font-size:22px;margin:8px 0 6px}
h2{font-size:18px;margin:36px 0 8px;padding-bottom:4px;border-bottom:2px solid #ddd}
h3{font-size:15px;margin:22px 0 6px}
.verdict{margin:8px 0 14px;padding:8px 12px;border-radius:4px;font-weight:600}
.verdict.good{background:#e7f4ec;border-left:5px solid #1e7b34}
.verdict.bad{background:#fbeaea;border-left:5px solid #b3261e}
dl{display:grid;grid-template-columns:max-content 1fr;gap:1px 16px;margin:0}
dt{color:#666}
dd{margin:0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:4px 0}
th,td{padding:3px 8px;border-bottom:1px solid #e6e6e6;text-align:right;white-space:nowrap}
th{background:#f4f4f4;font-weight:600}
th:first-child,td:first-child,td.text,th.text{text-align:left}
tr.unmeasured td{color:#777;font-style:italic}
tr.total td{font-weight:600;border-top:2px solid #bbb}
.ok{color:#1e7b34;font-weight:600}
.bad{color:#b3261e;font-weight:600}
.note{color:#666;font-size:13px;margin:4px 0}
ul{margin:4px 0;padding-left:22px}
li.warning{color:#8a5a00}
figure{margin:18px 0}
figure svg{display:block;max-width:100%;height:auto}
nav a{margin-right:14px}
code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;overflow-wrap:anywhere}
";

/// report.html for `data`, with `charts` (from [`super::charts::render`]) inline, each under its
/// variant.
pub fn render(data: &ReportData, charts: &[Chart]) -> String {
    let s = &data.summary;
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
    let _ = writeln!(
        out,
        "<title>kbench {} ({})</title>",
        esc(&s.scenario),
        esc(&s.status)
    );
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");

    let _ = writeln!(out, "<h1>kbench {}</h1>", esc(&s.scenario));
    let (good, verdict) = verdict(s, data.baseline.as_deref());
    let _ = writeln!(
        out,
        "<p class=\"verdict {}\">{}</p>",
        if good { "good" } else { "bad" },
        esc(&verdict)
    );
    render_header(&mut out, s);
    if let Some(text) = &data.baseline {
        let _ = writeln!(
            out,
            "<h2 id=\"baseline\">Compared with the baseline</h2>\n<div class=\"scroll\"><pre>{}</pre></div>",
            esc(text.trim_end())
        );
    }

    let several = s.variants.len() + s.not_run.len() > 1;
    if several {
        out.push_str("<nav><p>");
        if s.comparison.is_some() {
            out.push_str("<a href=\"#comparison\">comparison</a>");
        }
        if data.scenario.effective.is_object() {
            out.push_str("<a href=\"#scenario\">scenario</a>");
        }
        for v in &s.variants {
            let _ = write!(out, "<a href=\"#{0}\">{0}</a>", esc(&anchor(&v.api)));
        }
        out.push_str("</p></nav>\n");
    }
    // with several variants, their comparison is the answer: it comes first, then what was run
    if let Some(c) = &s.comparison {
        render_comparison(&mut out, c);
    }
    super::scenario_section::render(&mut out, &data.scenario);
    if let Some(injected) = &s.faults_injected {
        let said = injected.describe();
        let _ = writeln!(
            out,
            "<p class=\"warning\">faults injected by the endpoint ([target.faults]): {}</p>",
            esc(if said.is_empty() { "none" } else { &said })
        );
    }

    let mut shown = vec![false; charts.len()];
    for v in &s.variants {
        let prefix = format!("{}-", v.api);
        let mine: Vec<&Chart> = charts
            .iter()
            .zip(shown.iter_mut())
            .filter(|(c, _)| c.file_name.starts_with(&prefix))
            .map(|(c, seen)| {
                *seen = true;
                c
            })
            .collect();
        render_variant(&mut out, v, several, &mine);
    }
    let others: Vec<&Chart> = charts
        .iter()
        .zip(&shown)
        .filter(|(_, seen)| !**seen)
        .map(|(c, _)| c)
        .collect();
    if !others.is_empty() {
        out.push_str("<h2>Other charts</h2>\n");
        render_charts(&mut out, &others);
    }

    for api in &s.not_run {
        let _ = writeln!(
            out,
            "<h2 id=\"{}\">{}: not run</h2>\n<p>The run {} before it.</p>",
            esc(&anchor(api)),
            esc(api),
            super::summary::stopped(&s.status)
        );
    }
    let _ = writeln!(
        out,
        "<p class=\"note\">Written by kbench {} from run.json, timeseries.csv and latency.csv; the charts are also in charts/.</p>",
        esc(&s.kbench_version)
    );
    out.push_str("</body>\n</html>\n");
    out
}

/// Escapes text for XML content and attribute values.
pub(super) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // characters XML 1.0 does not allow
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// An id for an element: the API name (letters, digits, '_' and '-' only).
fn anchor(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// 51000 -> "51,000".
pub(crate) fn count(n: u64) -> String {
    crate::scenario::units::thousands(n)
}

/// A rate: "3,000.5".
fn rate(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let whole = v.trunc();
    let tenth = ((v - whole).abs() * 10.0).round();
    let (whole, tenth) = if tenth >= 10.0 {
        (whole + v.signum(), 0.0)
    } else {
        (whole, tenth)
    };
    let sign = if v < 0.0 && (whole != 0.0 || tenth != 0.0) {
        "-"
    } else {
        ""
    };
    format!("{sign}{}.{tenth:.0}", count(whole.abs() as u64))
}

/// "2026-11-26 00:14:08 UTC" from an RFC 3339 time, or the text as it is.
fn when(t: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(t) {
        Ok(d) => d
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        Err(_) => t.to_string(),
    }
}

/// The one line at the top: good or not, and why.
/// The last line of baseline.txt: no regression, or "regressed: ...".
fn baseline_verdict(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
}

fn verdict(s: &RunSummary, baseline: Option<&str>) -> (bool, String) {
    let several = s.variants.len() > 1;
    let mut parts = Vec::new();
    let mut good = true;
    if s.status == "completed" {
        parts.push(format!("completed in {:.1} s", s.elapsed_s));
    } else {
        good = false;
        match s.variants.iter().find_map(|v| v.failure.as_deref()) {
            Some(why) => parts.push(format!("run failed: {why}")),
            None => parts.push(format!("run {}", s.status)),
        }
    }
    let slos: Vec<(&VariantSummary, &super::SloVerdict)> = s
        .variants
        .iter()
        .flat_map(|v| v.slo.iter().map(move |x| (v, x)))
        .collect();
    let breached: Vec<String> = slos
        .iter()
        .filter(|(_, x)| !x.passed)
        .map(|(v, x)| {
            let whose = if several {
                format!(" ({})", v.api)
            } else {
                String::new()
            };
            format!("{}{whose} {} (limit {})", x.name, x.actual, x.threshold)
        })
        .collect();
    let not_evaluated = std::iter::once(s.status.as_str())
        .chain(s.variants.iter().map(|v| v.status.as_str()))
        .find_map(super::slos_not_evaluated);
    if let Some(why) = not_evaluated {
        parts.push(why.to_string());
    } else if slos.is_empty() {
        parts.push("no SLOs set".to_string());
    } else if breached.is_empty() {
        parts.push(format!("SLOs: all {} passed", slos.len()));
    } else {
        good = false;
        parts.push(format!("SLO BREACHED: {}", breached.join("; ")));
    }
    let mismatched: Vec<&str> = s
        .variants
        .iter()
        .filter(|v| !v.accounting.holds)
        .map(|v| v.api.as_str())
        .collect();
    if s.variants.is_empty() {
        good = false;
        parts.push("no variant ran".to_string());
    } else if mismatched.is_empty() {
        parts.push("accounting holds: every record accounted for".to_string());
    } else {
        good = false;
        if several {
            parts.push(format!("accounting MISMATCH in {}", mismatched.join(", ")));
        } else {
            parts.push("accounting MISMATCH".to_string());
        }
    }
    if !s.not_run.is_empty() {
        good = false;
        parts.push(format!("not run: {}", s.not_run.join(", ")));
    }
    if let Some(text) = baseline {
        let line = baseline_verdict(text);
        good &= !line.starts_with(super::regression::REGRESSED);
        parts.push(format!("baseline: {line}"));
    }
    (good, parts.join(" · "))
}

fn render_header(out: &mut String, s: &RunSummary) {
    let endpoint = if s.region.is_empty() {
        s.endpoint.clone()
    } else {
        format!("{} ({})", s.endpoint, s.region)
    };
    let ended = s
        .ended_at
        .as_deref()
        .map(when)
        .unwrap_or_else(|| "-".into());
    let rows = [
        ("scenario", s.scenario.clone()),
        ("status", s.status.clone()),
        ("endpoint", endpoint),
        ("stream", s.stream.clone()),
        ("shards", s.shards.to_string()),
        ("apis", s.apis()),
        ("started", when(&s.started_at)),
        ("ended", ended),
        ("elapsed", format!("{:.1} s", s.elapsed_s)),
        ("kbench", s.kbench_version.clone()),
    ];
    out.push_str("<dl>\n");
    for (k, v) in rows {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
    }
    out.push_str("</dl>\n");
}

/// A table from a header and rows of cells (already escaped HTML), the first column text.
pub(super) fn table(out: &mut String, head: &[&str], rows: &[(String, Vec<String>)]) {
    out.push_str("<div class=\"scroll\"><table>\n<thead><tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (class, cells) in rows {
        if class.is_empty() {
            out.push_str("<tr>");
        } else {
            let _ = write!(out, "<tr class=\"{class}\">");
        }
        for c in cells {
            let _ = write!(out, "<td>{c}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
}

fn ok_mark(ok: bool) -> &'static str {
    if ok {
        "<span class=\"ok\">ok</span>"
    } else {
        "<span class=\"bad\">MISMATCH</span>"
    }
}

fn render_variant(out: &mut String, v: &VariantSummary, several: bool, charts: &[&Chart]) {
    if several {
        let _ = writeln!(
            out,
            "<h2 id=\"{}\">{}: {} in {:.1} s</h2>",
            esc(&anchor(&v.api)),
            esc(&v.api),
            esc(&v.status),
            v.elapsed_s
        );
    } else {
        let _ = writeln!(
            out,
            "<h2 id=\"{}\">{}</h2>",
            esc(&anchor(&v.api)),
            esc(&v.api)
        );
    }

    out.push_str("<h3>Phases</h3>\n");
    let rows: Vec<(String, Vec<String>)> = v
        .phases
        .iter()
        .enumerate()
        .map(|(i, p)| phase_row(p, i + 1 == v.phases.len()))
        .collect();
    table(out, &super::summary::PHASE_COLUMNS, &rows);
    if v.phases.iter().any(|p| !p.measure) {
        out.push_str("<p class=\"note\">* not measured (warm-up): excluded from the total and the SLOs</p>\n");
    }

    out.push_str("<h3>Accounting</h3>\n");
    let a = &v.accounting;
    let sent_ok = a.scheduled == a.acknowledged + a.given_up;
    let _ = writeln!(
        out,
        "<p>scheduled {} = acknowledged {} + given up {} (throttled {}, errors {}, interrupted {}) {}</p>",
        count(a.scheduled),
        count(a.acknowledged),
        count(a.given_up),
        count(a.given_up_throttled),
        count(a.given_up_error),
        count(a.given_up_interrupted),
        ok_mark(sent_ok)
    );
    if a.consumer {
        for (name, r) in super::summary::read_accounts(v) {
            let who = name.map(|n| format!("{n}: ")).unwrap_or_default();
            let _ = writeln!(
                out,
                "<p>{}received {} distinct of {} acknowledged; lost {}, duplicates {}, unacknowledged but received {}{} {}</p>",
                esc(&who),
                count(r.received),
                count(a.acknowledged),
                count(r.lost),
                count(r.duplicates),
                count(r.received_unacknowledged),
                esc(&r.unverified_note(count)),
                if r.holds() && r.unverified > 0 {
                    "<span class=\"bad\">NOT VERIFIED</span>"
                } else {
                    ok_mark(r.holds())
                }
            );
        }
    } else {
        out.push_str("<p>consumer disabled: nothing was read back, loss not checked</p>\n");
    }
    if !v.consumers.is_empty() {
        out.push_str("<h3>Consumers</h3>\n");
        let rows: Vec<(String, Vec<String>)> = super::summary::consumer_rows(v)
            .into_iter()
            .map(|r| (String::new(), r.iter().map(|c| esc(c)).collect()))
            .collect();
        table(out, &super::summary::CONSUMER_COLUMNS, &rows);
        out.push_str("<p class=\"note\">measured phases; reads: GetRecords calls, or SubscribeToShard events; behind: the highest MillisBehindLatest the reads were told</p>\n");
    }
    if let Some(t) = v.total() {
        let _ = writeln!(
            out,
            "<p>latency (measured): put p99 {} (uncorrected {}, per call {}), e2e p99 {} (in stream {}), schedule lag p99 {}</p>",
            esc(&lat(&t.put, t.put.p99_ms)),
            esc(&lat(&t.put_uncorrected, t.put_uncorrected.p99_ms)),
            esc(&lat(&t.put_service, t.put_service.p99_ms)),
            esc(&lat(&t.e2e, t.e2e.p99_ms)),
            esc(&lat(&t.in_stream, t.in_stream.p99_ms)),
            esc(&lat(&t.schedule_lag, t.schedule_lag.p99_ms)),
        );
    }

    if !v.slo.is_empty() {
        out.push_str("<h3>SLOs</h3>\n");
        let rows: Vec<(String, Vec<String>)> = v
            .slo
            .iter()
            .map(|x| {
                let verdict = if x.passed {
                    "<span class=\"ok\">ok</span>"
                } else {
                    "<span class=\"bad\">BREACHED</span>"
                };
                (
                    String::new(),
                    vec![
                        esc(&x.name),
                        esc(&x.threshold),
                        esc(&x.actual),
                        verdict.to_string(),
                    ],
                )
            })
            .collect();
        table(out, &["SLO", "limit", "actual", "verdict"], &rows);
    }

    if let Some(f) = &v.failure {
        let _ = writeln!(out, "<p class=\"bad\">failed: {}</p>", esc(f));
    }
    if !v.incidents.is_empty() {
        out.push_str("<h3>Incidents</h3>\n<ul>\n");
        for i in &v.incidents {
            let _ = writeln!(
                out,
                "<li class=\"warning\">{}</li>",
                esc(&i.describe(crate::scenario::units::thousands))
            );
        }
        out.push_str("</ul>\n");
    }
    if !v.warnings.is_empty() {
        out.push_str("<h3>Warnings</h3>\n<ul>\n");
        for w in &v.warnings {
            let _ = writeln!(out, "<li class=\"warning\">{}</li>", esc(w));
        }
        out.push_str("</ul>\n");
    }

    render_shards(out, v);

    if !charts.is_empty() {
        out.push_str("<h3>Charts</h3>\n");
        render_charts(out, charts);
    }
}

fn phase_row(p: &PhaseSummary, last: bool) -> (String, Vec<String>) {
    let name = if p.measure {
        p.phase.clone()
    } else {
        format!("{} *", p.phase)
    };
    let class = if !p.measure {
        "unmeasured"
    } else if last && p.phase == "total" {
        "total"
    } else {
        ""
    };
    let c = &p.counters;
    let cells = vec![
        esc(&name),
        rate(p.offered_rps),
        rate(p.achieved_rps),
        count(c.acknowledged),
        count(c.throttled),
        count(c.retried),
        count(c.given_up()),
        esc(&lat(&p.put, p.put.p50_ms)),
        esc(&lat(&p.put, p.put.p99_ms)),
        esc(&lat(&p.e2e, p.e2e.p50_ms)),
        esc(&lat(&p.e2e, p.e2e.p99_ms)),
    ];
    (class.to_string(), cells)
}

fn render_shards(out: &mut String, v: &VariantSummary) {
    if v.per_shard.is_empty() {
        return;
    }
    out.push_str("<h3>Shards (measured phases)</h3>\n");
    let n = v.per_shard.len();
    let rows: Vec<(String, Vec<String>)> = v
        .per_shard
        .iter()
        .map(|r| {
            (
                String::new(),
                vec![
                    esc(&r.shard_id),
                    rate(r.records_per_s),
                    rate(r.bytes_per_s / 1024.0),
                    format!("{}%", rate(r.share_pct)),
                    rate(r.peak_records_per_s),
                    count(r.throttled),
                ],
            )
        })
        .collect();
    let head = [
        "shard",
        "records/s",
        "KiB/s",
        "share",
        "peak rec/s",
        "throttled",
    ];
    // a long table folds away, the chart shows every shard anyway
    let fold = n > 16;
    if fold {
        let _ = writeln!(
            out,
            "<details><summary>{n} shards: show the table</summary>"
        );
    }
    table(out, &head, &rows);
    if fold {
        out.push_str("</details>\n");
    }
    let _ = writeln!(
        out,
        "<p class=\"note\">An even share is {:.1}%; limits: 1,000 records/s and 1,024 KiB/s per shard.</p>",
        100.0 / n as f64
    );
    if v.api == crate::scenario::Api::PutRecordsAggregated.name() {
        out.push_str("<p class=\"note\">User records and their bytes; an aggregate counts as one record toward the shard's 1,000 records/s.</p>\n");
    }
}

/// "1.0ms / 1.8ms / 4.6ms"
fn three(a: f64, b: f64, c: f64) -> String {
    esc(&format!("{} / {} / {}", ms(a), ms(b), ms(c)))
}

/// Each chart's SVG inline, without an XML declaration.
fn render_charts(out: &mut String, charts: &[&Chart]) {
    for c in charts {
        let id = anchor(c.file_name.trim_end_matches(".svg"));
        let _ = writeln!(
            out,
            "<figure id=\"{}\" aria-label=\"{}\">",
            esc(&id),
            esc(&c.title)
        );
        out.push_str(strip_xml_declaration(&c.svg).trim());
        out.push_str("\n</figure>\n");
    }
}

fn strip_xml_declaration(svg: &str) -> &str {
    let t = svg.trim_start();
    if t.starts_with("<?xml") {
        match t.find("?>") {
            Some(end) => &t[end + 2..],
            None => t,
        }
    } else {
        t
    }
}

fn render_comparison(out: &mut String, c: &Comparison) {
    out.push_str("<h2 id=\"comparison\">Comparison (measured phases)</h2>\n");
    // one column per variant, one row per figure: it fits however many figures there are
    type Cell = fn(&ComparisonRow) -> String;
    let figures: [(&str, Cell); 13] = [
        ("offered/s", |r| rate(r.offered_rps)),
        ("achieved/s", |r| rate(r.achieved_rps)),
        ("API calls", |r| count(r.calls)),
        ("records per call", |r| rate(r.records_per_call)),
        ("per call p50 / p99 / p99.9", |r| {
            three(r.put_call_p50_ms, r.put_call_p99_ms, r.put_call_p999_ms)
        }),
        ("per record p50 / p99 / p99.9", |r| {
            three(
                r.put_record_p50_ms,
                r.put_record_p99_ms,
                r.put_record_p999_ms,
            )
        }),
        ("e2e p50 / p99", |r| {
            esc(&format!("{} / {}", ms(r.e2e_p50_ms), ms(r.e2e_p99_ms)))
        }),
        ("throttled", |r| count(r.throttled)),
        ("retried", |r| count(r.retried)),
        ("gave up", |r| count(r.given_up)),
        ("PUT payload units", |r| count(r.put_units)),
        ("request MiB", |r| {
            rate(r.request_bytes as f64 / (1024.0 * 1024.0))
        }),
        ("verified", |r| {
            if r.status != "completed" {
                esc(&r.status)
            } else if r.verified {
                "<span class=\"ok\">yes</span>".to_string()
            } else if r.lost > 0 {
                format!("<span class=\"bad\">NO ({} lost)</span>", count(r.lost))
            } else {
                "<span class=\"bad\">NO (see accounting)</span>".to_string()
            }
        }),
    ];
    let mut head = vec![""];
    head.extend(c.rows.iter().map(|r| r.api.as_str()));
    let rows: Vec<(String, Vec<String>)> = figures
        .iter()
        .map(|(name, cell)| {
            let mut cells = vec![esc(name)];
            cells.extend(c.rows.iter().map(cell));
            (String::new(), cells)
        })
        .collect();
    table(out, &head, &rows);
    if !c.winners.is_empty() {
        out.push_str("<ul>\n");
        for w in &c.winners {
            let _ = writeln!(out, "<li>{}</li>", esc(w));
        }
        out.push_str("</ul>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::charts::{self, tests::empty, tests::sample};

    fn parse(html: &str) -> roxmltree::Document<'_> {
        let opt = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..roxmltree::ParsingOptions::default()
        };
        match roxmltree::Document::parse_with_options(html, opt) {
            Ok(doc) => doc,
            Err(e) => panic!("report.html is not XML: {e}\n{html}"),
        }
    }

    /// Every text of the page, joined.
    fn text(doc: &roxmltree::Document) -> String {
        doc.descendants()
            .filter_map(|n| n.text())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn page(data: &ReportData) -> String {
        let charts = charts::render(data).expect("charts");
        render(data, &charts)
    }

    #[test]
    fn a_regression_against_the_baseline_turns_the_verdict_red() {
        let mut data = sample(&["put_records"], 2);
        for v in &mut data.summary.variants {
            v.slo.retain(|x| x.passed);
            v.accounting.holds = true;
        }
        let verdict_of = |data: &ReportData| {
            let html = page(data);
            let doc = parse(&html);
            let v = doc
                .descendants()
                .find(|n| {
                    n.attribute("class")
                        .is_some_and(|c| c.starts_with("verdict"))
                })
                .expect("a verdict line");
            (
                v.attribute("class").map(str::to_string),
                text_of(v),
                html.clone(),
            )
        };
        data.baseline = Some("A (baseline): a\n...\n\nno regression beyond the limits\n".into());
        let (class, line, _) = verdict_of(&data);
        assert_eq!(class.as_deref(), Some("verdict good"));
        assert!(
            line.contains("baseline: no regression beyond the limits"),
            "{line}"
        );
        data.baseline = Some(
            "A (baseline): a\nburst put_p99 <x>\n\nregressed: 1 metric beyond the limits: burst put_p99 +15.0% (limit 10%)\n".into(),
        );
        let (class, line, html) = verdict_of(&data);
        assert_eq!(class.as_deref(), Some("verdict bad"));
        assert!(line.contains("baseline: regressed: 1 metric"), "{line}");
        assert!(html.contains("<h2 id=\"baseline\">") && html.contains("put_p99 &lt;x&gt;"));
    }

    fn text_of(n: roxmltree::Node) -> String {
        n.descendants()
            .filter_map(|d| d.text())
            .collect::<Vec<_>>()
            .join("")
    }

    #[test]
    fn is_well_formed_and_self_contained() {
        let mut data = sample(&["put_record", "put_records"], 4);
        data.summary.not_run = vec!["put_records_aggregated".into()];
        let html = page(&data);
        assert!(html.starts_with(
            "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">"
        ));
        let doc = parse(&html);
        assert_eq!(doc.root_element().tag_name().name(), "html");

        // nothing is fetched: `http` only in the namespaces, no sources, scripts or links out
        let rest = html
            .replace("xmlns=\"http://www.w3.org/1999/xhtml\"", "")
            .replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!rest.contains("http"), "http outside xmlns");
        for bad in [
            "src=", "url(", "<script", "@import", "<link", "<img", "<?xml",
        ] {
            assert!(!html.contains(bad), "{bad} in report.html");
        }
        let ids: Vec<&str> = doc
            .descendants()
            .filter_map(|n| n.attribute("id"))
            .collect();
        for n in doc.descendants() {
            assert!(!n.has_tag_name("script"));
            for a in n.attributes() {
                assert!(
                    !a.value().contains("http"),
                    "{}={:?} on <{}>",
                    a.name(),
                    a.value(),
                    n.tag_name().name()
                );
                if a.name() == "href" {
                    let target = a.value().strip_prefix('#').expect("in-page links only");
                    assert!(ids.contains(&target), "#{target} exists");
                }
            }
        }
        // every chart inline, each once
        let svgs = doc.descendants().filter(|n| n.has_tag_name("svg")).count();
        assert_eq!(svgs, 8);
    }

    #[test]
    fn shows_the_verdict_tables_and_comparison() {
        let mut data = sample(&["put_record", "put_records"], 4);
        data.summary.not_run = vec!["put_records_aggregated".into()];
        let html = page(&data);
        let doc = parse(&html);
        let all = text(&doc);
        // the verdict comes first and names the breach
        let verdict = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("verdict bad"))
            .and_then(|n| n.text())
            .expect("a verdict line");
        assert!(
            verdict.contains("SLO BREACHED: e2e_p99 (put_record) 220.0ms (limit 100.0ms)"),
            "{verdict}"
        );
        assert!(verdict.contains("accounting holds"), "{verdict}");
        assert!(
            verdict.contains("not run: put_records_aggregated"),
            "{verdict}"
        );
        // the scenario name is escaped, not markup
        assert!(all.contains("kbench burst <&> \"quoted\""), "{all}");
        for expected in [
            "warmup *",
            "* not measured (warm-up): excluded from the total and the SLOs",
            "e2e p99",
            "gave up",
            "BREACHED",
            "shardId-000000000003",
            "records went out late: p99 schedule lag > 1s & more",
            "Comparison (measured phases)",
            "put_records_aggregated: not run",
            "2026-11-26 00:14:08 UTC",
        ] {
            assert!(all.contains(expected), "{expected:?} in the page");
        }
        assert!(!all.contains("MISMATCH"), "the accounting holds");
        let headings: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("h2"))
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(
            headings,
            [
                "Comparison (measured phases)",
                "Scenario",
                "put_record: completed in 10.1 s",
                "put_records: completed in 10.1 s",
                "put_records_aggregated: not run"
            ]
        );
    }

    #[test]
    fn a_broken_accounting_is_called_a_mismatch() {
        let mut data = sample(&["put_records"], 2);
        let a = &mut data.summary.variants[0].accounting;
        a.acknowledged -= 1;
        a.reads.lost = 1;
        a.holds = false;
        data.summary.variants[0].slo.retain(|s| s.passed);
        let doc_text = page(&data);
        let doc = parse(&doc_text);
        let all = text(&doc);
        assert!(all.contains("MISMATCH"), "{all}");
        let verdict = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("verdict bad"))
            .and_then(|n| n.text())
            .expect("a bad verdict");
        assert!(verdict.contains("SLOs: all 1 passed"), "{verdict}");
        assert!(verdict.contains("accounting MISMATCH"), "{verdict}");
    }

    #[test]
    fn a_failed_run_says_why_in_the_verdict_and_claims_no_slo() {
        let mut data = sample(&["put_records"], 2);
        data.summary.status = "failed".into();
        let v = &mut data.summary.variants[0];
        v.status = "failed".into();
        v.failure = Some("stream `s` vanished 6.2 s into the run".into());
        v.slo.clear();
        v.accounting.reads.unverified = 7;
        v.accounting.reads.unverified_why =
            Some("the stream vanished before they were read back".into());
        v.incidents.push(crate::report::Incident {
            what: "stream not found".into(),
            detail: "ResourceNotFoundException".into(),
            from_s: 6.2,
            to_s: 6.4,
            calls: [("PutRecords".to_string(), 3)].into(),
        });
        let doc_text = page(&data);
        let doc = parse(&doc_text);
        let verdict = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("verdict bad"))
            .and_then(|n| n.text())
            .expect("a bad verdict");
        assert!(
            verdict.contains("run failed: stream `s` vanished 6.2 s")
                && verdict.contains("failed: SLOs not evaluated")
                && !verdict.contains("BREACHED"),
            "{verdict}"
        );
        let all = text(&doc);
        assert!(all.contains("not verified 7 (the stream vanished"), "{all}");
        assert!(
            all.contains("stream not found from 6.2 s to 6.4 s: ResourceNotFoundException (3 PutRecords calls)"),
            "the incidents are listed: {all}"
        );
    }

    #[test]
    fn empty_data_still_makes_a_page() {
        let data = empty(&["put_records"]);
        let charts = charts::render(&data).expect("no panic");
        assert!(charts.is_empty());
        let html = render(&data, &charts);
        let doc = parse(&html);
        assert!(!doc.descendants().any(|n| n.has_tag_name("svg")));
        assert!(!doc.descendants().any(|n| n.has_tag_name("nav")));

        let mut nothing = empty(&[]);
        nothing.summary.status = "interrupted".into();
        nothing.summary.not_run = vec!["put_records".into()];
        let html = render(&nothing, &[]);
        let doc = parse(&html);
        assert!(text(&doc).contains("run interrupted"));
    }

    #[test]
    fn write_visuals_writes_the_charts_and_the_page() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut data = sample(&["put_records"], 2);
        data.dir = dir.path().to_path_buf();
        crate::report::write_visuals(&data).expect("written");
        for name in ["throughput", "latency", "spectrum", "shards"] {
            let path = dir.path().join(format!("charts/put_records-{name}.svg"));
            let svg = std::fs::read_to_string(&path).expect("chart written");
            assert!(svg.starts_with("<svg"), "{}", path.display());
        }
        let html = std::fs::read_to_string(dir.path().join("report.html")).expect("page written");
        parse(&html);
        // again, over the files of the first time
        crate::report::write_visuals(&data).expect("rewritten");
    }

    #[test]
    fn strips_an_xml_declaration_and_escapes() {
        assert_eq!(
            strip_xml_declaration("<?xml version=\"1.0\"?>\n<svg/>").trim(),
            "<svg/>"
        );
        assert_eq!(strip_xml_declaration("<svg/>"), "<svg/>");
        assert_eq!(
            esc("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;"
        );
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(rate(2999.96), "3,000.0");
        assert_eq!(rate(1874.34), "1,874.3");
        assert_eq!(rate(f64::NAN), "-");
        assert_eq!(when("not a time"), "not a time");
    }
}
