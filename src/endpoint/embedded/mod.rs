//! The embedded Kinesis endpoint: ferrokinesis served inside the kbench process on loopback,
//! with the behaviours of real Kinesis that ferrokinesis lacks layered on its router.
//!
//! This folder is the only place that knows about ferrokinesis, so it can be swapped:
//! - `server.rs`: listening, serving a router, stopping (the null endpoint uses it too);
//! - `request.rs`: what the layers read from a request (operation, body, stream);
//! - one file per layer, each saying which Kinesis behaviour it restores and why ferrokinesis
//!   lacks it; [`LAYERS`] stacks them. `faults.rs` is the one that makes it misbehave instead,
//!   on purpose (`[target.faults]`).

mod behind_latest;
mod delivery;
mod faults;
mod firehose;
mod read_limits;
mod reads_after_writes;
pub(crate) mod request;
mod request_size;
pub mod s3;
mod server;
mod subscribe;

use anyhow::Context;
use axum::Router;
use ferrokinesis::store::{DurableStateOptions, Store, StoreOptions};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How the embedded endpoint behaves.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Throttle writes at the real per-shard limits (1 MiB/s and 1,000 records/s), and reads
    /// too unless `enforce_read_limits` is off; off: no limits at all.
    pub enforce_limits: bool,
    /// Throttle reads at the real per-shard limits (GetRecords 5 calls/s and 2 MiB/s,
    /// GetShardIterator 5 calls/s; `read_limits.rs`); only with `enforce_limits`.
    pub enforce_read_limits: bool,
    /// Cap on the record bytes the endpoint keeps; writes beyond it fail with
    /// LimitExceededException, so a long run cannot exhaust memory.
    pub max_retained_bytes: u64,
    /// How long CreateStream and DeleteStream keep a stream CREATING or DELETING (and
    /// UpdateShardCount UPDATING). Real Kinesis takes seconds to minutes; kbench's own runs
    /// wait for ACTIVE either way.
    pub lifecycle_delay: Duration,
    /// Where the endpoint keeps its state (a write-ahead log and snapshots) so a restart
    /// resumes it; None: in memory only.
    pub state_dir: Option<std::path::PathBuf>,
    /// Faults to inject (`[target.faults]`, `kbench serve --faults`); None: none.
    pub faults: Option<crate::scenario::faults::Faults>,
    /// What the endpoint injected, counted; clones of the options share the counters, so
    /// whoever made the options reads what the endpoint they started injected.
    pub injected: Arc<Injected>,
    /// How long a SubscribeToShard subscription lasts before its stream of events ends and the
    /// client must renew it (5 minutes on real Kinesis; shorter to test renewals).
    pub efo_session: Duration,
    /// Serve S3 too, on the same port, its buckets the folders of this directory (`s3.rs`);
    /// None: Kinesis only.
    pub s3_dir: Option<std::path::PathBuf>,
}

pub use faults::{Injected, InjectedCounts};

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            enforce_limits: true,
            enforce_read_limits: true,
            max_retained_bytes: DEFAULT_MAX_RETAINED_BYTES,
            lifecycle_delay: Duration::from_millis(50),
            state_dir: None,
            faults: None,
            injected: Arc::default(),
            efo_session: DEFAULT_EFO_SESSION,
            s3_dir: None,
        }
    }
}

/// How often a durable endpoint (`--state-dir`) snapshots its state; between snapshots its
/// write-ahead log has every change.
const SNAPSHOT_INTERVAL_S: u64 = 10;

/// How long a SubscribeToShard subscription lasts on real Kinesis (../shared/spec/KINESIS.md,
/// "Enhanced fan-out (EFO)").
pub const DEFAULT_EFO_SESSION: Duration = Duration::from_secs(300);

/// Default retained-bytes cap: 4 GiB, about 70 minutes of one shard at its full write limit.
pub const DEFAULT_MAX_RETAINED_BYTES: u64 = 4 << 30;

/// A behaviour put on ferrokinesis's router: it wraps `router` and returns it. It may use the
/// store the router serves; a layer that models a limit returns `router` unchanged when
/// `enforce_limits` is off, so that a run can measure the client alone.
type Layer = fn(router: Router, store: &Store, options: &EmbeddedOptions) -> Router;

/// The layers, innermost first: each wraps ferrokinesis and the layers before it, so a request
/// meets the last one first. A new behaviour is a new file in this folder with a `layer`
/// function (copy `reads_after_writes.rs`) and one more line here.
const LAYERS: &[Layer] = &[
    request_size::layer,
    reads_after_writes::layer,
    behind_latest::layer,
    subscribe::layer,
    read_limits::layer,
    faults::layer,
];

