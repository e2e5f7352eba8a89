//! Reading a stream in order — for the operator commands and rebuilds — past the messages
//! async-nats cannot read (see [`raw`](super::raw)).
//!
//! An ordered consumer delivers the messages, on a connection of the reader's own, so that a
//! message that breaks that connection breaks nothing else. When the consumer stalls after its
//! connection dropped, or the connection's task died, the next stored message is read raw (on
//! the caller's connection, which such a message never reaches): one whose header block does
//! not parse comes back as [`Read::Skipped`] with the reason, and the consumer starts again
//! behind it (on a new connection if the old one died).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, consumer::DeliverPolicy, consumer::pull::OrderedConfig};
use futures::StreamExt;
use futures::future::BoxFuture;

use super::raw::{self, RawStored};

/// How a reader opens a connection of its own.
pub type Dial =
    Arc<dyn Fn() -> BoxFuture<'static, anyhow::Result<async_nats::Client>> + Send + Sync>;

/// A [`Dial`] that hands out `client` itself: a message that kills its connection's task
/// ends the read with an error instead of being skipped (for tools on a throwaway broker).
pub fn shared(client: async_nats::Client) -> Dial {
    Arc::new(move || {
        let client = client.clone();
        Box::pin(async move { Ok(client) })
    })
}

/// How long the consumer may deliver nothing before the reader looks at its connection.
const STALL: Duration = Duration::from_millis(250);

/// Raw reads in a row that may fail (a broker still coming back) before the read gives up.
const RAW_READ_ATTEMPTS: u32 = 40;

/// What a read returns next.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "nearly every read is a message: boxing it would allocate once per message"
)]
pub enum Read {
    Message(jetstream::Message),
    /// A stored message async-nats cannot read, and why; the read goes on behind it.
    Skipped(RawStored, String),
}

/// An ordered read of one stream on some subject filters.
pub struct StreamReader {
    /// The caller's connection: stream lookups and raw reads.
    js: jetstream::Context,
    /// Opens the consumer's connection.
    dial: Dial,
    stream: String,
    filters: Vec<String>,
    next_sequence: u64,
    /// A bounded read ends at the last message stored when it began.
    end: Option<u64>,
    done: bool,
    /// The reader's connection and its connect count when last looked at.
    connection: Option<(async_nats::Client, u64)>,
    messages: Option<jetstream::consumer::pull::Ordered>,
    /// The connection dropped or died: the next stored message must be looked at raw.
    suspect: bool,
    failed_raw_reads: u32,
}

impl std::fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamReader")
            .field("stream", &self.stream)
            .field("filters", &self.filters)
            .field("next_sequence", &self.next_sequence)
            .finish_non_exhaustive()
    }
}

impl StreamReader {
    /// Reads `stream` on `filters` (all of it if none) from `deliver`: what it holds now if
    /// `bounded`, else on and on as messages arrive. The consumer runs on a connection from
    /// `dial`; `js` looks up the stream and reads raw.
    pub async fn open(
        js: &jetstream::Context,
        dial: Dial,
        stream: &str,
        filters: Vec<String>,
        deliver: DeliverPolicy,
        bounded: bool,
    ) -> anyhow::Result<StreamReader> {
        let mut reader = StreamReader {
            js: js.clone(),
            dial,
            stream: stream.to_owned(),
            filters,
            next_sequence: 1,
            end: None,
            done: false,
            connection: None,
            messages: None,
            suspect: false,
            failed_raw_reads: 0,
        };
        let handle = js.get_stream(stream).await;
        let handle = handle.with_context(|| format!("no stream {stream}"))?;
        if bounded {
            reader.end = Some(handle.cached_info().state.last_sequence);
        }
        let first = reader.start(deliver).await?;
        reader.next_sequence = first;
        Ok(reader)
    }

