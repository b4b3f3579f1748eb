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
        failure: None,
        started_at: "2026-11-26T00:14:08.722531625+00:00".into(),
        elapsed_s: 10.05,
        accounting: Accounting {
            scheduled: 2700,
            acknowledged: 2700,
            consumer: true,
            reads: crate::report::ReadAccounting {
                received: 2700,
                ..Default::default()
            },
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
                consumer: None,
                threshold: "500.0ms".into(),
                actual: "25.0ms".into(),
                passed: true,
            },
            SloVerdict {
                name: "e2e_p99".into(),
                consumer: None,
                threshold: "100.0ms".into(),
                actual: "220.0ms".into(),
                passed: false,
            },
        ],
        warnings: vec!["records went out late: p99 schedule lag > 1s & more".into()],
        incidents: Vec::new(),
        consumers: Vec::new(),
        delivery: None,
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

/// The spectra of 100,000 samples each, as HdrHistogram's iteration writes them: percentile,
/// value and the samples since the row before. Uncorrected put latency is one value per batch,
/// so its top samples share the maximum and its rows stop at 99.9%.
fn spectrum(api: &str) -> Vec<SpectrumRow> {
    let mut rows = Vec::new();
    // the same up to 99%; then put and e2e step on to 99.99%, the uncorrected rows end
    let below: [(f64, f64, u64); 5] = [
        (0.0, 0.9, 1),
        (50.0, 13.0, 49_999),
        (75.0, 19.0, 25_000),
        (90.0, 22.0, 15_000),
        (99.0, 26.0, 9_000),
    ];
    let tail = |rows: &[(f64, f64, u64)]| [&below[..], rows].concat();
    let full = tail(&[(99.9, 37.0, 900), (99.99, 45.0, 90), (100.0, 48.0, 10)]);
    let batched = tail(&[(99.9, 48.0, 900), (100.0, 48.0, 100)]);
    for (histogram, scale, points) in [
        ("put", 1.0, &full),
        ("put_uncorrected", 0.2, &batched),
        ("e2e", 9.0, &full),
    ] {
        for &(percentile, value, count) in points {
            rows.push(SpectrumRow {
                api: api.into(),
                histogram: histogram.into(),
                percentile,
                value_ms: value * scale,
                count,
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
            report_error: None,
            faults_injected: None,
        },
        intervals: apis.iter().flat_map(|a| intervals(a)).collect(),
        shard_intervals: Vec::new(),
        consumer_intervals: Vec::new(),
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

/// "x,y" as numbers.
fn point(p: &str) -> (f64, f64) {
    let (x, y) = p.split_once(',').expect("x,y");
    (x.parse().expect("x"), y.parse().expect("y"))
}

/// The last point of a polyline's point list: "x,y x,y ".
fn last_point(points: &str) -> (f64, f64) {
    point(points.split_whitespace().last().expect("a point"))
}

/// Where in `nodes` the `tag` elements with all of `attributes` stand.
fn positions(nodes: &[roxmltree::Node], tag: &str, attributes: &[(&str, &str)]) -> Vec<usize> {
    nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            n.has_tag_name(tag)
                && attributes
                    .iter()
                    .all(|(name, value)| n.attribute(*name) == Some(*value))
        })
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn spectrum_lines_of_as_many_samples_end_together() {
    let data = sample(&["put_records"], 2);
    let charts = render(&data).expect("charts");
    let doc = parse(&chart(&charts, "put_records-spectrum.svg").svg);
    // put, put (uncorrected), e2e: 100,000 samples each, though the uncorrected rows stop at
    // 99.9% (its top samples are all the maximum)
    let ends: Vec<(f64, f64)> = ["#0072B2", "#009E73", "#E69F00"]
        .iter()
        .map(|c| {
            let lines = polylines(&doc, c);
            assert_eq!(lines.len(), 1, "{c}");
            last_point(lines[0])
        })
        .collect();
    assert!(ends.iter().all(|e| e.0 == ends[0].0), "{ends:?}");
    // ... at 99.999%, the last tick, and at their maximum
    let texts = texts(&doc);
    assert!(texts.iter().any(|t| t == "99.999%"), "{texts:?}");
    assert!(!texts.iter().any(|t| t.contains("ends at")), "{texts:?}");
    let (_, put_y) = ends[0];
    let (_, uncorrected_y) = ends[1];
    assert!(
        uncorrected_y > put_y,
        "the uncorrected maximum is the lower"
    );
}

#[test]
fn a_spectrum_line_of_fewer_samples_ends_early_and_says_so() {
    let mut data = sample(&["put_records"], 2);
    // 1,200 uncorrected samples: its data ends at 99.91%
    for r in &mut data.spectrum {
        if r.histogram == "put_uncorrected" {
            r.count = if r.percentile == 50.0 {
                998
            } else if r.percentile == 0.0 || r.percentile == 100.0 {
                1
            } else {
                50
            };
        }
    }
    let charts = render(&data).expect("charts");
    let doc = parse(&chart(&charts, "put_records-spectrum.svg").svg);
    let put = last_point(polylines(&doc, "#0072B2")[0]);
    let uncorrected = last_point(polylines(&doc, "#009E73")[0]);
    let e2e = last_point(polylines(&doc, "#E69F00")[0]);
    assert_eq!(put.0, e2e.0);
    assert!(uncorrected.0 < put.0, "{uncorrected:?} {put:?}");
    let texts = texts(&doc);
    assert!(
        texts
            .iter()
            .any(|t| t == "log scales; put (uncorrected) ends at 99.91%: 1,200 samples"),
        "{texts:?}"
    );
    assert_eq!(super::spectrum::deepest_percentile(49_500), "99.997%");
    assert_eq!(super::spectrum::deepest_percentile(100), "99%");
    assert_eq!(super::spectrum::deepest_percentile(1), "0%");
}

/// About where a `<text>` of the chart lies: (x0, y0, x1, y1), from its anchor, font size and
/// length, as the charts estimate it.
fn text_box(n: roxmltree::Node) -> (f64, f64, f64, f64) {
    let num = |a: &str| -> f64 { n.attribute(a).and_then(|v| v.parse().ok()).unwrap_or(0.0) };
    let (x, y, size) = (num("x"), num("y"), num("font-size"));
    let w = n.text().unwrap_or("").trim().chars().count() as f64 * size * 0.55;
    let h = size * 1.2;
    let x0 = match n.attribute("text-anchor") {
        Some("middle") => x - w / 2.0,
        Some("end") => x - w,
        _ => x,
    };
    let y0 = match n.attribute("dy") {
        Some("0.76em") => y,
        Some("0.5ex") => y - h / 2.0,
        _ => y - h,
    };
    (x0, y0, x0 + w, y0 + h)
}

fn overlap(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// The shards chart of `shards` shards whose peaks are `peak(i)` and averages 950 records/s.
fn shards_with(shards: usize, peak: impl Fn(usize) -> f64) -> String {
    let mut data = sample(&["put_records"], shards);
    for (i, s) in data.summary.variants[0].per_shard.iter_mut().enumerate() {
        s.records_per_s = 950.0;
        s.peak_records_per_s = peak(i);
    }
    let charts = render(&data).expect("charts");
    chart(&charts, "put_records-shards.svg").svg.clone()
}

#[test]
fn a_peak_at_the_limit_is_drawn_over_the_limit_line_and_labelled_apart() {
    // the hot shard first, last, or every shard at the limit
    type Peak = fn(usize) -> f64;
    let cases: [(usize, Peak); 4] = [
        (2, |i| if i == 1 { 1000.0 } else { 990.0 }),
        (8, |i| if i == 7 { 1004.0 } else { 600.0 }),
        (8, |i| if i == 0 { 1000.0 } else { 600.0 }),
        (12, |_| 1000.0),
    ];
    for (shards, peak) in cases {
        let svg = shards_with(shards, peak);
        let doc = parse(&svg);
        let nodes: Vec<roxmltree::Node> = doc.descendants().collect();
        // the limit's dashes: 2-pixel rects in vermillion, 8 wide, in a row across the plot
        let dashes = positions(
            &nodes,
            "rect",
            &[("fill", "#D55E00"), ("height", "2"), ("width", "8")],
        );
        assert!(dashes.len() > 20, "{shards} shards: a dashed limit line");
        let line_y: f64 = nodes[dashes[0]]
            .attribute("y")
            .and_then(|y| y.parse().ok())
            .expect("y");
        let peaks = positions(
            &nodes,
            "polyline",
            &[("stroke", "#222222"), ("stroke-width", "3")],
        );
        assert_eq!(peaks.len(), shards);
        let last_dash = dashes.iter().max().copied().unwrap_or(0);
        for &p in &peaks {
            // drawn after the limit line, on a white ring of its own
            assert!(
                p > last_dash,
                "{shards} shards: a peak under the limit line"
            );
            let ring = nodes[..p]
                .iter()
                .rev()
                .find(|n| n.is_element())
                .expect("an element before the marker");
            assert!(
                ring.has_tag_name("rect") && ring.attribute("fill") == Some("#FFFFFF"),
                "{shards} shards: the marker's white ring"
            );
        }
        // the peak at the limit lies on the line
        let hottest = peaks
            .iter()
            .map(|&p| last_point(nodes[p].attribute("points").expect("points")))
            .map(|(_, y)| y)
            .fold(f64::INFINITY, f64::min);
        assert!(
            (hottest - (line_y + 1.0)).abs() <= 2.0,
            "{shards} shards: peak at y {hottest}, the line at {line_y}"
        );
        let text_node = |start: &str| {
            nodes
                .iter()
                .copied()
                .find(|n| {
                    n.has_tag_name("text")
                        && n.text().is_some_and(|t| {
                            t.trim().starts_with(start) && t.trim().ends_with("/s")
                        })
                })
                .unwrap_or_else(|| panic!("{shards} shards: a label {start:?}"))
        };
        let limit = text_box(text_node("limit 1,000/s"));
        let peak_label = text_node("peak ");
        let label = text_box(peak_label);
        assert!(
            !overlap(limit, label),
            "{shards} shards: {limit:?} {label:?}"
        );
        // and neither label covers a peak marker
        for &p in &peaks {
            let points = nodes[p].attribute("points").expect("points");
            let (x0, y) = point(points.split_whitespace().next().expect("a point"));
            let (x1, _) = last_point(points);
            let marker = (x0, y - 2.0, x1, y + 2.0);
            assert!(
                !overlap(limit, marker),
                "{shards} shards: limit label on a peak"
            );
            assert!(
                !overlap(label, marker),
                "{shards} shards: peak label on a peak"
            );
        }
        let expected = format!(
            "peak {}/s",
            if shards == 8 && peak(7) > 1000.0 {
                "1,004"
            } else {
                "1,000"
            }
        );
        assert_eq!(peak_label.text().map(str::trim), Some(expected.as_str()));
    }
}

/// `data` with consumers `names` reading every variant: a summary each, their rows of
/// consumer_timeseries.csv (the intervals', consumer i a tenth slower per index) and their
/// `e2e/<name>` spectra.
pub(crate) fn with_consumers(mut data: ReportData, names: &[&str]) -> ReportData {
    use crate::report::load::ConsumerIntervalRow;
    use crate::report::{ConsumerSummary, ReadAccounting};
    for v in &mut data.summary.variants {
        v.consumers = names
            .iter()
            .map(|n| ConsumerSummary {
                name: n.to_string(),
                kind: "polling".into(),
                accounting: ReadAccounting {
                    received: v.accounting.acknowledged,
                    ..Default::default()
                },
                phases: Vec::new(),
                subscriptions: 0,
                renewals: 0,
            })
            .collect();
    }
    let mut rows = Vec::new();
    let mut spectra = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let slower = 1.0 + i as f64 / 10.0;
        rows.extend(data.intervals.iter().map(|r| ConsumerIntervalRow {
            api: r.api.clone(),
            elapsed_s: r.elapsed_s,
            phase: r.phase.clone(),
            consumer: name.to_string(),
            received_rps: r.received_rps,
            e2e_p50_ms: Some(r.e2e_p50_ms * slower),
            e2e_p99_ms: Some(r.e2e_p99_ms * slower),
            e2e_max_ms: Some(r.e2e_max_ms * slower),
        }));
        spectra.extend(
            data.spectrum
                .iter()
                .filter(|r| r.histogram == "e2e")
                .map(|r| SpectrumRow {
                    histogram: format!("e2e/{name}"),
                    value_ms: r.value_ms * slower,
                    ..r.clone()
                }),
        );
    }
    data.consumer_intervals = rows;
    data.spectrum.extend(spectra);
    data
}
