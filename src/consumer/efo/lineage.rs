//! Which shards the EFO consumer reads under which tip entry, and when a closed shard's
//! children start.
//!
//! A child shard is read only once every parent it has is read to its end, so that the records
//! of one hash key come out in order (../shared/spec/KINESIS.md, "Resharding"); a merged child
//! is named by both its parents' last events and starts once.
//!
//! Loss accounting asks of each tip entry ([`Tips`], one per shard the run started with)
//! whether its reader was at the end of its shard after the last record was acknowledged. A
//! closed shard's children carry on its entry: it is the shard's records and its children's
//! that the entry vouches for. The entry counts as at the tip only when every shard read under
//! it is (the earliest of their latest times at the tip), so a split shard's child that lags
//! keeps its sibling from vouching for it. An entry whose shards are all read to their end and
//! whose children start under another entry (a merge's first parent to close) is closed.

use crate::consumer::reader::Tips;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

/// A closed shard's child, as its last event named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Child {
    pub shard_id: String,
    pub parents: Vec<String>,
}

/// The shards read, their tip entries, and the children waiting for a parent.
#[derive(Debug)]
pub struct Lineage {
    tips: Arc<Tips>,
    /// Per tip entry: the shards read under it and when each was last at its tip.
    entries: HashMap<usize, Vec<(String, Option<Instant>)>>,
    /// Shards read under an entry (open or read to their end); a shard is read at most once.
    known: HashSet<String>,
    /// Shards read to their end.
    finished: HashSet<String>,
    /// Children named, not started: their parents.
    waiting: HashMap<String, Vec<String>>,
}

impl Lineage {
    /// The shards the run starts with, `shards[i]` under tip entry `i`.
    pub fn new(tips: Arc<Tips>, shards: &[String]) -> Lineage {
        let entries = shards
            .iter()
            .enumerate()
            .map(|(i, s)| (i, vec![(s.clone(), None)]))
            .collect();
        Lineage {
            tips,
            entries,
            known: shards.iter().cloned().collect(),
            finished: HashSet::new(),
            waiting: HashMap::new(),
        }
    }

    /// Shard `shard` (under `entry`) was at its tip at `when`.
    pub fn reached(&mut self, entry: usize, shard: &str, when: Instant) {
        let Some(members) = self.entries.get_mut(&entry) else {
            return;
        };
        if let Some(m) = members.iter_mut().find(|(s, _)| s == shard) {
            m.1 = Some(m.1.map_or(when, |t| t.max(when)));
        }
        // the entry is at its tip since the earliest of its shards' latest times
        let all: Option<Vec<Instant>> = members.iter().map(|(_, t)| *t).collect();
        if let Some(earliest) = all.and_then(|ts| ts.into_iter().min()) {
            self.tips.reached(entry, earliest);
        }
    }

    /// Shard `shard` (under `entry`) was read to its end; its last event named `children`.
    /// Returns the children to start now, each under `entry`.
    pub fn closed(&mut self, entry: usize, shard: &str, children: &[Child]) -> Vec<String> {
        self.finished.insert(shard.to_string());
        if let Some(members) = self.entries.get_mut(&entry) {
            members.retain(|(s, _)| s != shard);
        }
        for c in children {
            if !self.known.contains(&c.shard_id) {
                self.waiting
                    .entry(c.shard_id.clone())
                    .or_insert_with(|| c.parents.clone());
            }
        }
        // a parent the run never read (closed before it began) is no reason to wait
        let ready: Vec<String> = self
            .waiting
            .iter()
            .filter(|(_, parents)| {
                parents
                    .iter()
                    .all(|p| self.finished.contains(p) || !self.known.contains(p))
            })
            .map(|(c, _)| c.clone())
            .collect();
        let mut start = Vec::new();
        for child in ready {
            self.waiting.remove(&child);
            self.known.insert(child.clone());
            start.push(child);
        }
        start.sort();
        let members = self.entries.entry(entry).or_default();
        members.extend(start.iter().map(|c| (c.clone(), None)));
        if members.is_empty() {
            self.tips.closed(entry);
        }
        start
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn child(id: &str, parents: &[&str]) -> Child {
        Child {
            shard_id: id.into(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn lineage(shards: &[&str]) -> (Lineage, Arc<Tips>, Instant) {
        let start = Instant::now();
        let tips = Arc::new(Tips::new(shards.len(), start));
        let ids: Vec<String> = shards.iter().map(|s| s.to_string()).collect();
        (Lineage::new(tips.clone(), &ids), tips, start)
    }

    #[test]
    fn split_children_start_under_the_parent_and_both_must_reach_the_tip() {
        let (mut l, tips, start) = lineage(&["a"]);
        let t = |s| start + Duration::from_secs(s);
        l.reached(0, "a", t(1));
        assert_eq!(tips.behind_since(Duration::from_secs(1)), 0);
        let started = l.closed(0, "a", &[child("b", &["a"]), child("c", &["a"])]);
        assert_eq!(started, ["b", "c"]);
        // one child at its tip does not vouch for its sibling
        l.reached(0, "b", t(5));
        assert_eq!(tips.behind_since(Duration::from_secs(5)), 1);
        l.reached(0, "c", t(7));
        assert_eq!(tips.behind_since(Duration::from_secs(5)), 0);
        assert_eq!(tips.behind_since(Duration::from_secs(6)), 1);
    }

    #[test]
    fn a_merged_child_starts_once_after_both_parents_under_the_last_one() {
        let (mut l, tips, start) = lineage(&["a", "b"]);
        let merged = child("m", &["a", "b"]);
        assert!(l.closed(0, "a", std::slice::from_ref(&merged)).is_empty());
        // a's entry: read to its end, its child goes elsewhere
        assert_eq!(tips.behind_since(Duration::from_secs(1000)), 1);
        assert_eq!(l.closed(1, "b", std::slice::from_ref(&merged)), ["m"]);
        assert!(l.closed(1, "b", &[merged]).is_empty(), "started once");
        l.reached(1, "m", start + Duration::from_secs(3));
        assert_eq!(tips.behind_since(Duration::from_secs(3)), 0);
    }

    #[test]
    fn a_parent_never_read_is_not_waited_for_and_no_children_closes_the_entry() {
        let (mut l, tips, _) = lineage(&["a"]);
        assert_eq!(l.closed(0, "a", &[child("m", &["a", "old"])]), ["m"]);
        assert!(l.closed(0, "m", &[]).is_empty());
        assert_eq!(tips.behind_since(Duration::from_secs(1000)), 0);
    }
}
