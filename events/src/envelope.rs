//! The envelope: an event's metadata, carried in NATS headers so operators and other teams can
//! route and filter without decoding the payload.
//!
//! Headers are plain name/value pairs here; the runtime maps them onto async-nats.

use std::fmt;
use std::str::FromStr;

use crate::ids::new_event_id;
use crate::traceparent::TraceParent;
use crate::validate::is_subject_token;
use crate::{EventType, Timestamp};

/// Header names. NATS header names are case-sensitive: use them exactly as written.
pub mod header {
    /// JetStream's de-duplication id; always equal to the event id.
    pub const NATS_MSG_ID: &str = "Nats-Msg-Id";
    pub const EVENT_ID: &str = "Shop-Event-Id";
    /// `<context>.<event>`, e.g. `orders.placed`.
    pub const EVENT_TYPE: &str = "Shop-Event-Type";
    pub const SCHEMA_VERSION: &str = "Shop-Schema-Version";
    /// RFC 3339 UTC with milliseconds.
    pub const OCCURRED_AT: &str = "Shop-Occurred-At";
    /// The flow this event belongs to: the order id for everything about an order.
    pub const CORRELATION_ID: &str = "Shop-Correlation-Id";
    /// The event id of the event that caused this one (absent for API-initiated events).
    pub const CAUSATION_ID: &str = "Shop-Causation-Id";
    /// The service that published the event.
    pub const PRODUCER: &str = "Shop-Producer";
    /// W3C trace context.
    pub const TRACEPARENT: &str = "traceparent";

    /// Why a message was dead-lettered.
    pub const DLQ_REASON: &str = "Shop-Dlq-Reason";
    /// The subject the message was originally published on.
    pub const DLQ_SUBJECT: &str = "Shop-Dlq-Subject";
    /// The stream and sequence it was read from.
    pub const DLQ_STREAM: &str = "Shop-Dlq-Stream";
    pub const DLQ_SEQUENCE: &str = "Shop-Dlq-Sequence";
    /// The service (durable consumer) that gave up on it.
    pub const DLQ_CONSUMER: &str = "Shop-Dlq-Consumer";
    /// How many times it was delivered before it was dead-lettered.
    pub const DLQ_DELIVERIES: &str = "Shop-Dlq-Deliveries";
    pub const DLQ_FAILED_AT: &str = "Shop-Dlq-Failed-At";
    /// Conditions of a publish (`Nats-Expected-Last-Subject-Sequence`, `…-Subject`, and the
    /// other `Nats-Expected-*`): JetStream checks them when it stores a message, and keeps them
    /// with it. A tool that publishes a stored message again drops them (see [`is_condition`]).
    pub const EXPECTED_PREFIX: &str = "Nats-Expected-";

    /// Whether `name` is a publish condition, which is not copied when a message is re-published.
    pub fn is_condition(name: &str) -> bool {
        name.starts_with(EXPECTED_PREFIX)
    }

    /// On a message forwarded to a partition's owner (`<prefix>.intake.<service>.<index>`):
    /// the subject it was published on.
    pub const FORWARDED_SUBJECT: &str = "Shop-Subject";
}

/// Why headers do not form a valid envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("missing header {0}")]
    Missing(&'static str),
    #[error("header {name} has an invalid value {value:?}: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
    #[error("unknown event type {0:?}")]
    UnknownEventType(String),
}

/// An event's metadata. `event_id` doubles as `Nats-Msg-Id`, so JetStream drops re-publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// A UUIDv7 for events we produce; any subject-token-safe string is accepted.
    pub event_id: String,
    pub event_type: EventType,
    pub schema_version: u32,
    pub occurred_at: Timestamp,
    pub correlation_id: String,
    pub causation_id: Option<String>,
    pub producer: String,
    pub traceparent: Option<TraceParent>,
}

