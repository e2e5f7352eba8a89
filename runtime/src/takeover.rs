//! Taking a partition over: before an instance works on a partition it has just claimed, it
//! deletes what its store held for it (stale from an earlier ownership), folds the
//! partition's events from the streams, so it starts from the state the old owner left in
//! the event log, and arms the timers that state waits on (`Service::timers`; docs/scaling.md,
//! "Take-over").
//!
//! Partitions claimed together (a newcomer takes its share, a survivor takes a dead
//! instance's) are rebuilt in one read of the streams: a take-over waits [`GATHER`] for the
//! others before it starts.
//!
//! Which consumed events the old owner had applied (they are folded and marked in the inbox;
//! the others are left to be applied when they come, through the intake or the public
//! durable):
//! - one that caused an event this service published was applied;
//! - one still in the partition's intake stream was not (it is deleted once applied);
//! - otherwise, one at or below the public durable's ack floor was applied (it was acked
//!   after its effects were published, or forwarded, and then is in the intake until
//!   applied), and one above it was not.
//!
//! The floors are read after the events and the intake after the floors, so an event
//! forwarded while the streams are read is found in the intake.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream;
use events::partition::Partition;
use events::{Envelope, Timestamp};
use tokio::sync::{mpsc, watch};

use crate::config::RuntimeConfig;
use crate::handler::{Handler, Incoming};
use crate::nats;
use crate::rebuild::{ack_floors, read_events, read_types};
use crate::store::Store;
use crate::store::fold::partition_of;
use crate::store::outbox::{Producer, RecordFence};

/// How long a take-over waits for other partitions claimed at the same time.
const GATHER: Duration = Duration::from_millis(100);

/// Events folded per transaction.
const FOLD_BATCH: usize = 4096;

/// Rebuilds partitions of one service's store from the streams.
pub(crate) struct Takeover {
    pub(crate) js: jetstream::Context,
    pub(crate) config: RuntimeConfig,
    pub(crate) store: Store,
    pub(crate) handler: Arc<dyn Handler>,
    /// The service: its durables and intake are named after it, it produces its own events
    /// and the timers a take-over re-arms.
    pub(crate) producer: Producer,
    gathering: Mutex<Option<Gathering>>,
}

/// Partitions waiting for the next rebuild (with the claims they were taken under), and
/// where its outcome is announced.
struct Gathering {
    partitions: BTreeMap<Partition, u64>,
    outcome: watch::Receiver<Option<Result<(), String>>>,
}

impl Takeover {
    pub(crate) fn new(
        js: jetstream::Context,
        config: RuntimeConfig,
        store: Store,
        handler: Arc<dyn Handler>,
        producer: Producer,
    ) -> Takeover {
        Takeover {
            js,
            config,
            store,
            handler,
            producer,
            gathering: Mutex::default(),
        }
    }

    /// Rebuilds `partition`, taken under claim `claim` (0: no claim record), with the others
    /// claimed at about the same time.
    pub(crate) async fn rebuild(
        self: Arc<Self>,
        partition: Partition,
        claim: u64,
    ) -> anyhow::Result<()> {
        let mut outcome = {
            let mut gathering = self.gathering.lock().unwrap_or_else(|p| p.into_inner());
            match gathering.as_mut() {
                Some(gathering) => {
                    gathering.partitions.insert(partition, claim);
                    gathering.outcome.clone()
                }
                None => {
                    let (announce, outcome) = watch::channel(None);
                    *gathering = Some(Gathering {
                        partitions: BTreeMap::from([(partition, claim)]),
                        outcome: outcome.clone(),
                    });
                    tokio::spawn(self.clone().gathered(announce));
                    outcome
                }
            }
        };
        let outcome = outcome
            .wait_for(Option::is_some)
            .await
            .map_err(|_| anyhow::anyhow!("the take-over of partition {partition} was dropped"))?
            .clone()
            .unwrap_or_else(|| Err("no outcome".into()));
        outcome.map_err(|reason| anyhow::anyhow!(reason))
    }

    /// Rebuilds every partition at once (an instance that holds them all by itself, whose
    /// store was last shared with others: what they applied is only in the streams).
    pub(crate) async fn rebuild_all(&self) -> anyhow::Result<usize> {
        let partitions = self.store.partitions().all().map(|p| (p, 0)).collect();
        self.rebuild_partitions(&partitions).await
    }

    async fn gathered(self: Arc<Self>, announce: watch::Sender<Option<Result<(), String>>>) {
        tokio::time::sleep(GATHER).await;
        let partitions = self
            .gathering
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .map(|gathering| gathering.partitions)
            .unwrap_or_default();
        let started = Instant::now();
        let outcome = self.rebuild_partitions(&partitions).await;
        let indices: Vec<u16> = partitions.keys().map(|p| p.index()).collect();
        match &outcome {
            Ok(folded) => tracing::info!(
                partitions = ?indices,
                folded,
                ms = started.elapsed().as_millis() as u64,
                "partitions rebuilt from the streams"
            ),
            Err(error) => {
                tracing::warn!(partitions = ?indices, error = %format!("{error:#}"), "take-over rebuild failed")
            }
        }
        let _ = announce.send(Some(outcome.map(|_| ()).map_err(|e| format!("{e:#}"))));
    }

