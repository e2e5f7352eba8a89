//! Every failure path compensates: out of stock, a declined payment, a payments service that
//! does not answer in time (and whose late authorization is then voided), the last unit.

use std::time::Duration;

use testkit::TestShop;

fn types(events: &[(events::Envelope, String)]) -> Vec<String> {
    events
        .iter()
        .map(|(envelope, _)| envelope.event_type.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_stock_rejects_the_order_and_never_asks_for_payment() {
    let shop = TestShop::start().await;
    shop.seed(1).await;
    let order = shop.place("rich", &[("KETTLE", 2)]).await.expect("place");
    let done = shop
        .wait_terminal(&order.order_id, Duration::from_secs(30))
        .await;
    assert_eq!(done.status, "rejected");
    assert_eq!(done.reason.as_deref(), Some("insufficient_stock"));
    shop.wait_until_quiet().await;
    let seen = types(&shop.order_events(&order.order_id).await);
    assert!(seen.contains(&"inventory.reservation_rejected".to_owned()));
    assert!(
        seen.iter()
            .all(|t| !t.starts_with("payments.") && t != "orders.payment_requested"),
        "{seen:?}"
    );
    assert_eq!(shop.stock("KETTLE").await.available, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_payment_releases_stock_cancels_and_opens_a_ticket() {
    let shop = TestShop::start().await;
    shop.seed(5).await;
    let order = shop.place("poor", &[("KETTLE", 1)]).await.expect("place");
    let done = shop
        .wait_terminal(&order.order_id, Duration::from_secs(30))
        .await;
    assert_eq!(done.status, "cancelled");
    assert!(
        done.reason
            .as_deref()
            .is_some_and(|r| r.starts_with("payment_declined")),
        "{:?}",
        done.reason
    );
    shop.wait_until_quiet().await;

    let seen = types(&shop.order_events(&order.order_id).await);
    for expected in [
        "payments.declined",
        "orders.cancelled",
        "inventory.reservation_released",
        "support.ticket_opened",
    ] {
        assert!(
            seen.contains(&expected.to_owned()),
            "missing {expected} in {seen:?}"
        );
    }
    assert!(!seen.contains(&"payments.captured".to_owned()));
    let stock = shop.stock("KETTLE").await;
    assert_eq!((stock.available, stock.reserved, stock.sold), (5, 0, 0));
    let tickets: events::api::TicketList = shop
        .api
        .call(
            "support",
            "list",
            &events::api::ListTickets {
                order_id: Some(order.order_id.clone()),
                ..Default::default()
            },
        )
        .await
        .expect("tickets");
    assert_eq!(tickets.tickets.len(), 1);
    let ticket = &tickets.tickets[0];
    assert_eq!(
        (ticket.source.as_str(), ticket.status.as_str()),
        ("system", "open")
    );
    assert!(
        ticket
            .timeline
            .iter()
            .any(|entry| entry.event_type == "payments.declined"),
        "{:?}",
        ticket.timeline
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_down_past_the_deadline_compensates_and_the_late_authorization_is_voided() {
    let without_payments = ["catalog", "inventory", "orders", "shipping", "support"];
    let mut shop = TestShop::start_with(&without_payments, |config| {
        config.orders.payment_timeout_ms = 1_000;
    })
    .await;
    // accounts are opened while payments is up, then it goes away
    shop.stack
        .start_service("payments")
        .await
        .expect("payments up");
    shop.seed(5).await;
    shop.stack
        .stop_service("payments")
        .await
        .expect("payments down");

    let order = shop.place("rich", &[("MUG", 2)]).await.expect("place");
    let done = shop
        .wait_terminal(&order.order_id, Duration::from_secs(30))
        .await;
    assert_eq!(done.status, "cancelled");
    assert!(
        done.reason
            .as_deref()
            .is_some_and(|r| r.starts_with("payment_timed_out")),
        "{:?}",
        done.reason
    );

    shop.stack
        .start_service("payments")
        .await
        .expect("payments back");
    shop.wait_until_quiet().await;
    let seen = types(&shop.order_events(&order.order_id).await);
    for expected in [
        "orders.deadline_passed",
        "orders.cancelled",
        "inventory.reservation_released",
        "payments.authorized",
        "orders.payment_void_requested",
        "payments.voided",
    ] {
        assert!(
            seen.contains(&expected.to_owned()),
            "missing {expected} in {seen:?}"
        );
    }
    assert_eq!(
        shop.order(&order.order_id).await.status,
        "cancelled",
        "a late answer does not revive the order"
    );
    let account = shop.account("rich").await;
    assert_eq!(
        (account.held_minor, account.captured_minor),
        (0, 0),
        "net captured for the order is 0"
    );
    assert_eq!(shop.stock("MUG").await.available, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_orders_for_the_last_unit_confirm_exactly_one() {
    let shop = TestShop::start().await;
    shop.seed(0).await;
    shop.restock("KETTLE", 1).await;
    shop.wait_until_quiet().await;
    let placing = (0..50).map(|_| shop.place("rich", &[("KETTLE", 1)]));
    let orders: Vec<_> = futures::future::join_all(placing)
        .await
        .into_iter()
        .map(|r| r.expect("place"))
        .collect();
    let mut statuses = Vec::new();
    for order in &orders {
        statuses.push(
            shop.wait_terminal(&order.order_id, Duration::from_secs(60))
                .await
                .status,
        );
    }
    let completed = statuses.iter().filter(|s| *s == "completed").count();
    let rejected = statuses.iter().filter(|s| *s == "rejected").count();
    assert_eq!((completed, rejected), (1, 49), "{statuses:?}");
    shop.wait_until_quiet().await;
    let stock = shop.stock("KETTLE").await;
    assert_eq!((stock.available, stock.reserved, stock.sold), (0, 0, 1));
}
