//! `[target.faults]`: the faults the embedded endpoint injects, as a scenario (or the file of
//! `kbench serve --faults`) describes them, and their validation.
//!
//! Faults are plain data here; the endpoint's `faults` layer (src/endpoint/embedded/faults.rs)
//! injects them. Only the embedded endpoint (and `kbench serve`) can: kbench cannot make real
//! Kinesis or another endpoint fail, so a scenario with faults on any other endpoint is refused.
//!
//! Times (`stall`, `outage`) count from the fault clock, which starts at the first data-plane
//! request the endpoint serves ([`DATA_PLANE`], GetShardIterator included): in a run, when the
//! consumer takes its iterators just before the first record (or the first put, without a
//! consumer), so the times are the run's own to within a fraction of a second.

use super::model::S;
use super::units::{self, parse_duration};
use super::validate::{Issue, ScenarioError, line_col};
use super::{Endpoint, check_table_keys, find_named, quoted_list, suggest};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

/// The `[target.faults]` table as written: every value kept with its span, checked by [`check`].
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawFaults {
    pub seed: Option<S<i64>>,
    pub errors: Option<S<toml::Value>>,
    pub partial_failure_rate: Option<S<toml::Value>>,
    pub latency: Option<S<toml::Value>>,
    pub stall: Option<S<toml::Value>>,
    pub reset_rate: Option<S<toml::Value>>,
    pub outage: Option<S<toml::Value>>,
}

/// The faults to inject, validated.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Faults {
    /// Seeds the endpoint's one random generator: the same seed makes the same sequence of
    /// draws (which request gets which draw depends on the order requests arrive in).
    pub seed: u64,
    /// Calls failed whole, each with its operation's rate.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorRule>,
    /// Fraction of the entries of a PutRecords that fail (half throttled, half
    /// InternalFailure) while the rest are stored.
    pub partial_failure_rate: f64,
    /// Delay added before a call is served; the first rule matching the operation applies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub latency: Vec<LatencyRule>,
    /// Every request held while a stall lasts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stall: Option<Stall>,
    /// Fraction of calls served whose response is lost: the connection is dropped instead.
    pub reset_rate: f64,
    /// Windows in which the endpoint is unreachable.
    #[serde(rename = "outage", skip_serializing_if = "Vec::is_empty")]
    pub outages: Vec<Outage>,
}

/// The calls `operation = "*"` stands for: those a run makes over and over and retries. Stream
/// set-up calls (CreateStream, DescribeStreamSummary, ListShards, tags) are faulted only when
/// named, since a run does not retry them. GetShardIterator starts the fault clock but is in no
/// rule unless named: the consumer takes its iterators once.
pub const DATA_PLANE: [&str; 3] = ["PutRecord", "PutRecords", "GetRecords"];

/// The Kinesis operations a rule may name.
const OPERATIONS: [&str; 39] = [
    "AddTagsToStream",
    "CreateStream",
    "DecreaseStreamRetentionPeriod",
    "DeleteResourcePolicy",
    "DeleteStream",
    "DeregisterStreamConsumer",
    "DescribeAccountSettings",
    "DescribeLimits",
    "DescribeStream",
    "DescribeStreamConsumer",
    "DescribeStreamSummary",
    "DisableEnhancedMonitoring",
    "EnableEnhancedMonitoring",
    "GetRecords",
    "GetResourcePolicy",
    "GetShardIterator",
    "IncreaseStreamRetentionPeriod",
    "ListShards",
    "ListStreamConsumers",
    "ListStreams",
    "ListTagsForResource",
    "ListTagsForStream",
    "MergeShards",
    "PutRecord",
    "PutRecords",
    "PutResourcePolicy",
    "RegisterStreamConsumer",
    "RemoveTagsFromStream",
    "SplitShard",
    "StartStreamEncryption",
    "StopStreamEncryption",
    "SubscribeToShard",
    "TagResource",
    "UntagResource",
    "UpdateAccountSettings",
    "UpdateMaxRecordSize",
    "UpdateShardCount",
    "UpdateStreamMode",
    "UpdateStreamWarmThroughput",
];

