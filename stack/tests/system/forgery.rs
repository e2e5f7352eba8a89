//! The saga checks what it is told (issue 11): a reply published by anyone who can publish on
//! the broker, that does not match the order, never moves the order on. It is dead-lettered
//! with what did not match, the order is parked (`needs_attention`, a support ticket), and an
//! operator or the participant's own answer resolves it. The parking commits even while the
//! dead-letter stream refuses writes, and the dead letter lands once it takes them again.

use std::time::Duration;

use events::api::Order;
use events::inventory::{StockLine, StockReserved};
use events::payments::PaymentAuthorized;
use events::{EventType, header};
use testkit::streams::{header_of, read_stream};
use testkit::{TestShop, wait};

/// Waits until the order has left `status`, and returns it.
async fn wait_moved_on(shop: &TestShop, order_id: &str, status: &str) -> Order {
    wait::until_some(
        &format!("order {order_id} to leave {status}"),
        Duration::from_secs(30),
        || async {
            let order = shop.order(order_id).await;
            (order.status != status).then_some(order)
        },
    )
    .await
}

/// The reasons of the dead letters orders filed for messages on
/// `<prefix>.<subject>.<order_id>`.
async fn dead_letters(shop: &TestShop, subject: &str, order_id: &str) -> Vec<String> {
    let subject = format!("{}.{subject}.{order_id}", shop.bed.prefix());
    read_stream(&shop.bed.js, &shop.bed.dead_letter_stream())
        .await
        .iter()
        .filter(|letter| header_of(letter, header::DLQ_CONSUMER) == Some("orders"))
        .filter(|letter| header_of(letter, header::DLQ_SUBJECT) == Some(subject.as_str()))
        .filter_map(|letter| header_of(letter, header::DLQ_REASON).map(str::to_owned))
        .collect()
}

/// Waits for the first of those dead letters and returns its reason.
async fn dead_letter_reason(shop: &TestShop, subject: &str, order_id: &str) -> String {
    wait::until_some("the dead letter", Duration::from_secs(30), || async {
        dead_letters(shop, subject, order_id)
            .await
            .into_iter()
            .next()
    })
    .await
}

