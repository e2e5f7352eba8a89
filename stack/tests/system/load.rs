//! A thousand orders with mixed outcomes keep the business invariants, and delivering every
//! event a second time changes no store.

use std::collections::HashMap;
use std::time::Duration;

use testkit::TestShop;

const SKUS: [(&str, i64); 3] = [("TEA", 400), ("MUG", 300), ("KETTLE", 150)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_orders_with_mixed_outcomes_keep_the_invariants() {
    let shop = TestShop::start_with(stack::SERVICES, |config| {
        config.payments.decline_rate = 0.1;
        config.orders.payment_timeout_ms = 20_000;
        config.orders.reservation_timeout_ms = 20_000;
    })
    .await;
    shop.seed(0).await;
    for (sku, stock) in SKUS {
        shop.restock(sku, stock).await;
    }
    shop.open_account("modest", 60_000).await;
    shop.wait_until_quiet().await;

    let mut orders = Vec::new();
    let shop_ref = &shop;
    for chunk in 0..20 {
        let placing = (0..50).map(|n| {
            let number = chunk * 50 + n;
            let customer = match number % 10 {
                0 => "poor",
                1 | 2 => "modest",
                _ => "rich",
            };
            let (sku, _) = SKUS[number % 3];
            let quantity = 1 + (number % 4) as i64;
            async move {
                shop_ref
                    .place(customer, &[(sku, quantity), ("TEA", 1)])
                    .await
            }
        });
        for placed in futures::future::join_all(placing).await {
            orders.push(placed.expect("place"));
        }
    }
    let mut statuses: HashMap<String, usize> = HashMap::new();
    let mut final_orders = Vec::new();
    for order in &orders {
        let done = shop
            .wait_terminal(&order.order_id, Duration::from_secs(180))
            .await;
        *statuses.entry(done.status.clone()).or_default() += 1;
        final_orders.push(done);
    }
    shop.wait_until_quiet().await;
    eprintln!("outcomes: {statuses:?}");
    assert!(statuses.len() >= 3, "mixed outcomes expected: {statuses:?}");

    let captures = shop.net_captures();
    let mut sold: HashMap<String, u64> = HashMap::new();
    for order in &final_orders {
        let net = captures.get(&order.order_id).copied().unwrap_or(0);
        assert!(
            (0..=1).contains(&net),
            "{}: net captures {net}",
            order.order_id
        );
        match order.status.as_str() {
            "completed" => {
                assert_eq!(net, 1, "{} completed without a capture", order.order_id);
                for line in &order.lines {
                    *sold.entry(line.sku.clone()).or_default() += u64::from(line.quantity);
                }
            }
            _ => assert_eq!(
                net, 0,
                "{} is {} but captured",
                order.order_id, order.status
            ),
        }
    }
    let levels = shop.stock_levels();
    for (sku, initial) in SKUS {
        let level = &levels[sku];
        assert_eq!(
            level.available + level.reserved + level.sold,
            initial as u64,
            "{sku}: books do not balance"
        );
        assert_eq!(level.reserved, 0, "{sku}: reservations left at quiescence");
        assert_eq!(
            level.sold,
            sold.get(sku).copied().unwrap_or(0),
            "{sku}: sold != completed orders"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_delivered_twice_leaves_every_store_as_it_was() {
    let shop = TestShop::start().await;
    shop.seed(20).await;
    let mut orders = Vec::new();
    for (customer, sku) in [
        ("rich", "TEA"),
        ("poor", "KETTLE"),
        ("rich", "MUG"),
        ("rich", "KETTLE"),
    ] {
        orders.push(shop.place(customer, &[(sku, 1)]).await.expect("place"));
    }
    for order in &orders {
        shop.wait_terminal(&order.order_id, Duration::from_secs(30))
            .await;
    }
    shop.wait_until_quiet().await;
    let digests = |shop: &TestShop| -> Vec<u64> {
        stack::SERVICES
            .iter()
            .map(|name| shop.store(name).digest().expect("digest"))
            .collect()
    };
    let before = digests(&shop);

    // deliver every event again: same event id, new Nats-Msg-Id (as after the duplicate window)
    let republished = shop.republish_everything().await;
    assert!(republished > 40, "only {republished} events");
    shop.wait_until_quiet().await;
    assert_eq!(digests(&shop), before, "a second delivery changed a store");
}
