//! The raw scenario file as written: serde structs with `deny_unknown_fields` and source spans.
//!
//! Nothing here is checked beyond TOML syntax and key names; `validate` turns it into a
//! [`super::Scenario`]. Polymorphic values (sizes, keys, rates, payloads) are kept as TOML values
//! with their spans so that `validate` can say precisely what is wrong with them.

use serde::Deserialize;
use toml::Spanned;

/// A value with its byte range in the file, for error messages.
pub type S<T> = Spanned<T>;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: Option<S<String>>,
    pub description: Option<String>,
    pub seed: Option<S<i64>>,
    #[serde(default)]
    pub target: RawTarget,
    #[serde(default)]
    pub producer: RawProducer,
    #[serde(default)]
    pub records: RawRecords,
    /// `[[phase]]` tables, in order.
    #[serde(default)]
    pub phase: Vec<S<RawPhase>>,
    /// `[consumer]` (one polling consumer, the old form) or `[[consumer]]` tables.
    pub consumer: Option<S<RawConsumers>>,
    /// `[delivery]`: the pipeline's leg into S3.
    pub delivery: Option<S<RawDelivery>>,
    #[serde(default)]
    pub slo: RawSlo,
    #[serde(default)]
    pub report: RawReport,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub endpoint: Option<S<String>>,
    pub region: Option<S<String>>,
    pub stream: Option<S<String>>,
    pub shards: Option<S<i64>>,
    pub create: Option<bool>,
    pub delete_after: Option<bool>,
    pub capacity: Option<S<String>>,
    /// `[target.faults]`, checked by `super::faults`.
    pub faults: Option<S<super::faults::RawFaults>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawProducer {
    /// A name or a list of names.
    pub api: Option<S<toml::Value>>,
    pub in_flight: Option<S<i64>>,
    pub batch_max_records: Option<S<i64>>,
    pub batch_max_bytes: Option<S<toml::Value>>,
    pub linger: Option<S<String>>,
    pub arrival: Option<S<String>>,
    pub max_attempts: Option<S<i64>>,
    pub backoff: Option<RawBackoff>,
    pub request_timeout: Option<S<String>>,
    pub aggregation: Option<S<RawAggregation>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawAggregation {
    pub max_bytes: Option<S<toml::Value>>,
    pub max_records: Option<S<i64>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawBackoff {
    pub base: Option<S<String>>,
    pub max: Option<S<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRecords {
    pub size: Option<S<toml::Value>>,
    pub keys: Option<S<toml::Value>>,
    pub payload: Option<S<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPhase {
    pub name: Option<S<String>>,
    pub duration: Option<S<String>>,
    pub rate: Option<S<toml::Value>>,
    pub measure: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConsumer {
    pub name: Option<S<String>>,
    pub enabled: Option<bool>,
    pub kind: Option<S<String>>,
    pub start: Option<S<String>>,
    pub drain: Option<S<String>>,
    pub poll_interval: Option<S<String>>,
    pub max_records: Option<S<i64>>,
    /// `[consumer.slo]`: this consumer's own `e2e_p99` / `max_lost`, over the scenario's.
    pub slo: Option<RawConsumerSlo>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConsumerSlo {
    pub e2e_p99: Option<S<String>>,
    pub max_lost: Option<S<i64>>,
}

/// The consumers as written: one `[consumer]` table, or an array of `[[consumer]]` tables.
#[derive(Debug)]
pub enum RawConsumers {
    One(Box<RawConsumer>),
    Many(Vec<S<RawConsumer>>),
}

impl<'de> Deserialize<'de> for RawConsumers {
    /// A table or an array of tables, each deserialised by the file's own deserialiser, so its
    /// keys keep their places (`Spanned`) and unknown keys are named as anywhere else.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Tables;
        impl<'de> serde::de::Visitor<'de> for Tables {
            type Value = RawConsumers;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a [consumer] table or [[consumer]] tables")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawConsumers, A::Error> {
                RawConsumer::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|c| RawConsumers::One(Box::new(c)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<RawConsumers, A::Error> {
                Vec::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(RawConsumers::Many)
            }
        }
        d.deserialize_any(Tables)
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawDelivery {
    pub kind: Option<S<String>>,
    pub bucket: Option<S<String>>,
    pub prefix: Option<S<String>>,
    pub error_prefix: Option<S<String>>,
    pub delivery_stream: Option<S<String>>,
    pub buffer: Option<S<RawBuffer>>,
    pub compression: Option<S<String>>,
    pub delimiter: Option<S<String>>,
    pub drain: Option<S<String>>,
    pub role_arn: Option<S<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawBuffer {
    pub size: Option<S<toml::Value>>,
    pub interval: Option<S<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    pub put_p99: Option<S<String>>,
    pub e2e_p99: Option<S<String>>,
    pub max_throttled_pct: Option<S<f64>>,
    pub max_lost: Option<S<i64>>,
    pub min_achieved_pct: Option<S<f64>>,
    pub delivery_p99: Option<S<String>>,
    pub max_delivery_lost: Option<S<i64>>,
    pub max_delivery_duplicates_pct: Option<S<f64>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawReport {
    pub interval: Option<S<String>>,
}
