//! Which outbox rows are known to be durable, so the relay publishes them without a flush of
//! its own. Every commit that writes an outbox row records its key ([`Durable::written`]);
//! a flush takes the keys recorded before it started and, once it completed, knows them
//! durable; rows found on disk at open are durable too. A row the relay reads whose key is not
//! known durable (its commit has not flushed yet, or has not recorded its key yet) makes the
//! relay flush first, as before: the set can only save flushes, never skip a needed one.
//!
//! Without it every hop cost two fsyncs at low load: the committer's before its ack, and the
//! relay's before publishing, which found the previous sweep's row deletions unflushed.

use std::collections::BTreeSet;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub(crate) struct Durable {
    /// Outbox rows committed since the last flush started.
    written: Mutex<Vec<u64>>,
    /// Outbox rows known durable and not yet published.
    durable: Mutex<BTreeSet<u64>>,
    /// Woken whenever a row was published and removed.
    pub(crate) removed: tokio::sync::Notify,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Durable {
    /// A transaction that wrote outbox row `key` committed.
    pub(crate) fn written(&self, key: u64) {
        lock(&self.written).push(key);
    }

    /// Rows on disk when the store opened.
    pub(crate) fn on_disk(&self, keys: impl IntoIterator<Item = u64>) {
        lock(&self.durable).extend(keys);
    }

    /// A flush is about to start: the rows it will cover.
    pub(crate) fn flush_starting(&self) -> Vec<u64> {
        std::mem::take(&mut *lock(&self.written))
    }

    /// The flush that took `keys` completed; `still_there` says whether a row was not
    /// published meanwhile (a relay that flushed by itself may have been first).
    pub(crate) fn flushed(&self, keys: Vec<u64>, still_there: impl Fn(u64) -> bool) {
        let mut durable = lock(&self.durable);
        durable.extend(keys.into_iter().filter(|key| still_there(*key)));
    }

    /// The flush that took `keys` failed: a later one covers them.
    pub(crate) fn not_flushed(&self, keys: Vec<u64>) {
        lock(&self.written).extend(keys);
    }

    /// Whether every one of these rows is known durable.
    pub(crate) fn all_durable(&self, keys: impl IntoIterator<Item = u64>) -> bool {
        let durable = lock(&self.durable);
        keys.into_iter().all(|key| durable.contains(&key))
    }

    /// Row `key` was published and removed.
    pub(crate) fn published(&self, key: u64) {
        lock(&self.durable).remove(&key);
        self.removed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_durable_only_after_a_flush_that_started_after_its_commit() {
        let durable = Durable::default();
        durable.on_disk([1]);
        durable.written(2);
        assert!(durable.all_durable([1]), "on disk at open");
        assert!(!durable.all_durable([1, 2]), "committed, not flushed");
        let covered = durable.flush_starting();
        durable.written(3); // committed while the flush runs: not covered by it
        durable.flushed(covered, |_| true);
        assert!(durable.all_durable([1, 2]));
        assert!(!durable.all_durable([3]));
        let failed = durable.flush_starting();
        durable.not_flushed(failed);
        assert!(!durable.all_durable([3]), "a failed flush proves nothing");
        let covered = durable.flush_starting();
        durable.flushed(covered, |key| key != 3); // published meanwhile: not kept
        assert!(!durable.all_durable([3]));
        durable.published(2);
        assert!(!durable.all_durable([2]), "published rows are forgotten");
    }
}
