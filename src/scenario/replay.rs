//! A replay file as a scenario names it: one JSON object per line of an NDJSON file, the
//! partition key taken from a named field.
//!
//! The file is streamed, never read whole: a line at a time into a buffer of at most
//! [`MAX_LINE_BYTES`], so memory stays bounded whatever the file's size. Only regular files
//! are opened (a FIFO would block, `/dev/zero` never ends). Checking the scenario reads the
//! first record ([`Replay::open`]) and then as many as the phases will send
//! ([`Replay::ensure`], from `replay_covers_phases`): every record a run sends has been checked
//! before the run, and a file far longer than the run is not read to its end. The workload
//! streams the records again during the run (`workload::replay`).

use super::limits::{JSON_STAMP_LEN, MAX_PARTITION_KEY_CHARS, MAX_RECORD_BYTES};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Longest line a replay file may have: the 1 MiB record limit plus 64 KiB for whitespace
/// around the object (trimmed off). A longer line can never be a record, so reading stops
/// there instead of buffering the rest of it.
pub const MAX_LINE_BYTES: usize = MAX_RECORD_BYTES as usize + 64 * 1024;

/// The UTF-8 byte-order mark, which JSON text must not start with.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A replay file: where it is, its key field, and how far it has been checked.
pub struct Replay {
    path: PathBuf,
    key_field: String,
    /// Opened once when the scenario is checked; every reader reads it at its own offset.
    file: Arc<File>,
    /// The first record (key, JSON): what a run repeats if the file cannot be read any more.
    first: (String, String),
    scan: Mutex<Scan>,
}

/// How far the scenario check has read the file.
struct Scan {
    lines: Lines,
    /// Records checked so far.
    records: u64,
    /// Whether `lines` reached the end of the file: `records` is then all of them.
    complete: bool,
    /// Longest key and longest record checked, in bytes.
    max_key: usize,
    max_data: usize,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay")
            .field("path", &self.path)
            .field("key_field", &self.key_field)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Replay {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && self.key_field == other.key_field
    }
}

impl Replay {
    /// Opens `path` and checks its first record: every non-empty line must be a JSON object
    /// with a string or number `key_field`. Refuses anything but a regular file before opening
    /// it.
    pub fn open(path: &Path, key_field: &str) -> Result<Replay, String> {
        let cannot = |e: std::io::Error| {
            format!(
                "cannot read replay file `{}`: {e}; check the path (relative paths start at the scenario file's folder)",
                path.display()
            )
        };
        let meta = std::fs::metadata(path).map_err(cannot)?;
        if !meta.is_file() {
            return Err(format!(
                "replay file `{}` is {}, not a regular file; give the path of an NDJSON file",
                path.display(),
                kind_of(&meta)
            ));
        }
        let file = Arc::new(File::open(path).map_err(cannot)?);
        let mut lines = Lines::new(file.clone(), path);
        let (mut key, mut json) = (String::new(), String::new());
        if !lines.next_record(key_field, &mut key, &mut json)? {
            return Err(format!("replay file `{}` has no records", path.display()));
        }
        Ok(Replay {
            path: path.to_path_buf(),
            key_field: key_field.to_string(),
            scan: Mutex::new(Scan {
                lines,
                records: 1,
                complete: false,
                max_key: key.len(),
                max_data: json.len(),
            }),
            first: (key, json),
            file,
        })
    }

    /// Checks records until `wanted` have been or the file ends; returns how many the file has
    /// of them (all of its records when fewer than `wanted`). Records already checked are not
    /// read again.
    pub fn ensure(&self, wanted: u64) -> Result<u64, String> {
        let mut scan = self.scan.lock().unwrap_or_else(|e| e.into_inner());
        let (mut key, mut json) = (String::new(), String::new());
        while scan.records < wanted && !scan.complete {
            if scan
                .lines
                .next_record(&self.key_field, &mut key, &mut json)?
            {
                scan.records += 1;
                scan.max_key = scan.max_key.max(key.len());
                scan.max_data = scan.max_data.max(json.len());
            } else {
                scan.complete = true;
            }
        }
        Ok(scan.records.min(wanted))
    }

    /// A reader from the file's first line.
    pub(crate) fn lines(&self) -> Lines {
        Lines::new(self.file.clone(), &self.path)
    }

    pub(crate) fn first(&self) -> (&String, &String) {
        (&self.first.0, &self.first.1)
    }

    pub(crate) fn key_field(&self) -> &str {
        &self.key_field
    }

    /// How many records the file has, once it has been checked to its end.
    pub fn known_len(&self) -> Option<u64> {
        let scan = self.scan.lock().unwrap_or_else(|e| e.into_inner());
        scan.complete.then_some(scan.records)
    }

