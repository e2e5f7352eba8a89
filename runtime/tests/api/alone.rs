//! An instance that holds every partition by itself (`--scale-out` off) and instances that
//! share them never run side by side: whichever comes second refuses to start, saying why
//! (docs/scaling.md, "One instance, or instances that share").

use std::time::Duration;

use runtime::RuntimeConfig;
use testkit::{TestBed, wait};

use runtime::ownership::LeaseTiming;

use crate::helpers::{ExampleBed, held_by, owners, scale_out_instance, spawn_app};

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
