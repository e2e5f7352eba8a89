//! Malformed messages go to the dead-letter stream with a reason; good ones around them are all
//! applied and the service keeps running.

use std::time::Duration;

use events::{EventType, header};

use testkit::publish::{Outgoing, outgoing, publish_all};
use testkit::streams::{header_of, is_type, message_count, read_stream};
use testkit::{TestBed, wait};

use crate::helpers::*;

/// What the service accepts in this test (less than the broker's default 1 MiB, so that an
/// oversized payload still reaches the service and its dead letter fits the broker).
const PAYLOAD_LIMIT: usize = 512 * 1024;
const OVERSIZED: usize = 768 * 1024;

const GOOD: usize = 10_000;

/// (how many, what the reason must mention, how to spoil a good message)
type Spoiler = (usize, &'static str, fn(&mut Outgoing, usize));

const SPOILERS: [Spoiler; 7] = [
    (20, "malformed", |message, n| {
        message.payload = (0..64)
            .map(|i| (i * 31 + n * 17) as u8)
            .collect::<Vec<u8>>();
    }),
    (20, "malformed", |message, _| {
        message.payload.truncate(message.payload.len() / 2);
    }),
    (15, "unknown event type", |message, _| {
        message
            .headers
            .insert(header::EVENT_TYPE, "orders.teleported");
    }),
    (15, "malformed", |message, _| {
        let wrong = serde_json::json!({"order_id": 7, "customer_id": ["x"], "lines": "none", "total_minor": "ten", "currency": 1});
        message.payload = events::codec::to_bytes(&wrong).expect("encode");
    }),
    (5, "larger than the limit", |message, _| {
        message.payload = vec![0x90; OVERSIZED];
    }),
    (15, "missing header Shop-Event-Id", |message, _| {
        let mut headers = async_nats::HeaderMap::new();
        for (name, values) in message.headers.iter() {
            let name: &str = name.as_ref();
            if name != header::EVENT_ID && name != header::NATS_MSG_ID {
                headers.insert(name, values[0].as_str());
            }
        }
        message.headers = headers;
    }),
    (10, "refused by the example", |_, _| {}),
];

fn bad_message(bed: &TestBed, kind: usize, n: usize) -> Outgoing {
    let id = if kind == SPOILERS.len() - 1 {
        format!("refuse-{n}")
    } else {
        format!("bad-{kind}-{n}")
    };
    let mut event = order(n);
    if let events::Event::OrderPlaced(placed) = &mut event {
        placed.order_id = id;
    }
    let mut message = outgoing(&bed.subjects, &event);
    (SPOILERS[kind].2)(&mut message, n);
    message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_malformed_messages_among_ten_thousand_are_dead_lettered_with_a_reason() {
    let bed = TestBed::start().await;
    // the broker keeps its default 1 MiB limit; the service reads at most half of it
    let mut config = bed.config();
    config.max_payload_bytes = PAYLOAD_LIMIT;
    let app = spawn_app(config).await;
    let mut messages: Vec<Outgoing> = (0..GOOD)
        .map(|n| outgoing(&bed.subjects, &order(n)))
        .collect();
    let mut expected_reasons = Vec::new();
    for (kind, (count, reason, _)) in SPOILERS.iter().enumerate() {
        for n in 0..*count {
            // spread the bad ones through the good ones
            let at = (kind * 1_000 + n * 97) % messages.len();
            messages.insert(at, bad_message(&bed, kind, n));
            expected_reasons.push(*reason);
        }
    }
    assert_eq!(expected_reasons.len(), 100);
    publish_all(&bed.js, &messages).await;

    wait::until(
        "100 dead letters and 10,000 outputs",
        Duration::from_secs(90),
        || async {
            message_count(&bed.js, &bed.dead_letter_stream()).await >= 100
                && message_count(&bed.js, &bed.output_stream()).await >= GOOD as u64
        },
    )
    .await;
    assert_eq!(applications(&app.store), (GOOD, GOOD as u64));
    assert_eq!(message_count(&bed.js, &bed.dead_letter_stream()).await, 100);
    assert!(!app.task.is_finished(), "the service must keep running");

    let letters = read_stream(&bed.js, &bed.dead_letter_stream()).await;
    let mut reasons: Vec<String> = letters
        .iter()
        .map(|letter| {
            header_of(letter, header::DLQ_REASON)
                .expect("every dead letter has a reason")
                .to_owned()
        })
        .collect();
    for expected in expected_reasons {
        let found = reasons.iter().position(|reason| reason.contains(expected));
        let index = found.unwrap_or_else(|| {
            panic!("no remaining dead letter mentions {expected:?}: {reasons:?}")
        });
        reasons.swap_remove(index);
    }
    for letter in &letters {
        assert!(
            header_of(letter, header::DLQ_SUBJECT)
                .is_some_and(|s| s.starts_with("test.orders.placed."))
        );
        assert!(header_of(letter, header::DLQ_SEQUENCE).is_some());
        assert!(header_of(letter, header::DLQ_STREAM).is_some_and(|s| s == bed.input_stream()));
        assert!(!letter.payload.is_empty(), "the original payload is kept");
    }
    assert!(
        letters
            .iter()
            .any(|letter| is_type(letter, EventType::OrderPlaced)
                && letter.payload.len() == OVERSIZED)
    );
    app.stop().await;
}
