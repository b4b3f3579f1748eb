//! report.html's Scenario section: what was run, in words, so that a report stands on its own.
//!
//! Drawn from run.json's `effective_scenario` (the form `kbench validate` prints: every default
//! filled in, the run's `--rate` and `--duration` applied), so a re-rendered report says the
//! same as the run's own. A value of a shape this build does not know is shown as it is written.

use super::html::{count, esc, table};
use super::load::ScenarioRecord;
use crate::scenario::units::{format_size, parse_duration, parse_size, thousands};
use serde_json::Value;
use std::fmt::Write;
use std::time::Duration;

/// The Scenario section, or nothing when run.json holds no scenario.
pub(super) fn render(out: &mut String, record: &ScenarioRecord) {
    let s = &record.effective;
    if !s.is_object() {
        return;
    }
    out.push_str("<h2 id=\"scenario\">Scenario</h2>\n");
    let mut rows: Vec<(&str, String)> = vec![("name", esc(&plain(&s["name"])))];
    if let Some(d) = s["description"].as_str().filter(|d| !d.is_empty()) {
        rows.push(("description", esc(d)));
    }
    if let Some(file) = &record.file {
        rows.push(("file", esc(file)));
    }
    rows.push(("seed", esc(&plain(&s["seed"]))));
    rows.push(("target", esc(&target(&s["target"]))));

    let r = &s["records"];
    rows.push(("record size", esc(&record_size(&r["size"], &r["payload"]))));
    rows.push(("partition keys", keys(&r["keys"], &r["payload"])));
    rows.push(("payload", payload(&r["payload"])));

    let p = &s["producer"];
    let apis = apis(&p["api"]);
    let several = apis.len() > 1;
    rows.push((
        if several { "APIs" } else { "API" },
        esc(&if several {
            format!("{}, each in turn on the same schedule", apis.join(", "))
        } else {
            apis.join("")
        }),
    ));
    rows.push((
        "in flight",
        esc(&format!("{} requests at most", plain(&p["in_flight"]))),
    ));
    rows.push(("batches", esc(&batches(p, &apis))));
    if p["aggregation"].is_object() {
        rows.push(("aggregation", esc(&aggregation(&p["aggregation"]))));
    }
    rows.push(("arrival", esc(&arrival(&p["arrival"]))));
    rows.push(("retries", esc(&retries(p))));
    rows.push(("request timeout", esc(&duration(&p["request_timeout"]))));
    rows.push(("consumer", esc(&consumer(&s["consumer"]))));
    rows.push(("SLOs", esc(&slos(&s["slo"]))));
    rows.push(("report interval", esc(&duration(&s["report"]["interval"]))));

    out.push_str("<dl>\n");
    for (k, v) in rows {
        let _ = writeln!(out, "<dt>{}</dt><dd>{v}</dd>", esc(k));
    }
    out.push_str("</dl>\n");

    out.push_str("<h3>Phases as planned</h3>\n");
    let phases: Vec<(String, Vec<String>)> = s["phase"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|ph| {
            let measured = ph["measure"].as_bool().unwrap_or(true);
            (
                if measured { "" } else { "unmeasured" }.to_string(),
                vec![
                    esc(&plain(&ph["name"])),
                    esc(&duration(&ph["duration"])),
                    esc(&rate(&ph["rate"])),
                    if measured { "yes" } else { "no (warm-up)" }.to_string(),
                ],
            )
        })
        .collect();
    table(out, &["phase", "duration", "rate", "measured"], &phases);
    out.push_str("<p class=\"note\">The effective scenario from run.json: the file with every default filled in and the run's flags applied.</p>\n");
}

/// A JSON value as text: a string without quotes, anything else as JSON; "-" when absent.
fn plain(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_u64(), n.as_f64()) {
            (Some(u), _) => thousands(u),
            (None, Some(f)) => num(f),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// 3000 -> "3,000", 3.0 -> "3", 1.1 -> "1.1", 3333.3333 -> "3,333.33".
fn num(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let digits = thousands(v.abs() as u64);
        return if v < 0.0 {
            format!("-{digits}")
        } else {
            digits
        };
    }
    if v.abs() >= 1000.0 {
        let whole = thousands(v.trunc().abs() as u64);
        let frac = format!("{:.2}", v.abs().fract());
        let frac = frac.trim_start_matches('0').trim_end_matches('0');
        let sign = if v < 0.0 { "-" } else { "" };
        return format!("{sign}{whole}{}", frac.trim_end_matches('.'));
    }
    v.to_string()
}

