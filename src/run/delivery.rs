//! The delivery leg as a role: while the run goes, the verifier ([`crate::delivery::verify`])
//! lists the bucket's prefix every second and reads each new object once; after the phases it
//! drains until every acknowledged record has landed or the delivery's drain is over; its
//! accounting goes into the summary.

use super::role::{Clock, Context, DrainLimit, Hook, Results, Role};
use crate::delivery::verify::Delivered;
use crate::report::{DeliverySummary, LatencySummary, VariantSummary};
use crate::scenario::{Delivery, DeliveryKind};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often the prefix is listed.
const LIST_EVERY: Duration = Duration::from_secs(1);

/// How often the drain looks whether every acknowledged record has landed.
const DRAIN_POLL: Duration = Duration::from_millis(100);

pub struct DeliveryWatch {
    spec: Delivery,
    delivered: Option<Arc<Mutex<Delivered>>>,
    task: Option<JoinHandle<()>>,
    stop: CancellationToken,
}

impl DeliveryWatch {
    pub fn new(spec: Delivery) -> DeliveryWatch {
        DeliveryWatch {
            spec,
            delivered: None,
            task: None,
            stop: CancellationToken::new(),
        }
    }

    fn delivered(&self) -> Option<std::sync::MutexGuard<'_, Delivered>> {
        self.delivered
            .as_ref()
            .map(|d| d.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Whether every record the producer had acknowledged has landed.
    fn all_landed(&self, run: &Context) -> bool {
        let Some(delivered) = self.delivered() else {
            return true;
        };
        let acked = run.acked.lock().unwrap_or_else(|e| e.into_inner());
        acked.intersection_len(&delivered.records) >= acked.len()
    }
}

impl Role for DeliveryWatch {
    fn start(&mut self, run: &Context, clock: Clock) {
        let Some(prepared) = run.delivery else {
            return;
        };
        let delivered = Arc::new(Mutex::new(Delivered::new(
            run.run_id,
            run.schedule.total(),
            clock.start,
            clock.start_unix_ns,
        )));
        self.delivered = Some(delivered.clone());
        self.task = Some(tokio::spawn(watch(
            prepared.s3.clone(),
            self.spec.bucket.clone(),
            self.spec.list_prefix().to_string(),
            delivered,
            self.stop.clone(),
        )));
    }

    fn drain<'a>(&'a mut self, run: &'a Context, limit: DrainLimit) -> Hook<'a, ()> {
        Box::pin(async move {
            let began = Instant::now();
            let limit = DrainLimit {
                limit: self.spec.drain,
                ..limit
            };
            while !self.all_landed(run) && began.elapsed() < limit.now(&run.cancel) {
                tokio::select! {
                    _ = tokio::time::sleep(DRAIN_POLL) => {}
                    _ = run.cancel.cancelled(), if !run.cancel.is_cancelled() => {}
                }
            }
        })
    }

    fn stop<'a>(&'a mut self, _run: &'a Context) -> Hook<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.stop.cancel();
            if let Some(task) = self.task.take() {
                let _ = task.await;
            }
            Ok(())
        })
    }

    fn summarise(&self, run: &Context, results: &Results, summary: &mut VariantSummary) {
        let Some(d) = self.delivered() else {
            return;
        };
        let acked = run.acked.lock().unwrap_or_else(|e| e.into_inner());
        let landed = acked.intersection_len(&d.records);
        let missing = acked.len() - landed;
        let mut s = DeliverySummary {
            kind: match self.spec.kind {
                DeliveryKind::Firehose => "firehose",
                DeliveryKind::S3 => "s3",
            }
            .into(),
            bucket: self.spec.bucket.clone(),
            prefix: self.spec.list_prefix().to_string(),
            objects: d.objects.len() as u64,
            bytes: d.objects.iter().map(|o| o.bytes).sum(),
            unreadable: d.unreadable.len() as u64,
            delivered: landed,
            duplicates: d.duplicates,
            latency: LatencySummary::of(&d.latency),
            ..DeliverySummary::default()
        };
        if missing > 0 && (results.cut_at.is_some() || run.cancel.is_cancelled()) {
            s.unverified = missing;
            s.unverified_why = Some("the run was stopped before they landed in S3".into());
        } else {
            s.lost = missing;
        }
        if let Some(w) = shared_reads_warning(run, &self.spec) {
            summary.warnings.push(w);
        }
        if let Err(e) = write_objects(run, &self.spec, &d.objects) {
            summary.warnings.push(format!("{e:#}"));
        }
        if !d.unreadable.is_empty() {
            summary.warnings.push(format!(
                "{} objects under s3://{}/{} could not be read or gunzipped (first: {}); their records count as not delivered",
                d.unreadable.len(),
                self.spec.bucket,
                s.prefix,
                d.unreadable[0]
            ));
        }
        summary.delivery = Some(s);
    }
}

