//! Scenario files: the raw TOML model, its validation into a [`Scenario`], the distributions a
//! scenario describes (keys, sizes, payloads) and Kinesis limits.
//!
//! Data flows one way: file text -> [`model::RawScenario`] (serde, unknown keys rejected) ->
//! [`validate::parse`] -> [`Scenario`], whose types make invalid states unrepresentable. A
//! scenario only describes: the workload samples records from it and imports this module, never
//! the other way round.

pub mod command;
pub mod faults;
pub mod keys;
pub mod limits;
pub mod model;
pub mod overrides;
pub mod payload;
pub mod replay;
pub mod sizes;
pub mod template;
pub mod units;
pub mod validate;

use keys::KeyDist;
use payload::Payload;
use serde::Serialize;
use sizes::SizeDist;
use std::path::Path;
use std::time::Duration;

pub use validate::{ScenarioError, load, load_with_notes, parse, parse_with_notes};

/// A validated scenario: every field checked and defaulted.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// The file it was read from, as given (the name `parse` was handed); not part of the
    /// scenario itself, so not serialised with it.
    #[serde(skip)]
    pub file: String,
    pub seed: u64,
    pub target: Target,
    pub producer: Producer,
    pub records: Records,
    pub phase: Vec<Phase>,
    /// The consumers reading the stream back, each verified on its own (none: nothing is read
    /// back). Written as `[[consumer]]` tables (`consumer = []` for none).
    #[serde(rename = "consumer")]
    pub consumers: Vec<Consumer>,
    /// `[delivery]`: the leg into S3, verified record by record (None: no delivery).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
    pub slo: Slo,
    pub report: Report,
}

/// Where records go.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    pub endpoint: Endpoint,
    /// None: the region from the AWS environment (aws) or us-east-1 (local endpoints).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub stream: String,
    pub shards: u32,
    pub create: bool,
    pub delete_after: bool,
    /// `[target.faults]`: what the embedded endpoint injects (None: nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faults: Option<faults::Faults>,
}

/// The Kinesis endpoint kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// ferrokinesis inside the kbench process.
    Embedded,
    /// Real Kinesis via the AWS credential chain.
    Aws,
    /// Any Kinesis-compatible URL.
    Url(String),
}

impl Endpoint {
    /// Reads "embedded", "aws" or an http(s) URL.
    pub fn parse(text: &str) -> Result<Endpoint, String> {
        match text {
            "embedded" => Ok(Endpoint::Embedded),
            "aws" => Ok(Endpoint::Aws),
            url if url.starts_with("http://") || url.starts_with("https://") => {
                Ok(Endpoint::Url(url.trim_end_matches('/').to_string()))
            }
            other => Err(format!(
                "`{other}` is not an endpoint; use \"embedded\", \"aws\" or a URL such as \"http://127.0.0.1:4567\""
            )),
        }
    }

    /// The kind, for reports: "embedded", "aws" or "url".
    pub fn kind(&self) -> &'static str {
        match self {
            Endpoint::Embedded => "embedded",
            Endpoint::Aws => "aws",
            Endpoint::Url(_) => "url",
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Url(url) => f.write_str(url),
            other => f.write_str(other.kind()),
        }
    }
}

impl Serialize for Endpoint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Which write API the producer uses: one variant of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// One PutRecord call per record.
    PutRecord,
    /// Batches of records per PutRecords call.
    PutRecords,
    /// User records packed into KPL-format aggregates (one per shard), sent with PutRecords.
    PutRecordsAggregated,
}

impl Api {
    /// Every variant, in the order the docs list them.
    pub const ALL: [Api; 3] = [Api::PutRecord, Api::PutRecords, Api::PutRecordsAggregated];

