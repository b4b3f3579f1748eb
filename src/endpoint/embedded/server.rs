//! The server under a local endpoint: listen on loopback, serve a router on the listener until
//! told to stop, then let the requests in progress finish. It knows nothing of Kinesis, so the
//! embedded endpoint and the null one share it.

use anyhow::Context;
use std::future::Future;
use tokio::net::TcpListener;

/// Listens on 127.0.0.1 `port` (0: a port the OS chooses).
pub(super) async fn bind(port: u16) -> anyhow::Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| {
            format!("cannot listen on 127.0.0.1:{port}; choose another port with --port")
        })
}

/// Serves `app` on `listener` until `shutdown` completes; then accepts no more connections and
/// returns once the requests in progress are answered. A failure is logged: the run it serves
/// sees it as failed requests.
pub(super) async fn serve(
    listener: TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    if let Err(e) = served {
        tracing::error!("embedded endpoint stopped: {e}");
    }
}
