//! The embedded S3 endpoint: the S3 API (s3s) over a directory (s3s-fs), served on the same
//! loopback port as Kinesis, so that one `AWS_ENDPOINT_URL` points an SDK at both. A bucket is a
//! folder of that directory and an object a file in it, for a user to look at after the run.
//!
//! Requests go here when they carry no `X-Amz-Target` (S3's REST API never does; Kinesis and
//! Firehose always do): see [`is_s3`].
//!
//! Authentication: S3 checks the request's SigV4 signature, so it must know the caller's
//! secret key; unlike the Kinesis side it cannot take any credentials. It knows the pairs
//! [`KEY_PAIRS`] (what kbench's own clients sign with, and what `kbench serve` tells users to
//! export) and, when set, the serving process's own `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY`; any other key gets S3's `NotSignedUp`.
//!
//! Addressing: path style (`http://127.0.0.1:PORT/bucket/key`), which SDKs choose by themselves
//! for an IP endpoint; a `localhost:PORT` endpoint also takes virtual-host style
//! (`bucket.localhost:PORT`).

use axum::Router;
use axum::body::Body;
use axum::error_handling::HandleError;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::path::Path;

/// The access key / secret key pairs the endpoint knows, besides the environment's.
pub const KEY_PAIRS: &[(&str, &str)] = &[("kbench", "kbench"), ("x", "x"), ("test", "test")];

/// Whether a request is for S3: it names no JSON API target.
pub(super) fn is_s3(headers: &HeaderMap) -> bool {
    super::request::target(headers).is_empty()
}

/// The S3 API over the directory `root` (created if missing), as a router; `port` is the one
/// the endpoint listens on (virtual-host addressing needs it).
pub(super) fn router(root: &Path, port: u16) -> anyhow::Result<Router> {
    use anyhow::Context;
    std::fs::create_dir_all(root)
        .with_context(|| format!("cannot create the S3 directory `{}`", root.display()))?;
    let fs = s3s_fs::FileSystem::new(root)
        .map_err(|e| anyhow::anyhow!("cannot serve S3 from `{}`: {e:?}", root.display()))?;
    let mut auth = s3s::auth::SimpleAuth::new();
    for (access, secret) in KEY_PAIRS {
        auth.register((*access).to_string(), (*secret).into());
    }
    if let (Ok(access), Ok(secret)) = (
        std::env::var("AWS_ACCESS_KEY_ID"),
        std::env::var("AWS_SECRET_ACCESS_KEY"),
    ) && !access.is_empty()
    {
        auth.register(access, secret.into());
    }
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(auth);
    let host = s3s::host::SingleDomain::new(&format!("localhost:{port}"))
        .map_err(|e| anyhow::anyhow!("cannot serve S3 on localhost:{port}: {e:?}"))?;
    builder.set_host(host);
    let service = HandleError::new(builder.build(), http_error);
    Ok(Router::new().fallback_service(service))
}

/// An HTTP-level failure of the S3 service (S3's own errors are already answers).
async fn http_error(e: s3s::HttpError) -> Response {
    tracing::error!("the embedded S3 endpoint failed a request: {e:?}");
    let mut response = Body::from("the embedded S3 endpoint could not answer").into_response();
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}
