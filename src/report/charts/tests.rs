//! What the charts' tests draw from: a sample run's data (also used by report.html's tests),
//! and reading an SVG back; and the tests of the list of charts as a whole.

use super::*;
use crate::metrics::interval::Counters;
use crate::report::compare::Comparison;
use crate::report::load::SpectrumRow;
use crate::report::{
    Accounting, LatencySummary, PhaseSummary, RunSummary, SCHEMA_VERSION, ShardSummary, SloVerdict,
    VariantSummary,
};
use std::path::PathBuf;

fn latency(p50: f64, p99: f64) -> LatencySummary {
    LatencySummary {
        count: 100,
        p50_ms: p50,
        p90_ms: p99 * 0.8,
        p99_ms: p99,
        p999_ms: p99 * 1.2,
        max_ms: p99 * 1.5,
        mean_ms: p50,
    }
}

fn phase(name: &str, measure: bool, rps: f64, seconds: f64) -> PhaseSummary {
    let acknowledged = (rps * seconds) as u64;
    PhaseSummary {
        phase: name.into(),
        measure,
        duration_s: seconds,
        active_s: seconds,
        offered_rps: rps,
        achieved_rps: rps,
        achieved_pct: 100.0,
        throttled_pct: 0.0,
        counters: Counters {
            scheduled: acknowledged,
            acknowledged,
            throttled: 3,
            retried: 3,
            ..Counters::default()
        },
        put: latency(12.0, 25.0),
        put_uncorrected: latency(2.0, 6.0),
        put_service: latency(2.0, 5.0),
        e2e: latency(110.0, 220.0),
        in_stream: LatencySummary::default(),
        schedule_lag: latency(0.5, 2.0),
    }
}

fn variant(api: &str, shards: usize) -> VariantSummary {
    VariantSummary {
        api: api.into(),
        run_id: "f4a19680".into(),
        status: "completed".into(),
        started_at: "2026-11-26T00:14:08.722531625+00:00".into(),
        elapsed_s: 10.05,
        accounting: Accounting {
            scheduled: 2700,
            acknowledged: 2700,
            consumer: true,
            received: 2700,
            holds: true,
            ..Accounting::default()
        },
        phases: vec![
            phase("warmup", false, 300.0, 3.0),
            phase("steady", true, 300.0, 6.0),
            phase("total", true, 300.0, 6.0),
        ],
        per_shard: (0..shards)
            .map(|i| ShardSummary {
                shard_id: format!("shardId-{i:012}"),
                starting_hash_key: "0".into(),
                ending_hash_key: "1".into(),
                acknowledged: 1000,
                acknowledged_bytes: 512_000,
                throttled: (i % 3) as u64,
                records_per_s: 300.0 / shards as f64,
                bytes_per_s: 153_600.0 / shards as f64,
                share_pct: 100.0 / shards as f64,
                peak_records_per_s: 400.0 / shards as f64 + i as f64,
            })
            .collect(),
        slo: vec![
            SloVerdict {
                name: "put_p99".into(),
                threshold: "500.0ms".into(),
                actual: "25.0ms".into(),
                passed: true,
            },
            SloVerdict {
                name: "e2e_p99".into(),
                threshold: "100.0ms".into(),
                actual: "220.0ms".into(),
                passed: false,
            },
        ],
        warnings: vec!["records went out late: p99 schedule lag > 1s & more".into()],
    }
}

/// Ten intervals of `api`: 3 warm-up, 6 steady, then a short drain without puts.
fn intervals(api: &str) -> Vec<IntervalRow> {
    (1..=10)
        .map(|i| {
            let drain = i == 10;
            let t = if drain { 9.05 } else { i as f64 };
            IntervalRow {
                api: api.into(),
                elapsed_s: t,
                phase: match i {
                    1..=3 => "warmup",
                    10 => "drain",
                    _ => "steady",
                }
                .into(),
                interval_s: if drain { 0.05 } else { 1.0 },
                offered_rps: if drain { 0.0 } else { 300.0 },
                acknowledged_rps: if drain { 0.0 } else { 298.0 + i as f64 },
                received_rps: 280.0 + i as f64,
                throttled: 0,
                put_p50_ms: if drain { 0.0 } else { 12.0 + i as f64 / 10.0 },
                put_p99_ms: if drain { 0.0 } else { 25.0 },
                put_max_ms: if drain { 0.0 } else { 30.0 },
                e2e_p50_ms: 110.0,
                e2e_p99_ms: 220.0,
                e2e_max_ms: 230.0,
            }
        })
        .collect()
}

