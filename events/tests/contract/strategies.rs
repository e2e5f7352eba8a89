//! proptest strategies for every event type. [`event_of`] matches on every `EventType`, so a
//! new event type does not compile until it has a strategy.

use events::catalog::*;
use events::inventory::*;
use events::orders::*;
use events::payments::*;
use events::shipping::*;
use events::support::*;
use events::{Event, EventType, Timestamp};
use proptest::prelude::*;

pub(crate) fn id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,40}"
}

fn text() -> impl Strategy<Value = String> {
    any::<String>()
}

fn saga_step() -> impl Strategy<Value = SagaStep> {
    prop_oneof![
        Just(SagaStep::Reservation),
        Just(SagaStep::Payment),
        Just(SagaStep::Shipment),
        Just(SagaStep::Capture),
    ]
}

fn currency() -> impl Strategy<Value = String> {
    "[A-Z]{3}"
}

fn amount() -> impl Strategy<Value = i64> {
    0..=events::validate::MAX_AMOUNT_MINOR
}

fn quantity() -> impl Strategy<Value = u32> {
    1..=u32::MAX
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (0..=253_402_300_799_999i64)
        .prop_map(|millis| Timestamp::from_unix_millis(millis).expect("in range"))
}

fn stock_lines() -> impl Strategy<Value = Vec<StockLine>> {
    prop::collection::vec(
        (id(), quantity()).prop_map(|(sku, quantity)| StockLine { sku, quantity }),
        1..6,
    )
}

/// Order lines whose totals add up, and the order total.
fn order_lines() -> impl Strategy<Value = (Vec<OrderLine>, i64)> {
    let line =
        (id(), 1..=1000u32, 0..=1_000_000_000i64).prop_map(|(sku, quantity, unit)| OrderLine {
            sku,
            quantity,
            unit_price_minor: unit,
            line_total_minor: unit * i64::from(quantity),
        });
    prop::collection::vec(line, 1..6).prop_map(|lines| {
        let total = lines.iter().map(|line| line.line_total_minor).sum();
        (lines, total)
    })
}

fn rejection_reason() -> impl Strategy<Value = RejectionReason> {
    prop_oneof![
        Just(RejectionReason::InsufficientStock),
        Just(RejectionReason::UnknownSku),
        Just(RejectionReason::DiscontinuedSku),
        Just(RejectionReason::Unknown),
    ]
}

fn cancellation_reason() -> impl Strategy<Value = CancellationReason> {
    prop_oneof![
        Just(CancellationReason::PaymentDeclined),
        Just(CancellationReason::PaymentTimedOut),
        Just(CancellationReason::ReservationTimedOut),
        Just(CancellationReason::CancelledByOperator),
        Just(CancellationReason::Unknown),
    ]
}

fn decline_reason() -> impl Strategy<Value = DeclineReason> {
    prop_oneof![
        Just(DeclineReason::UnknownCustomer),
        Just(DeclineReason::InsufficientCredit),
        Just(DeclineReason::CurrencyMismatch),
        Just(DeclineReason::IssuerDeclined),
        Just(DeclineReason::Unknown),
    ]
}

/// (order id, authorization id, amount, currency): the fields of every money movement.
fn movement() -> impl Strategy<Value = (String, String, i64, String)> {
    (id(), id(), amount(), currency())
}

