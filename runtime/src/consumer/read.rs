//! Taking a pulled message apart: its delivery metadata, its envelope and payload (the
//! subject it was published on, for a forwarded copy), the history its service asks for.

use std::time::Duration;

use async_nats::jetstream::{self, AckKind};
use events::partition::Partition;
use events::{Envelope, Timestamp, codec, header};

use super::{ConsumeContext, ConsumerSpec, Pulled, ack};
use crate::handler::Incoming;
use crate::nats;

impl ConsumeContext {
    /// Forwards `pulled` to the owners of `to`; whether it may go on (a failed forward is
    /// nak'ed with a delay, and forwarded again when it comes back).
    pub(super) async fn forwarded(
        &self,
        pulled: &Pulled,
        event: &Incoming,
        to: &[Partition],
    ) -> bool {
        if to.is_empty() {
            return true;
        }
        let event_id = event.envelope.event_id.to_string();
        match self.forward(&pulled.message, &event_id, to).await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "could not forward an event to its partition's owner; retrying");
                ack(&pulled.message, AckKind::Nak(Some(Duration::from_secs(1)))).await;
                false
            }
        }
    }

    pub(super) fn pulled(
        &self,
        message: jetstream::Message,
        spec: &ConsumerSpec,
    ) -> Option<Pulled> {
        let (stream_sequence, deliveries, pending) = match message.info() {
            Ok(info) => (info.stream_sequence, info.delivered, info.pending),
            Err(error) => {
                tracing::warn!(%error, "message without JetStream metadata; skipped");
                return None;
            }
        };
        match spec.partition {
            Some(partition) => self
                .stats
                .set_consumer_lag(&format!("{}/{partition}", spec.stream), pending),
            None => self.stats.set_consumer_lag(&spec.stream, pending),
        }
        Some(Pulled {
            message,
            stream_sequence,
            deliveries,
        })
    }

    /// Reads the envelope and the payload; the error is the dead-letter reason.
    pub(super) fn decode(&self, pulled: &Pulled, now: Timestamp) -> Result<Incoming, String> {
        let message = &pulled.message;
        let headers = message.headers.as_ref();
        let envelope = Envelope::from_headers(|name| nats::header(headers, name))
            .map_err(|error| format!("bad envelope: {error}"))?;
        // a forwarded copy carries the subject it was published on
        let original = nats::header(headers, header::FORWARDED_SUBJECT)
            .filter(|_| message.subject.starts_with(&self.intake_prefix()))
            .unwrap_or(message.subject.as_str());
        let subject = self
            .producer
            .subjects
            .parse(original)
            .map_err(|error| error.to_string())?;
        if subject.event_type != envelope.event_type {
            return Err(format!(
                "subject says {} but {} says {}",
                subject.event_type,
                header::EVENT_TYPE,
                envelope.event_type
            ));
        }
        let event = codec::decode_typed(
            envelope.event_type,
            &message.payload,
            self.config.max_payload_bytes,
        )
        .map_err(|error| error.to_string())?;
        if event.key() != subject.key {
            return Err(format!(
                "subject key {:?} does not match payload key {:?}",
                subject.key,
                event.key()
            ));
        }
        Ok(Incoming {
            envelope,
            event,
            subject: original.to_owned(),
            stream_sequence: pulled.stream_sequence,
            now,
            history: Vec::new(),
            partition: None,
        })
    }

    /// Reads the history the service asks for with this event, if it asks for one; the
    /// error is the reason to try again later.
    pub(super) async fn with_history(&self, incoming: &mut Incoming) -> Result<(), String> {
        if !self
            .handler
            .history()
            .on
            .contains(&incoming.envelope.event_type)
        {
            return Ok(());
        }
        let key = incoming.event.key().to_owned();
        incoming.history = self
            .history
            .read(&key)
            .await
            .map_err(|error| format!("could not read the history of {key}: {error:#}"))?;
        Ok(())
    }
}
