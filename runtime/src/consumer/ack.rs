//! Acknowledging what a batch applied: after its events are published.

use std::time::Duration;

use async_nats::jetstream::{self, AckKind};

use super::{ConsumeContext, Pulled};
use crate::store::Store;

impl ConsumeContext {
    pub(super) async fn ack_when_published(
        &self,
        row: u64,
        applied: Vec<(AckKind, jetstream::Message)>,
    ) {
        ack_when_published(self.store.clone(), self.publish_wait(), row, applied).await;
    }

    /// How long an applied message waits for its batch's events to be published before it is
    /// left unacknowledged (redelivered after `ack_wait`, and dropped then by the inbox).
    pub(super) fn publish_wait(&self) -> Duration {
        self.config.ack_wait() / 2
    }

    /// `Ack`, unless the redelivery failpoint asks for a nak of this first delivery.
    pub(super) fn ack_kind(&self, pulled: &Pulled) -> AckKind {
        let every = self.config.failpoint_redeliver_every;
        if every > 0 && pulled.deliveries == 1 && pulled.stream_sequence.is_multiple_of(every) {
            AckKind::Nak(Some(Duration::from_millis(100)))
        } else {
            AckKind::Ack
        }
    }
}

/// Acks `applied` once outbox row `row` is published; leaves them for redelivery if it is not
/// within `wait`.
pub(super) async fn ack_when_published(
    store: Store,
    wait: Duration,
    row: u64,
    applied: Vec<(AckKind, jetstream::Message)>,
) {
    if store.wait_published(row, wait).await {
        for (kind, message) in applied {
            ack(&message, kind).await;
        }
    } else {
        tracing::warn!(
            messages = applied.len(),
            "a batch's events are not published yet: its messages are left to be redelivered"
        );
    }
}

pub(crate) async fn ack(message: &jetstream::Message, kind: AckKind) {
    // A lost ack means a redelivery, which the inbox absorbs: log it and move on.
    if let Err(error) = message.ack_with(kind).await {
        tracing::warn!(%error, "failed to send ack");
    }
}