/// ferrokinesis's router over `store`, with every layer on it.
fn layers(router: Router, store: &Store, options: &EmbeddedOptions) -> Router {
    LAYERS
        .iter()
        .fold(router, |router, layer| layer(router, store, options))
}

/// One port for several APIs: a request whose `X-Amz-Target` is Firehose's goes to Firehose,
/// one without an `X-Amz-Target` to S3 (when served), any other to Kinesis (ferrokinesis and
/// its layers: it answers an unknown target with UnknownOperationException). ferrokinesis's
/// router answers every path, so the choice is made in front of it.
fn by_api(kinesis: Router, firehose: Router, s3: Option<Router>) -> Router {
    use tower::ServiceExt;
    Router::new().fallback(move |request: axum::extract::Request| {
        let headers = request.headers();
        let to = match &s3 {
            _ if firehose::is_firehose(headers) => firehose.clone(),
            Some(s3) if s3::is_s3(headers) => s3.clone(),
            _ => kinesis.clone(),
        };
        async move {
            let Ok(response) = to.oneshot(request).await;
            response
        }
    })
}

/// A running local endpoint (the embedded one, or the null one); stops when dropped or
/// `shutdown` is called.
pub struct Embedded {
    /// Where it listens: 127.0.0.1 and the port (the OS's choice for port 0).
    pub addr: SocketAddr,
    /// Cancelled to stop the server.
    stop: CancellationToken,
    /// The server, awaited on shutdown so that its requests in progress finish.
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
            create_stream_ms: options.lifecycle_delay.as_millis() as u64,
            delete_stream_ms: options.lifecycle_delay.as_millis() as u64,
            update_stream_ms: options.lifecycle_delay.as_millis() as u64,
            durable: options.state_dir.clone().map(|dir| DurableStateOptions {
                state_dir: dir,
                snapshot_interval_secs: SNAPSHOT_INTERVAL_S,
                max_retained_bytes: Some(options.max_retained_bytes),
            }),
            ..StoreOptions::default()
        };
        let (app, store) = ferrokinesis::create_app(store_options);
        let kinesis = layers(app, &store, options);
        let addr = listener
            .local_addr()
            .context("the local endpoint's socket has no address")?;
        let stop = CancellationToken::new();
        let firehose = firehose::router(firehose::Setting {
            region: store.aws_region.clone(),
            delay: options.lifecycle_delay,
            url: format!("http://{addr}"),
            s3_dir: options.s3_dir.clone(),
            stop: stop.clone(),
        });
        let s3 = match &options.s3_dir {
            Some(dir) => Some(s3::router(dir, addr.port())?),
            None => None,
        };
        Self::serve_app_until(listener, by_api(kinesis, firehose, s3), stop)
    }

    /// Serves `app` on `listener`: the embedded endpoint, or the null one.
    pub fn serve_app(listener: TcpListener, app: Router) -> anyhow::Result<Embedded> {
        Self::serve_app_until(listener, app, CancellationToken::new())
    }

    /// [`Self::serve_app`], stopping when `stop` is cancelled (dropping or shutting down the
    /// endpoint cancels it).
    fn serve_app_until(
        listener: TcpListener,
        app: Router,
        stop: CancellationToken,
    ) -> anyhow::Result<Embedded> {
        let addr = listener
            .local_addr()
            .context("the local endpoint's socket has no address")?;
        let task = tokio::spawn(server::serve(listener, app, stop.clone()));
        Ok(Embedded {
            addr,
            stop,
            task: Some(task),
        })
    }

    /// Binds 127.0.0.1 on `port` (0: any free port) and serves.
    pub async fn start(port: u16, options: &EmbeddedOptions) -> anyhow::Result<Embedded> {
        Self::serve(server::bind(port).await?, options)
    }

    /// The null endpoint (see [`super::null`]) on 127.0.0.1 `port` (0: any free port).
    pub async fn start_null(port: u16) -> anyhow::Result<Embedded> {
        Self::start_null_with(port, &EmbeddedOptions::default()).await
    }

    /// The null endpoint with the faults of `options` (the only options it takes).
    pub async fn start_null_with(port: u16, options: &EmbeddedOptions) -> anyhow::Result<Embedded> {
        let app = faults::apply(super::null::app(), options);
        Self::serve_app(server::bind(port).await?, app)
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

impl Drop for Embedded {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
