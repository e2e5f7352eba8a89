//! Rebuilding a service's store from the streams: read every event the service's state is
//! made of, fold them in causal order into a new generation inside the data directory with
//! the service's `evolve`, then swap it in (see `store::location`; the old one is kept).
//! The service must be stopped: sled lets one process at a time open a store.
//!
//! Nothing the service still had to do is forgotten: consumed events it had not applied yet
//! (pending on its durable consumer) are left for it to apply when it starts again, its
//! pending timers and local trees are carried over, and a store whose outbox still holds
//! unpublished events is not rebuilt (the command says to let the service publish them).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream::{self, consumer::DeliverPolicy};
use tokio::sync::mpsc;

use events::{Envelope, EventType, Timestamp, codec};

use crate::config::RuntimeConfig;
use crate::consumer::consumer_specs;
use crate::handler::{Handler, Incoming};
use crate::nats;
use crate::nats::reader::{Read, StreamReader};
use crate::service::{Service, ServiceDefinition};
use crate::store::{Store, StoreError, location};

/// What a rebuild did.
#[derive(Debug, Clone)]
pub struct RebuildReport {
    /// Events folded.
    pub events: usize,
    /// Consumed events still pending on the service's consumer: it applies them when it
    /// starts again.
    pub pending: usize,
    /// Reading, folding and flushing (not the digest, not the swap).
    pub seconds: f64,
    /// The digest of every service tree of the rebuilt store (local trees carried over).
    pub digest: u64,
    /// The store now in use, and the previous one (kept as it was).
    pub store: PathBuf,
    pub previous: Option<PathBuf>,
}

impl RebuildReport {
    pub fn rate(&self) -> f64 {
        self.events as f64 / self.seconds.max(1e-9)
    }
}

/// Streams every event of `types` in the shop's streams, decoded, in causal order, to
/// `sink` in batches: each stream is read concurrently and the streams are merged by
/// occurred-at (among events of the same millisecond, a cause before its effect), so folding
/// can start before reading ends.
pub async fn read_events(
    js: &jetstream::Context,
    config: &RuntimeConfig,
    types: &[EventType],
    sink: mpsc::Sender<Vec<Incoming>>,
) -> anyhow::Result<usize> {
    let subjects = &config.prefix;
    let mut by_stream: HashMap<String, Vec<String>> = HashMap::new();
    for event_type in types {
        let stream = events::stream::event_stream(subjects, event_type.context()).name;
        by_stream
            .entry(stream)
            .or_default()
            .push(subjects.event_type_filter(*event_type));
    }
    let mut readers = Vec::new();
    let mut heads = Vec::new();
    for (stream, filters) in by_stream {
        let (sender, receiver) = mpsc::channel(4096);
        readers.push(tokio::spawn(read_stream(
            js.clone(),
            config.clone(),
            stream,
            filters,
            sender,
        )));
        heads.push((receiver, None::<Incoming>, true));
    }
    let mut batch = Vec::with_capacity(MERGE_BATCH);
    let mut count = 0;
    loop {
        for (receiver, head, open) in heads.iter_mut() {
            if head.is_none() && *open {
                *head = receiver.recv().await;
                *open = head.is_some();
            }
        }
        let Some(next) = earliest(&heads) else { break };
        let Some(event) = heads[next].1.take() else {
            break;
        };
        batch.push(event);
        count += 1;
        if batch.len() == MERGE_BATCH {
            sink.send(std::mem::replace(
                &mut batch,
                Vec::with_capacity(MERGE_BATCH),
            ))
            .await?;
        }
    }
    if !batch.is_empty() {
        sink.send(batch).await?;
    }
    for reader in readers {
        reader.await??;
    }
    Ok(count)
}

/// Events folded per transaction.
const MERGE_BATCH: usize = 8192;

/// The stream whose head comes first: the earliest occurred-at; at the same millisecond, a
/// head that caused another head goes first.
fn earliest(heads: &[(mpsc::Receiver<Incoming>, Option<Incoming>, bool)]) -> Option<usize> {
    let candidates: Vec<(usize, &Incoming)> = heads
        .iter()
        .enumerate()
        .filter_map(|(index, (_, head, _))| head.as_ref().map(|event| (index, event)))
        .collect();
    let (first, event) = candidates
        .iter()
        .min_by_key(|(_, event)| event.envelope.occurred_at)?;
    let tied = candidates
        .iter()
        .filter(|(_, other)| other.envelope.occurred_at == event.envelope.occurred_at);
    let cause = tied.clone().find(|(_, candidate)| {
        candidates.iter().any(|(_, other)| {
            other.envelope.causation_id.as_deref() == Some(candidate.envelope.event_id.as_str())
        })
    });
    Some(cause.map(|(index, _)| *index).unwrap_or(*first))
}

