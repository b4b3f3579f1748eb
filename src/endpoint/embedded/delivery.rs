//! The embedded Firehose's delivery engine: what a delivery stream does once it is ACTIVE
//! (../shared/spec/KINESIS.md, "Firehose delivery from a Kinesis stream into S3").
//!
//! - A stream-sourced delivery stream reads every open shard of its Kinesis stream from LATEST
//!   with one GetRecords per second per shard, through the endpoint's own port, so its reads
//!   count against the shard's read limits as every other polling consumer's do; shards opened
//!   later (children of a resharding) are found by listing again and read from TRIM_HORIZON.
//! - KPL aggregates are de-aggregated; each record is appended to its shard's buffer (DirectPut
//!   has one buffer), followed by the delimiter when AppendDelimiterToRecord is on.
//! - A buffer becomes an object when the next record would take it past the size hint, or when
//!   its oldest record has waited the interval hint (a timer; interval 0 flushes after every read
//!   that got records).
//! - Objects are named as Firehose names them and written with PutObject into the embedded S3,
//!   retried every second until they are written or the delivery stream is gone (Firehose
//!   retries S3 for up to a day). Records still buffered when it is deleted are not delivered.

use aws_sdk_kinesis::types::ShardIteratorType;
use axum::body::Bytes;
use chrono::{DateTime, Datelike, Timelike, Utc};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How often a shard is read (and a failed write retried).
const TICK: Duration = Duration::from_secs(1);

/// How often a stream-sourced delivery stream lists its stream's shards to find new ones.
const RELIST: Duration = Duration::from_secs(10);

/// Where and how a delivery stream writes its objects.
#[derive(Debug, Clone)]
pub(super) struct Destination {
    /// The delivery stream's name and version, in every object's name.
    pub name: String,
    pub version: String,
    pub bucket: String,
    /// The prefix as given: may hold `!{timestamp:...}` and `!{firehose:random-string}`.
    pub prefix: String,
    /// Flush when the next record would take the buffer past this many bytes.
    pub size: usize,
    /// Flush when the buffer's oldest record has waited this long.
    pub interval: Duration,
    pub gzip: bool,
    /// Appended after each record (AppendDelimiterToRecord); None: records are concatenated.
    pub delimiter: Option<Vec<u8>>,
}

/// What a delivery stream has done, counted (for logs and tests).
#[derive(Debug, Default)]
pub(super) struct Counts {
    /// Whether it reads: every shard open at the start has its LATEST iterator (DirectPut: it
    /// takes records). Until then DescribeDeliveryStream says CREATING, so that what is
    /// written once it says ACTIVE is delivered, as Firehose reads from LATEST once ACTIVE.
    pub reading: std::sync::atomic::AtomicBool,
    pub records: AtomicU64,
    pub objects: AtomicU64,
    pub bytes: AtomicU64,
    pub read_throttles: AtomicU64,
    pub write_failures: AtomicU64,
}

/// Checks a prefix (`error` for the error output prefix) as Firehose does at creation: every
/// `!{...}` must be a namespace it knows, with a timestamp format it can apply.
pub(super) fn check_prefix(prefix: &str, error: bool) -> Result<(), String> {
    for expression in expressions(prefix)? {
        match expression {
            Expr::Timestamp(format) => {
                timestamp(format, Utc::now())?;
            }
            Expr::Random => {}
            Expr::ErrorType if error => {}
            Expr::ErrorType => {
                return Err(
                    "The expression !{firehose:error-output-type} is only allowed in the ErrorOutputPrefix"
                        .into(),
                );
            }
        }
    }
    Ok(())
}

/// Whether a prefix holds any `!{...}` expression (then Firehose adds no time prefix).
pub(super) fn has_expressions(prefix: &str) -> bool {
    prefix.contains("!{")
}

enum Expr<'a> {
    Timestamp(&'a str),
    Random,
    ErrorType,
}

