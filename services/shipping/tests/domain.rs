//! Shipping's rules, given / when / then over a temporary store.
use events::orders::{CancellationReason, OrderCancelled, OrderConfirmed, ShipmentRequested};
use events::shipping::ShipmentCancelled;
use events::{Event, EventType, Timestamp, samples};
use runtime::scenario::Scenario;
use shipping::store::{SHIPMENTS, ShipmentStatus};
use shipping::{Settings, Shipping};

fn confirmed() -> OrderConfirmed {
    let Event::OrderConfirmed(confirmed) = samples::sample(EventType::OrderConfirmed) else {
        unreachable!()
    };
    confirmed
}

fn cancelled(reason: CancellationReason) -> Event {
    let order = confirmed();
    OrderCancelled {
        order_id: order.order_id,
        customer_id: order.customer_id,
        reason,
        detail: String::new(),
    }
    .into()
}

fn status(shop: &Scenario<Shipping>) -> Option<ShipmentStatus> {
    SHIPMENTS
        .get(shop.store(), &confirmed().order_id)
        .expect("shipments read")
        .map(|shipment| shipment.status)
}

/// Long after every ship timer was due.
fn later() -> Timestamp {
    Timestamp::from_unix_millis(1_800_000_000_000).expect("a valid time")
}

#[test]
fn an_order_cancelled_before_its_parcel_left_ships_nothing() {
    let shop = Scenario::<Shipping>::new(Settings::default())
        .when(confirmed().into())
        .then_types(&[EventType::ShipmentCreated])
        .when(cancelled(CancellationReason::CancelledByOperator))
        .then_types(&[EventType::ShipmentCancelled]);
    assert_eq!(status(&shop), Some(ShipmentStatus::Cancelled));
    assert_eq!(
        shop.store().pending_timers(),
        0,
        "the ship timer went with it"
    );
    let shop = shop
        .fire_timers_at(later())
        .then([])
        .when(cancelled(CancellationReason::CancelledByOperator))
        .then([]);
    let order = confirmed();
    let again = ShipmentRequested {
        order_id: order.order_id.clone(),
        customer_id: order.customer_id.clone(),
        lines: order.lines.clone(),
        attempt: 2,
    };
    let shop = shop.when(again.into()).then([]);
    assert_eq!(status(&shop), Some(ShipmentStatus::Cancelled));
}

#[test]
fn a_parcel_that_left_is_not_cancelled() {
    let shop = Scenario::<Shipping>::new(Settings::default())
        .when(confirmed().into())
        .fire_timers_at(later())
        .then_types(&[EventType::Shipped])
        // its own shipping.shipped has not come back yet: the timer fired, so it left
        .when(cancelled(CancellationReason::CancelledByOperator))
        .then([]);
    assert_eq!(status(&shop), Some(ShipmentStatus::Created));
}

#[test]
fn an_operator_cancel_shipping_never_saw_leaves_a_tombstone() {
    let order = confirmed();
    let shop = Scenario::<Shipping>::new(Settings::default())
        .when(cancelled(CancellationReason::CancelledByOperator))
        .then([ShipmentCancelled {
            order_id: order.order_id.clone(),
            shipment_id: events::validate::derived_id("ship-", &order.order_id),
            customer_id: order.customer_id.clone(),
        }
        .into()])
        .when(confirmed().into())
        .then([]);
    assert_eq!(status(&shop), Some(ShipmentStatus::Cancelled));
    assert_eq!(shop.store().pending_timers(), 0, "nothing will ship");
}

#[test]
fn an_order_the_saga_cancelled_before_confirmation_needs_no_tombstone() {
    let shop = Scenario::<Shipping>::new(Settings::default())
        .when(cancelled(CancellationReason::PaymentDeclined))
        .then([]);
    assert_eq!(status(&shop), None);
}
