//! `kbench sweep` against the embedded endpoint's shard limits, and its agreement with the
//! calculator (`kbench size`).
//!
//! Each sweep takes about a minute (short steps: 1 s warm-up, 3 s measured); the tests take
//! turns, so they do not compete for the machine's cores and shift each other's knees.

use kbench::endpoint::embedded::EmbeddedOptions;
use kbench::run::RunSettings;
use kbench::scenario::{self, Scenario};
use kbench::sweep::{self, SweepOutcome, SweepSettings};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A one-API scenario: `rate` records/s of `size`, keys `keys`, SLO: at most 0.1% of attempts
/// throttled and at least 98% of the offered rate achieved.
fn scenario(name: &str, size: &str, keys: &str, rate: u32) -> Scenario {
    let text = format!(
        r#"name = "{name}"
seed = 7
[target]
stream = "{name}"
shards = 1
[producer]
api = "put_records"
in_flight = 8
linger = "20ms"
[records]
size = "{size}"
keys = {keys}
[[phase]]
duration = "10s"
rate = {rate}
[slo]
max_throttled_pct = 0.1
min_achieved_pct = 98.0
"#
    );
    scenario::parse(&text, "sweep-test.toml", name).expect("valid scenario")
}

async fn sweep(s: &Scenario, shard_counts: &[u32]) -> (SweepOutcome, tempfile::TempDir) {
    let out = tempfile::tempdir().expect("tempdir");
    let settings = SweepSettings {
        shard_counts: shard_counts.to_vec(),
        start: None,
        warmup: Duration::from_secs(1),
        measure: Duration::from_secs(3),
        precision: 0.02,
        max_steps: 10,
        run: RunSettings {
            out: out.path().to_path_buf(),
            progress: false,
            embedded: EmbeddedOptions::default(),
        },
    };
    let calculator = sweep::calculator(s, s.peak_rate());
    let outcome = sweep::run(
        s,
        &settings,
        calculator.as_ref(),
        CancellationToken::new(),
        |step| eprintln!("{}", sweep::step_line(step)),
    )
    .await
    .expect("sweep runs");
    eprintln!("{}", sweep::render(&outcome, s.peak_rate()));
    assert!(!outcome.interrupted);
    assert_eq!(outcome.results.len(), shard_counts.len());
    // every step is in sweep.csv, and every step left its report
    let csv = std::fs::read_to_string(outcome.dir.join("sweep.csv")).expect("sweep.csv");
    assert_eq!(csv.lines().count(), outcome.steps.len() + 1);
    for step in &outcome.steps {
        assert!(step.dir.join("run.json").exists(), "{}", step.dir.display());
    }
    (outcome, out)
}

