//! Reading the service's trees outside any transaction (queries, tools): by the service's
//! keys, whatever partition a row is kept in.

use std::ops::Bound;

use serde::de::DeserializeOwned;

use super::state::partition_key;
use super::{Store, StoreError, decode, merge};

/// The stored keys of one partition's rows after the service's key `after` (all of them
/// without one).
fn partition_range(
    partition: events::partition::Partition,
    after: Option<&[u8]>,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let index = partition.index();
    let start = match after {
        Some(after) => Bound::Excluded(partition_key(index, after)),
        None => Bound::Included(index.to_be_bytes().to_vec()),
    };
    let end = match index.checked_add(1) {
        Some(next) => Bound::Excluded(next.to_be_bytes().to_vec()),
        None => Bound::Unbounded,
    };
    (start, end)
}

/// A row as stored: the service's key and the value's bytes.
pub(crate) type RawRow = (Vec<u8>, Vec<u8>);

impl Store {
    /// The stored bytes under `key`: in a partitioned tree, in whichever partition has it.
    fn read_bytes(&self, tree: &str, key: &[u8]) -> Result<Option<sled::IVec>, StoreError> {
        let handle = self.known_tree(tree)?;
        let trees = self.tree_set();
        let Some(partitions) = trees.partitions.filter(|_| trees.partitioned(tree)) else {
            return Ok(handle.get(key)?);
        };
        for partition in partitions.all() {
            if let Some(value) = handle.get(partition_key(partition.index(), key))? {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    /// Reads one value stored with [`State::put`], outside any transaction (queries): in a
    /// partitioned tree, from whichever partition has it.
    pub fn read<T: DeserializeOwned>(
        &self,
        tree: &str,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        self.read_bytes(tree, key)?
            .map(|bytes| decode(tree, &bytes))
            .transpose()
    }

    /// Every value of a tree, in key order (queries; every partition's, merged).
    pub fn read_all<T: DeserializeOwned>(&self, tree: &str) -> Result<Vec<T>, StoreError> {
        self.read_after(tree, None)?
            .map(|entry| entry.map(|(_, value)| value))
            .collect()
    }

    /// The keys and values of a tree after `after` (from its first key when `None`), in key
    /// order, read lazily (query pages). The keys are the service's: a partitioned tree's
    /// partitions are merged by key.
    pub(crate) fn read_after<'s, T: DeserializeOwned>(
        &'s self,
        tree: &'s str,
        after: Option<&[u8]>,
    ) -> Result<impl Iterator<Item = Result<(Vec<u8>, T), StoreError>> + 's, StoreError> {
        let handle = self.known_tree(tree)?;
        let trees = self.tree_set();
        let ranges: Vec<(usize, sled::Iter)> = match trees.partitions {
            Some(partitions) if trees.partitioned(tree) => partitions
                .all()
                .map(|partition| (2, handle.range(partition_range(partition, after))))
                .collect(),
            _ => {
                let start = after.map_or(Bound::Unbounded, |after| Bound::Excluded(after.to_vec()));
                vec![(0, handle.range::<Vec<u8>, _>((start, Bound::Unbounded)))]
            }
        };
        let merged = merge::ByKey::new(ranges);
        Ok(merged.map(move |entry| {
            let (key, bytes) = entry?;
            Ok((key, decode(tree, &bytes)?))
        }))
    }

    /// The keys and values of one partition's rows of a tree, in key order (a take-over
    /// re-arming the partition's timers); every row of a tree kept whole.
    pub(crate) fn read_partition<T: DeserializeOwned>(
        &self,
        tree: &str,
        partition: events::partition::Partition,
    ) -> Result<Vec<(Vec<u8>, T)>, StoreError> {
        let handle = self.known_tree(tree)?;
        let trees = self.tree_set();
        let (rows, skip) = match trees.partitions.filter(|_| trees.partitioned(tree)) {
            Some(_) => (handle.scan_prefix(partition.index().to_be_bytes()), 2),
            None => (handle.iter(), 0),
        };
        rows.map(|row| {
            let (key, bytes) = row?;
            Ok((key[skip..].to_vec(), decode(tree, &bytes)?))
        })
        .collect()
    }

    /// Whether `tree` keeps its rows per partition in this store.
    pub(crate) fn partitioned(&self, tree: &str) -> bool {
        self.tree_set().partitioned(tree)
    }

    /// Up to `max_rows` rows of one partition of a partitioned tree after `after` (from its
    /// first without one), stopping once about `max_bytes` are read: each as the service's
    /// key and the stored bytes. Says whether more follow.
    pub(crate) fn partition_rows(
        &self,
        tree: &str,
        partition: events::partition::Partition,
        after: Option<&[u8]>,
        max_rows: usize,
        max_bytes: usize,
    ) -> Result<(Vec<RawRow>, bool), StoreError> {
        let handle = self.known_tree(tree)?;
        let (mut rows, mut bytes) = (Vec::new(), 0);
        for row in handle.range(partition_range(partition, after)) {
            if rows.len() == max_rows || bytes >= max_bytes {
                return Ok((rows, true));
            }
            let (key, value) = row?;
            bytes += key.len() + value.len();
            rows.push((key[2..].to_vec(), value.to_vec()));
        }
        Ok((rows, false))
    }

    /// The stored bytes under `key` in one partition of a partitioned tree.
    pub(crate) fn partition_row(
        &self,
        tree: &str,
        partition: events::partition::Partition,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let handle = self.known_tree(tree)?;
        Ok(handle
            .get(partition_key(partition.index(), key))?
            .map(|value| value.to_vec()))
    }

    /// A stored value decoded as the tree's (for rows read raw).
    pub(crate) fn decode_row<T: DeserializeOwned>(
        tree: &str,
        bytes: &[u8],
    ) -> Result<T, StoreError> {
        decode(tree, bytes)
    }
}