    /// The scenario-file name, e.g. "put_records".
    pub fn name(self) -> &'static str {
        match self {
            Api::PutRecord => "put_record",
            Api::PutRecords => "put_records",
            Api::PutRecordsAggregated => "put_records_aggregated",
        }
    }

    /// The Kinesis operation it calls: "PutRecord" or "PutRecords".
    pub fn operation(self) -> &'static str {
        match self {
            Api::PutRecord => "PutRecord",
            Api::PutRecords | Api::PutRecordsAggregated => "PutRecords",
        }
    }

    /// Reads a scenario-file name.
    pub fn parse(text: &str) -> Result<Api, String> {
        find_named(&Api::ALL, Api::name, text, "API")
    }

    /// Whether a call carries several Kinesis records.
    pub fn batches(self) -> bool {
        self != Api::PutRecord
    }
}

impl std::fmt::Display for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The one of `all` whose `name` is `text`, or an error naming it an unknown `what` with the
/// names it could be.
pub fn find_named<T: Copy>(
    all: &[T],
    name: fn(T) -> &'static str,
    text: &str,
    what: &str,
) -> Result<T, String> {
    let names: Vec<&str> = all.iter().map(|&t| name(t)).collect();
    all.iter()
        .copied()
        .find(|&t| name(t) == text)
        .ok_or_else(|| {
            format!(
                "unknown {what} `{text}`{}; use {}",
                suggest(text, &names),
                quoted_list(&names)
            )
        })
}

/// `"a", "b" or "c"`.
pub fn quoted_list(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.join(""),
    }
}

/// How `put_records_aggregated` packs user records (KPL defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Aggregation {
    /// Largest aggregate, magic and checksum included (KPL's AggregationMaxSize).
    #[serde(serialize_with = "units::ser::size")]
    pub max_bytes: u64,
    /// Most user records in one aggregate (KPL's AggregationMaxCount).
    pub max_records: u32,
}

impl Default for Aggregation {
    fn default() -> Aggregation {
        Aggregation {
            max_bytes: limits::KPL_AGGREGATION_MAX_BYTES,
            max_records: u32::MAX,
        }
    }
}

/// How records arrive in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrival {
    /// Evenly spaced at the phase's rate.
    Constant,
    /// A Poisson process at the phase's rate (exponential gaps), with the phase's record count
    /// kept exact.
    Poisson,
}

#[derive(Debug, Clone, Serialize)]
pub struct Producer {
    /// The API variants to run, in order, each on the same schedule (at least one).
    #[serde(rename = "api", serialize_with = "ser_apis")]
    pub apis: Vec<Api>,
    pub in_flight: usize,
    pub batch_max_records: usize,
    #[serde(serialize_with = "units::ser::size")]
    pub batch_max_bytes: u64,
    #[serde(serialize_with = "units::ser::duration")]
    pub linger: Duration,
    pub arrival: Arrival,
    pub max_attempts: u32,
    pub backoff: Backoff,
    /// A request with no answer after this long counts as failed (and is retried).
    #[serde(serialize_with = "units::ser::duration")]
    pub request_timeout: Duration,
    /// Present when `apis` includes `put_records_aggregated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<Aggregation>,
}

/// One variant as a plain string, several as a list: the form the file was written in.
fn ser_apis<S: serde::Serializer>(apis: &[Api], s: S) -> Result<S::Ok, S::Error> {
    match apis {
        [one] => one.serialize(s),
        many => many.serialize(s),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Backoff {
    #[serde(serialize_with = "units::ser::duration")]
    pub base: Duration,
    #[serde(serialize_with = "units::ser::duration")]
    pub max: Duration,
}

#[derive(Debug, Clone)]
pub struct Records {
    /// Used by random payloads only (JSON payloads size themselves).
    pub size: SizeDist,
    /// Used unless the payload names a key field.
    pub keys: KeyDist,
    pub payload: Payload,
}

impl Serialize for Records {
    /// Writes only what applies, so the effective scenario reads back as the same scenario.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("payload", &self.payload)?;
        if !self.payload.sizes_itself() {
            m.serialize_entry("size", &self.size)?;
        }
        if !self.payload.keys_itself() {
            m.serialize_entry("keys", &self.keys)?;
        }
        m.end()
    }
}

/// Records per second at the start and end of a phase (equal for a constant rate), or
/// [`Rate::MAX`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub from: f64,
    pub to: f64,
}

