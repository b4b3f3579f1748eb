//! A session: the endpoint and a ready stream, which several runs can use in turn.

use super::{RunOutcome, RunSettings};
use crate::consumer::efo::Efo;
use crate::endpoint::embedded::{Embedded, EmbeddedOptions};
use crate::endpoint::{claim, client, stream};
use crate::scenario::{ConsumerKind, Endpoint, Scenario};
use anyhow::Context;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// An endpoint and a ready stream that several runs can use in turn (`kbench sweep` runs every
/// step of a shard count on one stream): the embedded endpoint if the scenario uses it, the
/// client, and the stream, deleted on close if kbench created it and `delete_after` is set.
pub struct Session {
    embedded: Option<Embedded>,
    /// The embedded S3's buckets, in a folder under `--out` while the run goes (moved into the
    /// report directory at the end); None unless the scenario delivers on the embedded endpoint.
    s3_dir: Option<tempfile::TempDir>,
    /// The delivery's bucket and delivery stream, when the scenario has a `[delivery]`.
    delivery: Option<crate::delivery::setup::Prepared>,
    client: aws_sdk_kinesis::Client,
    /// The enhanced fan-out consumers' clients, when the scenario has any.
    efo: Option<Efo>,
    ready: stream::ReadyStream,
    delete: bool,
    /// The run's tags on the stream.
    claim: claim::Claim,
}

impl Session {
    /// Starts the embedded endpoint if the scenario uses it and prepares its stream.
    pub async fn open(scenario: &Scenario, settings: &RunSettings) -> anyhow::Result<Session> {
        let target = &scenario.target;
        let s3_dir = match (&target.endpoint, &scenario.delivery) {
            (Endpoint::Embedded, Some(_)) => {
                std::fs::create_dir_all(&settings.out).with_context(|| {
                    format!(
                        "cannot create the output folder `{}`",
                        settings.out.display()
                    )
                })?;
                Some(
                    tempfile::Builder::new()
                        .prefix(".kbench-s3-")
                        .tempdir_in(&settings.out)
                        .with_context(|| {
                            format!(
                                "cannot make a folder for the embedded S3 under `{}`",
                                settings.out.display()
                            )
                        })?,
                )
            }
            _ => None,
        };
        let embedded = match target.endpoint {
            Endpoint::Embedded => {
                // the scenario's faults; the counters stay the settings' own, for the report
                let options = EmbeddedOptions {
                    faults: target.faults.clone(),
                    s3_dir: s3_dir.as_ref().map(|d| d.path().to_path_buf()),
                    ..settings.embedded.clone()
                };
                Some(Embedded::start(0, &options).await?)
            }
            _ => None,
        };
        let local_url = embedded.as_ref().map(Embedded::url);
        let client = client::build(
            &target.endpoint,
            target.region.as_deref(),
            local_url.as_deref(),
        )
        .await?;
        let efo = if scenario
            .consumers
            .iter()
            .any(|c| c.kind == ConsumerKind::Efo)
        {
            let subscribe = client::efo_client(
                &target.endpoint,
                target.region.as_deref(),
                local_url.as_deref(),
            )
            .await?;
            let said = match &local_url {
                Some(url) => url.clone(),
                None => target.endpoint.to_string(),
            };
            Some(Efo::new(client.clone(), subscribe, said))
        } else {
            None
        };
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
        let mut ready = match ready {
            Ok(ready) => ready,
            Err(e) => {
                if let Some(e) = embedded {
                    e.shutdown().await;
                }
                return Err(e);
            }
        };
        let delivery = match &scenario.delivery {
            Some(d) => {
                let prepared = prepare_delivery(
                    &client,
                    d,
                    target,
                    local_url.as_deref(),
                    &ready.name,
                    deadline,
                )
                .await;
                match prepared {
                    Ok(p) => Some(p),
                    Err(e) => {
                        if ready.created && target.delete_after {
                            let _ = stream::delete(&client, &ready.name).await;
                        }
                        if let Some(e) = embedded {
                            e.shutdown().await;
                        }
                        return Err(e);
                    }
                }
            }
            None => None,
        };
        let claim = claim::stake(&client, &ready.name, &ready.shards, ready.created).await;
        ready.warnings.extend(claim.warnings.iter().cloned());
        for w in &ready.warnings {
            eprintln!("warning: {w}");
        }
        Ok(Session {
            embedded,
            s3_dir,
            delivery,
            client,
            efo,
            delete: ready.created && target.delete_after,
            ready,
            claim,
        })
    }

    /// Runs `scenario` (its target must be the one the session was opened with) on the stream.
    pub async fn run(
        &self,
        scenario: &Scenario,
        settings: &RunSettings,
        cancel: CancellationToken,
    ) -> anyhow::Result<RunOutcome> {
        super::variants::run(
            scenario,
            settings,
            cancel,
            &self.client,
            self.efo.as_ref(),
            self.delivery.as_ref(),
            &self.ready,
        )
        .await
    }

    /// Releases the stream (its `in-use` tag) and deletes it if kbench created it, may, and no
    /// other run uses it (see [`claim`]); then stops the embedded endpoint. The delivery stream
    /// kbench created is deleted first; the embedded S3's buckets move into `report_dir` (as
    /// `s3/`) when given, so that the objects stay beside the report.
    pub async fn close(self, report_dir: Option<&std::path::Path>) {
        if let Some(d) = &self.delivery {
            d.cleanup().await;
        }
        let name = &self.ready.name;
        claim::release(&self.client, name, &self.claim).await;
        if self.delete {
            let deleted = match claim::may_delete_now(&self.client, name, &self.claim).await {
                Ok(()) => stream::delete(&self.client, name)
                    .await
                    .map_err(|e| format!("{e:#}")),
                Err(why) => Err(why),
            };
            if let Err(why) = deleted {
                eprintln!("warning: {why}");
            }
        }
        if let Some(e) = self.embedded {
            e.shutdown().await;
        }
        if let (Some(dir), Some(report)) = (self.s3_dir, report_dir) {
            let to = report.join("s3");
            match std::fs::rename(dir.path(), &to) {
                Ok(()) => {
                    let _ = dir.keep();
                }
                Err(e) => {
                    let kept = dir.keep();
                    eprintln!(
                        "warning: cannot move the embedded S3's buckets into {} ({e}); they are in {}",
                        to.display(),
                        kept.display()
                    );
                }
            }
        }
    }
}

/// The delivery's bucket and delivery stream, reading `stream`.
async fn prepare_delivery(
    client: &aws_sdk_kinesis::Client,
    delivery: &crate::scenario::Delivery,
    target: &crate::scenario::Target,
    local_url: Option<&str>,
    stream: &str,
    deadline: Duration,
) -> anyhow::Result<crate::delivery::setup::Prepared> {
    let summary = client
        .describe_stream_summary()
        .stream_name(stream)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot describe stream `{stream}` for its delivery: {}",
                aws_sdk_kinesis::error::DisplayErrorContext(&e)
            )
        })?;
    let arn = summary
        .stream_description_summary()
        .map(|d| d.stream_arn().to_string())
        .context("DescribeStreamSummary gave no stream ARN")?;
    crate::delivery::setup::prepare(delivery, target, local_url, &arn, deadline).await
}
