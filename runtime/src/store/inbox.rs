//! The inbox: the ids of events this service already applied (a redelivery is skipped), and
//! their pruning after the retention.

use events::Timestamp;

use super::{INBOX, Store, StoreError};

impl Store {
    /// Forgets inbox marks applied before `cutoff`; returns how many were removed. Walks the
    /// whole inbox (a read costs well under a microsecond), so it runs rarely.
    pub fn prune_inbox(&self, cutoff: Timestamp) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in self.trees[INBOX].iter() {
            let (key, applied_at) = entry?;
            let millis = <[u8; 8]>::try_from(&applied_at[..])
                .map(i64::from_be_bytes)
                .unwrap_or(i64::MIN);
            if millis < cutoff.unix_millis() {
                self.trees[INBOX].remove(&key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Whether an event id is in the inbox (already applied).
    pub fn inbox_contains(&self, event_id: &str) -> Result<bool, StoreError> {
        Ok(self.trees[INBOX].contains_key(event_id.as_bytes())?)
    }
}

/// The inbox value for an event applied at `now`.
pub(crate) fn applied_at(now: Timestamp) -> [u8; 8] {
    now.unix_millis().to_be_bytes()
}