impl Rate {
    /// `rate = "max"`: a closed loop that sends as fast as the in-flight limit allows; the phase
    /// offers whatever it manages to make in its duration.
    pub const MAX: Rate = Rate {
        from: f64::INFINITY,
        to: f64::INFINITY,
    };

    pub fn is_max(&self) -> bool {
        self.from.is_infinite() || self.to.is_infinite()
    }
}

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if self.is_max() {
            s.serialize_str("max")
        } else if self.from == self.to {
            s.serialize_f64(self.from)
        } else {
            let mut m = s.serialize_map(Some(2))?;
            m.serialize_entry("from", &self.from)?;
            m.serialize_entry("to", &self.to)?;
            m.end()
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub name: String,
    #[serde(serialize_with = "units::ser::duration")]
    pub duration: Duration,
    pub rate: Rate,
    pub measure: bool,
}

impl Phase {
    /// Records a fixed-rate phase offers: its duration times its mean rate, rounded. 0 for a
    /// `rate = "max"` phase, which offers whatever it makes while it runs.
    pub fn planned(&self) -> u64 {
        if self.rate.is_max() {
            0
        } else {
            (self.duration.as_secs_f64() * (self.rate.from + self.rate.to) / 2.0).round() as u64
        }
    }
}

impl Phase {
    /// Why a fixed-rate phase offers no record (its duration times its rate rounds to 0), or
    /// None when it offers some or runs at `rate = "max"`.
    pub fn offers_no_record(&self) -> Option<String> {
        if self.rate.is_max() || self.planned() > 0 {
            return None;
        }
        let mean = (self.rate.from + self.rate.to) / 2.0;
        Some(format!(
            "{} at {} records/s makes {} of a record, which rounds to none",
            units::format_duration(self.duration),
            validate::show_number(mean),
            validate::show_number(self.duration.as_secs_f64() * mean)
        ))
    }
}

/// Where the consumer starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Start {
    /// Only records written after the consumer's iterators were taken (before the first put).
    Latest,
    /// Everything the stream still holds; this run's records are told apart by their stamp.
    TrimHorizon,
}

/// How a consumer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsumerKind {
    /// GetShardIterator + a GetRecords loop per shard (a Lambda-style poller, KCL polling):
    /// every polling consumer of a stream shares each shard's 5 calls/s and 2 MB/s.
    Polling,
    /// Enhanced fan-out: a registered consumer and SubscribeToShard per shard, pushed over
    /// HTTP/2, with its own 2 MB/s per shard.
    Efo,
}

impl ConsumerKind {
    pub fn name(self) -> &'static str {
        match self {
            ConsumerKind::Polling => "polling",
            ConsumerKind::Efo => "efo",
        }
    }
}

/// One consumer of the stream.
#[derive(Debug, Clone, Serialize)]
pub struct Consumer {
    /// Unique in the scenario; names it in the summary and report files.
    pub name: String,
    pub kind: ConsumerKind,
    pub start: Start,
    /// How long the run waits for it to read back what was acknowledged, after the phases.
    #[serde(serialize_with = "units::ser::duration")]
    pub drain: Duration,
    /// Polling: pause between GetRecords calls on one shard (at least 200 ms: 5 calls/s per
    /// shard).
    #[serde(
        serialize_with = "units::ser::opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub poll_interval: Option<Duration>,
    /// Polling: GetRecords' `Limit`, records per call (at most 10,000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_records: Option<u32>,
    /// This consumer's own `e2e_p99` / `max_lost` (None: the scenario's `[slo]`).
    #[serde(skip_serializing_if = "ConsumerSlo::is_empty")]
    pub slo: ConsumerSlo,
}

impl Consumer {
    /// The polling pause (the default for a consumer that is not polling).
    pub fn poll_interval(&self) -> Duration {
        self.poll_interval.unwrap_or(limits::POLL_INTERVAL.min)
    }