/// Sends every decodable message of one stream for the given filters, in stream order, read
/// on a connection of its own (see `nats::reader`). A message that does not decode, or whose
/// header block async-nats cannot read, is skipped with a warning: it was dead-lettered when
/// it was live, and is not part of any state.
async fn read_stream(
    js: jetstream::Context,
    config: RuntimeConfig,
    stream: String,
    filters: Vec<String>,
    sender: mpsc::Sender<Incoming>,
) -> anyhow::Result<()> {
    let dial = nats::dial(&config, &format!("rebuild {stream}"));
    let mut reader =
        StreamReader::open(&js, dial, &stream, filters, DeliverPolicy::All, true).await?;
    loop {
        let message = match tokio::time::timeout(Duration::from_secs(30), reader.next()).await {
            Ok(Ok(Some(Read::Message(message)))) => message,
            Ok(Ok(Some(Read::Skipped(stored, reason)))) => {
                tracing::warn!(%stream, sequence = stored.sequence, subject = %stored.subject, %reason, "skipping a message async-nats cannot read");
                continue;
            }
            Ok(Ok(None)) => return Ok(()),
            Ok(Err(error)) => return Err(error.context(format!("failed to read {stream}"))),
            Err(_) => anyhow::bail!("reading {stream} stopped: {reader:?} got nothing for 30 s"),
        };
        let info = message.info().map_err(|error| anyhow::anyhow!("{error}"))?;
        let headers = message.headers.as_ref();
        let decoded = Envelope::from_headers(|name| nats::header(headers, name))
            .map_err(|e| e.to_string())
            .and_then(|envelope| {
                codec::decode_typed(
                    envelope.event_type,
                    &message.payload,
                    config.max_payload_bytes,
                )
                .map(|event| (envelope, event))
                .map_err(|e| e.to_string())
            });
        match decoded {
            Ok((envelope, event)) => {
                let incoming = Incoming {
                    now: envelope.occurred_at,
                    envelope,
                    event,
                    subject: message.subject.to_string(),
                    stream_sequence: info.stream_sequence,
                    history: Vec::new(),
                    partition: None,
                };
                if sender.send(incoming).await.is_err() {
                    return Ok(());
                }
            }
            // it was dead-lettered when it was live; it is not part of any state
            Err(reason) => {
                tracing::warn!(subject = %message.subject, %reason, "skipping an undecodable message")
            }
        }
    }
}

/// Rebuilds the store of stopped service `S` and swaps it in.
pub async fn rebuild<S: Service>(
    config: &RuntimeConfig,
    settings: S::Settings,
) -> anyhow::Result<RebuildReport> {
    rebuild_with(config, S::DEFINITION, Arc::new(S::new(settings))).await
}

async fn rebuild_with(
    config: &RuntimeConfig,
    definition: ServiceDefinition,
    handler: Arc<dyn Handler>,
) -> anyhow::Result<RebuildReport> {
    let folds = handler.folds();
    anyhow::ensure!(
        !folds.is_empty(),
        "{} folds no events: it cannot be rebuilt from the streams",
        definition.name
    );
    let trees = handler.tree_set(config.partitions);
    let data_dir = config.store_dir(definition.name);
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let cache = config.cache_mb * 1024 * 1024;
    let previous_dir = location::resolve(&data_dir)?;
    let previous = Store::open(&data_dir, cache, trees.names)
        .context("the store is in use: stop the service first")?;
    let previous = (!previous.is_new()).then_some(previous);
    if let Some(previous) = &previous {
        let backlog = previous.outbox_len();
        anyhow::ensure!(
            backlog == 0,
            "{} still has {backlog} unpublished events in its outbox: start it until `shopctl status` \
             shows an empty outbox, stop it, then rebuild",
            definition.name
        );
    }
    let client = nats::connect(config, &format!("{}-rebuild", definition.name)).await?;
    let js = nats::jetstream(client);
    let applied = Applied {
        floors: ack_floors(&js, config, definition.name, handler.consumes()).await?,
        previous: previous.clone(),
        consumes: handler.consumes(),
        subjects: config.prefix.clone(),
    };
    let started = Instant::now();
    let types = read_types(handler.as_ref());
    let stamp = Timestamp::now().unix_millis();
    let fresh = location::new_generation(&data_dir, stamp);
    let store = Store::open_for_rebuild(&fresh, cache, trees)?;
    if let Some(previous) = &previous {
        let copied = store.copy_trees(previous, trees.local)?;
        let timers = store.copy_timers(previous)?;
        tracing::info!(copied, timers, local = ?trees.local, "local trees and pending timers carried over");
    }
    let (count, pending) = fold_streams(&js, config, &types, &store, handler, applied).await?;
    store.flush().await?;
    let seconds = started.elapsed().as_secs_f64();
    // the digest is for checking the result, not part of the work it measures
    let digest = store.digest()?;
    drop(store);
    drop(previous);
    location::swap_in(&data_dir, &fresh)
        .with_context(|| format!("cannot make {} the store in use", fresh.display()))?;
    Ok(RebuildReport {
        events: count,
        pending,
        seconds,
        digest,
        store: fresh,
        previous: Some(previous_dir),
    })
}