    /// Deletes the partitions' rows, folds their events and re-arms their timers; returns
    /// how many events were folded.
    async fn rebuild_partitions(
        &self,
        partitions: &BTreeMap<Partition, u64>,
    ) -> anyhow::Result<usize> {
        for partition in partitions.keys() {
            self.store.clear_partition(*partition)?;
        }
        let events = self.read_partitions(partitions).await?;
        let consumes = self.handler.consumes();
        let service = self.producer.name.as_str();
        let floors = ack_floors(&self.js, &self.config, service, consumes).await?;
        let mut in_intake = HashSet::new();
        if !consumes.is_empty() {
            for partition in partitions.keys() {
                in_intake.extend(self.intake_event_ids(*partition).await?);
            }
        }
        // the events this service published name the inputs they came from
        let caused: HashSet<&str> = events
            .iter()
            .filter(|incoming| incoming.envelope.producer == service)
            .filter_map(|incoming| incoming.envelope.causation_id.as_deref())
            .collect();
        let subjects = &self.config.prefix;
        let applied = |incoming: &Incoming| {
            let envelope = &incoming.envelope;
            if !consumes.contains(&envelope.event_type) {
                return true;
            }
            let id = envelope.event_id.as_str();
            let stream = events::stream::event_stream(subjects, envelope.event_type.context()).name;
            caused.contains(id)
                || (!in_intake.contains(id)
                    && incoming.stream_sequence <= floors.get(&stream).copied().unwrap_or(0))
        };
        let keep: Vec<bool> = events.iter().map(applied).collect();
        let events: Vec<Incoming> = events
            .into_iter()
            .zip(keep)
            .filter_map(|(incoming, keep)| keep.then_some(incoming))
            .collect();
        let folded = events.len();
        let (store, handler) = (self.store.clone(), self.handler.clone());
        tokio::task::spawn_blocking(move || {
            events
                .chunks(FOLD_BATCH)
                .try_for_each(|batch| store.fold_batch(handler.as_ref(), batch))
        })
        .await
        .context("fold task failed")??;
        self.rearm(partitions)?;
        self.store.flush().await?;
        Ok(folded)
    }

    /// Arms what the rebuilt partitions' state waits on, fenced on their claims.
    fn rearm(&self, partitions: &BTreeMap<Partition, u64>) -> anyhow::Result<()> {
        let now = Timestamp::now();
        for (partition, claim) in partitions {
            let timers = self.handler.timers(&self.store, *partition, now)?;
            if timers.is_empty() {
                continue;
            }
            let fence = (*claim > 0).then_some(RecordFence {
                partition: partition.index(),
                claim: *claim,
            });
            self.store.arm(&self.producer, &timers, fence, now)?;
            tracing::info!(%partition, timers = timers.len(), "timers re-armed");
        }
        Ok(())
    }

    /// Every event of the service's folded and consumed types for one of `partitions`, once
    /// each, in causal order.
    async fn read_partitions(
        &self,
        partitions: &BTreeMap<Partition, u64>,
    ) -> anyhow::Result<Vec<Incoming>> {
        let handler = self.handler.as_ref();
        let types = read_types(handler);
        let (sender, mut receiver) = mpsc::channel::<Vec<Incoming>>(4);
        let reading = read_events(&self.js, &self.config, &types, sender);
        let trees = self.store.tree_set();
        let collecting = async {
            let (mut events, mut seen) = (Vec::new(), HashSet::new());
            while let Some(batch) = receiver.recv().await {
                for incoming in batch {
                    let ours = partition_of(handler, &trees, &incoming)
                        .is_some_and(|partition| partitions.contains_key(&partition));
                    // an event re-published after the duplicate window is in a stream twice
                    if ours && seen.insert(incoming.envelope.event_id.clone()) {
                        events.push(incoming);
                    }
                }
            }
            events
        };
        let (read, events) = tokio::join!(reading, collecting);
        read.context("cannot read the partition's events")?;
        Ok(events)
    }

    /// The ids of the events waiting in `partition`'s intake (forwarded, not applied yet).
    async fn intake_event_ids(&self, partition: Partition) -> anyhow::Result<HashSet<String>> {
        let subjects = &self.config.prefix;
        let service = self.producer.name.as_str();
        let stream = events::stream::intake_stream(subjects, service).name;
        if self.js.get_stream(&stream).await.is_err() {
            return Ok(HashSet::new()); // never provisioned: nothing was forwarded
        }
        let filter = subjects.intake(service, partition);
        let (mut ids, mut from) = (HashSet::new(), 1);
        while let Some(stored) = nats::raw::next_stored(&self.js, &stream, from, &filter).await? {
            from = stored.sequence + 1;
            let headers = stored.readable_headers();
            if let Ok(envelope) = Envelope::from_headers(|name| nats::header(Some(&headers), name))
            {
                ids.insert(envelope.event_id);
            }
        }
        Ok(ids)
    }
}
