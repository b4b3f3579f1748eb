//! The reference for kbench's generator efficiency: a bare loop of PutRecords calls with the
//! plain AWS SDK, as fast as the endpoint answers, with no schedule, stamps, histograms or
//! retries. `scripts/bench.sh` compares kbench at `rate = "max"` against it on the null
//! endpoint (PERFORMANCE.md, P1).
//!
//! ```text
//! kbench serve --null --port 4568 &
//! cargo run --release --example bare_put_records -- --endpoint http://127.0.0.1:4568 \
//!     --batch 500 --record-size 100 --in-flight 4 --duration 10s
//! ```
//!
//! Prints one line, e.g. `records_per_s=751234 records=7512340 seconds=10.00 failed=0`. Exit 1
//! when a call fails (the loop stops at the first error: it measures, it does not retry).

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use clap::Parser;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// A Kinesis-compatible endpoint (the null endpoint for the reference figure).
    #[arg(long)]
    endpoint: String,
    /// Stream (created with 4 shards if missing).
    #[arg(long, default_value = "bare")]
    stream: String,
    /// Records per PutRecords call (1-500).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..=500))]
    batch: u16,
    /// Bytes of data per record.
    #[arg(long, default_value_t = 100)]
    record_size: usize,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    in_flight: u16,
    /// How long to send, in seconds (e.g. 10 or 10s).
    #[arg(long, default_value = "10s", value_parser = seconds)]
    duration: Duration,
}

fn seconds(s: &str) -> Result<Duration, String> {
    match s.trim_end_matches('s').parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(Duration::from_secs_f64(v)),
        _ => Err(format!("`{s}`: give seconds greater than 0, e.g. 10s")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<String, String> {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&args.endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("bare", "bare", None, None, "bare"))
        .load()
        .await;
    let client = Client::new(&config);
    let exists = client
        .describe_stream_summary()
        .stream_name(&args.stream)
        .send()
        .await
        .is_ok();
    if !exists {
        client
            .create_stream()
            .stream_name(&args.stream)
            .shard_count(4)
            .send()
            .await
            .map_err(|e| format!("cannot create stream `{}`: {e:?}", args.stream))?;
    }
    let batch: Vec<PutRecordsRequestEntry> = (0..args.batch)
        .map(|i| {
            PutRecordsRequestEntry::builder()
                .data(Blob::new(vec![b'x'; args.record_size]))
                .partition_key(format!("key-{i}"))
                .build()
                .map_err(|e| format!("record: {e}"))
        })
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    let deadline = started + args.duration;
    let mut tasks = Vec::new();
    for _ in 0..args.in_flight {
        let client = client.clone();
        let batch = batch.clone();
        let stream = args.stream.clone();
        tasks.push(tokio::spawn(async move {
            let (mut sent, mut failed) = (0u64, 0u64);
            while Instant::now() < deadline {
                let out = client
                    .put_records()
                    .stream_name(&stream)
                    .set_records(Some(batch.clone()))
                    .send()
                    .await
                    .map_err(|e| format!("PutRecords: {e:?}"))?;
                let f = u64::try_from(out.failed_record_count().unwrap_or(0)).unwrap_or(0);
                failed += f;
                sent += out.records().len() as u64 - f;
            }
            Ok::<_, String>((sent, failed))
        }));
    }
    let (mut records, mut failed) = (0u64, 0u64);
    for task in tasks {
        let (s, f) = task.await.map_err(|e| format!("a sender stopped: {e}"))??;
        records += s;
        failed += f;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(format!(
        "records_per_s={:.0} records={records} seconds={seconds:.2} failed={failed}",
        records as f64 / seconds
    ))
}
