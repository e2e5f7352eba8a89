//! Instances of one service share its partitions through the broker: one alone takes all, a
//! newcomer gets its share without a restart of the other, an instance that dies without a
//! word (its task aborted: no release, no goodbye) has its partitions taken over within the
//! lease time, and no partition ever counts as held by two instances at once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use events::Context;
use events::partition::{Partition, Partitions};
use futures::FutureExt;
use futures::future::BoxFuture;
use runtime::ownership::{Balancer, Handover, Held, Lease, LeaseTiming};
use testkit::{TestBed, wait};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::helpers;

const TIMING: LeaseTiming = LeaseTiming {
    ttl: Duration::from_secs(2),
    renew_every: Duration::from_millis(300),
    margin: Duration::from_millis(500),
};

/// Takes a while to prepare a partition (a rebuild) and remembers what it was told.
#[derive(Default)]
struct Recorder {
    taken: Mutex<Vec<Partition>>,
    given_back: Mutex<Vec<Partition>>,
}

impl Handover for Recorder {
    fn taken(&self, lease: Lease) -> BoxFuture<'static, anyhow::Result<()>> {
        self.taken.lock().expect("recorder").push(lease.partition());
        tokio::time::sleep(Duration::from_millis(50))
            .map(Ok)
            .boxed()
    }

    fn given_back(&self, partition: Partition) -> BoxFuture<'static, ()> {
        self.given_back.lock().expect("recorder").push(partition);
        futures::future::ready(()).boxed()
    }
}

struct Instance {
    held: Held,
    recorder: Arc<Recorder>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

async fn start(bed: &TestBed, name: &str) -> Instance {
    let owners = helpers::owners(bed, "payments", Some(Context::Payments), name, TIMING).await;
    let recorder = Arc::new(Recorder::default());
    let balancer = Balancer::new(owners, recorder.clone());
    let held = balancer.held();
    let stop = CancellationToken::new();
    let task = tokio::spawn(balancer.run(stop.clone()));
    Instance {
        held,
        recorder,
        stop,
        task,
    }
}

fn owned(held: &Held) -> usize {
    Partitions::default()
        .all()
        .filter(|p| held.owns(*p))
        .count()
}

/// Waits until the instances hold `each` partitions apiece.
async fn until_split(what: &str, timeout: Duration, instances: &[&Instance], each: usize) {
    let held: Vec<Held> = instances.iter().map(|i| i.held.clone()).collect();
    wait::until(what, timeout, || {
        let held = held.clone();
        async move { held.iter().all(|h| owned(h) == each) }
    })
    .await;
}

/// Fails the test if any partition counts as held by two instances at once.
fn watch_exclusive(instances: Vec<Held>) -> (CancellationToken, JoinHandle<usize>) {
    let stop = CancellationToken::new();
    let done = stop.clone();
    let task = tokio::spawn(async move {
        let mut samples = 0;
        while !done.is_cancelled() {
            for partition in Partitions::default().all() {
                let holders = instances.iter().filter(|h| h.owns(partition)).count();
                assert!(
                    holders <= 1,
                    "partition {partition} held by {holders} instances"
                );
            }
            samples += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        samples
    });
    (stop, task)
}

#[tokio::test]
async fn instances_share_the_partitions_and_take_over_from_a_dead_one() {
    let bed = TestBed::start().await;
    let a = start(&bed, "payments-1").await;
    until_split(
        "one instance holds every partition",
        Duration::from_secs(10),
        &[&a],
        12,
    )
    .await;

    // a second instance joins: the first hands half over, with no restart
    let b = start(&bed, "payments-2").await;
    let (checking, checker) = watch_exclusive(vec![a.held.clone(), b.held.clone()]);
    until_split(
        "two instances hold six each",
        Duration::from_secs(10),
        &[&a, &b],
        6,
    )
    .await;
    assert_eq!(a.recorder.given_back.lock().unwrap().len(), 6);
    let b_partitions = b.held.partitions();

    // b dies without a word: its partitions come back to a within the lease time
    b.task.abort();
    let died = Instant::now();
    until_split(
        "the survivor holds every partition",
        Duration::from_secs(10),
        &[&a],
        12,
    )
    .await;
    let took = died.elapsed();
    assert!(
        took <= TIMING.ttl + TIMING.renew_every * 3,
        "take-over took {took:?}"
    );
    let taken_again = a.recorder.taken.lock().unwrap().clone();
    for partition in &b_partitions {
        assert!(
            taken_again.contains(partition),
            "{partition} prepared by the survivor"
        );
    }
    checking.cancel();
    assert!(checker.await.expect("no partition held twice") > 10);
    a.stop.cancel();
    a.task.await.unwrap();
}

#[tokio::test]
async fn an_orderly_stop_hands_partitions_over_at_once() {
    let bed = TestBed::start().await;
    let a = start(&bed, "payments-1").await;
    let b = start(&bed, "payments-2").await;
    let c = start(&bed, "payments-3").await;
    until_split(
        "three instances hold four each",
        Duration::from_secs(15),
        &[&a, &b, &c],
        4,
    )
    .await;
    let (checking, checker) = watch_exclusive(vec![a.held.clone(), b.held.clone()]);

    c.stop.cancel();
    c.task.await.unwrap();
    assert_eq!(c.recorder.given_back.lock().unwrap().len(), 4);
    let stopped = Instant::now();
    until_split(
        "two instances hold six each",
        Duration::from_secs(10),
        &[&a, &b],
        6,
    )
    .await;
    // released and gone from the members: no waiting for the leases to expire
    assert!(
        stopped.elapsed() < TIMING.ttl,
        "took {:?}",
        stopped.elapsed()
    );
    checking.cancel();
    assert!(checker.await.expect("no partition held twice") > 0);
}
