//! An SDK HTTP client for plain `http://` endpoints that speaks HTTP/2 without TLS (h2c, with
//! prior knowledge): what SubscribeToShard needs on a local endpoint.
//!
//! Why: SubscribeToShard's events come over HTTP/2 ("Using HTTP 1.1 for SubscribeToShard isn't
//! supported", ../shared/spec/KINESIS.md, "Enhanced fan-out"). The SDK's default client speaks h2
//! only over TLS (ALPN) and HTTP/1.1 on `http://`, so a loopback endpoint would serve the event
//! stream over HTTP/1.1 or not at all. Only the EFO consumer's SubscribeToShard client uses this
//! one ([`super::client::efo_client`]); PutRecords and GetRecords stay on HTTP/1.1.
//!
//! An endpoint that speaks only HTTP/1.1 cannot answer it: it answers the HTTP/2 connection
//! preface with an HTTP/1.1 error (or nothing), hyper drops the connection, and the call fails
//! with "channel closed" (or times out). [`probe`] tells which, for the error message
//! (docs/efo.md).
//!
//! Connections: HTTP/2 carries many requests at once on one connection, but a server caps the
//! streams open at once on one (hyper's default: 200) and a request past the cap waits for a
//! stream to free. A subscription holds its stream for five minutes, so a consumer of many
//! shards would wait that long; each connection here carries at most
//! [`STREAMS_PER_CONNECTION`] requests at once, and more open more connections.

use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

/// Requests one connection carries at once: RFC 9113 asks servers to allow no fewer than 100
/// concurrent streams, so no server holds one of them back.
pub const STREAMS_PER_CONNECTION: usize = 100;

/// How often an idle-looking connection is pinged: a subscription can be quiet for seconds,
/// and a peer that vanished without closing the connection is found within this plus
/// [`PING_TIMEOUT`] instead of never.
const PING_INTERVAL: Duration = Duration::from_secs(20);
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// The h2c client for `endpoint_url` if it is a plain `http://` one; None for anything else
/// (`https://`: the SDK's default client, which speaks h2 over TLS).
pub fn client_for(endpoint_url: &str) -> Option<SharedHttpClient> {
    is_plain_http(endpoint_url).then(|| SharedHttpClient::new(H2c::default()))
}

/// Whether `url` is a plain `http://` one (no TLS).
pub fn is_plain_http(url: &str) -> bool {
    url.get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
}

/// The [`HttpClient`]: one connector per pair of timeouts the SDK asks for.
#[derive(Debug, Default)]
struct H2c {
    connectors: Mutex<Vec<(Timeouts, SharedHttpConnector)>>,
}

/// (connect, read) timeouts from the SDK's [`HttpConnectorSettings`].
type Timeouts = (Option<Duration>, Option<Duration>);

impl HttpClient for H2c {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self.connectors.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, c)) = connectors.iter().find(|(k, _)| *k == key) {
            return c.clone();
        }
        let connector = SharedHttpConnector::new(Connector {
            timeouts: key,
            lines: Mutex::default(),
        });
        connectors.push((key, connector.clone()));
        connector
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        Some(ConnectorMetadata::new("kbench-h2c", None))
    }
}

/// Sends requests over HTTP/2 without TLS, spread over connections.
#[derive(Debug)]
struct Connector {
    timeouts: Timeouts,
    /// The connections: each a hyper client of its own (its own pool, so its own connection to
    /// the endpoint), with the requests it carries now.
    lines: Mutex<Vec<Line>>,
}

#[derive(Debug, Clone)]
struct Line {
    client: Client<TcpConnector, SdkBody>,
    /// Requests in flight on it, a response body counting as in flight until dropped.
    busy: Arc<AtomicUsize>,
}

impl Connector {
    /// A connection with a free stream, a new one if every one is full; its count taken.
    fn line(&self) -> (Client<TcpConnector, SdkBody>, Busy) {
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        let free = lines
            .iter()
            .find(|l| l.busy.load(Ordering::Relaxed) < STREAMS_PER_CONNECTION)
            .cloned();
        let line = free.unwrap_or_else(|| {
            let line = Line {
                client: self.client(),
                busy: Arc::default(),
            };
            lines.push(line.clone());
            line
        });
        line.busy.fetch_add(1, Ordering::Relaxed);
        (line.client, Busy(line.busy))
    }

