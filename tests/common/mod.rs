//! What several integration tests share.

use kbench::endpoint::embedded::{Embedded, EmbeddedOptions};
use kbench::endpoint::{client, stream};
use kbench::scenario::Endpoint;

/// An embedded endpoint on a free loopback port, a client for it, and a stream on it.
pub async fn endpoint_with_stream(
    name: &str,
    shards: u32,
) -> (Embedded, aws_sdk_kinesis::Client, stream::ReadyStream) {
    let server = Embedded::start(0, &EmbeddedOptions::default())
        .await
        .expect("endpoint");
    let c = client::build(&Endpoint::Embedded, None, Some(&server.url()))
        .await
        .expect("client");
    let ready = stream::ensure(&c, name, shards, true, std::time::Duration::from_secs(30))
        .await
        .expect("stream");
    (server, c, ready)
}
