//! Partition leases over a real broker: one holder at a time, a lease that is not renewed
//! moves, and a deposed owner can neither count its lease as held nor publish for the
//! partition once another instance has claimed it (docs/scaling.md, "Fencing").

use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::context::PublishErrorKind;
use events::partition::{Partition, Partitions};
use events::{Context, EventType};
use runtime::ownership::{LeaseTiming, Owners};
use testkit::{TestBed, wait};

use crate::helpers;

/// Short leases, so a test sees them expire.
const TIMING: LeaseTiming = LeaseTiming {
    ttl: Duration::from_secs(2),
    renew_every: Duration::from_millis(400),
    margin: Duration::from_millis(500),
};

async fn owners(bed: &TestBed, instance: &str) -> Owners {
    helpers::owners(bed, "orders", Some(Context::Orders), instance, TIMING).await
}

fn partition(index: u16) -> Partition {
    Partitions::default().get(index).expect("a partition")
}

/// Publishes an event-shaped message for partition 3 with `fence` applied.
async fn publish_fenced(
    bed: &TestBed,
    fence: &runtime::ownership::Fence,
    key: &str,
) -> Result<u64, PublishErrorKind> {
    let subject = bed
        .subjects
        .event(EventType::OrderCompleted, key)
        .expect("subject");
    let mut headers = HeaderMap::new();
    fence.apply(&mut headers);
    let ack = bed
        .js
        .publish_with_headers(subject, headers, "payload".into())
        .await
        .map_err(|error| error.kind())?
        .await
        .map_err(|error| error.kind())?;
    Ok(ack.sequence)
}

#[tokio::test]
async fn a_partition_has_one_holder_until_its_lease_is_given_back() {
    let bed = TestBed::start().await;
    let (a, b) = (owners(&bed, "a").await, owners(&bed, "b").await);

    let lease = a
        .claim(partition(3))
        .await
        .unwrap()
        .expect("a free partition");
    assert!(lease.held_at(Instant::now()));
    assert_eq!(b.claim(partition(3)).await.unwrap(), None, "held by a");
    // renewals keep it held for longer than the lease time
    let mut lease = lease;
    let until = Instant::now() + TIMING.ttl * 2;
    while Instant::now() < until {
        tokio::time::sleep(TIMING.renew_every).await;
        lease = a.renew(&lease).await.unwrap().expect("a still holds it");
        assert_eq!(b.claim(partition(3)).await.unwrap(), None, "renewed by a");
    }
    let holders = b.holders().await.unwrap();
    let holder = holders[3].1.as_ref().expect("partition 3 is held");
    assert_eq!(holder.instance, "a");
    assert_eq!(holder.claim_sequence, lease.claim());
    assert!(holders.iter().filter(|(_, h)| h.is_some()).count() == 1);

    // given back, it can be claimed at once
    a.release(lease).await.unwrap();
    let taken = b.claim(partition(3)).await.unwrap().expect("released by a");
    assert!(taken.held_at(Instant::now()));
    assert_eq!(
        b.holders().await.unwrap()[3].1.as_ref().unwrap().instance,
        "b"
    );
}

#[tokio::test]
async fn a_deposed_owner_cannot_commit_or_publish_for_the_partition() {
    let bed = TestBed::start().await;
    let (a, b) = (owners(&bed, "a").await, owners(&bed, "b").await);

    let old = a
        .claim(partition(3))
        .await
        .unwrap()
        .expect("a free partition");
    publish_fenced(&bed, old.fence().expect("fenced"), "o1")
        .await
        .expect("the owner publishes for its partition");

    // a stops renewing (cut off, paused): its lease expires and b claims the partition
    let new = wait::until_some(
        "b claims the expired lease",
        Duration::from_secs(10),
        || {
            let b = b.clone();
            async move { b.claim(partition(3)).await.unwrap() }
        },
    )
    .await;

    // a has stopped counting the lease as held before anyone else could claim it
    assert!(
        !old.held_at(Instant::now()),
        "the deposed owner may not commit"
    );
    // and the broker refuses what a publishes for the partition from now on
    assert_eq!(
        publish_fenced(&bed, old.fence().expect("fenced"), "o2").await,
        Err(PublishErrorKind::WrongLastSequence),
        "the deposed owner's publish is refused"
    );
    assert_eq!(
        a.renew(&old).await.unwrap(),
        None,
        "the renewal finds the lease lost"
    );
    publish_fenced(&bed, new.fence().expect("fenced"), "o3")
        .await
        .expect("the new owner publishes");

    // what a published before the claim is in the stream, before b's claim record; o2 is not
    let stream = bed.stream(Context::Orders);
    let info = bed
        .js
        .get_stream(&stream)
        .await
        .unwrap()
        .get_last_raw_message_by_subject(
            &bed.subjects.event(EventType::OrderCompleted, "o1").unwrap(),
        )
        .await
        .expect("o1 is stored");
    assert!(info.sequence < new.fence().expect("fenced").sequence());
    let missing = bed
        .js
        .get_stream(&stream)
        .await
        .unwrap()
        .get_last_raw_message_by_subject(
            &bed.subjects.event(EventType::OrderCompleted, "o2").unwrap(),
        )
        .await;
    assert!(missing.is_err(), "the refused publish was not stored");
}

#[tokio::test]
async fn the_lease_time_bounds_a_take_over() {
    let bed = TestBed::start().await;
    let (a, b) = (owners(&bed, "a").await, owners(&bed, "b").await);
    let lease = a
        .claim(partition(7))
        .await
        .unwrap()
        .expect("a free partition");
    let claimed = Instant::now();
    let taken = wait::until_some("b takes partition 7 over", Duration::from_secs(10), || {
        let b = b.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            b.claim(partition(7)).await.unwrap()
        }
    })
    .await;
    let waited = claimed.elapsed();
    assert!(
        waited >= TIMING.ttl - TIMING.margin,
        "taken over after {waited:?}: too early"
    );
    assert!(!lease.held_at(Instant::now()));
    assert_eq!(taken.partition(), partition(7));
    // the claim records are in the service's own stream, one per claim
    let record = bed
        .js
        .get_stream(bed.stream(Context::Orders))
        .await
        .unwrap()
        .get_last_raw_message_by_subject(taken.fence().expect("fenced").subject())
        .await
        .expect("the claim record is stored");
    assert_eq!(record.sequence, taken.fence().expect("fenced").sequence());
    let claim: events::partition::Claim =
        events::codec::from_bytes(&record.payload).expect("a claim record");
    assert_eq!(
        (claim.instance.as_str(), claim.partition, claim.partitions),
        ("b", 7, 12)
    );
}
