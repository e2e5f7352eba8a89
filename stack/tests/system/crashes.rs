//! The saga owner killed with SIGKILL mid-saga, again and again: every order still reaches
//! its end, and the invariants hold.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use testkit::ChildProcess;

use crate::helpers::*;

/// A service binary next to this test binary (`target/<profile>/shop-<name>`); cargo builds
/// the workspace's binaries before running its tests.
fn service_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let binary = profile_dir.join(format!("shop-{name}"));
    assert!(
        binary.is_file(),
        "{} is missing: run `cargo build --workspace` first",
        binary.display()
    );
    binary
}

fn spawn_orders(shop: &TestShop) -> ChildProcess {
    let mut command = Command::new(service_binary("orders"));
    command
        .env("NATS_URL", shop.server.url())
        .env("SHOP_DATA_DIR", shop.config.data_dir.join("orders"))
        .env("SHOP_PREFIX", PREFIX)
        .env("SHOP_ACK_WAIT_MS", "1000")
        .env("ORDERS_PAYMENT_TIMEOUT_MS", "10000")
        .env("ORDERS_RESERVATION_TIMEOUT_MS", "10000")
        .env("RUST_LOG", "warn");
    ChildProcess::spawn(&mut command)
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
        tokio::time::sleep(Duration::from_millis(150 * round)).await;
        // orders may still be starting after the previous kill: then there is nothing to count
        let list = shop
            .api
            .call::<_, events::api::OrderList>(
                "orders",
                "list",
                &events::api::ListOrders::default(),
            )
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
    let captures = net_captures(&shop);
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
    let levels = stock_levels(&shop);
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
