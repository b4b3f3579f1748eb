//! Issue 17: several consumers on the same stream, each verified on its own, as a user runs
//! them (the binary on the embedded endpoint).

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn kbench() -> Command {
    Command::cargo_bin("kbench").expect("the kbench binary")
}

/// Runs `scenario` into a fresh folder: (exit code, stdout, the report directory).
fn run(dir: &Path, scenario: &str) -> (Option<i32>, String, PathBuf) {
    let path = dir.join("scenario.toml");
    std::fs::write(&path, scenario).expect("write scenario");
    let out = dir.join("out");
    let done = kbench()
        .arg("run")
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("kbench runs");
    // the summary on stdout, the verdict on stderr
    let stdout =
        String::from_utf8_lossy(&done.stdout).to_string() + &String::from_utf8_lossy(&done.stderr);
    let report = std::fs::read_dir(&out)
        .expect("an output folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("a report directory");
    (done.status.code(), stdout, report)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("JSON")
}

/// Two polling consumers: each has its own accounting line, its own row in consumers.csv,
/// consumer_timeseries.csv and its own e2e log; an SLO of one consumer's own that breaches
/// names it, and the run exits 2.
#[test]
fn each_consumer_is_verified_on_its_own_and_a_breach_names_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stdout, report) = run(
        dir.path(),
        r#"
name = "two-readers"
[target]
shards = 2
[[phase]]
duration = "2s"
rate = 200
[[consumer]]
name = "lambda"
drain = "20s"
[[consumer]]
name = "archive"
poll_interval = "500ms"
max_records = 100
drain = "20s"
[consumer.slo]
e2e_p99 = "1ms"
[slo]
max_lost = 0
"#,
    );
    assert_eq!(code, Some(2), "{stdout}");
    assert!(
        stdout.contains("SLO breached: e2e_p99 (archive)"),
        "{stdout}"
    );
    for name in ["lambda", "archive"] {
        assert!(
            stdout.contains(&format!(
                "{name}: received 400 distinct of 400 acknowledged; lost 0, duplicates 0"
            )),
            "{stdout}"
        );
    }
    let run = json(&report.join("run.json"));
    assert_eq!(run["schema_version"], 4);
    let v = &run["variants"][0];
    let consumers = v["consumers"].as_array().expect("consumers");
    assert_eq!(consumers.len(), 2);
    for c in consumers {
        assert_eq!(c["accounting"]["received"], 400, "{c}");
        assert_eq!(c["accounting"]["lost"], 0, "{c}");
        let total = c["phases"]
            .as_array()
            .and_then(|p| p.last())
            .expect("total");
        assert_eq!(total["phase"], "total");
        assert_eq!(total["e2e"]["count"], 400, "{c}");
        assert!(total["counters"]["get_calls"].as_u64() > Some(0), "{c}");
    }
    // the scenario's max_lost judges both, its own e2e_p99 only the archive
    let slos: Vec<(String, bool)> = v["slo"]
        .as_array()
        .expect("slo")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or("").to_string(),
                s["passed"] == true,
            )
        })
        .collect();
    let expected = [
        ("max_lost (lambda)", true),
        ("e2e_p99 (archive)", false),
        ("max_lost (archive)", true),
    ];
    let expected: Vec<(String, bool)> = expected.iter().map(|(n, p)| (n.to_string(), *p)).collect();
    assert_eq!(slos, expected);
    // the all-consumer accounting sums the consumers'
    assert_eq!(v["accounting"]["received"], 800);
    assert_eq!(v["accounting"]["holds"], true);

    let csv = std::fs::read_to_string(report.join("consumers.csv")).expect("consumers.csv");
    for name in ["lambda", "archive"] {
        assert!(
            csv.lines()
                .any(|l| l.starts_with(&format!("put_records,{name},polling,total,"))),
            "{csv}"
        );
    }
    let series = std::fs::read_to_string(report.join("consumer_timeseries.csv"))
        .expect("consumer_timeseries.csv");
    assert!(
        series.contains(",lambda,") && series.contains(",archive,"),
        "{series}"
    );
    for name in ["lambda", "archive"] {
        let log = std::fs::read_to_string(report.join(format!("e2e-{name}.hlog")))
            .expect("an e2e log per consumer");
        assert!(log.contains("put_records/phase-1"), "{log}");
    }
    let latency = std::fs::read_to_string(report.join("latency.csv")).expect("latency.csv");
    assert!(latency.contains(",e2e/archive,"), "{latency}");
    // the per-consumer charts, drawn from those files, name both consumers; report.html has them
    let html = std::fs::read_to_string(report.join("report.html")).expect("report.html");
    for chart in ["consumers", "consumer-spectrum"] {
        let svg = std::fs::read_to_string(report.join(format!("charts/put_records-{chart}.svg")))
            .expect("a per-consumer chart");
        for name in ["lambda", "archive"] {
            assert!(svg.contains(name), "{chart}: {name}");
        }
    }
    assert!(
        html.contains("End-to-end latency per consumer over time"),
        "report.html shows the per-consumer chart"
    );

    // kbench compare gates each consumer: the archive's e2e p99 doubled is its regression
    let b = dir.path().join("b");
    std::fs::create_dir(&b).expect("mkdir");
    for f in std::fs::read_dir(&report)
        .expect("ls")
        .filter_map(Result::ok)
    {
        if f.path().is_file() {
            std::fs::copy(f.path(), b.join(f.file_name())).expect("copy");
        }
    }
    let mut slower = run.clone();
    for p in slower["variants"][0]["consumers"][1]["phases"]
        .as_array_mut()
        .expect("phases")
    {
        let p99 = p["e2e"]["p99_ms"].as_f64().unwrap_or(0.0);
        p["e2e"]["p99_ms"] = serde_json::json!(p99 * 2.0 + 100.0);
    }
    std::fs::write(b.join("run.json"), slower.to_string()).expect("write");
    let compared = kbench()
        .arg("compare")
        .arg(&report)
        .arg(&b)
        .output()
        .expect("compare runs");
    let said = String::from_utf8_lossy(&compared.stdout).to_string()
        + &String::from_utf8_lossy(&compared.stderr);
    assert_eq!(compared.status.code(), Some(2), "{said}");
    assert!(said.contains("total e2e_p99 (archive)"), "{said}");
    assert!(!said.contains("e2e_p99 (lambda) +"), "{said}");
}

