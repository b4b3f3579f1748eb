use md5::{Digest, Md5};
use prost::Message;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::*;

/// An owned user record, for comparing what was pushed with what was decoded.
type Owned = (String, Option<String>, Vec<u8>);

fn owned(record: UserRecord<'_>) -> Owned {
    (
        record.partition_key.to_owned(),
        record.explicit_hash_key.map(str::to_owned),
        record.data.to_vec(),
    )
}

fn decode_all(aggregate: &[u8]) -> Vec<Owned> {
    let decoded = decode(aggregate).expect("a valid aggregate");
    let records: Vec<Owned> = decoded.records().map(owned).collect();
    assert_eq!(records.len(), decoded.len());
    records
}

/// Wraps a protobuf body as an aggregate with a correct MD5.
fn wrap(body: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(body);
    out.extend_from_slice(&Md5::digest(body));
    out
}

fn build(records: &[Owned]) -> Vec<u8> {
    let mut builder = Builder::new();
    for (pk, ehk, data) in records {
        builder.push(pk, ehk.as_deref(), data.clone());
    }
    let expected_size = builder.size();
    let aggregate = builder.finish();
    assert_eq!(aggregate.len(), expected_size);
    aggregate
}

fn rec(pk: &str, ehk: Option<&str>, data: &[u8]) -> Owned {
    (pk.to_owned(), ehk.map(str::to_owned), data.to_vec())
}