/// "1KiB" -> "1 KiB", "1500B" or 1500 -> "1,500 B"; as written when it is not a size.
fn size(v: &Value) -> String {
    let bytes = match v {
        Value::String(s) => parse_size(s).ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    };
    match bytes {
        Some(b) => {
            let f = format_size(b);
            match f.strip_suffix("iB") {
                Some(n) => {
                    let (digits, unit) = n.split_at(n.len() - 1);
                    format!("{digits} {unit}iB")
                }
                None => format!("{} B", thousands(b)),
            }
        }
        None => plain(v),
    }
}

/// "1s 142ms 857us 143ns" -> "1.14 s", "20ms" -> "20 ms", "5m" -> "5m"; as written when it
/// is not a duration.
fn duration(v: &Value) -> String {
    match v.as_str().map(parse_duration) {
        Some(Ok(d)) => duration_words(d),
        _ => plain(v),
    }
}

fn duration_words(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if d.is_zero() {
        "0 s".into()
    } else if secs < 1.0 {
        format!("{} ms", num((secs * 10_000.0).round() / 10.0))
    } else if secs < 120.0 {
        format!("{} s", num((secs * 100.0).round() / 100.0))
    } else {
        humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
    }
}

fn target(t: &Value) -> String {
    let mut s = format!(
        "stream {}, {} shards, {} endpoint",
        plain(&t["stream"]),
        plain(&t["shards"]),
        plain(&t["endpoint"])
    );
    if let Some(r) = t["region"].as_str() {
        let _ = write!(s, ", region {r}");
    }
    s.push_str(match t["create"].as_bool() {
        Some(false) => "; must already exist",
        _ => "; created if missing",
    });
    s.push_str(match t["delete_after"].as_bool() {
        Some(false) => ", kept after the run",
        _ => ", deleted after the run if kbench created it",
    });
    s
}

/// Record sizes: the size distribution, or what the payload makes them.
fn record_size(v: &Value, payload: &Value) -> String {
    match (v, payload) {
        (Value::Null, p) if p["file"].is_string() => "those of the replayed records".into(),
        (Value::Null, _) => "those the JSON template renders".into(),
        (v, _) => size_dist(v),
    }
}

/// The size distribution in words, e.g. "uniform 100 B to 1,000 B".
fn size_dist(v: &Value) -> String {
    let f = |k: &str| size(&v[k]);
    let clamp = || format!("clamped to {} to {}", f("min"), f("max"));
    let words = match v["dist"].as_str() {
        Some("fixed") => format!("fixed {}", f("value")),
        Some("uniform") => format!("uniform {} to {}", f("min"), f("max")),
        Some("normal") => format!(
            "normal, mean {}, standard deviation {}, {}",
            f("mean"),
            f("stddev"),
            clamp()
        ),
        Some("lognormal") => format!(
            "log-normal, median {}, sigma {}, {}",
            f("median"),
            plain(&v["sigma"]),
            clamp()
        ),
        Some("pareto") => format!(
            "Pareto from {}, shape {}, {}",
            f("scale"),
            plain(&v["shape"]),
            clamp()
        ),
        Some("empirical") => {
            let rows = v["table"].as_array().map(Vec::as_slice).unwrap_or_default();
            const SHOWN: usize = 8;
            let mut parts: Vec<String> = rows
                .iter()
                .take(SHOWN)
                .map(|r| format!("{} (weight {})", size(&r[0]), plain(&r[1])))
                .collect();
            if rows.len() > SHOWN {
                parts.push(format!("... {} rows in all", count(rows.len() as u64)));
            }
            format!("empirical: {}", parts.join(", "))
        }
        _ => return plain(v),
    };
    format!("{words} (stamp included)")
}

/// The key distribution in words (escaped HTML), e.g. "Zipf, exponent 1.1, over 10,000 keys".
fn keys(v: &Value, payload: &Value) -> String {
    if v.is_null() {
        return match payload["key"].as_str() {
            Some(k) => format!("from the payload&#39;s field <code>{}</code>", esc(k)),
            None => "-".into(),
        };
    }
    esc(&key_dist(v))
}

