//! Reading the service's trees outside any transaction (queries, tools): by the service's
//! keys, whatever partition a row is kept in.

use std::ops::Bound;

use serde::de::DeserializeOwned;

use super::state::partition_key;
use super::{Store, StoreError, decode, merge};

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
                .map(|partition| {
                    let index = partition.index();
                    let start = match after {
                        Some(after) => Bound::Excluded(partition_key(index, after)),
                        None => Bound::Included(index.to_be_bytes().to_vec()),
                    };
                    let end = match index.checked_add(1) {
                        Some(next) => Bound::Excluded(next.to_be_bytes().to_vec()),
                        None => Bound::Unbounded,
                    };
                    (2, handle.range::<Vec<u8>, _>((start, end)))
                })
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
}