/// The event types a rebuild reads: those the service folds, and those it consumes (to mark
/// them applied, or leave them pending).
pub(crate) fn read_types(handler: &dyn Handler) -> Vec<EventType> {
    let mut types = handler.folds().to_vec();
    for consumed in handler.consumes() {
        if !types.contains(consumed) {
            types.push(*consumed);
        }
    }
    types
}

/// Which consumed events the service had applied before it stopped: those at or below its
/// durable consumer's ack floor, and those its previous store's inbox holds. The others are
/// still pending on the consumer: the rebuild leaves them (neither folded nor marked), and
/// the service applies them when it starts again.
struct Applied {
    floors: HashMap<String, u64>,
    previous: Option<Store>,
    consumes: &'static [EventType],
    subjects: events::Subjects,
}

impl Applied {
    fn keep(&self, incoming: &Incoming) -> bool {
        let event_type = incoming.envelope.event_type;
        if !self.consumes.contains(&event_type) {
            return true;
        }
        let stream = events::stream::event_stream(&self.subjects, event_type.context()).name;
        let floor = self.floors.get(&stream).copied().unwrap_or(0);
        incoming.stream_sequence <= floor
            || self.previous.as_ref().is_some_and(|previous| {
                previous
                    .inbox_contains(&incoming.envelope.event_id)
                    .unwrap_or(false)
            })
    }
}

/// Each stream's ack floor of the service's durable consumer (none yet: 0).
pub(crate) async fn ack_floors(
    js: &jetstream::Context,
    config: &RuntimeConfig,
    durable: &str,
    consumes: &[EventType],
) -> anyhow::Result<HashMap<String, u64>> {
    let mut floors = HashMap::new();
    for spec in consumer_specs(durable, consumes, &config.prefix) {
        let stream = js
            .get_stream(&spec.stream)
            .await
            .with_context(|| format!("no stream {}", spec.stream))?;
        if let Ok(info) = stream.consumer_info(durable).await {
            floors.insert(spec.stream.clone(), info.ack_floor.stream_sequence);
        }
    }
    Ok(floors)
}

/// Reads the events and folds them batch by batch on a blocking thread while reading goes
/// on; returns how many were folded and how many were left pending.
async fn fold_streams(
    js: &jetstream::Context,
    config: &RuntimeConfig,
    types: &[EventType],
    store: &Store,
    handler: Arc<dyn Handler>,
    applied: Applied,
) -> anyhow::Result<(usize, usize)> {
    let (sender, mut receiver) = mpsc::channel::<Vec<Incoming>>(4);
    let store = store.clone();
    let folding = tokio::task::spawn_blocking(move || {
        let mut seen = std::collections::HashSet::new();
        let mut pending = 0;
        while let Some(mut batch) = receiver.blocking_recv() {
            // an event re-published after the duplicate window is in a stream twice
            batch.retain(|incoming| seen.insert(incoming.envelope.event_id.clone()));
            let before = batch.len();
            batch.retain(|incoming| applied.keep(incoming));
            pending += before - batch.len();
            store.fold_batch(handler.as_ref(), &batch)?;
        }
        Ok::<_, StoreError>(pending)
    });
    let read = read_events(js, config, types, sender).await;
    let pending = folding.await.context("fold task failed")??;
    let count = read?;
    Ok((count - pending, pending))
}

/// `<service> --rebuild`: rebuild, print the report, exit.
pub async fn run<S: Service>(config: RuntimeConfig, settings: S::Settings) -> anyhow::Result<()> {
    let definition = S::DEFINITION;
    let report = rebuild::<S>(&config, settings).await?;
    println!(
        "rebuilt {} from {} events ({} pending, applied at the next start) in {:.2} s ({:.0} events/s); digest {:016x}; store {}{}",
        definition.name,
        report.events,
        report.pending,
        report.seconds,
        report.rate(),
        report.digest,
        report.store.display(),
        report
            .previous
            .map(|p| format!(" (previous store kept at {})", p.display()))
            .unwrap_or_default()
    );
    Ok(())
}