/// The prefix split into literal text (`Ok`) and expressions; an unknown one is an error.
fn pieces(prefix: &str) -> Result<Vec<Result<&str, Expr<'_>>>, String> {
    let mut out = Vec::new();
    let mut rest = prefix;
    while let Some(start) = rest.find("!{") {
        out.push(Ok(&rest[..start]));
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| {
            format!("The prefix '{prefix}' has an expression that is not closed with '}}'")
        })?;
        let inner = &after[..end];
        let expr = if let Some(format) = inner.strip_prefix("timestamp:") {
            Expr::Timestamp(format)
        } else if inner == "firehose:random-string" {
            Expr::Random
        } else if inner == "firehose:error-output-type" {
            Expr::ErrorType
        } else {
            return Err(format!(
                "The expression '!{{{inner}}}' in the prefix '{prefix}' is not supported: use !{{timestamp:FORMAT}}, !{{firehose:random-string}} or !{{firehose:error-output-type}}"
            ));
        };
        out.push(Err(expr));
        rest = &after[end + 1..];
    }
    out.push(Ok(rest));
    Ok(out)
}

fn expressions(prefix: &str) -> Result<Vec<Expr<'_>>, String> {
    Ok(pieces(prefix)?
        .into_iter()
        .filter_map(Result::err)
        .collect())
}

/// `at` in a Java DateTimeFormatter pattern, as Firehose's `!{timestamp:...}` takes: the fields
/// `yyyy`, `yy`, `MM`, `dd`, `HH`, `mm`, `ss`, any other character but a letter as itself,
/// and text in single quotes as itself.
fn timestamp(format: &str, at: DateTime<Utc>) -> Result<String, String> {
    let chars: Vec<char> = format.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let end = chars[i + 1..]
                .iter()
                .position(|&q| q == '\'')
                .ok_or_else(|| format!("The timestamp format '{format}' has an unclosed quote"))?;
            out.extend(&chars[i + 1..i + 1 + end]);
            i += end + 2;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            out.push(c);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&d| d == c).count();
        let field: String = chars[i..i + run].iter().collect();
        let value = match field.as_str() {
            "yyyy" => format!("{:04}", at.year()),
            "yy" => format!("{:02}", at.year().rem_euclid(100)),
            "MM" => format!("{:02}", at.month()),
            "dd" => format!("{:02}", at.day()),
            "HH" => format!("{:02}", at.hour()),
            "mm" => format!("{:02}", at.minute()),
            "ss" => format!("{:02}", at.second()),
            other => {
                return Err(format!(
                    "The timestamp format '{format}' has the field '{other}', which the embedded Firehose does not apply: use yyyy, yy, MM, dd, HH, mm and ss"
                ));
            }
        };
        out.push_str(&value);
        i += run;
    }
    Ok(out)
}

