//! Replaying records: record `i` of the run is line `i` of the scenario's replay file,
//! wrapping around it.

use crate::scenario::replay::Replay;

impl Replay {
    /// Record `i` (wrapping around the file).
    pub fn get(&self, i: u64) -> (&str, &str) {
        let (k, v) = &self.records[(i % self.records.len() as u64) as usize];
        (k, v)
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
