//! Human units in scenario files: durations ("250ms", "1m 30s") and sizes ("1KiB", "64B", 1024).

use std::time::Duration;

/// Longest duration a scenario may give anything (a phase, a drain, a timeout): 30 days.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Parses a duration such as "250ms", "10s" or "1m 30s" (at most 30 days).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| {
        format!("`{text}` is not a duration ({e}); write it like \"250ms\", \"10s\" or \"2m\"")
    })?;
    if d > MAX_DURATION {
        return Err(format!(
            "`{text}` is longer than kbench allows; use at most 30 days"
        ));
    }
    Ok(d)
}

/// Formats a duration the way `parse_duration` reads it back.
pub fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".to_string();
    }
    humantime::format_duration(d).to_string()
}

/// Parses a size such as "1KiB", "64B", "1.5MiB" or "1000" into bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    if let Ok(n) = trimmed.parse::<u64>() {
        return Ok(n);
    }
    trimmed
        .parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|_| {
            format!("`{text}` is not a size; write it like \"512B\", \"1KiB\", \"4MiB\" or a number of bytes")
        })
}

/// Decimal units bytesize reads as powers of 1,000, with their name and binary counterpart.
const DECIMAL_UNITS: [(&str, &str, &str); 6] = [
    ("k", "kB", "KiB"),
    ("m", "MB", "MiB"),
    ("g", "GB", "GiB"),
    ("t", "TB", "TiB"),
    ("p", "PB", "PiB"),
    ("e", "EB", "EiB"),
];

/// When `text` is a size in a decimal unit ("1kb", "1 KB", "1k", "2MB"), says what it was read
/// as and how to write the binary size every Kinesis limit is given in; None for binary units,
/// bytes, plain numbers and anything that is not a size.
pub fn decimal_size_note(text: &str) -> Option<String> {
    let trimmed = text.trim();
    let number_len = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(number_len);
    let unit = unit.trim().to_ascii_lowercase();
    let letter = unit.strip_suffix('b').unwrap_or(&unit);
    let (_, name, binary) = DECIMAL_UNITS.iter().find(|(l, _, _)| *l == letter)?;
    let bytes = parse_size(text).ok()?;
    let suggestion = format!("{number}{binary}");
    let binary_bytes = parse_size(&suggestion).ok()?;
    Some(format!(
        "\"{text}\" was read as {} bytes (decimal {name}); write \"{suggestion}\" for {}",
        thousands(bytes),
        thousands(binary_bytes)
    ))
}

/// `n` with commas between groups of three digits: 1,048,576.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Formats bytes as the shortest exact binary-unit string ("1KiB", "1500B").
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, factor) in UNITS {
        if bytes >= factor && bytes.is_multiple_of(factor) {
            return format!("{}{unit}", bytes / factor);
        }
    }
    format!("{bytes}B")
}

/// Serde helpers that write durations and sizes in the human form.
pub mod ser {
    use serde::Serializer;
    use std::time::Duration;

    pub fn duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }

    pub fn opt_duration<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => duration(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn size<S: Serializer>(b: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_size(*b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip() {
        for text in ["250ms", "10s", "2m", "1h 30m", "0s"] {
            let d = parse_duration(text).expect(text);
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("300000000000y").is_err());
    }

    #[test]
    fn sizes_parse_binary_and_decimal_units() {
        assert_eq!(parse_size("1KiB").unwrap(), 1024);
        assert_eq!(parse_size("64B").unwrap(), 64);
        assert_eq!(parse_size("5MiB").unwrap(), 5 * 1024 * 1024);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert_eq!(parse_size("1KB").unwrap(), 1000);
        assert!(parse_size("big").is_err());
        assert_eq!(format_size(1024), "1KiB");
        assert_eq!(format_size(1500), "1500B");
        assert_eq!(parse_size(&format_size(5 << 20)).unwrap(), 5 << 20);
    }

    #[test]
    fn decimal_sizes_get_a_note_and_binary_ones_none() {
        for text in ["1kb", "1 KB", "1k", "1K", "1kB"] {
            assert_eq!(
                decimal_size_note(text).as_deref(),
                Some(
                    format!(
                        "\"{text}\" was read as 1,000 bytes (decimal kB); write \"1KiB\" for 1,024"
                    )
                    .as_str()
                ),
                "{text}"
            );
        }
        assert_eq!(
            decimal_size_note("1.5MB").as_deref(),
            Some(
                "\"1.5MB\" was read as 1,500,000 bytes (decimal MB); write \"1.5MiB\" for 1,572,864"
            )
        );
        for text in [
            "1KiB",
            "1 kib",
            "5MiB",
            "64B",
            "64 b",
            "1000",
            "lognormal",
            "big",
            "",
        ] {
            assert_eq!(decimal_size_note(text), None, "{text}");
        }
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_048_576), "1,048,576");
    }
}
