//! Endpoints: the embedded server, the SDK client for any endpoint, and the stream lifecycle.

pub mod client;
pub mod embedded;
pub mod stream;
