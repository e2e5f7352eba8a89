//! Inventory's rules, given / when / then over a temporary store.
use events::Event;
use events::catalog::{ProductAdded, ProductDiscontinued};
use events::inventory::{RejectionReason, Restocked};
use events::orders::{OrderCancelled, OrderLine, OrderPlaced};
use inventory::store::{RESERVATIONS, STOCK};
use inventory::store::{Reservation, ReservationStatus, Stock};
use inventory::{Inventory, Settings};
use runtime::scenario::Scenario;

fn listed(sku: &str, available: u32) -> [Event; 2] {
    let added = ProductAdded {
        sku: sku.into(),
        name: sku.into(),
        description: String::new(),
        price_minor: 100,
        currency: "EUR".into(),
    };
    let restocked = Restocked {
        sku: sku.into(),
        quantity_added: available,
        available: u64::from(available),
    };
    [added.into(), restocked.into()]
}

fn placed(order_id: &str, lines: &[(&str, u32)]) -> Event {
    let lines: Vec<OrderLine> = lines
        .iter()
        .map(|(sku, quantity)| OrderLine {
            sku: (*sku).into(),
            quantity: *quantity,
            unit_price_minor: 100,
            line_total_minor: 100 * i64::from(*quantity),
        })
        .collect();
    let total_minor = lines.iter().map(|line| line.line_total_minor).sum();
    OrderPlaced {
        order_id: order_id.into(),
        customer_id: "c1".into(),
        lines,
        total_minor,
        currency: "EUR".into(),
    }
    .into()
}

fn cancelled(order_id: &str) -> Event {
    OrderCancelled {
        order_id: order_id.into(),
        customer_id: "c1".into(),
        reason: events::orders::CancellationReason::PaymentDeclined,
        detail: String::new(),
    }
    .into()
}

fn stock(scenario: &Scenario<Inventory>, sku: &str) -> Stock {
    STOCK
        .get(scenario.store(), sku)
        .expect("stock reads")
        .expect("the sku has stock")
}

fn reservation(scenario: &Scenario<Inventory>, order_id: &str) -> Reservation {
    RESERVATIONS
        .get(scenario.store(), order_id)
        .expect("reservations read")
        .expect("the order has a reservation")
}

#[test]
fn reserves_all_lines_or_none() {
    let shop = Scenario::<Inventory>::new(Settings::default())
        .given(listed("A", 5))
        .given(listed("B", 1))
        .when(placed("o1", &[("A", 2), ("B", 1), ("A", 1)]))
        .then_types(&[events::EventType::StockReserved]);
    assert_eq!(reservation(&shop, "o1").status, ReservationStatus::Reserved);
    let a = stock(&shop, "A");
    assert_eq!((a.available, a.reserved, a.received()), (2, 3, 5));

    let shop = shop.when(placed("o2", &[("A", 1), ("B", 2)]));
    let emitted = shop.emitted_events();
    let [Event::ReservationRejected(rejected)] = emitted.as_slice() else {
        panic!("expected a rejection, got {:?}", shop.emitted_events())
    };
    assert_eq!(rejected.reason, RejectionReason::InsufficientStock);
    assert_eq!(rejected.short_lines[0].sku, "B");
    assert_eq!(reservation(&shop, "o2").status, ReservationStatus::Rejected);
    let a = stock(&shop, "A");
    assert_eq!(
        (a.available, a.reserved),
        (2, 3),
        "nothing is reserved when one line is short"
    );
}

#[test]
fn unknown_and_discontinued_skus_are_rejected() {
    let reason = |shop: &Scenario<Inventory>| match shop.emitted_events().as_slice() {
        [Event::ReservationRejected(rejected)] => rejected.reason,
        other => panic!("expected a rejection, got {other:?}"),
    };
    let shop = Scenario::<Inventory>::new(Settings::default())
        .given(listed("A", 5))
        .when(placed("o1", &[("Z", 1)]));
    assert_eq!(reason(&shop), RejectionReason::UnknownSku);
    let shop = shop
        .given([ProductDiscontinued { sku: "A".into() }.into()])
        .when(placed("o2", &[("A", 1)]));
    assert_eq!(reason(&shop), RejectionReason::DiscontinuedSku);
}

