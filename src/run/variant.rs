//! One API variant's run: the roles assembled, then driven through the same five steps.
//!
//! To add a role (a second consumer, a delivery leg, a controller), write it in a file of its
//! own beside [`super::polling`] (the one to copy) and add one line to [`roles`].

use super::collector::{CollectorRole, Writers};
use super::delivery::DeliveryWatch;
use super::efo::EfoConsumer;
use super::polling::PollingConsumer;
use super::producer::ProducerPool;
use super::progress::Progress;
use super::role::{Clock, Context, DrainLimit, Results, Role};
use super::verdict;
use crate::endpoint::incidents::Incidents;
use crate::metrics::collector::Registry;
use crate::metrics::interval::Stats;
use crate::metrics::seen::SeenSet;
use crate::producer::pool;
use crate::report::{Accounting, VariantSummary};
use crate::scenario::{Api, ConsumerKind, Start};
use anyhow::Context as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long an interrupted run waits for the consumer to catch up.
const INTERRUPTED_DRAIN: Duration = Duration::from_secs(5);

/// What a run may take beyond its schedule and drain before its hard deadline stops it: the
/// last requests' timeouts, a slow endpoint's answers, the interrupted drain.
const DEADLINE_GRACE: Duration = Duration::from_secs(60);

/// One API variant of a run.
pub struct Variant {
    pub api: Api,
    /// Shown before phase names when a run has several variants.
    pub label: Option<String>,
    /// Where every consumer starts reading, over its own `start` (later variants read from
    /// `latest`); None: each its own.
    pub start: Option<Start>,
}

/// The roles of one variant's run, in the order their hooks are called (stop goes in reverse).
fn roles(run: &Context, progress: Progress, writers: &Arc<Mutex<Writers>>) -> Vec<Box<dyn Role>> {
    let mut roles: Vec<Box<dyn Role>> = vec![
        Box::new(progress.clone()),
        Box::new(CollectorRole::new(writers.clone(), progress)),
        Box::new(ProducerPool::default()),
    ];
    for (i, c) in run.scenario.consumers.iter().enumerate() {
        roles.push(match c.kind {
            ConsumerKind::Polling => Box::new(PollingConsumer::new(i, c.clone())),
            ConsumerKind::Efo => Box::new(EfoConsumer::new(i, c.clone())),
        });
    }
    if let Some(d) = &run.scenario.delivery {
        roles.push(Box::new(DeliveryWatch::new(d.clone())));
    }
    roles
}

