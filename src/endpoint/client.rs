//! The SDK client for every endpoint kind: embedded, a URL, or real AWS.
//!
//! SDK retries are off: kbench retries failed records itself so it can count every attempt and
//! time retries from the intended send time.

use crate::scenario::Endpoint;
use anyhow::{Context, bail};
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::{Credentials, Region};
use std::time::Duration;

/// Region used for local endpoints when none is given.
pub const LOCAL_REGION: &str = "us-east-1";

/// Builds a client for `endpoint`; `local_url` is the embedded endpoint's address when running.
pub async fn build(
    endpoint: &Endpoint,
    region: Option<&str>,
    local_url: Option<&str>,
) -> anyhow::Result<Client> {
    // a guard for every call (stream setup included); puts and reads have tighter ones of their own
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(120))
        .build();
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts);
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
            Ok(Client::new(&config))
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
            Ok(Client::new(&config))
        }
    }
}
