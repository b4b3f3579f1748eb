use super::*;

fn record(seq: u64, shard: u32, key: &str, bytes: usize) -> Record {
    Record {
        seq,
        phase: 0,
        intended: Instant::now(),
        key: key.into(),
        explicit_hash_key: None,
        shard,
        data: vec![seq as u8; bytes - key.len()],
    }
}

fn aggregation(max_bytes: u64, max_records: u32) -> Option<Aggregation> {
    Some(Aggregation {
        max_bytes,
        max_records,
    })
}

fn seqs(e: &Entry) -> Vec<u64> {
    e.users.as_slice().iter().map(|u| u.seq).collect()
}

#[test]
fn plain_batches_fill_by_count_and_by_bytes() {
    let mut by_count = Packer::new(2, 1000, None);
    by_count.push(record(0, 0, "k1", 10));
    assert!(by_count.fits(&record(1, 0, "k1", 10)));
    by_count.push(record(1, 0, "k1", 10));
    assert!(by_count.is_full() && !by_count.fits(&record(2, 0, "k1", 10)));

    let mut by_bytes = Packer::new(500, 100, None);
    by_bytes.push(record(0, 0, "k1", 60));
    assert!(!by_bytes.fits(&record(1, 0, "k1", 41)));
    assert!(by_bytes.fits(&record(1, 0, "k1", 40)));
    let entries = by_bytes.take();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].wire_bytes(), 60);
    assert!(by_bytes.is_empty() && by_bytes.fits(&record(2, 0, "k1", 100)));
}

#[test]
fn records_of_one_shard_share_an_aggregate_and_decode_back() {
    let mut p = Packer::new(500, 5 << 20, aggregation(51_200, u32::MAX));
    for seq in 0..10 {
        p.push(record(seq, (seq % 2) as u32, &format!("key-{seq}"), 100));
    }
    assert_eq!(p.len(), 2);
    let entries = p.take();
    assert_eq!(entries.len(), 2);
    assert_eq!(seqs(&entries[0]), vec![0, 2, 4, 6, 8]);
    assert_eq!(seqs(&entries[1]), vec![1, 3, 5, 7, 9]);
    // the outer record is routed by the first user record's key
    assert_eq!(entries[0].key, "key-0");
    let decoded = crate::aggregate::decode(&entries[0].data).expect("an aggregate");
    let keys: Vec<String> = decoded
        .records()
        .map(|r| r.partition_key.to_string())
        .collect();
    assert_eq!(keys, ["key-0", "key-2", "key-4", "key-6", "key-8"]);
    assert!(decoded.records().all(|r| r.data.len() == 95));
    assert!(p.is_empty());
}

#[test]
fn aggregates_close_at_their_size_and_count_limits() {
    let mut p = Packer::new(500, 5 << 20, aggregation(1_000, u32::MAX));
    for seq in 0..40 {
        p.push(record(seq, 0, "k", 101));
    }
    let entries = p.take();
    assert!(entries.len() > 1);
    let mut all = Vec::new();
    for e in &entries {
        assert!(e.data.len() <= 1_000, "{} bytes", e.data.len());
        all.extend(seqs(e));
    }
    assert_eq!(all, (0..40).collect::<Vec<_>>());
    // not much room is wasted: each closed aggregate could not take one more record
    assert!(entries[0].data.len() > 1_000 - 110);

    let mut p = Packer::new(500, 5 << 20, aggregation(51_200, 3));
    for seq in 0..7 {
        p.push(record(seq, 0, "k", 50));
    }
    let counts: Vec<usize> = p.take().iter().map(|e| e.users.as_slice().len()).collect();
    assert_eq!(counts, [3, 3, 1]);
}

#[test]
fn a_group_of_one_goes_out_as_a_plain_record() {
    let mut p = Packer::new(500, 5 << 20, aggregation(51_200, u32::MAX));
    let big = record(0, 0, "big", 60_000);
    let data = big.data.clone();
    p.push(big);
    p.push(record(1, 0, "small", 100));
    p.push(record(2, 1, "alone", 100));
    let entries = p.take();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].data, data, "too big to share: sent as it was");
    assert_eq!(seqs(&entries[1]), vec![1]);
    assert!(crate::aggregate::decode(&entries[1].data).is_none());
    assert_eq!(entries[2].key, "alone");
}

#[test]
fn aggregated_batches_respect_the_request_limits() {
    // 3 entries at most: three shards' aggregates fill it, a fourth shard does not fit
    let mut p = Packer::new(3, 5 << 20, aggregation(51_200, u32::MAX));
    for shard in 0..3 {
        p.push(record(shard as u64, shard, "k", 100));
    }
    assert_eq!(p.len(), 3);
    assert!(
        !p.is_full(),
        "open aggregates still take their shards' records"
    );
    assert!(p.fits(&record(9, 1, "k", 100)), "joins shard 1's aggregate");
    assert!(
        !p.fits(&record(9, 7, "k", 100)),
        "a fourth entry does not fit"
    );

    // bytes: the batch's byte count follows the aggregates' encoded sizes
    let mut p = Packer::new(500, 1_000, aggregation(51_200, u32::MAX));
    let mut n = 0;
    while p.fits(&record(n, 0, "k", 100)) {
        p.push(record(n, 0, "k", 100));
        n += 1;
    }
    let entries = p.take();
    assert_eq!(entries.len(), 1);
    assert!(entries[0].wire_bytes() <= 1_000);
    assert!(entries[0].wire_bytes() > 1_000 - 110);
}

#[test]
fn without_a_shard_map_records_group_by_partition_key() {
    let mut p = Packer::new(500, 5 << 20, aggregation(51_200, u32::MAX));
    for seq in 0..6 {
        let key = if seq % 3 == 0 { "a" } else { "b" };
        p.push(record(seq, NO_SHARD, key, 50));
    }
    let entries = p.take();
    assert_eq!(entries.len(), 2);
    assert_eq!(seqs(&entries[0]), vec![0, 3]);
    assert_eq!(seqs(&entries[1]), vec![1, 2, 4, 5]);
}
