//! Property-based fuzzing of what reads untrusted input: the scenario parser, the template
//! parser, the NDJSON replay reader, the KPL aggregate decoder and the record stamp decoder.
//! Nothing may panic; what is encoded decodes back to itself.
//!
//! Deterministic: a fixed seed (`PROPTEST_RNG_SEED` overrides it) and no failure persistence
//! files. `PROPTEST_CASES` sets the cases per property (default 256, a few seconds in all);
//! a longer run: `PROPTEST_CASES=100000 cargo test --release --test fuzz`.

use kbench::aggregate::{self, Builder, MAGIC};
use kbench::scenario::replay::{MAX_LINE_BYTES, Replay, record};
use kbench::scenario::template::Template;
use kbench::workload::replay::Cursor;
use kbench::workload::stamp::Stamp;
use md5::{Digest, Md5};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use std::sync::Arc;

fn config() -> Config {
    let default = Config::default();
    Config {
        failure_persistence: None,
        rng_seed: match std::env::var("PROPTEST_RNG_SEED") {
            Ok(_) => default.rng_seed,
            Err(_) => RngSeed::Fixed(0x6b62_656e_6368),
        },
        ..default
    }
}

/// Text made of `tokens`, glued with random separators: near enough to the real syntax to
/// get past the first check, far enough to find the paths nobody wrote a test for.
fn glued(tokens: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(tokens).prop_map(str::to_string),
        1 => any::<char>().prop_map(String::from),
        1 => prop::sample::select(&[" ", "\n", "\"", "'", "=", ",", "{", "}", "[", "]", "-", "."][..])
            .prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..max).prop_map(|p| p.concat())
}

const TOML_TOKENS: &[&str] = &[
    "[target]\n",
    "[producer]\n",
    "[records]\n",
    "[[phase]]\n",
    "[consumer]\n",
    "[slo]\n",
    "[report]\n",
    "[producer.aggregation]\n",
    "name = ",
    "shards = ",
    "stream = ",
    "endpoint = ",
    "api = ",
    "in_flight = ",
    "batch_max_records = ",
    "batch_max_bytes = ",
    "linger = ",
    "arrival = ",
    "max_attempts = ",
    "backoff = ",
    "aggregation = ",
    "size = ",
    "keys = ",
    "payload = ",
    "duration = ",
    "rate = ",
    "measure = ",
    "drain = ",
    "put_p99 = ",
    "interval = ",
    "dist = ",
    "count = ",
    "min = ",
    "max = ",
    "\"1s\"",
    "\"0s\"",
    "\"31d\"",
    "\"1KiB\"",
    "\"5MiB\"",
    "\"2MiB\"",
    "\"1kb\"",
    "\"max\"",
    "\"put_records_aggregated\"",
    "\"put_record\"",
    "\"random\"",
    "\"poisson\"",
    "\"zipf\"",
    "\"hot\"",
    "\"unique\"",
    "\"even_shards\"",
    "\"empirical\"",
    "{ from = 1, to = 9 }",
    "{ base = \"1ms\" }",
    "{ template = '{\"a\": {{int 0 9}}}', key = \"a\" }",
    "{ file = \"e.ndjson\", key = \"k\" }",
    "{ file = \"e.ndjson\", key = \"k\", loop = false }",
    "0",
    "1",
    "-1",
    "500",
    "501",
    "1e308",
    "nan",
    "inf",
    "4294967296",
    "18446744073709551616",
    "true",
    "[\"put_record\"]",
];

/// One of `valid` mostly, sometimes one of `invalid`.
fn mostly(
    valid: &'static [&'static str],
    invalid: &'static [&'static str],
) -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(valid).prop_map(str::to_string),
        1 => prop::sample::select(invalid).prop_map(str::to_string),
    ]
}

