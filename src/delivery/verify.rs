//! The delivery verifier: lists the bucket's prefix, reads every new object once (gunzipping
//! it when it is GZIP), finds this run's records in it by their stamps, and accounts for each:
//! delivered, duplicate, and its delivery latency (intended send time to the object first seen
//! in a listing).
//!
//! Records are found by their stamps wherever they are in an object: the binary stamp's first
//! 8 bytes (`KBS1` and the run id) or a JSON record's `{"_kbench":"` and the same 8 bytes in
//! hex. Firehose concatenates records with no delimiter, and another pipeline may wrap or
//! transform them; a stamp needs neither a delimiter nor a length to be found, and a chance
//! match of 8 bytes that also decodes to one of the run's sequence numbers is 1 in 2^64 per
//! position, so the stamp format is unchanged.

use crate::metrics::histogram::Latency;
use crate::metrics::seen::SeenSet;
use crate::workload::stamp::{STAMP_MAGIC, Stamp};
use std::collections::HashSet;
use std::io::Read;
use std::time::{Duration, Instant};

/// One object, as the verifier saw it (a row of objects.csv).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectSeen {
    pub key: String,
    /// Its size in S3 (compressed, when it is), and once gunzipped.
    pub bytes: u64,
    pub data_bytes: u64,
    /// This run's records in it, and how many of them had been seen in an earlier object.
    pub records: u64,
    pub duplicates: u64,
    /// The earliest and latest intended send time of its records (Unix ns; 0 without records).
    pub first_unix_ns: u64,
    pub last_unix_ns: u64,
    /// When a listing first showed it, from the run's start.
    pub seen_at: Duration,
}

/// What the verifier has found so far.
pub struct Delivered {
    run_id: u32,
    /// The run's schedule length: a stamp's sequence number is below it.
    total: u64,
    start: Instant,
    start_unix_ns: u64,
    /// Keys read already (each object is read once).
    keys: HashSet<String>,
    /// Sequence numbers delivered, at least once.
    pub records: SeenSet,
    pub duplicates: u64,
    pub latency: Latency,
    pub objects: Vec<ObjectSeen>,
    /// Objects that could not be read (a failed GET, a GZIP object that does not gunzip).
    pub unreadable: Vec<String>,
    needle: [u8; 8],
    json_needle: Vec<u8>,
}

impl Delivered {
    pub fn new(run_id: u32, total: u64, start: Instant, start_unix_ns: u64) -> Delivered {
        let mut needle = [0u8; 8];
        needle[..4].copy_from_slice(&STAMP_MAGIC);
        needle[4..].copy_from_slice(&run_id.to_be_bytes());
        let mut json_needle = b"{\"_kbench\":\"".to_vec();
        for b in needle {
            json_needle.extend_from_slice(format!("{b:02x}").as_bytes());
        }
        Delivered {
            run_id,
            total,
            start,
            start_unix_ns,
            keys: HashSet::new(),
            records: SeenSet::default(),
            duplicates: 0,
            latency: Latency::new(),
            objects: Vec::new(),
            unreadable: Vec::new(),
            needle,
            json_needle,
        }
    }

    /// Whether the object `key` has been read.
    pub fn has(&self, key: &str) -> bool {
        self.keys.contains(key)
    }

    /// Accounts for the object `key` whose body is `body`, first listed at `seen`.
    pub fn object(&mut self, key: &str, body: &[u8], seen: Instant) {
        self.keys.insert(key.to_string());
        let gunzipped;
        let data = if body.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            match flate2::read::MultiGzDecoder::new(body).read_to_end(&mut out) {
                Ok(_) => {
                    gunzipped = out;
                    gunzipped.as_slice()
                }
                Err(_) => {
                    self.unreadable.push(key.to_string());
                    return;
                }
            }
        } else {
            body
        };
        let seen_unix_ns =
            self.start_unix_ns + seen.saturating_duration_since(self.start).as_nanos() as u64;
        let mut row = ObjectSeen {
            key: key.to_string(),
            bytes: body.len() as u64,
            data_bytes: data.len() as u64,
            records: 0,
            duplicates: 0,
            first_unix_ns: 0,
            last_unix_ns: 0,
            seen_at: seen.saturating_duration_since(self.start),
        };
        let binary = memchr::memmem::find_iter(data, &self.needle);
        let json = memchr::memmem::find_iter(data, &self.json_needle);
        for at in binary.chain(json) {
            let Some(stamp) = Stamp::read(&data[at..]) else {
                continue;
            };
            if stamp.run_id != self.run_id || stamp.seq >= self.total {
                continue;
            }
            row.records += 1;
            if row.first_unix_ns == 0 || stamp.intended_unix_ns < row.first_unix_ns {
                row.first_unix_ns = stamp.intended_unix_ns;
            }
            row.last_unix_ns = row.last_unix_ns.max(stamp.intended_unix_ns);
            if self.records.insert(stamp.seq) {
                self.latency.record(Duration::from_nanos(
                    seen_unix_ns.saturating_sub(stamp.intended_unix_ns),
                ));
            } else {
                row.duplicates += 1;
                self.duplicates += 1;
            }
        }
        self.objects.push(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamped(run_id: u32, seq: u64, intended_unix_ns: u64, json: bool) -> Vec<u8> {
        let stamp = Stamp {
            run_id,
            producer_id: 0,
            seq,
            intended_unix_ns,
        };
        if json {
            let mut out = Vec::new();
            stamp.prefix_json("{\"a\": 1}", &mut out);
            out
        } else {
            let mut d = vec![7u8; 40];
            stamp.write(&mut d);
            d
        }
    }

    #[test]
    fn records_are_found_by_their_stamps_in_concatenated_and_gzipped_objects() {
        let start = Instant::now();
        let t0 = 1_000_000_000_000;
        let mut d = Delivered::new(9, 100, start, t0);
        // binary and JSON records, concatenated, one of another run, one plain
        let mut body = Vec::new();
        for seq in 0..5 {
            body.extend(stamped(9, seq, t0, seq % 2 == 0));
        }
        body.extend(stamped(8, 6, t0, false));
        body.extend(b"plain");
        body.extend(stamped(9, 200, t0, false)); // beyond the schedule: not this run's
        d.object("a", &body, start + Duration::from_secs(3));
        assert_eq!(d.records.len(), 5);
        assert_eq!(d.objects[0].records, 5);
        assert_eq!(d.latency.count(), 5);
        assert_eq!(d.latency.quantile(0.5).as_secs(), 3);
        // the same records again, gzipped: duplicates, not more records
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&body).expect("gzip");
        let gz = gz.finish().expect("gzip");
        d.object("b.gz", &gz, start + Duration::from_secs(4));
        assert_eq!((d.records.len(), d.duplicates), (5, 5));
        assert_eq!(d.objects[1].duplicates, 5);
        assert_eq!(d.objects[1].data_bytes, body.len() as u64);
        assert!(d.has("a") && d.has("b.gz") && !d.has("c"));
        // a GZIP object that does not gunzip is unreadable, not empty
        d.object("broken.gz", &gz[..gz.len() / 2], start);
        assert_eq!(d.unreadable, ["broken.gz"]);
    }
}
