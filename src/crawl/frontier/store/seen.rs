//! The set of URLs a crawl has seen, at 10 to 21 bytes per URL: a long crawl keeps one
//! entry per URL for its whole run, so the entry is all it pays for.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use crate::crawl::frontier::Print;

/// Shards, so that each grows (and briefly holds its old and new tables) on its own: a million
/// URLs never need two whole tables at once.
const SHARDS: usize = 64;

/// Fingerprints of the normalized URLs seen. Each shard keeps 64 bits of the 128-bit print and
/// the shard is chosen by 6 others: two URLs are confused only if 70 bits agree, about 1 in
/// 10^9 for a crawl of a million URLs.
pub struct Seen {
    shards: Box<[Shard]>,
}

type Shard = HashSet<u64, BuildHasherDefault<Spread>>;

impl Default for Seen {
    fn default() -> Seen {
        Seen {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

impl Seen {
    /// True when the URL was not seen before.
    pub fn insert(&mut self, print: Print) -> bool {
        let (high, low) = ((print.0 >> 64) as u64, print.0 as u64);
        self.shards[low as usize % SHARDS].insert(high)
    }
}

/// The print is already a good hash: used as it is, rather than hashed again.
#[derive(Default)]
struct Spread(u64);

impl Hasher for Spread {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_new_once() {
        let mut seen = Seen::default();
        assert!(seen.insert(Print::of("http://a.test/")));
        assert!(!seen.insert(Print::of("http://a.test/")));
        assert!(seen.insert(Print::of("http://a.test/b")));
    }

    #[test]
    fn prints_that_share_their_high_half_are_told_apart_by_their_shard() {
        let mut seen = Seen::default();
        assert!(seen.insert(Print(1 << 64)));
        assert!(seen.insert(Print((1 << 64) | 1)));
    }
}