/// A scenario assembled from values of every section, mostly valid ones, so that both the
/// checks and the rendering of accepted scenarios get exercised.
fn scenario() -> impl Strategy<Value = String> {
    let shards = prop::option::of(mostly(&["1", "3", "10000"], &["0", "10001", "\"two\""]));
    let api = prop::option::of(mostly(
        &[
            "\"put_record\"",
            "\"put_records\"",
            "\"put_records_aggregated\"",
            "[\"put_record\", \"put_records\"]",
        ],
        &["\"put\"", "[]", "[\"put_record\", \"put_record\"]"],
    ));
    let batch = prop::option::of(mostly(&["1", "100", "500"], &["0", "501", "-1"]));
    let size = prop::option::of(mostly(
        &[
            "\"1KiB\"",
            "100",
            "\"1kb\"",
            "{ dist = \"uniform\", min = \"100B\", max = \"4KiB\" }",
            "{ dist = \"normal\", mean = \"1KiB\", stddev = \"200B\" }",
            "{ dist = \"lognormal\", median = \"1KiB\", sigma = 0.5 }",
            "{ dist = \"pareto\", scale = \"200B\", shape = 1.5, max = \"256KiB\" }",
            "{ dist = \"empirical\", table = [[\"100B\", 70], [\"1KiB\", 1]] }",
        ],
        &[
            "\"10B\"",
            "\"2MiB\"",
            "{ dist = \"uniform\", min = \"4KiB\", max = \"100B\" }",
            "{ dist = \"empirical\", table = [] }",
        ],
    ));
    let keys = prop::option::of(mostly(
        &[
            "1000",
            "{ dist = \"zipf\", count = 10, exponent = 1.1 }",
            "{ dist = \"hot\", fraction = 0.5, count = 3 }",
            "{ dist = \"sequential\", count = 7 }",
            "{ dist = \"unique\" }",
            "{ dist = \"even_shards\" }",
        ],
        &[
            "{ dist = \"sequential\", count = 0 }",
            "{ dist = \"hot\", fraction = 2 }",
            "{ dist = \"zipf\", exponent = -1 }",
        ],
    ));
    let payload = prop::option::of(prop_oneof![
        3 => Just("\"random\"".to_string()),
        2 => Just("{ file = \"e.ndjson\", key = \"k\" }".to_string()),
        1 => Just("{ file = \"e.ndjson\", key = \"k\", loop = false }".to_string()),
        1 => Just("{ file = \"missing.ndjson\", key = \"k\" }".to_string()),
        2 => Just("{ template = '{\"a\": \"{{string 4}}\", \"n\": {{int 0 9}}}', key = \"a\" }".to_string()),
        1 => template().prop_map(|t| format!("{{ template = {} }}", toml_string(&t))),
    ]);
    let rate = prop_oneof![
        6 => (1u32..5000).prop_map(|r| r.to_string()),
        1 => (0.001f64..50.0).prop_map(|r| format!("{r}")),
        2 => Just("\"max\"".to_string()),
        2 => (1u32..100, 1u32..100).prop_map(|(a, b)| format!("{{ from = {a}, to = {b} }}")),
        1 => Just("-3".to_string()),
    ];
    let phase = (
        mostly(
            &["\"100ms\"", "\"1s\"", "\"2m\""],
            &["\"0s\"", "5", "\"31d\""],
        ),
        rate,
        prop::bool::weighted(0.9),
    );
    let phases = prop::collection::vec(phase, 1..4);
    (shards, api, batch, size, keys, payload, phases).prop_map(
        |(shards, api, batch, size, keys, payload, phases)| {
            let mut t = String::from("[target]\n");
            let line = |t: &mut String, key: &str, value: Option<String>| {
                if let Some(v) = value {
                    t.push_str(&format!("{key} = {v}\n"));
                }
            };
            line(&mut t, "shards", shards);
            t.push_str("[producer]\n");
            line(&mut t, "api", api);
            line(&mut t, "batch_max_records", batch);
            t.push_str("[records]\n");
            line(&mut t, "size", size);
            line(&mut t, "keys", keys);
            line(&mut t, "payload", payload);
            for (duration, rate, measure) in phases {
                t.push_str(&format!(
                    "[[phase]]\nduration = {duration}\nrate = {rate}\nmeasure = {measure}\n"
                ));
            }
            t
        },
    )
}

/// `text` as a TOML literal string when it can be one, else a basic string with escapes.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

