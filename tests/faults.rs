//! What kbench promises under each injected fault (`[target.faults]`, issue 16): every record
//! accounted for, failures retried, latency that includes the fault (coordinated omission
//! corrected), and an outage that shows in the time series and ends without a restart.
//!
//! Runs of 3-4 s on the embedded endpoint, in-process; the assertions are invariants and
//! generous bounds, so they hold on a loaded 2-core machine.

use kbench::endpoint::embedded::{EmbeddedOptions, InjectedCounts};
use kbench::report::VariantSummary;
use kbench::run::{self as runner, RunOutcome, RunSettings};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// A run of `seconds` at `rate` records/s on two shards, with `faults` as [target.faults].
fn faulted(name: &str, faults: &str, seconds: u32, rate: u32) -> String {
    format!(
        r#"
name = "{name}"
seed = 7
[target]
stream = "{name}"
shards = 2
[target.faults]
{faults}
[producer]
in_flight = 8
linger = "10ms"
max_attempts = 30
backoff = {{ base = "20ms", max = "500ms" }}
[records]
size = "100B"
keys = {{ dist = "uniform", count = 100 }}
[[phase]]
duration = "{seconds}s"
rate = {rate}
[consumer]
drain = "20s"
[report]
interval = "500ms"
"#
    )
}

async fn run(text: &str, out: &Path) -> RunOutcome {
    let scenario =
        kbench::scenario::parse(text, "faults.toml", "faults").unwrap_or_else(|e| panic!("{e}"));
    let settings = RunSettings {
        out: out.to_path_buf(),
        progress: false,
        embedded: EmbeddedOptions::default(),
    };
    runner::run(&scenario, &settings, CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("run failed: {e:#}"))
}

/// The one variant, and what the endpoint injected.
fn outcome(o: &RunOutcome) -> (&VariantSummary, InjectedCounts) {
    assert_eq!(o.summary.variants.len(), 1);
    let injected = o
        .summary
        .faults_injected
        .expect("the faults injected are reported");
    (&o.summary.variants[0], injected)
}

/// Every scheduled record acknowledged (none given up) and read back, none lost.
fn assert_every_record_acknowledged_and_read(v: &VariantSummary, scheduled: u64) {
    let a = &v.accounting;
    assert_eq!(v.status, "completed");
    assert_eq!(a.scheduled, scheduled, "{a:?}");
    assert!(a.holds, "{a:?}");
    assert_eq!(
        a.acknowledged, a.scheduled,
        "every record acknowledged: {a:?}"
    );
    assert_eq!(a.given_up, 0, "{a:?}");
    assert_eq!(
        a.reads.received, a.acknowledged,
        "every acknowledged record read: {a:?}"
    );
    assert_eq!(a.reads.lost, 0, "{a:?}");
}

