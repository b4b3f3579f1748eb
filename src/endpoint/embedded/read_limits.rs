//! Reads are throttled at Kinesis's per-shard read limits: GetRecords at 5 calls a second and
//! 2 MiB a second per shard, GetShardIterator at 5 calls a second per shard.
//!
//! Real Kinesis (../shared/spec/KINESIS.md, "Data-plane limits", "Read limits"): all polling
//! consumers of a shard share these limits; a call over them fails with
//! ProvisionedThroughputExceededException (HTTP 400). A GetRecords response is never cut short
//! for the byte limit: it is delivered whole and the shard's next calls throttle until it is
//! paid back ("a 10 MB response makes the next 5 s of calls throttle").
//!
//! Why ferrokinesis 0.7 lacks it: it throttles writes only (with `enforce_limits`); any number of
//! readers may poll a shard as fast as they like, so a run's consumer never meets the limits
//! that make polling consumers lag on real Kinesis.
//!
//! How:
//! - the shard of a call: for GetShardIterator its `StreamName`/`StreamARN` and `ShardId`; for
//!   GetRecords the one its iterator was made for, read back from the iterator itself
//!   (ferrokinesis's iterators are AES-encrypted with a key it publishes, so
//!   [`request::shard`] decrypts them; no table of iterators is kept). A call whose shard
//!   cannot be told (a CBOR body, an iterator ferrokinesis did not make) is not limited:
//!   ferrokinesis answers it, mostly with an error;
//! - the call rates: a keyed [`governor`] limiter per operation, keyed by shard (GCRA: a burst
//!   of 5, then one more call every 200 ms; so six calls at once get one throttle, five a
//!   second for ever none, and a shard idle for a second takes five at once and four more in
//!   the next 800 ms). Every GetRecords that passes the call rate counts against it, one the
//!   byte debt then refuses too;
//! - the bytes: each shard's allowance is a bucket of one second's worth (2 MiB) that a
//!   response may overdraw ([`debt`], which says why it is not governor); a GetRecords on a
//!   shard in debt is refused. The bytes of a response, its records' data and partition keys
//!   ([`count`]), are charged after ferrokinesis has answered, by reading its body once;
//! - memory: entries of shards idle for a second or more are the same as none, so every few
//!   seconds they are dropped (governor's `retain_recent`): the maps hold the shards read in
//!   the last seconds, a few hundred bytes each, so 10,000 shards take a few MB, and the
//!   shards of deleted streams do not pile up.
//!
//! Throttled calls are answered as Kinesis answers them now: HTTP 400,
//! `ProvisionedThroughputExceededException` in `x-amzn-errortype` and `__type`, and the message
//! `Rate exceeded for Shard - <account>/<stream>/<shard id>` (as quoted from GetRecords
//! throttles in 2023 and 2025 issue reports against the KCL and RisingWave; the older
//! `Rate exceeded for shard <shard id> in stream <stream> under account <account>.` is what
//! SDKs logged up to about 2019).
//!
//! It is on unless `enforce_limits` (`--no-limits`, which lifts every limit) or
//! `enforce_read_limits` (`--no-read-limits`, these only) is off. It sits outside every layer
//! but the faults, so that reads which other layers make inside the endpoint (SubscribeToShard)
//! never meet it.

mod count;
mod debt;

