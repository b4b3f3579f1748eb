//! Replaying records: record `i` of the run is record `i` of the scenario's replay file,
//! wrapping around it, streamed from the file a line at a time (memory stays bounded whatever
//! the file's size).

use crate::scenario::replay::{Lines, Replay};
use std::sync::Arc;

/// Reads a replay file's records in order for one generator, starting again after the last.
pub struct Cursor {
    replay: Arc<Replay>,
    lines: Lines,
    /// The record index `key` and `json` hold, if any.
    at: Option<u64>,
    key: String,
    json: String,
    warned: bool,
}

impl Cursor {
    pub fn new(replay: Arc<Replay>) -> Cursor {
        Cursor {
            lines: replay.lines(),
            replay,
            at: None,
            key: String::new(),
            json: String::new(),
            warned: false,
        }
    }

    /// Record `i` (wrapping around the file): its partition key and JSON text. Reading is
    /// sequential; going back (or skipping ahead) reads the file again from its start.
    ///
    /// Every record a run reads was checked with the scenario, so a bad line here means the
    /// file changed since: that is logged once, and the replay starts again from the first
    /// line (or, when even that cannot be read, repeats the first record checked).
    pub fn get(&mut self, i: u64) -> (&str, &str) {
        let i = match self.replay.known_len() {
            Some(n) if n > 0 => i % n,
            _ => i,
        };
        if self.at.is_some_and(|at| at > i) {
            self.lines.rewind();
            self.at = None;
        }
        while self.at.is_none_or(|at| at < i) {
            self.advance();
            self.at = Some(self.at.map_or(0, |at| at + 1));
        }
        (&self.key, &self.json)
    }

    /// The next record into `key` and `json`, from the start again after the last.
    fn advance(&mut self) {
        let field = self.replay.key_field();
        for attempt in 0..2 {
            match self.lines.next_record(field, &mut self.key, &mut self.json) {
                Ok(true) => return,
                Ok(false) if attempt == 0 => self.lines.rewind(),
                Ok(false) => fail(&mut self.warned, "it has no records any more"),
                Err(e) => {
                    fail(&mut self.warned, &e);
                    self.lines.rewind();
                }
            }
        }
        let (key, json) = self.replay.first();
        self.key.clone_from(key);
        self.json.clone_from(json);
    }
}

/// Logs, once per cursor, that the file can no longer be replayed as it was checked.
fn fail(warned: &mut bool, problem: &str) {
    if !*warned {
        *warned = true;
        tracing::error!(
            "the replay file changed after the scenario was checked: {problem}; the replay goes on from its first line (or repeats the first record checked when no line can be read)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(text: &str) -> (tempfile::TempDir, Cursor) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.ndjson");
        std::fs::write(&path, text).unwrap();
        let replay = Replay::open(&path, "user").unwrap();
        (dir, Cursor::new(Arc::new(replay)))
    }

    #[test]
    fn loads_lines_and_names_bad_ones() {
        let (dir, mut c) = cursor("{\"user\": \"a\", \"n\": 1}\n\n{\"user\": 7}\n");
        assert_eq!(c.get(0), ("a", "{\"user\": \"a\", \"n\": 1}"));
        assert_eq!(c.get(1).0, "7");
        assert_eq!(c.get(2).0, "a", "wraps around");
        assert_eq!(c.get(3).0, "7");
        assert_eq!(c.get(1).0, "7", "going back reads again");

        let bad = dir.path().join("bad.ndjson");
        let check = |text: &str, wanted: u64| {
            std::fs::write(&bad, text).unwrap();
            Replay::open(&bad, "user").and_then(|r| r.ensure(wanted))
        };
        let err = check("{\"user\": \"a\"}\n{\"user\": \n", 2).unwrap_err();
        assert!(err.contains("bad.ndjson:2: not valid JSON"), "{err}");
        let err = check("{\"id\": 1}\n", 1).unwrap_err();
        assert!(
            err.contains("bad.ndjson:1: the key field `user` is missing"),
            "{err}"
        );
        assert!(check("[1, 2]\n", 1).unwrap_err().contains("a JSON object"));
        assert!(check("\n \n", 1).unwrap_err().contains("has no records"));
        assert!(
            Replay::open(&dir.path().join("none.ndjson"), "user")
                .unwrap_err()
                .contains("cannot read replay file")
        );
    }

    #[test]
    fn a_replay_line_over_the_cap_is_rejected_with_file_and_line() {
        use crate::scenario::replay::MAX_LINE_BYTES;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.ndjson");
        let long = format!(
            "{{\"user\": \"a\", \"pad\": \"{}\"}}\n",
            "y".repeat(MAX_LINE_BYTES)
        );
        std::fs::write(&path, format!("{{\"user\": \"a\"}}\n\n{long}")).unwrap();
        let replay = Replay::open(&path, "user").unwrap();
        let err = replay.ensure(2).unwrap_err();
        assert!(
            err.contains("long.ndjson:3: the line is longer than"),
            "{err}"
        );
        assert!(
            err.contains(&MAX_LINE_BYTES.to_string()),
            "the cap is said: {err}"
        );
        // a line within the cap but over the record limit with key and stamp
        let big = format!(
            "{{\"user\": \"a\", \"pad\": \"{}\"}}\n",
            "y".repeat(1 << 20)
        );
        std::fs::write(&path, big).unwrap();
        let err = Replay::open(&path, "user").unwrap_err();
        assert!(err.contains("long.ndjson:1: the record is"), "{err}");
        assert!(err.contains("1MiB record limit"), "{err}");
    }

    #[test]
    fn a_bom_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bom.ndjson");
        std::fs::write(&path, b"\xEF\xBB\xBF{\"user\": \"a\"}\n").unwrap();
        let err = Replay::open(&path, "user").unwrap_err();
        assert!(
            err.contains("bom.ndjson:1: the file starts with a UTF-8 byte-order mark (EF BB BF); save it without one"),
            "{err}"
        );
        std::fs::write(&path, b"{\"user\": \"\xFF\"}\n").unwrap();
        let err = Replay::open(&path, "user").unwrap_err();
        assert!(err.contains("bom.ndjson:1: not valid UTF-8"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_as_replay_file_is_refused_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.ndjson");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        let err = Replay::open(&fifo, "user").unwrap_err();
        assert!(
            err.contains("is a FIFO (named pipe), not a regular file"),
            "{err}"
        );
        let err = Replay::open(std::path::Path::new("/dev/zero"), "user").unwrap_err();
        assert!(
            err.contains("`/dev/zero` is a device, not a regular file"),
            "{err}"
        );
        let err = Replay::open(dir.path(), "user").unwrap_err();
        assert!(err.contains("is a directory, not a regular file"), "{err}");
    }

    #[test]
    fn validate_reads_only_what_the_scenario_needs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.ndjson");
        let mut text: String = (0..29)
            .map(|i| format!("{{\"user\": \"u{i}\"}}\n"))
            .collect();
        text.push_str("not json\n");
        std::fs::write(&path, text).unwrap();
        let replay = Replay::open(&path, "user").unwrap();
        assert_eq!(
            replay.ensure(20),
            Ok(20),
            "line 30 is not read for 20 records"
        );
        assert_eq!(replay.known_len(), None);
        assert!(
            replay
                .ensure(30)
                .unwrap_err()
                .contains("e.ndjson:30: not valid JSON")
        );
    }
}
