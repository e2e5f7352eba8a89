//! Every service's store rebuilt from the streams equals the live one (digest of every tree:
//! folded trees by construction, local trees carried over), and the service runs on the
//! rebuilt store afterwards.

use std::time::Duration;

use runtime::Store;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_rebuilt_from_the_streams_equals_its_live_store() {
    let mut shop = TestShop::start_with(stack::SERVICES, |config| {
        config.orders.payment_timeout_ms = 1_000
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
    let resolve = events::api::ResolveTicket {
        ticket_id: opened.ticket_id,
        resolution: "done".into(),
    };
    shop.api
        .call::<_, events::api::Ticket>("support", "resolve", &resolve)
        .await
        .expect("resolve");
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