    /// Records per GetRecords call.
    pub fn max_records(&self) -> u32 {
        self.max_records
            .unwrap_or(limits::GET_RECORDS_MAX_RECORDS as u32)
    }

    /// Its `e2e_p99` limit: its own, else the scenario's.
    pub fn e2e_p99(&self, slo: &Slo) -> Option<Duration> {
        self.slo.e2e_p99.or(slo.e2e_p99)
    }

    /// Its `max_lost`: its own, else the scenario's.
    pub fn max_lost(&self, slo: &Slo) -> Option<u64> {
        self.slo.max_lost.or(slo.max_lost)
    }
}

/// What writes the objects a delivery verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryKind {
    /// A Firehose delivery stream reading the stream, which kbench creates and deletes.
    Firehose,
    /// Someone else's pipeline (a Lambda, a Flink job, a Firehose kbench did not create):
    /// kbench only watches the bucket and prefix.
    S3,
}

/// The pipeline's leg into S3 (`[delivery]`). Serialised as it is written.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub kind: DeliveryKind,
    pub bucket: String,
    /// Where the objects go (Firehose's `Prefix`, its `!{...}` expressions included); the
    /// verifier lists [`Delivery::list_prefix`].
    pub prefix: String,
    /// Firehose: the delivery stream kbench creates, `ErrorOutputPrefix`, buffering hints,
    /// compression, the AppendDelimiterToRecord delimiter and the role.
    pub firehose: Option<FirehoseDelivery>,
    /// How long the run waits for the last records to land in S3, after the phases.
    pub drain: Duration,
}

/// What a `kind = "firehose"` delivery creates.
#[derive(Debug, Clone)]
pub struct FirehoseDelivery {
    pub delivery_stream: String,
    pub error_prefix: String,
    /// Buffering hints: whole MiB (1-128) and whole seconds (0-900).
    pub buffer_mib: u32,
    pub buffer_interval: Duration,
    pub gzip: bool,
    pub delimiter: Option<String>,
    pub role_arn: Option<String>,
}

impl Serialize for Delivery {
    /// The `[delivery]` table as a scenario file writes it, every default filled in.
    fn serialize<S: serde::Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Buffer {
            size: String,
            interval: String,
        }
        #[derive(Serialize)]
        struct Table<'a> {
            kind: DeliveryKind,
            bucket: &'a str,
            prefix: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            delivery_stream: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            error_prefix: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            buffer: Option<Buffer>,
            #[serde(skip_serializing_if = "Option::is_none")]
            compression: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            delimiter: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            role_arn: Option<&'a str>,
            drain: String,
        }
        let f = self.firehose.as_ref();
        Table {
            kind: self.kind,
            bucket: &self.bucket,
            prefix: &self.prefix,
            delivery_stream: f.map(|f| f.delivery_stream.as_str()),
            error_prefix: f.map(|f| f.error_prefix.as_str()),
            buffer: f.map(|f| Buffer {
                size: format!("{}MiB", f.buffer_mib),
                interval: units::format_duration(f.buffer_interval),
            }),
            compression: f.map(|f| if f.gzip { "gzip" } else { "none" }),
            delimiter: f.and_then(|f| f.delimiter.as_deref()),
            role_arn: f.and_then(|f| f.role_arn.as_deref()),
            drain: units::format_duration(self.drain),
        }
        .serialize(out)
    }
}

impl Delivery {
    /// The part of the prefix before its first expression: what the verifier lists.
    pub fn list_prefix(&self) -> &str {
        self.prefix
            .find("!{")
            .map_or(self.prefix.as_str(), |at| &self.prefix[..at])
    }
}

/// A consumer's own SLO overrides (`[consumer.slo]`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConsumerSlo {
    #[serde(
        serialize_with = "units::ser::opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub e2e_p99: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_lost: Option<u64>,
}

impl ConsumerSlo {
    pub fn is_empty(&self) -> bool {
        self.e2e_p99.is_none() && self.max_lost.is_none()
    }
}

