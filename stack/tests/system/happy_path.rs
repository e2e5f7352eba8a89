//! A checkout that goes right: placed → completed, every step on its subject, each event
//! correlated to the order and caused by the step before it.

use std::collections::HashMap;
use std::time::Duration;

use testkit::{PREFIX, TestShop};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_completes_and_every_step_is_on_its_subject_with_its_cause() {
    let shop = TestShop::start().await;
    shop.seed(10).await;
    let order = shop
        .place("rich", &[("TEA", 2), ("MUG", 1)])
        .await
        .expect("place");
    assert_eq!(order.status, "placed");
    assert_eq!(order.total_minor, 2 * 899 + 1450, "priced from the catalog");

    let done = shop
        .wait_terminal(&order.order_id, Duration::from_secs(30))
        .await;
    assert_eq!(done.status, "completed");
    shop.wait_until_quiet().await;

    let events = shop.order_events(&order.order_id).await;
    let by_type: HashMap<String, &events::Envelope> = events
        .iter()
        .map(|(envelope, _)| (envelope.event_type.to_string(), envelope))
        .collect();
    for (envelope, subject) in &events {
        assert_eq!(envelope.correlation_id, order.order_id, "{subject}");
        let expected = format!(
            "{PREFIX}.{}.{}.{}",
            envelope.event_type.context(),
            envelope.event_type.name(),
            order.order_id
        );
        assert_eq!(subject, &expected);
    }
    // the saga's chain: each step caused by the one before it
    let chain = [
        ("orders.placed", None),
        ("inventory.stock_reserved", Some("orders.placed")),
        ("orders.payment_requested", Some("inventory.stock_reserved")),
        ("payments.authorized", Some("orders.payment_requested")),
        ("orders.confirmed", Some("payments.authorized")),
        ("inventory.reservation_committed", Some("orders.confirmed")),
        ("shipping.shipment_created", Some("orders.confirmed")),
        ("shipping.shipped", Some("orders.confirmed")),
        ("orders.payment_capture_requested", Some("shipping.shipped")),
        (
            "payments.captured",
            Some("orders.payment_capture_requested"),
        ),
        ("orders.completed", Some("payments.captured")),
    ];
    for (event_type, cause) in chain {
        let envelope = by_type
            .get(event_type)
            .unwrap_or_else(|| panic!("no {event_type} for the order: {:?}", by_type.keys()));
        let expected_cause = cause.map(|cause| by_type[cause].event_id.clone());
        assert_eq!(
            envelope.causation_id, expected_cause,
            "{event_type} has the wrong cause"
        );
        assert!(
            envelope.traceparent.is_some(),
            "{event_type} carries a trace"
        );
    }
    let trace = by_type["orders.placed"]
        .traceparent
        .expect("trace")
        .trace_id;
    assert!(
        events
            .iter()
            .filter(|(e, _)| e.event_type.context() != events::Context::Support)
            .all(|(e, _)| e.traceparent.map(|t| t.trace_id) == Some(trace)),
        "one trace follows the order across services"
    );
    let stock = shop.stock("TEA").await;
    assert_eq!((stock.available, stock.reserved, stock.sold), (8, 0, 2));
    let account = shop.account("rich").await;
    assert_eq!(
        (account.held_minor, account.captured_minor),
        (0, order.total_minor)
    );
    shop.stack.stop().await.expect("clean stop");
}