impl Envelope {
    /// The envelope of a new event with no cause (e.g. started by an API call).
    pub fn new(
        event_type: EventType,
        occurred_at: Timestamp,
        producer: &str,
        correlation_id: &str,
    ) -> Self {
        Envelope {
            event_id: new_event_id(),
            event_type,
            schema_version: event_type.schema_version(),
            occurred_at,
            correlation_id: correlation_id.to_owned(),
            causation_id: None,
            producer: producer.to_owned(),
            traceparent: None,
        }
    }

    /// The envelope of an event caused by `cause`: same correlation, causation = the cause's
    /// id, and a child span of the cause's trace (or a new trace if it had none).
    pub fn caused_by(
        cause: &Envelope,
        event_type: EventType,
        occurred_at: Timestamp,
        producer: &str,
    ) -> Self {
        let traceparent = match &cause.traceparent {
            Some(parent) => parent.child(),
            None => TraceParent::new_root(),
        };
        Envelope {
            causation_id: Some(cause.event_id.clone()),
            traceparent: Some(traceparent),
            ..Envelope::new(event_type, occurred_at, producer, &cause.correlation_id)
        }
    }

    /// The headers to publish, `Nats-Msg-Id` included.
    pub fn to_headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            (header::NATS_MSG_ID, self.event_id.clone()),
            (header::EVENT_ID, self.event_id.clone()),
            (header::EVENT_TYPE, self.event_type.as_str().to_owned()),
            (header::SCHEMA_VERSION, self.schema_version.to_string()),
            (header::OCCURRED_AT, self.occurred_at.to_string()),
            (header::CORRELATION_ID, self.correlation_id.clone()),
            (header::PRODUCER, self.producer.clone()),
        ];
        if let Some(causation_id) = &self.causation_id {
            headers.push((header::CAUSATION_ID, causation_id.clone()));
        }
        if let Some(traceparent) = &self.traceparent {
            headers.push((header::TRACEPARENT, traceparent.to_string()));
        }
        headers
    }

    /// Reads an envelope from headers; `get` returns a header's (first) value.
    ///
    /// The event id comes from `Shop-Event-Id`, or `Nats-Msg-Id` when a foreign producer set
    /// only that. Any schema version from 1 up is accepted: versions only ever add optional
    /// fields (a breaking change is a new event name).
    pub fn from_headers<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, EnvelopeError> {
        let required = |name: &'static str| get(name).ok_or(EnvelopeError::Missing(name));
        let event_id = get(header::EVENT_ID)
            .or_else(|| get(header::NATS_MSG_ID))
            .ok_or(EnvelopeError::Missing(header::EVENT_ID))?;
        let event_type = required(header::EVENT_TYPE)?;
        let event_type = event_type
            .parse::<EventType>()
            .map_err(|_| EnvelopeError::UnknownEventType(event_type.to_owned()))?;
        let schema_version =
            parse_header(header::SCHEMA_VERSION, required(header::SCHEMA_VERSION)?)?;
        if schema_version == 0 {
            return Err(invalid(header::SCHEMA_VERSION, "0", "versions start at 1"));
        }
        let envelope = Envelope {
            event_id: token_header(header::EVENT_ID, event_id)?,
            event_type,
            schema_version,
            occurred_at: parse_header(header::OCCURRED_AT, required(header::OCCURRED_AT)?)?,
            correlation_id: token_header(
                header::CORRELATION_ID,
                required(header::CORRELATION_ID)?,
            )?,
            causation_id: get(header::CAUSATION_ID)
                .map(|value| token_header(header::CAUSATION_ID, value))
                .transpose()?,
            producer: required(header::PRODUCER)?.to_owned(),
            // Trace context is advisory: an unreadable one starts a new trace instead of
            // rejecting the event (W3C asks readers to be lenient).
            traceparent: get(header::TRACEPARENT).and_then(|value| value.parse().ok()),
        };
        Ok(envelope)
    }
}

fn invalid(name: &'static str, value: &str, reason: impl ToString) -> EnvelopeError {
    EnvelopeError::Invalid {
        name,
        value: value.to_owned(),
        reason: reason.to_string(),
    }
}

