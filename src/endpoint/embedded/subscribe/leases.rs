//! Who may subscribe to a shard now: one subscription per consumer and shard at a time, as
//! Kinesis allows (API_SubscribeToShard): "If you call SubscribeToShard again with the same
//! ConsumerARN and ShardId within 5 seconds of a successful call, you'll get a
//! ResourceInUseException. If you call SubscribeToShard 5 seconds or more after a successful
//! call, the second call takes over the subscription and the previous connection expires".
//!
//! A subscription that ended by itself (its session ran out, its shard's end was sent, the
//! server stopped) leaves the way free at once: the client renews right away with the last
//! continuation, and on real Kinesis a session (5 minutes) always outlasts the 5 seconds. One
//! whose client went away still holds it until 5 seconds after it began, as on Kinesis, where a
//! consumer that reconnects at once meets ResourceInUseException. A takeover ends the old
//! subscription cleanly (the "expires" of the documentation).
//!
//! Pure bookkeeping over instants the caller gives, so the rule is tested without a clock.

use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long after a successful SubscribeToShard a second one for the same consumer and shard
/// is refused (API_SubscribeToShard).
pub(super) const RENEWAL_WINDOW: Duration = Duration::from_secs(5);

/// A consumer and a shard of its stream: what one subscription is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Key {
    /// The consumer's ARN.
    pub(super) consumer: String,
    /// The shard, as `shardId-NNNNNNNNNNNN`.
    pub(super) shard: String,
}

/// How a subscription ended, as told to [`Leases::end`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ended {
    /// By itself: its session ran out, its shard's end was sent, or the server stopped. A new
    /// call may come at once.
    ByItself,
    /// Its client went away: the subscription still counts until [`RENEWAL_WINDOW`] after it
    /// began.
    ClientGone,
    /// It never started (the call failed after it was counted): as if it had not been made.
    NeverStarted,
}

/// The subscriptions of the last few seconds, by consumer and shard, each with what its
/// renewals share (`T`: the read pacer, so that a renewal does not start with a fresh budget).
pub(super) struct Leases<T> {
    /// One entry per consumer and shard subscribed to lately.
    entries: HashMap<Key, Entry<T>>,
    /// The generation the next grant gets: it tells a subscription's end from its successor's.
    next_generation: u64,
}

/// The latest subscription of a consumer to a shard.
struct Entry<T> {
    /// Which grant it is.
    generation: u64,
    /// When the call that made it succeeded.
    started: Instant,
    /// Where it is now.
    state: State,
    /// When it last began or ended: an entry ended this long ago ([`RENEWAL_WINDOW`]) goes.
    changed: Instant,
    /// What its renewals share.
    shared: T,
}

/// Where a subscription is.
enum State {
    /// Sending events; cancelling the token ends it (a takeover).
    Open(CancellationToken),
    /// Ended, and how.
    Ended(Ended),
}

/// What a successful call gets.
pub(super) struct Grant<T> {
    /// Its generation, to give back to [`Leases::end`].
    pub(super) generation: u64,
    /// Cancelled when a later call takes the subscription over (or the server stops, when the
    /// grant was made under the server's stop signal).
    pub(super) ends: CancellationToken,
    /// What it shares with the consumer's earlier and later subscriptions to the shard.
    pub(super) shared: T,
}

/// A call refused: a subscription for the same consumer and shard began less than
/// [`RENEWAL_WINDOW`] ago and has not ended by itself.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct InUse;

impl<T> Default for Leases<T> {
    fn default() -> Self {
        Leases {
            entries: HashMap::new(),
            next_generation: 1,
        }
    }
}

impl<T: Clone> Leases<T> {
    /// A SubscribeToShard for `key` at `now`: granted, or refused with [`InUse`]. `stopping` is
    /// the server's stop signal (the grant's token is its child); `fresh` makes what the
    /// renewals share when there is nothing to share yet.
    pub(super) fn acquire(
        &mut self,
        key: Key,
        now: Instant,
        stopping: Option<&CancellationToken>,
        fresh: impl FnOnce() -> T,
    ) -> Result<Grant<T>, InUse> {
        self.forget_old(now);
        let shared = match self.entries.get(&key) {
            Some(entry) => {
                let recent = now.saturating_duration_since(entry.started) < RENEWAL_WINDOW;
                match &entry.state {
                    State::Open(_) | State::Ended(Ended::ClientGone) if recent => {
                        return Err(InUse);
                    }
                    // taken over: the old subscription ends
                    State::Open(ends) => ends.cancel(),
                    State::Ended(_) => {}
                }
                entry.shared.clone()
            }
            None => fresh(),
        };
        let ends = stopping.map_or_else(CancellationToken::new, CancellationToken::child_token);
        let generation = self.next_generation;
        self.next_generation += 1;
        let entry = Entry {
            generation,
            started: now,
            state: State::Open(ends.clone()),
            changed: now,
            shared: shared.clone(),
        };
        self.entries.insert(key, entry);
        Ok(Grant {
            generation,
            ends,
            shared,
        })
    }

