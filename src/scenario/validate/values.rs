//! Readers for scenario values that need more than serde: rates and ramps, API lists, sizes,
//! bounded integers and stream names, each with the message that says how to fix it.

use crate::scenario::limits::{DurationBound, MAX_NAME_BYTES, MAX_RATE};
use crate::scenario::units::parse_size;
use crate::scenario::units::{format_duration, parse_duration};
use crate::scenario::{Api, Rate, check_table_keys, quoted_list};
use std::time::Duration;

/// A phase's `rate`: records per second, a ramp `{ from, to }` or `"max"`.
pub(super) fn parse_rate(v: &toml::Value) -> Result<Rate, String> {
    if v.as_str() == Some("max") {
        return Ok(Rate::MAX);
    }
    let positive = |v: &toml::Value, what: &str| -> Result<f64, String> {
        let r = match v {
            toml::Value::Integer(n) => *n as f64,
            toml::Value::Float(f) => *f,
            toml::Value::String(s) if s == "max" => {
                return Err(format!(
                    "{what} cannot be \"max\" in a ramp; use rate = \"max\" for the whole phase"
                ));
            }
            _ => {
                return Err(format!(
                    "{what} must be a number of records per second (or \"max\" for the whole phase)"
                ));
            }
        };
        check_rate(r, what)
    };
    match v {
        toml::Value::Table(t) => {
            check_table_keys(t, &["from", "to"])?;
            let from = positive(
                t.get("from")
                    .ok_or("a ramp needs `from`, e.g. { from = 100, to = 1000 }")?,
                "`from`",
            )?;
            let to = positive(
                t.get("to")
                    .ok_or("a ramp needs `to`, e.g. { from = 100, to = 1000 }")?,
                "`to`",
            )?;
            Ok(Rate { from, to })
        }
        other => positive(other, "the rate").map(|r| Rate { from: r, to: r }),
    }
}

/// A rate of records per second, from a file's `rate` or the `--rate` flag (`what` names it):
/// greater than 0 and at most [`MAX_RATE`].
pub fn check_rate(r: f64, what: &str) -> Result<f64, String> {
    if r > MAX_RATE {
        Err(format!(
            "{what} is {}; kbench offers at most {MAX_RATE} records per second",
            show_number(r)
        ))
    } else if r > 0.0 && r.is_finite() {
        Ok(r)
    } else {
        Err(format!(
            "{what} is {}; rates must be greater than 0 records per second",
            show_number(r)
        ))
    }
}

/// A number as written, in scientific notation when plain digits would run long (1e308).
pub fn show_number(v: f64) -> String {
    if v != 0.0 && v.is_finite() && !(1e-4..1e15).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// A byte count such as "5MiB" or a number of bytes.
pub(super) fn size_value(v: &toml::Value) -> Result<u64, String> {
    match v {
        toml::Value::String(s) => parse_size(s),
        toml::Value::Integer(n) if *n >= 0 => Ok(*n as u64),
        _ => Err("expected a size such as \"5MiB\" or a number of bytes".into()),
    }
}

/// `api = "put_records"` or a list of distinct variants.
pub(super) fn parse_apis(v: &toml::Value) -> Result<Vec<Api>, String> {
    let names: Vec<&str> = Api::ALL.iter().map(|a| a.name()).collect();
    match v {
        toml::Value::String(s) => Api::parse(s).map(|a| vec![a]),
        toml::Value::Array(items) if items.is_empty() => Err(format!(
            "the list of API variants is empty; name at least one of {}",
            quoted_list(&names)
        )),
        toml::Value::Array(items) => {
            let mut apis = Vec::new();
            for item in items {
                let Some(name) = item.as_str() else {
                    return Err(format!(
                        "`{item}` is not an API name; use {}",
                        quoted_list(&names)
                    ));
                };
                let api = Api::parse(name)?;
                if apis.contains(&api) {
                    return Err(format!("\"{api}\" is listed twice; list each variant once"));
                }
                apis.push(api);
            }
            Ok(apis)
        }
        _ => Err(format!(
            "expected an API name or a list of them, e.g. api = [\"put_record\", \"put_records\"]; the names are {}",
            quoted_list(&names)
        )),
    }
}

/// `n` when it lies in `lo..=hi`; else an error saying what `what` must be.
pub(super) fn in_range(n: i64, lo: i64, hi: i64, what: &str) -> Result<i64, String> {
    if (lo..=hi).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} is out of range: {what} must be {lo} to {hi}"))
    }
}

/// Stream names: 1-128 letters, digits, `_`, `.` or `-`.
pub fn check_stream_name(s: &str) -> Result<(), String> {
    let ok_chars = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if (1..=128).contains(&s.len()) && ok_chars {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a valid stream name: use 1-128 letters, digits, `_`, `.` or `-`"
        ))
    }
}

/// Scenario names: they name the report directory `<name>-<UTC time>` under `--out`, so a name
/// is one folder name: not empty, at most [`MAX_NAME_BYTES`] bytes and [`check_folder_name`].
pub fn check_scenario_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        Err(format!("the name is empty; {NAME_FIX}"))
    } else if name.len() > MAX_NAME_BYTES {
        Err(format!(
            "the name is {} bytes long; it names the report directory, so use at most {MAX_NAME_BYTES} bytes",
            name.len()
        ))
    } else {
        check_folder_name(name)
    }
}

const NAME_FIX: &str =
    "give the scenario a short name such as \"burst\" (letters, digits, `-`, `_` and `.` are safe)";

/// What a name that becomes a folder under `--out` may not hold: a path separator (`/`, `\`),
/// `..` or a control character (line breaks, tabs).
pub fn check_folder_name(name: &str) -> Result<(), String> {
    let shown = name.escape_debug();
    if let Some(c) = name
        .chars()
        .find(|&c| c == '/' || c == '\\' || c.is_control())
    {
        let what = match c {
            '/' | '\\' => format!("the path separator `{c}`"),
            c => format!("the control character {}", c.escape_debug()),
        };
        Err(format!(
            "\"{shown}\" holds {what}: the name becomes a folder under --out and may hold no path separator or control character; {NAME_FIX}"
        ))
    } else if name.contains("..") {
        Err(format!(
            "\"{shown}\" holds `..`: the name becomes a folder under --out and may not point to its parent; {NAME_FIX}"
        ))
    } else {
        Ok(())
    }
}

/// A duration written for `key`, within `bound`: the error says the bound and why.
pub(super) fn check_duration(
    text: &str,
    key: &str,
    bound: &DurationBound,
) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    let (min, max) = (format_duration(bound.min), format_duration(bound.max));
    if d < bound.min {
        Err(format!(
            "`{text}` is below what `{key}` takes: use {min} to {max} ({})",
            bound.why
        ))
    } else if d > bound.max {
        Err(format!(
            "`{text}` is longer than `{key}` takes: use at most {max} ({})",
            bound.why
        ))
    } else {
        Ok(d)
    }
}
