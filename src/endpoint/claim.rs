//! Who else is using a stream: kbench's tags on the streams it creates and uses, and a look at
//! what was written to the stream just before the run.
//!
//! A stream kbench creates carries `kbench/created-by = <id>`; every run that uses a stream adds
//! `kbench/in-use/<id> = <start time>` for as long as it runs. At the end, the run that created
//! the stream deletes it only if the stream still carries its `created-by` tag and no other run's
//! `in-use` tag; otherwise it says why it left the stream in place. On an endpoint without tags
//! (an emulator that does not implement them) the creator deletes what it created, as before.

use super::stream::{NOT_FOUND, ShardInfo, message};
use crate::workload::stamp::Stamp;
use anyhow::bail;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::ShardIteratorType;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// The tag naming the kbench run that created a stream.
pub const CREATED_BY: &str = "kbench/created-by";

/// The prefix of the tag each run using a stream carries while it runs.
pub const IN_USE: &str = "kbench/in-use/";

/// How far back the look at recent writes goes.
pub const RECENT: Duration = Duration::from_secs(30);

/// At most this many shards are looked at for recent writes (one GetRecords each).
const RECENT_SHARDS: usize = 32;

/// How long each call of the look may take: it must not hold up the run's start.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A run's hold on its stream.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The run's id in the tags.
    pub id: String,
    /// Whether the endpoint took the tags; without them the creator deletes what it created.
    pub tagged: bool,
    /// What was found at the start, in words, for the terminal and the report.
    pub warnings: Vec<String>,
}

/// What ListTagsForStream found.
#[derive(Debug, PartialEq, Eq)]
pub enum Tags {
    Found(BTreeMap<String, String>),
    /// The endpoint does not implement tags.
    Unsupported,
    /// The stream does not exist (any more).
    NoStream,
}

/// The tags of a stream.
pub async fn tags(client: &Client, stream: &str) -> anyhow::Result<Tags> {
    let mut tags = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let mut req = client.list_tags_for_stream().stream_name(stream).limit(10);
        if let Some(key) = &after {
            req = req.exclusive_start_tag_key(key);
        }
        let out = match req.send().await {
            Ok(out) => out,
            Err(e) if unsupported(e.code()) => return Ok(Tags::Unsupported),
            Err(e) if e.code() == Some(NOT_FOUND) => return Ok(Tags::NoStream),
            Err(e) => bail!("cannot list the tags of stream `{stream}`: {}", message(&e)),
        };
        for t in out.tags() {
            tags.insert(
                t.key().to_string(),
                t.value().unwrap_or_default().to_string(),
            );
        }
        after = out.tags().last().map(|t| t.key().to_string());
        if !out.has_more_tags() || after.is_none() {
            return Ok(Tags::Found(tags));
        }
    }
}

/// Codes an endpoint answers with for an operation it does not know.
fn unsupported(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "UnknownOperationException"
                | "InvalidAction"
                | "NotImplemented"
                | "UnsupportedOperation"
        )
    )
}

/// Adds one tag; Ok(false) when the endpoint does not implement tags.
async fn tag(client: &Client, stream: &str, key: &str, value: &str) -> anyhow::Result<bool> {
    match client
        .add_tags_to_stream()
        .stream_name(stream)
        .tags(key, value)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if unsupported(e.code()) => Ok(false),
        Err(e) => bail!("cannot tag stream `{stream}`: {}", message(&e)),
    }
}

/// The run ids in other runs' `in-use` tags, with when each started.
fn others_in_use<'a>(tags: &'a BTreeMap<String, String>, id: &str) -> Vec<(&'a str, &'a str)> {
    tags.iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(IN_USE)?, v.as_str())))
        .filter(|(other, _)| *other != id)
        .collect()
}

/// Stakes the run's claim on `stream`: tags it (as its creator when `created`), and when the
/// stream was already there, says who else is using it or wrote to it in the last [`RECENT`].
/// Never fails: a claim that cannot be staked is a warning, not a reason to stop the run.
pub async fn stake(client: &Client, stream: &str, shards: &[ShardInfo], created: bool) -> Claim {
    let id = format!("{:08x}", rand::random::<u32>());
    let mut warnings = Vec::new();
    if !created {
        let mut in_use = false;
        match tags(client, stream).await {
            Ok(Tags::Found(t)) => {
                in_use = !others_in_use(&t, &id).is_empty();
                warnings.extend(foreign_tags(stream, &t, &id));
            }
            Ok(Tags::Unsupported | Tags::NoStream) => {}
            Err(e) => tracing::debug!("{e:#}"),
        }
        // another run's tag already says who writes; otherwise look at what was written
        if !in_use {
            match recent_writes(client, stream, shards).await {
                Ok(recent) => warnings.extend(recent.warning(stream)),
                Err(e) => tracing::debug!("stream `{stream}`: no look at recent writes: {e:#}"),
            }
        }
    }
    // no `:` in the value: not every endpoint accepts all of AWS's tag characters
    let since = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let mut tagged = true;
    if created {
        tagged &= tag(client, stream, CREATED_BY, &id)
            .await
            .unwrap_or_else(|e| {
                warnings.push(format!(
                    "{e:#}; it is deleted at the end without checking whether another run uses it"
                ));
                false
            });
    }
    if tagged {
        let key = format!("{IN_USE}{id}");
        tagged = tag(client, stream, &key, &since).await.unwrap_or_else(|e| {
            warnings.push(format!(
                "{e:#}: another kbench run cannot see that this one uses it"
            ));
            false
        });
    }
    Claim {
        id,
        tagged,
        warnings,
    }
}