#[test]
fn release_and_commit_keep_the_books_balanced() {
    let shop = Scenario::<Inventory>::new(Settings::default())
        .given(listed("A", 5))
        .when(placed("o1", &[("A", 2)]))
        .when(cancelled("o1"))
        .then_types(&[events::EventType::ReservationReleased]);
    let a = stock(&shop, "A");
    assert_eq!((a.available, a.reserved), (5, 0));
    let shop = shop.when(cancelled("o1")).then([]);
    assert_eq!(stock(&shop, "A"), a, "releasing twice changes nothing");

    let confirmed = |order_id: &str| -> Event {
        let Event::OrderPlaced(placed) = placed(order_id, &[("A", 2)]) else {
            unreachable!()
        };
        events::orders::OrderConfirmed {
            order_id: placed.order_id,
            customer_id: placed.customer_id,
            lines: placed.lines,
            total_minor: placed.total_minor,
            currency: placed.currency,
            authorization_id: Some(format!("auth-{order_id}")),
        }
        .into()
    };
    let shop = shop
        .when(placed("o2", &[("A", 2)]))
        .when(confirmed("o2"))
        .then_types(&[events::EventType::ReservationCommitted]);
    let a = stock(&shop, "A");
    assert_eq!(
        (a.available, a.reserved, a.sold, a.received()),
        (3, 0, 2, 5)
    );
    let shop = shop.when(confirmed("o2")).then([]);
    assert_eq!(stock(&shop, "A"), a, "committing twice changes nothing");
}

#[test]
fn a_cancel_before_the_order_leaves_a_tombstone_event() {
    let shop = Scenario::<Inventory>::new(Settings::default())
        .given(listed("A", 5))
        .when(cancelled("o1"));
    let emitted = shop.emitted_events();
    let [Event::ReservationReleased(released)] = emitted.as_slice() else {
        panic!("expected a tombstone, got {:?}", shop.emitted_events())
    };
    assert!(released.lines.is_empty());
    let shop = shop.when(placed("o1", &[("A", 1)])).then([]);
    assert_eq!(
        stock(&shop, "A").available,
        5,
        "a late order reserves nothing"
    );
}

fn shipment_cancelled(order_id: &str) -> Event {
    events::shipping::ShipmentCancelled {
        order_id: order_id.into(),
        shipment_id: format!("ship-{order_id}"),
        customer_id: "c1".into(),
    }
    .into()
}

#[test]
fn a_cancelled_shipment_puts_sold_goods_back_once() {
    let Event::OrderPlaced(order) = placed("o1", &[("A", 2)]) else {
        unreachable!()
    };
    let confirmed = Event::from(events::orders::OrderConfirmed {
        order_id: order.order_id.clone(),
        customer_id: order.customer_id.clone(),
        lines: order.lines.clone(),
        total_minor: order.total_minor,
        currency: order.currency.clone(),
        authorization_id: Some("auth-o1".into()),
    });
    let shop = Scenario::<Inventory>::new(Settings::default())
        .given(listed("A", 5))
        .when(placed("o1", &[("A", 2)]))
        .when(confirmed)
        .when(cancelled("o1"))
        .then([]);
    assert_eq!(
        stock(&shop, "A").sold,
        2,
        "a cancel alone keeps sold goods sold"
    );
    let shop = shop.when(shipment_cancelled("o1"));
    let emitted = shop.emitted_events();
    let [Event::ReservationReleased(released)] = emitted.as_slice() else {
        panic!("expected the goods back, got {emitted:?}")
    };
    assert_eq!(
        released.reason,
        events::inventory::ReleaseReason::ShipmentCancelled
    );
    let a = stock(&shop, "A");
    assert_eq!(
        (a.available, a.reserved, a.sold, a.received()),
        (5, 0, 0, 5)
    );
    assert_eq!(reservation(&shop, "o1").status, ReservationStatus::Released);
    let shop = shop.when(shipment_cancelled("o1")).then([]);
    assert_eq!(stock(&shop, "A"), a, "taken back once");
}

#[test]
fn a_cancelled_shipment_of_a_reservation_not_committed_changes_nothing() {
    let shop = Scenario::<Inventory>::new(Settings::default())
        .given(listed("A", 5))
        .when(placed("o1", &[("A", 2)]))
        .when(shipment_cancelled("o1"))
        .then([]);
    assert_eq!(
        stock(&shop, "A").reserved,
        2,
        "orders.cancelled releases it"
    );
    let shop = shop.when(shipment_cancelled("never-seen")).then([]);
    assert_eq!(stock(&shop, "A").available, 3);
}