/// Firehose's random strings: letters and digits.
fn random_string(len: usize) -> String {
    use rand::Rng;
    use rand::distr::Alphanumeric;
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

impl Destination {
    /// The key of an object whose oldest record arrived at `oldest`:
    /// `<prefix><name>-<version>-YYYY-MM-dd-HH-mm-ss-<uuid>[.gz]`, the prefix with its
    /// expressions applied, or, when it has none, followed by `YYYY/MM/dd/HH/` (UTC).
    pub fn key(&self, oldest: DateTime<Utc>) -> String {
        let mut key = String::new();
        // checked at creation, so an expression that fails here cannot happen; kept as text
        for piece in pieces(&self.prefix).unwrap_or_else(|_| vec![Ok(self.prefix.as_str())]) {
            match piece {
                Ok(text) => key.push_str(text),
                Err(Expr::Timestamp(format)) => {
                    key.push_str(&timestamp(format, oldest).unwrap_or_default())
                }
                Err(Expr::Random) => key.push_str(&random_string(11)),
                Err(Expr::ErrorType) => {}
            }
        }
        if !has_expressions(&self.prefix) {
            key.push_str(&oldest.format("%Y/%m/%d/%H/").to_string());
        }
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        key.push_str(&format!(
            "{}-{}-{}-{id}",
            self.name,
            self.version,
            oldest.format("%Y-%m-%d-%H-%M-%S")
        ));
        if self.gzip {
            key.push_str(".gz");
        }
        key
    }
}

/// Records waiting to become an object.
#[derive(Default)]
struct Buffer {
    data: Vec<u8>,
    records: u64,
    /// The arrival of its oldest record (names the object), and when it came into the buffer
    /// (the interval hint runs from then).
    oldest: Option<(DateTime<Utc>, Instant)>,
}

/// An object to write.
struct Object {
    key: String,
    body: Vec<u8>,
    records: u64,
}

/// One buffer and where it goes: a shard's, or a DirectPut delivery stream's.
pub(super) struct Sink {
    destination: Arc<Destination>,
    s3: aws_sdk_s3::Client,
    counts: Arc<Counts>,
    stop: CancellationToken,
    buffer: Buffer,
    ready: Vec<Object>,
}

impl Sink {
    pub fn new(
        destination: Arc<Destination>,
        s3: aws_sdk_s3::Client,
        counts: Arc<Counts>,
        stop: CancellationToken,
    ) -> Sink {
        Sink {
            destination,
            s3,
            counts,
            stop,
            buffer: Buffer::default(),
            ready: Vec::new(),
        }
    }

    /// Adds one record that arrived at `arrival`, taken in at `read` (the interval hint of the
    /// buffer it opens runs from then); an object that fills up is made ready.
    pub fn add(&mut self, data: &[u8], arrival: DateTime<Utc>, read: Instant) {
        let d = self.destination.clone();
        let delimiter = d.delimiter.as_deref().unwrap_or_default();
        let len = data.len() + delimiter.len();
        if self.buffer.records > 0 && self.buffer.data.len() + len > d.size {
            self.seal();
        }
        let b = &mut self.buffer;
        b.data.extend_from_slice(data);
        b.data.extend_from_slice(delimiter);
        b.records += 1;
        b.oldest.get_or_insert((arrival, read));
        self.counts.records.fetch_add(1, Ordering::Relaxed);
    }

    /// Makes the buffer an object if it holds records.
    fn seal(&mut self) {
        let buffer = std::mem::take(&mut self.buffer);
        let Some((oldest, _)) = buffer.oldest else {
            return;
        };
        let key = self.destination.key(oldest);
        let body = if self.destination.gzip {
            gzip(&buffer.data)
        } else {
            buffer.data
        };
        self.ready.push(Object {
            key,
            body,
            records: buffer.records,
        });
    }

    /// When the buffer's oldest record will have waited the interval hint; None when empty.
    fn deadline(&self) -> Option<tokio::time::Instant> {
        let (_, since) = self.buffer.oldest?;
        Some(tokio::time::Instant::from_std(
            since + self.destination.interval,
        ))
    }

    /// Waits for [`Self::deadline`] (forever when the buffer is empty).
    async fn due(&self) {
        match self.deadline() {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    }

    /// Seals the buffer if its oldest record has waited the interval hint, then writes every
    /// object that is ready.
    pub async fn flush_due(&mut self) {
        if let Some((_, since)) = self.buffer.oldest
            && since.elapsed() >= self.destination.interval
        {
            self.seal();
        }
        for object in std::mem::take(&mut self.ready) {
            self.write(object).await;
        }
    }

    /// Writes `object`, retrying every second until it is written or the delivery stream stops.
    async fn write(&self, object: Object) {
        let d = &self.destination;
        let bytes = object.body.len() as u64;
        let body = Bytes::from(object.body);
        let mut warned = false;
        loop {
            let put = self
                .s3
                .put_object()
                .bucket(&d.bucket)
                .key(&object.key)
                .body(body.clone().into())
                .send();
            let outcome = tokio::select! {
                () = self.stop.cancelled() => return,
                outcome = put => outcome,
            };
            match outcome {
                Ok(_) => {
                    self.counts.objects.fetch_add(1, Ordering::Relaxed);
                    self.counts.bytes.fetch_add(bytes, Ordering::Relaxed);
                    tracing::debug!(
                        "firehose {}: wrote s3://{}/{} ({} records, {bytes} bytes)",
                        d.name,
                        d.bucket,
                        object.key,
                        object.records
                    );
                    return;
                }
                Err(e) => {
                    self.counts.write_failures.fetch_add(1, Ordering::Relaxed);
                    if !warned {
                        tracing::warn!(
                            "firehose {}: cannot write s3://{}/{} ({}); retrying every second",
                            d.name,
                            d.bucket,
                            object.key,
                            aws_sdk_s3::error::DisplayErrorContext(&e)
                        );
                        warned = true;
                    }
                }
            }
            tokio::select! {
                () = self.stop.cancelled() => return,
                () = tokio::time::sleep(TICK) => {}
            }
        }
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // writing into a Vec cannot fail
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// An arrival timestamp as the SDK gives it, in UTC (now when there is none).
fn arrival(at: Option<&aws_sdk_kinesis::primitives::DateTime>) -> DateTime<Utc> {
    at.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
        .unwrap_or_else(Utc::now)
}

/// Delivers the records PutRecord and PutRecordBatch hand over (DirectPut) into `sink`, until
/// the delivery stream stops; arrival is when they are taken.
pub(super) async fn from_puts(mut records: mpsc::Receiver<Vec<Bytes>>, mut sink: Sink) {
    let stop = sink.stop.clone();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            batch = records.recv() => match batch {
                Some(batch) => {
                    let (now, read) = (Utc::now(), Instant::now());
                    for record in &batch {
                        sink.add(record, now, read);
                    }
                }
                None => return,
            },
            () = sink.due() => {}
        }
        sink.flush_due().await;
    }
}

/// Reads `stream` for a stream-sourced delivery stream until `stop`: every shard open now from
/// LATEST, every shard that opens later from TRIM_HORIZON.
pub(super) async fn from_stream(
    kinesis: aws_sdk_kinesis::Client,
    s3: aws_sdk_s3::Client,
    stream: String,
    destination: Arc<Destination>,
    counts: Arc<Counts>,
    stop: CancellationToken,
) {
    let mut started: BTreeSet<String> = BTreeSet::new();
    let mut first = true;
    loop {
        match open_shards(&kinesis, &stream).await {
            Ok(shards) => {
                let mut iterators = Vec::new();
                for shard in shards {
                    if started.insert(shard.clone()) {
                        let (start, got_iterator) = if first {
                            let (tx, rx) = tokio::sync::oneshot::channel();
                            iterators.push(rx);
                            (ShardIteratorType::Latest, Some(tx))
                        } else {
                            (ShardIteratorType::TrimHorizon, None)
                        };
                        let sink = Sink::new(
                            destination.clone(),
                            s3.clone(),
                            counts.clone(),
                            stop.clone(),
                        );
                        tokio::spawn(read_shard(
                            kinesis.clone(),
                            Reader {
                                stream: stream.clone(),
                                shard,
                                start,
                                got_iterator,
                            },
                            sink,
                        ));
                    }
                }
                if first {
                    let counts = counts.clone();
                    tokio::spawn(async move {
                        for got in iterators {
                            if got.await.is_err() {
                                return; // stopped first
                            }
                        }
                        counts.reading.store(true, Ordering::Relaxed);
                    });
                }
                first = false;
            }
            Err(e) => tracing::warn!(
                "firehose {}: cannot list the shards of {stream}: {e}",
                destination.name
            ),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(if first { TICK } else { RELIST }) => {}
        }
    }
}

/// The ids of the open shards of `stream` (every page of ListShards).
async fn open_shards(
    kinesis: &aws_sdk_kinesis::Client,
    stream: &str,
) -> Result<Vec<String>, String> {
    let mut shards = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let request = match &token {
            Some(t) => kinesis.list_shards().next_token(t),
            None => kinesis.list_shards().stream_name(stream),
        };
        let out = request
            .send()
            .await
            .map_err(|e| aws_sdk_kinesis::error::DisplayErrorContext(&e).to_string())?;
        for shard in out.shards() {
            let open = shard
                .sequence_number_range()
                .is_none_or(|r| r.ending_sequence_number().is_none());
            if open {
                shards.push(shard.shard_id().to_string());
            }
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(shards),
        }
    }
}

/// What one shard's reader reads.
struct Reader {
    stream: String,
    shard: String,
    /// Where it starts.
    start: ShardIteratorType,
    /// Told when it has its first iterator.
    got_iterator: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Reads one shard once per second into `sink` until the shard ends or the sink's stop.
async fn read_shard(kinesis: aws_sdk_kinesis::Client, reader: Reader, mut sink: Sink) {
    let Reader {
        stream,
        shard,
        start,
        mut got_iterator,
    } = reader;
    let stop = sink.stop.clone();
    let name = sink.destination.name.clone();
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut iterator: Option<String> = None;
    let mut last_sequence: Option<String> = None;
    loop {
        // a buffer due at the same moment as a read is sealed first: its interval runs from the
        // read that opened it, so objects close every interval, not every interval + 1 s
        let read = tokio::select! {
            biased;
            () = stop.cancelled() => return,
            () = sink.due() => {
                sink.flush_due().await;
                continue;
            }
            at = ticks.tick() => at.into_std(),
        };
        let Some(it) = iterator.clone() else {
            let request = kinesis
                .get_shard_iterator()
                .stream_name(&stream)
                .shard_id(&shard);
            let request = match &last_sequence {
                Some(seq) => request
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .starting_sequence_number(seq),
                None => request.shard_iterator_type(start.clone()),
            };
            match request.send().await {
                Ok(out) => {
                    iterator = out.shard_iterator().map(str::to_string);
                    if let Some(told) = got_iterator.take() {
                        let _ = told.send(());
                    }
                }
                Err(e) => {
                    if is_throttle(e.as_service_error().map(|s| s.meta().code())) {
                        sink.counts.read_throttles.fetch_add(1, Ordering::Relaxed);
                    } else {
                        tracing::debug!(
                            "firehose {name}: GetShardIterator {shard}: {}",
                            aws_sdk_kinesis::error::DisplayErrorContext(&e)
                        );
                    }
                }
            }
            continue;
        };
        match kinesis.get_records().shard_iterator(it).send().await {
            Ok(out) => {
                for record in out.records() {
                    let at = arrival(record.approximate_arrival_timestamp());
                    let data = record.data().as_ref();
                    match crate::aggregate::decode(data) {
                        Some(aggregate) => {
                            for user in aggregate.records() {
                                sink.add(user.data, at, read);
                            }
                        }
                        None => sink.add(data, at, read),
                    }
                    last_sequence = Some(record.sequence_number().to_string());
                }
                iterator = out.next_shard_iterator().map(str::to_string);
                if iterator.is_none() {
                    // the shard is closed and read to its end: deliver what it held, and stop
                    sink.seal();
                    sink.flush_due().await;
                    return;
                }
            }
            Err(e) => {
                let code = e.as_service_error().map(|s| s.meta().code());
                if is_throttle(code) {
                    sink.counts.read_throttles.fetch_add(1, Ordering::Relaxed);
                } else {
                    if code.flatten() == Some("ExpiredIteratorException") {
                        iterator = None;
                    }
                    tracing::debug!(
                        "firehose {name}: GetRecords {shard}: {}",
                        aws_sdk_kinesis::error::DisplayErrorContext(&e)
                    );
                }
            }
        }
        sink.flush_due().await;
    }
}

fn is_throttle(code: Option<Option<&str>>) -> bool {
    matches!(
        code.flatten(),
        Some("ProvisionedThroughputExceededException" | "LimitExceededException")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").to_utc()
    }

    fn destination(prefix: &str, gzip: bool) -> Destination {
        Destination {
            name: "clicks-to-s3".into(),
            version: "1".into(),
            bucket: "b".into(),
            prefix: prefix.into(),
            size: 100,
            interval: Duration::from_secs(60),
            gzip,
            delimiter: None,
        }
    }

    #[test]
    fn objects_are_named_as_firehose_names_them() {
        let t = at("2026-03-04T05:06:07.890Z");
        let key = destination("", false).key(t);
        let (head, id) = key.split_at(key.len() - 36);
        assert_eq!(head, "2026/03/04/05/clicks-to-s3-1-2026-03-04-05-06-07-");
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{key}");
        let key = destination("clicks/", true).key(t);
        assert!(
            key.starts_with("clicks/2026/03/04/05/clicks-to-s3-1-2026-03-04-05-06-07-"),
            "{key}"
        );
        assert!(key.ends_with(".gz"), "{key}");
        // with expressions, no time prefix is added
        let key = destination(
            "year=!{timestamp:yyyy}/month=!{timestamp:MM}/!{timestamp:dd'T'HH}/",
            false,
        )
        .key(t);
        assert!(
            key.starts_with("year=2026/month=03/04T05/clicks-to-s3-1-2026-03-04-05-06-07-"),
            "{key}"
        );
        let key = destination("r/!{firehose:random-string}/", false).key(t);
        let random = &key["r/".len()..key.find("/clicks").expect("name")];
        assert_eq!(random.len(), 11, "{key}");
        assert!(random.chars().all(|c| c.is_ascii_alphanumeric()), "{key}");
    }

    #[test]
    fn prefixes_firehose_cannot_apply_are_refused() {
        assert!(check_prefix("a/!{timestamp:yyyy/MM}/", false).is_ok());
        assert!(check_prefix("e/!{firehose:error-output-type}/", true).is_ok());
        let e = check_prefix("e/!{firehose:error-output-type}/", false).unwrap_err();
        assert!(e.contains("only allowed in the ErrorOutputPrefix"), "{e}");
        let e = check_prefix("a/!{partitionKeyFromQuery:id}/", false).unwrap_err();
        assert!(e.contains("is not supported"), "{e}");
        let e = check_prefix("a/!{timestamp:EEE}/", false).unwrap_err();
        assert!(e.contains("'EEE'"), "{e}");
        let e = check_prefix("a/!{timestamp:yyyy", false).unwrap_err();
        assert!(e.contains("not closed"), "{e}");
    }

    fn sink(d: Destination) -> Sink {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .build();
        Sink::new(
            Arc::new(d),
            aws_sdk_s3::Client::from_conf(config),
            Arc::default(),
            CancellationToken::new(),
        )
    }

    #[test]
    fn a_buffer_becomes_an_object_before_the_record_that_would_take_it_past_the_size_hint() {
        let mut d = destination("", false);
        d.delimiter = Some(b"\n".to_vec());
        let mut s = sink(d);
        let t = at("2026-03-04T05:06:07Z");
        for _ in 0..10 {
            s.add(&[b'x'; 29], t, Instant::now()); // 30 bytes with the delimiter: three fit in 100
        }
        s.seal();
        let sizes: Vec<(usize, u64)> = s.ready.iter().map(|o| (o.body.len(), o.records)).collect();
        assert_eq!(sizes, [(90, 3), (90, 3), (90, 3), (30, 1)]);
        assert!(s.ready[0].body.ends_with(b"x\n"));
        // a record larger than the hint is an object of its own
        s.ready.clear();
        s.add(&[b'y'; 150], t, Instant::now());
        s.add(b"z", t, Instant::now());
        s.seal();
        let sizes: Vec<usize> = s.ready.iter().map(|o| o.body.len()).collect();
        assert_eq!(sizes, [151, 2]);
    }

    #[test]
    fn gzip_objects_gunzip_to_the_records() {
        use std::io::Read;
        let mut s = sink(destination("", true));
        let t = at("2026-03-04T05:06:07Z");
        s.add(b"one", t, Instant::now());
        s.add(b"two", t, Instant::now());
        s.seal();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(s.ready[0].body.as_slice())
            .read_to_end(&mut out)
            .expect("gunzip");
        assert_eq!(out, b"onetwo");
    }
}
