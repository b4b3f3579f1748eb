//! The consumers: one `[consumer]` table (the old form, one consumer) or `[[consumer]]` tables,
//! each checked on its own (kind, start, drain, polling settings, its own SLO overrides), then
//! together (unique names).

use super::Validator;
use super::values::check_duration;
use crate::scenario::limits::{DRAIN, GET_RECORDS_MAX_RECORDS, LATENCY_SLO, POLL_INTERVAL};
use crate::scenario::model::{RawConsumer, RawConsumers, S};
use crate::scenario::units::parse_duration;
use crate::scenario::{Consumer, ConsumerKind, ConsumerSlo, Start};
use std::ops::Range;
use std::time::Duration;

/// Longest consumer name: it goes into the registered EFO consumer's name
/// (`kbench-<run id>-<name>`, at most 128 characters on Kinesis) and into file names.
const MAX_NAME: usize = 64;

impl Validator<'_> {
    /// The consumers, in file order; none when `[consumer]` says `enabled = false` or the file
    /// has `consumer = []`. No `[consumer]` at all: one polling consumer, as before.
    pub(super) fn consumers(&mut self, raw: &Option<S<RawConsumers>>) -> Vec<Consumer> {
        let tables: Vec<(Option<usize>, &RawConsumer, Range<usize>)> = match raw {
            None => return vec![self.consumer(None, &RawConsumer::default())],
            Some(s) => match s.get_ref() {
                RawConsumers::One(c) => vec![(None, c, s.span())],
                RawConsumers::Many(list) => list
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (Some(i + 1), c.get_ref(), c.span()))
                    .collect(),
            },
        };
        let mut consumers: Vec<Consumer> = Vec::new();
        for (index, c, span) in tables {
            if c.enabled == Some(false) {
                continue;
            }
            let consumer = self.consumer(index, c);
            if consumers.iter().any(|o| o.name == consumer.name) {
                let span = c.name.as_ref().map_or(span, |n| n.span());
                self.push(
                    span,
                    Some(&key(index, "name")),
                    format!(
                        "another consumer is already called `{}`; consumer names must be unique, as the summary and report files go by them",
                        consumer.name
                    ),
                );
            }
            consumers.push(consumer);
        }
        consumers
    }

    /// One consumer; `index` is its place among `[[consumer]]` tables (None: `[consumer]`).
    fn consumer(&mut self, index: Option<usize>, c: &RawConsumer) -> Consumer {
        let key = |k: &str| key(index, k);
        let kind = self.get(&c.kind, &key("kind"), ConsumerKind::Polling, |k| {
            match k.as_str() {
                "polling" => Ok(ConsumerKind::Polling),
                // one thing, three spellings
                "efo" | "enhanced_fan_out" | "enhanced-fan-out" => Ok(ConsumerKind::Efo),
                other => Err(format!(
                    "unknown consumer kind `{other}`{}; use \"polling\" or \"efo\" (enhanced fan-out)",
                    crate::scenario::suggest(other, &["polling", "efo"])
                )),
            }
        });
        let name = match &c.name {
            None => format!("{}-{}", kind.name(), index.unwrap_or(1)),
            Some(n) => {
                let text = n.get_ref();
                if let Err(e) = check_consumer_name(text) {
                    self.push(n.span(), Some(&key("name")), e);
                }
                text.clone()
            }
        };
        let start = self.get(&c.start, &key("start"), Start::Latest, |s| {
            match s.as_str() {
                "latest" => Ok(Start::Latest),
                "trim_horizon" => Ok(Start::TrimHorizon),
                other => Err(format!(
                    "unknown start `{other}`{}; use \"latest\" or \"trim_horizon\"",
                    crate::scenario::suggest(other, &["latest", "trim_horizon"])
                )),
            }
        });
        let drain = self.duration(&c.drain, &key("drain"), Duration::from_secs(30), &DRAIN);
        let polling = kind == ConsumerKind::Polling;
        for (set, k) in [
            (c.poll_interval.as_ref().map(|v| v.span()), "poll_interval"),
            (c.max_records.as_ref().map(|v| v.span()), "max_records"),
        ] {
            if let (Some(at), false) = (set, polling) {
                self.push(
                    at,
                    Some(&key(k)),
                    "applies to polling consumers only: an enhanced fan-out consumer is pushed its records; remove it or use kind = \"polling\"",
                );
            }
        }
        let interval_key = key("poll_interval");
        let poll_interval = polling.then(|| {
            self.get(&c.poll_interval, &interval_key, POLL_INTERVAL.min, |s| {
                let d = parse_duration(s)?;
                if d < POLL_INTERVAL.min {
                    Err(format!(
                        "{s} would exceed GetRecords' 5 calls per second per shard; use 200ms or more"
                    ))
                } else {
                    check_duration(s, &interval_key, &POLL_INTERVAL)
                }
            })
        });
        let max_records = polling.then(|| {
            self.get(
                &c.max_records,
                &key("max_records"),
                GET_RECORDS_MAX_RECORDS as u32,
                |&n| match u32::try_from(n) {
                    Ok(n) if (1..=GET_RECORDS_MAX_RECORDS as u32).contains(&n) => Ok(n),
                    _ => Err(format!(
                        "{n} is not a GetRecords limit; use 1 to {GET_RECORDS_MAX_RECORDS} records per call"
                    )),
                },
            )
        });
        let slo = match &c.slo {
            None => ConsumerSlo::default(),
            Some(s) => ConsumerSlo {
                e2e_p99: self.get(&s.e2e_p99, &key("slo.e2e_p99"), None, |d| {
                    check_duration(d, "e2e_p99", &LATENCY_SLO).map(Some)
                }),
                max_lost: self.get(&s.max_lost, &key("slo.max_lost"), None, |&n| {
                    u64::try_from(n)
                        .map(Some)
                        .map_err(|_| format!("{n} is negative; use 0 or more"))
                }),
            },
        };
        Consumer {
            name,
            kind,
            start,
            drain,
            poll_interval,
            max_records,
            slo,
        }
    }
}

/// The dotted key of a consumer's field: `consumer.kind`, or `consumer[2].kind` among
/// `[[consumer]]` tables.
fn key(index: Option<usize>, field: &str) -> String {
    match index {
        None => format!("consumer.{field}"),
        Some(i) => format!("consumer[{i}].{field}"),
    }
}

/// A consumer name: 1 to 64 letters, digits, `_`, `.` or `-` (what Kinesis accepts in a stream
/// consumer's name, and safe in a file name).
pub fn check_consumer_name(name: &str) -> Result<(), String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if name.is_empty() || name.len() > MAX_NAME || !name.chars().all(ok) || name.starts_with('.') {
        Err(format!(
            "`{name}` is not a consumer name; use 1 to {MAX_NAME} letters, digits, `_`, `-` or `.` (not first), e.g. \"analytics\""
        ))
    } else {
        Ok(())
    }
}
