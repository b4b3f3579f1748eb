//! The embedded Kinesis endpoint: ferrokinesis served inside the kbench process on loopback.
//!
//! This module is the only place that knows about ferrokinesis, so it can be swapped.
//!
//! One fix on top of ferrokinesis 0.7: it gives a record its sequence number before it stores
//! it, so a GetRecords that runs between the two, while another write to the same shard has
//! already stored a later record, returns the later one and moves its iterator past the earlier
//! record, which no reader then sees: acknowledged, yet lost. Observed as a few hundred "lost"
//! records in throttled runs. Here a GetRecords waits for the writes in progress to finish (and
//! writes wait for a read in progress), so a read sees every earlier write whole, as on Kinesis.

use anyhow::Context;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ferrokinesis::store::StoreOptions;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

/// How the embedded endpoint behaves.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Throttle writes at the real per-shard limits (1 MiB/s and 1,000 records/s).
    pub enforce_limits: bool,
    /// Cap on the record bytes the endpoint keeps; writes beyond it fail with
    /// LimitExceededException, so a long run cannot exhaust memory.
    pub max_retained_bytes: u64,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            enforce_limits: true,
            max_retained_bytes: DEFAULT_MAX_RETAINED_BYTES,
        }
    }
}

/// Default retained-bytes cap: 4 GiB, about 70 minutes of one shard at its full write limit.
pub const DEFAULT_MAX_RETAINED_BYTES: u64 = 4 << 30;

/// A running local endpoint (the embedded one, or the null one); stops when dropped or
/// `shutdown` is called.
pub struct Embedded {
    pub addr: SocketAddr,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Embedded {
    /// Serves on `listener` (bind 127.0.0.1:0 for an OS-chosen port).
    pub fn serve(listener: TcpListener, options: &EmbeddedOptions) -> anyhow::Result<Embedded> {
        let store_options = StoreOptions {
            enforce_limits: options.enforce_limits,
            max_retained_bytes: Some(options.max_retained_bytes),
            // account-wide shard limit: high enough for any scenario kbench accepts
            shard_limit: crate::scenario::limits::MAX_SHARDS,
            create_stream_ms: 50,
            delete_stream_ms: 50,
            update_stream_ms: 50,
            ..StoreOptions::default()
        };
        let (app, _store) = ferrokinesis::create_app(store_options);
        let app = app.layer(axum::middleware::from_fn_with_state(
            Arc::new(RwLock::new(())),
            reads_after_writes,
        ));
        Self::serve_app(listener, app)
    }

    /// Serves `app` on `listener`: the embedded endpoint, or the null one.
    pub fn serve_app(listener: TcpListener, app: axum::Router) -> anyhow::Result<Embedded> {
        let addr = listener
            .local_addr()
            .context("the local endpoint's socket has no address")?;
        let stop = CancellationToken::new();
        let shutdown = stop.clone();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!("embedded endpoint stopped: {e}");
            }
        });
        Ok(Embedded {
            addr,
            stop,
            task: Some(task),
        })
    }

    /// Binds 127.0.0.1 on `port` (0: any free port) and serves.
    pub async fn start(port: u16, options: &EmbeddedOptions) -> anyhow::Result<Embedded> {
        Self::serve(bind(port).await?, options)
    }

    /// The null endpoint (see [`super::null`]) on 127.0.0.1 `port` (0: any free port).
    pub async fn start_null(port: u16) -> anyhow::Result<Embedded> {
        Self::serve_app(bind(port).await?, super::null::app())
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits for the server task.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
        }
    }
}

async fn bind(port: u16) -> anyhow::Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| {
            format!("cannot listen on 127.0.0.1:{port}; choose another port with --port")
        })
}

/// Largest request body the endpoint reads: a 5 MiB PutRecords, base64-encoded, with its JSON.
const MAX_BODY_BYTES: usize = 16 << 20;

/// Writes share the lock, reads take it alone: a read never overlaps a write in progress. The
/// body is read before the lock is taken, so a client that stalls mid-request holds up nobody.
async fn reads_after_writes(
    State(lock): State<Arc<RwLock<()>>>,
    request: Request,
    next: Next,
) -> Response {
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let reads = match target.rsplit('.').next().unwrap_or("") {
        "GetRecords" => true,
        "PutRecord" | "PutRecords" => false,
        _ => return next.run(request).await,
    };
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return Response::builder()
                .status(axum::http::StatusCode::BAD_REQUEST)
                .body(axum::body::Body::from(format!(
                    "cannot read the request body: {e}"
                )))
                .unwrap_or_default();
        }
    };
    let request = Request::from_parts(parts, axum::body::Body::from(body));
    if reads {
        let _alone = lock.write().await;
        next.run(request).await
    } else {
        let _shared = lock.read().await;
        next.run(request).await
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
