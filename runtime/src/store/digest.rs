//! A stable 64-bit digest (FNV-1a) of a store's service trees, to compare two stores' state
//! (a live store and its rebuild, a store before and after a replay).

use events::partition::Partition;

use super::state::partition_key;
use super::{FIRST_SERVICE_TREE, Store, StoreError};

/// FNV-1a over length-prefixed byte strings.
struct Digest(u64);

impl Digest {
    fn new() -> Digest {
        Digest(0xcbf2_9ce4_8422_2325)
    }

    fn feed(&mut self, bytes: &[u8]) {
        for byte in (bytes.len() as u64).to_be_bytes().iter().chain(bytes) {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn feed_tree(
        &mut self,
        name: &str,
        rows: impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
    ) -> Result<(), StoreError> {
        self.feed(name.as_bytes());
        for row in rows {
            let (key, value) = row?;
            self.feed(&key);
            self.feed(&value);
        }
        Ok(())
    }
}

impl Store {
    /// The digest of the named trees only.
    pub fn digest_of(&self, trees: &[&str]) -> Result<u64, StoreError> {
        let mut digest = Digest::new();
        for (name, tree) in self.names.iter().zip(&self.trees[FIRST_SERVICE_TREE..]) {
            if trees.contains(name) {
                digest.feed_tree(name, tree.iter())?;
            }
        }
        Ok(digest.0)
    }

    /// The digest of `partition`'s state in a store that keeps its state per partition: its
    /// rows in every partitioned service tree (not its inbox marks). Equal in two stores
    /// that hold the same state for the partition.
    pub fn digest_partition(&self, partition: Partition) -> Result<u64, StoreError> {
        let prefix = partition_key(partition.index(), &[]);
        let mut digest = Digest::new();
        for (name, tree) in self.partitioned_trees().into_iter().skip(1) {
            digest.feed_tree(name, tree.scan_prefix(&prefix))?;
        }
        Ok(digest.0)
    }

    /// The digest of every service tree.
    pub fn digest(&self) -> Result<u64, StoreError> {
        let names = self.names.clone();
        self.digest_of(&names)
    }
}