/// Per shard count: the highest passing rate, and the knee bracketed (a failing rate above it).
fn sustained(outcome: &SweepOutcome) -> Vec<(u32, f64, kbench::sweep::Step)> {
    outcome
        .results
        .iter()
        .map(|r| {
            assert_eq!(r.stopped, None, "{} shards: {:?}", r.shards, r.stopped);
            let max = r.max_rate.expect("a rate passed");
            let failed = r.failed_rate.expect("a rate failed");
            assert!(failed > max, "{} shards: {max} / {failed}", r.shards);
            (r.shards, max, r.max_step.clone().expect("the passing step"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_finds_a_thousand_records_per_second_per_shard_for_small_records() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let s = scenario("sweep-100b", "100B", r#"{ dist = "even_shards" }"#, 1000);
    let (outcome, _dir) = sweep(&s, &[1, 2, 4]).await;
    for (shards, max, step) in sustained(&outcome) {
        let per_shard = max / f64::from(shards);
        assert!(
            (950.0..=1050.0).contains(&per_shard),
            "{shards} shards sustained {max} records/s: {per_shard:.0} per shard, not within 5% of 1,000"
        );
        let achieved = step.achieved_rps / f64::from(shards);
        assert!(
            (950.0..=1050.0).contains(&achieved),
            "{shards} shards achieved {achieved:.0} records/s per shard"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_finds_a_mebibyte_per_second_per_shard_for_4_kib_records() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let s = scenario("sweep-4k", "4KiB", r#"{ dist = "even_shards" }"#, 256);
    let (outcome, _dir) = sweep(&s, &[1, 2, 4]).await;
    let mib = 1024.0 * 1024.0;
    for (shards, max, step) in sustained(&outcome) {
        let per_shard = step.achieved_bytes_per_s / f64::from(shards);
        assert!(
            (0.95 * mib..=1.05 * mib).contains(&per_shard),
            "{shards} shards sustained {max} records/s = {:.0} KiB/s per shard, not within 5% of 1,024",
            per_shard / 1024.0
        );
        // bytes, not records, are the limit here: far below 1,000 records/s per shard
        assert!(max / f64::from(shards) < 300.0, "{shards} shards: {max}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_recommends_the_shard_count_the_sweep_confirms_with_zipf_keys() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let s = scenario(
        "sweep-zipf",
        "100B",
        r#"{ dist = "zipf", count = 100, exponent = 1.0 }"#,
        2500,
    );
    let target = s.peak_rate();
    let calculator = sweep::calculator(&s, target).expect("random payload: sizes known");
    let sizing = calculator.size();
    let recommended = sizing.recommended.expect("a shard count fits");
    // the average alone would say 3 shards (833 records/s each); the hottest shard needs 4
    assert_eq!(recommended, 4, "{sizing:?}");
    let three = sizing
        .candidates
        .iter()
        .find(|c| c.shards == 3)
        .expect("3 shards in the table");
    assert!(
        three.average.records_per_s < 1000.0 && !three.fits,
        "{three:?}"
    );

    let (outcome, _dir) = sweep(&s, &[3, 4]).await;
    let confirmed = sweep::recommended(&outcome.results, target)
        .map(|r| r.shards)
        .expect("4 shards sustain the target rate");
    assert!(
        confirmed.abs_diff(recommended) <= 1,
        "kbench size recommends {recommended} shards, the sweep {confirmed}"
    );
    // and exactly: 3 shards (their hottest at 102% of its limit) fall short, 4 carry it
    assert_eq!(confirmed, 4);
    let max_on_3 = outcome.results[0]
        .max_rate
        .expect("a rate passed on 3 shards");
    assert!(max_on_3 < target, "3 shards sustained {max_on_3}");
    // and the sweep's ceiling per count is near the calculator's (hottest shard at its limit)
    for r in &outcome.results {
        let estimate = r.estimate.expect("estimate");
        let max = r.max_rate.expect("a rate passed");
        assert!(
            (0.9 * estimate..=1.05 * estimate).contains(&max),
            "{} shards: sweep {max}, calculator {estimate:.0}",
            r.shards
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_hot_key_is_not_fixed_by_more_shards() {
    let _turn = ONE_AT_A_TIME.lock().await;
    // 80% of 1,500 records/s on one key: 1,200/s, more than any one shard takes
    let s = scenario(
        "sweep-hot",
        "100B",
        r#"{ dist = "hot", fraction = 0.8, count = 100 }"#,
        1500,
    );
    let target = s.peak_rate();
    let sizing = sweep::calculator(&s, target).expect("sizes known").size();
    assert_eq!(sizing.recommended, None);
    assert!(
        sizing
            .unfixable
            .iter()
            .any(|u| u.contains("no number of shards fixes this")),
        "{:?}",
        sizing.unfixable
    );

    let (outcome, _dir) = sweep(&s, &[2, 4]).await;
    assert!(sweep::recommended(&outcome.results, target).is_none());
    let text = sweep::recommendation(&outcome.results, target);
    assert!(
        text.contains("the hottest key, not the shard count, sets the limit"),
        "{text}"
    );
    // the hot key's shard caps the stream near 1,000 / 0.8 records/s whatever the count
    for r in &outcome.results {
        let max = r.max_rate.expect("a rate passed");
        assert!(
            (1000.0..1250.0).contains(&max),
            "{} shards: {max}",
            r.shards
        );
    }
}
