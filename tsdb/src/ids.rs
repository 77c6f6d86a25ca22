//! Maps keyed by series id, hashed for what ids are.
//!
//! Series ids are unique integers handed out in order, so a keyed hash
//! with flooding resistance (the std default) only costs time on the two
//! hottest lookups, id to series on every query and a batch's slot per
//! appended sample. One multiply by the golden-ratio constant spreads the
//! sequential ids over every bit, the high ones included, which the hash
//! table's control bytes take.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` keyed by series id.
pub type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// The hasher of [`IdMap`]: Fibonacci hashing of one `u64`.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not reached for `u64` keys; kept correct for any other use.
        for &b in bytes {
            self.write_u64(self.0.rotate_left(8) ^ u64::from(b));
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_ids_spread_over_the_high_bits() {
        let tops: std::collections::HashSet<u64> = (1..=128u64)
            .map(|id| {
                let mut h = IdHasher::default();
                h.write_u64(id);
                h.finish() >> 57
            })
            .collect();
        assert!(tops.len() > 64, "{} distinct top-7-bit values", tops.len());
        let mut m: IdMap<u64> = IdMap::default();
        for id in 0..10_000 {
            m.insert(id, id * 2);
        }
        assert_eq!(m.get(&1234), Some(&2468));
    }
}