fn spectrum(api: &str) -> Vec<SpectrumRow> {
    let mut rows = Vec::new();
    for (histogram, scale) in [("put", 1.0), ("put_uncorrected", 0.2), ("e2e", 9.0)] {
        for (percentile, value) in [
            (0.0, 0.9),
            (50.0, 13.0),
            (75.0, 19.0),
            (90.0, 22.0),
            (99.0, 26.0),
            (99.9, 37.0),
            (99.99, 45.0),
            (100.0, 48.0),
        ] {
            rows.push(SpectrumRow {
                api: api.into(),
                histogram: histogram.into(),
                percentile,
                value_ms: value * scale,
                count: 1,
            });
        }
    }
    rows
}

/// run.json's record of a burst-like scenario running `apis`.
fn scenario_record(apis: &[&str]) -> crate::report::load::ScenarioRecord {
    let apis = if apis.is_empty() {
        &["put_records"][..]
    } else {
        apis
    };
    let list: Vec<String> = apis.iter().map(|a| format!("\"{a}\"")).collect();
    let text = format!(
        "name = \"burst\"\n[producer]\napi = [{}]\n[[phase]]\nname = \"warmup\"\nduration = \"3s\"\nrate = 300\nmeasure = false\n[[phase]]\nname = \"steady\"\nduration = \"6s\"\nrate = 300\n",
        list.join(", ")
    );
    let scenario = crate::scenario::parse(&text, "scenarios/burst.toml", "burst")
        .unwrap_or_else(|e| panic!("the sample scenario: {e}"));
    crate::report::load::ScenarioRecord {
        effective: serde_json::to_value(&scenario).expect("json"),
        file: Some(scenario.file),
    }
}

/// A run of `apis` (each with `shards` shards), every file's rows filled in.
pub(crate) fn sample(apis: &[&str], shards: usize) -> ReportData {
    let variants: Vec<VariantSummary> = apis.iter().map(|a| variant(a, shards)).collect();
    let comparison = Comparison::of(&variants);
    ReportData {
        dir: PathBuf::from("/nonexistent"),
        summary: RunSummary {
            schema_version: SCHEMA_VERSION,
            kbench_version: "0.1.0".into(),
            scenario: "burst <&> \"quoted\"".into(),
            status: "completed".into(),
            endpoint: "embedded".into(),
            region: "us-east-1".into(),
            stream: "kbench-burst".into(),
            shards,
            started_at: "2026-11-26T00:14:08.720282894+00:00".into(),
            ended_at: Some("2026-11-26T00:14:43.780856244+00:00".into()),
            elapsed_s: 10.05,
            variants,
            not_run: Vec::new(),
            comparison,
        },
        intervals: apis.iter().flat_map(|a| intervals(a)).collect(),
        shard_intervals: Vec::new(),
        spectrum: apis.iter().flat_map(|a| spectrum(a)).collect(),
        baseline: None,
        scenario: scenario_record(apis),
    }
}

/// The data with nothing but run.json: no intervals, no spectrum, no shards.
pub(crate) fn empty(apis: &[&str]) -> ReportData {
    let mut data = sample(apis, 0);
    data.intervals.clear();
    data.spectrum.clear();
    data
}

pub(super) fn parse(svg: &str) -> roxmltree::Document<'_> {
    match roxmltree::Document::parse(svg) {
        Ok(doc) => doc,
        Err(e) => panic!("not XML: {e}\n{svg}"),
    }
}

pub(super) fn texts(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(|t| t.trim().to_string())
        .collect()
}

/// The point lists of the polylines drawn in `color` ("#0072B2").
pub(super) fn polylines<'a>(doc: &'a roxmltree::Document, color: &str) -> Vec<&'a str> {
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") == Some(color))
        .filter_map(|n| n.attribute("points"))
        .collect()
}

pub(super) fn chart<'a>(charts: &'a [Chart], name: &str) -> &'a Chart {
    match charts.iter().find(|c| c.file_name == name) {
        Some(c) => c,
        None => panic!(
            "no {name} in {:?}",
            charts.iter().map(|c| &c.file_name).collect::<Vec<_>>()
        ),
    }
}

