//! Support's rules, given / when / then over a temporary store: a system ticket's timeline
//! comes from the order's history in the streams, not from events support consumed.
use events::orders::{OrderParked, OrderPlaced};
use events::support::TicketOpened;
use events::{Event, EventType, samples};
use runtime::scenario::Scenario;
use support::store::TICKETS;
use support::{Settings, Support};

fn opened(shop: &Scenario<Support>) -> TicketOpened {
    match shop.emitted_events().as_slice() {
        [Event::TicketOpened(opened)] => opened.clone(),
        other => panic!("expected one ticket_opened, got {other:?}"),
    }
}

fn types(opened: &TicketOpened) -> Vec<&str> {
    (opened.timeline.iter())
        .map(|entry| entry.event_type.as_str())
        .collect()
}

/// The same customer's other order: its story is not this order's.
fn another_order() -> Event {
    OrderPlaced {
        order_id: "ord-other".into(),
        ..samples::order_placed_payload()
    }
    .into()
}

#[test]
fn a_declined_order_gets_one_ticket_with_its_story_read_from_the_streams() {
    let story = [
        samples::order_placed(),
        samples::sample(EventType::StockReserved),
        samples::sample(EventType::PaymentDeclined),
        // not a timeline type: left out
        samples::sample(EventType::PaymentRequested),
        another_order(),
    ];
    let cancelled = samples::sample(EventType::OrderCancelled);
    let shop = Scenario::<Support>::new(Settings::default())
        .stored(story)
        .when(cancelled.clone());
    let ticket = opened(&shop);
    assert_eq!(ticket.order_id, cancelled.key());
    assert_eq!(
        types(&ticket),
        [
            "orders.placed",
            "inventory.stock_reserved",
            "payments.declined",
            "orders.cancelled"
        ]
    );
    let stored = TICKETS
        .get(shop.store(), &ticket.ticket_id)
        .expect("tickets read")
        .expect("the ticket is stored");
    assert_eq!(stored.timeline, ticket.timeline);
    // a redelivered cancellation (a new event id, the same order) opens nothing new
    shop.when(cancelled).then([]);
}

#[test]
fn a_parked_order_gets_a_ticket_even_with_no_story_stored() {
    let parked: Event = match samples::sample(EventType::OrderParked) {
        Event::OrderParked(parked) => OrderParked {
            reason: "shipping did not answer".into(),
            ..parked
        }
        .into(),
        _ => unreachable!(),
    };
    let shop = Scenario::<Support>::new(Settings::default()).when(parked);
    let ticket = opened(&shop);
    assert!(
        ticket.message.contains("shipping did not answer"),
        "{ticket:?}"
    );
    assert_eq!(
        types(&ticket),
        ["orders.parked"],
        "the event itself, as stored"
    );
}

#[test]
fn events_support_no_longer_consumes_change_nothing() {
    Scenario::<Support>::new(Settings::default())
        .stored([samples::order_placed()])
        .when(samples::sample(EventType::PaymentAuthorized))
        .then([]);
}