/// What a stream's tags say about other kbench runs, in words (at most one warning).
fn foreign_tags(stream: &str, tags: &BTreeMap<String, String>, id: &str) -> Option<String> {
    let users = others_in_use(tags, id);
    if !users.is_empty() {
        let list: Vec<String> = users
            .iter()
            .map(|(run, since)| format!("{run} since {since}"))
            .collect();
        return Some(format!(
            "stream `{stream}` is in use by another kbench run ({}; tag {IN_USE}<run>): both runs share its shards' limits, so this run's throttling and latency include that run's traffic. This run does not delete the stream, and no run deletes it while another uses it. Use another stream (--stream NAME) for a clean measurement",
            list.join(", ")
        ));
    }
    tags.get(CREATED_BY).map(|creator| {
        format!(
            "stream `{stream}` was created by another kbench run ({CREATED_BY} = {creator}); this run does not delete it"
        )
    })
}

/// Records written to a stream shortly before the run.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recent {
    /// Records with an arrival time in the last [`RECENT`] on the shards looked at.
    pub records: usize,
    /// How many of them carry a kbench stamp (another kbench run wrote them).
    pub kbench: usize,
    /// Shards looked at, of all the stream's.
    pub shards_seen: usize,
    pub shards: usize,
}

impl Recent {
    /// The warning for the terminal and the report, if anything was written.
    pub fn warning(&self, stream: &str) -> Option<String> {
        if self.records == 0 {
            return None;
        }
        let writers = match self.kbench {
            0 => "none of them by kbench".to_string(),
            n if n == self.records => "all by another kbench run".to_string(),
            n => format!("{n} of them by another kbench run"),
        };
        let seen = if self.shards_seen < self.shards {
            format!(" (on {} of its {} shards)", self.shards_seen, self.shards)
        } else {
            String::new()
        };
        Some(format!(
            "stream `{stream}` already carries {} records written in the {} s before this run{seen}, {writers}: another writer may still be using it. Its traffic shares the shards' limits with this run's, so throttling and latency measure both; the accounting counts only this run's records. Use another stream (--stream NAME) for a clean measurement",
            self.records,
            RECENT.as_secs()
        ))
    }
}

/// Looks at what was written to the stream in the last [`RECENT`]: one GetShardIterator
/// (AT_TIMESTAMP) and one GetRecords per shard, for up to [`RECENT_SHARDS`] shards. Records are
/// counted by their arrival time, since an endpoint may start the iterator earlier.
pub async fn recent_writes(
    client: &Client,
    stream: &str,
    shards: &[ShardInfo],
) -> anyhow::Result<Recent> {
    let since = SystemTime::now() - RECENT;
    // arrival times may be in whole seconds: compare at that resolution
    let since_s = since
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut recent = Recent {
        shards: shards.len(),
        ..Recent::default()
    };
    for shard in shards.iter().take(RECENT_SHARDS) {
        let it = client
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(&shard.id)
            .shard_iterator_type(ShardIteratorType::AtTimestamp)
            .timestamp(DateTime::from(since))
            .send();
        let it = tokio::time::timeout(CALL_TIMEOUT, it).await?;
        let Some(iterator) = it.map_err(|e| anyhow::anyhow!(message(&e)))?.shard_iterator else {
            continue;
        };
        let out = client
            .get_records()
            .shard_iterator(iterator)
            .limit(1000)
            .send();
        let out = tokio::time::timeout(CALL_TIMEOUT, out)
            .await?
            .map_err(|e| anyhow::anyhow!(message(&e)))?;
        recent.shards_seen += 1;
        for r in out.records() {
            let arrived = r.approximate_arrival_timestamp().map_or(0, |t| t.secs());
            if arrived >= since_s {
                recent.records += 1;
                if Stamp::read(r.data().as_ref()).is_some() {
                    recent.kbench += 1;
                }
            }
        }
    }
    Ok(recent)
}

