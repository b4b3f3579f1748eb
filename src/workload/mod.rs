//! Making what a run offers from its scenario: each record's key, size and body drawn from the
//! scenario's distributions, its stamp, the schedule of intended send times and the stream's
//! shard map.

pub mod keys;
pub mod replay;
pub mod schedule;
pub mod shardmap;
pub mod sizes;
pub mod stamp;

use crate::scenario::Records;
use crate::scenario::limits::STAMP_LEN;
use crate::scenario::payload::Payload;
use rand::RngCore;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use shardmap::NO_SHARD;
use shardmap::ShardMap;
use stamp::Stamp;
use std::sync::Arc;

/// One generated record: where it goes and what it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Made {
    pub key: String,
    /// Set when the key distribution routes by explicit hash key (`even_shards`).
    pub explicit_hash_key: Option<String>,
    /// Index of its shard in the shard map, or `NO_SHARD` when the map is empty.
    pub shard: u32,
    pub data: Vec<u8>,
}

/// Makes records: key, size and body from the seeded RNG, stamp from the schedule, shard from
/// the stream's shard map.
///
/// The same seed gives the same keys, sizes and bodies in the same order on every run.
pub struct Generator {
    records: Records,
    rng: SmallRng,
    run_id: u32,
    producer_id: u32,
    shards: Arc<ShardMap>,
    /// Whether a template record without its key field has been reported already.
    warned_key_field: bool,
    /// Streams the replay file's records, for a replay payload.
    replay: Option<replay::Cursor>,
    /// The shard of each key slot (see [`crate::scenario::keys::KeyDist::slots`]) once hashed,
    /// so a fixed key set costs one MD5 per key rather than one per record; empty when the
    /// keys are made per record or there are more than [`MEMO_MAX_KEYS`].
    shard_memo: Vec<u32>,
}

/// Key sets up to this size have their shards remembered (4 bytes a key).
const MEMO_MAX_KEYS: u64 = 1 << 20;
/// A memo slot whose key has not been hashed yet ([`NO_SHARD`] is a real answer: no map).
const MEMO_UNKNOWN: u32 = u32::MAX - 1;

impl Generator {
    pub fn new(
        records: Records,
        seed: u64,
        run_id: u32,
        producer_id: u32,
        shards: Arc<ShardMap>,
    ) -> Generator {
        let replay = match &records.payload {
            Payload::Replay { records, .. } => Some(replay::Cursor::new(records.clone())),
            _ => None,
        };
        Generator {
            replay,
            rng: SmallRng::seed_from_u64(seed),
            run_id,
            producer_id,
            shard_memo: match records.keys.slots() {
                Some(n) if n <= MEMO_MAX_KEYS => vec![MEMO_UNKNOWN; n as usize],
                _ => Vec::new(),
            },
            records,
            shards,
            warned_key_field: false,
        }
    }

    /// The record with schedule index `seq`, intended to go out at `intended_unix_ns`.
    pub fn make(&mut self, seq: u64, intended_unix_ns: u64) -> Made {
        let stamp = Stamp {
            run_id: self.run_id,
            producer_id: self.producer_id,
            seq,
            intended_unix_ns,
        };
        // room for the longest numbered key without growing
        let mut key = String::with_capacity(24);
        let mut data = Vec::new();
        // the key's slot when it comes from the key distribution
        let mut slot = None;
        match &self.records.payload {
            Payload::Random => {
                slot = self.records.keys.sample_into(&mut self.rng, seq, &mut key);
                let size = (self.records.size.sample(&mut self.rng) as usize).max(STAMP_LEN);
                data.resize(size, 0);
                self.rng.fill_bytes(&mut data[STAMP_LEN..]);
                stamp.write(&mut data);
            }
            Payload::Template {
                parsed, key: field, ..
            } => {
                let mut json = String::new();
                parsed.render(&mut self.rng, seq, intended_unix_ns, &mut json);
                match field.as_deref().map(|f| (f, key_field(&json, f))) {
                    Some((_, Some(k))) => key = k,
                    Some((f, None)) => {
                        if !self.warned_key_field {
                            self.warned_key_field = true;
                            tracing::warn!(
                                "a rendered record has no usable key field `{f}` (record {seq}: {json}); such records get keys from [records] keys"
                            );
                        }
                        slot = self.records.keys.sample_into(&mut self.rng, seq, &mut key);
                    }
                    None => slot = self.records.keys.sample_into(&mut self.rng, seq, &mut key),
                }
                stamp.prefix_json(&json, &mut data);
            }
            Payload::Replay { .. } => {
                if let Some(cursor) = &mut self.replay {
                    let (k, json) = cursor.get(seq);
                    key.push_str(k);
                    stamp.prefix_json(json, &mut data);
                }
            }
        }
        let (explicit_hash_key, shard) =
            match self.records.keys.explicit_shard(seq, self.shards.len()) {
                Some(i) => (Some(self.shards.midpoint(i).to_string()), i as u32),
                None => {
                    let hash =
                        |key: &str| self.shards.shard_of_key(key).map_or(NO_SHARD, |i| i as u32);
                    let shard = match slot.and_then(|s| self.shard_memo.get_mut(s as usize)) {
                        Some(memo) if *memo != MEMO_UNKNOWN => *memo,
                        Some(memo) => {
                            *memo = hash(&key);
                            *memo
                        }
                        None => hash(&key),
                    };
                    (None, shard)
                }
            };
        Made {
            key,
            explicit_hash_key,
            shard,
            data,
        }
    }
}

/// The partition key in field `key` of a rendered JSON object.
fn key_field(json: &str, key: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    match value.get(key)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::keys::KeyDist;
    use crate::scenario::sizes::SizeDist;

    fn records() -> Records {
        Records {
            size: SizeDist::Fixed { value: 64 },
            keys: KeyDist::Uniform { count: 100 },
            payload: Payload::Random,
        }
    }

    #[test]
    fn same_seed_same_records_different_seed_different_records() {
        let run = |seed| {
            let mut g = Generator::new(records(), seed, 1, 0, Arc::default());
            (0..50).map(|i| g.make(i, 0)).collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
        let made = &run(5)[3];
        assert!(made.key.starts_with('k'));
        assert_eq!(made.data.len(), 64);
        assert_eq!(made.shard, NO_SHARD, "no shard map, no shard");
        assert_eq!(Stamp::read(&made.data).map(|s| s.seq), Some(3));
    }

    /// The remembered shard of a key is the one its MD5 gives, for every distribution with a
    /// fixed key set (including the hot key's own slot) and for keys made per record.
    #[test]
    fn remembered_shards_match_the_hash() {
        let map = Arc::new(ShardMap::even(7));
        for keys in [
            KeyDist::Uniform { count: 50 },
            KeyDist::Hot {
                fraction: 0.5,
                count: 20,
            },
            KeyDist::Sequential { count: 30 },
            KeyDist::Unique,
        ] {
            let mut g = Generator::new(
                Records {
                    keys: keys.clone(),
                    ..records()
                },
                9,
                1,
                0,
                map.clone(),
            );
            let mut hot = 0;
            for i in 0..500 {
                let made = g.make(i, 0);
                hot += usize::from(made.key == "hot");
                let expected = map.shard_of_key(&made.key).map(|s| s as u32);
                assert_eq!(Some(made.shard), expected, "{keys:?}: key {}", made.key);
            }
            if matches!(keys, KeyDist::Hot { .. }) {
                assert!(hot > 100, "the hot key's slot was exercised ({hot})");
            }
        }
    }
}