    fn client(&self) -> Client<TcpConnector, SdkBody> {
        let mut tcp = TcpConnector::new();
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(self.timeouts.0);
        Client::builder(TokioExecutor::new())
            .http2_only(true)
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .http2_keep_alive_interval(PING_INTERVAL)
            .http2_keep_alive_timeout(PING_TIMEOUT)
            .build(tcp)
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(r) => r,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let (client, busy) = self.line();
        let read_timeout = self.timeouts.1;
        HttpConnectorFuture::new(async move {
            let call = client.request(request);
            let response = match read_timeout {
                Some(limit) => tokio::time::timeout(limit, call).await.map_err(|_| {
                    ConnectorError::timeout(format!("no response within {limit:?}").into())
                })?,
                None => call.await,
            }
            .map_err(connector_error)?;
            let response =
                response.map(|body| SdkBody::from_body_1_x(Counted { body, _busy: busy }));
            HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// What a failed request was, for the SDK's error kinds: not connected or cut off (io), timed
/// out, or anything else (an HTTP/2 protocol error: the endpoint does not speak h2c).
fn connector_error(err: hyper_util::client::legacy::Error) -> ConnectorError {
    let hyper = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<hyper::Error>());
    let io = err.is_connect() || hyper.is_some_and(|h| h.is_closed() || h.is_canceled());
    let timeout = hyper.is_some_and(hyper::Error::is_timeout);
    match (io, timeout) {
        (_, true) => ConnectorError::timeout(err.into()),
        (true, _) => ConnectorError::io(err.into()),
        _ => ConnectorError::other(err.into(), None),
    }
}

/// Gives its connection's stream back when dropped.
#[derive(Debug)]
struct Busy(Arc<AtomicUsize>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that holds its connection's stream while it lives.
struct Counted {
    body: Incoming,
    _busy: Busy,
}

impl Body for Counted {
    type Data = hyper::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// What an endpoint answers to the start of an HTTP/2 connection without TLS.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// A SETTINGS frame: it speaks h2c.
    Http2,
    /// An HTTP/1.x answer: its status line.
    Http1(String),
    /// Something else: its first bytes, escaped.
    Other(String),
    /// It closed the connection without a word.
    Closed,
    /// Nothing within the time given.
    Silent,
    /// No connection: why.
    Unreachable(String),
}

/// The client connection preface (RFC 9113, 3.4), then an empty SETTINGS frame.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";

/// Opens a connection to the `http://` endpoint at `url`, sends what an h2c client sends
/// first, and says what came back within `within`: for the words of an error, never on the
/// path of a call.
pub async fn probe(url: &str, within: Duration) -> Answer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let uri = match url.parse::<hyper::Uri>() {
        Ok(u) => u,
        Err(e) => return Answer::Unreachable(format!("not a URL: {e}")),
    };
    let Some(host) = uri.host() else {
        return Answer::Unreachable("no host in the URL".into());
    };
    let addr = (host.trim_matches(['[', ']']), uri.port_u16().unwrap_or(80));
    let talk = async {
        let mut conn = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| Answer::Unreachable(e.to_string()))?;
        conn.write_all(PREFACE)
            .await
            .map_err(|e| Answer::Unreachable(e.to_string()))?;
        let mut first = [0u8; 64];
        let n = conn.read(&mut first).await.unwrap_or(0);
        Ok::<_, Answer>(first[..n].to_vec())
    };
    let first = match tokio::time::timeout(within, talk).await {
        Err(_) => return Answer::Silent,
        Ok(Err(a)) => return a,
        Ok(Ok(first)) => first,
    };
    // a frame header: 3 bytes of length, then the type (4: SETTINGS)
    if first.is_empty() {
        Answer::Closed
    } else if first.starts_with(b"HTTP/") {
        let line = first
            .split(|b| *b == b'\r' || *b == b'\n')
            .next()
            .unwrap_or_default();
        Answer::Http1(String::from_utf8_lossy(line).into_owned())
    } else if first.len() >= 9 && first[3] == 4 {
        Answer::Http2
    } else {
        Answer::Other(first.escape_ascii().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_gets_h2c() {
        assert!(client_for("http://127.0.0.1:4567").is_some());
        assert!(client_for("HTTP://localhost").is_some());
        assert!(client_for("https://kinesis.us-east-1.amazonaws.com").is_none());
        assert!(client_for("").is_none());
    }

    /// A loopback server that answers each connection with `answer` (None: holds it open,
    /// silent), then closes it.
    async fn answering(answer: Option<&'static [u8]>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut conn, _)) = listener.accept().await {
                let mut buf = [0u8; 64];
                let _ = conn.read(&mut buf).await;
                match answer {
                    Some(a) => {
                        let _ = conn.write_all(a).await;
                    }
                    None => held.push(conn),
                }
            }
        });
        url
    }

    #[tokio::test]
    async fn the_probe_tells_h2c_from_http1_silence_and_nothing() {
        let long = Duration::from_secs(30);
        let embedded = crate::endpoint::embedded::Embedded::start(0, &Default::default())
            .await
            .expect("embedded endpoint");
        assert_eq!(probe(&embedded.url(), long).await, Answer::Http2);
        let http1 = answering(Some(
            b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n",
        ))
        .await;
        assert_eq!(
            probe(&http1, long).await,
            Answer::Http1("HTTP/1.1 400 Bad Request".into())
        );
        assert_eq!(
            probe(&answering(Some(b"")).await, long).await,
            Answer::Closed
        );
        assert_eq!(
            probe(&answering(Some(b"\x15\x03")).await, long).await,
            Answer::Other("\\x15\\x03".into())
        );
        let silent = answering(None).await;
        assert_eq!(
            probe(&silent, Duration::from_millis(100)).await,
            Answer::Silent
        );
        let gone = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            format!("http://{}", l.local_addr().expect("addr"))
        };
        assert!(matches!(probe(&gone, long).await, Answer::Unreachable(_)));
    }
}
