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

/// What a take-over re-arms: the timer the shipment waits on at each step, none at the end.
#[test]
fn a_shipment_taken_over_waits_on_the_timer_of_its_step() {
    use runtime::Service;
    let shipping = Shipping::new(Settings::default());
    let order_id = confirmed().order_id;
    let now = Timestamp::from_unix_millis(1_000).expect("a time");
    let waiting = |shop: &Scenario<Shipping>| {
        let partition = shop.store().partition_of(&order_id);
        let timers = shipping
            .timers(shop.store(), partition, now)
            .expect("timers");
        timers
            .into_iter()
            .map(|timer| (timer.key, timer.at.unix_millis(), timer.event.event_type()))
            .collect::<Vec<_>>()
    };
    let shop = Scenario::<Shipping>::new(Settings::default()).when(confirmed().into());
    assert_eq!(
        waiting(&shop),
        [(format!("ship/{order_id}"), 2_000, EventType::Shipped)]
    );
    let shop = shop.fire_timers_at(later());
    let shipped = shop.emitted_events().pop().expect("shipped");
    let shop = shop.when(shipped);
    assert_eq!(status(&shop), Some(ShipmentStatus::Shipped));
    assert_eq!(
        waiting(&shop),
        [(format!("deliver/{order_id}"), 3_000, EventType::Delivered)]
    );
    let shop = shop.fire_timers_at(later());
    let delivered = shop.emitted_events().pop().expect("delivered");
    let shop = shop.when(delivered);
    assert_eq!(status(&shop), Some(ShipmentStatus::Delivered));
    assert_eq!(waiting(&shop), []);
}
