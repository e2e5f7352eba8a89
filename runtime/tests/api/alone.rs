//! An instance that holds every partition by itself (`--scale-out` off) and instances that
//! share them never run side by side: whichever comes second refuses to start, saying why;
//! and one alone again on a store it shared rebuilds what the others applied (docs/scaling.md,
//! "One instance, or instances that share").

use std::time::Duration;

use runtime::RuntimeConfig;
use testkit::{TestBed, wait};

use runtime::ownership::LeaseTiming;
use testkit::publish::{outgoing, publish_all};
use testkit::streams::message_count;

use crate::helpers::{
    ExampleBed, applied, held_by, order, owners, scale_out_instance, spawn_app, until_split_six_six,
};

const ORDERS: usize = 200;

fn lone(bed: &TestBed) -> RuntimeConfig {
    RuntimeConfig {
        lease_ms: 1_500,
        ..bed.config()
    }
}

/// The error a started instance stopped with.
async fn refusal(app: crate::helpers::RunningApp) -> String {
    let ended = tokio::time::timeout(Duration::from_secs(20), app.task)
        .await
        .expect("the second instance stops by itself")
        .expect("join");
    format!("{:#}", ended.expect_err("it refuses to run"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_shares_does_not_start_beside_one_that_holds_everything() {
    let bed = TestBed::start().await;
    let alone = spawn_app(lone(&bed)).await;
    let observer = owners(&bed, "example", None, "observer", LeaseTiming::default()).await;
    wait::until("it says it runs alone", Duration::from_secs(10), || async {
        observer.lone_instances().await.expect("read") == ["example"]
    })
    .await;
    let sharing = spawn_app(scale_out_instance(&bed, "example-2")).await;
    let error = refusal(sharing).await;
    assert!(
        error.contains("runs without --scale-out as example"),
        "{error}"
    );
    assert!(held_by(&bed).await.is_empty(), "it claimed nothing");
    alone.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_alone_does_not_start_beside_ones_that_share() {
    let bed = TestBed::start().await;
    let sharing = spawn_app(scale_out_instance(&bed, "example-2")).await;
    wait::until(
        "it holds the partitions",
        Duration::from_secs(20),
        || async { !held_by(&bed).await.is_empty() },
    )
    .await;
    let alone = spawn_app(lone(&bed)).await;
    let error = refusal(alone).await;
    assert!(
        error.contains("runs without --scale-out, but example-2 share"),
        "{error}"
    );
    sharing.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_alone_again_rebuilds_what_the_others_applied() {
    let bed = TestBed::start().await;
    // two instances share the partitions, the first with the store a lone one uses
    let first = spawn_app(scale_out_instance(&bed, "example")).await;
    let second = spawn_app(scale_out_instance(&bed, "example-2")).await;
    until_split_six_six(&bed).await;
    let orders: Vec<_> = (0..ORDERS)
        .map(|n| outgoing(&bed.subjects, &order(n)))
        .collect();
    publish_all(&bed.js, &orders).await;
    wait::until("every order decided", Duration::from_secs(60), || async {
        message_count(&bed.js, &bed.output_stream()).await >= ORDERS as u64
    })
    .await;
    let mine = applied(&first.store).len();
    assert!(
        0 < mine && mine < ORDERS,
        "the first held only its share: {mine}"
    );
    second.stop().await;
    first.stop().await;

    // alone again on the first store: it rebuilds every partition before it consumes
    wait::until("the leases gone", Duration::from_secs(20), || async {
        held_by(&bed).await.is_empty()
    })
    .await;
    let alone = spawn_app(lone(&bed)).await;
    wait::until(
        "the lone instance has every order",
        Duration::from_secs(30),
        || async { applied(&alone.store).len() == ORDERS },
    )
    .await;
    assert!(applied(&alone.store).values().all(|count| *count == 1));
    publish_all(&bed.js, &[outgoing(&bed.subjects, &order(ORDERS))]).await;
    wait::until("one more order", Duration::from_secs(30), || async {
        applied(&alone.store).len() == ORDERS + 1
    })
    .await;
    assert_eq!(
        message_count(&bed.js, &bed.output_stream()).await,
        ORDERS as u64 + 1,
        "nothing decided again"
    );
    alone.stop().await;
}
