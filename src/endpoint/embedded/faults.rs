//! Injected faults (`[target.faults]`, `kbench serve --faults FILE`): errors, partial failures,
//! added latency, stalls, connection resets and outages, so that a run shows what kbench and the
//! client do when Kinesis misbehaves.
//!
//! Real Kinesis: calls fail whole with InternalFailure (500), ServiceUnavailable (503) or
//! ProvisionedThroughputExceededException (400) in the awsJson error shape; a PutRecords fails
//! some entries and stores the rest; networks add latency, stall, reset connections and go away
//! (../shared/spec/KINESIS.md, "Errors on the wire", "PutRecords partial failure").
//!
//! Why ferrokinesis 0.7 lacks it: it is correct; it fails only at the shard limits.
//!
//! How, for each request, in this order (the faults are described in
//! [`crate::scenario::faults`]):
//! 1. in an outage, its connection is dropped unanswered, before anything is served;
//! 2. in a stall, it waits until the stall ends;
//! 3. a latency rule for its operation delays it;
//! 4. an error rule fails it whole, unserved;
//! 5. a PutRecords has entries failed ([`partial`]): only the others are forwarded and stored;
//! 6. served, a data-plane call's response may be lost: the connection is dropped instead (a
//!    reset), so a write may be stored though the client saw an error, as with a real reset.
//!
//! Dropping a connection needs the server ([`super::server::Sever`]). Draws come from one
//! generator seeded with the faults' seed. Each fault is counted ([`Injected`]), for the report.
//! It is on whenever faults are given, limits or not.

mod counts;
mod partial;

use super::EmbeddedOptions;
use super::request;
use super::server::severed;
use crate::scenario::faults::{DATA_PLANE, Delay, ErrorCode, Faults, MAX_DELAY, applies};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use ferrokinesis::store::Store;
use partial::EntryFault;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp1, StandardNormal};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use counts::{Injected, InjectedCounts};

/// Puts the behaviour on `router`.
pub(super) fn layer(router: Router, _store: &Store, options: &EmbeddedOptions) -> Router {
    apply(router, options)
}

/// Puts the faults of `options` (if any) on any local endpoint's router: the null one too.
pub(super) fn apply(router: Router, options: &EmbeddedOptions) -> Router {
    let Some(faults) = &options.faults else {
        return router;
    };
    let state = Arc::new(FaultState {
        rng: Mutex::new(SmallRng::seed_from_u64(faults.seed)),
        clock: OnceLock::new(),
        last_stall: AtomicU64::new(0),
        outage_hit: faults
            .outages
            .iter()
            .map(|_| AtomicBool::new(false))
            .collect(),
        injected: Arc::clone(&options.injected),
        faults: faults.clone(),
    });
    router.layer(axum::middleware::from_fn_with_state(state, inject))
}

/// The faults and what injecting them needs.
struct FaultState {
    faults: Faults,
    /// The one generator every draw comes from.
    rng: Mutex<SmallRng>,
    /// When the fault clock started: the first data-plane request.
    clock: OnceLock<Instant>,
    /// The number of the last stall that held a request (stalls are numbered from 1).
    last_stall: AtomicU64,
    /// Whether each outage has dropped a request yet.
    outage_hit: Vec<AtomicBool>,
    /// The counts, shared with whoever started the endpoint.
    injected: Arc<Injected>,
}

/// The calls that start the fault clock: a run's first (the consumer's iterators, or a put).
const CLOCK_STARTERS: [&str; 2] = ["GetShardIterator", "SubscribeToShard"];

