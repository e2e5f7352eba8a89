//! The saga's fold: its state after each of its own events (the one place it changes).

use events::codec::wire_name;
use events::orders::OrderPlaced;
use events::{Event, Timestamp};

use super::{Saga, Status};

/// The saga after one of its own events, which happened `at` (`None`: the event changes
/// nothing). The one place the saga's state changes.
pub fn apply(saga: Option<&Saga>, event: &Event, at: Timestamp) -> Option<Saga> {
    if let Event::OrderPlaced(placed) = event {
        return saga.is_none().then(|| new_saga(placed, at));
    }
    let saga = saga?;
    let mut next = Saga {
        updated_at: at,
        ..saga.clone()
    };
    match event {
        Event::PaymentRequested(_) => next.status = Status::AwaitingPayment,
        Event::OrderConfirmed(confirmed) => {
            next.status = Status::Confirmed;
            next.authorization_id = confirmed.authorization_id.clone();
            next.attempts = 0;
        }
        Event::ShipmentRequested(request) => {
            next.status = Status::Confirmed;
            next.attempts = request.attempt;
        }
        Event::OrderParked(parked) => {
            next.status = Status::NeedsAttention;
            next.parked_step = Some(parked.step);
            next.reason = Some(format!("needs_attention: {}", parked.reason));
        }
        Event::OrderRejected(rejected) => {
            next.status = Status::Rejected;
            next.reason = Some(wire_name(&rejected.reason));
        }
        Event::OrderCancelled(cancelled) => {
            next.status = Status::Cancelled;
            next.reason = Some(format!(
                "{}: {}",
                wire_name(&cancelled.reason),
                cancelled.detail
            ));
        }
        Event::PaymentCaptureRequested(_) => {
            // a retry while shipped counts an attempt; the first request (or an operator's
            // retry of a parked order) starts from none
            next.attempts = if saga.status == Status::Shipped {
                saga.attempts + 1
            } else {
                0
            };
            next.status = Status::Shipped;
            next.capture_requested = true;
        }
        Event::OrderCompleted(_) => next.status = Status::Completed,
        Event::PaymentVoidRequested(void)
            if !saga.voids_requested.contains(&void.authorization_id) =>
        {
            next.voids_requested.push(void.authorization_id.clone());
        }
        Event::PaymentRefundRequested(refund)
            if !saga.refunds_requested.contains(&refund.authorization_id) =>
        {
            next.refunds_requested.push(refund.authorization_id.clone());
        }
        _ => return None,
    }
    Some(next)
}

fn new_saga(placed: &OrderPlaced, at: Timestamp) -> Saga {
    Saga {
        order_id: placed.order_id.clone(),
        customer_id: placed.customer_id.clone(),
        lines: placed.lines.clone(),
        total_minor: placed.total_minor,
        currency: placed.currency.clone(),
        status: Status::AwaitingStock,
        reason: None,
        authorization_id: None,
        capture_requested: false,
        voids_requested: vec![],
        refunds_requested: vec![],
        placed_at: at,
        updated_at: at,
        attempts: 0,
        parked_step: None,
    }
}