#[test]
fn round_trip_keeps_records_in_order() {
    let big: Vec<u8> = (0..100 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let records = vec![
        rec("a", None, b"first"),
        rec("b", Some("12345"), b"second"),
        rec("a", Some("12345"), b""),
        rec("c", None, &big),
        rec("b", None, b"\x00\xff"),
        rec("a", Some("340282366920938463463374607431768211455"), b"x"),
        rec("", None, b"empty partition key"),
        rec("ünïcødé", Some("0"), b"utf-8 key"),
    ];
    let aggregate = build(&records);
    assert!(aggregate.starts_with(&MAGIC));
    assert_eq!(decode_all(&aggregate), records);
}

#[test]
fn keys_are_deduplicated_into_tables() {
    let records = vec![
        rec("a", None, b"1"),
        rec("b", Some("7"), b"2"),
        rec("a", Some("7"), b"3"),
        rec("b", Some("8"), b"4"),
        rec("a", None, b"5"),
    ];
    let aggregate = build(&records);
    let body = &aggregate[MAGIC.len()..aggregate.len() - DIGEST_LEN];
    let message = AggregatedRecord::decode(body).expect("protobuf");
    assert_eq!(message.partition_key_table, ["a", "b"]);
    assert_eq!(message.explicit_hash_key_table, ["7", "8"]);
    let indices: Vec<(u64, Option<u64>)> = message
        .records
        .iter()
        .map(|r| (r.partition_key_index, r.explicit_hash_key_index))
        .collect();
    assert_eq!(
        indices,
        [
            (0, None),
            (1, Some(0)),
            (0, Some(0)),
            (1, Some(1)),
            (0, None)
        ]
    );
}

#[test]
fn empty_builder_finishes_as_empty_aggregate() {
    let mut builder = Builder::default();
    assert!(builder.is_empty());
    assert_eq!(builder.len(), 0);
    assert_eq!(builder.size(), OVERHEAD);
    let aggregate = builder.finish();
    assert_eq!(aggregate.len(), OVERHEAD);
    let decoded = decode(&aggregate).expect("an empty aggregate is still an aggregate");
    assert!(decoded.is_empty());
    assert_eq!(decoded.records().count(), 0);
}

#[test]
fn finish_resets_builder_for_reuse() {
    let first = vec![rec("x", Some("1"), b"one"), rec("y", None, b"two")];
    let second = vec![rec("z", None, b"three"), rec("x", Some("2"), b"four")];
    let mut builder = Builder::new();
    for (pk, ehk, data) in &first {
        builder.push(pk, ehk.as_deref(), data.clone());
    }
    assert_eq!(builder.len(), 2);
    builder.finish();
    assert!(builder.is_empty());
    assert_eq!(builder.size(), OVERHEAD);
    for (pk, ehk, data) in &second {
        builder.push(pk, ehk.as_deref(), data.clone());
    }
    let reused = builder.finish();
    // Same bytes as a fresh builder: the tables were cleared, indices restart at 0.
    assert_eq!(reused, build(&second));
    assert_eq!(decode_all(&reused), second);
}

/// A key of the given length, drawn from a pool of `pool` distinct keys.
fn random_key(rng: &mut SmallRng, pool: u32) -> String {
    let n = rng.random_range(0..pool);
    let len = match rng.random_range(0..10) {
        0 => rng.random_range(120..300), // crosses the 1→2 byte varint length boundary
        _ => rng.random_range(0..20),
    };
    let mut key = format!("{n}-");
    while key.len() < len {
        key.push(char::from(b'a' + (n % 26) as u8));
    }
    key
}

#[test]
fn size_matches_finished_length_across_random_pushes() {
    let mut rng = SmallRng::seed_from_u64(0x6b62_656e_6368);
    let mut builder = Builder::new();
    let mut pushed: Vec<Owned> = Vec::new();
    let mut aggregates = 0;
    for step in 0..5_000 {
        // Pools large enough that table indices pass 127 (2-byte varints) in long aggregates.
        let pk = random_key(&mut rng, 400);
        let ehk = rng.random_bool(0.4).then(|| random_key(&mut rng, 200));
        let data_len = match rng.random_range(0..20) {
            0 => rng.random_range(16_000..17_000), // crosses the 2→3 byte varint boundary
            1..=3 => rng.random_range(100..200),
            _ => rng.random_range(0..40),
        };
        let data: Vec<u8> = (0..data_len).map(|_| rng.random()).collect();

        let predicted = builder.size_with(&pk, ehk.as_deref(), data.len());
        builder.push(&pk, ehk.as_deref(), data.clone());
        assert_eq!(builder.size(), predicted, "step {step}");
        assert_eq!(
            builder.size(),
            OVERHEAD + builder.message.encoded_len(),
            "step {step}"
        );
        pushed.push((pk, ehk, data));

        if rng.random_range(0..400) == 0 || step == 4_999 {
            let size = builder.size();
            let aggregate = builder.finish();
            assert_eq!(aggregate.len(), size, "step {step}");
            assert_eq!(decode_all(&aggregate), pushed, "step {step}");
            pushed.clear();
            aggregates += 1;
        }
    }
    assert!(
        aggregates > 3,
        "the test should exercise several aggregates"
    );
}

#[test]
fn size_with_accounts_for_wide_table_indices() {
    let mut builder = Builder::new();
    for i in 0..20_000 {
        let pk = format!("pk-{i}");
        let ehk = format!("{i}");
        let predicted = builder.size_with(&pk, Some(&ehk), 1);
        builder.push(&pk, Some(&ehk), vec![1]);
        assert_eq!(builder.size(), predicted, "record {i}");
    }
    // Indices up to 19 999 need 3-byte varints.
    let size = builder.size();
    assert_eq!(builder.finish().len(), size);
}

#[test]
fn decode_rejects_plain_bytes() {
    assert!(decode(b"").is_none());
    assert!(decode(b"just a plain record, not an aggregate at all").is_none());
    assert!(decode(&[0u8; 64]).is_none());
}

#[test]
fn decode_rejects_magic_only_and_short_input() {
    assert!(decode(&MAGIC).is_none());
    let mut short = MAGIC.to_vec();
    short.extend_from_slice(&[0; DIGEST_LEN - 1]);
    assert!(decode(&short).is_none());
}

#[test]
fn decode_rejects_wrong_magic() {
    let mut aggregate = build(&[rec("a", None, b"data")]);
    aggregate[0] ^= 0x01;
    assert!(decode(&aggregate).is_none());
}

#[test]
fn decode_rejects_flipped_body_byte() {
    let aggregate = build(&[rec("a", Some("1"), b"some data"), rec("b", None, b"more")]);
    assert!(decode(&aggregate).is_some());
    for i in MAGIC.len()..aggregate.len() {
        let mut corrupt = aggregate.clone();
        corrupt[i] ^= 0x20;
        assert!(
            decode(&corrupt).is_none(),
            "flipped byte {i} went unnoticed"
        );
    }
}

#[test]
fn decode_rejects_garbage_protobuf_with_correct_md5() {
    // Field 3, length-delimited, claims 5 bytes but has 1.
    assert!(decode(&wrap(&[0x1A, 0x05, 0x01])).is_none());
    // Wire type 7 does not exist.
    assert!(decode(&wrap(&[0x0F, 0x00])).is_none());
    // A partition key that is not UTF-8.
    assert!(decode(&wrap(&[0x0A, 0x02, 0xC3, 0x28])).is_none());
}

#[test]
fn decode_rejects_out_of_range_indices() {
    let message = |pk_index: u64, ehk_index: Option<u64>| AggregatedRecord {
        partition_key_table: vec!["a".into(), "b".into()],
        explicit_hash_key_table: vec!["1".into()],
        records: vec![
            Record {
                partition_key_index: 0,
                explicit_hash_key_index: None,
                data: b"fine".to_vec(),
                tags: Vec::new(),
            },
            Record {
                partition_key_index: pk_index,
                explicit_hash_key_index: ehk_index,
                data: b"maybe".to_vec(),
                tags: Vec::new(),
            },
        ],
    };
    let encode = |pk, ehk| wrap(&message(pk, ehk).encode_to_vec());

    assert_eq!(decode(&encode(1, Some(0))).map(|d| d.len()), Some(2));
    assert!(
        decode(&encode(2, None)).is_none(),
        "partition key index past the table"
    );
    assert!(decode(&encode(u64::MAX, None)).is_none());
    assert!(
        decode(&encode(0, Some(1))).is_none(),
        "explicit hash key index past the table"
    );
    assert!(decode(&encode(0, Some(u64::MAX))).is_none());

    // A record with an index into an empty table.
    let mut empty_tables = message(0, None);
    empty_tables.partition_key_table.clear();
    assert!(decode(&wrap(&empty_tables.encode_to_vec())).is_none());
}

#[test]
fn decode_ignores_tags() {
    let message = AggregatedRecord {
        partition_key_table: vec!["pk".into()],
        explicit_hash_key_table: Vec::new(),
        records: vec![Record {
            partition_key_index: 0,
            explicit_hash_key_index: None,
            data: b"tagged".to_vec(),
            tags: vec![Tag {
                key: "k".into(),
                value: Some("v".into()),
            }],
        }],
    };
    let records = decode_all(&wrap(&message.encode_to_vec()));
    assert_eq!(records, [rec("pk", None, b"tagged")]);
}

#[test]
fn decode_never_panics_on_random_or_truncated_input() {
    let mut rng = SmallRng::seed_from_u64(7);
    for _ in 0..20_000 {
        let len = rng.random_range(0..200);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let _ = decode(&bytes);
        if rng.random_bool(0.5) && bytes.len() >= MAGIC.len() {
            bytes[..MAGIC.len()].copy_from_slice(&MAGIC);
            let _ = decode(&bytes);
        }
        // Random bodies with a correct MD5 reach the protobuf parser.
        let _ = decode(&wrap(&bytes));
    }

    let aggregate = build(&[
        rec("a", Some("1"), b"some data"),
        rec("bb", None, &[0xAB; 300]),
        rec("a", None, b""),
    ]);
    for cut in 0..aggregate.len() {
        assert!(decode(&aggregate[..cut]).is_none(), "truncated to {cut}");
        // Truncated bodies re-wrapped with a correct MD5: parse errors, never panics.
        let body = &aggregate[MAGIC.len()..aggregate.len() - DIGEST_LEN];
        let _ = decode(&wrap(&body[..cut.min(body.len())]));
    }
    // Valid bodies with one byte changed, re-wrapped with a correct MD5.
    let body = &aggregate[MAGIC.len()..aggregate.len() - DIGEST_LEN];
    for _ in 0..5_000 {
        let mut mutated = body.to_vec();
        let at = rng.random_range(0..mutated.len());
        mutated[at] = rng.random();
        if let Some(decoded) = decode(&wrap(&mutated)) {
            assert_eq!(decoded.records().count(), decoded.len());
        }
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/aggregates/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn from_hex(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd-length hex");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The length-prefixed aggregates of `python-agg.bin`.
fn python_aggregates() -> Vec<Vec<u8>> {
    let bytes = fixture("python-agg.bin");
    let mut rest = bytes.as_slice();
    let mut aggregates = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = rest.split_at(4);
        let len = u32::from_be_bytes(len.try_into().expect("4 bytes")) as usize;
        let (aggregate, tail) = tail.split_at(len);
        aggregates.push(aggregate.to_vec());
        rest = tail;
    }
    aggregates
}

#[test]
fn decodes_aggregates_made_by_python_library() {
    let expected: serde_json::Value =
        serde_json::from_slice(&fixture("python-agg.expected.json")).expect("fixture JSON");
    let expected_records: Vec<Owned> = expected["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            (
                r["partition_key"]
                    .as_str()
                    .expect("partition_key")
                    .to_owned(),
                r["explicit_hash_key"].as_str().map(str::to_owned),
                from_hex(r["data_hex"].as_str().expect("data_hex")),
            )
        })
        .collect();
    let expected_counts: Vec<usize> = expected["records_per_aggregate"]
        .as_array()
        .expect("records_per_aggregate")
        .iter()
        .map(|n| n.as_u64().expect("count") as usize)
        .collect();

    let aggregates = python_aggregates();
    assert!(aggregates.len() > 1);
    let mut decoded = Vec::new();
    let mut counts = Vec::new();
    for aggregate in &aggregates {
        let records = decode_all(aggregate);
        counts.push(records.len());
        decoded.extend(records);
    }
    assert_eq!(counts, expected_counts);
    assert_eq!(decoded, expected_records);
    // The fixture covers what it claims to.
    assert!(decoded.iter().any(|r| r.1.is_some()));
    assert!(decoded.iter().any(|r| r.1.is_none()));
    assert!(decoded.iter().any(|r| r.2.is_empty()));
}

#[test]
fn builder_reproduces_python_aggregates_byte_for_byte() {
    for (i, aggregate) in python_aggregates().iter().enumerate() {
        let records = decode_all(aggregate);
        assert_eq!(&build(&records), aggregate, "aggregate {i}");
    }
}
