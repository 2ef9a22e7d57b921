//! A plain hasher for the crate's small integer keys.
//!
//! The counters keyed by (municipality, year) and similar tables see tens of
//! millions of lookups on a national study. Their keys are small integers
//! (dictionary indices, years, months, household keys), bounded in number
//! and read from the study's own extracts, so nobody can choose them to
//! flood a table: a keyed hasher (SipHash, std's default) costs time and
//! buys nothing. One rotate, xor and multiply per word is enough to spread
//! such keys over a hash table, and it hashes the same on every run.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` with [`IntHasher`].
pub(crate) type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;

/// Hashes integer keys a word at a time; see the [module docs](self).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IntHasher(u64);

/// An odd constant with well-mixed bits (2^64 divided by the golden ratio).
const K: u64 = 0x9e37_79b9_7f4a_7c15;

impl IntHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(K);
    }
}

impl Hasher for IntHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_i32(&mut self, n: i32) {
        self.add(u64::from(n as u32));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_i64(&mut self, n: i64) {
        self.add(n as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply leaves the best-mixed bits on top; fold them down,
        // where the table picks its bucket.
        self.0 ^ (self.0 >> 32)
    }
}

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, Hash};

    use super::*;

    fn hash<T: Hash>(value: T) -> u64 {
        BuildHasherDefault::<IntHasher>::default().hash_one(value)
    }

    #[test]
    fn equal_keys_hash_alike_and_fields_are_not_interchangeable() {
        assert_eq!(hash((3u32, 2023i32)), hash((3u32, 2023i32)));
        assert_ne!(hash((3u32, 2023i32)), hash((2023u32, 3i32)));
        assert_ne!(hash((0u32, 0i32)), hash((0u32, 1i32)));
    }

    #[test]
    fn municipality_years_spread_over_the_low_bits() {
        // 1,500 keys into 2,048 slots: a random hash fills about 1,060.
        let mut slots = std::collections::HashSet::new();
        for m in 0..300u32 {
            for y in 2021..2026i32 {
                slots.insert(hash((m, y)) & 2047);
            }
        }
        assert!(slots.len() > 950, "{} slots used", slots.len());
    }

    #[test]
    fn a_map_counts_like_any_map() {
        let mut map: IntMap<(u32, i32), u64> = IntMap::default();
        for i in 0..1000u32 {
            *map.entry((i % 17, 2023)).or_default() += 1;
        }
        assert_eq!(map.len(), 17);
        assert_eq!(map[&(0, 2023)], 59);
    }
}
