//! `shopctl up --scale`: more instances of one service, each with its own store, sharing its
//! partitions (docs/scaling.md), and orders still complete through them.

use std::process::{Command, Stdio};
use std::time::Duration;

use events::partition::Partitions;
use runtime::ownership::{LeaseTiming, Owners};
use testkit::{ChildProcess, TestBed, wait};

use crate::helpers::*;

/// How many of shipping's partitions each instance holds, as the lease bucket says.
async fn shipping_holders(bed: &TestBed) -> Vec<(String, usize)> {
    let observer = Owners::open(
        bed.js.clone(),
        bed.subjects.clone(),
        "shipping",
        Some(events::Context::Shipping),
        Partitions::default(),
        "observer",
        LeaseTiming::default(),
    )
    .await
    .expect("the lease bucket");
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for (_, holder) in observer.holders().await.expect("holders") {
        if let Some(holder) = holder {
            *counts.entry(holder.instance).or_default() += 1;
        }
    }
    counts.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_scale_runs_two_shipping_instances_that_share_its_partitions() {
    let bed = TestBed::start_with_prefix("scaled").await;
    let data_dir = bed.dir.path().join("data");
    let log_path = bed.dir.path().join("up.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_shopctl"));
    command
        .args(["--nats-url", &bed.url(), "--prefix", "scaled", "up"])
        .args(["--scale", "shipping=2", "--data-dir"])
        .arg(&data_dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log));
    let up = ChildProcess::spawn(&mut command);
    let api = bed.api();
    until_every_service_answers(&api).await;
    wait::until(
        "two shipping instances, six partitions each",
        Duration::from_secs(30),
        || async {
            shipping_holders(&bed).await
                == [("shipping".to_owned(), 6), ("shipping-2".to_owned(), 6)]
        },
    )
    .await;
    assert!(
        data_dir.join("shipping-2").is_dir(),
        "the second instance's own store"
    );
    // status shows who holds which partitions
    let status = Command::new(env!("CARGO_BIN_EXE_shopctl"))
        .args([
            "--nats-url",
            &bed.url(),
            "--prefix",
            "scaled",
            "--json",
            "status",
        ])
        .output()
        .expect("status");
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("JSON");
    let shares: Vec<(String, usize)> = status["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|row| {
            let partitions = row["partitions"].as_array().map_or(0, Vec::len);
            (
                row["instance"].as_str().unwrap_or_default().to_owned(),
                partitions,
            )
        })
        .collect();
    assert_eq!(
        shares,
        [("shipping".to_owned(), 6), ("shipping-2".to_owned(), 6)],
        "{status}"
    );

    // orders ship through both instances
    stock_tea(&api).await;
    let partitions = Partitions::default();
    let mut placed = Vec::new();
    for n in 0..8 {
        placed.push(place_tea(&api, Some(format!("scaled-{n}"))).await);
    }
    let mut partitions_used: Vec<u16> = placed.iter().map(|id| partitions.of(id).index()).collect();
    partitions_used.sort();
    partitions_used.dedup();
    assert!(
        partitions_used.len() > 1,
        "the orders spread over partitions"
    );
    for order_id in &placed {
        until_completed(&api, order_id).await;
        // asked of either instance, the shipment is its owner's
        let shipment: serde_json::Value = api
            .call(
                "shipping",
                "get",
                &events::api::OrderRequest {
                    order_id: order_id.clone(),
                },
            )
            .await
            .expect("shipment");
        assert!(
            ["shipped", "delivered"].contains(&shipment["status"].as_str().unwrap_or_default()),
            "{shipment}"
        );
    }
    let status = tokio::task::spawn_blocking(move || up.terminate(Duration::from_secs(20)))
        .await
        .expect("join");
    assert!(
        status.is_some_and(|status| status.success()),
        "up exits 0: {status:?}"
    );
}