async fn inject(State(state): State<Arc<FaultState>>, request: Request, next: Next) -> Response {
    let operation = request::operation(request.headers()).to_string();
    let counted = &state.injected;
    if let Some((start, at)) = state.clock(&operation) {
        if let Some(i) = state
            .faults
            .outages
            .iter()
            .position(|o| o.from <= at && at < o.to)
        {
            if !state.outage_hit[i].swap(true, Ordering::Relaxed) {
                Injected::add(&counted.outages, 1);
            }
            Injected::add(&counted.outage_dropped, 1);
            return severed();
        }
        if let Some((until, n)) = state.faults.stalled_until(at) {
            if state.last_stall.fetch_max(n, Ordering::Relaxed) < n {
                Injected::add(&counted.stalls, 1);
            }
            Injected::add(&counted.stalled, 1);
            tokio::time::sleep_until((start + until).into()).await;
        }
    }
    if let Some(delay) = state.delay(&operation) {
        Injected::add(&counted.delayed, 1);
        tokio::time::sleep(delay).await;
    }
    if let Some(code) = state.error(&operation) {
        Injected::add(
            match code {
                ErrorCode::InternalFailure => &counted.internal_failure,
                ErrorCode::ServiceUnavailable => &counted.service_unavailable,
                ErrorCode::ProvisionedThroughputExceededException => &counted.throttled,
            },
            1,
        );
        let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let message = format!("{} (injected by kbench's faults)", code.name());
        return request::kinesis_error(status, code.name(), &message);
    }
    let response = if operation == "PutRecords" && state.faults.partial_failure_rate > 0.0 {
        partial::put_records(request, next, |n| state.entry_faults(n)).await
    } else {
        next.run(request).await
    };
    if state.faults.reset_rate > 0.0
        && applies("*", &operation)
        && state.draw() < state.faults.reset_rate
    {
        Injected::add(&counted.resets, 1);
        return severed();
    }
    response
}

impl FaultState {
    /// The fault clock's start and where it is now, starting it on the first data-plane
    /// request; None before.
    fn clock(&self, operation: &str) -> Option<(Instant, Duration)> {
        let start = match self.clock.get() {
            Some(start) => *start,
            None if DATA_PLANE.contains(&operation) || CLOCK_STARTERS.contains(&operation) => {
                *self.clock.get_or_init(Instant::now)
            }
            None => return None,
        };
        Some((start, start.elapsed()))
    }

    /// A uniform draw in [0, 1).
    fn draw(&self) -> f64 {
        self.rng().random::<f64>()
    }

    fn rng(&self) -> std::sync::MutexGuard<'_, SmallRng> {
        self.rng.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The error a call of `operation` fails with, if any: one draw against the rates of the
    /// rules for it, in order.
    fn error(&self, operation: &str) -> Option<ErrorCode> {
        let rules: Vec<_> = self
            .faults
            .errors
            .iter()
            .filter(|r| applies(&r.operation, operation))
            .collect();
        if rules.is_empty() {
            return None;
        }
        let mut u = self.draw();
        for rule in rules {
            if u < rule.rate {
                return Some(rule.code);
            }
            u -= rule.rate;
        }
        None
    }

    /// The delay the first latency rule for `operation` draws, if one applies.
    fn delay(&self, operation: &str) -> Option<Duration> {
        let rule = self
            .faults
            .latency
            .iter()
            .find(|r| applies(&r.operation, operation))?;
        let secs = |d: Duration| d.as_secs_f64();
        let mut rng = self.rng();
        let delay = match rule.delay {
            Delay::Fixed(d) => secs(d),
            Delay::Exponential { mean } => {
                let e: f64 = Exp1.sample(&mut *rng);
                secs(mean) * e
            }
            Delay::Uniform { min, max } => {
                secs(min) + (secs(max) - secs(min)) * rng.random::<f64>()
            }
            Delay::Lognormal { median, sigma } => {
                let z: f64 = StandardNormal.sample(&mut *rng);
                secs(median) * (sigma * z).exp()
            }
        };
        Some(Duration::try_from_secs_f64(delay).map_or(MAX_DELAY, |d| d.min(MAX_DELAY)))
    }