#[test]
fn every_chart_of_a_variant_is_drawn_and_parses() {
    let charts = render(&sample(&["put_records"], 4)).expect("charts");
    let names: Vec<&str> = charts.iter().map(|c| c.file_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "put_records-throughput.svg",
            "put_records-latency.svg",
            "put_records-spectrum.svg",
            "put_records-shards.svg"
        ]
    );
    for c in &charts {
        let doc = parse(&c.svg);
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let texts = texts(&doc);
        assert!(
            texts.contains(&c.title),
            "{} has its title: {texts:?}",
            c.file_name
        );
        assert!(
            !c.title.contains("put_records"),
            "one variant: the title does not name it"
        );
    }
}

#[test]
fn several_variants_name_theirs_and_many_shards_stay_labelled() {
    let data = sample(&["put_record", "put_records"], 64);
    let charts = render(&data).expect("charts");
    assert_eq!(charts.len(), 8);
    assert!(charts[0].file_name.starts_with("put_record-"));
    assert!(charts[4].file_name.starts_with("put_records-"));
    for c in &charts {
        parse(&c.svg);
        let api = c.file_name.split('-').next().unwrap_or_default();
        assert!(c.title.ends_with(&format!("({api})")), "{}", c.title);
    }
    let doc = parse(&chart(&charts, "put_records-shards.svg").svg);
    let labels = texts(&doc);
    assert!(labels.iter().any(|t| t == "0"), "{labels:?}");
    assert!(labels.iter().any(|t| t == "63"), "{labels:?}");
    assert!(!labels.iter().any(|t| t.is_empty()), "{labels:?}");
    assert!(!labels.iter().any(|t| t.starts_with("shardId")));

    let one = sample(&["put_records"], 1);
    let charts = render(&one).expect("charts");
    let doc = parse(&chart(&charts, "put_records-shards.svg").svg);
    assert!(texts(&doc).iter().any(|t| t == "0"));
}

#[test]
fn no_data_no_chart() {
    let charts = render(&empty(&["put_records"])).expect("no panic");
    assert!(
        charts.is_empty(),
        "{:?}",
        charts.iter().map(|c| &c.file_name).collect::<Vec<_>>()
    );

    // values that are not numbers, or zero, draw nothing either
    let mut data = sample(&["put_records"], 0);
    for r in &mut data.intervals {
        r.offered_rps = f64::NAN;
        r.acknowledged_rps = f64::NAN;
        r.received_rps = f64::INFINITY;
        r.put_p50_ms = 0.0;
        r.put_p99_ms = f64::NAN;
        r.put_max_ms = -1.0;
        r.e2e_p50_ms = 0.0;
        r.e2e_p99_ms = 0.0;
        r.e2e_max_ms = 0.0;
    }
    for r in &mut data.spectrum {
        r.value_ms = f64::NAN;
    }
    let charts = render(&data).expect("no panic");
    assert!(
        charts.is_empty(),
        "{:?}",
        charts.iter().map(|c| &c.file_name).collect::<Vec<_>>()
    );

    // a single interval, all values equal
    let mut data = sample(&["put_records"], 1);
    data.intervals.truncate(1);
    data.spectrum.retain(|r| r.percentile == 0.0);
    data.summary.variants[0].per_shard[0].peak_records_per_s = f64::NAN;
    for c in render(&data).expect("no panic") {
        parse(&c.svg);
    }
}

#[test]
fn without_a_consumer_nothing_is_drawn_as_received() {
    let mut data = sample(&["put_records"], 2);
    data.summary.variants[0].accounting.consumer = false;
    for r in &mut data.intervals {
        r.received_rps = 0.0;
        r.e2e_p50_ms = 0.0;
        r.e2e_p99_ms = 0.0;
        r.e2e_max_ms = 0.0;
    }
    let charts = render(&data).expect("charts");
    let doc = parse(&chart(&charts, "put_records-throughput.svg").svg);
    assert!(polylines(&doc, "#E69F00").is_empty());
    let labels = texts(&doc);
    assert!(!labels.iter().any(|t| t == "received"), "{labels:?}");
    // the note shares its line with the one on the sample's short last interval
    assert!(
        labels
            .iter()
            .any(|t| t.starts_with("consumer disabled: nothing was read back; ")),
        "{labels:?}"
    );
    let doc = parse(&chart(&charts, "put_records-latency.svg").svg);
    assert!(
        texts(&doc)
            .iter()
            .any(|t| t == "consumer disabled: nothing was read back")
    );
}