const TEMPLATE_TOKENS: &[&str] = &[
    "{",
    "}",
    "\"a\": ",
    "\"b\": ",
    ", ",
    "\"",
    "{{",
    "}}",
    "{{seq}}",
    "{{timestamp}}",
    "{{timestamp_ms}}",
    "{{rfc3339}}",
    "{{uuid}}",
    "{{int 0 100}}",
    "{{int 9 1}}",
    "{{int -9223372036854775808 9223372036854775807}}",
    "{{int nan inf}}",
    "{{float 0 1}}",
    "{{float -1e308 1e308}}",
    "{{float -inf inf}}",
    "{{float 1 nan}}",
    "{{string 8}}",
    "{{string 65537}}",
    "{{string -1}}",
    "{{choice a b c}}",
    "{{choice a:3 b:0}}",
    "{{choice a:0}}",
    "{{choice a:1e308 b:1e308}}",
    "{{choice}}",
    "{{x: int 0 9}}",
    "{{x}}",
    "{{x: }}",
    "{{y: uuid}}",
    "{{y}}",
    "{{ }}",
    "{{seqq}}",
    "{{int}}",
];

fn template() -> impl Strategy<Value = String> {
    glued(TEMPLATE_TOKENS, 12)
}

/// The folder the fuzzed scenarios sit in, with the replay file they name.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let lines: String = (0..50)
        .map(|i| format!("{{\"k\": \"u{i}\", \"n\": {i}}}\n"))
        .collect();
    std::fs::write(dir.path().join("e.ndjson"), lines).expect("write");
    dir
}

