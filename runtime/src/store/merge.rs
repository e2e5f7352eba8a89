//! Reading a partitioned tree in the service's key order: each partition's rows are a sled
//! range in key order behind the partition's index, and [`ByKey`] merges them by the key
//! that follows the index.

use sled::IVec;

use super::StoreError;

/// The rows of several ranges, each in key order once its first `skip` bytes (the partition
/// index) are cut off, merged into one sequence in that order.
pub(super) struct ByKey {
    ranges: Vec<(usize, sled::Iter)>,
    heads: Vec<Option<(Vec<u8>, IVec)>>,
    started: bool,
}

impl ByKey {
    pub(super) fn new(ranges: Vec<(usize, sled::Iter)>) -> ByKey {
        let heads = ranges.iter().map(|_| None).collect();
        ByKey {
            ranges,
            heads,
            started: false,
        }
    }

    /// Reads the next row of range `index` into its head.
    fn advance(&mut self, index: usize) -> Result<(), StoreError> {
        let (skip, range) = &mut self.ranges[index];
        self.heads[index] = match range.next() {
            Some(entry) => {
                let (key, value) = entry?;
                Some((key.get(*skip..).unwrap_or_default().to_vec(), value))
            }
            None => None,
        };
        Ok(())
    }
}

impl Iterator for ByKey {
    type Item = Result<(Vec<u8>, IVec), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.started {
            self.started = true;
            for index in 0..self.ranges.len() {
                if let Err(error) = self.advance(index) {
                    return Some(Err(error));
                }
            }
        }
        let next = self
            .heads
            .iter()
            .enumerate()
            .filter_map(|(index, head)| head.as_ref().map(|(key, _)| (index, key)))
            .min_by(|(_, a), (_, b)| a.cmp(b))
            .map(|(index, _)| index)?;
        let row = self.heads[next].take()?;
        if let Err(error) = self.advance(next) {
            return Some(Err(error));
        }
        Some(Ok(row))
    }
}