/// GetRecords calls a second that Kinesis allows each shard, shared by every polling reader.
const SHARD_READS_PER_S: f64 = 5.0;

/// A warning when the polling consumers and the delivery stream (one GetRecords a second per
/// shard) call GetRecords more often than a shard allows: their reads are throttled, and the
/// latency of both grows.
fn shared_reads_warning(run: &Context, spec: &Delivery) -> Option<String> {
    spec.firehose.as_ref()?;
    let mut readers = vec![("Firehose".to_string(), 1.0)];
    for c in &run.scenario.consumers {
        if c.kind == crate::scenario::ConsumerKind::Polling {
            readers.push((
                format!(
                    "{} every {}",
                    c.name,
                    crate::scenario::units::format_duration(c.poll_interval())
                ),
                1.0 / c.poll_interval().as_secs_f64(),
            ));
        }
    }
    let total: f64 = readers.iter().map(|(_, r)| r).sum();
    (total > SHARD_READS_PER_S + 1e-9).then(|| {
        let who: Vec<String> = readers
            .iter()
            .map(|(name, r)| format!("{name} ({r:.1}/s)"))
            .collect();
        format!(
            "each shard's readers call GetRecords {total:.1} times a second together ({}), over the shard's 5: their reads are throttled and both the consumers' and the delivery's latency grow (raise poll_interval, or read with kind = \"efo\")",
            who.join(", ")
        )
    })
}

/// Appends the objects seen to `objects.csv` in the report directory (one row per object, the
/// variant's API in each; the header when the file is new).
fn write_objects(
    run: &Context,
    spec: &Delivery,
    objects: &[crate::delivery::verify::ObjectSeen],
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let path = run.dir.join("objects.csv");
    let new = !path.exists();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let mut w = csv::Writer::from_writer(file);
    let time = |ns: u64| {
        if ns == 0 {
            String::new()
        } else {
            chrono::DateTime::from_timestamp_nanos(ns as i64)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        }
    };
    let size_hint = spec
        .firehose
        .as_ref()
        .map(|f| u64::from(f.buffer_mib) << 20);
    let written = (|| -> Result<(), csv::Error> {
        if new {
            w.write_record([
                "api",
                "key",
                "bytes",
                "data_bytes",
                "records",
                "duplicates",
                "first_record",
                "last_record",
                "seen_at_s",
                "flush",
            ])?;
        }
        for o in objects {
            // an object that could not take one more record of its average size was closed by
            // the size hint; any other by the interval
            let flush = match size_hint {
                Some(hint) if o.records > 0 => {
                    if o.data_bytes + o.data_bytes / o.records > hint {
                        "size"
                    } else {
                        "interval"
                    }
                }
                _ => "",
            };
            w.write_record([
                run.api.to_string(),
                o.key.clone(),
                o.bytes.to_string(),
                o.data_bytes.to_string(),
                o.records.to_string(),
                o.duplicates.to_string(),
                time(o.first_unix_ns),
                time(o.last_unix_ns),
                format!("{:.3}", o.seen_at.as_secs_f64()),
                flush.to_string(),
            ])?;
        }
        w.flush()?;
        Ok(())
    })();
    written.with_context(|| format!("cannot write {}", path.display()))
}

/// Lists `prefix` every [`LIST_EVERY`] and reads each object not read yet into `delivered`,
/// until `stop`. An object that cannot be read now is tried again at the next listing.
async fn watch(
    s3: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    delivered: Arc<Mutex<Delivered>>,
    stop: CancellationToken,
) {
    let mut warned = false;
    loop {
        let listed_at = Instant::now();
        match list(&s3, &bucket, &prefix).await {
            Ok(keys) => {
                for key in keys {
                    let known = delivered
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .has(&key);
                    if known {
                        continue;
                    }
                    let body = tokio::select! {
                        () = stop.cancelled() => return,
                        body = get(&s3, &bucket, &key) => body,
                    };
                    match body {
                        Ok(body) => delivered
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .object(&key, &body, listed_at),
                        Err(e) if !warned => {
                            tracing::warn!("cannot read s3://{bucket}/{key}: {e}");
                            warned = true;
                        }
                        Err(_) => {}
                    }
                }
            }
            Err(e) if !warned => {
                tracing::warn!("cannot list s3://{bucket}/{prefix}: {e}");
                warned = true;
            }
            Err(_) => {}
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(LIST_EVERY.saturating_sub(listed_at.elapsed())) => {}
        }
    }
}

/// Every key under `prefix`, all pages.
async fn list(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
    let mut keys = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_sdk_s3::error::DisplayErrorContext(&e).to_string())?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
    }
    Ok(keys)
}

async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Vec<u8>, String> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(&e).to_string())?;
    let body = out.body.collect().await.map_err(|e| e.to_string())?;
    Ok(body.into_bytes().to_vec())
}
