//! A replay file as a scenario names it: one JSON object per line of an NDJSON file, the
//! partition key taken from a named field.
//!
//! The file is read and every line checked when the scenario is, since its records decide
//! whether the scenario is valid (their sizes, and their number with `loop = false`); the
//! workload replays them (`workload::replay`).

use super::limits::MAX_PARTITION_KEY_CHARS;
use std::path::Path;

/// The records of a replay file, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// (partition key, the JSON object's text); the workload replays them in this order.
    pub(crate) records: Vec<(String, String)>,
}

impl Replay {
    /// Reads `path`; every non-empty line must be a JSON object with a string or number `key_field`.
    pub fn load(path: &Path, key_field: &str) -> Result<Replay, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read replay file `{}`: {e}; check the path (relative paths start at the scenario file's folder)", path.display()))?;
        let mut records = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let at = || format!("{}:{}", path.display(), i + 1);
            let value: serde_json::Value = serde_json::from_str(line).map_err(|e| {
                format!(
                    "{}: not valid JSON ({e}); each line must be one JSON object",
                    at()
                )
            })?;
            let obj = value.as_object().ok_or_else(|| {
                format!("{}: a JSON object `{{...}}` is expected on each line", at())
            })?;
            let key = match obj.get(key_field) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Number(n)) => n.to_string(),
                Some(_) => {
                    return Err(format!(
                        "{}: the key field `{key_field}` must be a string or a number",
                        at()
                    ));
                }
                None => return Err(format!("{}: the key field `{key_field}` is missing", at())),
            };
            if key.is_empty() || key.chars().count() > MAX_PARTITION_KEY_CHARS {
                return Err(format!(
                    "{}: the key `{key_field}` must be 1 to 256 characters",
                    at()
                ));
            }
            records.push((key, line.to_string()));
        }
        if records.is_empty() {
            return Err(format!("replay file `{}` has no records", path.display()));
        }
        Ok(Replay { records })
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Longest key and longest record, in bytes.
    pub fn max_sizes(&self) -> (usize, usize) {
        let key = self.records.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let data = self.records.iter().map(|r| r.1.len()).max().unwrap_or(0);
        (key, data)
    }
}
