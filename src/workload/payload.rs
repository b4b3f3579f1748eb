//! Record bodies: the stamp kbench puts at the front of every record, and the bytes after it.
//!
//! The stamp is how the consumer computes end-to-end latency and finds lost and duplicated
//! records: magic, run id, producer id, sequence number (the record's index in the run's
//! schedule) and the intended send time.

use crate::scenario::limits::{JSON_STAMP_LEN, STAMP_LEN};
use crate::scenario::replay::Replay;
use crate::scenario::template::Template;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// What fills a record after its stamp.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Payload {
    /// Random bytes from the run's seeded RNG: incompressible, like encrypted or compressed data.
    #[default]
    Random,
    /// A JSON object rendered from a template; the partition key from field `key` if given.
    Template {
        text: String,
        key: Option<String>,
        parsed: Arc<Template>,
    },
    /// JSON objects replayed from an NDJSON file, the partition key from field `key`.
    Replay {
        file: PathBuf,
        key: String,
        looped: bool,
        records: Arc<Replay>,
    },
}

impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Payload::Random => s.serialize_str("random"),
            Payload::Template { text, key, .. } => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("template", text)?;
                if let Some(k) = key {
                    m.serialize_entry("key", k)?;
                }
                m.end()
            }
            Payload::Replay {
                file, key, looped, ..
            } => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("file", &file.display().to_string())?;
                m.serialize_entry("key", key)?;
                m.serialize_entry("loop", looped)?;
                m.end()
            }
        }
    }
}

impl Payload {
    /// Reads `payload = "random"`, `{ template = "...", key = "field" }` or
    /// `{ file = "events.ndjson", key = "field", loop = true }`; relative files start at `base`.
    pub fn from_toml(value: &toml::Value, base: &Path) -> Result<Self, String> {
        match value {
            toml::Value::String(s) if s == "random" => Ok(Payload::Random),
            toml::Value::String(other) => Err(format!(
                "unknown payload `{other}`{}; use \"random\", {{ template = \"...\" }} or {{ file = \"events.ndjson\", key = \"field\" }}",
                crate::scenario::suggest(other, &["random"])
            )),
            toml::Value::Table(t) if t.contains_key("template") => {
                crate::scenario::check_table_keys(t, &["template", "key"])?;
                let text = t["template"].as_str().ok_or("`template` must be a string")?.to_string();
                let key = match t.get("key") {
                    None => None,
                    Some(k) => Some(k.as_str().ok_or("`key` must be the name of a field")?.to_string()),
                };
                let parsed = Template::parse(&text).map_err(|e| format!("template: {e}"))?;
                check_template_sample(&parsed, key.as_deref())?;
                Ok(Payload::Template { text, key, parsed: Arc::new(parsed) })
            }
            toml::Value::Table(t) if t.contains_key("file") => {
                crate::scenario::check_table_keys(t, &["file", "key", "loop"])?;
                let file = PathBuf::from(t["file"].as_str().ok_or("`file` must be a path")?);
                let key = t
                    .get("key")
                    .and_then(|k| k.as_str())
                    .ok_or("a replay needs `key`, the field that holds each record's partition key")?
                    .to_string();
                let looped = match t.get("loop") {
                    None => true,
                    Some(l) => l.as_bool().ok_or("`loop` must be true or false")?,
                };
                let path = if file.is_absolute() { file.clone() } else { base.join(&file) };
                let records = Replay::load(&path, &key)?;
                Ok(Payload::Replay { file, key, looped, records: Arc::new(records) })
            }
            _ => Err("expected \"random\", { template = \"...\", key = \"field\" } or { file = \"events.ndjson\", key = \"field\" }".into()),
        }
    }

    /// Whether the payload decides record sizes itself (JSON), so `[records] size` does not apply.
    pub fn sizes_itself(&self) -> bool {
        !matches!(self, Payload::Random)
    }

    /// Whether the payload supplies partition keys, so `[records] keys` does not apply.
    pub fn keys_itself(&self) -> bool {
        matches!(
            self,
            Payload::Template { key: Some(_), .. } | Payload::Replay { .. }
        )
    }
}

/// Checks a template before any record is sent: its longest record fits the record limit, and
/// a few hundred seeded samples each render a JSON object whose key field is a valid partition key.
fn check_template_sample(t: &Template, key: Option<&str>) -> Result<(), String> {
    use crate::scenario::limits::{MAX_PARTITION_KEY_CHARS, MAX_RECORD_BYTES};
    use rand::SeedableRng;
    let longest = t
        .max_len()
        .saturating_add(JSON_STAMP_LEN + MAX_PARTITION_KEY_CHARS);
    if longest as u64 > MAX_RECORD_BYTES {
        return Err(format!(
            "the template can render records of up to {longest} bytes with stamp and key, above the 1MiB record limit; shorten its strings"
        ));
    }
    let mut rng = rand::rngs::SmallRng::seed_from_u64(0);
    let mut out = String::new();
    for seq in 0..200 {
        t.render(&mut rng, seq, 0, &mut out);
        let value: serde_json::Value = serde_json::from_str(&out).map_err(|e| {
            format!("the template does not render valid JSON ({e}); a sample: {out}")
        })?;
        let obj = value
            .as_object()
            .ok_or("the template must render a JSON object `{...}`")?;
        if let Some(k) = key {
            let text = match obj.get(k) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Number(n)) => n.to_string(),
                _ => {
                    return Err(format!(
                        "the template has no string or number field `{k}` for the partition key"
                    ));
                }
            };
            if text.is_empty() || text.chars().count() > MAX_PARTITION_KEY_CHARS {
                return Err(format!(
                    "the key field `{k}` rendered `{text}`: partition keys are 1 to 256 characters"
                ));
            }
        }
    }
    Ok(())
}

/// The partition key in field `key` of a rendered JSON object.
pub fn key_field(json: &str, key: &str) -> Option<String> {
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
