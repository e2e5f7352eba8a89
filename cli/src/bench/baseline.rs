//! The raw baseline: the shop's topology (its streams, its services' durable consumers with
//! their filters and ack settings, every event an order produces, each published by the
//! service that publishes it in reply to the event that causes it) as plain JetStream relays:
//! no decoding, no store, no handler. Each relay reads the event type header, publishes the
//! recorded replies (same subjects, headers and payload sizes, a fresh `Nats-Msg-Id` each),
//! and acks its input once their publish acks arrived. Relays are pipelined (many inputs in
//! flight at once, on a connection per durable), as a relay tuned for this broker would be.
//!
//! They run on a runtime of their own, whose threads' CPU time is what the baseline costs
//! besides the broker's.

use std::future::IntoFuture;
use std::sync::{Arc, Mutex};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, message::PublishMessage};
use events::{Subjects, header};
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::procs::{Probe, current_thread_id};
use super::topology::{Published, Topology};

/// Inputs a relay has in flight (published, awaiting publish acks, not yet acked).
const IN_FLIGHT: usize = 4096;
/// Messages per pull request.
const PULL_BATCH: usize = 256;

/// The baseline's relays, running.
pub(crate) struct Baseline {
    runtime: Option<tokio::runtime::Runtime>,
    threads: Arc<Mutex<Vec<u32>>>,
}

impl std::fmt::Debug for Baseline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Baseline").finish_non_exhaustive()
    }
}

/// A new connection for a relay.
pub(crate) type Dial = Arc<
    dyn Fn() -> futures::future::BoxFuture<'static, anyhow::Result<async_nats::Client>>
        + Send
        + Sync,
>;

impl Baseline {
    /// Creates the streams of `subjects` and the topology's durables on them, and starts a
    /// relay per durable and the responder to `orders.place`.
    pub(crate) async fn start(
        dial: Dial,
        subjects: &Subjects,
        topology: &Topology,
    ) -> anyhow::Result<Baseline> {
        let admin = dial().await?;
        let js = jetstream::new(admin.clone());
        runtime::nats::ensure_streams(&js, subjects, 1).await?;
        let from = topology_prefix(topology);
        let mut consumers = Vec::new();
        for (context, config) in &topology.durables {
            let mut config = config.clone();
            config.filter_subjects = config
                .filter_subjects
                .iter()
                .map(|filter| swap_prefix(filter, &from, subjects.prefix()))
                .collect();
            config.filter_subject = swap_prefix(&config.filter_subject, &from, subjects.prefix());
            let stream = events::stream::event_stream(subjects, *context).name;
            let consumer = js
                .get_stream(&stream)
                .await?
                .create_consumer(config)
                .await?;
            consumers.push(consumer);
        }
        let threads = Arc::new(Mutex::new(Vec::new()));
        let recorded = threads.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("baseline")
            .on_thread_start(move || {
                if let Some(tid) = current_thread_id() {
                    recorded.lock().unwrap_or_else(|e| e.into_inner()).push(tid);
                }
            })
            .enable_all()
            .build()?;
        let prefix = subjects.prefix().to_owned();
        let replies = Arc::new(topology.replies.clone());
        for consumer in consumers {
            let service = consumer.cached_info().name.clone();
            let client = dial().await?;
            let relay = relay(client, consumer, service, prefix.clone(), replies.clone());
            runtime.spawn(async move {
                if let Err(error) = relay.await {
                    eprintln!("baseline relay stopped: {error:#}");
                }
            });
        }
        let client = dial().await?;
        let place = subjects
            .api("orders", "place")
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        let mut requests = client.subscribe(place).await?;
        client.flush().await?;
        let placed = topology.placed.clone();
        runtime.spawn(async move {
            let js = jetstream::new(client.clone());
            let mut answering = FuturesUnordered::new();
            loop {
                tokio::select! {
                    Some(request) = requests.next() => {
                        answering.push(answer(&js, &client, request, &placed, &prefix));
                    }
                    Some(()) = answering.next(), if !answering.is_empty() => {}
                    else => break,
                }
            }
        });
        Ok(Baseline {
            runtime: Some(runtime),
            threads,
        })
    }

    /// The relays' threads, for their CPU time.
    pub(crate) fn probe(&self) -> Probe {
        let threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        Probe::threads("baseline relays", &threads)
    }

