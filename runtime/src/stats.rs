//! Counters every service reports through `$SRV.STATS` and its `status` endpoint.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use serde::Serialize;

/// Live counters, shared by the consume loops, the outbox relay and the `$SRV` handlers.
#[derive(Debug, Default)]
pub struct RuntimeStats {
    applied: AtomicU64,
    duplicates: AtomicU64,
    dead_letters: AtomicU64,
    published: AtomicU64,
    forwarded: AtomicU64,
    fenced: AtomicU64,
    outbox_backlog: AtomicI64,
    pending_timers: AtomicU64,
    consumer_lag: Mutex<BTreeMap<String, u64>>,
}

/// A point-in-time copy of [`RuntimeStats`], as JSON in `$SRV.STATS` (`data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StatsSnapshot {
    /// Events applied by the handler.
    pub applied: u64,
    /// Redeliveries and re-publishes dropped by the inbox.
    pub duplicates: u64,
    /// Messages this instance copied to the dead-letter stream.
    pub dead_letters: u64,
    /// Outgoing events published from the outbox.
    pub published: u64,
    /// Copies of events forwarded to the owners of their partitions (docs/scaling.md).
    #[serde(default)]
    pub forwarded: u64,
    /// Outgoing events the broker refused because their partition was claimed by another
    /// instance since they were decided (dropped: the new owner handles their causes again).
    #[serde(default)]
    pub fenced: u64,
    /// Outgoing events committed but not yet acknowledged by JetStream.
    pub outbox_backlog: u64,
    /// Messages pending for each of this service's consumers (by stream), as of the last pull.
    pub consumer_lag: BTreeMap<String, u64>,
    /// Timers (deadlines, delays) waiting to fire.
    #[serde(default)]
    pub pending_timers: u64,
}

impl RuntimeStats {
    pub fn record_outcomes(&self, applied: u64, duplicates: u64, emitted: u64) {
        self.applied.fetch_add(applied, Ordering::Relaxed);
        self.duplicates.fetch_add(duplicates, Ordering::Relaxed);
        self.outbox_backlog
            .fetch_add(emitted as i64, Ordering::Relaxed);
    }

    pub fn record_forwarded(&self, count: u64) {
        self.forwarded.fetch_add(count, Ordering::Relaxed);
    }

    pub fn record_fenced(&self, count: u64) {
        self.fenced.fetch_add(count, Ordering::Relaxed);
    }

    pub fn record_dead_letter(&self) {
        self.dead_letters.fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_published(&self, count: u64) {
        self.published.fetch_add(count, Ordering::Relaxed);
        self.outbox_backlog
            .fetch_sub(count as i64, Ordering::Relaxed);
    }

    /// Sets the backlog from a count of the outbox (at start-up and after a sweep).
    pub fn set_outbox_backlog(&self, rows: usize) {
        self.outbox_backlog.store(rows as i64, Ordering::Relaxed);
    }

    pub fn set_pending_timers(&self, count: usize) {
        self.pending_timers.store(count as u64, Ordering::Relaxed);
    }

    pub fn set_consumer_lag(&self, stream: &str, pending: u64) {
        if let Ok(mut lag) = self.consumer_lag.lock() {
            lag.insert(stream.to_owned(), pending);
        }
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            applied: self.applied.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            dead_letters: self.dead_letters.load(Ordering::Relaxed),
            published: self.published.load(Ordering::Relaxed),
            forwarded: self.forwarded.load(Ordering::Relaxed),
            fenced: self.fenced.load(Ordering::Relaxed),
            outbox_backlog: self.outbox_backlog.load(Ordering::Relaxed).max(0) as u64,
            consumer_lag: self
                .consumer_lag
                .lock()
                .map(|lag| lag.clone())
                .unwrap_or_default(),
            pending_timers: self.pending_timers.load(Ordering::Relaxed),
        }
    }
}