    /// The subscription of `key` granted as `generation` ended at `now`, as `how` says. An end
    /// of a subscription already taken over changes nothing.
    pub(super) fn end(&mut self, key: &Key, generation: u64, now: Instant, how: Ended) {
        let Some(entry) = self.entries.get_mut(key) else {
            return;
        };
        if entry.generation != generation {
            return;
        }
        if how == Ended::NeverStarted {
            self.entries.remove(key);
            return;
        }
        entry.state = State::Ended(how);
        entry.changed = now;
    }

    /// Drops the entries of subscriptions that ended [`RENEWAL_WINDOW`] ago or more: they
    /// refuse nothing, and a pacer idle that long has its whole budget back anyway.
    fn forget_old(&mut self, now: Instant) {
        self.entries.retain(|_, entry| {
            matches!(entry.state, State::Open(_))
                || now.saturating_duration_since(entry.changed) < RENEWAL_WINDOW
        });
    }

    /// How many consumer-and-shard entries are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(shard: &str) -> Key {
        Key {
            consumer: "arn:aws:kinesis:us-east-1:0:stream/s/consumer/c:1".into(),
            shard: shard.into(),
        }
    }

    fn at(start: Instant, millis: u64) -> Instant {
        start + Duration::from_millis(millis)
    }

    #[test]
    fn a_second_call_within_five_seconds_of_an_open_subscription_is_refused() {
        let t0 = Instant::now();
        let mut leases = Leases::default();
        let first = leases.acquire(key("a"), t0, None, || 7).expect("first");
        assert_eq!(first.shared, 7);
        assert_eq!(
            leases.acquire(key("a"), at(t0, 4_999), None, || 8).err(),
            Some(InUse)
        );
        // another shard, or another consumer, is another subscription
        assert!(leases.acquire(key("b"), at(t0, 10), None, || 9).is_ok());
        let other = Key {
            consumer: "arn:other".into(),
            shard: "a".into(),
        };
        assert!(leases.acquire(other, at(t0, 10), None, || 9).is_ok());
        assert!(!first.ends.is_cancelled(), "a refused call ends nothing");
    }

    #[test]
    fn a_call_five_seconds_later_takes_an_open_subscription_over() {
        let t0 = Instant::now();
        let mut leases = Leases::default();
        let first = leases.acquire(key("a"), t0, None, || 1).expect("first");
        let second = leases
            .acquire(key("a"), at(t0, 5_000), None, || 2)
            .expect("taken over");
        assert!(first.ends.is_cancelled(), "the old subscription ends");
        assert!(!second.ends.is_cancelled());
        assert_eq!(second.shared, 1, "the renewal shares the first one's pacer");
        // the old one's end, told late, does not free the new one
        leases.end(&key("a"), first.generation, at(t0, 5_001), Ended::ByItself);
        assert_eq!(
            leases.acquire(key("a"), at(t0, 5_002), None, || 3).err(),
            Some(InUse)
        );
    }

    #[test]
    fn a_subscription_that_ended_by_itself_may_be_renewed_at_once() {
        let t0 = Instant::now();
        let mut leases = Leases::default();
        let first = leases.acquire(key("a"), t0, None, || 1).expect("first");
        leases.end(&key("a"), first.generation, at(t0, 2_000), Ended::ByItself);
        let renewal = leases
            .acquire(key("a"), at(t0, 2_001), None, || 2)
            .expect("renewed at once");
        assert_eq!(renewal.shared, 1);
    }

    #[test]
    fn a_client_gone_holds_the_subscription_until_five_seconds_after_it_began() {
        let t0 = Instant::now();
        let mut leases = Leases::default();
        let first = leases.acquire(key("a"), t0, None, || 1).expect("first");
        leases.end(&key("a"), first.generation, at(t0, 100), Ended::ClientGone);
        assert_eq!(
            leases.acquire(key("a"), at(t0, 4_000), None, || 2).err(),
            Some(InUse)
        );
        assert!(leases.acquire(key("a"), at(t0, 5_000), None, || 2).is_ok());
    }

    #[test]
    fn a_call_that_never_started_counts_for_nothing() {
        let t0 = Instant::now();
        let mut leases = Leases::default();
        let first = leases.acquire(key("a"), t0, None, || 1).expect("first");
        leases.end(&key("a"), first.generation, t0, Ended::NeverStarted);
        assert_eq!(leases.len(), 0);
        let again = leases
            .acquire(key("a"), at(t0, 1), None, || 2)
            .expect("again");
        assert_eq!(again.shared, 2, "nothing was kept");
    }

    #[test]
    fn old_entries_go_and_open_ones_stay() {
        let t0 = Instant::now();
        let mut leases = Leases::default();
        let a = leases.acquire(key("a"), t0, None, || 1).expect("a");
        let _b = leases.acquire(key("b"), t0, None, || 1).expect("b");
        leases.end(&key("a"), a.generation, at(t0, 1_000), Ended::ByItself);
        // a new call somewhere else clears what ended long enough ago
        let _c = leases
            .acquire(key("c"), at(t0, 60_000), None, || 1)
            .expect("c");
        assert_eq!(leases.len(), 2, "b is open, c is new; a has gone");
    }

    #[test]
    fn the_server_stopping_ends_every_grant() {
        let t0 = Instant::now();
        let stopping = CancellationToken::new();
        let mut leases = Leases::default();
        let a = leases
            .acquire(key("a"), t0, Some(&stopping), || 1)
            .expect("a");
        stopping.cancel();
        assert!(a.ends.is_cancelled());
    }
}
