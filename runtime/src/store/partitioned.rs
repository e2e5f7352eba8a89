//! Tests of a store that keeps its trees per partition (see `state`): each partition's rows
//! apart, reads that find a key in whichever partition holds it and merge the partitions in
//! key order, the rules on shared trees, and the layout kept in the store.

use events::inventory::StockReserved;
use events::partition::Partitions;
use events::{Envelope, Event, Timestamp};
use proptest::prelude::*;

use super::state::{TreeSet, partition_key};
use super::test_support::{THINGS, Things};
use super::{Store, StoreError};
use crate::handler::Incoming;
use crate::store::batch::Outcome;
use crate::store::outbox::Producer;

fn four() -> Partitions {
    Partitions::new(4).expect("4 partitions")
}

fn trees(shared: &'static [&'static str], partitions: Option<Partitions>) -> TreeSet<'static> {
    TreeSet {
        names: &[THINGS],
        local: &[],
        shared,
        partitions,
    }
}

fn reserved(order_id: &str) -> Incoming {
    let event: Event = StockReserved {
        order_id: order_id.to_owned(),
        lines: vec![events::inventory::StockLine {
            sku: "sku-1".into(),
            quantity: 1,
        }],
    }
    .into();
    Incoming {
        envelope: Envelope::new(event.event_type(), Timestamp::UNIX_EPOCH, "test", order_id),
        subject: String::new(),
        event,
        stream_sequence: 1,
        now: Timestamp::UNIX_EPOCH,
        history: Vec::new(),
        partition: None,
    }
}

fn producer() -> Producer {
    Producer {
        name: "test".into(),
        subjects: events::Subjects::default(),
    }
}

proptest! {
    #[test]
    fn each_key_is_kept_in_its_partition_and_reads_see_every_partition_in_key_order(
        keys in proptest::collection::btree_set("[a-z0-9-]{1,12}", 1..40),
        after in "[a-z0-9-]{0,6}",
    ) {
        let store = Store::open_temporary(trees(&[], Some(four()))).unwrap();
        let batch: Vec<Incoming> = keys.iter().map(|key| reserved(key)).collect();
        store.fold_batch(&Things, &batch).unwrap();
        let raw = store.tree(THINGS).unwrap();
        prop_assert_eq!(raw.len(), keys.len());
        for key in &keys {
            let stored = partition_key(four().of(key).index(), key.as_bytes());
            prop_assert!(raw.contains_key(stored).unwrap(), "{} behind its partition", key);
            prop_assert_eq!(store.read::<u64>(THINGS, key.as_bytes()).unwrap(), Some(1));
        }
        let all: Vec<String> = crate::tree::Tree::<u64>::new(THINGS)
            .entries(&store)
            .unwrap()
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        prop_assert_eq!(&all, &keys.iter().cloned().collect::<Vec<_>>());
        let later: Vec<Vec<u8>> = store
            .read_after::<u64>(THINGS, Some(after.as_bytes()))
            .unwrap()
            .map(|entry| entry.unwrap().0)
            .collect();
        let expected: Vec<Vec<u8>> = keys
            .iter()
            .filter(|key| key.as_str() > after.as_str())
            .map(|key| key.as_bytes().to_vec())
            .collect();
        prop_assert_eq!(later, expected);
    }
}

#[test]
fn an_event_for_every_partition_cannot_write_a_partitioned_tree() {
    let store = Store::open_temporary(trees(&[], Some(four()))).unwrap();
    // no partition: an event routed to every partition (reference data)
    let (outcomes, _) = store
        .apply_batch(&Things, &producer(), &[reserved("o-1")])
        .unwrap();
    let [Outcome::Invalid(reason)] = outcomes.as_slice() else {
        panic!("expected a refusal, got {outcomes:?}")
    };
    assert!(reason.contains("kept per partition"), "{reason}");
    assert!(store.tree(THINGS).unwrap().is_empty());
}

#[test]
fn an_event_for_one_partition_cannot_write_a_shared_tree() {
    let store = Store::open_temporary(trees(&[THINGS], Some(four()))).unwrap();
    let mut incoming = reserved("o-1");
    incoming.partition = Some((four().of("o-1"), 0));
    let (outcomes, _) = store
        .apply_batch(&Things, &producer(), &[incoming])
        .unwrap();
    let [Outcome::Invalid(reason)] = outcomes.as_slice() else {
        panic!("expected a refusal, got {outcomes:?}")
    };
    assert!(reason.contains("shared by every partition"), "{reason}");
    // the same fact for every partition is what a shared tree is for
    let (outcomes, _) = store
        .apply_batch(&Things, &producer(), &[reserved("o-2")])
        .unwrap();
    assert_eq!(outcomes, [Outcome::Applied { emitted: 0 }]);
    assert_eq!(store.read::<u64>(THINGS, b"o-2").unwrap(), Some(1));
}

