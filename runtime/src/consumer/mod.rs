//! The consume loop (DESIGN.md §4), once for every service and every stream it reads:
//! pull a batch → decode (undecodable → dead letter) → one sled transaction for inbox check,
//! handler, state, outbox rows and inbox marks → one flush → ack. Storage failures nak with a
//! delay; a message that keeps failing is dead-lettered after `max_deliver` failed attempts.
//!
//! The broker's consumers deliver without limit: JetStream never redelivers past its own
//! `max_deliver`, so a message whose last delivery could not be dead-lettered (the dead-letter
//! stream refused the copy) would vanish. The runtime counts failed attempts itself (a crash
//! loop is not a failed attempt of every message it had prefetched) and keeps a message until
//! its dead letter is stored. Only a message delivered [`CRASH_LOOP_DELIVERIES`] times the
//! `max_deliver` without ever being applied is dead-lettered unprocessed.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream;
use async_nats::jetstream::consumer::pull::MessagesErrorKind;
use futures::{FutureExt, StreamExt};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use async_nats::jetstream::AckKind;
use events::{EventType, Timestamp};

mod ack;
mod failures;
mod read;
mod route;
mod unreadable;

use route::Placement;

use ack::{ack, ack_when_published};

pub(crate) use failures::Fatal;
use failures::{CRASH_LOOP_DELIVERIES, Failures};

use crate::config::RuntimeConfig;
use crate::handler::{Handler, Incoming};
use crate::history::HistorySource;
use crate::nats;
use crate::ownership::Held;
use crate::provision;
pub(crate) use crate::provision::{ConsumerSpec, consumer_specs};
use crate::stats::RuntimeStats;
use crate::store::batch::Outcome;
use crate::store::outbox::Producer;
use crate::store::{Store, StoreError};

/// How long a partly filled batch waits for more messages once several have arrived
/// together (a sign of load). A lone message is processed at once.
const BATCH_LINGER: Duration = Duration::from_millis(2);

/// How long a message for a partition that is changing hands waits before it comes back.
pub(crate) const HANDOVER_DELAY: Duration = Duration::from_millis(500);

/// How long the pull stream waits between idle heartbeats from the server.
const IDLE_HEARTBEAT: Duration = Duration::from_secs(5);

/// Everything the consume loops of one service share.
pub(crate) struct ConsumeContext {
    pub(crate) js: jetstream::Context,
    pub(crate) store: Store,
    pub(crate) handler: Arc<dyn Handler>,
    /// Where the histories the service asks for are read.
    pub(crate) history: HistorySource,
    pub(crate) producer: Producer,
    pub(crate) config: RuntimeConfig,
    pub(crate) stats: Arc<RuntimeStats>,
    pub(crate) relay_wakeup: Arc<Notify>,
    pub(crate) failures: Failures,
    /// Set when storage keeps failing: the service stops and exits non-zero.
    pub(crate) fatal: Arc<Fatal>,
    /// Batches committed (for the storage failpoint) and storage failures in a row.
    pub(crate) batches: std::sync::atomic::AtomicU64,
    pub(crate) storage_failures: std::sync::atomic::AtomicU32,
    /// The partitions this instance holds and has made ready (docs/scaling.md).
    pub(crate) held: Held,
}

impl std::fmt::Debug for ConsumeContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumeContext")
            .field("producer", &self.producer)
            .finish_non_exhaustive()
    }
}

/// A message taken apart for the batch.
pub(crate) struct Pulled {
    pub(crate) message: jetstream::Message,
    pub(crate) stream_sequence: u64,
    pub(crate) deliveries: i64,
}

