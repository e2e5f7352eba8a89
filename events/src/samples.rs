//! One realistic, fixed example of every event: the source of the golden fixtures under
//! `events/fixtures/`, of the examples in `docs/events.md`, and of the codec benchmark.
//! [`sample`] matches on every [`EventType`], so a new event cannot lack an example.

use crate::catalog::{ProductAdded, ProductDiscontinued, ProductUpdated};
use crate::inventory::{
    RejectionReason, ReleaseReason, ReservationCommitted, ReservationRejected, ReservationReleased,
    Restocked, ShortLine, StockLine, StockReserved,
};
use crate::orders::{
    CancellationReason, DeadlinePassed, OrderCancelled, OrderCompleted, OrderConfirmed, OrderLine,
    OrderParked, OrderPlaced, OrderRejected, PaymentCaptureRequested, PaymentRefundRequested,
    PaymentRequested, PaymentVoidRequested, SagaStep, ShipmentRequested,
};
use crate::payments::{
    AccountOpened, CaptureFailed, DeclineReason, PaymentAuthorized, PaymentCaptured,
    PaymentDeclined, PaymentRefunded, PaymentVoided,
};
use crate::shipping::{Delivered, ShipmentCancelled, ShipmentCreated, Shipped};
use crate::support::{TicketOpened, TicketResolved, TicketSource, TicketUpdated, TimelineEntry};
use crate::{Event, EventType, Timestamp};

pub const ORDER_ID: &str = "0198a3c4-7b7e-7cc2-9d8e-3f0c6a1b2c3d";
pub const CUSTOMER_ID: &str = "cust-42";
pub const AUTHORIZATION_ID: &str = "auth-0198a3c4-7c01";
pub const SHIPMENT_ID: &str = "ship-0198a3c4-7d02";
pub const TICKET_ID: &str = "tick-0198a3c4-7e03";

