//! Measurement: latency histograms, per-task interval buckets, and the collector that merges them.

pub mod collector;
pub mod histogram;
pub mod interval;
pub mod seen;
