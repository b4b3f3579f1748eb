//! Reads wait for the writes in progress: a GetRecords never runs while a PutRecord or
//! PutRecords is in progress, so it sees every earlier write whole.
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
//! How: one read-write lock for the endpoint; writes share it, a read takes it alone. The body
//! is read before the lock is taken, so a client that stalls mid-request holds up nobody.
//!
//! It is on whatever the options say: it is a correctness fix, not a limit.

use super::EmbeddedOptions;
use super::request;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ferrokinesis::store::Store;
use std::sync::Arc;
use tokio::sync::RwLock;

/// Puts the behaviour on `router`.
pub(super) fn layer(router: Router, _store: &Store, _options: &EmbeddedOptions) -> Router {
    router.layer(axum::middleware::from_fn_with_state(
        Arc::new(RwLock::new(())),
        reads_after_writes,
    ))
}

/// Writes share the lock, reads take it alone: a read never overlaps a write in progress.
async fn reads_after_writes(
    State(lock): State<Arc<RwLock<()>>>,
    request: Request,
    next: Next,
) -> Response {
    let reads = match request::operation(request.headers()) {
        "GetRecords" => true,
        "PutRecord" | "PutRecords" => false,
        _ => return next.run(request).await,
    };
    let request = match request::read_body(request).await {
        Ok((request, _)) => request,
        Err(refused) => return refused,
    };
    if reads {
        let _alone = lock.write().await;
        next.run(request).await
    } else {
        let _shared = lock.read().await;
        next.run(request).await
    }
}
