//! The KPL aggregation format: many user records packed into one Kinesis record.
//!
//! An aggregate is laid out as
//!
//! ```text
//! MAGIC (4 bytes) | protobuf AggregatedRecord (N bytes) | MD5 of the protobuf (16 bytes)
//! ```
//!
//! where the protobuf (proto2) is
//!
//! ```text
//! message AggregatedRecord {
//!   repeated string partition_key_table     = 1;
//!   repeated string explicit_hash_key_table = 2;
//!   repeated Record records                 = 3;
//! }
//! message Record {
//!   required uint64 partition_key_index     = 1;
//!   optional uint64 explicit_hash_key_index = 2;
//!   required bytes  data                    = 3;
//!   repeated Tag    tags                    = 4;
//! }
//! message Tag {
//!   required string key   = 1;
//!   optional string value = 2;
//! }
//! ```
//!
//! This module is a pure codec: [`Builder`] packs user records and knows the exact encoded
//! size at every step (so a producer can stop before a size limit without re-encoding), and
//! [`decode`] unpacks an aggregate, or says it is not one so that the caller treats the bytes
//! as a plain record. It does no I/O and never panics on input.

use std::collections::HashMap;

use md5::{Digest, Md5};
use prost::Message;
use prost::encoding::{encoded_len_varint, key_len};

/// The four bytes every aggregate starts with.
pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];

/// Length of the MD5 digest that ends every aggregate.
const DIGEST_LEN: usize = 16;

/// Bytes an aggregate adds around its protobuf body: magic + MD5.
pub const OVERHEAD: usize = MAGIC.len() + DIGEST_LEN;

// Field numbers of the protobuf messages, shared by the derive attributes' meaning and the
// size arithmetic below.
const TAG_PARTITION_KEY_TABLE: u32 = 1;
const TAG_EXPLICIT_HASH_KEY_TABLE: u32 = 2;
const TAG_RECORDS: u32 = 3;
const TAG_RECORD_PARTITION_KEY_INDEX: u32 = 1;
const TAG_RECORD_EXPLICIT_HASH_KEY_INDEX: u32 = 2;
const TAG_RECORD_DATA: u32 = 3;

/// The protobuf body of an aggregate.
#[derive(Clone, PartialEq, Message)]
struct AggregatedRecord {
    #[prost(string, repeated, tag = "1")]
    partition_key_table: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    explicit_hash_key_table: Vec<String>,
    #[prost(message, repeated, tag = "3")]
    records: Vec<Record>,
}

/// One user record inside [`AggregatedRecord`].
#[derive(Clone, PartialEq, Message)]
struct Record {
    #[prost(uint64, required, tag = "1")]
    partition_key_index: u64,
    #[prost(uint64, optional, tag = "2")]
    explicit_hash_key_index: Option<u64>,
    #[prost(bytes = "vec", required, tag = "3")]
    data: Vec<u8>,
    /// Tags are part of the format but carry nothing kbench uses: decoded and ignored,
    /// never written.
    #[prost(message, repeated, tag = "4")]
    tags: Vec<Tag>,
}

/// A key/value tag on a [`Record`] (unused by kbench).
#[derive(Clone, PartialEq, Message)]
struct Tag {
    #[prost(string, required, tag = "1")]
    key: String,
    #[prost(string, optional, tag = "2")]
    value: Option<String>,
}

/// Encoded length of one entry (`tag`, length, bytes) of a repeated string table.
fn table_entry_len(tag: u32, key: &str) -> usize {
    key_len(tag) + encoded_len_varint(key.len() as u64) + key.len()
}

/// Encoded length of one element of `AggregatedRecord.records`, including its own field key
/// and length prefix, for a record without tags.
fn record_entry_len(
    partition_key_index: u64,
    explicit_hash_key_index: Option<u64>,
    data_len: usize,
) -> usize {
    let inner = key_len(TAG_RECORD_PARTITION_KEY_INDEX)
        + encoded_len_varint(partition_key_index)
        + explicit_hash_key_index.map_or(0, |index| {
            key_len(TAG_RECORD_EXPLICIT_HASH_KEY_INDEX) + encoded_len_varint(index)
        })
        + key_len(TAG_RECORD_DATA)
        + encoded_len_varint(data_len as u64)
        + data_len;
    key_len(TAG_RECORDS) + encoded_len_varint(inner as u64) + inner
}

