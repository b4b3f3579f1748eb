//! The embedded endpoint's own behaviour: reads wait for the writes in progress (see
//! src/endpoint/embedded/reads_after_writes.rs), so a client that stalls in the middle of a
//! request must not count as one in progress and hold up everybody else.

mod common;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::ShardIteratorType;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_request_body_does_not_hold_up_other_clients() {
    let (server, c, _) = common::endpoint_with_stream("stall", 1).await;
    let iterator = c
        .get_shard_iterator()
        .stream_name("stall")
        .shard_id("shardId-000000000000")
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator")
        .shard_iterator()
        .expect("an iterator")
        .to_string();

    // a PutRecords whose body never finishes arriving
    let mut stalled = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST / HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-amz-json-1.1\r\nx-amz-target: Kinesis_20131202.PutRecords\r\ncontent-length: 1000\r\n\r\n{{\"StreamName\":\"stall\",",
        server.addr
    );
    stalled.write_all(head.as_bytes()).await.expect("write");
    stalled.flush().await.expect("flush");
    tokio::time::sleep(Duration::from_millis(200)).await;

    // a read (which waits for writes in progress) and a write both go through
    let both = async {
        let read = c.get_records().shard_iterator(&iterator).send().await;
        let write = c
            .put_record()
            .stream_name("stall")
            .partition_key("k")
            .data(Blob::new(b"after".to_vec()))
            .send()
            .await;
        (read, write)
    };
    let (read, write) = tokio::time::timeout(Duration::from_secs(20), both)
        .await
        .expect("neither the read nor the write waits for the stalled client");
    read.expect("GetRecords");
    write.expect("PutRecord");
    drop(stalled);
    server.shutdown().await;
}
