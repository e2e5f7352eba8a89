//! The outbox relay: publishes committed events to JetStream and deletes each row once its
//! publish ack arrives. Many publishes are in flight at once. It only publishes rows that are
//! durable (it flushes before publishing what it read).
//!
//! It sweeps at start-up (a crash between commit and publish loses nothing), whenever a batch
//! commits, and on a timer. A publish whose ack failed or timed out may still have landed: the
//! row stays and is published again later with the same `Nats-Msg-Id`, which JetStream drops
//! as a duplicate inside the duplicate window (and consumers' inboxes drop after it).

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, message::PublishMessage};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use async_nats::jetstream::context::PublishErrorKind;
use events::partition::Partitions;

use crate::nats::header_map;
use crate::ownership::Fence;
use crate::stats::RuntimeStats;
use crate::store::Store;
use crate::store::outbox::RecordFence;

/// Events published per sweep (all in flight together); whole rows, so a sweep may hold more.
const SWEEP_EVENTS: usize = 2048;
/// A sweep runs at least this often even without a wake-up.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// How the relay turns a record's [`RecordFence`] into publish headers.
#[derive(Debug, Clone)]
pub(crate) struct Fences {
    pub(crate) subjects: events::Subjects,
    pub(crate) home: Option<events::Context>,
    pub(crate) partitions: Partitions,
}

impl Fences {
    fn apply(&self, fence: Option<RecordFence>, headers: &mut async_nats::HeaderMap) {
        let (Some(fence), Some(home)) = (fence, self.home) else {
            return;
        };
        match self.partitions.get(fence.partition) {
            Some(partition) => {
                Fence::new(self.subjects.partition_claim(home, partition), fence.claim)
                    .apply(headers);
            }
            None => tracing::warn!(
                partition = fence.partition,
                "an outbox record names a partition this deployment does not have; published unfenced"
            ),
        }
    }
}

/// What the relay needs.
#[derive(Debug, Clone)]
pub(crate) struct Relay {
    pub(crate) js: jetstream::Context,
    /// Where the claims the outgoing events are fenced on are recorded (the service's own
    /// context), and how many partitions there are.
    pub(crate) fences: Fences,
    pub(crate) store: Store,
    pub(crate) stats: Arc<RuntimeStats>,
    pub(crate) wakeup: Arc<Notify>,
}

impl Relay {
    /// Runs until `stop` is cancelled and the outbox is empty (or the broker is unreachable).
    pub(crate) async fn run(self, stop: CancellationToken) {
        self.stats.set_outbox_backlog(self.store.outbox_len());
        loop {
            match self.sweep().await {
                Ok(0) if stop.is_cancelled() => return,
                Ok(0) => {
                    tokio::select! {
                        _ = self.wakeup.notified() => {}
                        _ = tokio::time::sleep(SWEEP_INTERVAL) => {}
                        _ = stop.cancelled() => {}
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "outbox publish failed; will retry with the same ids");
                    if stop.is_cancelled() {
                        return;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        _ = stop.cancelled() => {}
                    }
                }
            }
        }
    }

    /// Publishes about [`SWEEP_EVENTS`] events; returns how many were acknowledged. A row is
    /// removed once every event in it is acknowledged; otherwise it is published again later.
    pub(crate) async fn sweep(&self) -> anyhow::Result<usize> {
        let rows = self.store.outbox_batch(SWEEP_EVENTS)?;
        if rows.is_empty() {
            return Ok(0);
        }
        // A row is visible as soon as its transaction commits, before the committer's flush.
        // Publishing it then, and crashing before the flush, would publish an event whose
        // cause is redelivered and applied again under new event ids. So: unless every row
        // read is known durable (its committer flushed: store/durable.rs), make everything
        // read so far durable first (flushes are group-committed, so this is usually shared).
        if !self
            .store
            .outbox_durable(rows.iter().map(|(key, _)| key.as_ref()))
        {
            self.store.flush().await?;
        }
        let mut in_flight = FuturesUnordered::new();
        let mut first_error = None;
        let mut rows_sent = Vec::with_capacity(rows.len());
        'rows: for (row_index, (key, row)) in rows.into_iter().enumerate() {
            let events = row.records.len();
            for record in row.records {
                let mut headers = header_map(
                    record
                        .headers
                        .iter()
                        .map(|(name, value)| (name.as_str(), value.as_str())),
                );
                self.fences.apply(record.fence, &mut headers);
                let publish = PublishMessage::build()
                    .payload(record.payload)
                    .headers(headers);
                match self.js.send_publish(record.subject, publish).await {
                    Ok(ack) => in_flight.push(async move { (row_index, ack.into_future().await) }),
                    Err(error) => {
                        first_error = Some(anyhow::Error::new(error));
                        break 'rows;
                    }
                }
            }
            rows_sent.push((key, events));
        }
        // a row whose publishing broke off half-way has an index past `rows_sent`
        let mut acked = vec![0usize; rows_sent.len() + 1];
        let mut fenced = 0;
        while let Some((row_index, result)) = in_flight.next().await {
            match result {
                Ok(_) => acked[row_index] += 1,
                // decided under a claim that is no longer the partition's: another instance
                // owns it and handles the causes again (they were never acknowledged)
                Err(error) if error.kind() == PublishErrorKind::WrongLastSequence => {
                    acked[row_index] += 1;
                    fenced += 1;
                }
                Err(error) => first_error = first_error.or(Some(anyhow::Error::new(error))),
            }
        }
        if fenced > 0 {
            self.stats.record_fenced(fenced);
            tracing::warn!(
                events = fenced,
                "dropped events decided for partitions this instance no longer owns"
            );
        }
        let mut published = 0;
        for (row_index, (key, events)) in rows_sent.iter().enumerate() {
            if acked[row_index] == *events {
                self.store.outbox_remove(key, *events)?;
                published += events;
            }
        }
        self.stats.record_published(published as u64);
        match first_error {
            Some(error) if published == 0 => Err(error),
            _ => Ok(published),
        }
    }
}
