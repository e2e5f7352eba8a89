//! A partition's rows, in a store that keeps its state per partition (see [`state`]): what a
//! take-over deletes before it rebuilds them (stale from an earlier ownership), and the claim
//! the rows were last built under.
//!
//! `_runtime.shared` in the default tree says the store was last used by an instance that
//! shared its partitions, so one that runs alone on it rebuilds every partition first.
//!
//! The claim is kept in the default tree under `_runtime.claim.` ‖ the partition's index
//! (big-endian): the stream sequence of the claim record the rows were rebuilt for. An
//! instance that takes back the claim its rows were built under (a restart of itself,
//! nobody else claimed in between) keeps them as they are.
//!
//! [`state`]: super::state

use events::partition::Partition;

use super::state::partition_key;
use super::{FIRST_SERVICE_TREE, INBOX, Store, StoreError};

const CLAIM_KEY: &[u8] = b"_runtime.claim.";

/// Present while the store is (or was last) used by an instance that shares its partitions.
const SHARED_KEY: &[u8] = b"_runtime.shared";

fn claim_key(partition: Partition) -> Vec<u8> {
    let mut key = CLAIM_KEY.to_vec();
    key.extend_from_slice(&partition.index().to_be_bytes());
    key
}

impl Store {
    /// The trees whose rows are kept per partition (the inbox first), in a store that does.
    pub(super) fn partitioned_trees(&self) -> Vec<(&str, &sled::Tree)> {
        if self.tree_set().partitions.is_none() {
            return Vec::new();
        }
        let service = self.names.iter().zip(&self.trees[FIRST_SERVICE_TREE..]);
        std::iter::once(("_runtime.inbox", &self.trees[INBOX]))
            .chain(service.map(|(name, tree)| (*name, tree)))
            .filter(|(name, _)| !self.shared.contains(name))
            .collect()
    }

    /// Deletes every row of `partition`: its state and its inbox marks, and the claim they
    /// were built under. Returns how many rows went.
    pub(crate) fn clear_partition(&self, partition: Partition) -> Result<usize, StoreError> {
        let prefix = partition_key(partition.index(), &[]);
        let mut removed = 0;
        for (_, tree) in self.partitioned_trees() {
            for key in tree.scan_prefix(&prefix).keys() {
                tree.remove(key?)?;
                removed += 1;
            }
        }
        self.db.remove(claim_key(partition))?;
        Ok(removed)
    }

    /// Records that the store is used by an instance that shares its partitions: rows of
    /// partitions it does not hold may be missing or stale from now on.
    pub(crate) fn mark_shared(&self) -> Result<(), StoreError> {
        self.db.insert(SHARED_KEY, &[1u8])?;
        Ok(())
    }

    /// Whether the store was last used by an instance that shared its partitions.
    pub(crate) fn was_shared(&self) -> Result<bool, StoreError> {
        Ok(self.db.contains_key(SHARED_KEY)?)
    }

    /// Every partition has been rebuilt: the store holds them all again.
    pub(crate) fn unmark_shared(&self) -> Result<(), StoreError> {
        self.db.remove(SHARED_KEY)?;
        Ok(())
    }

    /// The claim `partition`'s rows were last rebuilt for, if any.
    pub(crate) fn partition_claim(&self, partition: Partition) -> Result<Option<u64>, StoreError> {
        let Some(bytes) = self.db.get(claim_key(partition))? else {
            return Ok(None);
        };
        let bytes: [u8; 8] = bytes.as_ref().try_into().map_err(|_| StoreError::Corrupt {
            tree: "_runtime.claim".into(),
            reason: format!("{} bytes for a claim sequence", bytes.len()),
        })?;
        Ok(Some(u64::from_be_bytes(bytes)))
    }

    /// Records that `partition`'s rows are those of claim `claim` (after its rebuild).
    pub(crate) fn set_partition_claim(
        &self,
        partition: Partition,
        claim: u64,
    ) -> Result<(), StoreError> {
        self.db.insert(claim_key(partition), &claim.to_be_bytes())?;
        Ok(())
    }
}