fn key_dist(v: &Value) -> String {
    let n = || format!("{} keys", plain(&v["count"]));
    match v["dist"].as_str() {
        Some("uniform") => format!("uniform over {}", n()),
        Some("zipf") => format!("Zipf, exponent {}, over {}", plain(&v["exponent"]), n()),
        Some("hot") => format!(
            "hot key: {}% of records on one key, the rest uniform over {}",
            num(v["fraction"].as_f64().unwrap_or(f64::NAN) * 100.0),
            n()
        ),
        Some("sequential") => format!("sequential over {}, then again from the first", n()),
        Some("unique") => "a fresh key for every record".into(),
        Some("even_shards") => "spread evenly over the shards (explicit hash keys)".into(),
        _ => plain(v),
    }
}

/// The payload in words (escaped HTML: a template is shown as code).
fn payload(v: &Value) -> String {
    if v.as_str() == Some("random") {
        return "random bytes (incompressible)".into();
    }
    let key = |k: &Value| match k.as_str() {
        Some(k) => format!(", partition key from field <code>{}</code>", esc(k)),
        None => String::new(),
    };
    if let Some(t) = v["template"].as_str() {
        return format!("JSON template{}: <code>{}</code>", key(&v["key"]), esc(t));
    }
    if let Some(file) = v["file"].as_str() {
        let again = match v["loop"].as_bool() {
            Some(false) => "once through",
            _ => "from the start again after its last record",
        };
        return format!(
            "records replayed from <code>{}</code>{}, {again}",
            esc(file),
            key(&v["key"])
        );
    }
    esc(&plain(v))
}

/// `api` as a list of names (one name or several).
fn apis(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(plain).collect(),
        other => vec![plain(other)],
    }
}

fn batches(p: &Value, apis: &[String]) -> String {
    let batching = apis.iter().any(|a| a != "put_record");
    if !batching {
        return "one record per PutRecord call".into();
    }
    let mut s = format!(
        "up to {} records or {} per call, waiting at most {} to fill one",
        plain(&p["batch_max_records"]),
        size(&p["batch_max_bytes"]),
        duration(&p["linger"])
    );
    if apis.iter().any(|a| a == "put_record") {
        s.push_str(" (put_record sends one record per call)");
    }
    s
}

fn aggregation(a: &Value) -> String {
    let mut s = format!("KPL aggregates of up to {}", size(&a["max_bytes"]));
    if a["max_records"]
        .as_u64()
        .is_some_and(|n| n < u64::from(u32::MAX))
    {
        let _ = write!(s, " and {} user records", plain(&a["max_records"]));
    }
    s.push_str(", one per shard");
    s
}

fn arrival(v: &Value) -> String {
    match v.as_str() {
        Some("constant") => "constant: evenly spaced at the phase's rate".into(),
        Some("poisson") => "Poisson: random (exponential) gaps at the phase's rate".into(),
        _ => plain(v),
    }
}

fn retries(p: &Value) -> String {
    match p["max_attempts"].as_u64() {
        Some(1) => "none: one attempt per record".into(),
        _ => format!(
            "up to {} attempts per record, backoff doubling from {} to at most {}, with jitter",
            plain(&p["max_attempts"]),
            duration(&p["backoff"]["base"]),
            duration(&p["backoff"]["max"])
        ),
    }
}

/// The consumers: a list (schema 3) or the one table of older reports.
fn consumer(c: &Value) -> String {
    let none = "none: nothing is read back (no end-to-end latency, loss not checked)";
    match c {
        Value::Array(list) if list.is_empty() => none.into(),
        Value::Array(list) => list
            .iter()
            .map(|c| format!("{}: {}", plain(&c["name"]), one_consumer(c)))
            .collect::<Vec<_>>()
            .join("; "),
        _ if c["enabled"].as_bool() == Some(false) => none.into(),
        _ => one_consumer(c),
    }
}

fn one_consumer(c: &Value) -> String {
    let start = match c["start"].as_str() {
        Some("latest") => "latest".to_string(),
        Some("trim_horizon") => "the trim horizon".to_string(),
        _ => plain(&c["start"]),
    };
    let drain = duration(&c["drain"]);
    match c["kind"].as_str() {
        Some("efo") => format!(
            "efo (enhanced fan-out, SubscribeToShard) from {start}, draining up to {drain} after the last put"
        ),
        _ => format!(
            "{} (GetRecords) from {start}, one call per shard every {}, draining up to {drain} after the last put",
            plain(&c["kind"]),
            duration(&c["poll_interval"]),
        ),
    }
}

