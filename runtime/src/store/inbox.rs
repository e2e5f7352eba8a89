//! The inbox: the ids of events this service already applied (a redelivery is skipped), and
//! their pruning after the retention. A mark is the applied-at millis (8 bytes, big-endian),
//! followed, for an event the service refused with `HandleError::Refused`, by the reason
//! (UTF-8): its redelivery is dead-lettered again with it.

use events::Timestamp;

use super::state::inbox_key;
use super::{INBOX, Store, StoreError};

impl Store {
    /// Forgets inbox marks applied before `cutoff`; returns how many were removed. Walks the
    /// whole inbox (a read costs well under a microsecond), so it runs rarely.
    pub fn prune_inbox(&self, cutoff: Timestamp) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in self.trees[INBOX].iter() {
            let (key, applied_at) = entry?;
            let millis = applied_at
                .get(..8)
                .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
                .map_or(i64::MIN, i64::from_be_bytes);
            if millis < cutoff.unix_millis() {
                self.trees[INBOX].remove(&key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Whether an event id is in the inbox (already applied), for any partition.
    pub fn inbox_contains(&self, event_id: &str) -> Result<bool, StoreError> {
        let trees = self.tree_set();
        let Some(partitions) = trees.partitions else {
            return Ok(self.trees[INBOX].contains_key(event_id.as_bytes())?);
        };
        for partition in partitions.all().map(Some).chain([None]) {
            if self.trees[INBOX].contains_key(&*inbox_key(&trees, partition, event_id))? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The inbox value for an event applied at `now`.
pub(crate) fn applied_at(now: Timestamp) -> [u8; 8] {
    now.unix_millis().to_be_bytes()
}

/// The inbox value for an event applied at `now` and refused for `reason`.
pub(crate) fn refused_at(now: Timestamp, reason: &str) -> Vec<u8> {
    let mut mark = applied_at(now).to_vec();
    mark.extend_from_slice(reason.as_bytes());
    mark
}

/// The reason kept in a mark, if the event was refused.
pub(crate) fn refusal(mark: &[u8]) -> Option<String> {
    let reason = mark.get(8..).filter(|reason| !reason.is_empty())?;
    Some(String::from_utf8_lossy(reason).into_owned())
}
