//! Partitions: a deployment's fixed number of slices of each service's state, and the one
//! function that says which slice a key belongs to.
//!
//! The function is NATS's own: `{{partition(n, 1)}}` in a subject mapping hashes the token
//! with 32-bit FNV-1a and takes it modulo `n`, and so does [`Partitions::of`]. A consumer in
//! another language reproduces it in a few lines, and an operator with a test server and a
//! mapping. See `docs/scaling.md`.
//!
//! ```
//! use events::partition::Partitions;
//!
//! let partitions = Partitions::new(12)?;
//! assert_eq!(partitions.of("sku-2").index(), 9);
//! assert!(partitions.all().all(|p| p.index() < 12));
//! # Ok::<(), events::partition::PartitionsError>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// What an owner records when it claims a partition (the payload of
/// `<prefix>.<context>._partition.<index>`, a MessagePack map like every payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The instance that owns the partition from this record on.
    pub instance: String,
    pub partition: u16,
    /// The deployment's partition count, so a reader can tell the record is for its layout.
    pub partitions: u16,
    pub claimed_at: Timestamp,
}

/// Partitions per deployment unless configured: splits evenly over 1, 2, 3, 4 and 6 instances.
pub const DEFAULT_PARTITIONS: u16 = 12;

/// The most partitions a deployment may have (each costs a durable consumer per service).
pub const MAX_PARTITIONS: u16 = 256;

/// How many partitions a deployment has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Partitions(u16);

/// A count outside `1..=MAX_PARTITIONS`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("partitions must be between 1 and {MAX_PARTITIONS}, not {0}")]
pub struct PartitionsError(pub u32);

/// One partition of a deployment: `0..count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Partition(u16);

impl Partitions {
    /// One partition: everything in it (a store kept whole).
    pub const ONE: Partitions = Partitions(1);

    /// A count of partitions, `1..=MAX_PARTITIONS`.
    pub fn new(count: u32) -> Result<Self, PartitionsError> {
        match u16::try_from(count) {
            Ok(count @ 1..=MAX_PARTITIONS) => Ok(Partitions(count)),
            _ => Err(PartitionsError(count)),
        }
    }

    /// How many there are.
    pub fn count(self) -> u16 {
        self.0
    }

    /// The partition `key` belongs to: `fnv1a_32(key) mod count`, as NATS's `partition()`.
    pub fn of(self, key: &str) -> Partition {
        Partition((fnv1a_32(key.as_bytes()) % u32::from(self.0)) as u16)
    }

    /// Every partition, in order.
    pub fn all(self) -> impl Iterator<Item = Partition> {
        (0..self.0).map(Partition)
    }

    /// The partition with this index, if the deployment has it.
    pub fn get(self, index: u16) -> Option<Partition> {
        (index < self.0).then_some(Partition(index))
    }
}

impl Default for Partitions {
    fn default() -> Self {
        Partitions(DEFAULT_PARTITIONS)
    }
}

impl fmt::Display for Partitions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Partition {
    /// Its index, `0..count`: also its subject token.
    pub fn index(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// 32-bit FNV-1a (offset basis 2166136261, prime 16777619).
fn fnv1a_32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        // from the FNV reference test suite (draft-eastlake-fnv, test vectors for FNV-1a 32)
        assert_eq!(fnv1a_32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a_32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a_32(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn counts_outside_the_range_are_refused() {
        assert_eq!(Partitions::new(0), Err(PartitionsError(0)));
        assert_eq!(Partitions::new(257), Err(PartitionsError(257)));
        assert_eq!(Partitions::new(70_000), Err(PartitionsError(70_000)));
        assert_eq!(Partitions::new(1).map(Partitions::count), Ok(1));
        assert_eq!(Partitions::new(256).map(Partitions::count), Ok(256));
        assert_eq!(Partitions::default().count(), DEFAULT_PARTITIONS);
    }

    #[test]
    fn one_partition_holds_everything() {
        let one = Partitions::new(1).unwrap();
        for key in [
            "",
            "sku-1",
            "cust-7",
            "0198a3c4-7b7e-7cc2-9d8e-3f0c6a1b2c3d",
        ] {
            assert_eq!(one.of(key).index(), 0);
        }
    }

    #[test]
    fn get_knows_which_partitions_exist() {
        let twelve = Partitions::new(12).unwrap();
        assert_eq!(twelve.get(11).map(Partition::index), Some(11));
        assert_eq!(twelve.get(12), None);
        assert_eq!(twelve.all().count(), 12);
    }

    #[test]
    fn the_table_in_the_contract_docs_is_what_the_function_says() {
        let docs = include_str!("../../docs/events.md");
        let section = docs
            .split("\n## Partitions\n")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("docs/events.md has a Partitions section");
        let mut rows = 0;
        for line in section.lines().filter(|line| line.starts_with("| `")) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let key = cells[1].trim_matches('`');
            let partition: u16 = cells[2].parse().expect("a partition index");
            assert_eq!(Partitions::default().of(key).index(), partition, "{key}");
            rows += 1;
        }
        assert_eq!(rows, 4);
    }

    proptest! {
        #[test]
        fn every_key_lands_in_an_existing_partition(key in ".{0,64}", count in 1u32..=256) {
            let partitions = Partitions::new(count).unwrap();
            let partition = partitions.of(&key);
            prop_assert!(u32::from(partition.index()) < count);
            prop_assert_eq!(partitions.of(&key), partition);
            prop_assert_eq!(partitions.get(partition.index()), Some(partition));
        }

        #[test]
        fn keys_spread_over_the_partitions(seed in 0u32..1000) {
            // 1,200 distinct keys over 12 partitions: every partition gets a share
            let partitions = Partitions::default();
            let mut counts = [0u32; DEFAULT_PARTITIONS as usize];
            for n in 0..1200 {
                counts[partitions.of(&format!("cust-{seed}-{n}")).index() as usize] += 1;
            }
            prop_assert!(counts.iter().all(|&c| (50..=150).contains(&c)), "{:?}", counts);
        }
    }
}