/// The total e2e p50 of each consumer of a finished run, and its read throttles.
fn per_consumer(report: &Path) -> Vec<(String, f64, u64)> {
    let run = json(&report.join("run.json"));
    run["variants"][0]["consumers"]
        .as_array()
        .expect("consumers")
        .iter()
        .map(|c| {
            let total = c["phases"]
                .as_array()
                .and_then(|p| p.last())
                .expect("total");
            (
                c["name"].as_str().unwrap_or("").to_string(),
                total["e2e"]["p50_ms"].as_f64().unwrap_or(0.0),
                total["counters"]["get_throttled"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// The read limits on the embedded endpoint, as on Kinesis: five polling consumers share each
/// shard's 5 GetRecords calls/s, so they are throttled and see a higher end-to-end latency
/// than one polling consumer alone on the same writes (AWS: ~200 ms with one, ~1 s with five).
/// Counts and a comparison, not timings: the lone consumer polls 5 times a second, the five
/// together try 25.
#[test]
fn five_polling_consumers_share_the_read_limit_and_see_a_higher_latency_than_one() {
    let scenario = |consumers: usize| {
        let mut text = String::from(
            "name = \"readers\"\n[target]\nshards = 1\n[[phase]]\nduration = \"4s\"\nrate = 200\n[slo]\nmax_lost = 0\n",
        );
        for i in 1..=consumers {
            text += &format!("[[consumer]]\nname = \"poller-{i}\"\ndrain = \"30s\"\n");
        }
        text
    };
    let one_dir = tempfile::tempdir().expect("tempdir");
    let (code, said, one) = run(one_dir.path(), &scenario(1));
    assert_eq!(code, Some(0), "{said}");
    let five_dir = tempfile::tempdir().expect("tempdir");
    let (code, said, five) = run(five_dir.path(), &scenario(5));
    assert_eq!(
        code,
        Some(0),
        "every consumer reads every record back: {said}"
    );
    let alone = per_consumer(&one);
    let shared = per_consumer(&five);
    assert_eq!(alone.len(), 1);
    assert_eq!(shared.len(), 5);
    let throttled: u64 = shared.iter().map(|c| c.2).sum();
    assert!(throttled > 0, "25 calls/s against 5: {shared:?}");
    let mean_p50 = shared.iter().map(|c| c.1).sum::<f64>() / 5.0;
    assert!(
        mean_p50 > alone[0].1,
        "five sharing the limit ({shared:?}) against one alone ({alone:?})"
    );
}

/// Enhanced fan-out end to end on the embedded endpoint, with subscriptions of 2 s so that a
/// short run renews each several times: every acknowledged record is received exactly once by
/// the EFO consumer, none lost, and it is never throttled while a polling consumer beside it
/// reads the same shards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn efo_renews_its_subscriptions_and_receives_every_record_exactly_once() {
    use kbench::endpoint::embedded::EmbeddedOptions;
    use kbench::run::RunSettings;
    let text = r#"
name = "efo"
[target]
shards = 2
[[phase]]
duration = "16s"
rate = 50
[[consumer]]
name = "fan-out"
kind = "efo"
drain = "30s"
[[consumer]]
name = "poller"
drain = "30s"
[slo]
max_lost = 0
"#;
    let scenario =
        kbench::scenario::parse(text, "efo.toml", "efo").unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = RunSettings {
        out: dir.path().to_path_buf(),
        progress: false,
        embedded: EmbeddedOptions {
            efo_session: std::time::Duration::from_secs(2),
            ..EmbeddedOptions::default()
        },
    };
    let outcome = kbench::run::run(
        &scenario,
        &settings,
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .expect("the run");
    let v = &outcome.summary.variants[0];
    assert_eq!(v.status, "completed", "{v:?}");
    let efo = v
        .consumers
        .iter()
        .find(|c| c.kind == "efo")
        .expect("the EFO consumer");
    let a = &efo.accounting;
    assert_eq!(a.received, v.accounting.acknowledged, "{a:?}");
    assert_eq!((a.lost, a.duplicates, a.unverified), (0, 0, 0), "{a:?}");
    // 16 s of writes in 2 s sessions, each renewed no sooner than 5 s after the last
    // successful SubscribeToShard (Kinesis's rule): at least three renewals per shard
    assert!(
        efo.renewals >= 3 * 2,
        "renewals {} of {efo:?}",
        efo.renewals
    );
    assert!(efo.subscriptions > efo.renewals, "{efo:?}");
    let total = efo.total().expect("a total");
    assert_eq!(
        total.counters.get_throttled, 0,
        "EFO reads are not throttled: {efo:?}"
    );
    let poller = v
        .consumers
        .iter()
        .find(|c| c.kind == "polling")
        .expect("the poller");
    assert_eq!(poller.accounting.received, v.accounting.acknowledged);
}