use super::EmbeddedOptions;
use super::request::{self, Shard};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use debt::{Allowance, Debt};
use ferrokinesis::store::Store;
use governor::clock::{Clock, MonotonicClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// GetRecords calls a second per shard (../shared/spec/KINESIS.md, "Data-plane limits").
const GET_RECORDS_CALLS_PER_SEC: NonZeroU32 =
    NonZeroU32::new(crate::scenario::limits::GET_RECORDS_CALLS_PER_SEC).unwrap();
/// GetShardIterator calls a second per shard (../shared/spec/KINESIS.md, "Data-plane limits").
const GET_SHARD_ITERATOR_CALLS_PER_SEC: NonZeroU32 = NonZeroU32::new(5).unwrap();
/// GetRecords bytes a second per shard: "2 MB", taken as 2 MiB as ferrokinesis takes the
/// write side's "1 MB" as 1 MiB (../shared/spec/KINESIS.md, "Data-plane limits").
const GET_RECORDS_BYTES_PER_SEC: u64 = 2 << 20;
/// The byte allowance: filling at the limit, holding one second of it.
const BYTE_ALLOWANCE: Allowance = Allowance::new(GET_RECORDS_BYTES_PER_SEC, 1);
/// How often the entries of idle shards are dropped, in nanoseconds: 5 s.
const SWEEP_EVERY_NANOS: u64 = 5_000_000_000;

/// Puts the behaviour on `router`, unless the options lift it.
pub(super) fn layer(router: Router, store: &Store, options: &EmbeddedOptions) -> Router {
    if !(options.enforce_limits && options.enforce_read_limits) {
        return router;
    }
    let limits = ReadLimits::new(MonotonicClock, store.aws_account_id.clone());
    apply(router, Arc::new(limits))
}

/// Puts `limits` on `router` (the tests give them a fake clock).
fn apply<C>(router: Router, limits: Arc<ReadLimits<C>>) -> Router
where
    C: Clock + Clone + Send + Sync + 'static,
{
    router.layer(axum::middleware::from_fn_with_state(
        limits,
        limit_reads::<C>,
    ))
}

async fn limit_reads<C: Clock + Clone>(
    State(limits): State<Arc<ReadLimits<C>>>,
    request: Request,
    next: Next,
) -> Response {
    let get_records = match request::operation(request.headers()) {
        "GetRecords" => true,
        "GetShardIterator" => false,
        _ => return next.run(request).await,
    };
    let (request, body) = match request::read_body(request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let operation = if get_records {
        "GetRecords"
    } else {
        "GetShardIterator"
    };
    let Some(shard) = request::shard(operation, request.headers(), &body) else {
        return next.run(request).await;
    };
    if !get_records {
        return match limits.get_shard_iterator(&shard) {
            Ok(()) => next.run(request).await,
            Err(Throttled) => limits.throttled(&shard),
        };
    }
    if limits.get_records(&shard).is_err() {
        return limits.throttled(&shard);
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    // the body ferrokinesis made is one chunk in memory: gathering it copies nothing
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => {
            if let Some(n) = count::record_bytes(&bytes) {
                limits.charge(&shard, n);
            }
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(e) => request::kinesis_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            &format!("the embedded endpoint could not read its own GetRecords answer: {e}"),
        ),
    }
}

/// A call refused: its shard is over a limit.
#[derive(Debug, PartialEq, Eq)]
struct Throttled;

/// A keyed call-rate limiter on the clock `C`.
type CallLimiter<C> =
    RateLimiter<Shard, DashMapStateStore<Shard>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The read limits of every shard, on the clock `C` (a fake one in the tests).
struct ReadLimits<C: Clock = MonotonicClock> {
    /// GetRecords calls, by shard.
    get_records: CallLimiter<C>,
    /// GetShardIterator calls, by shard.
    get_shard_iterator: CallLimiter<C>,
    /// GetRecords bytes owed, by shard; a shard with a full allowance has no entry (or one that
    /// the next sweep drops).
    debts: Mutex<HashMap<Shard, Debt>>,
    /// The clock and where it started: times below are nanoseconds since then.
    clock: C,
    start: C::Instant,
    /// When idle shards' entries were last dropped.
    swept_at: AtomicU64,
    /// The endpoint's account, for the throttle's message.
    account: String,
}

impl<C: Clock + Clone> ReadLimits<C> {
    fn new(clock: C, account: String) -> Self {
        ReadLimits {
            get_records: RateLimiter::dashmap_with_clock(
                Quota::per_second(GET_RECORDS_CALLS_PER_SEC),
                clock.clone(),
            ),
            get_shard_iterator: RateLimiter::dashmap_with_clock(
                Quota::per_second(GET_SHARD_ITERATOR_CALLS_PER_SEC),
                clock.clone(),
            ),
            debts: Mutex::default(),
            start: clock.now(),
            clock,
            swept_at: AtomicU64::new(0),
            account,
        }
    }

    /// Nanoseconds since the limits were made.
    fn now(&self) -> u64 {
        self.clock.now().duration_since(self.start).as_u64()
    }

    /// Whether a GetRecords on `shard` may run now: within the call rate, and the shard not in
    /// debt for bytes. It counts against the call rate either way.
    fn get_records(&self, shard: &Shard) -> Result<(), Throttled> {
        let now = self.now();
        self.sweep_if_due(now);
        self.get_records.check_key(shard).map_err(|_| Throttled)?;
        match self.debts().get(shard) {
            Some(debt) if BYTE_ALLOWANCE.in_debt(debt, now) => Err(Throttled),
            _ => Ok(()),
        }
    }

    /// Whether a GetShardIterator on `shard` may run now.
    fn get_shard_iterator(&self, shard: &Shard) -> Result<(), Throttled> {
        self.sweep_if_due(self.now());
        self.get_shard_iterator
            .check_key(shard)
            .map_err(|_| Throttled)
    }

    /// Charges `bytes` read from `shard` by a GetRecords just answered.
    fn charge(&self, shard: &Shard, bytes: u64) {
        if bytes == 0 {
            return;
        }
        let now = self.now();
        let mut debts = self.debts();
        match debts.get_mut(shard) {
            Some(debt) => BYTE_ALLOWANCE.charge(debt, now, bytes),
            None => {
                let mut debt = Debt::default();
                BYTE_ALLOWANCE.charge(&mut debt, now, bytes);
                debts.insert(shard.clone(), debt);
            }
        }
    }

    fn debts(&self) -> std::sync::MutexGuard<'_, HashMap<Shard, Debt>> {
        self.debts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drops the entries of shards whose limits are back to where an unread shard's are, if
    /// the last sweep was [`SWEEP_EVERY_NANOS`] ago; one caller sweeps, the others go on.
    fn sweep_if_due(&self, now: u64) {
        let last = self.swept_at.load(Ordering::Relaxed);
        if now.saturating_sub(last) < SWEEP_EVERY_NANOS
            || self
                .swept_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        for limiter in [&self.get_records, &self.get_shard_iterator] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let mut debts = self.debts();
        debts.retain(|_, debt| !BYTE_ALLOWANCE.is_full(debt, now));
        if debts.capacity() > 4 * debts.len() + 64 {
            debts.shrink_to_fit();
        }
    }

    /// How many shards have an entry in any of the limits.
    #[cfg(test)]
    fn tracked(&self) -> (usize, usize, usize) {
        (
            self.get_records.len(),
            self.get_shard_iterator.len(),
            self.debts().len(),
        )
    }

    /// Kinesis's answer to a throttled read of `shard`.
    fn throttled(&self, shard: &Shard) -> Response {
        request::kinesis_error(
            StatusCode::BAD_REQUEST,
            "ProvisionedThroughputExceededException",
            &format!(
                "Rate exceeded for Shard - {}/{}/{}",
                self.account, shard.stream, shard.shard_id
            ),
        )
    }
}

#[cfg(test)]
mod tests;
