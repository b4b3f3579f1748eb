//! The stamp kbench puts at the front of every record's data, binary or as a JSON record's
//! first field.
//!
//! The stamp is how the consumer computes end-to-end latency and finds lost and duplicated
//! records: magic, run id, producer id, sequence number (the record's index in the run's
//! schedule) and the intended send time.

use crate::scenario::limits::{JSON_STAMP_LEN, STAMP_LEN};

/// First bytes of every stamp ("KBS" + format version 1).
pub const STAMP_MAGIC: [u8; 4] = *b"KBS1";

// validation checks record sizes against the stamp lengths in scenario::limits: they must be
// this layout's (magic, two u32 ids, two u64s; in JSON the prefix, the hex digits, `",`)
const _: () = assert!(STAMP_LEN == STAMP_MAGIC.len() + 2 * size_of::<u32>() + 2 * size_of::<u64>());
const _: () = assert!(JSON_STAMP_LEN == JSON_STAMP_PREFIX.len() + 2 * STAMP_LEN + 2);

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

    /// Reads a stamp from the start of a record's data (binary, or a JSON record's `_kbench`
    /// field); `None` if it carries none.
    pub fn read(data: &[u8]) -> Option<Stamp> {
        Stamp::read_binary(data).or_else(|| Stamp::read_json(data))
    }

    fn read_binary(data: &[u8]) -> Option<Stamp> {
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

/// How a JSON record's stamp starts: its hex digits and a closing quote follow.
const JSON_STAMP_PREFIX: &[u8] = b"{\"_kbench\":\"";

impl Stamp {
    /// The stamp as the first field of a JSON object: `{"_kbench":"<hex>",` + the rest of `object`
    /// (which must start with `{`).
    pub fn prefix_json(&self, object: &str, out: &mut Vec<u8>) {
        let mut raw = [0u8; STAMP_LEN];
        self.write(&mut raw);
        out.clear();
        out.extend_from_slice(JSON_STAMP_PREFIX);
        for b in raw {
            out.extend_from_slice(format!("{b:02x}").as_bytes());
        }
        out.push(b'"');
        let rest = object.trim_start().strip_prefix('{').unwrap_or(object);
        if !rest.trim_start().starts_with('}') {
            out.push(b',');
        }
        out.extend_from_slice(rest.as_bytes());
    }

    /// Reads a stamp from a JSON record that starts with kbench's `_kbench` field.
    fn read_json(data: &[u8]) -> Option<Stamp> {
        let hex = data.strip_prefix(JSON_STAMP_PREFIX)?.get(..2 * STAMP_LEN)?;
        let mut raw = [0u8; STAMP_LEN];
        for (i, pair) in hex.chunks(2).enumerate() {
            raw[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Stamp::read_binary(&raw)
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

    /// The stamp takes the bytes validation allows for it, in a JSON record as in a random one.
    #[test]
    fn a_json_stamp_takes_its_declared_length() {
        let stamp = Stamp {
            run_id: 1,
            producer_id: 2,
            seq: 3,
            intended_unix_ns: 4,
        };
        let mut out = Vec::new();
        stamp.prefix_json("{\"a\": 1}", &mut out);
        assert_eq!(&out[JSON_STAMP_LEN..], b"\"a\": 1}");
        assert_eq!(Stamp::read(&out), Some(stamp));
    }
}
