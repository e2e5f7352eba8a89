//! `dlq redrive` cannot be turned against the shop: dead letters planted straight into the
//! dead-letter stream, whose original subject is not an event subject of this shop, not of the
//! stream they came from, or not of their own event type, are refused one by one and stay;
//! nothing is published where they point; a genuine dead letter among them is redriven.

use std::time::Duration;

use async_nats::{HeaderMap, Subscriber};
use events::header;
use futures::StreamExt;
use testkit::streams::read_stream;
use testkit::wait;

use crate::helpers::*;

/// A planted dead letter: where it points, the stream and type it claims, whether its payload
/// is emptied, what the refusal must say.
struct Planted {
    subject: &'static str,
    stream: &'static str,
    event_type: &'static str,
    empty_payload: bool,
    refusal: &'static str,
}

const GENUINE_SUBJECT: &str = "cli.orders.payment_void_requested.o-77";

const PLANTED: [Planted; 5] = [
    // a JetStream API request (empty, as the API wants it): with the operator's rights it
    // would delete the orders stream
    Planted {
        subject: "$JS.API.STREAM.DELETE.CLI_ORDERS",
        stream: "CLI_ORDERS",
        event_type: "orders.payment_void_requested",
        empty_payload: true,
        refusal: "is not an event subject of this shop",
    },
    Planted {
        subject: "other_prefix.orders.payment_void_requested.o-77",
        stream: "CLI_ORDERS",
        event_type: "orders.payment_void_requested",
        empty_payload: false,
        refusal: "does not start with prefix \"cli\"",
    },
    // an event of another context than the stream it came from
    Planted {
        subject: "cli.payments.voided.o-77",
        stream: "CLI_ORDERS",
        event_type: "payments.voided",
        empty_payload: false,
        refusal: "is an event of context payments, but it came from stream \"CLI_ORDERS\", not CLI_PAYMENTS",
    },
    // another type than its own
    Planted {
        subject: "cli.orders.placed.o-77",
        stream: "CLI_ORDERS",
        event_type: "orders.payment_void_requested",
        empty_payload: false,
        refusal: "has event type orders.placed, but its Shop-Event-Type header says \"orders.payment_void_requested\"",
    },
    // from another prefix's stream
    Planted {
        subject: GENUINE_SUBJECT,
        stream: "OTHER_ORDERS",
        event_type: "orders.payment_void_requested",
        empty_payload: false,
        refusal: "came from stream \"OTHER_ORDERS\", not CLI_ORDERS",
    },
];

/// A void for a payment that does not exist: payments dead-letters it. Returns the letter.
async fn genuine_dead_letter(shop: &Shop) -> async_nats::Message {
    let void: events::Event = events::orders::PaymentVoidRequested {
        order_id: "o-77".into(),
        authorization_id: "auth-o-77".into(),
    }
    .into();
    shop.publish_event(&void, "test").await;
    wait::until_some("o-77 dead-lettered", Duration::from_secs(30), || async {
        read_stream(&shop.bed.js, "CLI_DLQ")
            .await
            .into_iter()
            .next()
    })
    .await
}

/// Copies `genuine` into the dead-letter stream with another origin; returns its id.
async fn plant(shop: &Shop, genuine: &async_nats::Message, planted: &Planted) -> u64 {
    let mut headers = HeaderMap::new();
    for (name, values) in genuine.headers.iter().flat_map(|headers| headers.iter()) {
        for value in values {
            headers.append(name.clone(), value.clone());
        }
    }
    headers.insert(header::DLQ_SUBJECT, planted.subject);
    headers.insert(header::DLQ_STREAM, planted.stream);
    headers.insert(header::EVENT_TYPE, planted.event_type);
    headers.insert(header::NATS_MSG_ID, events::new_event_id());
    let payload = if planted.empty_payload {
        bytes::Bytes::new()
    } else {
        genuine.payload.clone()
    };
    let ack = shop
        .bed
        .js
        .publish_with_headers("cli.dlq.planted.o-77", headers, payload)
        .await
        .expect("publish");
    ack.await.expect("stored").sequence
}

