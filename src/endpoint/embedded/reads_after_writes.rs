//! Reads wait for the writes in progress to their stream: a GetRecords never runs while a
//! PutRecord or PutRecords to the same stream is in progress, so it sees every earlier write
//! whole.
//!
//! Real Kinesis: a shard's records are read in sequence-number order and sequence numbers
//! increase within a shard (../shared/spec/KINESIS.md, "Routing and ordering"), so a reader whose
//! iterator has moved past a sequence number never meets a record with a lower one later: once
//! a write is acknowledged, every reader of its shard reads it.
//!
//! Why ferrokinesis 0.7 lacks it: it gives a record its sequence number (a per-shard counter)
//! before it stores the record, and nothing stops a read in between. A GetRecords that runs
//! between the two, while another write to the same shard has already stored a later record,
//! returns the later one and moves its iterator past the earlier record, which no reader then
//! sees: acknowledged, yet lost (a few hundred "lost" records in throttled runs).
//!
//! How: one read-write lock per stream; writes to a stream share it, a read takes it alone, so
//! writes to one stream neither wait for nor hold up reads of another. The stream is resolved
//! as ferrokinesis resolves it (see [`super::request::stream_name`]). A request whose stream
//! cannot be told (a CBOR body, an iterator ferrokinesis did not make) runs alone on the whole
//! endpoint instead: every request with a known stream also holds an endpoint-wide lock,
//! shared, which such a request takes exclusively. A stream's lock exists only while a request
//! holds or awaits it, so the locks never outnumber the requests in flight. The body is read
//! before any lock is taken, so a client that stalls mid-request holds up nobody.
//!
//! It is on whatever the options say: it is a correctness fix, not a limit.

use super::EmbeddedOptions;
use super::request;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ferrokinesis::store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};
use tokio::sync::{RwLockReadGuard, RwLockWriteGuard};

/// Puts the behaviour on `router`.
pub(super) fn layer(router: Router, _store: &Store, _options: &EmbeddedOptions) -> Router {
    router.layer(axum::middleware::from_fn_with_state(
        Arc::new(StreamLocks::default()),
        reads_after_writes,
    ))
}

async fn reads_after_writes(
    State(locks): State<Arc<StreamLocks>>,
    request: Request,
    next: Next,
) -> Response {
    let reads = match request::operation(request.headers()) {
        "GetRecords" => true,
        "PutRecord" | "PutRecords" => false,
        _ => return next.run(request).await,
    };
    let (request, body) = match request::read_body(request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let stream = request::stream_name(
        request::operation(request.headers()),
        request.headers(),
        &body,
    );
    let _held = if reads {
        locks.reading(stream).await
    } else {
        locks.writing(stream).await
    };
    next.run(request).await
}

/// Who may run beside whom: writes to a stream together, a read of a stream alone, a request
/// whose stream is unknown alone on the whole endpoint.
#[derive(Default)]
struct StreamLocks {
    /// Held shared by every request whose stream is known, exclusively by one whose stream is
    /// not, which so excludes every other.
    everything: RwLock<()>,
    /// The lock of each stream that a request holds or awaits, by stream name.
    streams: Mutex<HashMap<String, Slot>>,
}

/// One stream's lock.
struct Slot {
    /// Shared by the writes to the stream, taken alone by a read of it.
    lock: Arc<RwLock<()>>,
    /// How many requests hold or await `lock`: the slot goes when the last one does, so that
    /// the map stays as small as the requests in flight.
    users: usize,
}

/// What a request holds while ferrokinesis serves it; dropping it lets the others in.
struct Held<'a> {
    /// Its stream's lock, unless the stream is unknown; declared first, so released first.
    _stream: Option<StreamHeld<'a>>,
    /// The endpoint-wide lock, shared: the stream is known.
    _shared: Option<RwLockReadGuard<'a, ()>>,
    /// The endpoint-wide lock, alone: the stream is unknown.
    _alone: Option<RwLockWriteGuard<'a, ()>>,
}

/// A stream's lock, held.
struct StreamHeld<'a> {
    /// Held shared: the request writes.
    _writes: Option<OwnedRwLockReadGuard<()>>,
    /// Held alone: the request reads.
    _reads: Option<OwnedRwLockWriteGuard<()>>,
    /// The request's count in the stream's slot; declared after the guards, so it is given
    /// back only once the lock is released.
    _user: User<'a>,
}

/// A request counted in `users` of its stream's slot, from before it awaits the lock until
/// after it releases it (or stops waiting): while one is counted, the slot stays, so every
/// request on the stream meets the same lock.
struct User<'a> {
    /// Where the slot is.
    streams: &'a Mutex<HashMap<String, Slot>>,
    /// Its stream.
    name: String,
}