/// Opens a store just dropped: sled's flusher thread lets go of the file lock a moment after
/// the last handle goes, so a lock error is retried for up to 2 s.
fn once_released(open: impl Fn() -> Result<Store, StoreError>) -> Result<Store, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match open() {
            Err(StoreError::Open { source, .. })
                if source.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            opened => return opened,
        }
    }
}

#[test]
fn a_store_kept_whole_is_refused_by_a_service_that_keeps_partitions_until_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let open = |partitions| {
        once_released(|| Store::open_service(dir.path(), 1 << 20, trees(&[], partitions)))
    };
    drop(open(None).unwrap());
    let error = open(Some(four())).unwrap_err();
    assert!(matches!(error, StoreError::Layout { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("keeps its trees whole") && message.contains("rebuild"),
        "{message}"
    );
    // and a reader learns the layout from the store itself
    drop(open(None).unwrap());
    let reader = once_released(|| Store::open(dir.path(), 1 << 20, &[THINGS])).unwrap();
    assert_eq!(reader.tree_set().partitions, None);
}

#[test]
fn a_partitioned_store_says_so_to_a_reader() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_service(dir.path(), 1 << 20, trees(&[], Some(four()))).unwrap();
    let mut incoming = reserved("o-7");
    incoming.partition = Some((four().of("o-7"), 0));
    store
        .apply_batch(&Things, &producer(), &[incoming])
        .unwrap();
    drop(store);
    let reader = once_released(|| Store::open(dir.path(), 1 << 20, &[THINGS])).unwrap();
    assert_eq!(reader.tree_set().partitions, Some(four()));
    assert_eq!(reader.read::<u64>(THINGS, b"o-7").unwrap(), Some(1));
    drop(reader);
    let error = once_released(|| {
        Store::open_service(dir.path(), 1 << 20, trees(&[], Some(Partitions::default())))
    })
    .unwrap_err();
    assert!(error.to_string().contains("in 4 partitions"), "{error}");
}

#[test]
fn clearing_a_partition_deletes_its_rows_and_marks_and_nothing_else() {
    let store = Store::open_temporary(trees(&[], Some(four()))).unwrap();
    let batch: Vec<Incoming> = (0..40).map(|n| reserved(&format!("o-{n}"))).collect();
    store.fold_batch(&Things, &batch).unwrap();
    let all: Vec<_> = four().all().collect();
    let (cleared, kept) = (all[0], &all[1..]);
    let inbox = &store.trees[super::INBOX];
    for index in [cleared.index(), kept[0].index(), super::state::EVERYWHERE] {
        inbox
            .insert(partition_key(index, b"event-1"), b"1")
            .unwrap();
    }
    let kept_digests: Vec<u64> = kept
        .iter()
        .map(|p| store.digest_partition(*p).unwrap())
        .collect();
    store.set_partition_claim(cleared, 17).unwrap();
    assert_eq!(store.partition_claim(cleared).unwrap(), Some(17));
    assert_eq!(store.partition_claim(kept[0]).unwrap(), None);

    let removed = store.clear_partition(cleared).unwrap();
    let in_cleared = batch
        .iter()
        .filter(|incoming| four().of(&incoming.envelope.correlation_id) == cleared)
        .count();
    assert!(in_cleared > 0);
    assert_eq!(removed, in_cleared + 1, "its rows and its one inbox mark");
    assert_eq!(inbox.len(), 2, "the marks of the other partitions stay");
    let raw = store.tree(THINGS).unwrap();
    let prefix = partition_key(cleared.index(), &[]);
    assert_eq!(raw.scan_prefix(&prefix).count(), 0);
    assert_eq!(raw.len(), 40 - in_cleared);
    let after: Vec<u64> = kept
        .iter()
        .map(|p| store.digest_partition(*p).unwrap())
        .collect();
    assert_eq!(after, kept_digests, "the other partitions are untouched");
    assert_eq!(
        store.partition_claim(cleared).unwrap(),
        None,
        "the claim goes too"
    );
}
