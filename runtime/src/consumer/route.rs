//! Where a decoded event goes (docs/scaling.md, "How an event reaches its owner"): handled
//! here for a partition this instance holds, or forwarded unchanged to the intake subject of
//! the partition's owner, or both (reference data every instance applies).

use std::future::IntoFuture;

use anyhow::Context as _;
use async_nats::jetstream::{self, message::PublishMessage};
use events::partition::Partition;
use events::{Event, header};
use futures::future::try_join_all;

use async_nats::jetstream::AckKind;

use super::{ConsumeContext, Pulled, ack};
use crate::handler::{Incoming, Route};

/// What to do with one event.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Placement {
    /// Handle it here, for this partition under this claim (`None`: reference data), once
    /// copies went to the owners of `forward`.
    Here {
        partition: Option<(Partition, u64)>,
        forward: Vec<Partition>,
    },
    /// Only forward it: another instance owns its partition.
    Elsewhere(Vec<Partition>),
    /// It came through the intake of a partition this instance no longer holds: leave it
    /// there for the owner (nak).
    NotMine,
}

impl ConsumeContext {
    /// `<prefix>.intake.`: a message on such a subject is a forwarded copy.
    pub(super) fn intake_prefix(&self) -> String {
        format!(
            "{}.{}.",
            self.producer.subjects.prefix(),
            events::subject::INTAKE_TOKEN
        )
    }

    /// Where `event` goes; `intake` is the partition whose intake it came through, if any.
    pub(super) fn place(&self, event: &Event, intake: Option<Partition>) -> Placement {
        if let Some(partition) = intake {
            return match self.held.lease(partition) {
                Some(lease) => Placement::Here {
                    partition: Some((partition, lease.claim())),
                    forward: Vec::new(),
                },
                None => Placement::NotMine,
            };
        }
        let route = self.handler.route(event);
        let targets = route.partitions(self.config.partitions);
        let (mine, others): (Vec<Partition>, Vec<Partition>) =
            targets.into_iter().partition(|p| self.held.owns(*p));
        match route {
            Route::Everywhere => Placement::Here {
                partition: None,
                forward: others,
            },
            Route::Key(_) => match mine.first().and_then(|p| self.held.lease(*p)) {
                Some(lease) => Placement::Here {
                    partition: Some((lease.partition(), lease.claim())),
                    forward: Vec::new(),
                },
                None => Placement::Elsewhere(others),
            },
        }
    }

    /// Keeps the events whose partition's lease still counts as held, under the claim they were
    /// placed with; naks the others.
    pub(super) async fn still_held(
        &self,
        accepted: Vec<Pulled>,
        incoming: Vec<Incoming>,
    ) -> (Vec<Pulled>, Vec<Incoming>) {
        let mut kept = (
            Vec::with_capacity(accepted.len()),
            Vec::with_capacity(incoming.len()),
        );
        for (pulled, event) in accepted.into_iter().zip(incoming) {
            let held = match event.partition {
                None => true,
                Some((partition, claim)) => self
                    .held
                    .lease(partition)
                    .is_some_and(|lease| lease.claim() == claim),
            };
            if held {
                kept.0.push(pulled);
                kept.1.push(event);
            } else {
                tracing::info!(partition = ?event.partition, "partition lost before the commit; left for its new owner");
                ack(&pulled.message, AckKind::Nak(Some(super::HANDOVER_DELAY))).await;
            }
        }
        kept
    }

    /// Publishes a copy of `message` to the intake of each partition in `to` and waits for
    /// the broker to store them. Each copy keeps the original's headers and payload, with its
    /// subject in `Shop-Subject` and `Nats-Msg-Id` = `<event id>.<partition>`, so a copy
    /// forwarded again after a crash is dropped as a duplicate.
    pub(super) async fn forward(
        &self,
        message: &jetstream::Message,
        event_id: &str,
        to: &[Partition],
    ) -> anyhow::Result<()> {
        let mut acks = Vec::with_capacity(to.len());
        for partition in to {
            let mut headers = crate::nats::copy_headers(message.headers.as_ref(), true);
            headers.insert(header::FORWARDED_SUBJECT, message.subject.as_str());
            headers.insert(
                header::NATS_MSG_ID,
                format!("{event_id}.{partition}").as_str(),
            );
            let subject = self
                .producer
                .subjects
                .intake(&self.producer.name, *partition);
            let publish = PublishMessage::build()
                .payload(message.payload.clone())
                .headers(headers);
            let ack = self
                .js
                .send_publish(subject, publish)
                .await
                .with_context(|| format!("forward to partition {partition}"))?;
            acks.push(ack.into_future());
        }
        try_join_all(acks)
            .await
            .context("the broker did not store a forwarded event")?;
        self.stats.record_forwarded(to.len() as u64);
        Ok(())
    }
}
