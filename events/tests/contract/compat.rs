//! Schema evolution: readers ignore fields they do not know, fill optional fields that are
//! missing, and map unknown enum values to `unknown`.

use std::collections::BTreeMap;

use events::inventory::RejectionReason;
use events::{DecodeError, Event, codec, samples};
use serde_json::{Value, json};

/// Encodes a JSON object as a MessagePack map, the way a foreign producer would.
fn msgpack(value: &Value) -> Vec<u8> {
    codec::to_bytes(value).expect("encode json value")
}

fn sample_json(event: &Event) -> BTreeMap<String, Value> {
    serde_json::from_value(serde_json::to_value(event).expect("to json")).expect("object")
}

#[test]
fn extra_unknown_fields_are_ignored() {
    let placed = samples::order_placed();
    let mut fields = sample_json(&placed);
    fields.insert("loyalty_points".into(), json!(120));
    fields.insert(
        "gift_wrap".into(),
        json!({"paper": "blue", "tags": [1, 2, 3]}),
    );
    let decoded = codec::decode("orders.placed", &msgpack(&json!(fields))).expect("decode");
    assert_eq!(decoded, placed);
}

#[test]
fn missing_optional_fields_take_their_defaults() {
    let added = samples::sample(events::EventType::ProductAdded);
    let mut fields = sample_json(&added);
    fields.remove("description");
    let Event::ProductAdded(decoded) =
        codec::decode("catalog.product_added", &msgpack(&json!(fields))).expect("decode")
    else {
        panic!("wrong variant");
    };
    assert_eq!(decoded.description, "");
    assert_eq!(decoded.sku, "TEA-GREEN-100G");

    let updated = samples::sample(events::EventType::ProductUpdated);
    let mut fields = sample_json(&updated);
    fields.remove("previous_price_minor");
    let Event::ProductUpdated(decoded) =
        codec::decode("catalog.product_updated", &msgpack(&json!(fields))).expect("decode")
    else {
        panic!("wrong variant");
    };
    assert_eq!(decoded.previous_price_minor, None);
}

#[test]
fn missing_required_fields_are_malformed() {
    let mut fields = sample_json(&samples::order_placed());
    fields.remove("customer_id");
    let error = codec::decode("orders.placed", &msgpack(&json!(fields))).unwrap_err();
    assert!(matches!(error, DecodeError::Malformed { .. }), "{error:?}");
    assert!(error.to_string().contains("customer_id"), "{error}");
}

#[test]
fn unknown_enum_values_read_as_unknown() {
    let rejected = samples::sample(events::EventType::ReservationRejected);
    let mut fields = sample_json(&rejected);
    fields.insert("reason".into(), json!("warehouse_on_fire"));
    let Event::ReservationRejected(decoded) =
        codec::decode("inventory.reservation_rejected", &msgpack(&json!(fields))).expect("decode")
    else {
        panic!("wrong variant");
    };
    assert_eq!(decoded.reason, RejectionReason::Unknown);
}

#[test]
fn positional_arrays_from_a_compact_writer_still_decode() {
    // rmp_serde::to_vec writes structs as arrays; our writer never does, but a reader must cope.
    let Event::OrderCompleted(completed) = samples::sample(events::EventType::OrderCompleted)
    else {
        panic!("wrong variant");
    };
    let compact = rmp_serde::to_vec(&completed).expect("encode");
    assert_eq!(
        codec::decode("orders.completed", &compact).expect("decode"),
        completed.into()
    );
}
