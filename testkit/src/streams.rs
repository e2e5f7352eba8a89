//! Reading the streams back: message counts, every stored message (or those of one key), the
//! distinct event ids, whether consumers have caught up, and delivering everything again.

use std::collections::{BTreeMap, HashSet};
use std::future::IntoFuture;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use async_nats::jetstream::{self, consumer::DeliverPolicy};
use events::{Envelope, EventType, Subjects, header};
use futures::StreamExt;
use runtime::auth::Identity;
use runtime::nats::Tls;
use runtime::nats::reader::{Dial, Read, StreamReader};

/// How long reading a stream waits for its next stored message before giving up.
const NEXT_MESSAGE: Duration = Duration::from_secs(10);

/// Number of messages in a stream (0 if there is no such stream).
pub async fn message_count(js: &jetstream::Context, stream: &str) -> u64 {
    match js.get_stream(stream).await {
        Ok(mut stream) => stream
            .info()
            .await
            .map(|info| info.state.messages)
            .unwrap_or(0),
        Err(_) => 0,
    }
}

/// Events in a stream: its messages but the partition claim records among them
/// (`<prefix>.<context>._partition.<index>`, docs/scaling.md).
pub async fn event_count(js: &jetstream::Context, stream: &str) -> u64 {
    let Ok(stream) = js.get_stream(stream).await else {
        return 0;
    };
    let Ok(mut info) = stream.info_with_subjects("*.*._partition.*").await else {
        return 0;
    };
    let mut claims = 0;
    while let Some(Ok((_, count))) = info.next().await {
        claims += count as u64;
    }
    info.info.state.messages - claims
}

/// Events and dead letters in every stream of the contract under `subjects` (partition claim
/// records are not counted: they are not events).
pub async fn total_events(js: &jetstream::Context, subjects: &Subjects) -> u64 {
    let mut total = 0;
    for spec in events::stream::all_streams(subjects) {
        total += event_count(js, &spec.name).await;
    }
    total
}

/// Every message of a stream, oldest first (none if there is no such stream).
pub async fn read_stream(js: &jetstream::Context, stream: &str) -> Vec<async_nats::Message> {
    if message_count(js, stream).await == 0 {
        return Vec::new();
    }
    read_filtered(js, stream, None).await
}

/// The messages of a stream on subjects matching `filter` (all if `None`), oldest first: as
/// many as the stream held when the read began. Read as the operator commands read (an ordered
/// consumer on a connection of its own, see `runtime::nats::reader`), so a stored message
/// async-nats cannot read is skipped (and said on stderr) instead of stalling the read.
pub async fn read_filtered(
    js: &jetstream::Context,
    stream: &str,
    filter: Option<String>,
) -> Vec<async_nats::Message> {
    let filters = filter.into_iter().collect();
    let mut reader = StreamReader::open(
        js,
        own_connection(js),
        stream,
        filters,
        DeliverPolicy::All,
        true,
    )
    .await
    .unwrap_or_else(|error| panic!("reading {stream}: {error:#}"));
    let mut out = Vec::new();
    loop {
        match tokio::time::timeout(NEXT_MESSAGE, reader.next()).await {
            Ok(Ok(Some(Read::Message(message)))) => out.push(message.message),
            Ok(Ok(Some(Read::Skipped(stored, reason)))) => {
                eprintln!(
                    "reading {stream}: skipped sequence {}: {reason}",
                    stored.sequence
                );
            }
            Ok(Ok(None)) => return out,
            Ok(Err(error)) => panic!(
                "reading {stream} failed after {} messages: {error:#}",
                out.len()
            ),
            Err(_) => panic!("reading {stream} stalled after {} messages", out.len()),
        }
    }
}

/// The admin's seed file (and the TLS to use) per broker port, for readers on a secured bed.
static READER_CREDENTIALS: std::sync::Mutex<BTreeMap<u16, (PathBuf, Tls)>> =
    std::sync::Mutex::new(BTreeMap::new());

/// Readers of streams on the broker at `port` connect with this seed (a secured bed's admin)
/// and these TLS settings.
pub(crate) fn register_reader_credentials(port: u16, seed: &Path, tls: &Tls) {
    let mut credentials = READER_CREDENTIALS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    credentials.insert(port, (seed.to_path_buf(), tls.clone()));
}

/// The admin's seed registered for the broker at `port` (a secured bed), if any.
pub(crate) fn registered_seed(port: u16) -> Option<PathBuf> {
    READER_CREDENTIALS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&port)
        .map(|(seed, _)| seed.clone())
}

/// Connections of a reader's own to the broker `js` talks to (always on this machine), as
/// the bed's admin when the broker checks credentials.
fn own_connection(js: &jetstream::Context) -> Dial {
    let port = js.client().server_info().port;
    let seed = READER_CREDENTIALS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&port)
        .cloned();
    Arc::new(move || {
        let seed = seed.clone();
        Box::pin(async move {
            let url = format!("nats://127.0.0.1:{port}");
            let mut options = async_nats::ConnectOptions::new();
            if let Some((seed, tls)) = seed {
                let key = runtime::auth::load_seed(&seed)?;
                options = runtime::nats::with_tls(options, &tls)
                    .nkey(key.seed()?)
                    .custom_inbox_prefix(Identity::Admin.inbox_prefix());
            }
            Ok(options.connect(url).await?)
        })
    })
}

