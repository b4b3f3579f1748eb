//! The shape every moving part of a run shares, and what they share with each other.
//!
//! A run of one API variant is a list of roles (see [`super::variant`]): the progress display,
//! the collector and its writers, the consumer, the producer pool. The run calls each hook of
//! every role in list order, except `stop`, which goes in reverse (the last role started is the
//! first stopped, so the collector still sees the consumer's last reads and the progress display
//! outlives the collector's last row). A new consumer, a delivery leg or a controller is a new
//! role: a file in this folder implementing [`Role`], and one line where the roles are assembled.

use crate::endpoint::incidents::Incidents;
use crate::endpoint::stream::ReadyStream;
use crate::metrics::collector::{Collector, Registry};
use crate::metrics::interval::Stats;
use crate::metrics::seen::SeenSet;
use crate::report::VariantSummary;
use crate::scenario::{Api, Scenario, Start};
use crate::workload::schedule::Schedule;
use crate::workload::shardmap::ShardMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A boxed future borrowed from a role, so roles can live in one list.
pub type Hook<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One moving part of a run. Every hook has a default that does nothing.
pub trait Role: Send {
    /// Before the first record is sent: e.g. a consumer takes its shard iterators, so it misses
    /// nothing the producer writes.
    fn prepare<'a>(&'a mut self, _run: &'a Context) -> Hook<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// At the run's start: spawns the role's background work, which goes on until [`Role::stop`].
    fn start(&mut self, _run: &Context, _clock: Clock) {}

    /// The phases: what the role does while the schedule runs. The run waits for every role's
    /// phases to end (the producer's end when the schedule does, or on cancel).
    fn phases<'a>(&'a mut self, _run: &'a Context) -> Hook<'a, ()> {
        Box::pin(async {})
    }

    /// After the phases: waits, up to `limit`, for what is still on its way (a consumer waits
    /// for every acknowledged record to be read back).
    fn drain<'a>(&'a mut self, _run: &'a Context, _limit: DrainLimit) -> Hook<'a, ()> {
        Box::pin(async {})
    }

    /// Stops the role's background work and waits for it to end.
    fn stop<'a>(&'a mut self, _run: &'a Context) -> Hook<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// Adds what the role measured to the variant's summary, once every role has stopped.
    fn summarise(&self, _run: &Context, _results: &Results, _summary: &mut VariantSummary) {}
}

/// What every role of one variant's run shares.
pub struct Context<'a> {
    pub scenario: &'a Scenario,
    pub client: &'a aws_sdk_kinesis::Client,
    /// The enhanced fan-out consumers' clients (None when the scenario has none).
    pub efo: Option<&'a crate::consumer::efo::Efo>,
    /// The delivery's bucket (and delivery stream), ready (None without a `[delivery]`).
    pub delivery: Option<&'a crate::delivery::setup::Prepared>,
    /// The report directory (for the files a role writes at its end: objects.csv).
    pub dir: &'a std::path::Path,
    pub stream: &'a ReadyStream,
    /// The stream's shards by hash-key range, for the per-shard view and explicit hash keys.
    pub shard_map: &'a Arc<ShardMap>,
    pub api: Api,
    /// Where every consumer starts reading, over its own `start` (later variants read from
    /// `latest`); None: each its own.
    pub consumer_start: Option<Start>,
    pub schedule: Arc<Schedule>,
    /// Where every task registers its metrics slot; the collector reads them all.
    pub registry: Registry,
    /// Written into every record's stamp, so consumers tell this run's records from others'.
    pub run_id: u32,
    /// Sequence numbers the producer has had acknowledged: what consumers must read back.
    pub acked: Arc<Mutex<SeenSet>>,
    /// Cancelled on Ctrl-C, or by a fatal incident: stop sending, drain briefly, still write
    /// the report.
    pub cancel: CancellationToken,
    /// Every failed call, in episodes; the first fatal one (the stream gone, the hard
    /// deadline) cancels the run.
    pub incidents: Arc<Incidents>,
    /// The collector, once it has stopped: the run's merged metrics.
    pub collected: OnceLock<Collector>,
}

/// When the run started, on both clocks.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub start: Instant,
    /// The same instant as Unix time, for stamps and timestamps other processes read.
    pub start_unix_ns: u64,
}

/// How long a drain may take.
#[derive(Debug, Clone, Copy)]
pub struct DrainLimit {
    /// The scenario's drain period.
    pub limit: Duration,
    /// What is left of it once the run is cancelled.
    pub interrupted: Duration,
}

impl DrainLimit {
    /// The limit in force now: none left after a second signal ("stop now").
    pub fn now(&self, cancel: &CancellationToken) -> Duration {
        if crate::console::signals::stop_now().is_cancelled() {
            Duration::ZERO
        } else if cancel.is_cancelled() {
            self.limit.min(self.interrupted)
        } else {
            self.limit
        }
    }
}

/// What a finished run measured, for the roles' summaries.
pub struct Results<'a> {
    pub collector: &'a Collector,
    /// The measured phases merged.
    pub measured: &'a Stats,
    /// When the phases were cut short by a cancel (Ctrl-C), from the run's start: each phase
    /// ran up to then, and its rates are over the time it ran. None: every phase ran whole.
    pub cut_at: Option<Duration>,
}
