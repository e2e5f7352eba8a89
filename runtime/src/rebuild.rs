//! Rebuilding a service's store from the streams: read every event the service's state is
//! made of, fold them in causal order into a fresh directory with the handler's `evolve`,
//! then swap the new store in (the old one is kept beside it). The service must be stopped:
//! sled lets one process at a time open a store.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream::{self, consumer::pull::OrderedConfig};
use futures::StreamExt;

use events::{Envelope, EventType, Timestamp, codec};

use crate::app::ServiceDefinition;
use crate::config::RuntimeConfig;
use crate::handler::{Handler, Incoming};
use crate::nats;
use crate::store::Store;

/// What a rebuild did.
#[derive(Debug, Clone)]
pub struct RebuildReport {
    pub events: usize,
    pub seconds: f64,
    /// The digest of the rebuilt trees (see `Handler::rebuilt_trees`).
    pub digest: u64,
    /// The store now in use, and where the previous one was moved.
    pub store: PathBuf,
    pub previous: Option<PathBuf>,
}

impl RebuildReport {
    pub fn rate(&self) -> f64 {
        self.events as f64 / self.seconds.max(1e-9)
    }
}

/// Every event of `types` in the shop's streams, decoded, in causal order.
pub async fn read_events(
    js: &jetstream::Context,
    config: &RuntimeConfig,
    types: &[EventType],
) -> anyhow::Result<Vec<Incoming>> {
    let subjects = &config.prefix;
    let mut by_stream: HashMap<String, Vec<String>> = HashMap::new();
    for event_type in types {
        let stream = events::stream::event_stream(subjects, event_type.context()).name;
        by_stream
            .entry(stream)
            .or_default()
            .push(subjects.event_type_filter(*event_type));
    }
    let mut incoming = Vec::new();
    for (stream, filters) in by_stream {
        let handle = js
            .get_stream(&stream)
            .await
            .with_context(|| format!("no stream {stream}"))?;
        let consumer = handle
            .create_consumer(OrderedConfig {
                filter_subjects: filters,
                ..Default::default()
            })
            .await?;
        let mut remaining = consumer.cached_info().num_pending;
        if remaining == 0 {
            continue;
        }
        let mut messages = consumer.messages().await?;
        while remaining > 0 {
            let Ok(Some(message)) =
                tokio::time::timeout(Duration::from_secs(30), messages.next()).await
            else {
                anyhow::bail!("reading {stream} stopped with {remaining} messages left");
            };
            let message = message?;
            let info = message.info().map_err(|error| anyhow::anyhow!("{error}"))?;
            remaining = info.pending;
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
                Ok((envelope, event)) => incoming.push(Incoming {
                    now: envelope.occurred_at,
                    envelope,
                    event,
                    subject: message.subject.to_string(),
                    stream_sequence: info.stream_sequence,
                }),
                // it was dead-lettered when it was live; it is not part of any state
                Err(reason) => {
                    tracing::warn!(subject = %message.subject, %reason, "skipping an undecodable message")
                }
            }
        }
    }
    Ok(causal_order(incoming))
}

/// Sorts by occurred-at; among events of the same millisecond, causes first.
pub fn causal_order(mut events: Vec<Incoming>) -> Vec<Incoming> {
    let causes: HashMap<String, Option<String>> = events
        .iter()
        .map(|e| (e.envelope.event_id.clone(), e.envelope.causation_id.clone()))
        .collect();
    let depth = |id: &str| {
        let mut depth = 0usize;
        let mut current = causes.get(id).cloned().flatten();
        while let Some(cause) = current {
            depth += 1;
            if depth > 64 {
                break;
            }
            current = causes.get(&cause).cloned().flatten();
        }
        depth
    };
    let keys: Vec<(Timestamp, usize)> = events
        .iter()
        .map(|e| (e.envelope.occurred_at, depth(&e.envelope.event_id)))
        .collect();
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|index| keys[*index]);
    let mut slots: Vec<Option<Incoming>> = events.drain(..).map(Some).collect();
    order
        .into_iter()
        .filter_map(|index| slots[index].take())
        .collect()
}

/// Rebuilds the store of a stopped service and swaps it in.
pub async fn rebuild(
    config: &RuntimeConfig,
    definition: ServiceDefinition,
    handler: Arc<dyn Handler>,
) -> anyhow::Result<RebuildReport> {
    let rebuild_from = handler.rebuild_from();
    anyhow::ensure!(
        !rebuild_from.is_empty(),
        "{} cannot be rebuilt from the streams",
        definition.name
    );
    let live = config.store_dir(definition.name);
    let cache = config.cache_mb * 1024 * 1024;
    if live.exists() {
        drop(
            Store::open(&live, cache, &handler.trees())
                .context("the store is in use: stop the service first")?,
        );
    }
    let client = nats::connect(config, &format!("{}-rebuild", definition.name)).await?;
    let js = nats::jetstream(client);
    let started = Instant::now();
    let mut types = rebuild_from;
    for consumed in handler.consumes() {
        if !types.contains(&consumed) {
            types.push(consumed);
        }
    }
    let incoming = read_events(&js, config, &types).await?;
    let stamp = Timestamp::now().unix_millis();
    let fresh = PathBuf::from(format!("{}.rebuild-{stamp}", live.display()));
    let store = Store::open(&fresh, cache, &handler.trees())?;
    let count = incoming.len();
    for batch in incoming.chunks(1024) {
        let (store, handler, batch) = (store.clone(), handler.clone(), batch.to_vec());
        tokio::task::spawn_blocking(move || store.evolve_batch(handler.as_ref(), &batch)).await??;
    }
    store.flush().await?;
    let digest = store.digest_of(&handler.rebuilt_trees())?;
    let seconds = started.elapsed().as_secs_f64();
    drop(store);
    let previous = if live.exists() {
        let previous = PathBuf::from(format!("{}.previous-{stamp}", live.display()));
        std::fs::rename(&live, &previous)
            .with_context(|| format!("cannot move {} aside", live.display()))?;
        Some(previous)
    } else {
        None
    };
    std::fs::rename(&fresh, &live)
        .with_context(|| format!("cannot move the rebuilt store to {}", live.display()))?;
    Ok(RebuildReport {
        events: count,
        seconds,
        digest,
        store: live,
        previous,
    })
}

/// `<service> --rebuild`: rebuild, print the report, exit.
pub async fn run(
    config: RuntimeConfig,
    definition: ServiceDefinition,
    handler: Arc<dyn Handler>,
) -> anyhow::Result<()> {
    let report = rebuild(&config, definition, handler).await?;
    println!(
        "rebuilt {} from {} events in {:.2} s ({:.0} events/s); digest {:016x}; store {}{}",
        definition.name,
        report.events,
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
