//! The value parsers of the command line's flags: each checks one flag's text and says how to
//! write it when it is wrong.

use crate::scenario::overrides::RateOverride;
use crate::scenario::{self, Endpoint, units};
use std::time::Duration;

pub(super) fn parse_precision(s: &str) -> Result<f64, String> {
    match s.trim_end_matches('%').trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 50.0 => Ok(v / 100.0),
        _ => Err(format!(
            "`{s}`: give a percentage above 0% and at most 50%, e.g. 2%"
        )),
    }
}

pub(super) fn parse_price(s: &str) -> Result<f64, String> {
    match s.trim_start_matches('$').parse::<f64>() {
        Ok(v) if v >= 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("`{s}`: give a price in US dollars, e.g. 0.015")),
    }
}

pub(super) fn parse_positive_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("`{s}`: give a number greater than 0")),
    }
}

/// Records per second: above 0, at most the most kbench offers.
pub(super) fn parse_records_rate(s: &str) -> Result<f64, String> {
    let max = crate::scenario::limits::MAX_RATE;
    match parse_positive_rate(s)? {
        v if v <= max => Ok(v),
        _ => Err(format!(
            "`{s}`: rates go up to {} records/s",
            crate::report::html::count(max as u64)
        )),
    }
}

pub(super) fn parse_record_size(s: &str) -> Result<u64, String> {
    match units::parse_size(s)? {
        0 => Err(format!("`{s}`: a record has at least 1 byte")),
        n if n > crate::scenario::limits::MAX_RECORD_BYTES => Err(format!(
            "`{s}`: a Kinesis record holds at most 1 MiB (data and partition key)"
        )),
        n => Ok(n),
    }
}

/// `20%`, `20` or `0.2`-free: a percentage from 0 to 1000, as a fraction.
pub(super) fn parse_headroom(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim_end_matches('%')
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage; use e.g. 20%"))?;
    if (0.0..=1000.0).contains(&v) {
        Ok(v / 100.0)
    } else {
        Err(format!("`{s}`: headroom goes from 0% to 1000%"))
    }
}

pub(super) fn parse_size_arg(s: &str) -> Result<u64, String> {
    units::parse_size(s)
}

pub(super) fn parse_duration_arg(s: &str) -> Result<Duration, String> {
    let d = units::parse_duration(s)?;
    if d.is_zero() {
        Err("the duration must be longer than 0s".into())
    } else {
        Ok(d)
    }
}

pub(super) fn parse_stream_arg(s: &str) -> Result<String, String> {
    scenario::validate::check_stream_name(s).map(|_| s.to_string())
}

pub(super) fn parse_shards_arg(s: &str) -> Result<u32, String> {
    let max = crate::scenario::limits::MAX_SHARDS;
    match s.parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("`{s}`: give a number of shards from 1 to {max}")),
    }
}

pub(super) fn parse_endpoint_arg(s: &str) -> Result<Endpoint, String> {
    Endpoint::parse(s)
}

pub(super) fn parse_rate_arg(s: &str) -> Result<RateOverride, String> {
    RateOverride::parse(s)
}

/// Seeds as a scenario file can write them (TOML integers): 0 to 2^63 - 1, so that the effective
/// scenario a report records reads back.
pub(super) fn parse_seed_arg(s: &str) -> Result<u64, String> {
    match s.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(n as u64),
        _ => Err(format!(
            "`{s}`: give a seed from 0 to {}, as `seed` in a scenario file takes",
            i64::MAX
        )),
    }
}
