//! The one MessagePack codec. Every payload is a map with field names
//! (`rmp_serde::to_vec_named`), so readers in any language see named fields and old readers
//! survive added ones. Decoding never panics: every failure is a [`DecodeError`].

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Event, EventType, InvalidField};

/// The default upper bound for one payload: larger payloads are rejected before decoding.
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// How deeply maps and arrays may nest in a payload. Our payloads need three levels; the
/// bound leaves room for foreign extensions while keeping a hostile payload from exhausting
/// the stack (rmp-serde's own default of 1024 overflows a 2 MiB thread stack in debug builds).
pub const MAX_NESTING_DEPTH: usize = 32;

/// Why a value could not be encoded (only for values that serde cannot express as MessagePack).
#[derive(Debug, thiserror::Error)]
#[error("failed to encode payload as MessagePack: {0}")]
pub struct EncodeError(#[from] rmp_serde::encode::Error);

/// Why a payload could not be turned into an event. The text is what the dead-letter stream
/// records as the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty payload")]
    Empty,
    #[error("payload of {size} bytes is larger than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("unknown event type {0:?}")]
    UnknownEventType(String),
    #[error("malformed {event_type} payload: {reason}")]
    Malformed {
        event_type: EventType,
        reason: String,
    },
    #[error("invalid {event_type} payload: {reason}")]
    Invalid {
        event_type: EventType,
        reason: InvalidField,
    },
}

/// Encodes any serializable value as a MessagePack map (structs keep their field names).
/// Same bytes as `rmp_serde::to_vec_named`, into a buffer sized for a typical event up front.
pub fn to_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, EncodeError> {
    let mut buffer = Vec::with_capacity(512);
    value.serialize(&mut rmp_serde::Serializer::new(&mut buffer).with_struct_map())?;
    Ok(buffer)
}

/// Decodes a value written by [`to_bytes`]. For stored state and API messages; events go
/// through [`decode`], which also checks the contract's rules.
pub fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, rmp_serde::decode::Error> {
    let mut deserializer = rmp_serde::Deserializer::from_read_ref(bytes);
    deserializer.set_max_depth(MAX_NESTING_DEPTH);
    T::deserialize(&mut deserializer)
}

/// The name a unit enum value has on the wire (`insufficient_stock`), for messages and logs.
pub fn wire_name<T: Serialize>(value: &T) -> String {
    to_bytes(value)
        .ok()
        .and_then(|bytes| from_bytes::<String>(&bytes).ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Encodes an event's payload.
pub fn encode(event: &Event) -> Result<Vec<u8>, EncodeError> {
    to_bytes(event)
}

/// Decodes the payload of an event whose type name (the `Shop-Event-Type` header) is known,
/// with the default size limit.
pub fn decode(event_type: &str, payload: &[u8]) -> Result<Event, DecodeError> {
    decode_with_limit(event_type, payload, DEFAULT_MAX_PAYLOAD_BYTES)
}

/// Decodes a payload, rejecting anything larger than `max_payload_bytes` before reading it.
pub fn decode_with_limit(
    event_type: &str,
    payload: &[u8],
    max_payload_bytes: usize,
) -> Result<Event, DecodeError> {
    let event_type = event_type
        .parse::<EventType>()
        .map_err(|_| DecodeError::UnknownEventType(event_type.to_owned()))?;
    decode_typed(event_type, payload, max_payload_bytes)
}

/// Decodes a payload of a known [`EventType`].
pub fn decode_typed(
    event_type: EventType,
    payload: &[u8],
    max_payload_bytes: usize,
) -> Result<Event, DecodeError> {
    if payload.is_empty() {
        return Err(DecodeError::Empty);
    }
    if payload.len() > max_payload_bytes {
        return Err(DecodeError::TooLarge {
            size: payload.len(),
            limit: max_payload_bytes,
        });
    }
    let mut deserializer = rmp_serde::Deserializer::from_read_ref(payload);
    deserializer.set_max_depth(MAX_NESTING_DEPTH);
    let event = event_type
        .deserialize_payload(&mut deserializer)
        .map_err(|error| DecodeError::Malformed {
            event_type,
            reason: error.to_string(),
        })?;
    event
        .validate()
        .map_err(|reason| DecodeError::Invalid { event_type, reason })?;
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;

    #[test]
    fn payloads_are_maps_with_field_names() {
        let placed = samples::order_placed();
        let bytes = encode(&placed).unwrap();
        // fixmap (0x8_) with 5 entries, then the first key as a fixstr
        assert_eq!(bytes[0], 0x85);
        assert_eq!(&bytes[2..10], b"order_id");
    }

    #[test]
    fn each_failure_has_its_own_error() {
        let placed = encode(&samples::order_placed()).unwrap();
        assert_eq!(decode("orders.placed", &[]), Err(DecodeError::Empty));
        assert!(matches!(
            decode("orders.teleported", &placed),
            Err(DecodeError::UnknownEventType(_))
        ));
        assert!(matches!(
            decode_with_limit("orders.placed", &placed, 10),
            Err(DecodeError::TooLarge { limit: 10, .. })
        ));
        assert!(matches!(
            decode("orders.placed", &placed[..placed.len() / 2]),
            Err(DecodeError::Malformed { .. })
        ));
        // a valid payload of another type lacks required fields
        let restocked = encode(&samples::restocked()).unwrap();
        assert!(matches!(
            decode("orders.placed", &restocked),
            Err(DecodeError::Malformed { .. })
        ));
    }

    #[test]
    fn rule_violations_are_invalid_not_malformed() {
        let mut placed = samples::order_placed_payload();
        placed.currency = "euro".into();
        let bytes = encode(&placed.into()).unwrap();
        let error = decode("orders.placed", &bytes).unwrap_err();
        assert!(matches!(error, DecodeError::Invalid { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            "invalid orders.placed payload: currency: must be a three-letter upper-case ISO 4217 code"
        );
    }

    #[test]
    fn wrong_field_types_are_malformed() {
        #[derive(Serialize)]
        struct Wrong {
            sku: u32,
            quantity_added: &'static str,
            available: i8,
        }
        let bytes = to_bytes(&Wrong {
            sku: 7,
            quantity_added: "many",
            available: -1,
        })
        .unwrap();
        let error = decode("inventory.restocked", &bytes).unwrap_err();
        assert!(matches!(error, DecodeError::Malformed { .. }), "{error:?}");
    }
}
