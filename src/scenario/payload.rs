//! What a scenario says fills each record after its stamp: random bytes, a JSON template or a
//! replay file, parsed and checked from `payload = ...`.
//!
//! A template is checked by rendering a few hundred seeded samples of it; a replay file is
//! streamed, as far as the phases will read it (`scenario::replay`). The workload makes the
//! records (`workload::Generator`).

use super::limits::{JSON_STAMP_LEN, MAX_PARTITION_KEY_CHARS, MAX_RECORD_BYTES};
use super::replay::Replay;
use super::template::Template;
use super::{check_table_keys, suggest};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What fills a record after its stamp.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Payload {
    /// Random bytes from the run's seeded RNG: incompressible, like encrypted or compressed data.
    #[default]
    Random,
    /// A JSON object rendered from a template; the partition key from field `key` if given.
    Template {
        /// As written, for the effective scenario.
        text: String,
        /// The field that holds the partition key; None: keys come from `[records] keys`.
        key: Option<String>,
        /// Parsed once when the scenario is checked; every generator renders from it.
        parsed: Arc<Template>,
    },
    /// JSON objects replayed from an NDJSON file, the partition key from field `key`.
    Replay {
        /// As written (relative paths start at the scenario file's folder), for the effective
        /// scenario.
        file: PathBuf,
        /// The field that holds each record's partition key.
        key: String,
        /// `loop`: whether the run starts the file again after its last record.
        looped: bool,
        /// The open file, checked as far as the phases read it.
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
                suggest(other, &["random"])
            )),
            toml::Value::Table(t) if t.contains_key("template") => {
                check_table_keys(t, &["template", "key"])?;
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
                check_table_keys(t, &["file", "key", "loop"])?;
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
                let records = Replay::open(&path, &key)?;
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