/// Whether a rule for `pattern` ("*" or an operation's name) applies to a call of `operation`.
pub fn applies(pattern: &str, operation: &str) -> bool {
    pattern == operation || (pattern == "*" && DATA_PLANE.contains(&operation))
}

/// The error a faulted call gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ErrorCode {
    /// HTTP 500: a server fault, retryable.
    InternalFailure,
    /// HTTP 503: the service is unavailable, retryable.
    ServiceUnavailable,
    /// HTTP 400: throttled beyond the real limits.
    ProvisionedThroughputExceededException,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 3] = [
        ErrorCode::InternalFailure,
        ErrorCode::ServiceUnavailable,
        ErrorCode::ProvisionedThroughputExceededException,
    ];

    /// The code as Kinesis sends it (`__type`, `x-amzn-errortype`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::InternalFailure => "InternalFailure",
            ErrorCode::ServiceUnavailable => "ServiceUnavailable",
            ErrorCode::ProvisionedThroughputExceededException => {
                "ProvisionedThroughputExceededException"
            }
        }
    }

    /// The HTTP status Kinesis answers it with.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InternalFailure => 500,
            ErrorCode::ServiceUnavailable => 503,
            ErrorCode::ProvisionedThroughputExceededException => 400,
        }
    }
}

/// `{ operation = "PutRecords", code = "InternalFailure", rate = 0.01 }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorRule {
    /// An operation's name, or "*" for [`DATA_PLANE`].
    pub operation: String,
    pub code: ErrorCode,
    /// Fraction of the operation's calls, 0 to 1.
    pub rate: f64,
}

/// A delay added to the calls of `operation`.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyRule {
    /// An operation's name, or "*" for [`DATA_PLANE`].
    pub operation: String,
    pub delay: Delay,
}

/// How long an added delay is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Delay {
    Fixed(Duration),
    Exponential {
        mean: Duration,
    },
    Uniform {
        min: Duration,
        max: Duration,
    },
    /// The delay's logarithm is normal: `median` is e^mu.
    Lognormal {
        median: Duration,
        sigma: f64,
    },
}

/// The longest one added delay is (a lognormal or exponential tail is cut there).
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// `{ every = "10s", for = "1s" }`: from `every` after the clock starts, and every `every`
/// after that, requests are held for `length`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stall {
    #[serde(serialize_with = "units::ser::duration")]
    pub every: Duration,
    #[serde(rename = "for", serialize_with = "units::ser::duration")]
    pub length: Duration,
}

/// `{ from = "5s", to = "9s" }`: the endpoint drops every connection that sends a request
/// from `from` to `to` on the fault clock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Outage {
    #[serde(serialize_with = "units::ser::duration")]
    pub from: Duration,
    #[serde(serialize_with = "units::ser::duration")]
    pub to: Duration,
}

impl Faults {
    /// Whether `at` on the fault clock is in an outage.
    pub fn in_outage(&self, at: Duration) -> bool {
        self.outages.iter().any(|o| o.from <= at && at < o.to)
    }

    /// When the stall `at` is in ends (None when `at` is in none), and the stall's number.
    pub fn stalled_until(&self, at: Duration) -> Option<(Duration, u64)> {
        let stall = self.stall?;
        let every = stall.every.as_nanos();
        let n = at.as_nanos() / every;
        let start = Duration::from_nanos(u64::try_from(n * every).ok()?);
        (n > 0 && at < start + stall.length).then(|| (start + stall.length, n as u64))
    }
}

impl Serialize for LatencyRule {
    fn serialize<Ser: serde::Serializer>(&self, s: Ser) -> Result<Ser::Ok, Ser::Error> {
        use serde::ser::SerializeMap;
        let d = units::format_duration;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("operation", &self.operation)?;
        match self.delay {
            Delay::Fixed(value) => {
                m.serialize_entry("dist", "fixed")?;
                m.serialize_entry("value", &d(value))?;
            }
            Delay::Exponential { mean } => {
                m.serialize_entry("dist", "exponential")?;
                m.serialize_entry("mean", &d(mean))?;
            }
            Delay::Uniform { min, max } => {
                m.serialize_entry("dist", "uniform")?;
                m.serialize_entry("min", &d(min))?;
                m.serialize_entry("max", &d(max))?;
            }
            Delay::Lognormal { median, sigma } => {
                m.serialize_entry("dist", "lognormal")?;
                m.serialize_entry("median", &d(median))?;
                m.serialize_entry("sigma", &sigma)?;
            }
        }
        m.end()
    }
}

