//! The shape of the saga as the running shop has it, for the raw baseline to copy: learned
//! from one real order (every event published about it, and which event caused which) and
//! from the durable consumers provisioned on the shop's streams. Nothing here is written by
//! hand, so the baseline follows the shop when a service starts consuming or emitting
//! something new.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use bytes::Bytes;
use events::{Context, Subjects, header};
use futures::{StreamExt, TryStreamExt};

use crate::supervisor::SERVICES;

/// An event as published: subject (without prefix and key), headers and payload bytes.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    /// `<context>.<event name>`.
    pub(crate) kind: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) payload: Bytes,
}

impl Published {
    /// The subject of this event for order `key` in the shop of `prefix`.
    pub(crate) fn subject(&self, prefix: &str, key: &str) -> String {
        format!("{prefix}.{}.{key}", self.kind)
    }
}

/// What the shop does for one order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Topology {
    /// What the place request publishes.
    pub(crate) placed: Vec<Published>,
    /// (service, event type it consumed) → the events it published in reply.
    pub(crate) replies: BTreeMap<(String, String), Vec<Published>>,
    /// Every durable consumer of a service: its stream's context and its configuration.
    pub(crate) durables: Vec<(Context, pull::Config)>,
}

/// Watches order `order_id` while `place` places it, until it completed and nothing more
/// arrived for a second; then reads the services' durables from the streams.
pub(crate) async fn learn(
    client: &async_nats::Client,
    subjects: &Subjects,
    order_id: &str,
    place: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<Topology> {
    let prefix = subjects.prefix();
    let mut seen = client.subscribe(format!("{prefix}.*.*.{order_id}")).await?;
    client.flush().await?;
    place.await?;
    let mut messages = Vec::new();
    let mut completed = false;
    loop {
        let quiet = if completed {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(30)
        };
        match tokio::time::timeout(quiet, seen.next()).await {
            Ok(Some(message)) => {
                completed |= message.subject.as_str().contains(".orders.completed.");
                messages.push(message);
            }
            Ok(None) => anyhow::bail!("the subscription ended while learning the topology"),
            Err(_) if completed => break,
            Err(_) => anyhow::bail!("the sample order {order_id} did not complete within 30 s"),
        }
    }
    let mut topology = from_messages(prefix, &messages)?;
    topology.durables = durables(&jetstream::new(client.clone()), subjects).await?;
    Ok(topology)
}

/// Builds the replies from an order's messages: an event is a reply of its producer to the
/// event its causation id names; one whose cause is not among them was placed directly.
fn from_messages(prefix: &str, messages: &[async_nats::Message]) -> anyhow::Result<Topology> {
    let header_of = |message: &async_nats::Message, name: &str| {
        message
            .headers
            .as_ref()
            .and_then(|headers| headers.get(name))
            .map(|value| value.as_str().to_owned())
    };
    let type_by_id: BTreeMap<String, String> = messages
        .iter()
        .filter_map(|m| {
            Some((
                header_of(m, header::EVENT_ID)?,
                header_of(m, header::EVENT_TYPE)?,
            ))
        })
        .collect();
    let mut topology = Topology::default();
    for message in messages {
        let kind = message
            .subject
            .as_str()
            .strip_prefix(&format!("{prefix}."))
            .and_then(|rest| rest.rsplit_once('.'))
            .map(|(kind, _key)| kind.to_owned())
            .ok_or_else(|| anyhow::anyhow!("unexpected subject {}", message.subject))?;
        let headers = message
            .headers
            .iter()
            .flat_map(|headers| headers.iter())
            .flat_map(|(name, values)| {
                values
                    .iter()
                    .map(move |value| (name.to_string(), value.as_str().to_owned()))
            })
            .collect();
        let published = Published {
            kind,
            headers,
            payload: message.payload.clone(),
        };
        let cause = header_of(message, header::CAUSATION_ID).and_then(|id| type_by_id.get(&id));
        match (cause, header_of(message, header::PRODUCER)) {
            (Some(cause), Some(producer)) => topology
                .replies
                .entry((producer, cause.clone()))
                .or_default()
                .push(published),
            _ => topology.placed.push(published),
        }
    }
    anyhow::ensure!(
        !topology.placed.is_empty(),
        "the sample order published nothing"
    );
    Ok(topology)
}

/// The services' durable consumers on the shop's streams (other consumers are not the shop's).
async fn durables(
    js: &jetstream::Context,
    subjects: &Subjects,
) -> anyhow::Result<Vec<(Context, pull::Config)>> {
    let mut found = Vec::new();
    for context in Context::ALL {
        let name = events::stream::event_stream(subjects, context).name;
        let stream = js.get_stream(&name).await?;
        let infos: Vec<_> = stream.consumers().try_collect().await?;
        for info in infos {
            if SERVICES.contains(&info.name.as_str()) {
                let config = info.config;
                found.push((
                    context,
                    pull::Config {
                        durable_name: config.durable_name,
                        filter_subjects: config.filter_subjects,
                        filter_subject: config.filter_subject,
                        deliver_policy: config.deliver_policy,
                        ack_policy: config.ack_policy,
                        ack_wait: config.ack_wait,
                        max_deliver: config.max_deliver,
                        max_ack_pending: config.max_ack_pending,
                        ..Default::default()
                    },
                ));
            }
        }
    }
    Ok(found)
}
