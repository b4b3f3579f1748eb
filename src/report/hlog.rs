//! put.hlog, e2e.hlog (every consumer's reads together) and `e2e-<consumer>.hlog` (one per
//! consumer, when a run has several): HdrHistogram interval logs (the standard V2 format with
//! compressed histograms), one histogram per report interval and phase, tagged `<api>/<phase>`,
//! written and flushed as the run goes. Values (and Interval_Max) are microseconds.
//!
//! Read them with HdrHistogram's own tools (HistogramLogProcessor, HistogramLogReader in Java or
//! Python) or the hdrhistogram crate's `IntervalLogIterator`.

use crate::metrics::collector::Row;
use crate::metrics::histogram::Latency;
use crate::metrics::interval::Stats;
use anyhow::Context;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Which latency a log holds (None: none in these statistics).
pub type Pick = Box<dyn for<'a> Fn(&'a Stats) -> Option<&'a Latency> + Send>;

/// One interval log file.
pub struct HlogWriter {
    file: BufWriter<File>,
    serializer: V2DeflateSerializer,
    pick: Pick,
    /// The run's start: the log's BaseTime.
    base: SystemTime,
    /// Reused per interval.
    buf: Vec<u8>,
}

impl HlogWriter {
    /// Creates `dir/name` and writes the headers; `base` is the run's start.
    pub fn create(
        dir: &Path,
        name: &str,
        what: &str,
        base: SystemTime,
        pick: Pick,
    ) -> anyhow::Result<HlogWriter> {
        let path = dir.join(name);
        let file =
            File::create(&path).with_context(|| format!("cannot create `{}`", path.display()))?;
        let mut file = BufWriter::new(file);
        let mut serializer = V2DeflateSerializer::new();
        IntervalLogWriterBuilder::new()
            .add_comment(&format!(
                "kbench {} {what}, in microseconds; one histogram per interval and phase, tagged <api>/<phase>",
                env!("CARGO_PKG_VERSION")
            ))
            .with_start_time(base)
            .with_base_time(base)
            .begin_log_with(&mut file, &mut serializer)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        file.write_all(
            b"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
        )?;
        file.flush()?;
        Ok(HlogWriter {
            file,
            serializer,
            pick,
            base,
            buf: Vec::new(),
        })
    }

    /// Writes one interval of variant `api`, which started at `variant_start`; `phases` names
    /// the phases by index.
    pub fn write(
        &mut self,
        api: &str,
        phases: &[String],
        variant_start: SystemTime,
        row: &Row,
    ) -> anyhow::Result<()> {
        let offset = variant_start
            .duration_since(self.base)
            .unwrap_or(Duration::ZERO);
        let start = offset + row.elapsed.saturating_sub(row.length);
        self.buf.clear();
        // a builder with no headers: it only frames this interval's histograms
        let mut log =
            IntervalLogWriterBuilder::new().begin_log_with(&mut self.buf, &mut self.serializer)?;
        for (stats, phase) in row.by_phase.iter().zip(phases) {
            let Some(latency) = (self.pick)(stats).filter(|l| !l.is_empty()) else {
                continue;
            };
            let tag = tag_text(api, phase);
            log.write_histogram(&latency.histogram(), start, row.length, Tag::new(&tag))
                .map_err(|e| anyhow::anyhow!("cannot encode an interval histogram: {e:?}"))?;
        }
        self.file.write_all(&self.buf)?;
        self.file.flush()?;
        Ok(())
    }
}

/// `<api>/<phase>`, with the characters a tag may not hold (comma, space, line breaks) made `_`.
pub fn tag_text(api: &str, phase: &str) -> String {
    format!("{api}/{phase}")
        .chars()
        .map(|c| {
            if matches!(c, ',' | ' ' | '\r' | '\n') {
                '_'
            } else {
                c
            }
        })
        .collect()
}