/// Arbitrary valid events of one type.
pub(crate) fn event_of(event_type: EventType) -> BoxedStrategy<Event> {
    match event_type {
        EventType::ProductAdded => (id(), text(), text(), amount(), currency())
            .prop_map(|(sku, name, description, price_minor, currency)| {
                ProductAdded {
                    sku,
                    name,
                    description,
                    price_minor,
                    currency,
                }
                .into()
            })
            .boxed(),
        EventType::ProductUpdated => (
            id(),
            text(),
            text(),
            amount(),
            currency(),
            prop::option::of(amount()),
        )
            .prop_map(
                |(sku, name, description, price_minor, currency, previous_price_minor)| {
                    ProductUpdated {
                        sku,
                        name,
                        description,
                        price_minor,
                        currency,
                        previous_price_minor,
                    }
                    .into()
                },
            )
            .boxed(),
        EventType::ProductDiscontinued => id()
            .prop_map(|sku| ProductDiscontinued { sku }.into())
            .boxed(),
        EventType::Restocked => (id(), quantity(), any::<u64>())
            .prop_map(|(sku, quantity_added, available)| {
                Restocked {
                    sku,
                    quantity_added,
                    available,
                }
                .into()
            })
            .boxed(),
        EventType::StockReserved => (id(), stock_lines())
            .prop_map(|(order_id, lines)| StockReserved { order_id, lines }.into())
            .boxed(),
        EventType::ReservationRejected => {
            let short = (id(), quantity(), any::<u64>()).prop_map(|(sku, requested, available)| {
                ShortLine {
                    sku,
                    requested,
                    available,
                }
            });
            (id(), rejection_reason(), prop::collection::vec(short, 0..4))
                .prop_map(|(order_id, reason, short_lines)| {
                    ReservationRejected {
                        order_id,
                        reason,
                        short_lines,
                    }
                    .into()
                })
                .boxed()
        }
        EventType::ReservationReleased => (
            id(),
            stock_lines(),
            prop_oneof![
                Just(ReleaseReason::OrderCancelled),
                Just(ReleaseReason::ShipmentCancelled),
                Just(ReleaseReason::Unknown)
            ],
        )
            .prop_map(|(order_id, lines, reason)| {
                ReservationReleased {
                    order_id,
                    lines,
                    reason,
                }
                .into()
            })
            .boxed(),
        EventType::ReservationCommitted => (id(), stock_lines())
            .prop_map(|(order_id, lines)| ReservationCommitted { order_id, lines }.into())
            .boxed(),
        EventType::OrderPlaced => (id(), id(), order_lines(), currency())
            .prop_map(|(order_id, customer_id, (lines, total_minor), currency)| {
                OrderPlaced {
                    order_id,
                    customer_id,
                    lines,
                    total_minor,
                    currency,
                }
                .into()
            })
            .boxed(),
        EventType::PaymentRequested => (id(), id(), amount(), currency())
            .prop_map(|(order_id, customer_id, amount_minor, currency)| {
                PaymentRequested {
                    order_id,
                    customer_id,
                    amount_minor,
                    currency,
                }
                .into()
            })
            .boxed(),
        EventType::OrderConfirmed => (
            id(),
            id(),
            order_lines(),
            currency(),
            prop::option::of(id()),
        )
            .prop_map(
                |(order_id, customer_id, (lines, total_minor), currency, authorization_id)| {
                    OrderConfirmed {
                        order_id,
                        customer_id,
                        lines,
                        total_minor,
                        currency,
                        authorization_id,
                    }
                    .into()
                },
            )
            .boxed(),
        EventType::OrderRejected => (id(), id(), rejection_reason(), text())
            .prop_map(|(order_id, customer_id, reason, detail)| {
                OrderRejected {
                    order_id,
                    customer_id,
                    reason,
                    detail,
                }
                .into()
            })
            .boxed(),
        EventType::OrderCancelled => (id(), id(), cancellation_reason(), text())
            .prop_map(|(order_id, customer_id, reason, detail)| {
                OrderCancelled {
                    order_id,
                    customer_id,
                    reason,
                    detail,
                }
                .into()
            })
            .boxed(),
        EventType::OrderCompleted => (id(), id())
            .prop_map(|(order_id, customer_id)| {
                OrderCompleted {
                    order_id,
                    customer_id,
                }
                .into()
            })
            .boxed(),
        EventType::DeadlinePassed => (id(), saga_step(), timestamp())
            .prop_map(|(order_id, step, deadline)| {
                DeadlinePassed {
                    order_id,
                    step,
                    deadline,
                }
                .into()
            })
            .boxed(),
        EventType::PaymentCaptureRequested => movement()
            .prop_map(|(order_id, authorization_id, amount_minor, currency)| {
                PaymentCaptureRequested {
                    order_id,
                    authorization_id,
                    amount_minor,
                    currency,
                }
                .into()
            })
            .boxed(),
        EventType::ShipmentRequested => (id(), id(), order_lines(), 0..10u32)
            .prop_map(|(order_id, customer_id, (lines, _), attempt)| {
                ShipmentRequested {
                    order_id,
                    customer_id,
                    lines,
                    attempt,
                }
                .into()
            })
            .boxed(),
        EventType::OrderParked => (id(), id(), saga_step(), text())
            .prop_map(|(order_id, customer_id, step, reason)| {
                OrderParked {
                    order_id,
                    customer_id,
                    step,
                    reason,
                }
                .into()
            })
            .boxed(),
        EventType::CaptureFailed => (id(), id(), text())
            .prop_map(|(order_id, authorization_id, reason)| {
                CaptureFailed {
                    order_id,
                    authorization_id,
                    reason,
                }
                .into()
            })
            .boxed(),
        EventType::PaymentVoidRequested => (id(), id())
            .prop_map(|(order_id, authorization_id)| {
                PaymentVoidRequested {
                    order_id,
                    authorization_id,
                }
                .into()
            })
            .boxed(),
        EventType::PaymentRefundRequested => movement()
            .prop_map(|(order_id, authorization_id, amount_minor, currency)| {
                PaymentRefundRequested {
                    order_id,
                    authorization_id,
                    amount_minor,
                    currency,
                }
                .into()
            })
            .boxed(),
        EventType::AccountOpened => (id(), amount(), currency())
            .prop_map(|(customer_id, credit_limit_minor, currency)| {
                AccountOpened {
                    customer_id,
                    credit_limit_minor,
                    currency,
                }
                .into()
            })
            .boxed(),
        EventType::PaymentAuthorized => (movement(), id())
            .prop_map(
                |((order_id, authorization_id, amount_minor, currency), customer_id)| {
                    PaymentAuthorized {
                        order_id,
                        customer_id,
                        authorization_id,
                        amount_minor,
                        currency,
                    }
                    .into()
                },
            )
            .boxed(),
        EventType::PaymentDeclined => (id(), id(), decline_reason(), amount(), currency())
            .prop_map(|(order_id, customer_id, reason, amount_minor, currency)| {
                PaymentDeclined {
                    order_id,
                    customer_id,
                    reason,
                    amount_minor,
                    currency,
                }
                .into()
            })
            .boxed(),
        EventType::PaymentCaptured => movement()
            .prop_map(|(order_id, authorization_id, amount_minor, currency)| {
                PaymentCaptured {
                    order_id,
                    authorization_id,
                    amount_minor,
                    currency,
                }
                .into()
            })
            .boxed(),
        EventType::PaymentVoided => movement()
            .prop_map(|(order_id, authorization_id, amount_minor, currency)| {
                PaymentVoided {
                    order_id,
                    authorization_id,
                    amount_minor,
                    currency,
                }
                .into()
            })
            .boxed(),
        EventType::PaymentRefunded => movement()
            .prop_map(|(order_id, authorization_id, amount_minor, currency)| {
                PaymentRefunded {
                    order_id,
                    authorization_id,
                    amount_minor,
                    currency,
                }
                .into()
            })
            .boxed(),
        EventType::ShipmentCreated => (id(), id(), id(), stock_lines())
            .prop_map(|(order_id, shipment_id, customer_id, lines)| {
                ShipmentCreated {
                    order_id,
                    shipment_id,
                    customer_id,
                    lines,
                }
                .into()
            })
            .boxed(),
        EventType::Shipped => (id(), id(), text())
            .prop_map(|(order_id, shipment_id, tracking_number)| {
                Shipped {
                    order_id,
                    shipment_id,
                    tracking_number,
                }
                .into()
            })
            .boxed(),
        EventType::Delivered => (id(), id())
            .prop_map(|(order_id, shipment_id)| {
                Delivered {
                    order_id,
                    shipment_id,
                }
                .into()
            })
            .boxed(),
        EventType::ShipmentCancelled => (id(), id(), id())
            .prop_map(|(order_id, shipment_id, customer_id)| {
                ShipmentCancelled {
                    order_id,
                    shipment_id,
                    customer_id,
                }
                .into()
            })
            .boxed(),
        EventType::TicketOpened => {
            let entry =
                (timestamp(), text(), text()).prop_map(|(occurred_at, event_type, summary)| {
                    TimelineEntry {
                        occurred_at,
                        event_type,
                        summary,
                    }
                });
            let source = prop_oneof![Just(TicketSource::Customer), Just(TicketSource::System)];
            (
                id(),
                id(),
                id(),
                source,
                text(),
                prop::collection::vec(entry, 0..4),
            )
                .prop_map(
                    |(ticket_id, order_id, customer_id, source, message, timeline)| {
                        TicketOpened {
                            ticket_id,
                            order_id,
                            customer_id,
                            source,
                            message,
                            timeline,
                        }
                        .into()
                    },
                )
                .boxed()
        }
        EventType::TicketUpdated => (id(), id(), text())
            .prop_map(|(ticket_id, order_id, message)| {
                TicketUpdated {
                    ticket_id,
                    order_id,
                    message,
                }
                .into()
            })
            .boxed(),
        EventType::TicketResolved => (id(), id(), text(), prop::option::of(timestamp()))
            .prop_map(|(ticket_id, order_id, resolution, resolved_at)| {
                TicketResolved {
                    ticket_id,
                    order_id,
                    resolution,
                    resolved_at,
                }
                .into()
            })
            .boxed(),
    }
}
