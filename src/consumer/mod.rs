//! The consumer: per-shard polling readers and the verification of what they read.

pub mod efo;
pub mod reader;
pub mod verify;
