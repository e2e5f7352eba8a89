//! List endpoints answer in pages: with more tickets than one 1 MiB reply could carry (the
//! test broker's `max_payload`), every `support.list` page fits, and following the cursors of
//! `support.list`, `orders.list` and `catalog.list` gives every item exactly once, in key
//! order; a bad `limit` or `cursor` is a 400, and `{}` is still a whole request.

use std::collections::BTreeSet;

use events::api::{AddProduct, MAX_PAGE_BYTES, MAX_PAGE_LIMIT, OpenTicket, Ticket};
use serde_json::{Value, json};
use testkit::TestShop;

/// The broker's default `max_payload`, which the test broker keeps.
const MAX_PAYLOAD: usize = 1024 * 1024;

/// Room for a reply's own JSON around its items: the braces, the list's name, `next_cursor`.
const REPLY_OVERHEAD: usize = 1024;

/// One reply: its size in bytes, the ids of its items, its `next_cursor`.
struct Page {
    bytes: usize,
    ids: Vec<String>,
    next_cursor: Option<String>,
}

/// Asks `<service>.list` for one page: `request` with `cursor` added when given.
async fn page(shop: &TestShop, service: &str, request: &Value, cursor: Option<&str>) -> Page {
    let mut request = request.clone();
    if let Some(cursor) = cursor {
        request["cursor"] = json!(cursor);
    }
    let body = serde_json::to_vec(&request).expect("request");
    let reply = shop
        .api
        .call_raw(service, "list", body)
        .await
        .unwrap_or_else(|error| panic!("{service}.list {request}: {error}"));
    let bytes = reply.len();
    let reply: Value = serde_json::from_slice(&reply).expect("reply is JSON");
    let (items, id) = match service {
        "support" => ("tickets", "ticket_id"),
        "orders" => ("orders", "order_id"),
        _ => ("products", "sku"),
    };
    let ids = reply[items]
        .as_array()
        .expect("a list of items")
        .iter()
        .map(|item| item[id].as_str().expect("an id").to_owned())
        .collect();
    Page {
        bytes,
        ids,
        next_cursor: reply["next_cursor"].as_str().map(str::to_owned),
    }
}

/// Every page from the first to the one whose `next_cursor` is null.
async fn every_page(shop: &TestShop, service: &str, request: Value) -> Vec<Page> {
    let mut pages = vec![page(shop, service, &request, None).await];
    while let Some(cursor) = pages.last().and_then(|page| page.next_cursor.clone()) {
        pages.push(page(shop, service, &request, Some(&cursor)).await);
        assert!(
            pages.len() < 1000,
            "{service}.list never reaches its last page"
        );
    }
    pages
}

/// The ids of all pages in the order they came, checking that none came twice.
fn ids_once(pages: &[Page]) -> Vec<String> {
    let ids: Vec<String> = pages.iter().flat_map(|page| page.ids.clone()).collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an item came twice: {ids:?}");
    ids
}

fn sizes(pages: &[Page]) -> Vec<usize> {
    pages.iter().map(|page| page.ids.len()).collect()
}

