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

    /// One past the highest number the bitmap covers.
    fn end(&self) -> u64 {
        self.base + 64 * self.words.len() as u64
    }

    /// How many members the two sets share.
    pub fn intersection_len(&self, other: &SeenSet) -> u64 {
        let low = self.base.min(other.base);
        let high = self.end().max(other.end());
        let checked = (low..high)
            .filter(|&s| self.contains(s) && other.contains(s))
            .count() as u64;
        low + checked
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
    }
}
