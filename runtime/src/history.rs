//! An entity's history read back from the streams, for a service that needs the story of an
//! order only now and then (support, when a ticket opens) and should not consume every event
//! of every order to keep it (DESIGN.md §6: every delivery costs the broker twice).
//!
//! The events with one key are `<prefix>.<context>.*.<key>` on each context's stream; the
//! reader asks `$JS.API.STREAM.MSG.GET` for the next one on that filter until there is none
//! (a few round trips per event; JetStream's per-subject index finds them without a scan).
//! Raw reads never hand a bad header block to async-nats (see [`raw`](crate::nats::raw)): a
//! message that cannot be read or decoded was dead-lettered when it was live, and is left out
//! here with a warning.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_nats::jetstream;
use events::{Context, Envelope, Event, EventType, Subjects, codec};

use crate::nats::{self, raw};

/// One stored event: its envelope and its decoded payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub envelope: Envelope,
    pub event: Event,
}

/// What history a service's `decide` needs: when an event of a type in `on` arrives, the
/// runtime reads the stored events of the types in `of` with the same key and hands them over
/// in [`Incoming::history`](crate::Incoming::history), oldest first.
#[derive(Debug, Clone, Copy)]
pub struct History {
    pub on: &'static [EventType],
    pub of: &'static [EventType],
}

impl History {
    /// No history (most services).
    pub const NONE: History = History { on: &[], of: &[] };

    /// The streams the history is read from.
    pub fn contexts(&self) -> BTreeSet<Context> {
        self.of
            .iter()
            .map(|event_type| event_type.context())
            .collect()
    }
}

/// Where a service's history comes from: the broker's streams, or (in scenario tests) a list
/// of events given by the test.
#[derive(Clone)]
pub(crate) enum HistorySource {
    Streams(Arc<Streams>),
    Given(Arc<Vec<Recorded>>),
}

/// The broker's streams, and what to read there.
pub(crate) struct Streams {
    pub(crate) js: jetstream::Context,
    pub(crate) subjects: Subjects,
    pub(crate) history: History,
    pub(crate) max_payload_bytes: usize,
}

impl std::fmt::Debug for HistorySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HistorySource::Streams(streams) => f
                .debug_struct("Streams")
                .field("history", &streams.history)
                .finish(),
            HistorySource::Given(events) => f.debug_tuple("Given").field(&events.len()).finish(),
        }
    }
}

impl HistorySource {
    /// The stored events with `key` of the history's types, oldest first (by the time they
    /// say they happened; events of one stream keep their stream order on a tie).
    pub(crate) async fn read(&self, key: &str) -> anyhow::Result<Vec<Recorded>> {
        let mut found = match self {
            HistorySource::Given(events) => events
                .iter()
                .filter(|recorded| recorded.event.key() == key)
                .cloned()
                .collect(),
            HistorySource::Streams(streams) => {
                let Streams {
                    js,
                    subjects,
                    history,
                    max_payload_bytes,
                } = streams.as_ref();
                let mut found = Vec::new();
                for context in history.contexts() {
                    let read = read_stream(js, subjects, context, key, *max_payload_bytes).await?;
                    found.extend(
                        read.into_iter()
                            .filter(|recorded| history.of.contains(&recorded.envelope.event_type)),
                    );
                }
                found
            }
        };
        found.sort_by_key(|recorded| recorded.envelope.occurred_at);
        Ok(found)
    }
}

/// Every readable event with `key` on `context`'s stream, in stream order.
async fn read_stream(
    js: &jetstream::Context,
    subjects: &Subjects,
    context: Context,
    key: &str,
    max_payload_bytes: usize,
) -> anyhow::Result<Vec<Recorded>> {
    let stream = events::stream::event_stream(subjects, context).name;
    let filter = format!("{}.{}.*.{key}", subjects.prefix(), context.as_str());
    let mut found = Vec::new();
    let mut from = 1;
    while let Some(stored) = raw::next_stored(js, &stream, from, &filter).await? {
        from = stored.sequence + 1;
        match decode(&stored, max_payload_bytes) {
            Ok(recorded) => found.push(recorded),
            Err(reason) => {
                tracing::warn!(%stream, sequence = stored.sequence, %reason, "left out of a history")
            }
        }
    }
    Ok(found)
}

fn decode(stored: &raw::RawStored, max_payload_bytes: usize) -> Result<Recorded, String> {
    if let Some(reason) = stored.unreadable() {
        return Err(reason);
    }
    let headers = Some(stored.readable_headers());
    let envelope = Envelope::from_headers(|name| nats::header(headers.as_ref(), name))
        .map_err(|error| format!("bad envelope: {error}"))?;
    let event = codec::decode_typed(envelope.event_type, &stored.payload, max_payload_bytes)
        .map_err(|error| error.to_string())?;
    Ok(Recorded { envelope, event })
}
