//! The per-shard view on the embedded endpoint: routing agrees with the service, a hot key
//! throttles only its own shard, and explicit hash keys balance the shards exactly.

mod common;

use kbench::endpoint::embedded::EmbeddedOptions;
use kbench::run::{self as runner, RunSettings};
use kbench::workload::shardmap::ShardMap;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn md5_routing_agrees_with_the_shard_the_endpoint_reports() {
    let (server, c, ready) = common::endpoint_with_stream("routing", 4).await;
    let map = ShardMap::new(ready.shards.iter().map(|s| {
        (
            s.id.as_str(),
            s.starting_hash_key.as_str(),
            s.ending_hash_key.as_str(),
        )
    }))
    .expect("shard map");
    let ids: Vec<String> = map.entries().map(|e| e.0.to_string()).collect();
    let mut seen = std::collections::HashSet::new();
    for i in 0..64 {
        let key = format!("k{i}");
        let out = c
            .put_record()
            .stream_name("routing")
            .partition_key(&key)
            .data(aws_sdk_kinesis::primitives::Blob::new(vec![1u8; 10]))
            .send()
            .await
            .expect("PutRecord");
        let predicted = map.shard_of_key(&key).expect("every hash is in a range");
        assert_eq!(ids[predicted], out.shard_id(), "key {key}");
        seen.insert(predicted);
    }
    assert_eq!(seen.len(), 4, "64 keys reach every one of 4 shards");
    server.shutdown().await;
}

fn settings(out: &std::path::Path) -> RunSettings {
    RunSettings {
        out: out.to_path_buf(),
        progress: false,
        embedded: EmbeddedOptions::default(),
    }
}

async fn run(text: &str) -> kbench::report::VariantSummary {
    let out = tempfile::tempdir().expect("tempdir");
    let scenario = kbench::scenario::parse(text, "t.toml", "t").unwrap_or_else(|e| panic!("{e}"));
    let outcome = runner::run(&scenario, &settings(out.path()), CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let shards_csv = std::fs::read_to_string(outcome.dir.join("shards.csv")).expect("shards.csv");
    let mut variants = outcome.summary.variants;
    assert_eq!(variants.len(), 1, "one API variant");
    let only = variants.remove(0);
    assert_eq!(shards_csv.lines().count(), 1 + only.per_shard.len());
    only
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_key_throttles_its_shard_and_no_other() {
    // the shipped scenario, shortened: 1,500 records/s on the key `hot`
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/hot-key.toml"),
    )
    .expect("scenarios/hot-key.toml")
    .replace("duration = \"15s\"", "duration = \"4s\"")
    .replace("max_attempts = 10", "max_attempts = 30");
    let s = run(&text).await;
    let hot = ShardMap::new(s.per_shard.iter().map(|p| {
        (
            p.shard_id.as_str(),
            p.starting_hash_key.as_str(),
            p.ending_hash_key.as_str(),
        )
    }))
    .expect("map")
    .shard_of_key("hot")
    .expect("a shard");
    for (i, shard) in s.per_shard.iter().enumerate() {
        if i == hot {
            assert!(shard.throttled > 0, "the hot shard throttles: {shard:?}");
            assert!(shard.share_pct > 40.0, "{shard:?}");
        } else {
            assert_eq!(shard.throttled, 0, "a cool shard throttled: {shard:?}");
        }
    }
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("hottest shard: ") && w.contains(&s.per_shard[hot].shard_id))
    );
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("no number of shards fixes this"))
    );
    assert_eq!(s.accounting.reads.lost, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn even_shards_balances_exactly() {
    let s = run(r#"
[target]
stream = "even"
shards = 4
[records]
size = "128B"
keys = { dist = "even_shards" }
[[phase]]
duration = "2s"
rate = 400
[consumer]
drain = "20s"
"#)
    .await;
    assert_eq!(s.accounting.acknowledged, 800);
    assert_eq!(s.accounting.reads.received, 800);
    for shard in &s.per_shard {
        assert_eq!(shard.acknowledged, 200, "round robin: {shard:?}");
    }
    assert!(!s.warnings.iter().any(|w| w.contains("hottest shard")));
}