impl StreamLocks {
    /// Waits until a write to `stream` (`None`: unknown) may run.
    async fn writing(&self, stream: Option<String>) -> Held<'_> {
        self.hold(stream, false).await
    }

    /// Waits until a read of `stream` (`None`: unknown) may run.
    async fn reading(&self, stream: Option<String>) -> Held<'_> {
        self.hold(stream, true).await
    }

    async fn hold(&self, stream: Option<String>, alone: bool) -> Held<'_> {
        let Some(name) = stream else {
            return Held {
                _stream: None,
                _shared: None,
                _alone: Some(self.everything.write().await),
            };
        };
        let shared = self.everything.read().await;
        let (user, lock) = self.enter(name);
        let held = if alone {
            StreamHeld {
                _writes: None,
                _reads: Some(lock.write_owned().await),
                _user: user,
            }
        } else {
            StreamHeld {
                _writes: Some(lock.read_owned().await),
                _reads: None,
                _user: user,
            }
        };
        Held {
            _stream: Some(held),
            _shared: Some(shared),
            _alone: None,
        }
    }

    /// Counts a request in `name`'s slot, making the slot if there is none, and gives its lock.
    fn enter(&self, name: String) -> (User<'_>, Arc<RwLock<()>>) {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        let lock = match streams.get_mut(&name) {
            Some(slot) => {
                slot.users += 1;
                Arc::clone(&slot.lock)
            }
            None => {
                let lock = Arc::new(RwLock::new(()));
                let slot = Slot {
                    lock: Arc::clone(&lock),
                    users: 1,
                };
                streams.insert(name.clone(), slot);
                lock
            }
        };
        let user = User {
            streams: &self.streams,
            name,
        };
        (user, lock)
    }

    /// How many streams have a lock now.
    #[cfg(test)]
    fn streams_locked(&self) -> usize {
        self.streams.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl Drop for User<'_> {
    fn drop(&mut self) {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = streams.get_mut(&self.name) {
            slot.users -= 1;
            if slot.users == 0 {
                streams.remove(&self.name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;
    use std::time::Duration;
    use tokio::time::timeout;

    /// Long enough for a free lock on any machine: reaching it means the lock was not free.
    const DEADLINE: Duration = Duration::from_secs(10);
    /// How long a request that must wait is watched waiting; it cannot get in however long.
    const WATCH: Duration = Duration::from_millis(20);

    fn stream(name: &str) -> Option<String> {
        Some(name.to_string())
    }

    #[tokio::test]
    async fn a_write_holds_up_reads_of_its_own_stream_only() {
        let locks = StreamLocks::default();
        let write_a = locks.writing(stream("a")).await;
        // writes to a stream run together
        let other_write_a = timeout(DEADLINE, locks.writing(stream("a"))).await;
        assert!(other_write_a.is_ok(), "a second write to a waits");
        drop(other_write_a);
        // a read of another stream is not held up
        let read_b = timeout(DEADLINE, locks.reading(stream("b"))).await;
        assert!(read_b.is_ok(), "a read of b waits for a write to a");
        drop(read_b);
        // a read of the same stream is, until the write is done
        let mut read_a = pin!(locks.reading(stream("a")));
        assert!(
            timeout(WATCH, &mut read_a).await.is_err(),
            "a read of a runs during a write to a"
        );
        drop(write_a);
        assert!(
            timeout(DEADLINE, read_a).await.is_ok(),
            "the read of a still waits after the write"
        );
    }

    #[tokio::test]
    async fn a_read_holds_up_writes_to_its_own_stream_only() {
        let locks = StreamLocks::default();
        let read_a = locks.reading(stream("a")).await;
        assert!(timeout(DEADLINE, locks.writing(stream("b"))).await.is_ok());
        assert!(timeout(DEADLINE, locks.reading(stream("b"))).await.is_ok());
        let mut write_a = pin!(locks.writing(stream("a")));
        assert!(
            timeout(WATCH, &mut write_a).await.is_err(),
            "a write to a runs during a read of a"
        );
        drop(read_a);
        assert!(timeout(DEADLINE, write_a).await.is_ok());
    }

    #[tokio::test]
    async fn a_request_on_an_unknown_stream_runs_alone() {
        let locks = StreamLocks::default();
        // it waits for a write to any stream
        let write_a = locks.writing(stream("a")).await;
        let mut unknown = pin!(locks.writing(None));
        assert!(
            timeout(WATCH, &mut unknown).await.is_err(),
            "runs beside a write to a"
        );
        drop(write_a);
        let unknown = timeout(DEADLINE, unknown).await;
        assert!(unknown.is_ok());
        // and every request, on any stream, waits for it
        let mut write_b = pin!(locks.writing(stream("b")));
        assert!(
            timeout(WATCH, &mut write_b).await.is_err(),
            "a write to b runs beside it"
        );
        let mut read_c = pin!(locks.reading(stream("c")));
        assert!(
            timeout(WATCH, &mut read_c).await.is_err(),
            "a read of c runs beside it"
        );
        let mut other_unknown = pin!(locks.reading(None));
        assert!(
            timeout(WATCH, &mut other_unknown).await.is_err(),
            "two unknown run together"
        );
        drop(unknown);
        assert!(timeout(DEADLINE, write_b).await.is_ok());
        assert!(timeout(DEADLINE, read_c).await.is_ok());
        assert!(timeout(DEADLINE, other_unknown).await.is_ok());
    }

    #[tokio::test]
    async fn a_stream_keeps_a_lock_only_while_a_request_holds_or_awaits_it() {
        let locks = StreamLocks::default();
        let write_a = locks.writing(stream("a")).await;
        let write_a_too = locks.writing(stream("a")).await;
        let read_b = locks.reading(stream("b")).await;
        assert_eq!(locks.streams_locked(), 2);
        drop(write_a);
        assert_eq!(locks.streams_locked(), 2, "a is still written");
        {
            // a read of a that gives up waiting (its client went away) leaves nothing behind
            let mut read_a = pin!(locks.reading(stream("a")));
            assert!(timeout(WATCH, &mut read_a).await.is_err());
        }
        drop(write_a_too);
        assert_eq!(locks.streams_locked(), 1);
        drop(read_b);
        assert_eq!(locks.streams_locked(), 0);
        // a request on an unknown stream makes no slot
        let unknown = locks.reading(None).await;
        assert_eq!(locks.streams_locked(), 0);
        drop(unknown);
        // a stream used again gets a lock again, which works as before
        let read_a = locks.reading(stream("a")).await;
        let mut write_a = pin!(locks.writing(stream("a")));
        assert!(timeout(WATCH, &mut write_a).await.is_err());
        drop(read_a);
        assert!(timeout(DEADLINE, write_a).await.is_ok());
        assert_eq!(locks.streams_locked(), 0);
    }
}