/// Fails if anything reached `subscriber` (after a round trip, so anything sent before the
/// redrive ended has been delivered).
async fn assert_nothing_arrived(shop: &Shop, subscriber: &mut Subscriber, target: &str) {
    shop.bed.client.flush().await.expect("flush");
    let arrived = tokio::time::timeout(Duration::from_millis(300), subscriber.next()).await;
    if let Ok(Some(message)) = arrived {
        panic!("something was published to {target}: {message:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redrive_refuses_dead_letters_aimed_outside_their_own_stream_and_redrives_the_genuine_one()
{
    let shop = Shop::start().await;
    let genuine = genuine_dead_letter(&shop).await;
    let mut planted_ids = Vec::new();
    for planted in &PLANTED {
        planted_ids.push(plant(&shop, &genuine, planted).await);
    }
    let client = &shop.bed.client;
    let mut foreign = Vec::new();
    for target in [
        "$JS.API.STREAM.DELETE.>",
        "other_prefix.>",
        "cli.payments.voided.o-77",
        "cli.orders.placed.o-77",
    ] {
        foreign.push((target, client.subscribe(target).await.expect("subscribe")));
    }
    let mut genuine_target = client.subscribe(GENUINE_SUBJECT).await.expect("subscribe");
    client.flush().await.expect("flush");

    let redrive = shop.shopctl(&["dlq", "redrive", "--all"]).await;
    let said = stdout(&redrive);
    assert!(
        !redrive.status.success() && stderr(&redrive).is_empty(),
        "refusals exit non-zero, and say nothing else:\n{said}{}",
        stderr(&redrive)
    );
    for (id, planted) in planted_ids.iter().zip(&PLANTED) {
        let line = said
            .lines()
            .find(|line| line.starts_with(&format!("refused dead letter {id}: ")))
            .unwrap_or_else(|| panic!("no refusal of {id} ({}):\n{said}", planted.subject));
        assert!(line.contains(planted.refusal), "{line}");
    }
    assert!(said.contains("1 redriven, 5 refused"), "{said}");

    // nothing went where the planted letters point; the orders stream is still there
    for (target, subscriber) in &mut foreign {
        assert_nothing_arrived(&shop, subscriber, target).await;
    }
    assert!(shop.bed.js.get_stream("CLI_ORDERS").await.is_ok());
    // the genuine one went back to its subject, once, under its redrive id
    let genuine_id = said
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix("redrove dead letter ")?;
            let (id, to) = rest.split_once(" to ")?;
            (to == GENUINE_SUBJECT).then(|| id.parse::<u64>().expect("id"))
        })
        .unwrap_or_else(|| panic!("the genuine letter was not redriven:\n{said}"));
    let redriven = tokio::time::timeout(Duration::from_secs(10), genuine_target.next())
        .await
        .expect("the genuine letter arrived")
        .expect("message");
    let msg_id = redriven
        .headers
        .as_ref()
        .and_then(|headers| headers.get(header::NATS_MSG_ID))
        .map(|value| value.as_str().to_owned());
    assert_eq!(msg_id, Some(format!("redrive-CLI_DLQ-{genuine_id}")));
    assert_nothing_arrived(&shop, &mut genuine_target, GENUINE_SUBJECT).await;

    // the refused ones stay; the genuine one is gone
    let dlq = shop.bed.js.get_stream("CLI_DLQ").await.expect("dlq");
    for id in &planted_ids {
        assert!(dlq.get_raw_message(*id).await.is_ok(), "{id} stays");
    }
    assert!(dlq.get_raw_message(genuine_id).await.is_err(), "redriven");

    // --json says which were refused and why
    let json = shop.shopctl(&["dlq", "redrive", "--all", "--json"]).await;
    assert!(!json.status.success());
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    let refused = json["refused"].as_array().expect("refused");
    assert_eq!(refused.len(), PLANTED.len(), "{json}");
    for (id, planted) in planted_ids.iter().zip(&PLANTED) {
        let entry = refused
            .iter()
            .find(|entry| entry["id"] == *id)
            .unwrap_or_else(|| panic!("{id} not refused: {json}"));
        assert_eq!(entry["original_subject"], planted.subject, "{entry}");
        let reason = entry["reason"].as_str().expect("reason");
        assert!(reason.contains(planted.refusal), "{reason}");
    }
    assert!(
        json["redriven"].is_array() && json["skipped"].is_array(),
        "{json}"
    );
}
