//! The server under a local endpoint: listen on loopback, serve a router on the listener until
//! told to stop, then let the requests in progress finish. It knows nothing of Kinesis, so the
//! embedded endpoint and the null one share it.
//!
//! It can also drop a connection without answering, as a network fault would: a layer that puts
//! [`Sever`] in a response's extensions gets its connection closed (with a TCP reset) instead of
//! the response sent. The layers cannot do it themselves, since they see requests, not sockets:
//! every connection is accepted with a switch that its requests carry, and once a marked
//! response has flipped it the socket refuses to write (or read) and is closed.
//!
//! It speaks HTTP/1.1 and HTTP/2 without TLS (h2c, prior knowledge) on the same port, as
//! enhanced fan-out needs HTTP/2; a severed connection drops every HTTP/2 stream on it, as a
//! network fault would. Every request carries the server's stop signal ([`Stopping`]), so a
//! response that streams for minutes (a SubscribeToShard subscription) ends when the server
//! stops instead of holding up its shutdown.

use anyhow::Context;
use axum::extract::Request;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::middleware::Next;
use axum::response::Response;
use axum::serve::IncomingStream;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context as TaskContext, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Listens on 127.0.0.1 `port` (0: a port the OS chooses).
pub(super) async fn bind(port: u16) -> anyhow::Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| {
            format!("cannot listen on 127.0.0.1:{port}; choose another port with --port")
        })
}

/// Serves `app` on `listener` until `stop` is cancelled; then accepts no more connections and
/// returns once the requests in progress are answered. A failure is logged: the run it serves
/// sees it as failed requests.
pub(super) async fn serve(listener: TcpListener, app: axum::Router, stop: CancellationToken) {
    let app = app
        .layer(axum::middleware::from_fn(sever_marked))
        .layer(axum::Extension(Stopping(stop.clone())))
        .into_make_service_with_connect_info::<Switch>();
    let served = axum::serve(Connections(listener), app)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await;
    if let Err(e) = served {
        tracing::error!("embedded endpoint stopped: {e}");
    }
}

/// The server's stop signal, in every request's extensions: cancelled when the server begins to
/// stop, for a layer whose response streams to end it then.
#[derive(Debug, Clone)]
pub(super) struct Stopping(pub(super) CancellationToken);

/// Put in a response's extensions by a layer: drop the connection instead of sending it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sever;

/// A response that is never sent: its connection is dropped. Were it sent (a router served
/// without [`serve`]), it would be a 503, never a success.
pub(super) fn severed() -> Response {
    let mut response = Response::default();
    *response.status_mut() = axum::http::StatusCode::SERVICE_UNAVAILABLE;
    response.extensions_mut().insert(Sever);
    response
}

/// Flips the connection's switch when the response is marked [`Sever`].
async fn sever_marked(request: Request, next: Next) -> Response {
    let switch = request.extensions().get::<ConnectInfo<Switch>>().cloned();
    let response = next.run(request).await;
    if response.extensions().get::<Sever>().is_some()
        && let Some(ConnectInfo(switch)) = switch
    {
        switch.0.store(true, Ordering::Release);
    }
    response
}

/// The listener, accepting each connection with its switch.
struct Connections(TcpListener);

impl axum::serve::Listener for Connections {
    type Io = Line;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Line, SocketAddr) {
        let (io, addr) = axum::serve::Listener::accept(&mut self.0).await;
        // answers and pushed events go out when written, not held back for the client's
        // acknowledgement of the last ones (Nagle's algorithm)
        if let Err(e) = io.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY on a connection from {addr}: {e}");
        }
        let line = Line {
            io,
            cut: Arc::new(AtomicBool::new(false)),
        };
        (line, addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// A connection's switch, in every request it carries (as its `ConnectInfo`).
#[derive(Debug, Clone)]
struct Switch(Arc<AtomicBool>);

impl Connected<IncomingStream<'_, Connections>> for Switch {
    fn connect_info(stream: IncomingStream<'_, Connections>) -> Switch {
        Switch(Arc::clone(&stream.io().cut))
    }
}

/// An accepted connection that fails every read and write once its switch is flipped, so the
/// server drops it; the reset (zero linger) makes the client see "connection reset".
struct Line {
    io: TcpStream,
    /// Flipped by a response marked [`Sever`].
    cut: Arc<AtomicBool>,
}

impl Line {
    /// The error every operation on a severed connection gets, having set it to close with
    /// a reset.
    fn severed(&self) -> Option<io::Error> {
        if !self.cut.load(Ordering::Acquire) {
            return None;
        }
        let _ = self.io.set_zero_linger();
        Some(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "severed by an injected fault",
        ))
    }
}

impl AsyncRead for Line {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.severed() {
            Some(e) => Poll::Ready(Err(e)),
            None => Pin::new(&mut self.io).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Line {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.severed() {
            Some(e) => Poll::Ready(Err(e)),
            None => Pin::new(&mut self.io).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        match self.severed() {
            Some(e) => Poll::Ready(Err(e)),
            None => Pin::new(&mut self.io).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        match self.severed() {
            Some(e) => Poll::Ready(Err(e)),
            None => Pin::new(&mut self.io).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.severed() {
            Some(e) => Poll::Ready(Err(e)),
            None => Pin::new(&mut self.io).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