/// 2026-01-15T09:30:00.250Z, the moment every sample happens.
pub fn sample_time() -> Timestamp {
    Timestamp::from_unix_millis(1_768_469_400_250).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// One example of each event type, in contract order.
pub fn all() -> Vec<Event> {
    EventType::ALL.iter().map(|ty| sample(*ty)).collect()
}

fn line(sku: &str, quantity: u32, unit_price_minor: i64) -> OrderLine {
    let line_total_minor = i64::from(quantity) * unit_price_minor;
    OrderLine {
        sku: sku.into(),
        quantity,
        unit_price_minor,
        line_total_minor,
    }
}

fn stock(sku: &str, quantity: u32) -> StockLine {
    StockLine {
        sku: sku.into(),
        quantity,
    }
}

/// A typical order: three lines, paid in euros.
pub fn order_placed_payload() -> OrderPlaced {
    let lines = vec![
        line("TEA-GREEN-100G", 2, 899),
        line("MUG-STONE", 1, 1450),
        line("KETTLE-1L", 1, 3999),
    ];
    let total_minor = lines.iter().map(|line| line.line_total_minor).sum();
    OrderPlaced {
        order_id: ORDER_ID.into(),
        customer_id: CUSTOMER_ID.into(),
        lines,
        total_minor,
        currency: "EUR".into(),
    }
}

pub fn order_placed() -> Event {
    order_placed_payload().into()
}

pub fn restocked() -> Event {
    Restocked {
        sku: "TEA-GREEN-100G".into(),
        quantity_added: 50,
        available: 120,
    }
    .into()
}

fn order_stock_lines() -> Vec<StockLine> {
    vec![
        stock("TEA-GREEN-100G", 2),
        stock("MUG-STONE", 1),
        stock("KETTLE-1L", 1),
    ]
}

fn movement() -> (String, String, i64, String) {
    (
        ORDER_ID.into(),
        AUTHORIZATION_ID.into(),
        order_placed_payload().total_minor,
        "EUR".into(),
    )
}

/// The example of one event type.
pub fn sample(event_type: EventType) -> Event {
    let (order_id, authorization_id, amount_minor, currency) = movement();
    let customer_id = String::from(CUSTOMER_ID);
    match event_type {
        EventType::ProductAdded => ProductAdded {
            sku: "TEA-GREEN-100G".into(),
            name: "Green tea, 100 g".into(),
            description: "Sencha from Shizuoka, first flush".into(),
            price_minor: 899,
            currency,
        }
        .into(),
        EventType::ProductUpdated => ProductUpdated {
            sku: "TEA-GREEN-100G".into(),
            name: "Green tea, 100 g".into(),
            description: "Sencha from Shizuoka, first flush".into(),
            price_minor: 949,
            currency,
            previous_price_minor: Some(899),
        }
        .into(),
        EventType::ProductDiscontinued => ProductDiscontinued {
            sku: "MUG-STONE".into(),
        }
        .into(),
        EventType::Restocked => restocked(),
        EventType::StockReserved => StockReserved {
            order_id,
            lines: order_stock_lines(),
        }
        .into(),
        EventType::ReservationRejected => ReservationRejected {
            order_id,
            reason: RejectionReason::InsufficientStock,
            short_lines: vec![ShortLine {
                sku: "KETTLE-1L".into(),
                requested: 1,
                available: 0,
            }],
        }
        .into(),
        EventType::ReservationReleased => ReservationReleased {
            order_id,
            lines: order_stock_lines(),
            reason: ReleaseReason::OrderCancelled,
        }
        .into(),
        EventType::ReservationCommitted => ReservationCommitted {
            order_id,
            lines: order_stock_lines(),
        }
        .into(),
        EventType::OrderPlaced => order_placed(),
        EventType::PaymentRequested => PaymentRequested {
            order_id,
            customer_id,
            amount_minor,
            currency,
        }
        .into(),
        EventType::OrderConfirmed => {
            let OrderPlaced {
                order_id,
                customer_id,
                lines,
                total_minor,
                currency,
            } = order_placed_payload();
            OrderConfirmed {
                authorization_id: Some(format!("auth-{order_id}")),
                order_id,
                customer_id,
                lines,
                total_minor,
                currency,
            }
            .into()
        }
        EventType::OrderRejected => OrderRejected {
            order_id,
            customer_id,
            reason: RejectionReason::InsufficientStock,
            detail: "KETTLE-1L: requested 1, available 0".into(),
        }
        .into(),
        EventType::OrderCancelled => OrderCancelled {
            order_id,
            customer_id,
            reason: CancellationReason::PaymentDeclined,
            detail: "insufficient_credit".into(),
        }
        .into(),
        EventType::OrderCompleted => OrderCompleted {
            order_id,
            customer_id,
        }
        .into(),
        EventType::DeadlinePassed => DeadlinePassed {
            order_id,
            step: SagaStep::Payment,
            deadline: sample_time(),
        }
        .into(),
        EventType::PaymentCaptureRequested => PaymentCaptureRequested {
            order_id,
            authorization_id,
            amount_minor,
            currency,
        }
        .into(),
        EventType::ShipmentRequested => ShipmentRequested {
            order_id,
            customer_id,
            lines: order_placed_payload().lines,
            attempt: 1,
        }
        .into(),
        EventType::OrderParked => OrderParked {
            order_id,
            customer_id,
            step: SagaStep::Capture,
            reason: "payments cannot capture: the payment is voided".into(),
        }
        .into(),
        EventType::PaymentVoidRequested => PaymentVoidRequested {
            order_id,
            authorization_id,
        }
        .into(),
        EventType::PaymentRefundRequested => PaymentRefundRequested {
            order_id,
            authorization_id,
            amount_minor,
            currency,
        }
        .into(),
        EventType::AccountOpened => AccountOpened {
            customer_id,
            credit_limit_minor: 50_000,
            currency,
        }
        .into(),
        EventType::PaymentAuthorized => PaymentAuthorized {
            order_id,
            customer_id,
            authorization_id,
            amount_minor,
            currency,
        }
        .into(),
        EventType::PaymentDeclined => PaymentDeclined {
            order_id,
            customer_id,
            reason: DeclineReason::InsufficientCredit,
            amount_minor,
            currency,
        }
        .into(),
        EventType::PaymentCaptured => PaymentCaptured {
            order_id,
            authorization_id,
            amount_minor,
            currency,
        }
        .into(),
        EventType::CaptureFailed => CaptureFailed {
            order_id,
            authorization_id,
            reason: "the payment is voided".into(),
        }
        .into(),
        EventType::PaymentVoided => PaymentVoided {
            order_id,
            authorization_id,
            amount_minor,
            currency,
        }
        .into(),
        EventType::PaymentRefunded => PaymentRefunded {
            order_id,
            authorization_id,
            amount_minor,
            currency,
        }
        .into(),
        EventType::ShipmentCreated => ShipmentCreated {
            order_id,
            shipment_id: SHIPMENT_ID.into(),
            customer_id,
            lines: order_stock_lines(),
        }
        .into(),
        EventType::Shipped => Shipped {
            order_id,
            shipment_id: SHIPMENT_ID.into(),
            tracking_number: "TRK-7731-0042".into(),
        }
        .into(),
        EventType::Delivered => Delivered {
            order_id,
            shipment_id: SHIPMENT_ID.into(),
        }
        .into(),
        EventType::ShipmentCancelled => ShipmentCancelled {
            order_id,
            shipment_id: SHIPMENT_ID.into(),
            customer_id,
        }
        .into(),
        EventType::TicketOpened => TicketOpened {
            ticket_id: TICKET_ID.into(),
            order_id,
            customer_id,
            source: TicketSource::System,
            message: "payment declined: insufficient_credit".into(),
            timeline: vec![
                TimelineEntry {
                    occurred_at: sample_time(),
                    event_type: "orders.placed".into(),
                    summary: "3 lines, 72.47 EUR".into(),
                },
                TimelineEntry {
                    occurred_at: sample_time().plus_millis(120),
                    event_type: "payments.declined".into(),
                    summary: "insufficient_credit".into(),
                },
            ],
        }
        .into(),
        EventType::TicketUpdated => TicketUpdated {
            ticket_id: TICKET_ID.into(),
            order_id,
            message: "Customer raised the credit limit and will order again".into(),
        }
        .into(),
        EventType::TicketResolved => TicketResolved {
            ticket_id: TICKET_ID.into(),
            order_id,
            resolution: "explained the decline".into(),
            resolved_at: Some(sample_time().plus_millis(3_600_000)),
        }
        .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_is_valid_and_of_its_type() {
        for ty in EventType::ALL {
            let event = sample(*ty);
            assert_eq!(event.event_type(), *ty);
            event
                .validate()
                .unwrap_or_else(|error| panic!("{ty}: {error}"));
        }
    }
}
