//! kbench: a load generator and throughput benchmark for Amazon Kinesis Data Streams.
//!
//! Data flows one way:
//! - [`cli`] parses the command line;
//! - [`scenario`] turns a TOML file into a validated [`scenario::Scenario`];
//! - [`runner`] starts the [`endpoint`], the stream, the [`consumer`] and the [`producer`] pool;
//! - [`workload`] says what each record is and when it is due;
//! - [`metrics`] collects per-task histograms and counters per interval;
//! - [`report`] writes CSV and JSON and prints the summary.

pub mod aggregate;
pub mod cli;
pub mod consumer;
pub mod endpoint;
pub mod metrics;
pub mod producer;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod sizing;
pub mod sweep;
pub mod workload;
