//! The saga owner killed with SIGKILL mid-saga, again and again: every order still reaches
//! its end, and the invariants hold.

use std::time::Duration;

use testkit::{ChildProcess, TestShop};

/// The orders binary against the shop's broker and orders store, with saga deadlines long
/// enough to outlast the kills.
fn spawn_orders(shop: &TestShop) -> ChildProcess {
    shop.service_process(
        "orders",
        &[
            ("ORDERS_PAYMENT_TIMEOUT_MS", "10000"),
            ("ORDERS_RESERVATION_TIMEOUT_MS", "10000"),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_saga_owner_killed_mid_saga_finishes_every_saga_after_restart() {
    let others = ["catalog", "inventory", "payments", "shipping", "support"];
    let shop = TestShop::start_with(&others, |config| {
        // a slower payments service keeps sagas in flight while orders is killed
        config.runtime.processing_delay_ms = 50;
    })
    .await;
    let mut orders = spawn_orders(&shop);
    let reads = [
        events::Context::Catalog,
        events::Context::Inventory,
        events::Context::Payments,
        events::Context::Shipping,
        events::Context::Orders,
    ];
    shop.wait_for_service("orders", &reads).await;
    shop.seed(40).await;

    let shop_ref = &shop;
    let placing = (0..120).map(|n| async move {
        let customer = if n % 5 == 0 { "poor" } else { "rich" };
        let sku = ["TEA", "MUG", "KETTLE"][n % 3];
        shop_ref.place(customer, &[(sku, 1)]).await.expect("place")
    });
    let placed = futures::future::join_all(placing).await;
    let mut in_flight_at_kill = Vec::new();
    for round in 0..3u64 {
        // a deliberate pause, longer each round, so the kills land at different saga steps
        tokio::time::sleep(Duration::from_millis(150 * round)).await;
        // orders may still be starting after the previous kill: then there is nothing to count
        let every_order = events::api::ListOrders {
            limit: Some(events::api::MAX_PAGE_LIMIT),
            ..Default::default()
        };
        let list = shop
            .api
            .call::<_, events::api::OrderList>("orders", "list", &every_order)
            .await;
        if let Ok(list) = list {
            in_flight_at_kill.push(
                list.orders
                    .iter()
                    .filter(|order| !order.is_terminal())
                    .count(),
            );
        }
        orders.kill9();
        // a deliberate outage: events for orders pile up while it is down
        tokio::time::sleep(Duration::from_millis(200)).await;
        orders = spawn_orders(&shop);
    }
    shop.wait_for_service("orders", &reads).await;
    assert!(
        in_flight_at_kill[0] > 0,
        "the first kill must land mid-saga: {in_flight_at_kill:?}"
    );

    let mut statuses = Vec::new();
    for order in &placed {
        statuses.push(
            shop.wait_terminal(&order.order_id, Duration::from_secs(120))
                .await,
        );
    }
    shop.wait_until_quiet().await;
    let captures = shop.net_captures();
    let mut sold = std::collections::HashMap::<String, u64>::new();
    for order in &statuses {
        let net = captures.get(&order.order_id).copied().unwrap_or(0);
        let expected = i64::from(order.status == "completed");
        assert_eq!(
            net, expected,
            "{} is {} with net captures {net}",
            order.order_id, order.status
        );
        if order.status == "completed" {
            *sold.entry(order.lines[0].sku.clone()).or_default() += 1;
        }
    }
    let levels = shop.stock_levels();
    for sku in ["TEA", "MUG", "KETTLE"] {
        let level = &levels[sku];
        assert_eq!(level.available + level.reserved + level.sold, 40, "{sku}");
        assert_eq!(level.reserved, 0, "{sku}");
        assert_eq!(level.sold, sold.get(sku).copied().unwrap_or(0), "{sku}");
    }
    let status = tokio::task::spawn_blocking(move || orders.terminate(Duration::from_secs(5)))
        .await
        .expect("join");
    assert!(status.is_some_and(|status| status.success()));
}
