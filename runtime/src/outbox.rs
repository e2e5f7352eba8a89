//! The outbox relay: publishes committed events to JetStream and deletes each row once its
//! publish ack arrives. Many publishes are in flight at once.
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

use crate::nats::header_map;
use crate::stats::RuntimeStats;
use crate::store::Store;

/// Rows published per sweep (all in flight together).
const SWEEP_ROWS: usize = 2048;
/// A sweep runs at least this often even without a wake-up.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// What the relay needs.
#[derive(Debug, Clone)]
pub struct Relay {
    pub js: jetstream::Context,
    pub store: Store,
    pub stats: Arc<RuntimeStats>,
    pub wakeup: Arc<Notify>,
}

impl Relay {
    /// Runs until `stop` is cancelled and the outbox is empty (or the broker is unreachable).
    pub async fn run(self, stop: CancellationToken) {
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

    /// Publishes up to [`SWEEP_ROWS`] rows; returns how many were acknowledged and removed.
    pub async fn sweep(&self) -> anyhow::Result<usize> {
        let rows = self.store.outbox_batch(SWEEP_ROWS)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut in_flight = FuturesUnordered::new();
        let mut first_error = None;
        for (key, record) in rows {
            let headers = header_map(
                record
                    .headers
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_str())),
            );
            let publish = PublishMessage::build()
                .payload(record.payload)
                .headers(headers);
            match self.js.send_publish(record.subject, publish).await {
                Ok(ack) => in_flight.push(async move { (key, ack.into_future().await) }),
                Err(error) => {
                    first_error = Some(anyhow::Error::new(error));
                    break;
                }
            }
        }
        let mut published = 0;
        while let Some((key, result)) = in_flight.next().await {
            match result {
                Ok(_) => {
                    self.store.outbox_remove(&key)?;
                    published += 1;
                }
                Err(error) => first_error = first_error.or(Some(anyhow::Error::new(error))),
            }
        }
        self.stats.record_published(published as u64);
        match first_error {
            Some(error) if published == 0 => Err(error),
            _ => Ok(published),
        }
    }
}
