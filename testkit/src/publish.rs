//! Putting events on the streams as a producer would: one new root envelope per event, its
//! subject from the contract, and many acks in flight with retries under the same
//! `Nats-Msg-Id` (so a retry is never stored twice).

use std::future::IntoFuture;
use std::time::Duration;

use async_nats::jetstream;
use events::{Envelope, Event, Subjects, Timestamp, codec};
use futures::StreamExt;
use futures::stream::FuturesUnordered;

/// How many times [`publish_all`] sends what has not been stored yet.
const ATTEMPTS: usize = 200;

/// An event ready to publish: subject, headers (with `Nats-Msg-Id`), payload. A test may
/// spoil any of them first.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub subject: String,
    pub headers: async_nats::HeaderMap,
    pub payload: Vec<u8>,
}

impl Outgoing {
    /// `event` as `producer` publishes it, under a new root envelope.
    pub fn new(subjects: &Subjects, event: &Event, producer: &str) -> Outgoing {
        let envelope = Envelope::new(event.event_type(), Timestamp::now(), producer, event.key());
        let headers = runtime::nats::header_map(
            envelope
                .to_headers()
                .iter()
                .map(|(name, value)| (*name, value.as_str())),
        );
        Outgoing {
            subject: subjects.for_event(event).expect("subject"),
            headers,
            payload: codec::encode(event).expect("encode"),
        }
    }
}

/// `event` as the producer `test` publishes it.
pub fn outgoing(subjects: &Subjects, event: &Event) -> Outgoing {
    Outgoing::new(subjects, event, "test")
}

/// Publishes `event` as `producer` would, straight to its stream, and waits for the ack.
pub async fn publish_event(
    js: &jetstream::Context,
    subjects: &Subjects,
    event: &Event,
    producer: &str,
) {
    publish_all(js, &[Outgoing::new(subjects, event, producer)]).await;
}

/// Publishes every message through JetStream, many acks in flight, retrying failures with the
/// same headers (so the same `Nats-Msg-Id`) until each is stored; panics if some never is.
pub async fn publish_all(js: &jetstream::Context, messages: &[Outgoing]) {
    for chunk in messages.chunks(500) {
        let mut remaining: Vec<&Outgoing> = chunk.iter().collect();
        for _attempt in 0..ATTEMPTS {
            remaining = publish_once(js, remaining).await;
            if remaining.is_empty() {
                break;
            }
            // a broker restarting or a stream still being created: try the rest again
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            remaining.is_empty(),
            "{} messages were never stored, e.g. on {}",
            remaining.len(),
            remaining[0].subject
        );
    }
}

/// Sends every message once, all acks in flight; returns those that were not stored.
async fn publish_once<'a>(
    js: &jetstream::Context,
    messages: Vec<&'a Outgoing>,
) -> Vec<&'a Outgoing> {
    let mut acks = FuturesUnordered::new();
    for message in messages {
        let publish = js.publish_with_headers(
            message.subject.clone(),
            message.headers.clone(),
            message.payload.clone().into(),
        );
        acks.push(async move {
            match publish.await {
                Ok(ack) => ack.into_future().await.map(|_| ()).map_err(|_| message),
                Err(_) => Err(message),
            }
        });
    }
    let mut failed = Vec::new();
    while let Some(result) = acks.next().await {
        if let Err(message) = result {
            failed.push(message);
        }
    }
    failed
}
