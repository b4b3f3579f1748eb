//! The producer: batching, the SDK edge, retries and the worker pool.

pub mod batch;
pub mod pool;
pub mod retry;
pub mod send;