/// The value of a header of a stored message.
pub fn header_of<'a>(message: &'a async_nats::Message, name: &str) -> Option<&'a str> {
    runtime::nats::header(message.headers.as_ref(), name)
}

/// Whether a stored message's `Shop-Event-Type` header is `event_type`.
pub fn is_type(message: &async_nats::Message, event_type: EventType) -> bool {
    header_of(message, header::EVENT_TYPE) == Some(event_type.as_str())
}

/// The distinct event ids in a stream.
pub async fn distinct_event_ids(js: &jetstream::Context, stream: &str) -> HashSet<String> {
    read_stream(js, stream)
        .await
        .iter()
        .filter_map(|message| header_of(message, header::EVENT_ID).map(str::to_owned))
        .collect()
}

/// Every event about one key (an order id, a sku, …) from every context stream, with its
/// subject, oldest first.
pub async fn events_with_key(
    js: &jetstream::Context,
    subjects: &Subjects,
    key: &str,
) -> Vec<(Envelope, String)> {
    let mut found = Vec::new();
    for context in events::Context::ALL {
        let stream = events::stream::event_stream(subjects, context).name;
        let filter = format!("{}.{context}.*.{key}", subjects.prefix());
        for message in read_filtered(js, &stream, Some(filter)).await {
            let envelope = Envelope::from_headers(|name| header_of(&message, name))
                .expect("every event has an envelope");
            found.push((envelope, message.subject.to_string()));
        }
    }
    found.sort_by(|(a, _), (b, _)| {
        a.occurred_at
            .cmp(&b.occurred_at)
            .then(a.event_id.cmp(&b.event_id))
    });
    found
}

/// Publishes every event of every context stream again: same event id, new `Nats-Msg-Id` (as
/// happens after the duplicate window), so each is in its stream twice. Returns how many.
pub async fn republish_everything(js: &jetstream::Context, subjects: &Subjects) -> usize {
    let mut republished = 0;
    for context in events::Context::ALL {
        let stream = events::stream::event_stream(subjects, context).name;
        for message in read_filtered(js, &stream, None).await {
            if subjects.is_partition_claim(&message.subject) {
                continue; // not an event
            }
            // as a replay does: without the conditions the original was stored under
            let mut headers = runtime::nats::copy_headers(message.headers.as_ref(), true);
            let id = header_of(&message, header::EVENT_ID)
                .expect("event id")
                .to_owned();
            headers.insert(header::NATS_MSG_ID, format!("{id}-again"));
            let ack = js
                .publish_with_headers(message.subject.clone(), headers, message.payload.clone())
                .await
                .expect("publish");
            ack.into_future().await.expect("ack");
            republished += 1;
        }
    }
    republished
}

/// Whether the durable consumer `durable` of `stream` has been delivered at least `delivered`
/// stream messages and has nothing pending or waiting for an ack.
pub async fn consumer_idle(
    js: &jetstream::Context,
    stream: &str,
    durable: &str,
    delivered: u64,
) -> bool {
    let Ok(stream) = js.get_stream(stream).await else {
        return false;
    };
    match stream.consumer_info(durable).await {
        Ok(info) => {
            info.num_pending == 0
                && info.num_ack_pending == 0
                && info.delivered.stream_sequence >= delivered
        }
        Err(_) => false,
    }
}

/// Whether every durable consumer of every stream under `subjects` has nothing pending or
/// waiting for an ack (one look; a consumer being listed while it is created counts as busy).
pub async fn consumers_idle(js: &jetstream::Context, subjects: &Subjects) -> bool {
    for spec in events::stream::all_streams(subjects) {
        let Ok(mut stream) = js.get_stream(&spec.name).await else {
            return false;
        };
        let Ok(info) = stream.info().await else {
            return false;
        };
        let count = info.state.consumer_count;
        let mut consumers = stream.consumers();
        let mut seen = 0;
        while let Some(consumer) = consumers.next().await {
            let Ok(consumer) = consumer else { return false };
            seen += 1;
            // ephemeral readers (ordered consumers of tests and tools) are not the shop's work
            let durable = consumer.config.durable_name.is_some();
            if durable && (consumer.num_pending > 0 || consumer.num_ack_pending > 0) {
                return false;
            }
        }
        if seen < count {
            return false;
        }
    }
    true
}

/// Makes `stream` refuse every new message, as a full stream that discards new ones does
/// (`refuse`), or accept them again without a limit.
pub async fn refuse_writes(js: &jetstream::Context, stream: &str, refuse: bool) {
    let mut handle = js.get_stream(stream).await.expect("stream");
    let info = handle.info().await.expect("stream info").clone();
    let mut config = info.config;
    if refuse {
        config.max_messages = i64::try_from(info.state.messages).expect("count").max(1);
        config.discard = jetstream::stream::DiscardPolicy::New;
    } else {
        config.max_messages = -1;
        config.discard = jetstream::stream::DiscardPolicy::Old;
    }
    js.update_stream(config).await.expect("update stream");
}
