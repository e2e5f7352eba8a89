//! Issue 10's paths where an order used to get stuck, money stayed held or an event vanished,
//! each against a real broker and real stores: dead letters that collided or vanished,
//! derived ids that outgrew the id limit, requests that got no answer, rebuilds that forgot,
//! a lost store, and storage that kept failing.

use std::time::Duration;

use events::api::{CustomerRequest, OrderRequest, PlaceOrder, SkuRequest};
use events::header;
use runtime::ApiError;
use testkit::streams::{header_of, read_stream};
use testkit::{TestShop, wait};

/// The consumer named on each dead letter.
async fn dead_letter_consumers(shop: &TestShop) -> Vec<String> {
    read_stream(&shop.bed.js, &shop.bed.dead_letter_stream())
        .await
        .iter()
        .filter_map(|letter| header_of(letter, header::DLQ_CONSUMER).map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_message_three_services_consume_gives_three_dead_letters() {
    let shop = TestShop::start().await;
    shop.publish_garbage_cancellation("bad-1").await;
    wait::until("three dead letters", Duration::from_secs(30), || async {
        dead_letter_consumers(&shop).await.len() >= 3
    })
    .await;
    shop.wait_until_quiet().await;
    let mut consumers = dead_letter_consumers(&shop).await;
    consumers.sort();
    assert_eq!(consumers, ["inventory", "shipping", "support"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_message_is_lost_while_the_dead_letter_stream_is_unwritable() {
    let shop = TestShop::start_with(stack::SERVICES, |config| config.runtime.max_deliver = 2).await;
    shop.wait_until_quiet().await;
    let dlq = shop.bed.dead_letter_stream();
    shop.bed.js.delete_stream(&dlq).await.expect("delete dlq");
    for n in 0..5 {
        shop.publish_garbage_cancellation(&format!("bad-{n}")).await;
    }
    // the dead-letter stream stays away for longer than max_deliver redeliveries take (a nak
    // waits 1 s): JetStream's own max_deliver would have dropped every message by now
    tokio::time::sleep(Duration::from_secs(4)).await;
    runtime::nats::ensure_streams(&shop.bed.js, &shop.bed.subjects, 1)
        .await
        .expect("dlq back");
    wait::until(
        "every dead letter lands",
        Duration::from_secs(30),
        || async { dead_letter_consumers(&shop).await.len() >= 15 },
    )
    .await;
    shop.wait_until_quiet().await;
    assert_eq!(
        dead_letter_consumers(&shop).await.len(),
        15,
        "5 messages × 3 consumers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_id_of_128_characters_completes_and_holds_no_credit() {
    let shop = TestShop::start().await;
    shop.seed(3).await;
    let order_id = "o".repeat(events::validate::MAX_ID_LEN);
    let request = PlaceOrder {
        customer_id: "rich".into(),
        items: vec![events::api::Item {
            sku: "TEA".into(),
            quantity: 1,
        }],
        order_id: Some(order_id.clone()),
    };
    shop.api
        .call::<_, events::api::Order>("orders", "place", &request)
        .await
        .expect("place");
    let done = shop.wait_terminal(&order_id, Duration::from_secs(30)).await;
    assert_eq!(done.status, "completed", "{done:?}");
    shop.wait_until_quiet().await;
    assert_eq!(shop.account("rich").await.held_minor, 0);
    assert_eq!(shop.net_captures().get(&order_id), Some(&1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_id_with_a_line_break_gets_an_answer() {
    let shop = TestShop::start().await;
    let bad = "nl\nx".to_owned();
    let order = OrderRequest {
        order_id: bad.clone(),
    };
    let sku = SkuRequest { sku: bad.clone() };
    let customer = CustomerRequest { customer_id: bad };
    let answers: Vec<(&str, Result<serde_json::Value, ApiError>)> = vec![
        ("orders.get", shop.api.call("orders", "get", &order).await),
        (
            "shipping.get",
            shop.api.call("shipping", "get", &order).await,
        ),
        ("catalog.get", shop.api.call("catalog", "get", &sku).await),
        (
            "inventory.get",
            shop.api.call("inventory", "get", &sku).await,
        ),
        (
            "payments.get_account",
            shop.api.call("payments", "get_account", &customer).await,
        ),
        (
            "orders.cart_show",
            shop.api.call("orders", "cart_show", &customer).await,
        ),
    ];
    for (endpoint, answer) in answers {
        match answer {
            Err(error) => assert_eq!(error.code, 400, "{endpoint}: {error}"),
            Ok(value) => panic!("{endpoint} accepted a bad id: {value}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_keeps_the_events_that_arrived_while_the_service_was_stopped() {
    let mut shop = TestShop::start_with(stack::SERVICES, |config| {
        config.orders.reservation_timeout_ms = 60_000;
    })
    .await;
    shop.seed(3).await;
    shop.stop_service("inventory").await;
    let order = shop.place("rich", &[("MUG", 1)]).await.expect("place");
    let report = stack::rebuild("inventory", &shop.config)
        .await
        .expect("rebuild");
    assert!(report.pending >= 1, "orders.placed is pending: {report:?}");
    shop.start_service("inventory").await;
    let done = shop
        .wait_terminal(&order.order_id, Duration::from_secs(30))
        .await;
    assert_eq!(done.status, "completed", "{done:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_keeps_pending_timers() {
    let mut shop = TestShop::start_with(stack::SERVICES, |config| {
        config.shipping.ship_delay_ms = 3_000;
    })
    .await;
    shop.seed(3).await;
    let order = shop.place("rich", &[("TEA", 1)]).await.expect("place");
    wait::until(
        "the order is confirmed",
        Duration::from_secs(30),
        || async { shop.order(&order.order_id).await.status == "confirmed" },
    )
    .await;
    wait::until(
        "shipping has its ship timer",
        Duration::from_secs(30),
        || async {
            shop.status("shipping")
                .await
                .is_ok_and(|stats| stats.pending_timers > 0)
        },
    )
    .await;
    shop.stop_service("shipping").await;
    stack::rebuild("shipping", &shop.config)
        .await
        .expect("rebuild");
    shop.start_service("shipping").await;
    let done = shop
        .wait_terminal(&order.order_id, Duration::from_secs(30))
        .await;
    assert_eq!(done.status, "completed", "{done:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_whose_store_was_lost_refuses_to_start_and_says_how_to_rebuild() {
    let mut shop = TestShop::start().await;
    shop.seed(3).await;
    let order = shop.place("rich", &[("TEA", 1)]).await.expect("place");
    shop.wait_terminal(&order.order_id, Duration::from_secs(30))
        .await;
    shop.stop_service("inventory").await;
    let store_dir = shop
        .config
        .service_config("inventory")
        .store_dir("inventory");
    std::fs::remove_dir_all(&store_dir).expect("lose the store");
    let refused = shop
        .stack
        .start_service("inventory")
        .await
        .expect_err("a new store must not resume the old consumer");
    let message = format!("{refused:#}");
    assert!(message.contains("rebuild"), "{message}");
    // and the rebuild is the way back
    stack::rebuild("inventory", &shop.config)
        .await
        .expect("rebuild");
    shop.start_service("inventory").await;
    let sold = wait::until_some("inventory answers", Duration::from_secs(30), || async {
        shop.api
            .call::<_, events::api::StockLevel>(
                "inventory",
                "get",
                &SkuRequest { sku: "TEA".into() },
            )
            .await
            .ok()
            .map(|level| level.sold)
    })
    .await;
    assert_eq!(sold, 1, "the rebuilt store has the sale");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_whose_storage_keeps_failing_exits_non_zero() {
    let shop = TestShop::start_with(
        &["catalog", "orders", "payments", "shipping", "support"],
        |_| {},
    )
    .await;
    let mut inventory = shop.service_process(
        "inventory",
        &[
            ("SHOP_FAILPOINT_STORAGE_FULL_AFTER", "1"),
            ("RUST_LOG", "info"),
        ],
    );
    shop.wait_for_service(
        "inventory",
        &[events::Context::Catalog, events::Context::Orders],
    )
    .await;
    // listings inventory must fold: its first batch commits, every one after it fails; one
    // listing after another (one batch may carry several), until inventory gives up
    for n in 0..600 {
        if !inventory.is_running() {
            break;
        }
        let product = events::api::AddProduct {
            sku: format!("SKU-{n}"),
            name: format!("product {n}"),
            description: String::new(),
            price_minor: 100,
            currency: "EUR".into(),
        };
        shop.api
            .call::<_, serde_json::Value>("catalog", "add", &product)
            .await
            .expect("add product");
        // a deliberate pause: each listing reaches inventory in a batch of its own
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stopped = testkit::wait_until(Duration::from_secs(60), || !inventory.is_running());
    assert!(stopped, "inventory kept running on a failing store");
    let status = inventory
        .terminate(Duration::from_secs(1))
        .expect("exit status");
    assert!(!status.success(), "{status:?}");
}
