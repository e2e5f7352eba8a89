//! Every event is applied exactly once and every emitted event is published exactly once,
//! whether it is delivered once, re-published, or redelivered after a nak.

use std::time::Duration;

use testkit::publish::{outgoing, publish_all};
use testkit::streams::{distinct_event_ids, message_count};
use testkit::{TestBed, wait};

use crate::helpers::*;

const EVENTS: usize = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_are_applied_once_and_published_once() {
    let bed = TestBed::start().await;
    let app = spawn_app(bed.config()).await;
    let orders: Vec<_> = (0..EVENTS)
        .map(|n| outgoing(&bed.subjects, &order(n)))
        .collect();
    publish_all(&bed.js, &orders).await;

    wait::until("10,000 outputs", Duration::from_secs(60), || async {
        message_count(&bed.js, &bed.output_stream()).await >= EVENTS as u64
    })
    .await;
    assert_eq!(applications(&app.store), (EVENTS, EVENTS as u64));
    assert_eq!(
        message_count(&bed.js, &bed.output_stream()).await,
        EVENTS as u64
    );
    assert_eq!(
        distinct_event_ids(&bed.js, &bed.output_stream())
            .await
            .len(),
        EVENTS
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_delivered_twice_leave_the_same_state_as_single_delivery() {
    // single delivery: the reference digest
    let single = TestBed::start().await;
    let app = spawn_app(single.config()).await;
    let orders: Vec<_> = (0..EVENTS)
        .map(|n| outgoing(&single.subjects, &order(n)))
        .collect();
    publish_all(&single.js, &orders).await;
    wait::until(
        "single delivery applied",
        Duration::from_secs(60),
        || async { applications(&app.store).1 == EVENTS as u64 },
    )
    .await;
    let reference = app.store.digest().expect("digest");
    app.stop().await;

    // every event published twice (a re-publish after the duplicate window: same event id,
    // new Nats-Msg-Id) and every 7th first delivery nak'ed after its commit
    let twice = TestBed::start().await;
    let mut config = twice.config();
    config.failpoint_redeliver_every = 7;
    let app = spawn_app(config).await;
    let orders: Vec<_> = (0..EVENTS)
        .map(|n| outgoing(&twice.subjects, &order(n)))
        .collect();
    let republished: Vec<_> = orders
        .iter()
        .map(|message| {
            let mut copy = message.clone();
            let id = copy
                .headers
                .get(events::header::EVENT_ID)
                .expect("event id")
                .as_str()
                .to_owned();
            copy.headers
                .insert(events::header::NATS_MSG_ID, format!("{id}-republished"));
            copy
        })
        .collect();
    publish_all(&twice.js, &orders).await;
    publish_all(&twice.js, &republished).await;
    assert_eq!(
        message_count(&twice.js, &twice.input_stream()).await,
        2 * EVENTS as u64
    );

    let stats = app.store.clone();
    wait::until(
        "all 20,000 deliveries handled",
        Duration::from_secs(60),
        || consumer_idle(&twice, 2 * EVENTS as u64),
    )
    .await;
    assert_eq!(applications(&stats), (EVENTS, EVENTS as u64));
    assert_eq!(
        stats.digest().expect("digest"),
        reference,
        "state differs from single delivery"
    );
    assert_eq!(
        message_count(&twice.js, &twice.output_stream()).await,
        EVENTS as u64
    );
    assert_eq!(
        distinct_event_ids(&twice.js, &twice.output_stream())
            .await
            .len(),
        EVENTS
    );
    app.stop().await;
}