/// The index `key` has, or would get, in a de-duplicated table, and whether it is new.
fn table_index(lookup: &HashMap<String, u64>, key: &str) -> (u64, bool) {
    match lookup.get(key) {
        Some(&index) => (index, false),
        None => (lookup.len() as u64, true),
    }
}

/// Builds one aggregate incrementally, knowing its exact encoded size at every step.
///
/// Partition keys and explicit hash keys are de-duplicated into the aggregate's tables, in
/// order of first use. [`size_with`](Builder::size_with) and [`push`](Builder::push) are O(1)
/// amortised (a hash lookup per key and a few varint lengths), never re-encoding anything.
///
/// The builder enforces no size limit: the caller checks `size_with` against its own limit
/// (for Kinesis, 1 MiB per record including the outer partition key) before pushing. It also
/// does not choose the partition key of the Kinesis record that carries the aggregate; the
/// usual choice (the KPL's) is the partition key of the first user record.
#[derive(Debug, Default)]
pub struct Builder {
    /// The protobuf being built, ready to encode.
    message: AggregatedRecord,
    /// Partition key to its index in `message.partition_key_table`.
    partition_keys: HashMap<String, u64>,
    /// Explicit hash key to its index in `message.explicit_hash_key_table`.
    explicit_hash_keys: HashMap<String, u64>,
    /// Exact encoded length of `message`.
    body_len: usize,
}

impl Builder {
    /// An empty builder.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Number of user records pushed since the last [`finish`](Builder::finish).
    pub fn len(&self) -> usize {
        self.message.records.len()
    }

    /// Whether no user record has been pushed since the last [`finish`](Builder::finish).
    pub fn is_empty(&self) -> bool {
        self.message.records.is_empty()
    }

    /// Exact size in bytes of the finished aggregate (magic + protobuf + MD5) so far.
    ///
    /// Always equals `finish().len()`; for an empty builder that is [`OVERHEAD`], the size
    /// of a (valid, but useless) aggregate of zero records.
    pub fn size(&self) -> usize {
        OVERHEAD + self.body_len
    }

    /// Exact finished size if this record were added (without adding it).
    ///
    /// Accounts for the partition key and explicit hash key entering their tables when they
    /// are new to this aggregate, and for the varint widths of their indices.
    pub fn size_with(
        &self,
        partition_key: &str,
        explicit_hash_key: Option<&str>,
        data_len: usize,
    ) -> usize {
        self.size() + self.growth(partition_key, explicit_hash_key, data_len)
    }

    /// Bytes the protobuf body would grow by if this record were added.
    fn growth(
        &self,
        partition_key: &str,
        explicit_hash_key: Option<&str>,
        data_len: usize,
    ) -> usize {
        let (pk_index, pk_new) = table_index(&self.partition_keys, partition_key);
        let mut growth = if pk_new {
            table_entry_len(TAG_PARTITION_KEY_TABLE, partition_key)
        } else {
            0
        };
        let ehk_index = explicit_hash_key.map(|ehk| {
            let (index, new) = table_index(&self.explicit_hash_keys, ehk);
            if new {
                growth += table_entry_len(TAG_EXPLICIT_HASH_KEY_TABLE, ehk);
            }
            index
        });
        growth + record_entry_len(pk_index, ehk_index, data_len)
    }

    /// Adds one user record. Afterwards [`size`](Builder::size) is what
    /// [`size_with`](Builder::size_with) returned for the same arguments.
    pub fn push(&mut self, partition_key: &str, explicit_hash_key: Option<&str>, data: Vec<u8>) {
        self.body_len += self.growth(partition_key, explicit_hash_key, data.len());

        let partition_key_index = intern(
            &mut self.partition_keys,
            &mut self.message.partition_key_table,
            partition_key,
        );
        let explicit_hash_key_index = explicit_hash_key.map(|ehk| {
            intern(
                &mut self.explicit_hash_keys,
                &mut self.message.explicit_hash_key_table,
                ehk,
            )
        });
        let record = Record {
            partition_key_index,
            explicit_hash_key_index,
            data,
            tags: Vec::new(),
        };
        debug_assert_eq!(
            record_entry_len(
                partition_key_index,
                explicit_hash_key_index,
                record.data.len()
            ),
            prost::encoding::message::encoded_len(TAG_RECORDS, &record),
        );
        self.message.records.push(record);
    }