/// One problem in a faults table: where, under which key (below the table), what.
pub struct Problem {
    pub span: Range<usize>,
    pub key: String,
    pub message: String,
}

/// Checks `[target.faults]` of a scenario whose target is `endpoint`, calling `problem` for each
/// problem (with the full dotted key); `seed` is the scenario's, used unless the table has one.
pub fn check_scenario(
    raw: Option<&S<RawFaults>>,
    endpoint: &Endpoint,
    seed: u64,
    mut problem: impl FnMut(Range<usize>, &str, String),
) -> Option<Faults> {
    let raw = raw?;
    if *endpoint != Endpoint::Embedded {
        problem(
            raw.span(),
            "target.faults",
            format!(
                "kbench injects faults only into the embedded endpoint, and the target is {endpoint}; remove [target.faults], or run `kbench serve --faults FILE` and point `endpoint` at it"
            ),
        );
        return None;
    }
    let (faults, problems) = check(raw.get_ref(), seed);
    for p in problems {
        problem(p.span, &format!("target.faults.{}", p.key), p.message);
    }
    Some(faults)
}

/// Reads and checks the faults file of `kbench serve --faults` (the content of a
/// `[target.faults]` table, at the top level); the seed defaults to 1, a scenario's default.
pub fn load(path: &Path) -> Result<Faults, ScenarioError> {
    let file = super::display_path(path);
    let text = std::fs::read_to_string(path).map_err(|error| ScenarioError::Read {
        path: file.clone(),
        error,
    })?;
    let issue = |span: Range<usize>, key: String, message: String| {
        let (line, col) = line_col(&text, span.start);
        Issue {
            line,
            col,
            key,
            message,
        }
    };
    let raw: RawFaults = toml::from_str(&text).map_err(|e| ScenarioError::Invalid {
        file: file.clone(),
        issues: vec![issue(
            e.span().unwrap_or(0..0),
            "(faults)".into(),
            e.message().trim().to_string(),
        )],
    })?;
    let (faults, problems) = check(&raw, 1);
    if problems.is_empty() {
        Ok(faults)
    } else {
        let issues = problems
            .into_iter()
            .map(|p| issue(p.span, p.key, p.message))
            .collect();
        Err(ScenarioError::Invalid { file, issues })
    }
}

/// Checks a faults table; the faults are defaulted where a value is missing or wrong.
pub fn check(raw: &RawFaults, default_seed: u64) -> (Faults, Vec<Problem>) {
    let mut p = Vec::new();
    let seed = match &raw.seed {
        None => default_seed,
        Some(s) => u64::try_from(*s.get_ref()).unwrap_or_else(|_| {
            p.push(Problem {
                span: s.span(),
                key: "seed".into(),
                message: format!("{} is negative; use a seed of 0 or more", s.get_ref()),
            });
            default_seed
        }),
    };
    let faults = Faults {
        seed,
        errors: field(&raw.errors, "errors", &mut p, errors),
        partial_failure_rate: field(
            &raw.partial_failure_rate,
            "partial_failure_rate",
            &mut p,
            |v| rate(v).map_err(whole),
        ),
        latency: field(&raw.latency, "latency", &mut p, |v| list(v, latency_rule)),
        stall: field(&raw.stall, "stall", &mut p, |v| {
            stall(v).map(Some).map_err(whole)
        }),
        reset_rate: field(&raw.reset_rate, "reset_rate", &mut p, |v| {
            rate(v).map_err(whole)
        }),
        outages: field(&raw.outage, "outage", &mut p, |v| list(v, outage)),
    };
    (faults, p)
}