/// Opens `count` customer tickets with `message_bytes`-long messages on three orders; their ids.
async fn open_tickets(shop: &TestShop, count: usize, message_bytes: usize) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for n in 0..count {
        let request = OpenTicket {
            customer_id: "rich".into(),
            order_id: format!("order-{}", n % 3),
            message: format!("{n:>message_bytes$}"),
        };
        let ticket: Ticket = shop
            .api
            .call("support", "open", &request)
            .await
            .expect("open");
        ids.insert(ticket.ticket_id);
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_larger_than_one_reply_come_in_pages_that_each_fit() {
    let shop = TestShop::start_with(&["support"], |_| {}).await;
    // started is not yet answering: the broker may not have its endpoints' subscriptions
    shop.wait_for_service("support", &[]).await;
    // 24 tickets of ~50 KB: 1.2 MB of JSON, more than one 1 MiB reply can hold
    let opened = open_tickets(&shop, 24, 50_000).await;

    for limit in [None, Some(MAX_PAGE_LIMIT)] {
        let pages = every_page(&shop, "support", json!({ "limit": limit })).await;
        let total: usize = pages.iter().map(|page| page.bytes).sum();
        assert!(
            total > MAX_PAYLOAD,
            "the tickets must not fit one reply: {total}"
        );
        for page in &pages {
            assert!(
                page.bytes <= MAX_PAGE_BYTES + REPLY_OVERHEAD,
                "{}",
                page.bytes
            );
        }
        assert_eq!(
            sizes(&pages),
            [10, 10, 4],
            "10 tickets of ~50 KB fit in 512 KiB"
        );
        let ids = ids_once(&pages);
        assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), opened);
        assert!(ids.is_sorted(), "ticket id order");
    }

    // small pages of one order's tickets: exactly its 8, three at a time
    let pages = every_page(&shop, "support", json!({"order_id": "order-1", "limit": 3})).await;
    assert_eq!(sizes(&pages), [3, 3, 2]);
    assert_eq!(ids_once(&pages).len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_and_products_come_in_pages_in_key_order_each_once() {
    let shop = TestShop::start().await;
    shop.seed(100).await;
    for sku in ["CUP", "POT", "SPOON", "TRAY"] {
        let product = AddProduct {
            sku: sku.into(),
            name: sku.to_lowercase(),
            description: String::new(),
            price_minor: 500,
            currency: "EUR".into(),
        };
        let _: Value = shop
            .api
            .call("catalog", "add", &product)
            .await
            .expect("add");
    }
    let products = every_page(&shop, "catalog", json!({"limit": 2})).await;
    assert_eq!(sizes(&products), [2, 2, 2, 1]);
    let skus = ids_once(&products);
    assert_eq!(
        skus,
        ["CUP", "KETTLE", "MUG", "POT", "SPOON", "TEA", "TRAY"]
    );

    let mut placed = Vec::new();
    for _ in 0..7 {
        placed.push(
            shop.place("rich", &[("TEA", 1)])
                .await
                .expect("place")
                .order_id,
        );
    }
    let orders = every_page(&shop, "orders", json!({"limit": 3})).await;
    assert_eq!(sizes(&orders), [3, 3, 1]);
    // UUIDv7 order ids: key order is placing order (to the millisecond)
    let ids = ids_once(&orders);
    assert!(ids.is_sorted());
    assert_eq!(BTreeSet::from_iter(ids), BTreeSet::from_iter(placed));
    let of_rich = every_page(&shop, "orders", json!({"customer_id": "rich", "limit": 7})).await;
    assert_eq!(sizes(&of_rich), [7], "a full last page has no next page");
    let of_poor = every_page(&shop, "orders", json!({"customer_id": "poor"})).await;
    assert_eq!(sizes(&of_poor), [0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_limit_or_cursor_is_a_400_and_an_empty_request_is_the_first_page() {
    let services = ["catalog", "orders", "support"];
    let shop = TestShop::start_with(&services, |_| {}).await;
    for service in services {
        shop.wait_for_service(service, &[]).await;
    }
    let too_many = MAX_PAGE_LIMIT + 1;
    let bad: [(&str, &str); 5] = [
        (r#"{"limit": 0}"#, "limit must be between 1 and 1000, got 0"),
        (&format!(r#"{{"limit": {too_many}}}"#), "got 1001"),
        (r#"{"limit": -1}"#, "malformed request"),
        (r#"{"cursor": "not a cursor"}"#, "is not a next_cursor"),
        (r#"{"cursor": ""}"#, "is not a next_cursor"),
    ];
    for service in services {
        for (request, message) in &bad {
            let body = request.as_bytes().to_vec();
            let error = shop
                .api
                .call_raw(service, "list", body)
                .await
                .expect_err(request);
            assert_eq!(error.code, 400, "{service}.list {request}: {error}");
            assert!(error.message.contains(message), "{service}: {error}");
        }
        for request in [&b""[..], b"{}", br#"{"limit": null, "cursor": null}"#] {
            let reply = shop.api.call_raw(service, "list", request.to_vec()).await;
            let reply: Value = serde_json::from_slice(&reply.expect("first page")).expect("JSON");
            assert_eq!(reply["next_cursor"], Value::Null, "{service}: {reply}");
        }
    }
}