/// Runs the scenario's phases once with `variant.api` and summarises them.
pub async fn run(
    shared: &super::variants::Shared<'_>,
    variant: &Variant,
    writers: &Arc<Mutex<Writers>>,
) -> anyhow::Result<(VariantSummary, Stats)> {
    let scenario = shared.scenario;
    // the run's own token: Ctrl-C cancels it, and so does the stream vanishing, which must not
    // look like a Ctrl-C to the variants after this one
    let cancel = shared.cancel.child_token();
    let run = Context {
        scenario,
        client: shared.client,
        efo: shared.efo,
        delivery: shared.delivery,
        dir: shared.dir,
        stream: shared.ready,
        shard_map: shared.shard_map,
        api: variant.api,
        consumer_start: variant.start,
        schedule: Arc::new(crate::workload::schedule::Schedule::new(&scenario.phase)),
        registry: Registry::default(),
        run_id: rand::random(),
        acked: Arc::new(Mutex::new(SeenSet::default())),
        incidents: Arc::new(Incidents::new(&shared.ready.name, cancel.clone())),
        cancel,
        collected: OnceLock::new(),
    };
    let mut summary = VariantSummary {
        api: variant.api.to_string(),
        run_id: format!("{:08x}", run.run_id),
        status: "running".into(),
        failure: None,
        started_at: chrono::Utc::now().to_rfc3339(),
        elapsed_s: 0.0,
        accounting: Accounting::default(),
        phases: Vec::new(),
        per_shard: Vec::new(),
        slo: Vec::new(),
        // what was found about the stream before the run (other writers, other runs)
        warnings: shared.ready.warnings.clone(),
        incidents: Vec::new(),
        consumers: Vec::new(),
        delivery: None,
    };
    let progress = Progress::new(
        shared.settings.progress,
        &run.schedule,
        variant.label.as_deref(),
    );
    let mut roles = roles(&run, progress, writers);

    // prepare every role, start them, run the phases, drain, stop
    // a cancel while preparing (10,000 shard iterators take a while) stops preparing; the run
    // then starts already cancelled, schedules nothing and writes its report
    for role in roles.iter_mut() {
        tokio::select! {
            prepared = role.prepare(&run) => prepared?,
            _ = run.cancel.cancelled() => break,
        }
    }
    let clock = Clock {
        start: Instant::now(),
        start_unix_ns: pool::unix_now_ns(),
    };
    run.incidents.started(clock.start);
    for role in roles.iter_mut() {
        role.start(&run, clock);
    }
    let _deadline = hard_deadline(
        run.incidents.clone(),
        run.schedule.duration() + scenario.drain() + DEADLINE_GRACE,
    );
    futures_util::future::join_all(roles.iter_mut().map(|r| r.phases(&run))).await;
    let cut_at = run.cancel.is_cancelled().then(|| clock.start.elapsed());
    let limit = DrainLimit {
        limit: scenario.drain(),
        interrupted: INTERRUPTED_DRAIN,
    };
    // the consumers drain side by side, each up to its own drain
    futures_util::future::join_all(roles.iter_mut().map(|r| r.drain(&run, limit))).await;
    let interrupted = run.cancel.is_cancelled();
    let mut stopped = Ok(());
    for role in roles.iter_mut().rev() {
        let result = role.stop(&run).await;
        if stopped.is_ok() {
            stopped = result;
        }
    }
    stopped?;

    // summarise: each role adds what it measured, then the verdicts over all of it
    summary.elapsed_s = clock.start.elapsed().as_secs_f64();
    let collector = run
        .collected
        .get()
        .context("the collector stopped without its totals")?;
    let measured = collector.measured();
    let results = Results {
        collector,
        measured: &measured,
        cut_at,
    };
    for role in &roles {
        role.summarise(&run, &results, &mut summary);
    }
    summary.incidents = run.incidents.episodes();
    let fatal = run.incidents.fatal().map(|f| f.why.clone());
    verdict::conclude(&mut summary, scenario, interrupted, fatal);
    Ok((summary, measured))
}

/// Stops the run through its incidents once it has taken `limit` (its schedule, its drain and
/// [`DEADLINE_GRACE`]): a run that something keeps from ending (an endpoint that accepts
/// connections and never answers) ends anyway, failed, with its report. Dropping the guard
/// disarms it.
fn hard_deadline(incidents: Arc<Incidents>, limit: Duration) -> tokio_util::sync::DropGuard {
    let disarm = tokio_util::sync::CancellationToken::new();
    let disarmed = disarm.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(limit) => incidents.fail(format!(
                "the run passed its hard deadline of {:.0} s (the schedule, the drain and {} s more) and was stopped there",
                limit.as_secs_f64(),
                DEADLINE_GRACE.as_secs()
            )),
            _ = disarmed.cancelled() => {}
        }
    });
    disarm.drop_guard()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_util::sync::CancellationToken;

    #[tokio::test]
    async fn a_run_that_cannot_end_is_stopped_at_its_hard_deadline() {
        let stop = CancellationToken::new();
        let incidents = Arc::new(Incidents::new("s", stop.clone()));
        let _guard = hard_deadline(incidents.clone(), Duration::from_millis(20));
        tokio::time::timeout(Duration::from_secs(10), stop.cancelled())
            .await
            .expect("the deadline cancels the run");
        let why = &incidents.fatal().expect("a fatal incident").why;
        assert!(why.contains("hard deadline"), "{why}");
    }

    #[tokio::test]
    async fn a_run_that_ends_in_time_disarms_its_deadline() {
        let stop = CancellationToken::new();
        let incidents = Arc::new(Incidents::new("s", stop.clone()));
        drop(hard_deadline(incidents.clone(), Duration::from_millis(20)));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!stop.is_cancelled());
        assert!(incidents.fatal().is_none());
    }
}
