//! Crashes lose nothing and double nothing: the service killed with SIGKILL again and again,
//! the broker killed mid-run, and SIGTERM under load.

use std::time::{Duration, Instant, SystemTime};

use testkit::publish::{outgoing, publish_all};
use testkit::streams::{distinct_event_ids, message_count};
use testkit::{TestBed, wait};

use crate::helpers::*;

const EVENTS: usize = 10_000;

/// A varying pause between 0 and 150 ms, taken once an incarnation has published: the kill
/// lands while it works through its backlog (no randomness crate needed).
fn jitter(round: usize) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    Duration::from_millis((u64::from(nanos) + round as u64 * 7919) % 150)
}

async fn settled(bed: &TestBed) -> bool {
    consumer_idle(bed, 0).await
        && message_count(&bed.js, &bed.output_stream()).await >= EVENTS as u64
}

async fn assert_exactly_once(bed: &TestBed) {
    let store = open_store(&bed.store_dir());
    assert_eq!(
        applications(&store),
        (EVENTS, EVENTS as u64),
        "(orders, applications) in the store"
    );
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_killed_twenty_times_loses_and_doubles_nothing() {
    let bed = TestBed::start().await;
    let orders: Vec<_> = (0..EVENTS)
        .map(|n| outgoing(&bed.subjects, &order(n)))
        .collect();
    // small batches: more commits, flushes and acks in flight when the kill lands
    let small_batches = [("SHOP_BATCH_SIZE", "20")];
    // a kill "mid-run" interrupts an incarnation that had published output and had more to
    // do; each round first gives it a fresh backlog, so a slow start (a loaded CI host) only
    // makes the round longer, never makes the kill miss
    let mut chunks = orders.chunks(EVENTS / 40);
    let (mut kills, mut kills_mid_run, mut published_before, mut sent) = (0, 0, 0, 0);
    while kills_mid_run < 20 {
        if let Some(chunk) = chunks.next() {
            publish_all(&bed.js, chunk).await;
            sent += chunk.len() as u64;
        }
        let child = spawn_process(&bed, &small_batches);
        wait::until(
            "the restarted service to publish",
            Duration::from_secs(60),
            || async { message_count(&bed.js, &bed.output_stream()).await > published_before },
        )
        .await;
        tokio::time::sleep(jitter(kills)).await;
        child.kill9();
        kills += 1;
        let published = message_count(&bed.js, &bed.output_stream()).await;
        if published < sent {
            kills_mid_run += 1;
        }
        published_before = published;
        assert!(
            kills < 40,
            "only {kills_mid_run} of {kills} kills landed mid-run"
        );
    }
    for chunk in chunks {
        publish_all(&bed.js, chunk).await;
    }
    let child = spawn_process(&bed, &small_batches);
    wait::until(
        "the restarted service to catch up",
        Duration::from_secs(120),
        || settled(&bed),
    )
    .await;
    let status = tokio::task::spawn_blocking(move || child.terminate(Duration::from_secs(5)))
        .await
        .expect("join");
    assert!(
        status.is_some_and(|status| status.success()),
        "clean exit after SIGTERM: {status:?}"
    );
    assert_exactly_once(&bed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_killed_and_restarted_mid_run_the_service_reconnects_by_itself() {
    let mut bed = TestBed::start().await;
    let app = spawn_app(bed.config()).await;
    let orders: Vec<_> = (0..EVENTS)
        .map(|n| outgoing(&bed.subjects, &order(n)))
        .collect();
    publish_all(&bed.js, &orders[..EVENTS / 2]).await;
    wait::until("some events applied", Duration::from_secs(30), || async {
        applications(&app.store).1 >= 500
    })
    .await;

    bed.server.kill9();
    // a deliberate outage: the service must notice the broker is gone, not just blink
    tokio::time::sleep(Duration::from_secs(1)).await;
    bed.server.restart();
    publish_all(&bed.js, &orders[EVENTS / 2..]).await;

    wait::until(
        "all events after the broker restart",
        Duration::from_secs(120),
        || settled(&bed),
    )
    .await;
    let store = app.store.clone();
    assert_eq!(applications(&store), (EVENTS, EVENTS as u64));
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
async fn sigterm_under_load_exits_zero_within_five_seconds_and_loses_nothing() {
    let bed = TestBed::start().await;
    let orders: Vec<_> = (0..EVENTS)
        .map(|n| outgoing(&bed.subjects, &order(n)))
        .collect();
    let child = spawn_process(&bed, &[]);
    let publisher = {
        let (js, orders) = (bed.js.clone(), orders.clone());
        tokio::spawn(async move {
            // paced, so the SIGTERM lands while events are still arriving
            for chunk in orders.chunks(250) {
                publish_all(&js, chunk).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    wait::until(
        "the service under load",
        Duration::from_secs(30),
        || async { message_count(&bed.js, &bed.output_stream()).await >= 2_000 },
    )
    .await;
    let started = Instant::now();
    let status = tokio::task::spawn_blocking(move || child.terminate(Duration::from_secs(5)))
        .await
        .expect("join");
    let took = started.elapsed();
    assert!(
        status.is_some_and(|status| status.success()),
        "exit status after SIGTERM: {status:?}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");

    let child = spawn_process(&bed, &[]);
    publisher.await.expect("publisher");
    wait::until(
        "everything after the restart",
        Duration::from_secs(120),
        || settled(&bed),
    )
    .await;
    let status = tokio::task::spawn_blocking(move || child.terminate(Duration::from_secs(5)))
        .await
        .expect("join");
    assert!(status.is_some_and(|status| status.success()));
    assert_exactly_once(&bed).await;
}