    /// Which of a PutRecords' `n` entries fail, and how: each with the partial-failure rate,
    /// half of them throttled, half InternalFailure; counted.
    fn entry_faults(&self, n: usize) -> Vec<Option<EntryFault>> {
        let rate = self.faults.partial_failure_rate;
        let faults: Vec<Option<EntryFault>> = {
            let mut rng = self.rng();
            (0..n)
                .map(|_| {
                    let u = rng.random::<f64>();
                    if u >= rate {
                        None
                    } else if u < rate / 2.0 {
                        Some(EntryFault::Throttled)
                    } else {
                        Some(EntryFault::InternalFailure)
                    }
                })
                .collect()
        };
        let throttled = faults
            .iter()
            .filter(|f| **f == Some(EntryFault::Throttled))
            .count();
        let internal = faults
            .iter()
            .filter(|f| **f == Some(EntryFault::InternalFailure))
            .count();
        Injected::add(&self.injected.partial_throttled, throttled as u64);
        Injected::add(&self.injected.partial_internal_failure, internal as u64);
        faults
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::faults::{ErrorRule, LatencyRule};

    fn state(faults: Faults) -> FaultState {
        FaultState {
            rng: Mutex::new(SmallRng::seed_from_u64(faults.seed)),
            clock: OnceLock::new(),
            last_stall: AtomicU64::new(0),
            outage_hit: Vec::new(),
            injected: Arc::default(),
            faults,
        }
    }

    fn rule(operation: &str, code: ErrorCode, rate: f64) -> ErrorRule {
        ErrorRule {
            operation: operation.into(),
            code,
            rate,
        }
    }

    #[test]
    fn errors_come_at_their_rates_and_the_seed_repeats_them() {
        let faults = Faults {
            seed: 5,
            errors: vec![
                rule("PutRecords", ErrorCode::InternalFailure, 0.1),
                rule("*", ErrorCode::ServiceUnavailable, 0.2),
            ],
            ..Faults::default()
        };
        let draws = |s: &FaultState, op: &str| -> Vec<Option<ErrorCode>> {
            (0..10_000).map(|_| s.error(op)).collect()
        };
        let (a, b) = (state(faults.clone()), state(faults));
        let puts = draws(&a, "PutRecords");
        assert_eq!(
            puts,
            draws(&b, "PutRecords"),
            "the same seed, the same draws"
        );
        let share = |v: &[Option<ErrorCode>], c: ErrorCode| {
            v.iter().filter(|e| **e == Some(c)).count() as f64 / v.len() as f64
        };
        assert!((share(&puts, ErrorCode::InternalFailure) - 0.1).abs() < 0.02);
        assert!((share(&puts, ErrorCode::ServiceUnavailable) - 0.2).abs() < 0.02);
        let reads = draws(&a, "GetRecords");
        assert_eq!(share(&reads, ErrorCode::InternalFailure), 0.0);
        assert!((share(&reads, ErrorCode::ServiceUnavailable) - 0.2).abs() < 0.02);
        assert_eq!(
            a.error("CreateStream"),
            None,
            "\"*\" is the data plane only"
        );
    }

    #[test]
    fn delays_follow_their_distribution() {
        let ms = Duration::from_millis;
        let with = |delay: Delay| {
            state(Faults {
                latency: vec![LatencyRule {
                    operation: "PutRecords".into(),
                    delay,
                }],
                ..Faults::default()
            })
        };
        let sample = |s: &FaultState| -> Vec<Duration> {
            let mut v: Vec<Duration> = (0..2_000).filter_map(|_| s.delay("PutRecords")).collect();
            v.sort();
            v
        };
        assert_eq!(with(Delay::Fixed(ms(50))).delay("PutRecords"), Some(ms(50)));
        assert_eq!(with(Delay::Fixed(ms(50))).delay("GetRecords"), None);
        let uniform = sample(&with(Delay::Uniform {
            min: ms(10),
            max: ms(20),
        }));
        assert!(uniform[0] >= ms(10) && uniform[uniform.len() - 1] <= ms(20));
        let median = |v: &[Duration]| v[v.len() / 2];
        let exp = sample(&with(Delay::Exponential { mean: ms(20) }));
        let mean = exp.iter().sum::<Duration>() / exp.len() as u32;
        assert!(mean > ms(17) && mean < ms(23), "exponential mean {mean:?}");
        let log = sample(&with(Delay::Lognormal {
            median: ms(20),
            sigma: 0.5,
        }));
        assert!(
            median(&log) > ms(18) && median(&log) < ms(22),
            "{:?}",
            median(&log)
        );
    }

    #[test]
    fn partial_failures_are_split_between_the_two_codes_and_counted() {
        let s = state(Faults {
            partial_failure_rate: 0.2,
            ..Faults::default()
        });
        let plan = s.entry_faults(5_000);
        let failed = plan.iter().flatten().count();
        assert!((800..1200).contains(&failed), "{failed} of 5,000 at 20%");
        let counts = s.injected.snapshot();
        assert_eq!(
            (counts.partial_throttled + counts.partial_internal_failure) as usize,
            failed
        );
        assert!(counts.partial_throttled > 300 && counts.partial_internal_failure > 300);
    }
}