impl ConsumeContext {
    /// Consumes until `shutdown`; the in-flight batch is finished (flushed and acked) first.
    /// Broker outages are survived by binding again; a deleted consumer is not recreated (it
    /// would start from the beginning of history): the loop keeps trying, with a warning that
    /// says to provision it, until an admin does.
    pub(crate) async fn run(self: Arc<Self>, spec: ConsumerSpec, shutdown: CancellationToken) {
        let mut restarted = false;
        while !shutdown.is_cancelled() {
            let consumed = self.consume(&spec, &shutdown, restarted).await;
            restarted = true;
            if let Err(error) = consumed {
                tracing::warn!(stream = %spec.stream, error = %format!("{error:#}"), "consumer interrupted; recreating");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.cancelled() => {}
                }
            }
        }
    }

    /// Pulls on a connection of its own: a message async-nats cannot read breaks that one
    /// only, and is dead-lettered from here (see `unreadable`). After a `restart` (the last
    /// connection may have died on such a message) it looks for one before pulling.
    async fn consume(
        &self,
        spec: &ConsumerSpec,
        shutdown: &CancellationToken,
        restart: bool,
    ) -> anyhow::Result<()> {
        let name = format!("{} {}", self.producer.name, spec.stream);
        let client = nats::connect(&self.config, &name).await?;
        let reconnects = unreadable::Reconnects::new(&client, restart);
        let acks = TaskTracker::new();
        let consumed = self.pull(spec, &client, reconnects, shutdown, &acks).await;
        // the acks of the last batches go out before the connection closes, and their tasks
        // (each bounded by the publish wait) let go of the store before the service returns
        acks.close();
        acks.wait().await;
        let _ = tokio::time::timeout(Duration::from_secs(2), client.drain()).await;
        consumed
    }

    async fn pull(
        &self,
        spec: &ConsumerSpec,
        client: &async_nats::Client,
        mut reconnects: unreadable::Reconnects,
        shutdown: &CancellationToken,
        acks: &TaskTracker,
    ) -> anyhow::Result<()> {
        let js = nats::jetstream(client.clone());
        let consumer = provision::bind(&js, spec, &self.producer.name).await?;
        let batch_size = usize::from(self.config.batch_size);
        let mut messages = consumer
            .stream()
            .max_messages_per_batch(batch_size)
            .heartbeat(IDLE_HEARTBEAT)
            .expires(Duration::from_secs(30))
            .messages()
            .await
            .context("failed to start pulling")?;
        tracing::info!(stream = %spec.stream, filters = ?spec.filter_subjects, "consuming");
        let mut looks = tokio::time::interval(Duration::from_secs(1));
        loop {
            let next = tokio::select! {
                biased;
                _ = shutdown.cancelled() => return Ok(()),
                _ = looks.tick() => {
                    self.dead_letter_unreadable(spec, &mut reconnects).await;
                    continue;
                }
                next = messages.next() => next,
            };
            let mut batch = Vec::with_capacity(batch_size);
            match next {
                None => anyhow::bail!("message stream ended"),
                Some(Ok(message)) => batch.push(message),
                Some(Err(error)) => match error.kind() {
                    MessagesErrorKind::MissingHeartbeat
                    | MessagesErrorKind::Pull
                    | MessagesErrorKind::Other => {
                        tracing::debug!(%error, "pull hiccup; continuing");
                        continue;
                    }
                    _ => return Err(error).context("pull consumer failed"),
                },
            }
            // take whatever else is already here, up to a full batch; under load, linger
            // briefly for more, since each batch costs one transaction and one flush
            let linger_until = tokio::time::Instant::now() + BATCH_LINGER;
            while batch.len() < batch_size {
                match messages.next().now_or_never() {
                    Some(Some(Ok(message))) => batch.push(message),
                    Some(_) => break,
                    None if batch.len() == 1 => break,
                    None => match tokio::time::timeout_at(linger_until, messages.next()).await {
                        Ok(Some(Ok(message))) => batch.push(message),
                        _ => break,
                    },
                }
            }
            self.process_batch(spec, batch, acks).await;
        }
    }

    /// Handles one pulled batch to the end: every message is acked, nak'ed or dead-lettered.
    /// What was applied is acked once the events the batch emitted are published (by a task on
    /// `acks`, so the next batch need not wait): an instance that dies leaves no acknowledged
    /// message whose effects exist only on its disk (docs/scaling.md).
    async fn process_batch(
        &self,
        spec: &ConsumerSpec,
        messages: Vec<jetstream::Message>,
        acks: &TaskTracker,
    ) {
        let stream = spec.stream.as_str();
        if self.config.processing_delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.config.processing_delay_ms)).await;
        }
        let now = Timestamp::now();
        let mut accepted = Vec::with_capacity(messages.len());
        let mut incoming = Vec::with_capacity(messages.len());
        let mut rejected = Vec::new();
        let (unavailable, mut failed) = (self.unavailable_types(), Vec::new());
        let mut unread = Vec::new();
        for message in messages {
            let Some(pulled) = self.pulled(message, spec) else {
                continue;
            };
            let crash_loop = self
                .config
                .max_deliver
                .saturating_mul(CRASH_LOOP_DELIVERIES);
            if pulled.deliveries > crash_loop {
                let reason = format!(
                    "delivered {} times without being applied (does the service crash on it?)",
                    pulled.deliveries
                );
                rejected.push((pulled, reason));
                continue;
            }
            match self.decode(&pulled, now) {
                Ok(event) if unavailable.contains(&event.envelope.event_type) => {
                    failed.push(pulled);
                }
                Ok(mut event) => {
                    let partition = match self.place(&event.event, spec.partition) {
                        Placement::Here { partition, forward } => {
                            if !self.forwarded(&pulled, &event, &forward).await {
                                continue;
                            }
                            partition
                        }
                        Placement::Elsewhere(to) => {
                            if self.forwarded(&pulled, &event, &to).await {
                                ack(&pulled.message, AckKind::Ack).await;
                            }
                            continue;
                        }
                        Placement::NotMine => {
                            ack(&pulled.message, AckKind::Nak(Some(HANDOVER_DELAY))).await;
                            continue;
                        }
                    };
                    event.partition = partition;
                    match self.with_history(&mut event).await {
                        Ok(()) => {
                            incoming.push(event);
                            accepted.push(pulled);
                        }
                        Err(reason) => unread.push((pulled, reason)),
                    }
                }
                Err(reason) => rejected.push((pulled, reason)),
            }
        }
        for pulled in failed {
            let reason = "failpoint: what this event needs is unavailable";
            self.retry_or_dead_letter(&pulled, stream, reason).await;
        }
        for (pulled, reason) in unread {
            self.retry_or_dead_letter(&pulled, stream, &reason).await;
        }
        // a deposed owner commits nothing for the partition it lost (the broker would refuse
        // what it published anyway): those go back, to reach the new owner
        let (accepted, incoming) = self.still_held(accepted, incoming).await;
        if !accepted.is_empty() {
            match self.commit(incoming).await {
                Ok((outcomes, row)) => {
                    let mut applied = Vec::with_capacity(outcomes.len());
                    for (pulled, outcome) in accepted.into_iter().zip(outcomes) {
                        match outcome {
                            // what a refusal decided is committed and flushed by now: the
                            // dead letter follows, and a redelivery is refused again
                            Outcome::Invalid(reason) | Outcome::Refused { reason, .. } => {
                                rejected.push((pulled, reason))
                            }
                            Outcome::Applied { .. } | Outcome::Duplicate => {
                                self.forget_failures(stream, &pulled);
                                applied.push((self.ack_kind(&pulled), pulled.message));
                            }
                        }
                    }
                    self.relay_wakeup.notify_one();
                    self.storage_failures.store(0, Ordering::Relaxed);
                    match row {
                        None => {
                            for (kind, message) in applied {
                                ack(&message, kind).await;
                            }
                        }
                        // the dead letters below come after what the batch published
                        Some(row) if !rejected.is_empty() => {
                            self.ack_when_published(row, applied).await;
                        }
                        Some(row) => {
                            let (store, wait) = (self.store.clone(), self.publish_wait());
                            acks.spawn(ack_when_published(store, wait, row, applied));
                        }
                    }
                }
                Err(error) => {
                    let reason = format!("{error:#}");
                    tracing::error!(error = %reason, "batch not committed; redelivering");
                    self.note_storage_failure(&error, &reason);
                    for pulled in accepted {
                        self.retry_or_dead_letter(&pulled, stream, &reason).await;
                    }
                }
            }
        }
        for (pulled, reason) in rejected {
            self.dead_letter(&pulled, stream, &reason).await;
        }
    }

    /// Runs the batch transaction on a blocking thread, then flushes; returns the outcomes and
    /// the outbox row the batch wrote.
    async fn commit(&self, incoming: Vec<Incoming>) -> anyhow::Result<(Vec<Outcome>, Option<u64>)> {
        let (store, handler, producer) = (
            self.store.clone(),
            self.handler.clone(),
            self.producer.clone(),
        );
        let span = tracing::debug_span!("commit", events = incoming.len());
        let batches = self.batches.fetch_add(1, Ordering::Relaxed) + 1;
        let full_after = self.config.failpoint_storage_full_after;
        let (outcomes, row) = tokio::task::spawn_blocking(move || {
            let _entered = span.entered();
            if full_after > 0 && batches > full_after {
                let full = std::io::Error::other("failpoint: no space left on device");
                return Err(StoreError::Sled(sled::Error::Io(full)));
            }
            let applied = store.apply_batch(handler.as_ref(), &producer, &incoming)?;
            // flush on the same blocking thread: one thread hop per batch, not two (at low
            // load a hop costs more than the fsync: docs/performance.md)
            store.flush_blocking()?;
            Ok::<_, crate::store::StoreError>(applied)
        })
        .await
        .context("commit task failed")??;
        let applied = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Applied { .. }))
            .count();
        let duplicates = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Duplicate))
            .count();
        let emitted: usize = outcomes
            .iter()
            .map(|o| match o {
                Outcome::Applied { emitted } | Outcome::Refused { emitted, .. } => *emitted,
                Outcome::Duplicate | Outcome::Invalid(_) => 0,
            })
            .sum();
        self.stats
            .record_outcomes(applied as u64, duplicates as u64, emitted as u64);
        Ok((outcomes, row))
    }

    /// The event types the unavailability failpoint fails right now (none, unless a test set
    /// it up and its file exists).
    fn unavailable_types(&self) -> Vec<EventType> {
        let config = &self.config;
        match &config.failpoint_unavailable_while {
            Some(file) if file.exists() => config.failpoint_unavailable_types.clone(),
            _ => Vec::new(),
        }
    }
}