    /// Longest key and longest record checked so far, in bytes.
    pub fn max_sizes(&self) -> (usize, usize) {
        let scan = self.scan.lock().unwrap_or_else(|e| e.into_inner());
        (scan.max_key, scan.max_data)
    }
}

/// "a FIFO", "a directory", ... for a path that is not a regular file.
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

/// Reads `file` from `pos` without moving a shared offset, so readers of one file do not meet.
struct At {
    file: Arc<File>,
    pos: u64,
}

impl Read for At {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(&*self.file, buf, self.pos)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(&*self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// A replay file's records, line by line, each checked; a line is buffered only up to
/// [`MAX_LINE_BYTES`].
pub(crate) struct Lines {
    reader: BufReader<At>,
    path: PathBuf,
    buf: Vec<u8>,
    /// The number of the last line read (1-based).
    line: u64,
}

impl Lines {
    fn new(file: Arc<File>, path: &Path) -> Lines {
        Lines {
            reader: BufReader::with_capacity(64 * 1024, At { file, pos: 0 }),
            path: path.to_path_buf(),
            buf: Vec::new(),
            line: 0,
        }
    }

    /// The next record into `key` and `json`; false at the end of the file. An error names
    /// `file:line`.
    pub(crate) fn next_record(
        &mut self,
        key_field: &str,
        key: &mut String,
        json: &mut String,
    ) -> Result<bool, String> {
        loop {
            self.buf.clear();
            let n = (&mut self.reader)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| {
                    format!(
                        "cannot read replay file `{}` after line {}: {e}",
                        self.path.display(),
                        self.line
                    )
                })?;
            if n == 0 {
                return Ok(false);
            }
            self.line += 1;
            let at = format!("{}:{}", self.path.display(), self.line);
            if self.buf.last() == Some(&b'\n') {
                self.buf.pop();
            } else if self.buf.len() > MAX_LINE_BYTES {
                return Err(format!(
                    "{at}: the line is longer than {MAX_LINE_BYTES} bytes (the 1MiB record limit plus 64KiB of surrounding whitespace), so it cannot be a record; each line must be one JSON object of at most 1MiB"
                ));
            }
            if self.line == 1 && self.buf.starts_with(BOM) {
                return Err(format!(
                    "{at}: the file starts with a UTF-8 byte-order mark (EF BB BF); save it without one"
                ));
            }
            match record(&self.buf, key_field, key) {
                Ok(Some(text)) => {
                    json.clear();
                    json.push_str(text);
                    return Ok(true);
                }
                Ok(None) => continue,
                Err(e) => return Err(format!("{at}: {e}")),
            }
        }
    }

    /// Back to the first line.
    pub(crate) fn rewind(&mut self) {
        let file = self.reader.get_ref().file.clone();
        self.reader = BufReader::with_capacity(64 * 1024, At { file, pos: 0 });
        self.line = 0;
    }
}

/// One line of a replay file: its JSON object (trimmed) with the partition key from
/// `key_field` in `key`; None for a blank line.
pub fn record<'a>(
    line: &'a [u8],
    key_field: &str,
    key: &mut String,
) -> Result<Option<&'a str>, String> {
    let line = std::str::from_utf8(line)
        .map_err(|e| format!("not valid UTF-8 ({e}); save the file as UTF-8"))?
        .trim();
    if line.is_empty() {
        return Ok(None);
    }
    let value: serde_json::Value = serde_json::from_str(line)
        .map_err(|e| format!("not valid JSON ({e}); each line must be one JSON object"))?;
    let obj = value
        .as_object()
        .ok_or("a JSON object `{...}` is expected on each line")?;
    key.clear();
    match obj.get(key_field) {
        Some(serde_json::Value::String(s)) => key.push_str(s),
        Some(serde_json::Value::Number(n)) => key.push_str(&n.to_string()),
        Some(_) => {
            return Err(format!(
                "the key field `{key_field}` must be a string or a number"
            ));
        }
        None => return Err(format!("the key field `{key_field}` is missing")),
    }
    if key.is_empty() || key.chars().count() > MAX_PARTITION_KEY_CHARS {
        return Err(format!("the key `{key_field}` must be 1 to 256 characters"));
    }
    let size = key.len() + line.len() + JSON_STAMP_LEN;
    if size as u64 > MAX_RECORD_BYTES {
        return Err(format!(
            "the record is {size} bytes with its key and kbench's {JSON_STAMP_LEN}-byte stamp, above the 1MiB record limit (data + key); shorten it"
        ));
    }
    Ok(Some(line))
}
