//! An enhanced fan-out consumer as a role: registered before the run (`kbench-<run id>-<name>`),
//! subscribed to every shard before the first record is sent, its subscriptions renewed as
//! they end, deregistered at the end (on Ctrl-C and on error too) if kbench registered it.

use super::readback::Readback;
use super::role::{Clock, Context, DrainLimit, Hook, Results, Role};
use crate::consumer::efo::{self, EfoStats, Opened, Registered, ShardContext};
use crate::report::VariantSummary;
use crate::scenario::Consumer;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub struct EfoConsumer {
    read: Readback,
    registered: Option<Registered>,
    /// The subscriptions opened before the run; handed to the shard tasks at start.
    opened: Vec<Opened>,
    stats: Arc<EfoStats>,
    task: Option<JoinHandle<()>>,
    stop: CancellationToken,
}

impl EfoConsumer {
    pub fn new(index: usize, spec: Consumer) -> EfoConsumer {
        EfoConsumer {
            read: Readback::new(index, spec, "SubscribeToShard"),
            registered: None,
            opened: Vec::new(),
            stats: Arc::default(),
            task: None,
            stop: CancellationToken::new(),
        }
    }

    /// Deregisters the consumer if kbench registered it; a failure is a warning, not a failed
    /// run (the figures are whole), and names the consumer to remove by hand.
    async fn deregister(&mut self) {
        if let Some(reg) = self.registered.take() {
            let name = reg.name.clone();
            if let Err(e) = reg.deregister().await {
                eprintln!(
                    "warning: could not deregister enhanced fan-out consumer `{name}`: {e}; remove it with `aws kinesis deregister-stream-consumer`"
                );
            }
        }
    }
}

impl Role for EfoConsumer {
    fn prepare<'a>(&'a mut self, run: &'a Context) -> Hook<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let Some(client) = run.efo else {
                anyhow::bail!("no enhanced fan-out client was built for this run");
            };
            let arn = efo::stream_arn(client, &run.stream.name).await?;
            let name = format!("kbench-{:08x}-{}", run.run_id, self.read.spec.name);
            let reg = efo::register(client, &arn, &name, efo::ACTIVE_WITHIN).await?;
            let shard_ids: Vec<String> = run.stream.shards.iter().map(|s| s.id.clone()).collect();
            let start = run.consumer_start.unwrap_or(self.read.spec.start);
            let consumer_arn = reg.arn.clone();
            self.registered = Some(reg);
            match efo::subscribe_all(client, &consumer_arn, &shard_ids, start).await {
                Ok(opened) => {
                    self.opened = opened;
                    Ok(())
                }
                Err(e) => {
                    // the run stops here, before any role is stopped: deregister now
                    self.deregister().await;
                    Err(e.into())
                }
            }
        })
    }

    fn start(&mut self, run: &Context, clock: Clock) {
        let (Some(client), Some(reg)) = (run.efo, &self.registered) else {
            return;
        };
        let (verifier, tips) = self.read.begin(run, clock, self.opened.len());
        let registry = run.registry.clone();
        let ctx = ShardContext {
            efo: client.clone(),
            consumer_arn: reg.arn.clone(),
            verifier,
            start: clock.start,
            incidents: run.incidents.clone(),
            tips,
            stats: self.stats.clone(),
            slot: Arc::new(move || registry.slot()),
        };
        let opened = std::mem::take(&mut self.opened);
        self.task = Some(efo::spawn(ctx, opened, self.stop.clone()));
    }

    fn drain<'a>(&'a mut self, run: &'a Context, limit: DrainLimit) -> Hook<'a, ()> {
        Box::pin(self.read.drain(run, limit))
    }

    fn stop<'a>(&'a mut self, _run: &'a Context) -> Hook<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.stop.cancel();
            if let Some(task) = self.task.take() {
                let _ = task.await;
            }
            self.deregister().await;
            Ok(())
        })
    }

    fn summarise(&self, run: &Context, results: &Results, summary: &mut VariantSummary) {
        let s = &self.stats;
        self.read.summarise(
            run,
            results,
            summary,
            s.subscriptions.load(Ordering::Relaxed),
            s.renewals.load(Ordering::Relaxed),
        );
    }
}
