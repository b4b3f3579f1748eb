//! Endpoints: the embedded server, the null endpoint, the SDK client for any endpoint, and the stream lifecycle.

pub mod claim;
pub mod client;
pub mod embedded;
pub mod h2c;
pub mod incidents;
pub mod null;
pub mod serve;
pub mod stream;
