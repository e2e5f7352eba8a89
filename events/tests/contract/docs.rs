//! `docs/events.md` is the contract for readers in other languages: it must mention every
//! event type, every header and every payload field. `docs/api.md` is the request/reply
//! contract: it must have a section for every API endpoint.

use std::path::Path;

use events::{EventType, api, header, samples};

fn event_docs() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/events.md");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn api_docs() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/api.md");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

#[test]
fn every_event_type_is_documented() {
    let docs = event_docs();
    let missing: Vec<&str> = EventType::ALL
        .iter()
        .map(|ty| ty.as_str())
        .filter(|name| !docs.contains(&format!("`{name}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/events.md does not mention: {missing:?}"
    );
}

#[test]
fn every_payload_field_is_documented_in_its_event_section() {
    let docs = event_docs();
    for event in samples::all() {
        let name = event.event_type().as_str();
        let heading = format!("### `{name}`");
        let start = docs
            .find(&heading)
            .unwrap_or_else(|| panic!("no section {heading:?} in docs/events.md"));
        let section = &docs[start + heading.len()..];
        let section = &section[..section.find("\n### ").unwrap_or(section.len())];
        let fields = serde_json::to_value(&event).expect("to json");
        for field in fields.as_object().expect("payloads are maps").keys() {
            assert!(
                section.contains(&format!("`{field}`")),
                "{heading} does not document field `{field}`"
            );
        }
    }
}

#[test]
fn every_header_is_documented() {
    let docs = event_docs();
    let headers = [
        header::NATS_MSG_ID,
        header::EVENT_ID,
        header::EVENT_TYPE,
        header::SCHEMA_VERSION,
        header::OCCURRED_AT,
        header::CORRELATION_ID,
        header::CAUSATION_ID,
        header::PRODUCER,
        header::TRACEPARENT,
        header::DLQ_REASON,
        header::DLQ_SUBJECT,
        header::DLQ_STREAM,
        header::DLQ_SEQUENCE,
        header::DLQ_CONSUMER,
        header::DLQ_DELIVERIES,
        header::DLQ_FAILED_AT,
        header::FORWARDED_SUBJECT,
    ];
    for name in headers {
        assert!(
            docs.contains(&format!("`{name}`")),
            "docs/events.md does not mention header {name}"
        );
    }
}

#[test]
fn every_api_endpoint_is_documented() {
    let docs = api_docs();
    let missing: Vec<String> = api::ENDPOINTS
        .iter()
        .map(|(service, verb)| format!("### `{service}.{verb}`"))
        .filter(|heading| !docs.lines().any(|line| line.trim_end() == heading))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/api.md has no section for: {missing:?}"
    );
}

/// The `### \`<endpoint>\`` section of docs/api.md, up to the next heading of any level.
fn api_section<'d>(docs: &'d str, endpoint: &str) -> &'d str {
    let heading = format!("### `{endpoint}`");
    let start = docs
        .find(&heading)
        .unwrap_or_else(|| panic!("no section {heading:?} in docs/api.md"));
    let section = &docs[start + heading.len()..];
    &section[..section.find("\n#").unwrap_or(section.len())]
}

/// The field names of a value as JSON.
fn fields(value: impl serde::Serialize) -> Vec<String> {
    let value = serde_json::to_value(value).expect("to json");
    value.as_object().expect("a map").keys().cloned().collect()
}

#[test]
fn every_field_of_the_paged_lists_is_documented_in_its_section() {
    let docs = api_docs();
    let lists = [
        (
            "catalog.list",
            fields(api::ListProducts::default()),
            fields(api::ProductList {
                products: vec![],
                next_cursor: None,
            }),
        ),
        (
            "orders.list",
            fields(api::ListOrders::default()),
            fields(api::OrderList {
                orders: vec![],
                next_cursor: None,
            }),
        ),
        (
            "support.list",
            fields(api::ListTickets::default()),
            fields(api::TicketList {
                tickets: vec![],
                next_cursor: None,
            }),
        ),
    ];
    for (endpoint, request, reply) in lists {
        let section = api_section(&docs, endpoint);
        for field in request.iter().chain(&reply) {
            assert!(
                section.contains(&format!("| `{field}` |")),
                "{endpoint} does not document field `{field}` in a table"
            );
        }
    }
}
