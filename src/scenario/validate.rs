//! Raw scenario -> validated [`Scenario`], with errors that name file, line, column and key.
//!
//! Every check runs before any network I/O. All problems in a file are reported together, each
//! saying what is wrong and how to fix it.

mod consumers;
mod delivery;
mod phases;
mod position;
mod values;

use super::limits::*;
use super::model::{RawScenario, S};
use super::units::decimal_size_note;
use super::*;
use position::key_at;
pub(crate) use position::line_col;
use std::ops::Range;
use std::path::Path;
use values::{check_duration, in_range, parse_apis, size_value};
pub use values::{
    check_folder_name, check_rate, check_scenario_name, check_stream_name, show_number,
};

/// One problem in a scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub line: usize,
    pub col: usize,
    /// Dotted TOML key, e.g. `producer.batch_max_records` or `phase[2].rate`.
    pub key: String,
    pub message: String,
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The OS error is part of the message and not a `source`: printed as a chain (`{:#}`)
    /// it would be said twice.
    #[error("cannot read scenario file `{path}`: {error}; check the path and its permissions")]
    Read { path: String, error: std::io::Error },
    #[error("{}", render(.file, .issues))]
    Invalid { file: String, issues: Vec<Issue> },
}

fn render(file: &str, issues: &[Issue]) -> String {
    issues
        .iter()
        .map(|i| format!("{file}:{}:{}: `{}`: {}", i.line, i.col, i.key, i.message))
        .collect::<Vec<_>>()
        // the caller prints the first "error: "; every further problem gets its own
        .join("\nerror: ")
}

/// Reads and validates a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with_notes(path).map(|(scenario, _)| scenario)
}

/// Reads and validates a scenario file, with the notes on values it accepted that may not mean
/// what they seem (sizes in decimal units), each a line naming the file, the place and the key.
pub fn load_with_notes(path: &Path) -> Result<(Scenario, Vec<String>), ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|error| ScenarioError::Read {
        path: display_path(path),
        error,
    })?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("scenario");
    parse_with_notes(&text, &display_path(path), stem)
}

/// Validates scenario text; `file` names it in messages, `default_name` is used when it has no name.
pub fn parse(text: &str, file: &str, default_name: &str) -> Result<Scenario, ScenarioError> {
    parse_with_notes(text, file, default_name).map(|(scenario, _)| scenario)
}

/// [`parse`], with the notes of [`load_with_notes`].
pub fn parse_with_notes(
    text: &str,
    file: &str,
    default_name: &str,
) -> Result<(Scenario, Vec<String>), ScenarioError> {
    let mut v = Validator {
        src: text,
        issues: Vec::new(),
        notes: Vec::new(),
        base: Path::new(file)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    };
    let raw: RawScenario = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let message = explain_serde_message(e.message());
            v.push(span, None, message);
            return Err(v.into_error(file));
        }
    };
    let mut scenario = v.scenario(raw, default_name);
    scenario.file = file.to_string();
    if v.issues.is_empty() {
        v.notes.sort_by_key(|i| (i.line, i.col));
        let notes = v
            .notes
            .iter()
            .map(|i| format!("{file}:{}:{}: `{}`: {}", i.line, i.col, i.key, i.message))
            .collect();
        Ok((scenario, notes))
    } else {
        Err(v.into_error(file))
    }
}

/// Adds "did you mean" to serde's "unknown field `x`, expected one of `a`, `b`" messages.
fn explain_serde_message(message: &str) -> String {
    let message = message.trim().to_string();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let parts: Vec<&str> = rest.split('`').collect();
        let word = parts[0];
        let known: Vec<&str> = parts.iter().skip(2).step_by(2).copied().collect();
        let hint = suggest(word, &known);
        let hint = if hint.is_empty() {
            "; remove it or check the spelling".to_string()
        } else {
            hint
        };
        return format!("{message}{hint}");
    }
    message
}

struct Validator<'a> {
    src: &'a str,
    issues: Vec<Issue>,
    /// Values accepted that may not mean what they seem; printed, never fatal.
    notes: Vec<Issue>,
    /// Folder of the scenario file: relative paths in it start here.
    base: std::path::PathBuf,
}

