//! A session: the endpoint and a ready stream, which several runs can use in turn.

use super::{RunOutcome, RunSettings};
use crate::endpoint::embedded::Embedded;
use crate::endpoint::{client, stream};
use crate::scenario::{Endpoint, Scenario};
use anyhow::Context;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// An endpoint and a ready stream that several runs can use in turn (`kbench sweep` runs every
/// step of a shard count on one stream): the embedded endpoint if the scenario uses it, the
/// client, and the stream, deleted on close if kbench created it and `delete_after` is set.
pub struct Session {
    embedded: Option<Embedded>,
    client: aws_sdk_kinesis::Client,
    ready: stream::ReadyStream,
    delete: bool,
}

impl Session {
    /// Starts the embedded endpoint if the scenario uses it and prepares its stream.
    pub async fn open(scenario: &Scenario, settings: &RunSettings) -> anyhow::Result<Session> {
        let target = &scenario.target;
        let embedded = match target.endpoint {
            Endpoint::Embedded => Some(Embedded::start(0, &settings.embedded).await?),
            _ => None,
        };
        let local_url = embedded.as_ref().map(Embedded::url);
        let client = client::build(
            &target.endpoint,
            target.region.as_deref(),
            local_url.as_deref(),
        )
        .await?;
        let deadline = if target.endpoint == Endpoint::Aws {
            Duration::from_secs(300)
        } else {
            Duration::from_secs(60)
        };
        let ready = stream::ensure(
            &client,
            &target.stream,
            target.shards,
            target.create,
            deadline,
        )
        .await
        .with_context(|| {
            format!(
                "cannot prepare stream `{}` on {}",
                target.stream, target.endpoint
            )
        });
        let ready = match ready {
            Ok(ready) => ready,
            Err(e) => {
                if let Some(e) = embedded {
                    e.shutdown().await;
                }
                return Err(e);
            }
        };
        Ok(Session {
            embedded,
            client,
            delete: ready.created && target.delete_after,
            ready,
        })
    }

    /// Runs `scenario` (its target must be the one the session was opened with) on the stream.
    pub async fn run(
        &self,
        scenario: &Scenario,
        settings: &RunSettings,
        cancel: CancellationToken,
    ) -> anyhow::Result<RunOutcome> {
        super::variants::run(scenario, settings, cancel, &self.client, &self.ready).await
    }

    /// Deletes the stream if kbench created it (and may), and stops the embedded endpoint.
    pub async fn close(self) {
        if self.delete
            && let Err(e) = stream::delete(&self.client, &self.ready.name).await
        {
            tracing::warn!("{e:#}");
        }
        if let Some(e) = self.embedded {
            e.shutdown().await;
        }
    }
}
