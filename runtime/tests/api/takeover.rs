//! Taking partitions over rebuilds them from the streams (docs/scaling.md, "Take-over"): a
//! newcomer with an empty store builds the partitions it is handed from what their old owner
//! published, and a survivor that takes a killed instance's partitions back deletes its stale
//! rows for them and builds them again; every order is applied once, and the output holds one
//! event per order.

use std::collections::BTreeMap;
use std::time::Duration;

use events::partition::{Partition, Partitions};
use testkit::publish::{outgoing, publish_all};
use testkit::streams::message_count;
use testkit::{TestBed, wait};

use crate::helpers::{
    ExampleBed, applied, held_by, open_store, order, scale_out_instance, spawn_app, spawn_process,
    until_split_six_six,
};

const BATCH: usize = 300;
const LEASE_MS: &str = "1500";

async fn publish_orders(bed: &TestBed, numbers: std::ops::Range<usize>) {
    let orders: Vec<_> = numbers
        .map(|n| outgoing(&bed.subjects, &order(n)))
        .collect();
    publish_all(&bed.js, &orders).await;
}

/// The orders of `partitions` an instance's store holds, with how often each was applied.
fn applied_in(store: &runtime::Store, partitions: &[u16]) -> BTreeMap<String, u64> {
    let all = Partitions::default();
    applied(store)
        .into_iter()
        .filter(|(order_id, _)| partitions.contains(&all.of(order_id).index()))
        .collect()
}

fn orders_of(partitions: &[u16], numbers: std::ops::Range<usize>) -> Vec<String> {
    let all = Partitions::default();
    numbers
        .map(|n| format!("order-{n}"))
        .filter(|order_id| partitions.contains(&all.of(order_id).index()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_taken_over_are_rebuilt_from_the_streams_and_apply_each_order_once() {
    let bed = TestBed::start().await;
    let first = spawn_app(scale_out_instance(&bed, "example-1")).await;
    publish_orders(&bed, 0..BATCH).await;
    wait::until(
        "the first instance applies every order",
        Duration::from_secs(60),
        || async { applied(&first.store).len() == BATCH },
    )
    .await;

    // a second instance joins with an empty store: it is handed half of the partitions
    let second_env = [
        ("SHOP_INSTANCE", "example-2"),
        ("SHOP_SCALE_OUT", "true"),
        ("SHOP_LEASE_MS", LEASE_MS),
    ];
    let second = spawn_process(&bed, &second_env);
    until_split_six_six(&bed).await;
    let theirs = held_by(&bed).await["example-2"].clone();
    publish_orders(&bed, BATCH..2 * BATCH).await;
    wait::until(
        "both instances publish for every order",
        Duration::from_secs(60),
        || async { message_count(&bed.js, &bed.output_stream()).await >= 2 * BATCH as u64 },
    )
    .await;
    // let the last acks land, then kill the second instance
    tokio::time::sleep(Duration::from_millis(500)).await;
    second.kill9();

    // its store: the first batch's orders of its partitions came from the rebuild only
    let second_store = open_store(&bed.data_dir().join("example-2"));
    let rebuilt = applied_in(&second_store, &theirs);
    let expected = orders_of(&theirs, 0..2 * BATCH);
    assert_eq!(
        rebuilt.keys().cloned().collect::<Vec<_>>(),
        {
            let mut sorted = expected.clone();
            sorted.sort();
            sorted
        },
        "the second instance holds every order of its partitions, old and new"
    );
    assert!(rebuilt.values().all(|count| *count == 1), "{rebuilt:?}");
    assert!(!orders_of(&theirs, 0..BATCH).is_empty());

    // the first instance takes the killed one's partitions back and rebuilds them
    wait::until(
        "the first instance holds every partition again",
        Duration::from_secs(30),
        || async { held_by(&bed).await.get("example-1").map(Vec::len) == Some(12) },
    )
    .await;
    wait::until(
        "the first instance has every order",
        Duration::from_secs(30),
        || async { applied(&first.store).len() == 2 * BATCH },
    )
    .await;
    let by_first = applied(&first.store);
    assert!(
        by_first.values().all(|count| *count == 1),
        "an order applied twice: {by_first:?}"
    );
    for index in &theirs {
        let partition = Partitions::default()
            .all()
            .find(|p: &Partition| p.index() == *index);
        let partition = partition.expect("a partition");
        assert_eq!(
            first.store.digest_partition(partition).expect("digest"),
            second_store.digest_partition(partition).expect("digest"),
            "partition {index}: rebuilt from the streams, it is what its killed owner held"
        );
    }
    // nothing was decided twice: one output event per order
    publish_orders(&bed, 2 * BATCH..2 * BATCH + 10).await;
    wait::until("the last orders", Duration::from_secs(30), || async {
        applied(&first.store).len() == 2 * BATCH + 10
    })
    .await;
    assert_eq!(
        message_count(&bed.js, &bed.output_stream()).await,
        2 * BATCH as u64 + 10
    );
    first.stop().await;
}
