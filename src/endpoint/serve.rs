//! `kbench serve`: the embedded (or the null) endpoint as a standalone server on loopback.

use super::embedded::{Embedded, EmbeddedOptions};
use crate::console::{EXIT_OK, out};
use crate::scenario::units;
use std::future::Future;

/// Serves on 127.0.0.1 `port` until `shutdown` completes; returns the exit code.
pub async fn serve(
    port: u16,
    null: bool,
    options: &EmbeddedOptions,
    shutdown: impl Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<i32> {
    let server = if null {
        Embedded::start_null_with(port, options).await?
    } else {
        Embedded::start(port, options).await?
    };
    let url = server.url();
    if null {
        out(&format!(
            "kbench: null Kinesis endpoint on {url}: PutRecord and PutRecords acknowledged, nothing stored, no reads; Ctrl-C stops it"
        ));
        out(&format!(
            "  try: kbench run SCENARIO --endpoint {url} (with `enabled = false` under [consumer])"
        ));
    } else {
        out(&format!(
            "kbench: embedded Kinesis endpoint on {url} (shard write limits {}, read limits {}, keeps at most {}); Ctrl-C stops it",
            on_off(options.enforce_limits),
            on_off(options.enforce_limits && options.enforce_read_limits),
            units::format_size(options.max_retained_bytes)
        ));
        out(&format!(
            // any credentials do; dummy ones let the AWS CLI run where none are configured
            "  try: AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws kinesis list-streams --endpoint-url {url} --region us-east-1"
        ));
        if let Some(dir) = &options.s3_dir {
            out(&format!(
                "  Firehose and S3 on the same port (S3 buckets in {}); for the whole pipeline:",
                dir.display()
            ));
            out(&format!(
                "  export AWS_ENDPOINT_URL={url} AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION=us-east-1"
            ));
            out("  (S3 checks signatures: use the keys x/x, kbench/kbench or test/test)");
        }
    }
    if options.faults.is_some() {
        out(
            "  faults on: the fault clock starts at the first PutRecord, PutRecords, GetRecords or GetShardIterator",
        );
    }
    shutdown.await?;
    server.shutdown().await;
    if options.faults.is_some() {
        let said = options.injected.snapshot().describe();
        out(&format!(
            "kbench: faults injected: {}",
            if said.is_empty() { "none" } else { &said }
        ));
    }
    Ok(EXIT_OK)
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}
