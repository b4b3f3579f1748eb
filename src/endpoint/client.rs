//! The SDK client for every endpoint kind: embedded, a URL, or real AWS.
//!
//! SDK retries are off: kbench retries failed records itself so it can count every attempt and
//! time retries from the intended send time.
//!
//! Every client counts the bytes of the HTTP requests it sends (request line, headers and body,
//! as signed) into the calling task's counter when the call runs inside [`count_request_bytes`]:
//! the request size as the SDK serialised it, not an estimate.

use crate::scenario::Endpoint;
use anyhow::{Context, bail};
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_kinesis::config::{
    ConfigBag, Credentials, Intercept, Region, RuntimeComponents, SharedHttpClient,
};
use aws_sdk_kinesis::error::BoxError;
use std::cell::Cell;
use std::time::Duration;

tokio::task_local! {
    static REQUEST_BYTES: Cell<u64>;
}

/// Runs `call` and returns its output with the bytes of the requests it sent.
pub async fn count_request_bytes<F: std::future::Future>(call: F) -> (F::Output, u64) {
    REQUEST_BYTES
        .scope(Cell::new(0), async {
            let out = call.await;
            (out, REQUEST_BYTES.with(Cell::get))
        })
        .await
}

/// Adds each request's size to the calling task's counter, if it has one.
#[derive(Debug)]
struct RequestBytes;

impl Intercept for RequestBytes {
    fn name(&self) -> &'static str {
        "kbench-request-bytes"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = context.request();
        // "METHOD URI HTTP/1.1\r\n", "name: value\r\n" per header, "\r\n", then the body
        let line = req.method().len() + req.uri().len() + 11;
        let headers: usize = req
            .headers()
            .iter()
            .map(|(k, v)| k.len() + v.len() + 4)
            .sum();
        let body = req.body().bytes().map_or(0, <[u8]>::len);
        let n = (line + headers + 2 + body) as u64;
        let _ = REQUEST_BYTES.try_with(|c| c.set(c.get() + n));
        Ok(())
    }
}

fn client(config: &aws_config::SdkConfig) -> Client {
    let conf = aws_sdk_kinesis::config::Builder::from(config)
        .interceptor(RequestBytes)
        .build();
    Client::from_conf(conf)
}

/// Region used for local endpoints when none is given.
pub const LOCAL_REGION: &str = "us-east-1";

/// Builds a client for `endpoint`; `local_url` is the embedded endpoint's address when running.
pub async fn build(
    endpoint: &Endpoint,
    region: Option<&str>,
    local_url: Option<&str>,
) -> anyhow::Result<Client> {
    build_with(endpoint, region, local_url, None).await
}

/// The client for the EFO consumer's SubscribeToShard calls: like [`build`]'s, but on a plain
/// `http://` endpoint it speaks HTTP/2 without TLS ([`super::h2c`]), since the event stream
/// needs HTTP/2; on `https://` and AWS the SDK's default client already speaks h2 over TLS.
pub async fn efo_client(
    endpoint: &Endpoint,
    region: Option<&str>,
    local_url: Option<&str>,
) -> anyhow::Result<Client> {
    let url = match endpoint {
        Endpoint::Url(url) => Some(url.as_str()),
        Endpoint::Embedded => local_url,
        Endpoint::Aws => None,
    };
    let http = url.and_then(super::h2c::client_for);
    build_with(endpoint, region, local_url, http).await
}

/// [`build`], with `http` as the HTTP client instead of the SDK's default.
async fn build_with(
    endpoint: &Endpoint,
    region: Option<&str>,
    local_url: Option<&str>,
    http: Option<SharedHttpClient>,
) -> anyhow::Result<Client> {
    Ok(client(
        &sdk_config(endpoint, region, local_url, http).await?,
    ))
}

/// An S3 client for `endpoint`, as [`build`] makes Kinesis ones (no SDK retries, the same
/// credentials and timeouts). Off AWS it addresses buckets path-style (`URL/bucket/key`), as
/// local S3 endpoints expect, and checksums only where S3 requires them: the embedded S3 checks
/// each request's signature and MD5s, and a trailing CRC on every upload would only cost time.
pub async fn s3(
    endpoint: &Endpoint,
    region: Option<&str>,
    local_url: Option<&str>,
) -> anyhow::Result<aws_sdk_s3::Client> {
    use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
    let config = sdk_config(endpoint, region, local_url, None).await?;
    let builder = aws_sdk_s3::config::Builder::from(&config);
    let builder = match endpoint {
        Endpoint::Aws => builder,
        Endpoint::Embedded | Endpoint::Url(_) => builder
            .force_path_style(true)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired),
    };
    Ok(aws_sdk_s3::Client::from_conf(builder.build()))
}

/// A Firehose client for `endpoint`, as [`build`] makes Kinesis ones.
pub async fn firehose(
    endpoint: &Endpoint,
    region: Option<&str>,
    local_url: Option<&str>,
) -> anyhow::Result<aws_sdk_firehose::Client> {
    let config = sdk_config(endpoint, region, local_url, None).await?;
    Ok(aws_sdk_firehose::Client::new(&config))
}

/// The SDK configuration every client of kbench's is made from.
async fn sdk_config(
    endpoint: &Endpoint,
    region: Option<&str>,
    local_url: Option<&str>,
    http: Option<SharedHttpClient>,
) -> anyhow::Result<aws_config::SdkConfig> {
    // a guard for every call (stream setup included); puts and reads have tighter ones of their own
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(120))
        .build();
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts);
    let loader = match http {
        Some(http) => loader.http_client(http),
        None => loader,
    };
    match endpoint {
        Endpoint::Embedded | Endpoint::Url(_) => {
            let url = match endpoint {
                Endpoint::Url(url) => url.as_str(),
                _ => local_url.context("the embedded endpoint is not running")?,
            };
            let config = loader
                .endpoint_url(url)
                .region(Region::new(region.unwrap_or(LOCAL_REGION).to_string()))
                .credentials_provider(Credentials::new(
                    "kbench",
                    "kbench",
                    None,
                    None,
                    "kbench-local",
                ))
                .load()
                .await;
            Ok(config)
        }
        Endpoint::Aws => {
            let loader = match region {
                Some(r) => loader.region(Region::new(r.to_string())),
                None => loader,
            };
            let config = loader.load().await;
            if config.region().is_none() {
                bail!(
                    "no AWS region found: set AWS_REGION (or AWS_DEFAULT_REGION), `region` in the profile, `region` under [target], or pass --region"
                );
            }
            let provider = config
                .credentials_provider()
                .context("no AWS credentials provider is configured")?;
            use aws_credential_types::provider::ProvideCredentials;
            if let Err(e) =
                tokio::time::timeout(Duration::from_secs(10), provider.provide_credentials())
                    .await
                    .map_err(|_| "timed out".to_string())
                    .and_then(|r| r.map_err(|e| e.to_string()))
            {
                bail!(
                    "no AWS credentials found ({e}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE for a profile in ~/.aws/config (run `aws sso login` for SSO profiles)"
                );
            }
            Ok(config)
        }
    }
}