/// Releases the claim at the end of the run: removes this run's `in-use` tag.
pub async fn release(client: &Client, stream: &str, claim: &Claim) {
    if !claim.tagged {
        return;
    }
    let key = format!("{IN_USE}{}", claim.id);
    if let Err(e) = client
        .remove_tags_from_stream()
        .stream_name(stream)
        .tag_keys(&key)
        .send()
        .await
    {
        tracing::debug!(
            "stream `{stream}`: cannot remove tag {key}: {}",
            message(&e)
        );
    }
}

/// Whether the run that created `stream` may delete it now (after [`release`]): only when it
/// still carries this run's `created-by` tag and no other run's `in-use` tag. `Err` says, in
/// words, why it stays.
pub async fn may_delete_now(client: &Client, stream: &str, claim: &Claim) -> Result<(), String> {
    if !claim.tagged {
        return Ok(());
    }
    match tags(client, stream).await {
        Ok(Tags::Found(t)) => may_delete(stream, &t, &claim.id),
        // gone already (the run says so if it vanished mid-run): the delete finds nothing
        Ok(Tags::Unsupported | Tags::NoStream) => Ok(()),
        Err(e) => Err(format!("{e:#}: kept in case another run uses it")),
    }
}

/// The rule of [`may_delete_now`] over the stream's tags at the end.
fn may_delete(stream: &str, tags: &BTreeMap<String, String>, id: &str) -> Result<(), String> {
    match tags.get(CREATED_BY) {
        Some(creator) if creator == id => {}
        Some(creator) => {
            return Err(format!(
                "stream `{stream}` not deleted: it no longer carries this run's tag ({CREATED_BY} = {creator}, not {id}); it was deleted and created again by another run"
            ));
        }
        None => {
            return Err(format!(
                "stream `{stream}` not deleted: it no longer carries this run's {CREATED_BY} tag; it was deleted and created again by someone else"
            ));
        }
    }
    let users = others_in_use(tags, id);
    if users.is_empty() {
        return Ok(());
    }
    let runs: Vec<&str> = users.iter().map(|(run, _)| *run).collect();
    Err(format!(
        "stream `{stream}` not deleted: kbench run(s) {} still use it (tag {IN_USE}<run>); the last of them leaves it in place too, so delete it when they are done (aws kinesis delete-stream --stream-name {stream})",
        runs.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_creator_deletes_only_its_own_stream_with_no_other_run_on_it() {
        let mine = tags(&[(CREATED_BY, "aaaa0001")]);
        assert_eq!(may_delete("s", &mine, "aaaa0001"), Ok(()));

        let used = tags(&[
            (CREATED_BY, "aaaa0001"),
            ("kbench/in-use/bbbb0002", "20261201T120000Z"),
        ]);
        let why = may_delete("s", &used, "aaaa0001").unwrap_err();
        assert!(
            why.contains("not deleted") && why.contains("bbbb0002"),
            "{why}"
        );

        let recreated = tags(&[(CREATED_BY, "cccc0003")]);
        let why = may_delete("s", &recreated, "aaaa0001").unwrap_err();
        assert!(why.contains("no longer carries this run's tag"), "{why}");

        let why = may_delete("s", &tags(&[]), "aaaa0001").unwrap_err();
        assert!(why.contains("no longer carries"), "{why}");
    }

    #[test]
    fn another_runs_tags_are_named_and_this_runs_own_are_not() {
        let t = tags(&[
            (CREATED_BY, "aaaa0001"),
            ("kbench/in-use/aaaa0001", "20261201T120000Z"),
            ("kbench/in-use/dddd0004", "20261201T120005Z"),
        ]);
        let w = foreign_tags("s", &t, "dddd0004").expect("a warning");
        assert!(
            w.contains("in use by another kbench run (aaaa0001 since 20261201T120000Z;"),
            "{w}"
        );
        assert!(!w.contains("dddd0004"), "{w}");
        let kept = foreign_tags("s", &tags(&[(CREATED_BY, "aaaa0001")]), "dddd0004");
        assert!(
            kept.expect("a warning")
                .contains("created by another kbench run")
        );
        assert_eq!(foreign_tags("s", &tags(&[("team", "x")]), "dddd0004"), None);
    }

    #[test]
    fn recent_writes_say_who_wrote_and_how_much_was_looked_at() {
        assert_eq!(Recent::default().warning("s"), None);
        let r = Recent {
            records: 57,
            kbench: 50,
            shards_seen: 32,
            shards: 40,
        };
        let w = r.warning("s").expect("a warning");
        assert!(w.contains("57 records written in the 30 s"), "{w}");
        assert!(w.contains("on 32 of its 40 shards"), "{w}");
        assert!(w.contains("50 of them by another kbench run"), "{w}");
        let other = Recent {
            records: 3,
            shards_seen: 2,
            shards: 2,
            ..Recent::default()
        };
        let w = other.warning("s").expect("a warning");
        assert!(
            w.contains("none of them by kbench") && !w.contains("of its"),
            "{w}"
        );
    }
}