/// How many events of `event_type` the order has, in every stream.
async fn count(shop: &TestShop, order_id: &str, event_type: EventType) -> usize {
    let events = shop.order_events(order_id).await;
    let of_type = events
        .iter()
        .filter(|(envelope, _)| envelope.event_type == event_type);
    of_type.count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_authorization_of_another_amount_parks_the_order_and_is_dead_lettered() {
    let mut shop = TestShop::start().await;
    shop.seed(3).await;
    shop.stop_service("payments").await;
    // 8.99 EUR: more than the poor customer's credit, so payments would decline it
    let order = shop.place("poor", &[("TEA", 1)]).await.expect("place");
    let waiting = wait_moved_on(&shop, &order.order_id, "placed").await;
    assert_eq!(waiting.status, "awaiting_payment");
    let forged = PaymentAuthorized {
        order_id: order.order_id.clone(),
        customer_id: "poor".into(),
        authorization_id: "auth-forged".into(),
        amount_minor: 100,
        currency: "EUR".into(),
    };
    shop.publish_event(&forged.into(), "payments").await;

    let parked = wait_moved_on(&shop, &order.order_id, "awaiting_payment").await;
    assert_eq!(parked.status, "needs_attention", "{parked:?}");
    let reason = parked.reason.clone().unwrap_or_default();
    assert!(reason.contains("amount_minor 100"), "{reason}");
    let letter = dead_letter_reason(&shop, "payments.authorized", &order.order_id).await;
    assert!(letter.contains("the order's total 899"), "{letter}");
    let ticket = wait::until_some("a ticket", Duration::from_secs(30), || {
        shop.system_ticket(&order.order_id)
    })
    .await;
    assert!(
        ticket.message.contains("amount_minor 100"),
        "{}",
        ticket.message
    );

    // an operator's retry asks payments again; payments, back, declines: the order is cancelled
    let retried = shop
        .operator("retry", &order.order_id)
        .await
        .expect("retry");
    assert_eq!(retried.status, "awaiting_payment");
    let again = shop
        .operator("retry", &order.order_id)
        .await
        .expect("again");
    assert_eq!(
        again.status, "awaiting_payment",
        "a second retry changes nothing"
    );
    shop.start_service("payments").await;
    let done = shop
        .wait_terminal(&order.order_id, Duration::from_secs(30))
        .await;
    assert_eq!(done.status, "cancelled", "{done:?}");
    assert!(
        done.reason
            .as_deref()
            .unwrap_or_default()
            .contains("payment_declined")
    );
    shop.wait_until_quiet().await;
    for never in [
        EventType::OrderConfirmed,
        EventType::ShipmentCreated,
        EventType::PaymentCaptureRequested,
        EventType::PaymentCaptured,
    ] {
        assert_eq!(count(&shop, &order.order_id, never).await, 0, "{never}");
    }
    let account = shop.account("poor").await;
    assert_eq!((account.held_minor, account.captured_minor), (0, 0));
    let tea = shop.stock("TEA").await;
    assert_eq!((tea.available, tea.reserved, tea.sold), (3, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_reservation_of_other_lines_parks_the_order_until_inventory_answers() {
    let mut shop = TestShop::start().await;
    shop.seed(3).await;
    // the dead-letter stream takes no more writes (it holds the three of a garbage message)
    shop.publish_garbage_cancellation("garbage").await;
    let dlq = shop.bed.dead_letter_stream();
    wait::until("three dead letters", Duration::from_secs(30), || async {
        testkit::streams::message_count(&shop.bed.js, &dlq).await == 3
    })
    .await;
    testkit::streams::refuse_writes(&shop.bed.js, &dlq, true).await;
    shop.stop_service("inventory").await;
    let order = shop.place("rich", &[("TEA", 1)]).await.expect("place");
    let forged = StockReserved {
        order_id: order.order_id.clone(),
        lines: vec![StockLine {
            sku: "KETTLE".into(),
            quantity: 3,
        }],
    };
    shop.publish_event(&forged.into(), "inventory").await;

    let parked = wait_moved_on(&shop, &order.order_id, "placed").await;
    assert_eq!(parked.status, "needs_attention", "{parked:?}");
    let reason = parked.reason.clone().unwrap_or_default();
    assert!(reason.contains("KETTLE × 3"), "{reason}");
    let subject = "inventory.stock_reserved";
    assert_eq!(dead_letters(&shop, subject, &order.order_id).await.len(), 0);
    testkit::streams::refuse_writes(&shop.bed.js, &dlq, false).await;
    let letter = dead_letter_reason(&shop, subject, &order.order_id).await;
    assert!(letter.contains("the order's TEA × 1"), "{letter}");
    assert_eq!(
        count(&shop, &order.order_id, EventType::PaymentRequested).await,
        0
    );
    let refused = shop
        .operator("retry", &order.order_id)
        .await
        .expect_err("no retry");
    assert_eq!(refused.code, 409);
    assert!(refused.message.contains("inventory"), "{}", refused.message);

    // inventory's own answer, once it is back, is what the order goes on with
    shop.start_service("inventory").await;
    let done = shop
        .wait_terminal(&order.order_id, Duration::from_secs(30))
        .await;
    assert_eq!(done.status, "completed", "{done:?}");
    shop.wait_until_quiet().await;
    let letters = dead_letters(&shop, subject, &order.order_id).await;
    assert_eq!(
        letters.len(),
        1,
        "one dead letter, however often it was tried"
    );
    let parkings = count(&shop, &order.order_id, EventType::OrderParked).await;
    assert_eq!(
        parkings, 1,
        "a redelivery of the refused reply parks nothing more"
    );
    assert_eq!(shop.net_captures().get(&order.order_id), Some(&1));
    let (tea, kettle) = (shop.stock("TEA").await, shop.stock("KETTLE").await);
    assert_eq!((tea.available, tea.reserved, tea.sold), (2, 0, 1));
    assert_eq!((kettle.available, kettle.reserved, kettle.sold), (3, 0, 0));
}
