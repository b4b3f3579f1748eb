//! What a run offers: keys, sizes, payloads and the schedule of intended send times.

pub mod keys;
pub mod payload;
pub mod replay;
pub mod schedule;
pub mod shardmap;
pub mod sizes;
pub mod template;

use crate::metrics::interval::NO_SHARD;
use crate::scenario::Records;
use payload::{Payload, STAMP_LEN, Stamp};
use rand::RngCore;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use shardmap::ShardMap;
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
}

impl Generator {
    pub fn new(
        records: Records,
        seed: u64,
        run_id: u32,
        producer_id: u32,
        shards: Arc<ShardMap>,
    ) -> Generator {
        Generator {
            records,
            rng: SmallRng::seed_from_u64(seed),
            run_id,
            producer_id,
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
        let mut key = String::new();
        let mut data = Vec::new();
        match &self.records.payload {
            Payload::Random => {
                self.records.keys.sample_into(&mut self.rng, seq, &mut key);
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
                match field.as_deref().map(|f| (f, payload::key_field(&json, f))) {
                    Some((_, Some(k))) => key = k,
                    Some((f, None)) => {
                        if !self.warned_key_field {
                            self.warned_key_field = true;
                            tracing::warn!(
                                "a rendered record has no usable key field `{f}` (record {seq}: {json}); such records get keys from [records] keys"
                            );
                        }
                        self.records.keys.sample_into(&mut self.rng, seq, &mut key);
                    }
                    None => self.records.keys.sample_into(&mut self.rng, seq, &mut key),
                }
                stamp.prefix_json(&json, &mut data);
            }
            Payload::Replay { records, .. } => {
                let (k, json) = records.get(seq);
                key.push_str(k);
                stamp.prefix_json(json, &mut data);
            }
        }
        let (explicit_hash_key, shard) =
            match self.records.keys.explicit_shard(seq, self.shards.len()) {
                Some(i) => (Some(self.shards.midpoint(i).to_string()), i as u32),
                None => (
                    None,
                    self.shards
                        .shard_of_key(&key)
                        .map_or(NO_SHARD, |i| i as u32),
                ),
            };
        Made {
            key,
            explicit_hash_key,
            shard,
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records() -> Records {
        Records {
            size: sizes::SizeDist::Fixed { value: 64 },
            keys: keys::KeyDist::Uniform { count: 100 },
            payload: payload::Payload::Random,
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
}
