//! kbench: a load generator and throughput benchmark for Amazon Kinesis Data Streams.
//!
//! The map. Data flows one way, top to bottom; a module imports only from those below it.
//!
//! | module | what it is for |
//! |---|---|
//! | [`cli`] | clap definitions and the dispatch to each command's body in the library |
//! | [`run`] | a run as a set of roles: [`run::producer`], one per consumer ([`run::polling`], [`run::efo`]), [`run::collector`], [`run::progress`], assembled in [`run::variant`]; `kbench run` in [`run::command`] |
//! | [`sweep`], [`sizing`] | `kbench sweep` (runs at stepped rates) and `kbench size` (the offline shard calculator), each with its `command` |
//! | [`producer`] | the one worker loop, batching, the SDK edge (request and outcomes as pure functions), retries |
//! | [`consumer`] | the polling shard reader, the enhanced fan-out subscriptions, and the verifier (loss, duplicates, end-to-end latency) |
//! | [`endpoint`] | SDK clients, the stream's lifecycle, the embedded endpoint (ferrokinesis and the layers that make it behave like Kinesis), the null endpoint, `kbench serve` |
//! | [`report`] | the summary model and one exporter per file (CSV, HDR logs, JSON, charts, report.html), `kbench compare` and `kbench report`; it knows nothing of how a run is driven |
//! | [`metrics`] | per-task histograms and counters, merged per interval by the collector |
//! | [`workload`] | sampling keys, sizes and payloads from the scenario's description; the schedule of intended send times; the key -> shard map |
//! | [`aggregate`] | the KPL aggregation format |
//! | [`scenario`] | the TOML model, its validation into a [`scenario::Scenario`], units and Kinesis limits; `kbench validate` |
//! | [`console`] | stdout lines and exit codes shared by the commands |
//!
//! A new role of a run (a consumer kind, a delivery leg, a controller) is a file in `run/`
//! copied from [`run::polling`] and one line in `run::variant::roles`. A new behaviour of the
//! embedded endpoint is a file in `endpoint/embedded/` and one line where its layers are stacked.

pub mod aggregate;
pub mod cli;
pub mod console;
pub mod consumer;
pub mod delivery;
pub mod endpoint;
pub mod metrics;
pub mod producer;
pub mod report;
pub mod run;
pub mod scenario;
pub mod sizing;
pub mod sweep;
pub mod workload;
