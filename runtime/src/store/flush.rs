//! Flushing the store: group commit (callers that ask while a flush runs share the next one)
//! and what a completed flush proves about the outbox (see [`durable`](super::durable)).

use std::sync::atomic::{AtomicU64, Ordering};

use super::{OUTBOX, Store, StoreError};

/// Group commit: callers that ask for a flush while one is running share the next one.
#[derive(Debug, Default)]
pub(super) struct FlushGate {
    /// Flush requests so far (each caller takes a ticket).
    requested: AtomicU64,
    /// The highest ticket a completed flush covered; the lock serializes flushes.
    completed: tokio::sync::Mutex<u64>,
}

impl Store {
    /// [`Store::flush`] for code already on a blocking thread.
    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        let rows = self.durable.flush_starting();
        if let Err(error) = self.db.flush() {
            self.durable.not_flushed(rows);
            return Err(error.into());
        }
        self.flushed(rows);
        Ok(())
    }

    /// A flush that took `rows` (see [`durable`](super::durable)) completed.
    fn flushed(&self, rows: Vec<u64>) {
        let outbox = &self.trees[OUTBOX];
        self.durable.flushed(rows, |key| {
            outbox.contains_key(key.to_be_bytes()).unwrap_or(false)
        });
    }

    /// Makes everything committed so far durable (fsync of sled's log). Call before acking.
    ///
    /// This is sled's synchronous `flush` on tokio's blocking pool, not `flush_async`: the
    /// latter runs on sled's own small thread pool, which also writes the log buffers a flush
    /// waits for. With several flushes in flight (consume loops, API commands, timers) every
    /// pool thread can end up waiting for a write queued behind it — a deadlock we hit with
    /// the whole shop in one process.
    ///
    /// Concurrent callers share flushes: a flush that starts after a caller asked covers that
    /// caller's writes, so many API commands in flight cost a few fsyncs, not one each.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let ticket = self.flushes.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut completed = self.flushes.completed.lock().await;
        if *completed >= ticket {
            return Ok(());
        }
        let covers = self.flushes.requested.load(Ordering::SeqCst);
        let rows = self.durable.flush_starting();
        let db = self.db.clone();
        let flushed = tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|error| StoreError::FlushTask(error.to_string()))
            .and_then(|flushed| Ok(flushed?));
        if let Err(error) = flushed {
            self.durable.not_flushed(rows);
            return Err(error);
        }
        self.flushed(rows);
        *completed = covers;
        Ok(())
    }

    /// A committed transaction wrote outbox row `key` (see [`durable`](super::durable)).
    pub(crate) fn outbox_written(&self, key: Option<u64>) {
        if let Some(key) = key {
            self.durable.written(key);
        }
    }

    /// Whether every one of these outbox rows is known durable (see [`durable`](super::durable)).
    pub(crate) fn outbox_durable<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> bool {
        let mut parsed = Vec::new();
        for key in keys {
            match outbox_key(key) {
                Some(key) => parsed.push(key),
                None => return false,
            }
        }
        self.durable.all_durable(parsed)
    }
}

/// An outbox row's key as the number it was generated as.
pub(super) fn outbox_key(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.try_into().ok()?))
}
