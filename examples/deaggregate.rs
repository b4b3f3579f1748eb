//! Decodes Kinesis record payloads the way kbench's consumer does.
//!
//! Reads hex-encoded record data from stdin, one record per line, and prints one JSON line
//! per input line (an empty line is a record with empty data):
//!
//! ```text
//! {"aggregated":true,"records":[{"partition_key":"pk","explicit_hash_key":null,"data_hex":"6869"}]}
//! {"aggregated":false,"records":[{"partition_key":null,"explicit_hash_key":null,"data_hex":"6869"}]}
//! ```
//!
//! A payload that is not a valid KPL aggregate is reported as one plain record. A line
//! that is not hex stops the run with a message naming the line, and exit code 1.
//!
//! ```text
//! printf '%s\n' "$HEX" | cargo run --release --example deaggregate
//! ```

use std::io::{self, BufRead, BufWriter, Write};
use std::process::ExitCode;

use kbench::aggregate;
use serde_json::{Value, json};

/// Decodes a hex string (either case, even length) into bytes.
fn from_hex(text: &str) -> Result<Vec<u8>, String> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits ({})", bytes.len()));
    }
    bytes
        .chunks_exact(2)
        .enumerate()
        .map(|(i, pair)| match (nibble(pair[0]), nibble(pair[1])) {
            (Some(high), Some(low)) => Ok(high << 4 | low),
            _ => Err(format!("not a hex digit pair at column {}", 2 * i + 1)),
        })
        .collect()
}

/// Encodes bytes as lowercase hex.
fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The JSON line for one Kinesis record's data.
fn describe(data: &[u8]) -> Value {
    match aggregate::decode(data) {
        Some(decoded) => {
            let records: Vec<Value> = decoded
                .records()
                .map(|record| {
                    json!({
                        "partition_key": record.partition_key,
                        "explicit_hash_key": record.explicit_hash_key,
                        "data_hex": to_hex(record.data),
                    })
                })
                .collect();
            json!({ "aggregated": true, "records": records })
        }
        None => json!({
            "aggregated": false,
            "records": [{
                "partition_key": null,
                "explicit_hash_key": null,
                "data_hex": to_hex(data),
            }],
        }),
    }
}

fn run() -> Result<(), String> {
    let stdin = io::stdin().lock();
    let mut stdout = BufWriter::new(io::stdout().lock());
    for (index, line) in stdin.lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(|e| format!("line {number}: cannot read stdin: {e}"))?;
        let data = from_hex(line.trim()).map_err(|e| format!("line {number}: invalid hex: {e}"))?;
        writeln!(stdout, "{}", describe(&data)).map_err(|e| format!("writing stdout: {e}"))?;
    }
    stdout.flush().map_err(|e| format!("writing stdout: {e}"))
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("deaggregate: {message}");
            ExitCode::FAILURE
        }
    }
}