fn slos(s: &Value) -> String {
    let pct = |v: &Value| match v.as_f64() {
        Some(f) => format!("{}%", num(f)),
        None => plain(v),
    };
    let mut parts = Vec::new();
    for (key, words) in [
        ("put_p99", "put p99 at most"),
        ("e2e_p99", "end-to-end p99 at most"),
        ("max_throttled_pct", "throttled at most"),
        ("max_lost", "lost records at most"),
        ("min_achieved_pct", "achieved at least"),
    ] {
        let v = &s[key];
        if v.is_null() {
            continue;
        }
        let value = match key {
            "put_p99" | "e2e_p99" => duration(v),
            "max_throttled_pct" => format!("{} of record attempts", pct(v)),
            "min_achieved_pct" => format!("{} of the offered rate", pct(v)),
            _ => plain(v),
        };
        parts.push(format!("{words} {value}"));
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join("; ")
    }
}

/// A phase's rate: "3,000 records/s", "3,000 to 300 records/s (ramp)" or "max".
fn rate(v: &Value) -> String {
    match v {
        Value::Number(n) => format!("{} records/s", num(n.as_f64().unwrap_or(f64::NAN))),
        Value::String(s) if s == "max" => "max: as fast as the requests in flight allow".into(),
        Value::Object(_) => format!(
            "ramp {} to {} records/s",
            num(v["from"].as_f64().unwrap_or(f64::NAN)),
            num(v["to"].as_f64().unwrap_or(f64::NAN))
        ),
        other => plain(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::load::ScenarioRecord;

    /// The section for a scenario file's text, as run.json would record it.
    fn section(toml: &str, file: &str) -> String {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("events.ndjson"),
            "{\"user\":\"a\",\"n\":1}\n",
        )
        .expect("replay file");
        let path = dir.path().join(file);
        let scenario = crate::scenario::parse(toml, &path.display().to_string(), "t")
            .unwrap_or_else(|e| panic!("valid: {e}"));
        let record = ScenarioRecord {
            effective: serde_json::to_value(&scenario).expect("json"),
            file: Some(scenario.file.clone()),
        };
        let mut out = String::new();
        render(&mut out, &record);
        out
    }

    fn contains_all(text: &str, expected: &[&str]) {
        for e in expected {
            assert!(text.contains(e), "{e:?} in {text}");
        }
    }

    /// The text of an XHTML fragment, tags dropped and entities read.
    fn text(html: &str) -> String {
        let wrapped = format!("<div>{html}</div>");
        let doc =
            roxmltree::Document::parse(&wrapped).unwrap_or_else(|e| panic!("not XML: {e}\n{html}"));
        doc.descendants()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .collect::<Vec<_>>()
            .join("")
    }

    const BUSY: &str = r#"
name = "busy"
description = "every knob turned"
seed = 7
[target]
stream = "kbench-busy"
shards = 6
region = "eu-west-1"
delete_after = false
[producer]
api = ["put_record", "put_records_aggregated"]
in_flight = 48
batch_max_records = 250
batch_max_bytes = "2MiB"
linger = "35ms"
arrival = "poisson"
max_attempts = 7
backoff = { base = "80ms", max = "3s" }
request_timeout = "4s"
aggregation = { max_bytes = "256KiB", max_records = 90 }
[records]
size = { dist = "uniform", min = "100B", max = "1000B" }
keys = { dist = "zipf", count = 10000, exponent = 1.1 }
[[phase]]
name = "warm"
duration = "5s"
rate = 200
measure = false
[[phase]]
name = "climb"
duration = "2m"
rate = { from = 500, to = 2500 }
[consumer]
start = "trim_horizon"
poll_interval = "400ms"
drain = "45s"
[slo]
put_p99 = "250ms"
e2e_p99 = "2s"
max_throttled_pct = 0.5
max_lost = 3
min_achieved_pct = 98
[report]
interval = "2s"
"#;

    #[test]
    fn the_scenario_section_names_every_parameter() {
        let html = section(BUSY, "busy.toml");
        let all = text(&html);
        contains_all(
            &all,
            &[
                "Scenario",
                "busy",
                "every knob turned",
                "busy.toml",
                "seed",
                "stream kbench-busy, 6 shards, embedded endpoint, region eu-west-1; created if missing, kept after the run",
                "uniform 100 B to 1,000 B (stamp included)",
                "Zipf, exponent 1.1, over 10,000 keys",
                "random bytes (incompressible)",
                "put_record, put_records_aggregated, each in turn on the same schedule",
                "48 requests at most",
                "up to 250 records or 2 MiB per call, waiting at most 35 ms to fill one (put_record sends one record per call)",
                "KPL aggregates of up to 256 KiB and 90 user records, one per shard",
                "Poisson",
                "up to 7 attempts per record, backoff doubling from 80 ms to at most 3 s",
                "4 s",
                "polling (GetRecords) from the trim horizon, one call per shard every 400 ms, draining up to 45 s",
                "put p99 at most 250 ms; end-to-end p99 at most 2 s; throttled at most 0.5% of record attempts; lost records at most 3; achieved at least 98% of the offered rate",
                "2 s",
                "warm",
                "200 records/s",
                "no (warm-up)",
                "climb",
                "2m",
                "ramp 500 to 2,500 records/s",
            ],
        );
        assert!(html.contains("<tr class=\"unmeasured\">"), "{html}");
    }

    #[test]
    fn payloads_consumers_and_sizes_in_words() {
        let html = section(
            r#"
[producer]
api = "put_record"
max_attempts = 1
[records]
payload = { template = "{\"user\": \"u{{seq}}\", \"n\": 1}", key = "user" }
[[phase]]
duration = "1s 500ms"
rate = "max"
[consumer]
enabled = false
"#,
            "t.toml",
        );
        let all = text(&html);
        contains_all(
            &all,
            &[
                "those the JSON template renders",
                "from the payload's field user",
                "JSON template, partition key from field user:",
                "one record per PutRecord call",
                "none: one attempt per record",
                "none: nothing is read back",
                "SLOs",
                "none",
                "1.5 s",
                "max: as fast as the requests in flight allow",
            ],
        );
        assert!(!all.contains("aggregation"), "{all}");

        let html = section(
            "[records]\npayload = { file = \"events.ndjson\", key = \"user\", loop = false }\n[[phase]]\nduration = \"1s\"\nrate = 1\n",
            "t.toml",
        );
        let all = text(&html);
        contains_all(
            &all,
            &[
                "those of the replayed records",
                "records replayed from events.ndjson, partition key from field user, once through",
            ],
        );

        let size = |toml: &str| {
            let v: toml::Value = toml::from_str(&format!("s = {toml}")).expect("toml");
            let d = crate::scenario::sizes::SizeDist::from_toml(&v["s"]).expect("a size");
            size_dist(&serde_json::to_value(&d).expect("json"))
        };
        assert_eq!(size("\"512B\""), "fixed 512 B (stamp included)");
        assert_eq!(
            size(
                "{ dist = \"lognormal\", median = \"1KiB\", sigma = 0.5, min = \"64B\", max = \"64KiB\" }"
            ),
            "log-normal, median 1 KiB, sigma 0.5, clamped to 64 B to 64 KiB (stamp included)"
        );
        assert_eq!(
            size("{ dist = \"empirical\", table = [[100, 3], [2048, 1]] }"),
            "empirical: 100 B (weight 3), 2 KiB (weight 1) (stamp included)"
        );
        assert_eq!(num(3333.3333), "3,333.33");
        assert_eq!(num(0.25), "0.25");
        assert_eq!(
            duration(&Value::String("1s 142ms 857us 143ns".into())),
            "1.14 s"
        );
    }

    #[test]
    fn user_strings_are_escaped() {
        let html = section(
            r#"
name = "x<script>alert(1)<b>"
description = "<script>alert('d')</script> & more"
[target]
stream = "s"
[records]
payload = { template = "{\"a\": \"</code><script>alert(2)</script>\"}" }
[[phase]]
duration = "1s"
rate = 1
"#,
            "<script>.toml",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;b&gt;"), "{html}");
        assert!(html.contains("&amp; more"), "{html}");
        let all = text(&html);
        assert!(all.contains("<script>alert('d')</script> & more"), "{all}");
        assert!(all.contains("</code><script>alert(2)</script>"), "{all}");
        assert!(all.contains("<script>.toml"), "{all}");
    }

    #[test]
    fn no_scenario_no_section() {
        let mut out = String::new();
        render(&mut out, &ScenarioRecord::default());
        assert!(out.is_empty());
    }
}
