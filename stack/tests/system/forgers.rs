//! Issue 11's attack, as the attacker would run it against `shopctl up`: a customer with
//! little credit places an order, then publishes a well-formed `payments.authorized` and
//! `orders.confirmed` for it, envelope headers and all. Signed in as the `client` (what a shop
//! front end holds), the broker refuses both publishes and the order ends `cancelled`, never
//! confirmed or shipped. Signed in as `payments` itself but with the wrong amount, the
//! authorization is stored, and the saga parks the order instead of confirming it.

use std::future::IntoFuture;
use std::time::Duration;

use events::orders::OrderConfirmed;
use events::payments::PaymentAuthorized;
use events::{Event, EventType};
use runtime::auth::Identity;
use testkit::TestShop;
use testkit::publish::Outgoing;

/// Publishes `event` through JetStream signed in as `identity`, with the envelope `producer`
/// would put on it; `Ok` once the stream stored it, `Err` if nothing was stored in 3 s.
async fn forge(
    shop: &TestShop,
    identity: Identity,
    event: Event,
    producer: &str,
) -> Result<(), String> {
    let client = shop.bed.connect_as(identity).await;
    let js = runtime::nats::jetstream(client);
    let outgoing = Outgoing::new(&shop.bed.subjects, &event, producer);
    let sent = js
        .publish_with_headers(outgoing.subject, outgoing.headers, outgoing.payload.into())
        .await
        .map_err(|error| error.to_string())?;
    match tokio::time::timeout(Duration::from_secs(3), sent.into_future()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("no ack in 3 s".into()),
    }
}

fn authorization(order_id: &str, amount_minor: i64) -> Event {
    PaymentAuthorized {
        order_id: order_id.to_owned(),
        customer_id: "poor".into(),
        authorization_id: format!("auth-{order_id}"),
        amount_minor,
        currency: "EUR".into(),
    }
    .into()
}

async fn count(shop: &TestShop, order_id: &str, event_type: EventType) -> usize {
    let events = shop.order_events(order_id).await;
    events
        .iter()
        .filter(|(envelope, _)| envelope.event_type == event_type)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_forging_an_authorization_and_a_confirmation_is_refused_by_the_broker() {
    let mut shop = TestShop::start().await;
    shop.seed(3).await;
    shop.stop_service("payments").await;
    // 8.99 EUR against the poor customer's 1.00 EUR of credit
    let order = shop.place("poor", &[("TEA", 1)]).await.expect("place");
    let authorized = forge(
        &shop,
        Identity::Client,
        authorization(&order.order_id, 899),
        "payments",
    )
    .await;
    assert!(
        authorized.is_err(),
        "the client's forged authorization was stored"
    );
    let confirmed = OrderConfirmed {
        order_id: order.order_id.clone(),
        customer_id: "poor".into(),
        lines: Vec::new(),
        total_minor: 899,
        currency: "EUR".into(),
        authorization_id: Some(format!("auth-{}", order.order_id)),
    };
    let confirmation = forge(&shop, Identity::Client, confirmed.into(), "orders").await;
    assert!(
        confirmation.is_err(),
        "the client's forged confirmation was stored"
    );

    shop.start_service("payments").await;
    let done = shop
        .wait_terminal(&order.order_id, Duration::from_secs(30))
        .await;
    assert_eq!(done.status, "cancelled", "{done:?}");
    shop.wait_until_quiet().await;
    for never in [
        EventType::PaymentAuthorized,
        EventType::OrderConfirmed,
        EventType::ShipmentCreated,
        EventType::Shipped,
    ] {
        assert_eq!(count(&shop, &order.order_id, never).await, 0, "{never}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_own_credentials_with_the_wrong_amount_park_the_order() {
    let mut shop = TestShop::start().await;
    shop.seed(3).await;
    shop.stop_service("payments").await;
    let order = shop.place("poor", &[("TEA", 1)]).await.expect("place");
    testkit::wait::until("the payment request", Duration::from_secs(30), || async {
        shop.order(&order.order_id).await.status == "awaiting_payment"
    })
    .await;
    forge(
        &shop,
        Identity::Service(events::Context::Payments),
        authorization(&order.order_id, 100),
        "payments",
    )
    .await
    .expect("payments may publish its own events");
    let parked = testkit::wait::until_some("the order parked", Duration::from_secs(30), || async {
        let order = shop.order(&order.order_id).await;
        (order.status != "awaiting_payment").then_some(order)
    })
    .await;
    assert_eq!(parked.status, "needs_attention", "{parked:?}");
    assert_eq!(
        count(&shop, &order.order_id, EventType::OrderConfirmed).await,
        0
    );
}