/// Parses `text` as a scenario in `dir`; an accepted one, rendered as `validate` prints it,
/// must be accepted again and render the same.
fn parse_and_reparse(dir: &std::path::Path, text: &str) -> Result<(), TestCaseError> {
    let file = dir.join("s.toml").display().to_string();
    if let Ok(s) = kbench::scenario::parse(text, &file, "s") {
        let rendered = s.to_toml();
        let again = kbench::scenario::parse(&rendered, &file, "s").map_err(|e| {
            TestCaseError::fail(format!("{text}\nrendered as\n{rendered}\nis rejected: {e}"))
        })?;
        prop_assert_eq!(rendered, again.to_toml());
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_scenario_parser_never_panics_on_toml_ish_text(text in glued(TOML_TOKENS, 40)) {
        let dir = folder();
        parse_and_reparse(dir.path(), &text)?;
    }

    #[test]
    fn structured_random_scenarios_validate_or_say_why_and_re_render_the_same(text in scenario()) {
        let dir = folder();
        parse_and_reparse(dir.path(), &text)?;
    }

    #[test]
    fn the_template_parser_never_panics_and_renders_what_it_accepts(
        text in template(),
        seed in any::<u64>(),
    ) {
        use rand::SeedableRng;
        if let Ok(t) = Template::parse(&text) {
            let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
            let mut out = String::new();
            for seq in 0..4 {
                t.render(&mut rng, seq, seed, &mut out);
                prop_assert!(out.len() <= t.max_len(), "{} > max_len {}: {out}", out.len(), t.max_len());
            }
        }
    }

    #[test]
    fn a_replay_line_never_panics_the_reader(
        line in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            glued(&["{", "}", "\"k\"", ": ", "1", "\"v\"", ",", "[", "]", "\\u0000", "\u{feff}", "null"], 16)
                .prop_map(String::into_bytes),
        ],
    ) {
        let mut key = String::new();
        if let Ok(Some(json)) = record(&line, "k", &mut key) {
            let value: serde_json::Value = serde_json::from_str(json).expect("accepted lines are JSON");
            prop_assert!(value.is_object());
            prop_assert!(!key.is_empty() && key.chars().count() <= 256);
        }
    }

    #[test]
    fn a_replay_file_streams_back_what_it_holds(
        keys in prop::collection::vec("[a-z0-9]{1,8}".prop_map(|k: String| k), 1..20),
        blank in prop::collection::vec(any::<bool>(), 20),
        junk in prop::collection::vec(any::<u8>(), 0..200),
        crlf in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("e.ndjson");
        let end = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        for (i, k) in keys.iter().enumerate() {
            if blank[i] {
                text.push_str(end);
            }
            text.push_str(&format!("{{\"k\": \"{k}\", \"i\": {i}}}{end}"));
        }
        std::fs::write(&path, &text).expect("write");
        let replay = Arc::new(Replay::open(&path, "k").expect("valid file"));
        let n = keys.len() as u64;
        prop_assert_eq!(replay.ensure(u64::MAX), Ok(n));
        let mut cursor = Cursor::new(replay);
        for i in 0..2 * n {
            let (k, json) = cursor.get(i);
            prop_assert_eq!(k, keys[(i % n) as usize].as_str());
            prop_assert_eq!(json, format!("{{\"k\": \"{k}\", \"i\": {}}}", i % n));
        }
        // whatever follows the good lines is read without a panic, an error naming its line
        let mut more = text.into_bytes();
        more.extend_from_slice(&junk);
        std::fs::write(&path, &more).expect("write");
        if let Ok(replay) = Replay::open(&path, "k")
            && let Err(e) = replay.ensure(u64::MAX)
        {
            prop_assert!(e.contains("e.ndjson:"), "{}", e);
        }
    }

    #[test]
    fn the_aggregate_decoder_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        framed in any::<bool>(),
    ) {
        // framed: magic and a matching MD5, so the protobuf itself is what gets fuzzed
        let data = if framed {
            let mut d = MAGIC.to_vec();
            d.extend_from_slice(&bytes);
            d.extend_from_slice(&Md5::digest(&bytes));
            d
        } else {
            bytes
        };
        if let Some(decoded) = aggregate::decode(&data) {
            prop_assert_eq!(decoded.records().count(), decoded.len());
        }
    }

    #[test]
    fn aggregates_round_trip(
        records in prop::collection::vec(
            (
                prop::sample::select(&["a", "b", "k\u{e9}y", "0"][..]),
                prop::option::of(prop::sample::select(&["0", "170141183460469231731687303715884105727"][..])),
                prop::collection::vec(any::<u8>(), 0..64),
            ),
            0..20,
        ),
    ) {
        let mut builder = Builder::new();
        for (key, ehk, data) in &records {
            let expected = builder.size_with(key, *ehk, data.len());
            builder.push(key, *ehk, data.clone());
            prop_assert_eq!(builder.size(), expected);
        }
        let size = builder.size();
        let bytes = builder.finish();
        prop_assert_eq!(bytes.len(), size);
        let decoded = aggregate::decode(&bytes).expect("decodes");
        let back: Vec<_> = decoded
            .records()
            .map(|r| (r.partition_key, r.explicit_hash_key, r.data.to_vec()))
            .collect();
        let put: Vec<_> = records.iter().map(|(k, e, d)| (*k, *e, d.clone())).collect();
        prop_assert_eq!(back, put);
    }

    #[test]
    fn the_stamp_decoder_never_panics(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..80),
            prop::collection::vec(any::<u8>(), 0..60).prop_map(|b| [b"KBS1".as_slice(), &b].concat()),
            "[0-9a-fA-F\"]{0,60}".prop_map(|h: String| format!("{{\"_kbench\":\"{h}").into_bytes()),
        ],
    ) {
        let _ = Stamp::read(&bytes);
    }

    #[test]
    fn stamps_round_trip(
        run_id in any::<u32>(),
        producer_id in any::<u32>(),
        seq in any::<u64>(),
        intended_unix_ns in any::<u64>(),
        tail in prop::collection::vec(any::<u8>(), 0..16),
        object in glued(&["{", "}", " ", "\"a\": 1", ","], 6),
    ) {
        let stamp = Stamp { run_id, producer_id, seq, intended_unix_ns };
        let mut data = vec![0u8; kbench::scenario::limits::STAMP_LEN];
        stamp.write(&mut data);
        data.extend_from_slice(&tail);
        prop_assert_eq!(Stamp::read(&data), Some(stamp));
        let mut json = Vec::new();
        stamp.prefix_json(&object, &mut json);
        prop_assert_eq!(Stamp::read(&json), Some(stamp));
        prop_assert!(json.len() <= kbench::scenario::limits::JSON_STAMP_LEN + object.len());
    }
}

/// The line cap holds on a line far longer than it: reading stops at the cap.
#[test]
fn a_line_past_the_cap_is_not_read_to_its_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("e.ndjson");
    let mut text = b"{\"k\": \"a\"}\n".to_vec();
    text.resize(text.len() + 3 * MAX_LINE_BYTES, b' ');
    std::fs::write(&path, text).expect("write");
    let replay = Replay::open(&path, "k").expect("line 1 is good");
    let err = replay.ensure(2).expect_err("line 2 is too long");
    assert!(err.contains("e.ndjson:2: the line is longer than"), "{err}");
}
