//! `run --shard K/N`: a stable split of the cases across N machines. A case
//! belongs to shard `fnv1a(case name) mod N` (the name is
//! `<scenario> [<profile> TLS<v>]`, as in the reports), so the split is the
//! same on every machine and every run; a scenario's "not run" notes go
//! with the shard of its id, so merged reports list each once.

use std::fmt;
use std::str::FromStr;

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

/// Why `K/N` is not a shard.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("expected K/N with 1 <= K <= N, e.g. 2/3")]
pub struct ShardError;

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Self, ShardError> {
        let (k, n) = s.split_once('/').ok_or(ShardError)?;
        let index: usize = k.trim().parse().map_err(|_| ShardError)?;
        let count: usize = n.trim().parse().map_err(|_| ShardError)?;
        if index == 0 || index > count {
            return Err(ShardError);
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// FNV-1a: stable across processes, platforms and Rust versions (std's
/// hasher is neither).
fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Shard {
    /// Whether the case (or scenario) named `key` is this shard's.
    pub fn owns(&self, key: &str) -> bool {
        (fnv1a(key) % self.count as u64) as usize == self.index - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_refuse_nonsense() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", ""] {
            assert_eq!(bad.parse::<Shard>(), Err(ShardError), "{bad}");
        }
    }

    #[test]
    fn every_key_has_exactly_one_shard() {
        let shards: Vec<Shard> = (1..=3).map(|k| Shard { index: k, count: 3 }).collect();
        let mut per = [0usize; 3];
        for i in 0..300 {
            let key = format!("ns::case{i} [strict TLS1.3]");
            let owners: Vec<usize> = shards
                .iter()
                .filter(|s| s.owns(&key))
                .map(|s| s.index)
                .collect();
            assert_eq!(owners.len(), 1, "{key}: {owners:?}");
            per[owners[0] - 1] += 1;
        }
        assert!(per.iter().all(|&n| n > 50), "{per:?}");
        // Stable: the same key, the same shard, in any process.
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
