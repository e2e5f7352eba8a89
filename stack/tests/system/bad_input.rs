//! Bad API input gets an error reply with a code and a message, and nothing stops.

use testkit::TestShop;

/// (customer, items, expected code, expected words in the message)
type BadOrder = (
    &'static str,
    &'static [(&'static str, i64)],
    u16,
    &'static str,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_api_input_gets_a_clear_error_and_the_services_keep_running() {
    let shop = TestShop::start().await;
    shop.seed(5).await;
    let cases: [BadOrder; 5] = [
        ("rich", &[("NOPE", 1)], 404, "unknown sku NOPE"),
        (
            "rich",
            &[("TEA", 0)],
            400,
            "quantity of TEA must be between 1",
        ),
        (
            "rich",
            &[("TEA", -3)],
            400,
            "quantity of TEA must be between 1",
        ),
        ("rich", &[], 400, "no lines"),
        ("stranger", &[("TEA", 1)], 404, "unknown customer stranger"),
    ];
    for (customer, items, code, message) in cases {
        let error = shop
            .place(customer, items)
            .await
            .expect_err("must be refused");
        assert_eq!(error.code, code, "{customer} {items:?}: {error}");
        assert!(error.message.contains(message), "{error}");
    }
    let malformed = shop
        .api
        .call_raw("orders", "place", b"\xc3\x28 not json".to_vec())
        .await
        .expect_err("malformed");
    assert_eq!(malformed.code, 400);
    assert!(
        malformed.message.starts_with("malformed request"),
        "{malformed}"
    );
    let oversized = shop
        .api
        .call_raw("orders", "place", vec![b' '; 100 * 1024])
        .await
        .expect_err("oversized");
    assert_eq!(oversized.code, 413);
    let wrong_types = shop
        .api
        .call_raw(
            "inventory",
            "restock",
            br#"{"sku": 7, "quantity": "lots"}"#.to_vec(),
        )
        .await
        .expect_err("wrong types");
    assert_eq!(wrong_types.code, 400);
    let negative = events::api::Restock {
        sku: "TEA".into(),
        quantity: -1,
    };
    let error = shop
        .api
        .call::<_, serde_json::Value>("inventory", "restock", &negative)
        .await
        .expect_err("negative");
    assert_eq!(error.code, 400);
    let bad_currency = events::api::AddProduct {
        sku: "X".into(),
        name: "x".into(),
        description: String::new(),
        price_minor: 5,
        currency: "euro".into(),
    };
    let error = shop
        .api
        .call::<_, serde_json::Value>("catalog", "add", &bad_currency)
        .await
        .expect_err("currency");
    assert_eq!(error.code, 400);
    assert!(error.message.contains("currency"), "{error}");

    assert!(!shop.stack.any_exited(), "no service stopped");
    let order = shop
        .place("rich", &[("TEA", 1)])
        .await
        .expect("a good request still works");
    assert_eq!(order.status, "placed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn placing_again_with_the_same_order_id_returns_the_same_order() {
    let shop = TestShop::start().await;
    shop.seed(5).await;
    let request = events::api::PlaceOrder {
        customer_id: "rich".into(),
        items: vec![events::api::Item {
            sku: "TEA".into(),
            quantity: 1,
        }],
        order_id: Some("0198a3c4-0000-7000-8000-000000000001".into()),
    };
    let first: events::api::Order = shop
        .api
        .call("orders", "place", &request)
        .await
        .expect("first");
    let again: events::api::Order = shop
        .api
        .call("orders", "place", &request)
        .await
        .expect("retry");
    assert_eq!(first.order_id, again.order_id);
    let stranger = events::api::PlaceOrder {
        customer_id: "poor".into(),
        ..request.clone()
    };
    let error = shop
        .api
        .call::<_, events::api::Order>("orders", "place", &stranger)
        .await
        .expect_err("other customer");
    assert_eq!(error.code, 409);
    shop.wait_terminal(&first.order_id, std::time::Duration::from_secs(30))
        .await;
    shop.wait_until_quiet().await;
    let placed = shop
        .order_events(&first.order_id)
        .await
        .iter()
        .filter(|(e, _)| e.event_type == events::EventType::OrderPlaced)
        .count();
    assert_eq!(placed, 1, "one order, one orders.placed");
}