/// Thresholds; a breach makes `kbench run` exit 2.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Slo {
    #[serde(
        serialize_with = "units::ser::opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub put_p99: Option<Duration>,
    #[serde(
        serialize_with = "units::ser::opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub e2e_p99: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_throttled_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_lost: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_achieved_pct: Option<f64>,
    /// Delivery latency p99: intended send time to the object first seen in a listing.
    #[serde(
        serialize_with = "units::ser::opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub delivery_p99: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_delivery_lost: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_delivery_duplicates_pct: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(serialize_with = "units::ser::duration")]
    pub interval: Duration,
}

impl Scenario {
    /// The longest drain of its consumers and its delivery (zero without any): how long a run
    /// may wait for them after the phases.
    pub fn drain(&self) -> Duration {
        self.consumers
            .iter()
            .map(|c| c.drain)
            .chain(self.delivery.as_ref().map(|d| d.drain))
            .max()
            .unwrap_or_default()
    }

    /// The highest rate any fixed-rate phase offers, in records per second (0 when every phase
    /// runs at `rate = "max"`).
    pub fn peak_rate(&self) -> f64 {
        self.phase
            .iter()
            .filter(|p| !p.rate.is_max())
            .map(|p| p.rate.from.max(p.rate.to))
            .fold(0.0, f64::max)
    }

    /// The first phase that runs at `rate = "max"`, as its TOML key and name.
    pub fn max_rate_phase(&self) -> Option<(String, &str)> {
        self.phase.iter().position(|p| p.rate.is_max()).map(|i| {
            (
                format!("phase[{}].rate", i + 1),
                self.phase[i].name.as_str(),
            )
        })
    }

    /// A replay must have a checked record for everything the phases offer, and with
    /// `loop = false` that many (checked again after `--rate` and `--duration` change the
    /// phases; see [`replay_covers_phases`]).
    pub fn check_replay_length(&self) -> Result<(), String> {
        replay_covers_phases(&self.records.payload, &self.phase)
    }

    /// The scenario as TOML, fully defaulted; it reads back as the same scenario.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# could not render scenario: {e}\n"))
    }
}

/// Whether a replay has a checked record for everything `phases` offer: reads and checks the
/// file as far as they need (to its end when a phase runs at `rate = "max"`, which may send any
/// number), so every record a run sends is checked before it; with `loop = false` the file
/// must have that many.
pub fn replay_covers_phases(payload: &Payload, phases: &[Phase]) -> Result<(), String> {
    let Payload::Replay {
        records, looped, ..
    } = payload
    else {
        return Ok(());
    };
    let closed_loop = phases.iter().position(|p| p.rate.is_max());
    if let (Some(i), false) = (closed_loop, looped) {
        return Err(format!(
            "phase[{}] runs at rate = \"max\", which offers as many records as it can make, but `loop = false` sends the replay file's records once; set loop = true or give the phase a rate",
            i + 1
        ));
    }
    let offered: u64 = match closed_loop {
        Some(_) => u64::MAX,
        None => phases.iter().map(Phase::planned).sum(),
    };
    let has = records.ensure(offered)?;
    if !looped && offered > has {
        return Err(format!(
            "the phases offer {offered} records but the replay file has {has} and `loop = false`; set loop = true or shorten the phases"
        ));
    }
    Ok(())
}

/// ", did you mean `x`?" when one of `known` is close to `word`, else "".
pub fn suggest(word: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(word, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!(", did you mean `{k}`?"))
        .unwrap_or_default()
}

/// Rejects keys of an inline table that are not in `known`, naming the nearest known one.
pub fn check_table_keys(table: &toml::Table, known: &[&str]) -> Result<(), String> {
    for key in table.keys() {
        if !known.contains(&key.as_str()) {
            let list = known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(format!(
                "unknown field `{key}`{}; expected one of {list}",
                suggest(key, known)
            ));
        }
    }
    Ok(())
}

/// Display name for a scenario file in messages.
pub fn display_path(path: &Path) -> String {
    path.display().to_string()
}
