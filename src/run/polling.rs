//! A polling consumer as a role: a GetRecords loop per shard, verified against what the
//! producer had acknowledged. A scenario's consumers are one role each; their reads share the
//! stream's per-shard limits as on Kinesis.

use super::readback::Readback;
use super::role::{Clock, Context, DrainLimit, Hook, Results, Role};
use crate::consumer::reader::{self, Cursor, ReaderContext};
use crate::report::VariantSummary;
use crate::scenario::Consumer;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Reads every shard of the stream from its start position.
pub struct PollingConsumer {
    read: Readback,
    /// Shard iterators taken before the first record is sent; handed to the readers at start.
    cursors: Vec<Cursor>,
    readers: Vec<JoinHandle<()>>,
    /// Stops the shard readers.
    stop: CancellationToken,
}

/// Readers whose polls run later than this many poll intervals (p99) are the bottleneck.
const BEHIND_INTERVALS: u32 = 2;

impl PollingConsumer {
    pub fn new(index: usize, spec: Consumer) -> PollingConsumer {
        PollingConsumer {
            read: Readback::new(index, spec, "GetRecords"),
            cursors: Vec::new(),
            readers: Vec::new(),
            stop: CancellationToken::new(),
        }
    }

    /// A warning when the readers' polls ran late against their schedule: kbench's consumer,
    /// not the stream, set the pace, and end-to-end latency includes its delay.
    fn fell_behind(&self, run: &Context) -> Option<String> {
        let lag = self.read.tips.as_ref()?.poll_lag();
        let interval = self.read.spec.poll_interval();
        let p99 = lag.quantile(0.99);
        (p99 > interval * BEHIND_INTERVALS).then(|| {
            format!(
                "kbench's consumer{} fell behind its own poll schedule: p99 {:.0} ms late, max {:.0} ms, against a {:.0} ms poll interval over {} shards; end-to-end latency includes that delay (read fewer shards per process, or raise poll_interval)",
                self.read.named(run),
                p99.as_secs_f64() * 1e3,
                lag.max().as_secs_f64() * 1e3,
                interval.as_secs_f64() * 1e3,
                run.stream.shards.len()
            )
        })
    }
}

impl Role for PollingConsumer {
    fn prepare<'a>(&'a mut self, run: &'a Context) -> Hook<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let shard_ids: Vec<String> = run.stream.shards.iter().map(|s| s.id.clone()).collect();
            let start = run.consumer_start.unwrap_or(self.read.spec.start);
            self.cursors = reader::open(run.client, &run.stream.name, &shard_ids, start).await?;
            Ok(())
        })
    }

    fn start(&mut self, run: &Context, clock: Clock) {
        let (verifier, tips) = self.read.begin(run, clock, self.cursors.len());
        let spec = &self.read.spec;
        let ctx = ReaderContext {
            client: run.client.clone(),
            stream: run.stream.name.clone(),
            verifier,
            poll_interval: spec.poll_interval(),
            max_records: spec.max_records() as i32,
            start: clock.start,
            incidents: run.incidents.clone(),
            tips,
            reads: Arc::new(tokio::sync::Semaphore::new(reader::READS_IN_FLIGHT)),
        };
        self.readers = std::mem::take(&mut self.cursors)
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                tokio::spawn(reader::read_shard(
                    ctx.clone(),
                    i,
                    c,
                    run.registry.slot(),
                    self.stop.clone(),
                ))
            })
            .collect();
    }

    fn drain<'a>(&'a mut self, run: &'a Context, limit: DrainLimit) -> Hook<'a, ()> {
        Box::pin(self.read.drain(run, limit))
    }

    fn stop<'a>(&'a mut self, _run: &'a Context) -> Hook<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.stop.cancel();
            for r in self.readers.drain(..) {
                let _ = r.await;
            }
            Ok(())
        })
    }

    fn summarise(&self, run: &Context, results: &Results, summary: &mut VariantSummary) {
        self.read.summarise(run, results, summary, 0, 0);
        if let Some(w) = self.fell_behind(run) {
            summary.warnings.push(w);
        }
    }
}
