//! Records on their way to the stream: user records as made, the Kinesis records (entries) that
//! carry them, plain or aggregated, and the batch those entries are packed into.
//!
//! One packer serves every API variant: without aggregation each user record is its own entry;
//! with it, user records that map to the same shard share an aggregate until it reaches its size
//! or count limit. A group left with one record goes out as a plain record (as the KPL does), so
//! a record too big to share an aggregate is still sent.

use crate::aggregate::{self, Builder};
use crate::scenario::Aggregation;
use crate::workload::shardmap::NO_SHARD;
use std::collections::HashMap;
use std::time::Instant;

/// A user record as the generator made it.
#[derive(Debug, Clone)]
pub struct Record {
    /// Index in the run's schedule (the stamp's sequence number).
    pub seq: u64,
    /// Phase the record belongs to.
    pub phase: usize,
    /// When the schedule wanted it sent.
    pub intended: Instant,
    pub key: String,
    /// Explicit hash key (decimal), overriding the partition key's routing.
    pub explicit_hash_key: Option<String>,
    /// Index of the shard it goes to in the stream's shard map (`NO_SHARD` if unknown).
    pub shard: u32,
    pub data: Vec<u8>,
}

impl Record {
    /// Bytes that count toward the request and shard limits: data plus partition key.
    pub fn wire_bytes(&self) -> u64 {
        (self.data.len() + self.key.len()) as u64
    }

    fn user(&self) -> UserRecord {
        UserRecord {
            seq: self.seq,
            phase: self.phase,
            intended: self.intended,
            shard: self.shard,
            bytes: self.wire_bytes() as u32,
        }
    }
}

/// What the producer keeps of a user record once it is packed: enough to account for it.
#[derive(Debug, Clone, Copy)]
pub struct UserRecord {
    pub seq: u64,
    pub phase: usize,
    pub intended: Instant,
    pub shard: u32,
    /// Data plus partition key.
    pub bytes: u32,
}

/// The user records one entry carries: one (a plain record) or many (an aggregate).
#[derive(Debug, Clone)]
pub enum Users {
    One(UserRecord),
    Many(Vec<UserRecord>),
}

impl Users {
    pub fn as_slice(&self) -> &[UserRecord] {
        match self {
            Users::One(u) => std::slice::from_ref(u),
            Users::Many(v) => v,
        }
    }
}

/// One Kinesis record: what a PutRecords entry or a PutRecord call sends.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub explicit_hash_key: Option<String>,
    pub data: Vec<u8>,
    pub users: Users,
    /// When it was first actually sent.
    pub first_sent: Option<Instant>,
    /// Attempts made so far.
    pub attempts: u32,
}

impl Entry {
    pub fn plain(r: Record) -> Entry {
        let users = Users::One(r.user());
        Entry {
            key: r.key,
            explicit_hash_key: r.explicit_hash_key,
            data: r.data,
            users,
            first_sent: None,
            attempts: 0,
        }
    }

    /// Bytes that count toward the request and shard limits: data plus partition key.
    pub fn wire_bytes(&self) -> u64 {
        (self.data.len() + self.key.len()) as u64
    }

    /// The phase the entry's first user record belongs to (its calls are counted there).
    pub fn phase(&self) -> usize {
        self.users.as_slice().first().map_or(0, |u| u.phase)
    }
}

/// User records of one shard (or, with no shard map, one partition key) being aggregated.
#[derive(Debug)]
struct Group {
    /// The first record, kept whole until a second arrives: a group of one goes out plain.
    first: Option<Record>,
    builder: Builder,
    users: Vec<UserRecord>,
    /// The outer record's routing: the first user record's key and explicit hash key.
    key: String,
    explicit_hash_key: Option<String>,
    /// Wire bytes of the entry this group would become now.
    bytes: u64,
}

impl Group {
    fn new(r: Record) -> Group {
        Group {
            key: r.key.clone(),
            explicit_hash_key: r.explicit_hash_key.clone(),
            bytes: r.wire_bytes(),
            users: vec![r.user()],
            builder: Builder::new(),
            first: Some(r),
        }
    }

    /// Aggregate size (data only) with `r` added; an upper bound while the group holds one
    /// record (the two would share nothing).
    fn size_with(&self, r: &Record) -> u64 {
        let with = self
            .builder
            .size_with(&r.key, r.explicit_hash_key.as_deref(), r.data.len());
        match &self.first {
            Some(first) => {
                let alone = Builder::new().size_with(
                    &first.key,
                    first.explicit_hash_key.as_deref(),
                    first.data.len(),
                );
                (alone + with - aggregate::OVERHEAD) as u64
            }
            None => with as u64,
        }
    }

