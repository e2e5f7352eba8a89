//! API requests reach the instance that holds their key's partition (docs/scaling.md, "How an
//! API request reaches its owner"): with two instances sharing the example's partitions, each
//! command is decided once, by the owner, whichever instance the queue group gave it to; a
//! query is answered from the owner's store; a request for a partition that is moving is
//! answered once its new owner has it; a list merges every partition in key order and a
//! lookup finds a key wherever it is held.

use events::partition::Partitions;
use runtime::ApiClient;
use runtime::example::{APPLIED_TREE, AppliedCount, AppliedPage, ListRequest, OrderRequest};
use testkit::TestBed;
use testkit::streams::message_count;

use crate::helpers::{ExampleBed, held_by, holders, two_instances};

const ORDERS: usize = 40;

async fn call(api: &ApiClient, verb: &str, order_id: &str) -> AppliedCount {
    let request = OrderRequest {
        order_id: order_id.to_owned(),
    };
    api.call("example", verb, &request)
        .await
        .unwrap_or_else(|error| panic!("{verb} {order_id}: {error}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_and_queries_are_answered_by_the_owner_of_their_partition() {
    let bed = TestBed::start().await;
    let (first, second) = two_instances(&bed).await;
    let owners = holders(&bed).await;
    let api = ApiClient::new(bed.client.clone(), bed.subjects.clone());
    let partitions = Partitions::default();
    let order_ids: Vec<String> = (0..ORDERS).map(|n| format!("api-{n}")).collect();
    for order_id in &order_ids {
        assert_eq!(
            call(&api, "reserve", order_id).await.applied,
            1,
            "{order_id}"
        );
    }
    for order_id in &order_ids {
        let owner = &owners[&partitions.of(order_id).index()];
        let (mine, theirs) = match owner.as_str() {
            "example-1" => (&first.store, &second.store),
            _ => (&second.store, &first.store),
        };
        assert_eq!(
            APPLIED_TREE.get(mine, order_id).unwrap(),
            Some(1),
            "{order_id} in {owner}"
        );
        assert_eq!(
            APPLIED_TREE.get(theirs, order_id).unwrap(),
            None,
            "{order_id} elsewhere"
        );
        // asked of either instance, the answer is the owner's
        for _ in 0..4 {
            assert_eq!(
                call(&api, "applied", order_id).await.applied,
                1,
                "{order_id}"
            );
        }
    }
    assert_eq!(
        message_count(&bed.js, &bed.output_stream()).await,
        ORDERS as u64,
        "each command decided once"
    );

    // the second instance leaves: a command for one of its partitions, sent at once, waits
    // for the first to take the partition over and is answered by it
    let theirs = held_by(&bed).await["example-2"].clone();
    let moving = (0..)
        .map(|n| format!("moving-{n}"))
        .find(|order_id| theirs.contains(&partitions.of(order_id).index()))
        .expect("an order of a moving partition");
    second.stop().await;
    assert_eq!(call(&api, "reserve", &moving).await.applied, 1);
    assert_eq!(APPLIED_TREE.get(&first.store, &moving).unwrap(), Some(1));
    first.stop().await;
}

/// The last key of a page, from the cursor that points after it (lower-case hex).
fn cursor_key(cursor: &str) -> String {
    let bytes: Vec<u8> = (0..cursor.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&cursor[at..at + 2], 16).expect("hex"))
        .collect();
    String::from_utf8(bytes).expect("a key")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_and_lookups_see_every_partition_wherever_it_is_held() {
    let bed = TestBed::start().await;
    let (first, second) = two_instances(&bed).await;
    let api = ApiClient::new(bed.client.clone(), bed.subjects.clone());
    let mut order_ids: Vec<String> = (0..ORDERS).map(|n| format!("list-{n}")).collect();
    for order_id in &order_ids {
        call(&api, "reserve", order_id).await;
    }
    order_ids.sort();
    // every page, asked of either instance, is in key order over both instances' partitions
    for _ in 0..3 {
        let (mut cursor, mut seen, mut last_keys) = (None, Vec::new(), Vec::new());
        loop {
            let request = ListRequest {
                cursor: cursor.clone(),
                limit: Some(7),
            };
            let page: AppliedPage = api.call("example", "list", &request).await.expect("list");
            assert!(page.applied.len() <= 7);
            seen.extend(page.applied);
            match page.next_cursor {
                Some(next) => {
                    last_keys.push(cursor_key(&next));
                    cursor = Some(next);
                }
                None => break,
            }
        }
        assert_eq!(seen, vec![1; ORDERS], "every order once");
        let expected: Vec<String> = order_ids.iter().skip(6).step_by(7).cloned().collect();
        assert_eq!(last_keys, expected, "pages end where key order says");
    }
    // a lookup by key finds the order in whichever instance holds it
    for order_id in &order_ids {
        assert_eq!(call(&api, "find", order_id).await.applied, 1, "{order_id}");
    }
    assert_eq!(call(&api, "find", "never-reserved").await.applied, 0);
    first.stop().await;
    second.stop().await;
}
