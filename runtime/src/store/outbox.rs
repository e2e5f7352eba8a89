//! Outbox rows: the events a committed step emitted, waiting for the relay to publish them
//! byte for byte, and how an event becomes a row (subject, envelope headers, payload).

use bytes::Bytes;
use events::{Envelope, Event, Subjects, codec};
use serde::{Deserialize, Serialize};

use super::{OUTBOX, Store, StoreError};

/// Who is writing and how outgoing events are addressed.
#[derive(Debug, Clone)]
pub(crate) struct Producer {
    pub name: String,
    pub subjects: Subjects,
}

/// One event waiting in the outbox: everything needed to publish it again, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRecord {
    pub subject: String,
    pub headers: Vec<(String, String)>,
    pub payload: Bytes,
    /// The partition claim it was decided under: the broker stores it only while that claim
    /// is the partition's last (docs/scaling.md, "Fencing"). Rows written before partitions
    /// existed have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fence: Option<RecordFence>,
}

/// Which claim an outgoing event is fenced on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordFence {
    pub partition: u16,
    /// The stream sequence of the claim record.
    pub claim: u64,
}

/// One outbox row: the events a committed batch (or an API call) emitted, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRow {
    pub records: Vec<OutboxRecord>,
}

impl OutboxRow {
    pub(crate) fn encode(&self) -> Result<Vec<u8>, StoreError> {
        codec::to_bytes(self).map_err(|error| StoreError::Encode(error.to_string()))
    }
}

/// The outbox row for `event` with `envelope`.
pub(crate) fn new_outbox_record(
    producer: &Producer,
    envelope: &Envelope,
    event: &Event,
) -> Result<OutboxRecord, StoreError> {
    let subject = producer
        .subjects
        .for_event(event)
        .map_err(|error| StoreError::Encode(error.to_string()))?;
    let payload = codec::encode(event).map_err(|error| StoreError::Encode(error.to_string()))?;
    let headers = envelope
        .to_headers()
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    Ok(OutboxRecord {
        subject,
        headers,
        payload: Bytes::from(payload),
        fence: None,
    })
}

impl Store {
    /// Outbox rows, oldest first, until they hold at least `min_records` events.
    pub fn outbox_batch(
        &self,
        min_records: usize,
    ) -> Result<Vec<(sled::IVec, OutboxRow)>, StoreError> {
        let mut rows = Vec::new();
        let mut records = 0;
        for entry in self.trees[OUTBOX].iter() {
            let (key, value) = entry?;
            match codec::from_bytes::<OutboxRow>(&value) {
                Ok(row) => {
                    records += row.records.len();
                    rows.push((key, row));
                }
                Err(error) => {
                    tracing::error!(%error, key = ?key, "outbox row does not decode; left in place")
                }
            }
            if records >= min_records {
                break;
            }
        }
        Ok(rows)
    }

    /// Adds a row of events that no incoming event caused (API calls, timers), durably.
    pub async fn append_outbox(&self, records: Vec<OutboxRecord>) -> Result<(), StoreError> {
        let count = records.len() as i64;
        let bytes = OutboxRow { records }.encode()?;
        let outbox = &self.trees[OUTBOX];
        let id = self.db.generate_id()?;
        outbox.insert(id.to_be_bytes(), bytes)?;
        self.count(count, 0);
        self.outbox_written(Some(id));
        self.flush().await
    }

    /// Removes a published outbox row of `events` events.
    pub fn outbox_remove(&self, key: &[u8], events: usize) -> Result<(), StoreError> {
        if self.trees[OUTBOX].remove(key)?.is_some() {
            self.count(-(events as i64), 0);
        }
        if let Ok(id) = key.try_into().map(u64::from_be_bytes) {
            self.durable.published(id);
        }
        Ok(())
    }

    /// Waits until outbox row `key` has been published (and removed), for at most `timeout`;
    /// whether it was. What a batch or a command caused is acknowledged or answered only
    /// then: an instance that dies leaves nothing acknowledged whose effects exist only on its
    /// disk (docs/scaling.md, "Acknowledge after publishing").
    pub async fn wait_published(&self, key: u64, timeout: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let key = key.to_be_bytes();
        loop {
            let removed = self.durable.removed.notified();
            tokio::pin!(removed);
            // registered before the check: a removal between the check and the wait wakes it
            removed.as_mut().enable();
            match self.trees[OUTBOX].contains_key(key) {
                Ok(false) => return true,
                Ok(true) => {}
                Err(error) => {
                    tracing::warn!(%error, "could not read the outbox");
                    return false;
                }
            }
            if tokio::time::timeout_at(deadline, removed).await.is_err() {
                return false;
            }
        }
    }

    /// Events waiting in the outbox (a counter: cheap).
    pub fn outbox_len(&self) -> usize {
        usize::try_from(self.counts.outbox.load(std::sync::atomic::Ordering::SeqCst)).unwrap_or(0)
    }
}
