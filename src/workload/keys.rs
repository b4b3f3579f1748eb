//! Drawing partition keys: the key of each record from the scenario's [`KeyDist`], with the
//! run's seeded RNG, and which distributions route by explicit hash key instead.

use crate::scenario::keys::KeyDist;
use rand::Rng;
use rand_distr::Distribution;

impl KeyDist {
    /// For distributions that route by explicit hash key: the shard (of `shards`) record `seq`
    /// goes to. None when the partition key routes (or there are no shards).
    pub fn explicit_shard(&self, seq: u64, shards: usize) -> Option<usize> {
        match self {
            KeyDist::EvenShards if shards > 0 => Some((seq % shards as u64) as usize),
            _ => None,
        }
    }

    /// How many distinct keys the distribution draws from, when it draws from a fixed set
    /// (what [`KeyDist::sample_into`]'s slots index); None when every record gets its own key.
    pub fn slots(&self) -> Option<u64> {
        match self {
            KeyDist::Uniform { count }
            | KeyDist::Zipf { count, .. }
            | KeyDist::Sequential { count } => Some(*count),
            // the hot key takes the slot after the numbered ones
            KeyDist::Hot { count, .. } => Some(count + 1),
            KeyDist::Unique | KeyDist::EvenShards => None,
        }
    }

    /// Writes the key of record `seq` into `out` (cleared first), so a caller can reuse the
    /// buffer. Returns the key's slot among [`KeyDist::slots`] (the same key, the same slot), so
    /// that per-key work such as hashing can be done once per key.
    pub fn sample_into<R: Rng>(&self, rng: &mut R, seq: u64, out: &mut String) -> Option<u64> {
        out.clear();
        // a numbered key: its prefix, its number, and its slot when the set is fixed
        let (prefix, n, slot) = match self {
            KeyDist::Uniform { count } => {
                let n = rng.random_range(0..*count);
                ('k', n, Some(n))
            }
            KeyDist::Zipf { sampler, .. } => {
                let n = sampler.sample(rng) as u64 - 1;
                ('k', n, Some(n))
            }
            KeyDist::Hot { fraction, count } => {
                if rng.random::<f64>() < *fraction {
                    out.push_str("hot");
                    return Some(*count);
                }
                let n = rng.random_range(0..*count);
                ('k', n, Some(n))
            }
            KeyDist::Sequential { count } => ('k', seq % count, Some(seq % count)),
            KeyDist::Unique => ('u', seq, None),
            KeyDist::EvenShards => ('s', seq, None),
        };
        out.push(prefix);
        out.push_str(itoa::Buffer::new().format(n));
        slot
    }
}

#[cfg(test)]
mod tests;
