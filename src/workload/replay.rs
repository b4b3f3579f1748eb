//! Replayed records: one JSON object per line of an NDJSON file, the partition key taken from a
//! named field.

use std::path::Path;

/// The records of a replay file, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// (partition key, the JSON object's text).
    records: Vec<(String, String)>,
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
            if key.is_empty()
                || key.chars().count() > crate::scenario::limits::MAX_PARTITION_KEY_CHARS
            {
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

    /// Record `i` (wrapping around the file).
    pub fn get(&self, i: u64) -> (&str, &str) {
        let (k, v) = &self.records[(i % self.records.len() as u64) as usize];
        (k, v)
    }

    /// Longest key and longest record, in bytes.
    pub fn max_sizes(&self) -> (usize, usize) {
        let key = self.records.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let data = self.records.iter().map(|r| r.1.len()).max().unwrap_or(0);
        (key, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_lines_and_names_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.ndjson");
        std::fs::write(&good, "{\"user\": \"a\", \"n\": 1}\n\n{\"user\": 7}\n").unwrap();
        let r = Replay::load(&good, "user").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r.get(0), ("a", "{\"user\": \"a\", \"n\": 1}"));
        assert_eq!(r.get(3).0, "7");

        let bad = dir.path().join("bad.ndjson");
        std::fs::write(&bad, "{\"user\": \"a\"}\n{\"user\": \n").unwrap();
        let err = Replay::load(&bad, "user").unwrap_err();
        assert!(err.contains("bad.ndjson:2: not valid JSON"), "{err}");
        std::fs::write(&bad, "{\"id\": 1}\n").unwrap();
        assert!(
            Replay::load(&bad, "user")
                .unwrap_err()
                .contains("bad.ndjson:1: the key field `user` is missing")
        );
        std::fs::write(&bad, "[1, 2]\n").unwrap();
        assert!(
            Replay::load(&bad, "user")
                .unwrap_err()
                .contains("a JSON object")
        );
        assert!(
            Replay::load(&dir.path().join("none.ndjson"), "user")
                .unwrap_err()
                .contains("cannot read replay file")
        );
    }
}