    pub(crate) fn stop(mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Baseline {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The header the baseline's place request carries its order id in (it decodes nothing).
pub(crate) const ORDER_ID_HEADER: &str = "Bench-Order-Id";

/// Answers one place request: publishes what placing publishes, then replies.
async fn answer(
    js: &jetstream::Context,
    client: &async_nats::Client,
    request: async_nats::Message,
    placed: &[Published],
    prefix: &str,
) {
    let order_id = request
        .headers
        .as_ref()
        .and_then(|headers| headers.get(ORDER_ID_HEADER))
        .map(|value| value.as_str().to_owned())
        .unwrap_or_default();
    let mut acks = Vec::with_capacity(placed.len());
    for event in placed {
        if let Ok(ack) = publish(js, event, prefix, &order_id).await {
            acks.push(ack.into_future());
        }
    }
    let published = futures::future::join_all(acks).await;
    if let Some(reply) = request.reply {
        let answer = if published.iter().all(Result::is_ok) {
            request.payload
        } else {
            bytes::Bytes::from_static(b"failed")
        };
        let _ = client.publish(reply, answer).await;
    }
}

async fn publish(
    js: &jetstream::Context,
    event: &Published,
    prefix: &str,
    key: &str,
) -> anyhow::Result<jetstream::context::PublishAckFuture> {
    let mut headers = HeaderMap::new();
    for (name, value) in &event.headers {
        if name != header::NATS_MSG_ID && !header::is_condition(name) {
            headers.insert(name.as_str(), value.as_str());
        }
    }
    let message = PublishMessage::build()
        .payload(event.payload.clone())
        .headers(headers)
        .message_id(events::new_event_id());
    Ok(js.send_publish(event.subject(prefix, key), message).await?)
}

/// One service's durable as a relay: publish the replies to each input, ack it once they
/// are stored.
async fn relay(
    client: async_nats::Client,
    consumer: jetstream::consumer::PullConsumer,
    service: String,
    prefix: String,
    replies: Arc<std::collections::BTreeMap<(String, String), Vec<Published>>>,
) -> anyhow::Result<()> {
    let js = jetstream::new(client);
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(PULL_BATCH)
        .messages()
        .await?;
    let mut in_flight = FuturesUnordered::new();
    loop {
        tokio::select! {
            next = messages.next(), if in_flight.len() < IN_FLIGHT => {
                let Some(message) = next else { return Ok(()) };
                let Ok(message) = message else { continue };
                let event_type = message
                    .headers
                    .as_ref()
                    .and_then(|headers| headers.get(header::EVENT_TYPE))
                    .map(|value| value.as_str().to_owned())
                    .unwrap_or_default();
                let key = message.subject.rsplit('.').next().unwrap_or_default().to_owned();
                let mut acks = Vec::new();
                for event in replies.get(&(service.clone(), event_type)).into_iter().flatten() {
                    acks.push(publish(&js, event, &prefix, &key).await?.into_future());
                }
                in_flight.push(async move {
                    let stored = futures::future::try_join_all(acks).await;
                    if stored.is_ok() {
                        let _ = message.ack().await;
                    }
                });
            }
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
        }
    }
}

/// The prefix the topology was learned under (its durables' filters start with it).
fn topology_prefix(topology: &Topology) -> String {
    topology
        .durables
        .iter()
        .flat_map(|(_, config)| config.filter_subjects.iter())
        .find_map(|filter| filter.split_once('.').map(|(prefix, _)| prefix.to_owned()))
        .unwrap_or_default()
}

fn swap_prefix(subject: &str, from: &str, to: &str) -> String {
    match subject
        .strip_prefix(from)
        .and_then(|rest| rest.strip_prefix('.'))
    {
        Some(rest) => format!("{to}.{rest}"),
        None => subject.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::swap_prefix;

    #[test]
    fn only_a_leading_prefix_is_swapped() {
        assert_eq!(
            swap_prefix("bench.orders.placed.*", "bench", "raw1"),
            "raw1.orders.placed.*"
        );
        assert_eq!(
            swap_prefix("benchx.orders.*", "bench", "raw1"),
            "benchx.orders.*"
        );
        assert_eq!(swap_prefix("", "bench", "raw1"), "");
    }
}
