//! The polling consumer as a role: a GetRecords loop per shard, verified against what the
//! producer had acknowledged.

use super::role::{Clock, Context, DrainLimit, Hook, Results, Role};
use crate::consumer::reader::{self, Cursor, ReaderContext};
use crate::consumer::verify::Verifier;
use crate::report::VariantSummary;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often the drain looks whether every acknowledged record has been read back.
const DRAIN_POLL: Duration = Duration::from_millis(50);

/// Reads every shard of the stream from the scenario's start position.
#[derive(Default)]
pub struct PollingConsumer {
    /// Shard iterators taken before the first record is sent; handed to the readers at start.
    cursors: Vec<Cursor>,
    /// Shared by the shard readers: what was read, and the end-to-end latencies.
    verifier: Option<Arc<Verifier>>,
    readers: Vec<JoinHandle<()>>,
    /// Stops the shard readers.
    stop: CancellationToken,
}

impl PollingConsumer {
    /// Whether every record the producer had acknowledged has been read back.
    fn all_read(&self, run: &Context) -> bool {
        let Some(verifier) = &self.verifier else {
            return true;
        };
        let acked = run.acked.lock().unwrap_or_else(|e| e.into_inner());
        let received = verifier.received.lock().unwrap_or_else(|e| e.into_inner());
        acked.intersection_len(&received) >= acked.len()
    }
}

impl Role for PollingConsumer {
    fn prepare<'a>(&'a mut self, run: &'a Context) -> Hook<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let shard_ids: Vec<String> = run.stream.shards.iter().map(|s| s.id.clone()).collect();
            self.cursors =
                reader::open(run.client, &run.stream.name, &shard_ids, run.consumer_start).await?;
            Ok(())
        })
    }

    fn start(&mut self, run: &Context, clock: Clock) {
        let verifier = Arc::new(Verifier::new(
            run.run_id,
            run.schedule.clone(),
            clock.start,
            clock.start_unix_ns,
        ));
        let ctx = ReaderContext {
            client: run.client.clone(),
            stream: run.stream.name.clone(),
            verifier: verifier.clone(),
            poll_interval: run.scenario.consumer.poll_interval,
            start: clock.start,
            vanished: run.vanished.clone(),
        };
        self.readers = std::mem::take(&mut self.cursors)
            .into_iter()
            .map(|c| {
                tokio::spawn(reader::read_shard(
                    ctx.clone(),
                    c,
                    run.registry.slot(),
                    self.stop.clone(),
                ))
            })
            .collect();
        self.verifier = Some(verifier);
    }

    /// Waits for every acknowledged record to be read back, up to the drain period (a Ctrl-C
    /// during the drain cuts what is left of it to the interrupted drain).
    fn drain<'a>(&'a mut self, run: &'a Context, limit: DrainLimit) -> Hook<'a, ()> {
        Box::pin(async move {
            let began = Instant::now();
            // a stream that vanished has nothing left to read
            while !self.all_read(run)
                && run.vanished.gone().is_none()
                && began.elapsed() < limit.now(&run.cancel)
            {
                if run.cancel.is_cancelled() {
                    tokio::time::sleep(DRAIN_POLL).await;
                    continue;
                }
                tokio::select! {
                    _ = tokio::time::sleep(DRAIN_POLL) => {}
                    _ = run.cancel.cancelled() => {}
                }
            }
        })
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
        let Some(verifier) = &self.verifier else {
            return;
        };
        let all = results.collector.all_counters();
        let acked = run.acked.lock().unwrap_or_else(|e| e.into_inner());
        let received = verifier.received.lock().unwrap_or_else(|e| e.into_inner());
        let both = acked.intersection_len(&received);
        let a = &mut summary.accounting;
        a.consumer = true;
        a.received = received.len();
        a.duplicates = all.duplicates;
        // what the stream took with it when it vanished is not lost: nothing can read it now
        let unread = acked.len() - both;
        if run.vanished.gone().is_some() {
            a.unverified_stream_gone = unread;
        } else {
            a.lost = unread;
        }
        a.received_unacknowledged = received.len() - both;

        if results.measured.in_stream.count() > 0 && !verifier.arrival_has_millis() {
            for p in &mut summary.phases {
                p.in_stream = Default::default();
            }
            summary.warnings.push(
                "the endpoint reports ApproximateArrivalTimestamp in whole seconds, so in-stream latency is not reported".into(),
            );
        }
        if all.foreign > 0 {
            summary.warnings.push(format!(
                "the consumer read {} records that were not written by this run (another writer on the stream, or an earlier run with start = \"trim_horizon\")",
                all.foreign
            ));
        }
    }
}
