//! Deadlines through completion: a shipment or a capture that does not happen is retried,
//! then the order is parked (`needs_attention`) with a support ticket, and an operator's
//! `orders.retry` or `orders.cancel` does what it says, once, even when called twice.

use std::time::Duration;

use events::api::Order;
use events::orders::PaymentVoidRequested;
use testkit::{TestShop, wait};

async fn wait_status(shop: &TestShop, order_id: &str, status: &str) -> Order {
    wait::until_some(
        &format!("order {order_id} {status}"),
        Duration::from_secs(30),
        || async {
            let order = shop.order(order_id).await;
            (order.status == status).then_some(order)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipment_that_never_happens_is_retried_then_parked_and_a_retry_completes_it() {
    let mut shop = TestShop::start_with(stack::SERVICES, |config| {
        config.orders.shipment_timeout_ms = 300;
        config.orders.max_retries = 1;
    })
    .await;
    shop.seed(3).await;
    shop.stop_service("shipping").await;
    let order = shop.place("rich", &[("TEA", 1)]).await.expect("place");
    let parked = wait_status(&shop, &order.order_id, "needs_attention").await;
    assert!(
        parked
            .reason
            .as_deref()
            .is_some_and(|reason| reason.contains("shipping")),
        "{parked:?}"
    );
    let ticket = wait::until_some(
        "a ticket for the parked order",
        Duration::from_secs(30),
        || shop.system_ticket(&order.order_id),
    )
    .await;
    assert!(
        ticket.message.contains("needs attention"),
        "{}",
        ticket.message
    );
    assert_eq!(
        shop.operator("cancel", "no-such-order")
            .await
            .map(|_| ())
            .map_err(|e| e.code),
        Err(404)
    );

    let retried = shop
        .operator("retry", &order.order_id)
        .await
        .expect("retry");
    assert_eq!(retried.status, "confirmed");
    let again = shop
        .operator("retry", &order.order_id)
        .await
        .expect("retry again");
    assert_eq!(again.status, "confirmed", "a second retry changes nothing");
    shop.start_service("shipping").await;
    let done = shop
        .wait_terminal(&order.order_id, Duration::from_secs(30))
        .await;
    assert_eq!(done.status, "completed", "{done:?}");
    shop.wait_until_quiet().await;
    assert_eq!(shop.net_captures().get(&order.order_id), Some(&1));
    assert_eq!(shop.account("rich").await.held_minor, 0);
    let shipments = shop
        .order_events(&order.order_id)
        .await
        .iter()
        .filter(|(envelope, _)| envelope.event_type == events::EventType::ShipmentCreated)
        .count();
    assert_eq!(shipments, 1, "one shipment, however often it was asked for");
    let cancel_completed = shop.operator("cancel", &order.order_id).await;
    assert_eq!(cancel_completed.map(|_| ()).map_err(|e| e.code), Err(409));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_payments_cannot_make_parks_the_order_and_a_cancel_releases_everything_once() {
    let shop = TestShop::start_with(stack::SERVICES, |config| {
        config.shipping.ship_delay_ms = 2_000;
    })
    .await;
    shop.seed(3).await;
    let order = shop.place("rich", &[("MUG", 1)]).await.expect("place");
    wait_status(&shop, &order.order_id, "confirmed").await;
    // the authorization goes away before the parcel ships (as a stray void would do it)
    let void = PaymentVoidRequested {
        order_id: order.order_id.clone(),
        authorization_id: format!("auth-{}", order.order_id),
    };
    shop.publish_event(&void.into(), "orders").await;
    let parked = wait_status(&shop, &order.order_id, "needs_attention").await;
    assert!(
        parked
            .reason
            .as_deref()
            .is_some_and(|reason| reason.contains("cannot capture")),
        "{parked:?}"
    );
    wait::until_some(
        "a ticket for the parked order",
        Duration::from_secs(30),
        || shop.system_ticket(&order.order_id),
    )
    .await;

    let cancelled = shop
        .operator("cancel", &order.order_id)
        .await
        .expect("cancel");
    assert_eq!(cancelled.status, "cancelled");
    let again = shop
        .operator("cancel", &order.order_id)
        .await
        .expect("cancel again");
    assert_eq!(again.status, "cancelled", "a second cancel changes nothing");
    shop.wait_until_quiet().await;
    assert_eq!(
        shop.net_captures()
            .get(&order.order_id)
            .copied()
            .unwrap_or(0),
        0
    );
    let account = shop.account("rich").await;
    assert_eq!((account.held_minor, account.captured_minor), (0, 0));
    let cancellations = shop
        .order_events(&order.order_id)
        .await
        .iter()
        .filter(|(envelope, _)| envelope.event_type == events::EventType::OrderCancelled)
        .count();
    assert_eq!(cancellations, 1, "cancelled once");
    let stock = shop.stock("MUG").await;
    assert_eq!(
        stock.received,
        stock.available + stock.reserved + stock.sold
    );
    assert_eq!(stock.sold, 1, "the parcel had left: the goods stay sold");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_before_the_parcel_left_puts_the_goods_back_and_ships_nothing() {
    let mut shop = TestShop::start_with(stack::SERVICES, |config| {
        config.orders.shipment_timeout_ms = 300;
        config.orders.max_retries = 1;
    })
    .await;
    shop.seed(3).await;
    let before = shop.stock("TEA").await;
    shop.stop_service("shipping").await;
    let order = shop.place("rich", &[("TEA", 2)]).await.expect("place");
    wait_status(&shop, &order.order_id, "needs_attention").await;
    wait::until(
        "inventory sold the goods",
        Duration::from_secs(30),
        || async { shop.stock("TEA").await.sold == before.sold + 2 },
    )
    .await;
    let cancelled = shop
        .operator("cancel", &order.order_id)
        .await
        .expect("cancel");
    assert_eq!(cancelled.status, "cancelled");

    // shipping comes back to orders.confirmed, the retried requests and orders.cancelled
    shop.start_service("shipping").await;
    shop.wait_until_quiet().await;
    let shipment = shop.shipment(&order.order_id).await;
    assert_eq!(shipment.status, "cancelled", "{shipment:?}");
    let types: Vec<_> = shop
        .order_events(&order.order_id)
        .await
        .iter()
        .map(|(envelope, _)| envelope.event_type)
        .collect();
    assert!(!types.contains(&events::EventType::Shipped), "{types:?}");
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == events::EventType::ShipmentCancelled)
            .count(),
        1,
        "{types:?}"
    );
    let after = shop.stock("TEA").await;
    assert_eq!(
        (after.available, after.reserved, after.sold),
        (before.available, before.reserved, before.sold),
        "every unit back in stock"
    );
    assert_eq!(
        shop.net_captures()
            .get(&order.order_id)
            .copied()
            .unwrap_or(0),
        0
    );
    assert_eq!(shop.account("rich").await.held_minor, 0);
}
