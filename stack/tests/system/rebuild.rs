//! Every service's store rebuilt from the streams equals the live one (digest of every tree:
//! folded trees by construction, local trees carried over), after a workload with every saga
//! path, an order cancelled before it was placed, a cart left open, and every event in its
//! stream twice; and the service runs on the rebuilt store afterwards.

use std::time::Duration;

use runtime::Store;

use testkit::TestShop;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_rebuilt_from_the_streams_equals_its_live_store() {
    let mut shop = TestShop::start_with(stack::SERVICES, |config| {
        config.orders.payment_timeout_ms = 1_000;
        config.orders.reservation_timeout_ms = 1_000;
    })
    .await;
    shop.seed(3).await;
    // every path: completed, declined, out of stock, and a late authorization voided
    let completed = shop
        .place("rich", &[("TEA", 1), ("MUG", 1)])
        .await
        .expect("place");
    let declined = shop.place("poor", &[("KETTLE", 1)]).await.expect("place");
    let rejected = shop.place("rich", &[("KETTLE", 5)]).await.expect("place");
    for order in [&completed, &declined, &rejected] {
        shop.wait_terminal(&order.order_id, Duration::from_secs(30))
            .await;
    }
    shop.stack
        .stop_service("payments")
        .await
        .expect("payments down");
    let late = shop.place("rich", &[("MUG", 1)]).await.expect("place");
    shop.wait_terminal(&late.order_id, Duration::from_secs(30))
        .await;
    shop.stack
        .start_service("payments")
        .await
        .expect("payments back");
    let ticket = events::api::OpenTicket {
        customer_id: "rich".into(),
        order_id: completed.order_id.clone(),
        message: "thanks".into(),
    };
    let opened: events::api::Ticket = shop
        .api
        .call("support", "open", &ticket)
        .await
        .expect("ticket");
    // the timeline is read from the four streams when the ticket opens
    let story: Vec<&str> = (opened.timeline.iter())
        .map(|entry| entry.event_type.as_str())
        .collect();
    for expected in [
        "orders.placed",
        "inventory.stock_reserved",
        "payments.authorized",
        "orders.confirmed",
        "shipping.shipped",
        "payments.captured",
        "orders.completed",
    ] {
        assert!(story.contains(&expected), "{expected} in {story:?}");
    }
    let resolve = events::api::ResolveTicket {
        ticket_id: opened.ticket_id,
        resolution: "done".into(),
    };
    shop.api
        .call::<_, events::api::Ticket>("support", "resolve", &resolve)
        .await
        .expect("resolve");
    // a cancellation that arrives before its order: inventory records a tombstone, the late
    // order reserves nothing and its saga times out
    let early = events::orders::OrderCancelled {
        order_id: "early-1".into(),
        customer_id: "rich".into(),
        reason: events::orders::CancellationReason::PaymentDeclined,
        detail: "cancelled before it was placed".into(),
    };
    shop.publish_event(&early.into(), "orders").await;
    shop.wait_until_quiet().await;
    let late_order = events::api::PlaceOrder {
        customer_id: "rich".into(),
        items: vec![events::api::Item {
            sku: "TEA".into(),
            quantity: 1,
        }],
        order_id: Some("early-1".into()),
    };
    shop.api
        .call::<_, events::api::Order>("orders", "place", &late_order)
        .await
        .expect("place early-1");
    assert_eq!(
        shop.wait_terminal("early-1", Duration::from_secs(30))
            .await
            .status,
        "cancelled"
    );
    // a cart left open: local state, carried over by the rebuild
    let cart = events::api::CartAdd {
        customer_id: "poor".into(),
        sku: "MUG".into(),
        quantity: 2,
    };
    shop.api
        .call::<_, events::api::Cart>("orders", "cart_add", &cart)
        .await
        .expect("cart");
    shop.wait_until_quiet().await;
    // every event twice in its stream (the live stores skip them by event id)
    let republished = shop.republish_everything().await;
    assert!(republished > 40, "only {republished} events");
    shop.wait_until_quiet().await;

    for service in stack::SERVICES {
        let runtime_config = shop.config.service_config(service);
        shop.stack.stop_service(service).await.expect("stop");
        let live = {
            let trees = stack::trees(service).expect("service");
            let store = Store::open(&runtime_config.store_dir(service), 8 * 1024 * 1024, trees)
                .expect("live store");
            store.digest().expect("digest")
        };
        let report = stack::rebuild(service, &shop.config)
            .await
            .expect("rebuild");
        assert!(report.events > 0, "{service}: nothing read");
        assert_eq!(
            report.digest, live,
            "{service}: the rebuilt store differs from the live one"
        );
        shop.stack
            .start_service(service)
            .await
            .expect("start on the rebuilt store");
    }

    let show = events::api::CustomerRequest {
        customer_id: "poor".into(),
    };
    let kept: events::api::Cart = shop
        .api
        .call("orders", "cart_show", &show)
        .await
        .expect("cart");
    assert_eq!(kept.items.len(), 1, "the open cart survived the rebuild");

    // the shop works on its rebuilt stores
    let after = shop
        .place("rich", &[("TEA", 1)])
        .await
        .expect("place after rebuild");
    assert_eq!(
        shop.wait_terminal(&after.order_id, Duration::from_secs(30))
            .await
            .status,
        "completed"
    );
}
