//! Records in flight and the batches that carry them, filled by count and bytes.

use std::time::Instant;

/// One record on its way to the stream, until it is acknowledged or given up.
#[derive(Debug, Clone)]
pub struct Record {
    /// Index in the run's schedule (the stamp's sequence number).
    pub seq: u64,
    /// Phase the record belongs to.
    pub phase: usize,
    /// When the schedule wanted it sent.
    pub intended: Instant,
    /// When it was first actually sent.
    pub first_sent: Option<Instant>,
    pub key: String,
    /// Explicit hash key (decimal), overriding the partition key's routing.
    pub explicit_hash_key: Option<String>,
    /// Index of the shard it goes to in the stream's shard map (`NO_SHARD` if unknown).
    pub shard: u32,
    pub data: Vec<u8>,
    /// Attempts made so far.
    pub attempts: u32,
}

impl Record {
    /// Bytes that count toward the request and shard limits: data plus partition key.
    pub fn wire_bytes(&self) -> u64 {
        (self.data.len() + self.key.len()) as u64
    }
}

/// A batch being filled, bounded by a record count and a byte count.
#[derive(Debug)]
pub struct Batch {
    pub records: Vec<Record>,
    bytes: u64,
    max_records: usize,
    max_bytes: u64,
}

impl Batch {
    pub fn new(max_records: usize, max_bytes: u64) -> Batch {
        Batch {
            records: Vec::with_capacity(max_records),
            bytes: 0,
            max_records,
            max_bytes,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether `record` fits (an empty batch takes any record; validation bounds record size).
    pub fn fits(&self, record: &Record) -> bool {
        self.is_empty()
            || (self.records.len() < self.max_records
                && self.bytes + record.wire_bytes() <= self.max_bytes)
    }

    /// Whether no further record can be added.
    pub fn is_full(&self) -> bool {
        self.records.len() >= self.max_records
    }

    pub fn push(&mut self, record: Record) {
        self.bytes += record.wire_bytes();
        self.records.push(record);
    }

    /// Hands the records over and leaves the batch empty for reuse.
    pub fn take(&mut self) -> Vec<Record> {
        self.bytes = 0;
        std::mem::replace(&mut self.records, Vec::with_capacity(self.max_records))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(bytes: usize) -> Record {
        Record {
            seq: 0,
            phase: 0,
            intended: Instant::now(),
            first_sent: None,
            key: "k1".into(),
            explicit_hash_key: None,
            shard: 0,
            data: vec![0; bytes - 2],
            attempts: 0,
        }
    }

    #[test]
    fn fills_by_count_and_by_bytes() {
        let mut by_count = Batch::new(2, 1000);
        by_count.push(record(10));
        assert!(by_count.fits(&record(10)));
        by_count.push(record(10));
        assert!(by_count.is_full() && !by_count.fits(&record(10)));

        let mut by_bytes = Batch::new(500, 100);
        by_bytes.push(record(60));
        assert!(!by_bytes.fits(&record(41)));
        assert!(by_bytes.fits(&record(40)));
        assert_eq!(by_bytes.take().len(), 1);
        assert!(by_bytes.is_empty() && by_bytes.fits(&record(100)));
    }
}