    /// Whether a bounded read is through.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The next message or skipped message; `None` once a bounded read is through.
    pub async fn next(&mut self) -> anyhow::Result<Option<Read>> {
        while !self.done {
            if self.suspect {
                if let Some(skipped) = self.look_raw().await? {
                    return Ok(Some(skipped));
                }
                continue;
            }
            if self.messages.is_none() {
                let from = DeliverPolicy::ByStartSequence {
                    start_sequence: self.next_sequence,
                };
                self.start(from).await?;
                continue;
            }
            let Some(messages) = self.messages.as_mut() else {
                continue;
            };
            match tokio::time::timeout(STALL, messages.next()).await {
                Ok(Some(Ok(message))) => return self.delivered(message).map(Some),
                Ok(Some(Err(error))) => {
                    tracing::debug!(stream = %self.stream, %error, "ordered read interrupted; starting again");
                    self.messages = None;
                }
                Ok(None) => {
                    // the connection's task is gone (async-nats panicked on a message)
                    self.messages = None;
                    self.connection = None;
                    self.suspect = true;
                }
                Err(_stalled) => {
                    if self.reconnected() {
                        self.messages = None;
                        self.suspect = true;
                    }
                }
            }
        }
        Ok(None)
    }

    fn delivered(&mut self, message: jetstream::Message) -> anyhow::Result<Read> {
        let info = message.info().map_err(|error| anyhow::anyhow!("{error}"))?;
        self.next_sequence = info.stream_sequence + 1;
        if self
            .end
            .is_some_and(|end| info.pending == 0 || info.stream_sequence >= end)
        {
            self.done = true;
        }
        Ok(Read::Message(message))
    }

    /// Starts an ordered consumer at `deliver`; returns the first sequence it can deliver.
    async fn start(&mut self, deliver: DeliverPolicy) -> anyhow::Result<u64> {
        let js = self.consumer_connection().await?;
        // named: a name lets the broker tell a reader's consumers from the services' durables
        // (an operator may create the one kind and not the other)
        let inbox = js.client().new_inbox();
        let unique = inbox.rsplit('.').next().unwrap_or("0");
        let config = OrderedConfig {
            name: Some(format!("reader_{unique}")),
            filter_subjects: self.filters.clone(),
            deliver_policy: deliver,
            ..Default::default()
        };
        let consumer = js
            .get_stream(&self.stream)
            .await
            .with_context(|| format!("no stream {}", self.stream))?
            .create_consumer(config)
            .await
            .with_context(|| format!("failed to read {}", self.stream))?;
        let info = consumer.cached_info();
        let first = info.delivered.stream_sequence + 1;
        if self
            .end
            .is_some_and(|end| info.num_pending == 0 || first > end)
        {
            self.done = true;
            return Ok(first);
        }
        self.messages = Some(consumer.messages().await?);
        Ok(first)
    }

    /// Reads the next stored message raw: skipped if async-nats cannot read it.
    async fn look_raw(&mut self) -> anyhow::Result<Option<Read>> {
        let found =
            raw::next_stored_on_any(&self.js, &self.stream, self.next_sequence, &self.filters)
                .await;
        let stored = match found {
            Ok(stored) => stored,
            Err(error) => {
                self.failed_raw_reads += 1;
                if self.failed_raw_reads >= RAW_READ_ATTEMPTS {
                    return Err(error);
                }
                tracing::debug!(stream = %self.stream, error = %format!("{error:#}"), "raw read failed; trying again");
                tokio::time::sleep(STALL).await;
                return Ok(None);
            }
        };
        self.failed_raw_reads = 0;
        self.suspect = false;
        let Some(stored) = stored else {
            self.done |= self.end.is_some();
            return Ok(None);
        };
        if self.end.is_some_and(|end| stored.sequence > end) {
            self.done = true;
            return Ok(None);
        }
        let Some(reason) = stored.unreadable() else {
            // an ordinary drop: the consumer starts again where it was
            return Ok(None);
        };
        self.next_sequence = stored.sequence + 1;
        if self.end.is_some_and(|end| stored.sequence >= end) {
            self.done = true;
        }
        Ok(Some(Read::Skipped(stored, reason)))
    }

    /// A JetStream context on the consumer's connection, dialled if there is none.
    async fn consumer_connection(&mut self) -> anyhow::Result<jetstream::Context> {
        let client = match &self.connection {
            Some((client, _)) => client.clone(),
            None => {
                let client = (self.dial)().await?;
                let connects = client.statistics().connects.load(Ordering::Relaxed);
                self.connection = Some((client.clone(), connects));
                client
            }
        };
        Ok(super::jetstream(client))
    }

    /// Whether the connection reconnected since the last look.
    fn reconnected(&mut self) -> bool {
        let Some((client, seen)) = &mut self.connection else {
            return false;
        };
        let connects = client.statistics().connects.load(Ordering::Relaxed);
        std::mem::replace(seen, connects) != connects
    }
}
