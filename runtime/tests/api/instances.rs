//! Two instances of one service share its partitions: every event is applied once, by the
//! instance that holds its partition, whichever of them pulled it from the shared durable
//! (the other forwards it through the service's intake stream). docs/scaling.md.

use std::time::Duration;

use events::partition::Partitions;
use testkit::publish::{outgoing, publish_all};
use testkit::{TestBed, wait};

use crate::helpers::{ExampleBed, applied, holders, order, two_instances};

const ORDERS: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_apply_each_event_once_in_the_partitions_owner() {
    let bed = TestBed::start().await;
    let (first, second) = two_instances(&bed).await;
    let owners = holders(&bed).await;

    let orders: Vec<_> = (0..ORDERS)
        .map(|n| outgoing(&bed.subjects, &order(n)))
        .collect();
    publish_all(&bed.js, &orders).await;
    wait::until(
        "every order is applied",
        Duration::from_secs(60),
        || async {
            let total: u64 = applied(&first.store).values().sum::<u64>()
                + applied(&second.store).values().sum::<u64>();
            total >= ORDERS as u64
        },
    )
    .await;

    let partitions = Partitions::default();
    let (by_first, by_second) = (applied(&first.store), applied(&second.store));
    for (store, name) in [(&by_first, "example-1"), (&by_second, "example-2")] {
        for (order_id, count) in store {
            assert_eq!(*count, 1, "{order_id} applied {count} times by {name}");
            let partition = partitions.of(order_id).index();
            assert_eq!(
                owners[&partition], name,
                "{order_id} of partition {partition}"
            );
        }
    }
    assert!(by_first.keys().all(|order| !by_second.contains_key(order)));
    assert_eq!(by_first.len() + by_second.len(), ORDERS);
    assert!(!by_first.is_empty() && !by_second.is_empty());

    // each instance pulled about half from the shared durable and forwarded what was not its
    // own (acknowledged once its owner published: a moment after the store has it)
    let intake = bed
        .js
        .get_stream(events::stream::intake_stream(&bed.subjects, "example").name)
        .await
        .expect("the intake stream");
    let forwarded = || async {
        let mut forwarded = 0;
        for partition in partitions.all() {
            let info = intake
                .consumer_info(format!("example_p{partition}"))
                .await
                .expect("an intake durable");
            forwarded += info.ack_floor.consumer_sequence;
        }
        forwarded
    };
    wait::until(
        "events applied through the intake",
        Duration::from_secs(10),
        || async { forwarded().await > 0 },
    )
    .await;
    // and the output has one event per order
    assert_eq!(
        testkit::streams::message_count(&bed.js, &bed.output_stream()).await,
        ORDERS as u64
    );
    first.stop().await;
    second.stop().await;
}