/// run.json says what was injected, and matches the schema's optional field.
fn run_json_injected(dir: &Path) -> serde_json::Value {
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("run.json")).expect("run.json"))
            .expect("JSON");
    json["faults_injected"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_errors_are_retried_and_every_record_accounted_for() {
    let out = tempfile::tempdir().expect("tempdir");
    let faults = r#"errors = [
  { operation = "PutRecords", code = "InternalFailure", rate = 0.1 },
  { operation = "PutRecords", code = "ProvisionedThroughputExceededException", rate = 0.05 },
  { operation = "*", code = "ServiceUnavailable", rate = 0.05 },
]"#;
    let o = run(&faulted("errors", faults, 3, 300), out.path()).await;
    let (v, injected) = outcome(&o);
    assert!(
        injected.internal_failure > 0 && injected.service_unavailable > 0 && injected.throttled > 0,
        "{injected:?}"
    );
    let c = &v.total().expect("total").counters;
    // a call failed whole fails each of its records; they are retried until acknowledged
    assert!(
        c.call_errors >= injected.internal_failure,
        "{c:?} {injected:?}"
    );
    assert!(c.throttled > 0 && c.failed > 0 && c.retried > 0, "{c:?}");
    assert!(c.attempts > c.scheduled, "{c:?}");
    assert_every_record_acknowledged_and_read(v, 900);
    let json = run_json_injected(&o.dir);
    assert_eq!(json["internal_failure"], injected.internal_failure);
    let text = kbench::report::summary::render(&o.summary, "dir");
    assert!(
        text.contains(&format!(
            "faults injected: {} InternalFailure",
            injected.internal_failure
        )),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_failures_are_retried_entry_by_entry_and_never_stored() {
    let out = tempfile::tempdir().expect("tempdir");
    let o = run(
        &faulted("partial", "partial_failure_rate = 0.1", 3, 300),
        out.path(),
    )
    .await;
    let (v, injected) = outcome(&o);
    let failed = injected.partial_throttled + injected.partial_internal_failure;
    assert!(
        injected.partial_throttled > 0 && injected.partial_internal_failure > 0,
        "{injected:?}"
    );
    let c = &v.total().expect("total").counters;
    // each failed entry is one more attempt of its record, in a later call; the calls succeed
    assert_eq!(c.attempts, c.scheduled + failed, "{c:?} {injected:?}");
    assert_eq!(c.retried, failed, "{c:?}");
    assert_eq!(c.call_errors, 0, "{c:?}");
    assert_eq!(c.throttled, injected.partial_throttled, "{c:?}");
    assert_every_record_acknowledged_and_read(v, 900);
    // a failed entry was not stored: no record was read back twice
    assert_eq!(v.accounting.reads.duplicates, 0, "{:?}", v.accounting);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_latency_is_in_every_put_latency() {
    let out = tempfile::tempdir().expect("tempdir");
    let faults = r#"latency = { operation = "PutRecords", dist = "fixed", value = "50ms" }"#;
    let o = run(&faulted("latency", faults, 3, 300), out.path()).await;
    let (v, injected) = outcome(&o);
    let total = v.total().expect("total");
    assert!(injected.delayed >= total.counters.calls, "{injected:?}");
    for (name, l) in [
        ("put", &total.put),
        ("put_uncorrected", &total.put_uncorrected),
        ("put_service", &total.put_service),
    ] {
        assert!(
            l.p50_ms >= 50.0,
            "{name} p50 {} ms under the added 50 ms",
            l.p50_ms
        );
    }
    assert_every_record_acknowledged_and_read(v, 900);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_holds_every_request_and_the_corrected_latency_shows_it() {
    let out = tempfile::tempdir().expect("tempdir");
    // one stall from 1.5 s to 2.5 s of the 3 s phase: a third of the records wait for it
    let faults = r#"stall = { every = "1500ms", for = "1s" }"#;
    let o = run(&faulted("stall", faults, 3, 300), out.path()).await;
    let (v, injected) = outcome(&o);
    assert!(injected.stalls >= 1 && injected.stalled > 0, "{injected:?}");
    let total = v.total().expect("total");
    // the records due in the stall's first 100 ms (3% of all) waited 900 ms or more from their
    // intended send time, however few requests carried them
    assert!(
        total.put.p99_ms >= 900.0,
        "corrected put p99 {}",
        total.put.p99_ms
    );
    assert!(
        total.put.max_ms >= 900.0 && total.put.max_ms < 5000.0,
        "{:?}",
        total.put
    );
    assert_every_record_acknowledged_and_read(v, 900);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_resets_are_retried_and_every_record_accounted_for() {
    let out = tempfile::tempdir().expect("tempdir");
    let o = run(&faulted("resets", "reset_rate = 0.05", 3, 300), out.path()).await;
    let (v, injected) = outcome(&o);
    assert!(injected.resets > 0, "{injected:?}");
    let c = &v.total().expect("total").counters;
    // a reset is a failed call to the client (a dispatch failure), retried like any other
    assert!(c.call_errors > 0 && c.failed > 0 && c.retried > 0, "{c:?}");
    assert!(c.call_errors <= injected.resets, "{c:?} {injected:?}");
    // a reset write may have been stored: its records may be read twice, never lost
    assert_every_record_acknowledged_and_read(v, 900);
}

/// One interval of timeseries.csv: its end, and the counts.
struct Interval {
    end_s: f64,
    length_s: f64,
    acknowledged: u64,
    failed: u64,
    call_errors: u64,
}

fn intervals(dir: &Path) -> Vec<Interval> {
    let mut r = csv::Reader::from_path(dir.join("timeseries.csv")).expect("timeseries.csv");
    let headers = r.headers().expect("headers").clone();
    let col = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let (end, length, acked, failed, errors) = (
        col("elapsed_s"),
        col("interval_s"),
        col("acknowledged"),
        col("failed"),
        col("call_errors"),
    );
    r.records()
        .map(|row| {
            let row = row.expect("a row");
            let n = |i: usize| row[i].parse::<u64>().expect("a count");
            let s = |i: usize| row[i].parse::<f64>().expect("seconds");
            Interval {
                end_s: s(end),
                length_s: s(length),
                acknowledged: n(acked),
                failed: n(failed),
                call_errors: n(errors),
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_shows_in_the_time_series_and_records_flow_again_after_it() {
    let out = tempfile::tempdir().expect("tempdir");
    let o = run(
        &faulted("outage", r#"outage = { from = "1s", to = "3s" }"#, 4, 200),
        out.path(),
    )
    .await;
    let (v, injected) = outcome(&o);
    assert_eq!(injected.outages, 1, "{injected:?}");
    assert!(injected.outage_dropped > 0, "{injected:?}");
    let rows = intervals(&o.dir);
    // the intervals well inside the outage (a margin of 250 ms for the fault clock, which
    // starts when the consumer takes its iterators, just before the run's clock)
    let inside: Vec<&Interval> = rows
        .iter()
        .filter(|r| r.end_s - r.length_s >= 1.25 && r.end_s <= 2.75)
        .collect();
    assert!(
        inside.len() >= 2,
        "intervals inside the outage: {}",
        inside.len()
    );
    for r in &inside {
        assert_eq!(
            r.acknowledged, 0,
            "acknowledged in the outage, at {} s",
            r.end_s
        );
        assert!(
            r.failed > 0 && r.call_errors > 0,
            "no failures at {} s",
            r.end_s
        );
    }
    // after it, records flow again on the same endpoint
    let after: u64 = rows
        .iter()
        .filter(|r| r.end_s - r.length_s >= 3.5)
        .map(|r| r.acknowledged)
        .sum();
    assert!(after > 0, "nothing acknowledged after the outage");
    assert_every_record_acknowledged_and_read(v, 800);
    // and the summary names it, with its time
    // (the episode of most calls: a call caught at the edge may meet another error first)
    let named = v
        .incidents
        .iter()
        .filter(|i| i.what == "endpoint unreachable")
        .max_by_key(|i| i.calls.values().sum::<u64>())
        .unwrap_or_else(|| panic!("the outage is not named: {:?}", v.incidents));
    assert!(
        named.from_s > 0.7 && named.from_s < 1.5 && named.to_s > 2.5 && named.to_s < 3.5,
        "named at the wrong time: {named:?}"
    );
    let text = kbench::report::summary::render(&o.summary, "dir");
    assert!(
        text.contains("incident: endpoint unreachable from 1."),
        "{text}"
    );
}