fn parse_header<T: FromStr>(name: &'static str, value: &str) -> Result<T, EnvelopeError>
where
    T::Err: fmt::Display,
{
    value.parse().map_err(|error| invalid(name, value, error))
}

fn token_header(name: &'static str, value: &str) -> Result<String, EnvelopeError> {
    if is_subject_token(value) {
        Ok(value.to_owned())
    } else {
        Err(invalid(
            name,
            value,
            "must be 1-128 printable ASCII characters without '.', '*', '>'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(headers: &'a [(&'static str, String)]) -> impl Fn(&str) -> Option<&'a str> {
        move |name| {
            headers
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.as_str())
        }
    }

    #[test]
    fn headers_round_trip() {
        let placed = Envelope::new(
            EventType::OrderPlaced,
            Timestamp::UNIX_EPOCH,
            "orders",
            "o-1",
        );
        let reserved = Envelope::caused_by(
            &placed,
            EventType::StockReserved,
            Timestamp::UNIX_EPOCH,
            "inventory",
        );
        let headers = reserved.to_headers();
        assert_eq!(
            Envelope::from_headers(lookup(&headers)),
            Ok(reserved.clone())
        );
        assert_eq!(
            reserved.causation_id.as_deref(),
            Some(placed.event_id.as_str())
        );
        assert_eq!(reserved.correlation_id, "o-1");
        let msg_id = headers
            .iter()
            .find(|(name, _)| *name == header::NATS_MSG_ID)
            .unwrap();
        assert_eq!(msg_id.1, reserved.event_id);
    }

    #[test]
    fn event_ids_are_unique_time_ordered_uuid_v7() {
        let ids: Vec<String> = (0..10_000).map(|_| new_event_id()).collect();
        for id in &ids {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(parsed.get_version_num(), 7);
            assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
        }
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        let first_ms = uuid::Uuid::parse_str(&ids[0])
            .unwrap()
            .get_timestamp()
            .unwrap()
            .to_unix();
        let last_ms = uuid::Uuid::parse_str(&ids[9_999])
            .unwrap()
            .get_timestamp()
            .unwrap()
            .to_unix();
        assert!(first_ms <= last_ms);
    }

    #[test]
    fn missing_or_bad_headers_are_named() {
        let envelope = Envelope::new(
            EventType::OrderPlaced,
            Timestamp::UNIX_EPOCH,
            "orders",
            "o-1",
        );
        let without = |name: &str| -> Vec<(&'static str, String)> {
            envelope
                .to_headers()
                .into_iter()
                .filter(|(key, _)| *key != name)
                .collect()
        };
        let no_id: Vec<_> = without(header::EVENT_ID)
            .into_iter()
            .filter(|(k, _)| *k != header::NATS_MSG_ID)
            .collect();
        assert_eq!(
            Envelope::from_headers(lookup(&no_id)),
            Err(EnvelopeError::Missing(header::EVENT_ID))
        );
        // a foreign producer that only sets Nats-Msg-Id is fine
        assert!(Envelope::from_headers(lookup(&without(header::EVENT_ID))).is_ok());
        let mut unknown = envelope.to_headers();
        unknown[2].1 = "orders.teleported".into();
        assert_eq!(
            Envelope::from_headers(lookup(&unknown)),
            Err(EnvelopeError::UnknownEventType("orders.teleported".into()))
        );
        let mut bad_trace = envelope.to_headers();
        bad_trace.push((header::TRACEPARENT, "01-future-version".into()));
        assert_eq!(
            Envelope::from_headers(lookup(&bad_trace)).map(|e| e.traceparent),
            Ok(None)
        );
        let mut bad_time = envelope.to_headers();
        bad_time[4].1 = "yesterday".into();
        assert!(matches!(
            Envelope::from_headers(lookup(&bad_time)),
            Err(EnvelopeError::Invalid { .. })
        ));
    }
}