    fn push(&mut self, r: Record) {
        if let Some(first) = self.first.take() {
            self.builder
                .push(&first.key, first.explicit_hash_key.as_deref(), first.data);
        }
        self.users.push(r.user());
        self.builder
            .push(&r.key, r.explicit_hash_key.as_deref(), r.data);
        self.bytes = (self.builder.size() + self.key.len()) as u64;
    }

    fn into_entry(mut self) -> Entry {
        match self.first.take() {
            Some(only) => Entry::plain(only),
            None => Entry {
                data: self.builder.finish(),
                key: self.key,
                explicit_hash_key: self.explicit_hash_key,
                users: Users::Many(self.users),
                first_sent: None,
                attempts: 0,
            },
        }
    }
}

/// A batch being filled, bounded by an entry count and a byte count (data plus keys).
#[derive(Debug)]
pub struct Packer {
    max_entries: usize,
    max_bytes: u64,
    aggregation: Option<Aggregation>,
    /// Finished entries.
    entries: Vec<Entry>,
    /// Open aggregates, in the order they were opened.
    groups: Vec<Group>,
    by_shard: HashMap<u32, usize>,
    by_key: HashMap<String, usize>,
    /// Wire bytes of the entries and of the open groups.
    bytes: u64,
}

impl Packer {
    pub fn new(max_entries: usize, max_bytes: u64, aggregation: Option<Aggregation>) -> Packer {
        Packer {
            max_entries,
            max_bytes,
            aggregation,
            entries: Vec::with_capacity(max_entries.min(512)),
            groups: Vec::new(),
            by_shard: HashMap::new(),
            by_key: HashMap::new(),
            bytes: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.groups.is_empty()
    }

    /// Entries in the batch, open aggregates included.
    pub fn len(&self) -> usize {
        self.entries.len() + self.groups.len()
    }

    /// Whether no further record can be added. With aggregation, a batch whose entries are all
    /// open aggregates still takes records of those shards: it is full only when closed entries
    /// fill it (a record of another shard then fails `fits`, which also sends the batch).
    pub fn is_full(&self) -> bool {
        match self.aggregation {
            None => self.len() >= self.max_entries,
            Some(_) => self.entries.len() >= self.max_entries,
        }
    }

    fn group_of(&self, r: &Record) -> Option<usize> {
        if r.shard == NO_SHARD {
            self.by_key.get(&r.key).copied()
        } else {
            self.by_shard.get(&r.shard).copied()
        }
    }

    /// Whether `r` joins its shard's open aggregate (rather than starting an entry of its own).
    fn joins(&self, r: &Record) -> Option<usize> {
        let agg = self.aggregation.as_ref()?;
        let g = self.group_of(r)?;
        let group = &self.groups[g];
        (group.users.len() < agg.max_records as usize && group.size_with(r) <= agg.max_bytes)
            .then_some(g)
    }

    /// Whether `r` fits (an empty batch takes any record; validation bounds record size).
    pub fn fits(&self, r: &Record) -> bool {
        if self.is_empty() {
            return true;
        }
        let (more_entries, more_bytes) = match self.joins(r) {
            Some(g) => {
                let group = &self.groups[g];
                let after = self.groups[g].size_with(r) + group.key.len() as u64;
                (0, after.saturating_sub(group.bytes))
            }
            None => (1, r.wire_bytes()),
        };
        self.len() + more_entries <= self.max_entries && self.bytes + more_bytes <= self.max_bytes
    }

    pub fn push(&mut self, r: Record) {
        if self.aggregation.is_none() {
            self.bytes += r.wire_bytes();
            self.entries.push(Entry::plain(r));
            return;
        }
        if let Some(g) = self.joins(&r) {
            let group = &mut self.groups[g];
            self.bytes -= group.bytes;
            group.push(r);
            self.bytes += group.bytes;
            return;
        }
        self.bytes += r.wire_bytes();
        match self.group_of(&r) {
            // its group is full: it closes into an entry (same bytes) and the record opens a new one
            Some(g) => {
                let full = std::mem::replace(&mut self.groups[g], Group::new(r));
                self.entries.push(full.into_entry());
            }
            None => {
                let g = self.groups.len();
                if r.shard == NO_SHARD {
                    self.by_key.insert(r.key.clone(), g);
                } else {
                    self.by_shard.insert(r.shard, g);
                }
                self.groups.push(Group::new(r));
            }
        }
    }

    /// Hands the entries over (open aggregates closed, in the order they were opened) and
    /// leaves the packer empty for reuse.
    pub fn take(&mut self) -> Vec<Entry> {
        let mut entries = std::mem::take(&mut self.entries);
        entries.extend(self.groups.drain(..).map(Group::into_entry));
        self.by_shard.clear();
        self.by_key.clear();
        self.bytes = 0;
        self.entries = Vec::with_capacity(self.max_entries.min(512));
        entries
    }
}

#[cfg(test)]
mod tests;
