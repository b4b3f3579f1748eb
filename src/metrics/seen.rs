//! A set of record sequence numbers, compact for the common case where almost all arrive.
//!
//! Every number below `base` is in the set; a bitmap covers the window above it. Memory is one
//! bit per record between the oldest missing record and the newest one seen.

use std::collections::VecDeque;

#[derive(Debug, Default, Clone)]
pub struct SeenSet {
    /// Every sequence number below this is in the set.
    base: u64,
    /// Bit i of word w stands for base + 64*w + i.
    words: VecDeque<u64>,
    /// Members in the set.
    len: u64,
}

impl SeenSet {
    /// Adds `seq`; returns false if it was already there.
    pub fn insert(&mut self, seq: u64) -> bool {
        if seq < self.base {
            return false;
        }
        let offset = seq - self.base;
        let (w, bit) = ((offset / 64) as usize, offset % 64);
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        let mask = 1u64 << bit;
        if self.words[w] & mask != 0 {
            return false;
        }
        self.words[w] |= mask;
        self.len += 1;
        while self.words.front() == Some(&u64::MAX) {
            self.words.pop_front();
            self.base += 64;
        }
        true
    }

    pub fn contains(&self, seq: u64) -> bool {
        if seq < self.base {
            return true;
        }
        let offset = seq - self.base;
        self.words
            .get((offset / 64) as usize)
            .is_some_and(|w| w & (1u64 << (offset % 64)) != 0)
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bitmap word that covers numbers 64*w .. 64*w+63 (`base` is always a multiple of 64).
    fn word(&self, w: u64) -> u64 {
        let first = self.base / 64;
        if w < first {
            u64::MAX
        } else {
            self.words.get((w - first) as usize).copied().unwrap_or(0)
        }
    }

    /// How many members the two sets share (word by word: fast enough to call often).
    pub fn intersection_len(&self, other: &SeenSet) -> u64 {
        let low = self.base.min(other.base);
        let end = |s: &SeenSet| s.base / 64 + s.words.len() as u64;
        let high = end(self).max(end(other));
        let shared: u64 = (low / 64..high)
            .map(|w| (self.word(w) & other.word(w)).count_ones() as u64)
            .sum();
        low + shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacts_and_counts() {
        let mut s = SeenSet::default();
        for i in (0..1000).rev() {
            assert!(s.insert(i));
        }
        assert!(!s.insert(5));
        assert_eq!(s.len(), 1000);
        assert_eq!(s.words.len(), 1, "the full prefix is folded into base");
        assert!(s.contains(999) && !s.contains(1000));
    }

    #[test]
    fn intersection_counts_shared_members() {
        let mut a = SeenSet::default();
        let mut b = SeenSet::default();
        for i in 0..500 {
            a.insert(i);
            if i != 7 && i != 300 {
                b.insert(i);
            }
        }
        b.insert(600); // received but never acknowledged
        assert_eq!(a.intersection_len(&b), 498);
        assert_eq!(b.intersection_len(&a), 498);
        // far apart bases and windows
        let mut c = SeenSet::default();
        for i in 0..100_000 {
            c.insert(i);
        }
        c.insert(200_000);
        assert_eq!(c.intersection_len(&a), 500);
        assert_eq!(c.intersection_len(&c), c.len());
    }
}