/// Reads `value` (under `key`) with `read`, recording a problem in `problems`; the default when
/// it is absent or wrong.
fn field<T: Default>(
    value: &Option<S<toml::Value>>,
    key: &str,
    problems: &mut Vec<Problem>,
    read: impl FnOnce(&toml::Value) -> Result<T, Bad>,
) -> T {
    let Some(v) = value else {
        return T::default();
    };
    read(v.get_ref()).unwrap_or_else(|(suffix, message)| {
        problems.push(Problem {
            span: v.span(),
            key: format!("{key}{suffix}"),
            message,
        });
        T::default()
    })
}

/// A problem inside a value: the key below the value's own (`[2].rate`, or "") and the message.
type Bad = (String, String);

fn whole(message: String) -> Bad {
    (String::new(), message)
}

/// A table, or a list of tables, each read by `read`.
fn list<T>(
    value: &toml::Value,
    read: fn(&toml::Value) -> Result<T, String>,
) -> Result<Vec<T>, Bad> {
    match value {
        toml::Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| read(v).map_err(|m| (format!("[{}]", i + 1), m)))
            .collect(),
        one => Ok(vec![read(one).map_err(whole)?]),
    }
}

fn errors(value: &toml::Value) -> Result<Vec<ErrorRule>, Bad> {
    let rules = list(value, error_rule)?;
    for operation in OPERATIONS {
        let sum: f64 = rules
            .iter()
            .filter(|r| applies(&r.operation, operation))
            .map(|r| r.rate)
            .sum();
        if sum > 1.0 {
            return Err(whole(format!(
                "the error rates of {operation} add up to {sum}; together they can be at most 1"
            )));
        }
    }
    Ok(rules)
}

fn error_rule(value: &toml::Value) -> Result<ErrorRule, String> {
    let t = table(
        value,
        "{ operation = \"PutRecords\", code = \"InternalFailure\", rate = 0.01 }",
    )?;
    check_table_keys(t, &["operation", "code", "rate"])?;
    let code = match t.get("code").and_then(toml::Value::as_str) {
        Some(c) => find_named(&ErrorCode::ALL, ErrorCode::name, c, "error code")
            .map_err(|e| format!("`code`: {e}"))?,
        None => {
            let names = ErrorCode::ALL.map(ErrorCode::name);
            return Err(format!("missing `code`: one of {}", quoted_list(&names)));
        }
    };
    let rate = rate(
        t.get("rate")
            .ok_or("missing `rate`: the fraction of calls, e.g. 0.01")?,
    )
    .map_err(|e| format!("`rate`: {e}"))?;
    Ok(ErrorRule {
        operation: operation(t)?,
        code,
        rate,
    })
}

fn latency_rule(value: &toml::Value) -> Result<LatencyRule, String> {
    let t = match value {
        toml::Value::String(s) => {
            return Ok(LatencyRule {
                operation: "*".into(),
                delay: Delay::Fixed(delay(s)?),
            });
        }
        v => table(v, "\"20ms\" or { dist = \"exponential\", mean = \"20ms\" }")?,
    };
    let dist = t
        .get("dist")
        .and_then(toml::Value::as_str)
        .ok_or("missing `dist`: \"fixed\", \"exponential\", \"uniform\" or \"lognormal\"")?;
    let time = |key: &str| -> Result<Duration, String> {
        let text = t.get(key).and_then(toml::Value::as_str).ok_or_else(|| {
            format!("missing `{key}` for dist = \"{dist}\", e.g. {key} = \"20ms\"")
        })?;
        delay(text).map_err(|e| format!("`{key}`: {e}"))
    };
    let keys = |more: &[&str]| {
        let mut known = vec!["operation", "dist"];
        known.extend(more);
        check_table_keys(t, &known)
    };
    let delay = match dist {
        "fixed" => {
            keys(&["value"])?;
            Delay::Fixed(time("value")?)
        }
        "exponential" => {
            keys(&["mean"])?;
            Delay::Exponential {
                mean: time("mean")?,
            }
        }
        "uniform" => {
            keys(&["min", "max"])?;
            let (min, max) = (time("min")?, time("max")?);
            if min > max {
                return Err(format!(
                    "`min` ({}) is above `max` ({}); swap them",
                    units::format_duration(min),
                    units::format_duration(max)
                ));
            }
            Delay::Uniform { min, max }
        }
        "lognormal" => {
            keys(&["median", "sigma"])?;
            let median = time("median")?;
            let sigma = match t.get("sigma") {
                Some(toml::Value::Float(f)) => *f,
                Some(toml::Value::Integer(i)) => *i as f64,
                _ => {
                    return Err("missing `sigma`: a number greater than 0, e.g. sigma = 0.5".into());
                }
            };
            if median.is_zero() || !(sigma > 0.0 && sigma.is_finite()) {
                return Err(
                    "a lognormal delay needs a `median` over 0s and a `sigma` greater than 0"
                        .into(),
                );
            }
            Delay::Lognormal { median, sigma }
        }
        other => {
            let known = ["fixed", "exponential", "uniform", "lognormal"];
            return Err(format!(
                "unknown dist `{other}`{}; use {}",
                suggest(other, &known),
                quoted_list(&known)
            ));
        }
    };
    Ok(LatencyRule {
        operation: operation(t)?,
        delay,
    })
}