    /// The finished aggregate: magic, protobuf, MD5. Leaves the builder empty for reuse
    /// (keeping its allocations).
    ///
    /// On an empty builder this returns the [`OVERHEAD`]-byte aggregate of zero records,
    /// which [`decode`] accepts as an aggregate with no records.
    pub fn finish(&mut self) -> Vec<u8> {
        let size = self.size();
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(&MAGIC);
        // Encoding into a Vec only fails for lack of room, and a Vec grows.
        self.message
            .encode(&mut out)
            .expect("encoding into a Vec<u8> cannot run out of room");
        let digest = Md5::digest(&out[MAGIC.len()..]);
        out.extend_from_slice(&digest);
        debug_assert_eq!(out.len(), size, "tracked size drifted from the encoding");

        self.message.partition_key_table.clear();
        self.message.explicit_hash_key_table.clear();
        self.message.records.clear();
        self.partition_keys.clear();
        self.explicit_hash_keys.clear();
        self.body_len = 0;
        out
    }
}

/// The index of `key` in `table`, appending it (and recording it in `lookup`) when new.
fn intern(lookup: &mut HashMap<String, u64>, table: &mut Vec<String>, key: &str) -> u64 {
    if let Some(&index) = lookup.get(key) {
        return index;
    }
    let index = table.len() as u64;
    table.push(key.to_owned());
    lookup.insert(key.to_owned(), index);
    index
}

/// One user record inside an aggregate, borrowed from the [`Decoded`] that holds it.
///
/// Borrowing works because [`Decoded`] owns the decoded protobuf, whose strings and byte
/// vectors live as long as it does; iterating copies nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserRecord<'a> {
    /// The user record's partition key (from the aggregate's partition key table).
    pub partition_key: &'a str,
    /// The user record's explicit hash key, when it has one.
    pub explicit_hash_key: Option<&'a str>,
    /// The user record's payload.
    pub data: &'a [u8],
}

/// A decoded aggregate (owns the decoded protobuf).
///
/// Every record's table indices were checked by [`decode`], so iterating cannot fail.
#[derive(Debug, Clone)]
pub struct Decoded {
    message: AggregatedRecord,
}

impl Decoded {
    /// The user records, in the order they were aggregated. Tags are ignored.
    pub fn records(&self) -> impl Iterator<Item = UserRecord<'_>> {
        let message = &self.message;
        // Indices were validated in `decode`; `get` keeps this panic-free regardless.
        message.records.iter().filter_map(move |record| {
            let partition_key = usize::try_from(record.partition_key_index)
                .ok()
                .and_then(|index| message.partition_key_table.get(index))?;
            let explicit_hash_key = match record.explicit_hash_key_index {
                None => None,
                Some(index) => Some(
                    usize::try_from(index)
                        .ok()
                        .and_then(|index| message.explicit_hash_key_table.get(index))?
                        .as_str(),
                ),
            };
            Some(UserRecord {
                partition_key,
                explicit_hash_key,
                data: &record.data,
            })
        })
    }

    /// Number of user records in the aggregate.
    pub fn len(&self) -> usize {
        self.message.records.len()
    }

    /// Whether the aggregate holds no user record (a valid but empty aggregate).
    pub fn is_empty(&self) -> bool {
        self.message.records.is_empty()
    }
}

/// Decodes `data` as an aggregate; `None` when it is not one: wrong magic, too short, MD5
/// mismatch, unparsable protobuf, or a record whose partition-key index (or explicit-hash-key
/// index, when present) is outside its table. A `None` means "treat as a plain record".
///
/// An aggregate of zero records (magic, empty protobuf, MD5 of nothing: [`OVERHEAD`] bytes)
/// decodes to an empty [`Decoded`], as the KCL treats it. Tags are parsed and ignored; proto2
/// `required` fields that are missing read as their defaults (index 0, empty data), which
/// prost does not reject, and which the index check still covers.
pub fn decode(data: &[u8]) -> Option<Decoded> {
    let rest = data.strip_prefix(&MAGIC)?;
    let body_len = rest.len().checked_sub(DIGEST_LEN)?;
    let (body, digest) = rest.split_at(body_len);
    if Md5::digest(body).as_slice() != digest {
        return None;
    }
    let message = AggregatedRecord::decode(body).ok()?;
    let in_table = |index: u64, table: &[String]| {
        usize::try_from(index).is_ok_and(|index| index < table.len())
    };
    let indices_valid = message.records.iter().all(|record| {
        in_table(record.partition_key_index, &message.partition_key_table)
            && record
                .explicit_hash_key_index
                .is_none_or(|index| in_table(index, &message.explicit_hash_key_table))
    });
    indices_valid.then_some(Decoded { message })
}

#[cfg(test)]
mod tests;
