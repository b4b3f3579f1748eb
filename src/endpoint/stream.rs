//! Stream lifecycle: create if missing, wait for ACTIVE, check the shard count, list shards,
//! delete afterwards only if kbench created it.

use anyhow::{Context, bail};
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::types::{ShardFilter, ShardFilterType, StreamStatus};
use std::time::{Duration, Instant};

pub use super::incidents::NOT_FOUND;

/// A stream ready for the run.
#[derive(Debug, Clone)]
pub struct ReadyStream {
    pub name: String,
    /// Open shards, in the order ListShards returned them.
    pub shards: Vec<ShardInfo>,
    /// Whether kbench created it (and so may delete it).
    pub created: bool,
    /// What was found while preparing it, in words, for the terminal and the report.
    pub warnings: Vec<String>,
}

/// One open shard and its hash-key range.
#[derive(Debug, Clone)]
pub struct ShardInfo {
    pub id: String,
    pub starting_hash_key: String,
    pub ending_hash_key: String,
}

/// Makes sure `name` exists with `shards` open shards and is ACTIVE.
pub async fn ensure(
    client: &Client,
    name: &str,
    shards: u32,
    create: bool,
    deadline: Duration,
) -> anyhow::Result<ReadyStream> {
    let mut created = false;
    let mut warnings = Vec::new();
    let mut status = describe(client, name).await?;
    if status == Some(StreamStatus::Deleting) {
        let began = Instant::now();
        if !create {
            bail!(
                "stream `{name}` is being deleted (another run finishing with it?) and `create = false` under [target]; wait for it to go and create it again, or use another stream (--stream NAME)"
            );
        }
        status = wait_gone(client, name, deadline).await?;
        warnings.push(format!(
            "stream `{name}` was being deleted when this run started (another run finishing with it?); this run waited {:.1} s for it to go and created it anew",
            began.elapsed().as_secs_f64()
        ));
    }
    match status {
        Some(_) => {}
        None if create => {
            let result = client
                .create_stream()
                .stream_name(name)
                .shard_count(shards as i32)
                .send()
                .await;
            match result {
                Ok(_) => created = true,
                // another client created it between our describe and create: use it
                Err(e) if e.code() == Some("ResourceInUseException") => {}
                Err(e) => bail!(
                    "cannot create stream `{name}` with {shards} shards: {}",
                    message(&e)
                ),
            }
        }
        None => bail!(
            "stream `{name}` does not exist and `create = false` under [target]; create it, or set create = true"
        ),
    }
    wait_active(client, name, deadline).await?;
    let list = list_shards(client, name).await?;
    if list.len() != shards as usize {
        bail!(
            "stream `{name}` exists with {} open shards but the scenario asks for {shards}; set `shards = {}` under [target], use another stream (--stream), or delete the stream",
            list.len(),
            list.len()
        );
    }
    Ok(ReadyStream {
        name: name.to_string(),
        shards: list,
        created,
        warnings,
    })
}

/// Waits until a stream that is being deleted is gone; returns its status then (None, or a
/// stream someone created again meanwhile).
async fn wait_gone(
    client: &Client,
    name: &str,
    deadline: Duration,
) -> anyhow::Result<Option<StreamStatus>> {
    match wait_until(client, name, deadline, |s| {
        s != Some(&StreamStatus::Deleting)
    })
    .await?
    {
        Ok(status) => Ok(status),
        Err(_) => bail!(
            "stream `{name}` is still being deleted after {deadline:?}; wait for it to go, or use another stream (--stream NAME)"
        ),
    }
}

async fn wait_active(client: &Client, name: &str, deadline: Duration) -> anyhow::Result<()> {
    match wait_until(client, name, deadline, |s| s == Some(&StreamStatus::Active)).await? {
        Ok(_) => Ok(()),
        Err(status) => bail!(
            "stream `{name}` is not ACTIVE after {:?} (status {:?}); try again later or check the stream in the console",
            deadline,
            status.map(|s| s.as_str().to_string())
        ),
    }
}

/// Describes the stream, backing off, until `done` holds for its status (Ok) or `deadline`
/// passes (Err with the last status).
async fn wait_until(
    client: &Client,
    name: &str,
    deadline: Duration,
    done: impl Fn(Option<&StreamStatus>) -> bool,
) -> anyhow::Result<Result<Option<StreamStatus>, Option<StreamStatus>>> {
    let until = Instant::now() + deadline;
    let mut pause = Duration::from_millis(50);
    loop {
        let status = describe(client, name).await?;
        if done(status.as_ref()) {
            return Ok(Ok(status));
        }
        if Instant::now() >= until {
            return Ok(Err(status));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// The stream's status, or None if it does not exist.
async fn describe(client: &Client, name: &str) -> anyhow::Result<Option<StreamStatus>> {
    match client
        .describe_stream_summary()
        .stream_name(name)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .stream_description_summary()
            .map(|d| d.stream_status().clone())),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => bail!(
            "cannot describe stream `{name}`: {}; is the endpoint reachable?",
            message(&e)
        ),
    }
}

/// Open shards of the stream, all pages.
pub async fn list_shards(client: &Client, name: &str) -> anyhow::Result<Vec<ShardInfo>> {
    let mut shards = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let req = match &token {
            Some(t) => client.list_shards().next_token(t),
            None => client.list_shards().stream_name(name).shard_filter(
                ShardFilter::builder()
                    .r#type(ShardFilterType::AtLatest)
                    .build()
                    .context("shard filter")?,
            ),
        };
        let out = match req.send().await {
            Ok(out) => out,
            // some emulators do not know ShardFilter: list all and keep the open ones
            Err(e)
                if token.is_none()
                    && matches!(
                        e.code(),
                        Some("ValidationException" | "InvalidArgumentException")
                    ) =>
            {
                client
                    .list_shards()
                    .stream_name(name)
                    .send()
                    .await
                    .map_err(|e| anyhow::anyhow!(message(&e)))?
            }
            Err(e) => bail!("cannot list the shards of `{name}`: {}", message(&e)),
        };
        for s in out.shards() {
            let open = s
                .sequence_number_range()
                .is_some_and(|r| r.ending_sequence_number().is_none());
            if open {
                shards.push(ShardInfo {
                    id: s.shard_id().to_string(),
                    starting_hash_key: s
                        .hash_key_range()
                        .map(|r| r.starting_hash_key().to_string())
                        .unwrap_or_default(),
                    ending_hash_key: s
                        .hash_key_range()
                        .map(|r| r.ending_hash_key().to_string())
                        .unwrap_or_default(),
                });
            }
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(shards);
        }
    }
}

/// Deletes the stream (only call for streams kbench created); one that is gone already is fine.
pub async fn delete(client: &Client, name: &str) -> anyhow::Result<()> {
    match client
        .delete_stream()
        .stream_name(name)
        .enforce_consumer_deletion(true)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some(NOT_FOUND) => Ok(()),
        Err(e) => bail!("cannot delete stream `{name}`: {}", message(&e)),
    }
}

/// The most useful text of an SDK error: the service's message, or the error chain.
pub fn message<E: ProvideErrorMetadata + std::error::Error + 'static>(e: &E) -> String {
    match (e.code(), e.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_string(),
        _ => {
            let mut text = e.to_string();
            let mut source = e.source();
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    }
}