fn stall(value: &toml::Value) -> Result<Stall, String> {
    let t = table(value, "{ every = \"10s\", for = \"1s\" }")?;
    check_table_keys(t, &["every", "for"])?;
    let every = time_in(t, "every")?;
    let length = time_in(t, "for")?;
    if length.is_zero() || length >= every {
        return Err(format!(
            "a stall of {} every {}: `for` must be over 0s and shorter than `every`",
            units::format_duration(length),
            units::format_duration(every)
        ));
    }
    Ok(Stall { every, length })
}

fn outage(value: &toml::Value) -> Result<Outage, String> {
    let t = table(value, "{ from = \"5s\", to = \"9s\" }")?;
    check_table_keys(t, &["from", "to"])?;
    let (from, to) = (time_in(t, "from")?, time_in(t, "to")?);
    if to <= from {
        return Err(format!(
            "an outage from {} to {}: `to` must come after `from`",
            units::format_duration(from),
            units::format_duration(to)
        ));
    }
    Ok(Outage { from, to })
}

fn table<'a>(value: &'a toml::Value, example: &str) -> Result<&'a toml::Table, String> {
    value
        .as_table()
        .ok_or_else(|| format!("expected a table such as {example}"))
}

/// The duration under `key` of `t`, which must be there.
fn time_in(t: &toml::Table, key: &str) -> Result<Duration, String> {
    let text = t
        .get(key)
        .and_then(toml::Value::as_str)
        .ok_or_else(|| format!("missing `{key}`: a duration such as \"1s\""))?;
    parse_duration(text).map_err(|e| format!("`{key}`: {e}"))
}

/// A delay: a duration of at most [`MAX_DELAY`].
fn delay(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d > MAX_DELAY {
        return Err(format!(
            "`{text}` is longer than the 1m an added delay may be"
        ));
    }
    Ok(d)
}

/// A fraction from 0 to 1, written as a number.
fn rate(value: &toml::Value) -> Result<f64, String> {
    let r = match value {
        toml::Value::Float(f) => *f,
        toml::Value::Integer(i) => *i as f64,
        _ => return Err("expected a number from 0 to 1, e.g. 0.01".into()),
    };
    if (0.0..=1.0).contains(&r) {
        Ok(r)
    } else {
        Err(format!(
            "{r} is not a fraction; use a number from 0 to 1, e.g. 0.01 for 1%"
        ))
    }
}

/// The rule's `operation`: "*" when not given, else an operation's name.
fn operation(t: &toml::Table) -> Result<String, String> {
    let Some(v) = t.get("operation") else {
        return Ok("*".into());
    };
    let name = v
        .as_str()
        .ok_or("`operation` must be an operation's name such as \"PutRecords\", or \"*\"")?;
    if name == "*" || OPERATIONS.contains(&name) {
        Ok(name.to_string())
    } else {
        Err(format!(
            "`operation`: `{name}` is not a Kinesis operation{}; name one such as \"PutRecords\", or \"*\" for {}",
            suggest(name, &OPERATIONS),
            DATA_PLANE.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests;
