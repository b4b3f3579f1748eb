//! Which shard a record lands on: MD5 of the partition key, read as a 128-bit big-endian
//! number, against the hash-key ranges ListShards reported (KINESIS.md, "Routing").
//!
//! Ranges always come from the endpoint, never computed: emulators differ (kinesis-mock's are
//! off by one per shard from AWS's).

use md5::{Digest, Md5};

/// The open shards of a stream and their hash-key ranges, sorted by range start.
#[derive(Debug, Clone, Default)]
pub struct ShardMap {
    /// (starting hash key, ending hash key, shard id), sorted by start.
    ranges: Vec<(u128, u128, String)>,
}

/// Marks a record whose shard is not known (no shard map, or a hash outside every range).
pub const NO_SHARD: u32 = u32::MAX;

impl ShardMap {
    /// Builds the map from (shard id, starting hash key, ending hash key) as decimal strings.
    pub fn new<'a>(
        shards: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Result<ShardMap, String> {
        let mut ranges = Vec::new();
        for (id, start, end) in shards {
            let parse = |s: &str| {
                s.parse::<u128>().map_err(|_| {
                    format!("shard {id} has a hash key `{s}` that is not a 128-bit number")
                })
            };
            let (start, end) = (parse(start)?, parse(end)?);
            if start > end {
                return Err(format!(
                    "shard {id} has a hash-key range that ends before it starts"
                ));
            }
            ranges.push((start, end, id.to_string()));
        }
        ranges.sort_by_key(|r| r.0);
        Ok(ShardMap { ranges })
    }

    /// The shards CreateStream makes for `n` shards: [0, 2^128) split evenly, each range
    /// 2^128 / n wide (rounded down) and the last taking the remainder, with ids
    /// `shardId-000000000000` on. For endpoints and calculators that make their own shards;
    /// a run maps records with the ranges the endpoint reports.
    pub fn even(n: u32) -> ShardMap {
        let n = n.max(1);
        let n128 = u128::from(n);
        // 2^128 / n without overflowing: (2^128 - 1) / n, plus one when n divides 2^128 (one
        // shard takes everything: its width is never used)
        let width = if n == 1 {
            u128::MAX
        } else {
            u128::MAX / n128 + u128::from(u128::MAX % n128 == n128 - 1)
        };
        let ranges = (0..n128)
            .map(|i| {
                let end = if i == n128 - 1 {
                    u128::MAX
                } else {
                    (i + 1) * width - 1
                };
                (i * width, end, format!("shardId-{i:012}"))
            })
            .collect();
        ShardMap { ranges }
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// (shard id, starting hash key, ending hash key), in the map's order (by range start).
    pub fn entries(&self) -> impl Iterator<Item = (&str, u128, u128)> {
        self.ranges.iter().map(|r| (r.2.as_str(), r.0, r.1))
    }

    /// The hash key of a partition key.
    pub fn hash_key(partition_key: &str) -> u128 {
        u128::from_be_bytes(Md5::digest(partition_key.as_bytes()).into())
    }

    /// Index (in [`ShardMap::entries`] order) of the shard holding `hash`, if any range does.
    pub fn shard_of_hash(&self, hash: u128) -> Option<usize> {
        let i = self
            .ranges
            .partition_point(|r| r.0 <= hash)
            .checked_sub(1)?;
        (hash <= self.ranges[i].1).then_some(i)
    }

    /// Index of the shard a record with this partition key goes to.
    pub fn shard_of_key(&self, partition_key: &str) -> Option<usize> {
        self.shard_of_hash(Self::hash_key(partition_key))
    }

    /// The id of shard `i` (in [`ShardMap::entries`] order).
    pub fn id(&self, i: usize) -> &str {
        &self.ranges[i].2
    }

    /// The middle of shard `i`'s range, as an explicit hash key that targets it.
    pub fn midpoint(&self, i: usize) -> u128 {
        let (start, end, _) = &self.ranges[i];
        start + (end - start) / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_the_key_picks_the_range() {
        // MD5("a") = 0cc175b9c0f1b6a831c399e269772661: below 2^127, so shard 0 of 2
        assert_eq!(ShardMap::hash_key("a"), 0x0cc175b9c0f1b6a831c399e269772661);
        let m = ShardMap::even(2);
        assert_eq!(m.shard_of_key("a"), Some(0));
        // MD5("b") = 92eb5ffee6ae2fec3ad71c777531578f: above 2^127, so shard 1
        assert_eq!(m.shard_of_key("b"), Some(1));
        assert_eq!(m.shard_of_hash(0), Some(0));
        assert_eq!(m.shard_of_hash(u128::MAX), Some(1));
        assert_eq!(m.shard_of_hash(m.midpoint(1)), Some(1));
    }

    #[test]
    fn even_split_is_create_streams() {
        let m = ShardMap::even(4);
        let e: Vec<_> = m.entries().collect();
        assert_eq!(e.len(), 4);
        assert_eq!(e[0], ("shardId-000000000000", 0, (1u128 << 126) - 1));
        assert_eq!(e[1].1, 1u128 << 126);
        assert_eq!(e[3].2, u128::MAX);
        assert_eq!(m.shard_of_hash(u128::MAX), Some(3));
        // 3 does not divide 2^128: the last shard takes the remainder
        let m = ShardMap::even(3);
        let e: Vec<_> = m.entries().collect();
        assert_eq!(e[1].1, u128::MAX / 3);
        assert_eq!(e[2].2, u128::MAX);
        assert!(e.windows(2).all(|w| w[0].2 + 1 == w[1].1));
        assert_eq!(ShardMap::even(1).shard_of_hash(12345), Some(0));
    }

    #[test]
    fn gaps_and_bad_numbers() {
        let m = ShardMap::new([("s1", "100", "200")]).unwrap();
        assert_eq!(m.shard_of_hash(99), None);
        assert_eq!(m.shard_of_hash(201), None);
        assert!(ShardMap::new([("s1", "x", "1")]).is_err());
    }
}
