//! Bad bytes on the wire: a message whose header block is not UTF-8, holds a line that is not
//! `Name: value`, or a value with a carriage return in it, sent on a plain socket (no client
//! library would send it) onto a subject the service consumes. async-nats drops the connection
//! such a message arrives on (or, for the carriage return, its connection task panics); the
//! service dead-letters the message with the reason and goes on with the good ones behind it,
//! its API answering all along.

use std::time::Duration;

use events::{codec, header};
use testkit::publish::{Outgoing, outgoing, publish_all};
use testkit::raw::{self, publish_raw};
use testkit::streams::{header_of, message_count, read_stream};
use testkit::{TestBed, wait};

use crate::helpers::*;

fn good(range: std::ops::Range<usize>, bed: &TestBed) -> Vec<Outgoing> {
    range.map(|n| outgoing(&bed.subjects, &order(n))).collect()
}

/// Publishes 10 good orders, the bad header blocks (on `test.orders.placed.<key>`), then 190
/// good ones; checks that all 200 are applied once, each bad one is a dead letter whose reason
/// mentions its `why`, the consumer has nothing left, and the service still answers.
async fn the_service_goes_on_past(bad: &[(&str, &[u8], &str)]) {
    let bed = TestBed::start().await;
    let app = spawn_app(bed.config()).await;
    publish_all(&bed.js, &good(0..10, &bed)).await;
    // the bad messages carry a valid payload: only their header blocks are wrong
    let payload = codec::encode(&order(1_000)).expect("encode");
    let mut sequences = Vec::new();
    for (key, block, _) in bad {
        let subject = format!("test.orders.placed.{key}");
        sequences.push(publish_raw(bed.server.port(), &subject, block, &payload).await);
    }
    publish_all(&bed.js, &good(10..200, &bed)).await;

    let letters_expected = bad.len() as u64;
    wait::until(
        "200 outputs and a dead letter per bad message",
        Duration::from_secs(60),
        || async {
            message_count(&bed.js, &bed.output_stream()).await >= 200
                && message_count(&bed.js, &bed.dead_letter_stream()).await >= letters_expected
        },
    )
    .await;
    assert_eq!(applications(&app.store), (200, 200));
    assert!(!app.task.is_finished(), "the service must keep running");

    let letters = read_stream(&bed.js, &bed.dead_letter_stream()).await;
    assert_eq!(letters.len(), bad.len(), "one dead letter each");
    for ((key, _, why), sequence) in bad.iter().zip(&sequences) {
        let letter = letters
            .iter()
            .find(|letter| header_of(letter, header::DLQ_SEQUENCE) == Some(&sequence.to_string()))
            .unwrap_or_else(|| panic!("no dead letter for {key} (sequence {sequence})"));
        let reason = header_of(letter, header::DLQ_REASON).expect("a reason");
        assert!(reason.contains("header block does not parse"), "{reason}");
        assert!(reason.contains(why), "{key}: {reason}");
        let subject = format!("test.orders.placed.{key}");
        assert_eq!(
            header_of(letter, header::DLQ_SUBJECT),
            Some(subject.as_str())
        );
        assert_eq!(header_of(letter, header::DLQ_CONSUMER), Some("example"));
        assert_eq!(
            header_of(letter, header::DLQ_STREAM),
            Some(bed.input_stream().as_str())
        );
        assert_eq!(
            letter.payload.as_ref(),
            payload.as_slice(),
            "the payload is kept"
        );
    }
    // the bad ones were terminated: nothing is left pending or unacknowledged
    wait::until("the consumer idle", Duration::from_secs(10), || {
        consumer_idle(&bed, 200 + letters_expected)
    })
    .await;
    let status = format!("{}.api.example.status", bed.prefix());
    let answer = tokio::time::timeout(
        Duration::from_secs(5),
        bed.client.request(status, "".into()),
    )
    .await;
    assert!(matches!(answer, Ok(Ok(_))), "the API answers: {answer:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_blocks_that_do_not_parse_are_dead_lettered_and_the_good_ones_behind_applied() {
    the_service_goes_on_past(&[
        ("bad-utf8", raw::NOT_UTF8, "header isn't valid utf-8"),
        ("no-colon", raw::NO_COLON, "is not `Name: value`"),
        ("lone-cr", raw::LONE_CR, "carriage return"),
    ])
    .await;
}

/// The carriage return alone: it is delivered, so the consumer's connection task panics
/// (the one message that could not be found on the range looked at after a reconnect).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_value_that_panics_async_nats_is_dead_lettered_and_the_service_goes_on() {
    the_service_goes_on_past(&[("lone-cr", raw::LONE_CR, "carriage return")]).await;
}
