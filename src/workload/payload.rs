//! Record bodies: the stamp kbench puts at the front of every record, and the bytes after it.
//!
//! The stamp is how the consumer computes end-to-end latency and finds lost and duplicated
//! records: magic, run id, producer id, sequence number (the record's index in the run's
//! schedule) and the intended send time.

use rand::RngCore;
use serde::Serialize;

/// First bytes of every stamp ("KBS" + format version 1).
pub const STAMP_MAGIC: [u8; 4] = *b"KBS1";
/// Bytes the stamp occupies at the start of a record's data.
pub const STAMP_LEN: usize = 28;

/// What a record carries to let the consumer account for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Random per run, so records of other runs on a shared stream are recognised and skipped.
    pub run_id: u32,
    /// Which producer process wrote it (0 for a single kbench process).
    pub producer_id: u32,
    /// Index of the record in the run's schedule: dense from 0, unique per run.
    pub seq: u64,
    /// Intended send time, nanoseconds since the Unix epoch.
    pub intended_unix_ns: u64,
}

impl Stamp {
    /// Writes the stamp into the first `STAMP_LEN` bytes of `out`.
    pub fn write(&self, out: &mut [u8]) {
        out[0..4].copy_from_slice(&STAMP_MAGIC);
        out[4..8].copy_from_slice(&self.run_id.to_be_bytes());
        out[8..12].copy_from_slice(&self.producer_id.to_be_bytes());
        out[12..20].copy_from_slice(&self.seq.to_be_bytes());
        out[20..28].copy_from_slice(&self.intended_unix_ns.to_be_bytes());
    }

    /// Reads a stamp from the start of a record's data; `None` if it carries none.
    pub fn read(data: &[u8]) -> Option<Stamp> {
        if data.len() < STAMP_LEN || data[0..4] != STAMP_MAGIC {
            return None;
        }
        let u32_at =
            |i: usize| u32::from_be_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&data[i..i + 8]);
            u64::from_be_bytes(b)
        };
        Some(Stamp {
            run_id: u32_at(4),
            producer_id: u32_at(8),
            seq: u64_at(12),
            intended_unix_ns: u64_at(20),
        })
    }
}

/// What fills a record after its stamp.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Payload {
    /// Random bytes from the run's seeded RNG: incompressible, like encrypted or compressed data.
    #[default]
    Random,
}

impl Payload {
    /// Reads `payload = "random"`.
    pub fn from_toml(value: &toml::Value) -> Result<Self, String> {
        match value.as_str() {
            Some("random") => Ok(Payload::Random),
            Some(other) => Err(format!(
                "unknown payload `{other}`{}; known: \"random\"",
                crate::scenario::suggest(other, &["random"])
            )),
            None => Err("expected a payload kind such as \"random\"".into()),
        }
    }

    /// Fills `body` (the bytes after the stamp).
    pub fn fill<R: RngCore>(&self, rng: &mut R, body: &mut [u8]) {
        match self {
            Payload::Random => rng.fill_bytes(body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_round_trips_and_rejects_foreign_data() {
        let stamp = Stamp {
            run_id: 0xDEAD_BEEF,
            producer_id: 3,
            seq: 1 << 40,
            intended_unix_ns: 1_764_000_000_000_000_000,
        };
        let mut data = vec![0u8; 100];
        stamp.write(&mut data);
        assert_eq!(Stamp::read(&data), Some(stamp));
        assert_eq!(Stamp::read(&data[..STAMP_LEN - 1]), None);
        assert_eq!(
            Stamp::read(b"{\"not\": \"a stamp\", \"padding\": 1234}"),
            None
        );
    }
}