impl Validator<'_> {
    fn into_error(mut self, file: &str) -> ScenarioError {
        self.issues.sort_by_key(|i| (i.line, i.col));
        ScenarioError::Invalid {
            file: file.to_string(),
            issues: self.issues,
        }
    }

    /// Records an issue at `span`; the key is `key` or, when None, the one written there.
    fn push(&mut self, span: Range<usize>, key: Option<&str>, message: impl Into<String>) {
        let (line, col) = line_col(self.src, span.start);
        let key = key
            .map(str::to_string)
            .unwrap_or_else(|| key_at(self.src, span.start));
        self.issues.push(Issue {
            line,
            col,
            key,
            message: message.into(),
        });
    }

    /// Checks an optional value with `check`, recording a failure; returns `default` if absent or bad.
    fn get<T, U>(
        &mut self,
        value: &Option<S<T>>,
        key: &str,
        default: U,
        check: impl FnOnce(&T) -> Result<U, String>,
    ) -> U {
        match value {
            None => default,
            Some(s) => match check(s.get_ref()) {
                Ok(u) => u,
                Err(msg) => {
                    self.push(s.span(), Some(key), msg);
                    default
                }
            },
        }
    }

    /// Notes every size in `value` (a size, or a table or list holding sizes) written in a
    /// decimal unit, under `key` and the keys and rows below it.
    fn note_decimal_sizes(&mut self, value: &Option<S<toml::Value>>, key: &str) {
        fn walk(v: &toml::Value, key: String, found: &mut Vec<(String, String)>) {
            match v {
                toml::Value::String(s) => {
                    if let Some(note) = decimal_size_note(s) {
                        found.push((key, note));
                    }
                }
                toml::Value::Table(t) => {
                    for (k, v) in t {
                        walk(v, format!("{key}.{k}"), found);
                    }
                }
                toml::Value::Array(items) => {
                    for (i, v) in items.iter().enumerate() {
                        walk(v, format!("{key}[{}]", i + 1), found);
                    }
                }
                _ => {}
            }
        }
        let Some(s) = value else { return };
        let mut found = Vec::new();
        walk(s.get_ref(), key.to_string(), &mut found);
        let (line, col) = line_col(self.src, s.span().start);
        for (key, message) in found {
            self.notes.push(Issue {
                line,
                col,
                key,
                message,
            });
        }
    }

    /// A duration within `bound`, the error naming the bound and its reason.
    fn duration(
        &mut self,
        value: &Option<S<String>>,
        key: &str,
        default: Duration,
        bound: &DurationBound,
    ) -> Duration {
        self.get(value, key, default, |s| check_duration(s, key, bound))
    }

    fn scenario(&mut self, raw: RawScenario, default_name: &str) -> Scenario {
        let name = match &raw.name {
            Some(_) => self.get(&raw.name, "name", default_name.to_string(), |n| {
                check_scenario_name(n).map(|_| n.clone())
            }),
            None => {
                if let Err(e) = check_scenario_name(default_name) {
                    self.push(0..0, Some("name"), format!("the scenario has no `name`, so it would be named after its file, and {e}; add e.g. name = \"burst\""));
                }
                default_name.to_string()
            }
        };
        let seed = self.get(&raw.seed, "seed", 1, |&s| {
            u64::try_from(s).map_err(|_| format!("{s} is negative; use a seed of 0 or more"))
        });

        let t = &raw.target;
        let endpoint = self.get(&t.endpoint, "target.endpoint", Endpoint::Embedded, |e| {
            Endpoint::parse(e)
        });
        let region = self.get(&t.region, "target.region", None, |r| Ok(Some(r.clone())));
        let stream = self.get(&t.stream, "target.stream", format!("kbench-{name}"), |s| {
            check_stream_name(s).map(|_| s.clone())
        });
        if t.stream.is_none()
            && check_scenario_name(&name).is_ok()
            && let Err(e) = check_stream_name(&stream)
        {
            let span = raw.name.as_ref().map_or(0..0, |n| n.span());
            self.push(span, Some("name"), format!("the stream defaults to `kbench-<name>`, and {e}; set `stream` under [target], or give the scenario a name of letters, digits, `_`, `.` and `-`"));
        }
        let shards = self.get(&t.shards, "target.shards", 1, |&n| {
            if (1..=MAX_SHARDS as i64).contains(&n) {
                Ok(n as u32)
            } else {
                Err(format!("{n} shards: use 1 to {MAX_SHARDS}"))
            }
        });
        self.get(&t.capacity, "target.capacity", (), |c| match c.as_str() {
            "provisioned" => Ok(()),
            "on_demand" => Err(
                "on-demand streams are not supported yet; use capacity = \"provisioned\"".into(),
            ),
            other => Err(format!(
                "unknown capacity mode `{other}`; use \"provisioned\""
            )),
        });
        let faults = faults::check_scenario(t.faults.as_ref(), &endpoint, seed, |span, key, m| {
            self.push(span, Some(key), m)
        });
        let target = Target {
            faults,
            endpoint,
            region,
            stream,
            shards,
            create: t.create.unwrap_or(true),
            delete_after: t.delete_after.unwrap_or(true),
        };

        let p = &raw.producer;
        let apis = self.get(&p.api, "producer.api", vec![Api::PutRecords], parse_apis);
        let in_flight = self.get(&p.in_flight, "producer.in_flight", 16, |&n| {
            in_range(n, 1, 1024, "concurrent requests").map(|n| n as usize)
        });
        let batch_max_records = self.get(
            &p.batch_max_records,
            "producer.batch_max_records",
            MAX_BATCH_RECORDS,
            |&n| {
                in_range(
                    n,
                    1,
                    MAX_BATCH_RECORDS as i64,
                    "records per PutRecords call (the service allows 1 to 500)",
                )
                .map(|n| n as usize)
            },
        );
        let batch_max_bytes = self.get(&p.batch_max_bytes, "producer.batch_max_bytes", MAX_BATCH_BYTES, |v| {
            let n = size_value(v)?;
            if n == 0 || n > MAX_BATCH_BYTES {
                Err(format!("{n} bytes per PutRecords call: use 1 byte to 5MiB (the PutRecords request limit)"))
            } else {
                Ok(n)
            }
        });
        self.note_decimal_sizes(&p.batch_max_bytes, "producer.batch_max_bytes");
        let linger = self.duration(
            &p.linger,
            "producer.linger",
            Duration::from_millis(20),
            &LINGER,
        );
        let arrival = self.get(
            &p.arrival,
            "producer.arrival",
            Arrival::Constant,
            |a| match a.as_str() {
                "constant" => Ok(Arrival::Constant),
                "poisson" => Ok(Arrival::Poisson),
                other => Err(format!(
                    "unknown arrival `{other}`{}; use \"constant\" or \"poisson\"",
                    suggest(other, &["constant", "poisson"])
                )),
            },
        );
        let max_attempts = self.get(&p.max_attempts, "producer.max_attempts", 5, |&n| {
            in_range(n, 1, 100, "attempts per record, the first included").map(|n| n as u32)
        });
        let backoff_raw = p.backoff.as_ref();
        let base = backoff_raw.map_or(Duration::from_millis(50), |b| {
            self.duration(
                &b.base,
                "producer.backoff.base",
                Duration::from_millis(50),
                &BACKOFF,
            )
        });
        // with no `max`, the cap is 2s or the base if that is longer
        let default_max = base.max(Duration::from_secs(2));
        let max = backoff_raw.map_or(default_max, |b| {
            self.duration(&b.max, "producer.backoff.max", default_max, &BACKOFF)
        });
        if base > max
            && let Some(m) = backoff_raw.and_then(|b| b.max.as_ref())
        {
            self.push(
                m.span(),
                Some("producer.backoff.max"),
                "the maximum backoff is below the base; make `max` at least `base`",
            );
        }
        let request_timeout = self.duration(
            &p.request_timeout,
            "producer.request_timeout",
            Duration::from_secs(10),
            &REQUEST_TIMEOUT,
        );

        let aggregated = apis.contains(&Api::PutRecordsAggregated);
        let aggregation = match &p.aggregation {
            Some(a) if !aggregated => {
                self.push(a.span(), Some("producer.aggregation"), format!(
                    "aggregation applies to the put_records_aggregated variant only, and `api` is {}; add \"put_records_aggregated\" to `api` or remove `aggregation`",
                    apis.iter().map(|a| format!("\"{a}\"")).collect::<Vec<_>>().join(", ")));
                None
            }
            raw_agg if aggregated => {
                let d = Aggregation::default();
                let raw_agg = raw_agg.as_ref().map(|a| a.get_ref());
                Some(Aggregation {
                    max_bytes: raw_agg.map_or(d.max_bytes, |a| {
                        self.get(&a.max_bytes, "producer.aggregation.max_bytes", d.max_bytes, |v| {
                            match size_value(v)? {
                                n if n < MIN_AGGREGATE_BYTES => Err(format!("an aggregate of {n} bytes has no room for its 20 bytes of framing and two records; use {MIN_AGGREGATE_BYTES}B or more (the KPL's minimum), e.g. \"50KiB\" (its default is 51200 bytes)")),
                                n => Ok(n),
                            }
                        })
                    }),
                    max_records: raw_agg.map_or(d.max_records, |a| {
                        self.get(&a.max_records, "producer.aggregation.max_records", d.max_records, |&n| {
                            in_range(n, 1, u32::MAX as i64, "user records per aggregate").map(|n| n as u32)
                        })
                    }),
                })
            }
            _ => None,
        };

        if let Some(a) = &p.aggregation {
            self.note_decimal_sizes(&a.get_ref().max_bytes, "producer.aggregation.max_bytes");
        }

        let r = &raw.records;
        self.note_decimal_sizes(&r.size, "records.size");
        let size = self.get(
            &r.size,
            "records.size",
            SizeDist::default(),
            SizeDist::from_toml,
        );
        let keys = self.get(
            &r.keys,
            "records.keys",
            KeyDist::default(),
            KeyDist::from_toml,
        );
        let folder = self.base.clone();
        let payload = self.get(&r.payload, "records.payload", Payload::default(), |v| {
            Payload::from_toml(v, &folder)
        });
        let payload_span = r.payload.as_ref().map(|s| s.span()).unwrap_or(0..0);
        if payload.sizes_itself()
            && let Some(s) = &r.size
        {
            self.push(s.span(), Some("records.size"), "a JSON payload decides its own record sizes; remove `size` (it applies to random payloads)");
        }
        if payload.keys_itself()
            && let Some(k) = &r.keys
        {
            self.push(k.span(), Some("records.keys"), "the payload's `key` field gives the partition keys; remove `keys`, or the payload's `key`");
        }
        if let Payload::Replay { records, .. } = &payload {
            let (key, data) = records.max_sizes();
            if (key + data + JSON_STAMP_LEN) as u64 > MAX_RECORD_BYTES {
                self.push(
                    payload_span.clone(),
                    Some("records.payload"),
                    "a replayed record plus its key and stamp exceeds the 1MiB record limit",
                );
            }
        }
        let size_span = r.size.as_ref().map(|s| s.span()).unwrap_or(0..0);
        if size.min() < STAMP_LEN as u64 {
            self.push(size_span.clone(), Some("records.size"), format!(
                "records of {} bytes cannot hold kbench's {STAMP_LEN}-byte stamp; use {STAMP_LEN}B or more", size.min()));
        }
        let key_len = keys.max_key_len();
        if key_len > MAX_PARTITION_KEY_CHARS {
            let span = r.keys.as_ref().map(|s| s.span()).unwrap_or(0..0);
            self.push(span, Some("records.keys"), format!("keys of up to {key_len} characters exceed the 256-character partition key limit"));
        }
        if size.max() > MAX_RECORD_BYTES - key_len as u64 {
            self.push(size_span.clone(), Some("records.size"), format!(
                "records of up to {} bytes plus a {key_len}-byte key exceed the 1MiB record limit (data + key); use at most {} bytes",
                size.max(), MAX_RECORD_BYTES - key_len as u64));
        } else if apis.iter().any(|a| a.batches()) && size.max() + key_len as u64 > batch_max_bytes
        {
            let span = p
                .batch_max_bytes
                .as_ref()
                .map(|s| s.span())
                .unwrap_or(size_span);
            self.push(span, Some("producer.batch_max_bytes"), format!(
                "a record of up to {} bytes plus key would never fit in a batch of {batch_max_bytes} bytes; raise batch_max_bytes",
                size.max()));
        }

        if let Some(agg) = &aggregation {
            let written = p
                .aggregation
                .as_ref()
                .and_then(|a| a.get_ref().max_bytes.as_ref().map(|m| m.span()));
            if agg.max_bytes + key_len as u64 > MAX_RECORD_BYTES {
                self.push(written.unwrap_or(0..0), Some("producer.aggregation.max_bytes"), format!(
                    "an aggregate is one Kinesis record: {} bytes plus a partition key of up to {key_len} bytes exceeds the 1MiB record limit (data + key); use at most {} bytes",
                    agg.max_bytes, MAX_RECORD_BYTES - key_len as u64));
            } else if agg.max_bytes + key_len as u64 > batch_max_bytes {
                // name the key the user wrote: the aggregate size, or else the batch size
                let message = format!(
                    "an aggregate of up to {} bytes plus its key would not fit in a PutRecords batch of {batch_max_bytes} bytes; lower producer.aggregation.max_bytes or raise producer.batch_max_bytes",
                    agg.max_bytes
                );
                match (written, p.batch_max_bytes.as_ref()) {
                    (Some(span), _) => {
                        self.push(span, Some("producer.aggregation.max_bytes"), message)
                    }
                    (None, Some(b)) => {
                        self.push(b.span(), Some("producer.batch_max_bytes"), message)
                    }
                    (None, None) => {
                        self.push(0..0, Some("producer.aggregation.max_bytes"), message)
                    }
                }
            }
        }

        let phases = self.phases(&raw.phase);
        if let Err(e) = replay_covers_phases(&payload, &phases) {
            self.push(payload_span, Some("records.payload"), e);
        }

        let consumers = self.consumers(&raw.consumer);
        let delivery = self.delivery(&raw.delivery, &target.stream);

        let s = &raw.slo;
        let pct = |key: &'static str| {
            move |&p: &f64| {
                if (0.0..=100.0).contains(&p) {
                    Ok(Some(p))
                } else {
                    Err(format!("{p} is not a percentage; `{key}` takes 0 to 100"))
                }
            }
        };
        let slo = Slo {
            put_p99: self.get(&s.put_p99, "slo.put_p99", None, |d| {
                check_duration(d, "slo.put_p99", &LATENCY_SLO).map(Some)
            }),
            e2e_p99: self.get(&s.e2e_p99, "slo.e2e_p99", None, |d| {
                check_duration(d, "slo.e2e_p99", &LATENCY_SLO).map(Some)
            }),
            max_throttled_pct: self.get(
                &s.max_throttled_pct,
                "slo.max_throttled_pct",
                None,
                pct("max_throttled_pct"),
            ),
            max_lost: self.get(&s.max_lost, "slo.max_lost", None, |&n| {
                u64::try_from(n)
                    .map(Some)
                    .map_err(|_| format!("{n} is negative; use 0 or more"))
            }),
            min_achieved_pct: self.get(
                &s.min_achieved_pct,
                "slo.min_achieved_pct",
                None,
                pct("min_achieved_pct"),
            ),
            delivery_p99: self.get(&s.delivery_p99, "slo.delivery_p99", None, |d| {
                check_duration(d, "slo.delivery_p99", &LATENCY_SLO).map(Some)
            }),
            max_delivery_lost: self.get(
                &s.max_delivery_lost,
                "slo.max_delivery_lost",
                None,
                |&n| {
                    u64::try_from(n)
                        .map(Some)
                        .map_err(|_| format!("{n} is negative; use 0 or more"))
                },
            ),
            max_delivery_duplicates_pct: self.get(
                &s.max_delivery_duplicates_pct,
                "slo.max_delivery_duplicates_pct",
                None,
                pct("max_delivery_duplicates_pct"),
            ),
        };
        if delivery.is_none() {
            for (set, key) in [
                (
                    s.delivery_p99.as_ref().map(|v| v.span()),
                    "slo.delivery_p99",
                ),
                (
                    s.max_delivery_lost.as_ref().map(|v| v.span()),
                    "slo.max_delivery_lost",
                ),
                (
                    s.max_delivery_duplicates_pct.as_ref().map(|v| v.span()),
                    "slo.max_delivery_duplicates_pct",
                ),
            ] {
                if let Some(span) = set {
                    self.push(span, Some(key), "needs a [delivery] table, and the scenario has none; add one (bucket = \"...\") or remove this SLO");
                }
            }
        }
        if consumers.is_empty() {
            for (set, key) in [
                (s.e2e_p99.as_ref().map(|v| v.span()), "slo.e2e_p99"),
                (s.max_lost.as_ref().map(|v| v.span()), "slo.max_lost"),
            ] {
                if let Some(span) = set {
                    self.push(span, Some(key), "needs a consumer, and the scenario has none; set `enabled = true` under [consumer], add a [[consumer]] table, or remove this SLO");
                }
            }
        }

        let interval = self.duration(
            &raw.report.interval,
            "report.interval",
            Duration::from_secs(1),
            &REPORT_INTERVAL,
        );

        Scenario {
            description: raw.description.clone().unwrap_or_default(),
            file: String::new(),
            name,
            seed,
            target,
            producer: Producer {
                apis,
                in_flight,
                batch_max_records,
                batch_max_bytes,
                linger,
                arrival,
                max_attempts,
                backoff: Backoff { base, max },
                request_timeout,
                aggregation,
            },
            records: Records {
                size,
                keys,
                payload,
            },
            phase: phases,
            consumers,
            delivery,
            slo,
            report: Report { interval },
        }
    }
}

#[cfg(test)]
mod tests;
