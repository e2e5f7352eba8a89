//! The order saga, as two pure functions: [`step`] decides what an event means for an order
//! (`(Saga, Event) -> effects`: events to publish and the deadline to set), and [`apply`]
//! folds the saga's own events into its state. The state changes only through `apply`, live
//! and in rebuilds alike.
//!
//! ```text
//! placed ─► AwaitingStock ─ stock_reserved ─► AwaitingPayment ─ authorized ─► Confirmed
//!              │  reservation_rejected → Rejected      │ declined / deadline → Cancelled
//!              └─ deadline → Cancelled                  │
//! Confirmed ─ shipped ─► Shipped (capture requested) ─ captured ─► Completed
//! ```
//!
//! Compensation: a cancelled order's reservation is released by inventory (it consumes
//! `orders.cancelled`); an authorization that arrives after the saga gave up is voided; a
//! capture that should not exist is refunded. Every decision is an event on the orders
//! stream, and the saga's state is the fold of those events. Terminal states (`Completed`,
//! `Rejected`, `Cancelled`) are never left, and an event that does not fit the current state
//! changes nothing — which makes duplicates and stale deadlines harmless.
//!
//! Replies are checked before they are believed (`checks`): one that does not match the order
//! is refused (dead-lettered), and parks the order if it answers the step the order waits on.
//! A parked order goes on with the true answer to the step it was parked at.

use serde::{Deserialize, Serialize};

use events::codec::wire_name;
use events::orders::{
    CancellationReason, DeadlinePassed, OrderCancelled, OrderCompleted, OrderConfirmed, OrderLine,
    OrderParked, OrderPlaced, OrderRejected, PaymentCaptureRequested, PaymentRefundRequested,
    PaymentRequested, PaymentVoidRequested, SagaStep, ShipmentRequested,
};
use events::{Event, Timestamp};

mod apply;
mod checks;
mod operator;

pub use apply::apply;
pub use checks::{Refusal, check};
use checks::{answers, awaited, refuse};
pub use operator::{OperatorError, operator_cancel, retry};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    AwaitingStock,
    AwaitingPayment,
    Confirmed,
    Shipped,
    Completed,
    Rejected,
    Cancelled,
    /// Parked: a step failed after its retries; an operator retries or cancels the order.
    NeedsAttention,
}

impl Status {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Completed | Status::Rejected | Status::Cancelled
        )
    }

    /// The API's name for the status.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::AwaitingStock => "placed",
            Status::AwaitingPayment => "awaiting_payment",
            Status::Confirmed => "confirmed",
            Status::Shipped => "shipped",
            Status::Completed => "completed",
            Status::Rejected => "rejected",
            Status::Cancelled => "cancelled",
            Status::NeedsAttention => "needs_attention",
        }
    }
}

/// Everything the saga knows about one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saga {
    pub order_id: String,
    pub customer_id: String,
    pub lines: Vec<OrderLine>,
    pub total_minor: i64,
    pub currency: String,
    pub status: Status,
    pub reason: Option<String>,
    /// The authorization that paid for the order.
    pub authorization_id: Option<String>,
    pub capture_requested: bool,
    /// Authorizations asked to be voided (late ones), each once.
    pub voids_requested: Vec<String>,
    /// Captures asked to be refunded, each once.
    pub refunds_requested: Vec<String>,
    pub placed_at: Timestamp,
    pub updated_at: Timestamp,
    /// Retries of the current step (shipment or capture) so far.
    #[serde(default)]
    pub attempts: u32,
    /// The step a parked order is waiting on.
    #[serde(default)]
    pub parked_step: Option<SagaStep>,
}

/// How long each participant gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub reservation_ms: i64,
    pub payment_ms: i64,
    /// Shipping's time to ship a confirmed order (doubled at each retry).
    pub shipment_ms: i64,
    /// Payments' time to capture a shipped order (doubled at each retry).
    pub capture_ms: i64,
    /// Retries of a shipment or capture before the order is parked.
    pub max_retries: u32,
}

impl Timeouts {
    /// The deadline of attempt `attempt` (0 = the first) of a step that takes `base_ms`.
    fn backoff(base_ms: i64, attempt: u32) -> i64 {
        base_ms.saturating_mul(1 << attempt.min(10))
    }
}

/// What a transition asks the runtime to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Publish now.
    Emit(Event),
    /// Publish `orders.deadline_passed` at the given time, replacing any pending deadline.
    Deadline(Timestamp, Event),
    /// The step the deadline guarded is done: drop the pending deadline.
    ClearDeadline,
}

fn deadline(order_id: &str, step: SagaStep, at: Timestamp) -> Effect {
    Effect::Deadline(
        at,
        DeadlinePassed {
            order_id: order_id.to_owned(),
            step,
            deadline: at,
        }
        .into(),
    )
}

/// A new saga for a placed order: announce it and start the reservation deadline.
pub fn start(placed: OrderPlaced, now: Timestamp, timeouts: Timeouts) -> Vec<Effect> {
    vec![
        deadline(
            &placed.order_id,
            SagaStep::Reservation,
            now.plus_millis(timeouts.reservation_ms),
        ),
        Effect::Emit(placed.into()),
    ]
}

/// The saga's answer to one event: what to publish and which deadline to set or clear
/// (empty when the event changes nothing), or the refusal of a reply that does not match
/// the order.
pub fn step(
    saga: &Saga,
    event: &Event,
    now: Timestamp,
    timeouts: Timeouts,
) -> Result<Vec<Effect>, Refusal> {
    if let Err(reason) = check(saga, event) {
        return Err(refuse(saga, event, reason));
    }
    Ok(match resumed(saga, event) {
        Some(waiting) => {
            let waiting = Saga {
                status: waiting,
                ..saga.clone()
            };
            transition(&waiting, event, now, timeouts)
        }
        None => transition(saga, event, now, timeouts),
    })
}

/// A parked order takes the true answer to the step it was parked at (a parcel that left
/// after all, a capture that landed, inventory's or payments' own answer after a forged one)
/// as if it were still waiting for it: the state it is judged in. A capture failure or a
/// deadline does not resume it.
fn resumed(saga: &Saga, event: &Event) -> Option<Status> {
    if saga.status != Status::NeedsAttention || saga.parked_step != answers(event) {
        return None;
    }
    match event {
        Event::CaptureFailed(_) => None,
        _ => [
            Status::AwaitingStock,
            Status::AwaitingPayment,
            Status::Confirmed,
            Status::Shipped,
        ]
        .into_iter()
        .find(|status| awaited(*status) == saga.parked_step),
    }
}

/// What a believed event does to the order in the state it is judged in.
fn transition(saga: &Saga, event: &Event, now: Timestamp, timeouts: Timeouts) -> Vec<Effect> {
    match (saga.status, event) {
        (Status::AwaitingStock, Event::StockReserved(_)) => request_payment(saga, now, timeouts),
        (Status::AwaitingStock, Event::ReservationRejected(rejected)) => {
            let detail = rejected
                .short_lines
                .iter()
                .map(|line| {
                    format!(
                        "{}: requested {}, available {}",
                        line.sku, line.requested, line.available
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            let event = OrderRejected {
                order_id: saga.order_id.clone(),
                customer_id: saga.customer_id.clone(),
                reason: rejected.reason,
                detail,
            };
            vec![Effect::ClearDeadline, Effect::Emit(event.into())]
        }
        (Status::AwaitingStock, Event::DeadlinePassed(passed))
            if passed.step == SagaStep::Reservation =>
        {
            cancel(
                saga,
                CancellationReason::ReservationTimedOut,
                "inventory did not answer in time".into(),
            )
        }
        (Status::AwaitingPayment, Event::DeadlinePassed(passed))
            if passed.step == SagaStep::Payment =>
        {
            cancel(
                saga,
                CancellationReason::PaymentTimedOut,
                "payments did not answer in time".into(),
            )
        }
        (Status::AwaitingPayment, Event::PaymentDeclined(declined)) => cancel(
            saga,
            CancellationReason::PaymentDeclined,
            wire_name(&declined.reason),
        ),
        (Status::AwaitingPayment, Event::PaymentAuthorized(authorized)) => {
            let event = OrderConfirmed {
                order_id: saga.order_id.clone(),
                customer_id: saga.customer_id.clone(),
                lines: saga.lines.clone(),
                total_minor: saga.total_minor,
                currency: saga.currency.clone(),
                authorization_id: Some(authorized.authorization_id.clone()),
            };
            let at = now.plus_millis(timeouts.shipment_ms);
            vec![
                deadline(&saga.order_id, SagaStep::Shipment, at),
                Effect::Emit(event.into()),
            ]
        }
        (status, Event::PaymentAuthorized(late))
            if (status == Status::Cancelled || status == Status::Rejected)
                && !saga.voids_requested.contains(&late.authorization_id) =>
        {
            // the answer came after the saga gave up: release the money
            let void = PaymentVoidRequested {
                order_id: saga.order_id.clone(),
                authorization_id: late.authorization_id.clone(),
            };
            vec![Effect::Emit(void.into())]
        }
        (Status::Confirmed, Event::Shipped(_)) => capture(saga, now, timeouts, 0),
        (Status::Shipped, Event::PaymentCaptured(_)) => {
            let completed = OrderCompleted {
                order_id: saga.order_id.clone(),
                customer_id: saga.customer_id.clone(),
            };
            vec![Effect::ClearDeadline, Effect::Emit(completed.into())]
        }
        (Status::Confirmed, Event::DeadlinePassed(passed)) if passed.step == SagaStep::Shipment => {
            retry_or_park(saga, now, timeouts, SagaStep::Shipment)
        }
        (Status::Shipped, Event::DeadlinePassed(passed)) if passed.step == SagaStep::Capture => {
            retry_or_park(saga, now, timeouts, SagaStep::Capture)
        }
        (Status::Shipped, Event::CaptureFailed(failed)) => park(
            saga,
            SagaStep::Capture,
            format!("payments cannot capture: {}", failed.reason),
        ),
        (status, Event::PaymentCaptured(captured))
            if status != Status::Shipped
                && status != Status::Completed
                && !saga.refunds_requested.contains(&captured.authorization_id) =>
        {
            // a capture the saga never asked for (or asked for a cancelled order): give it back
            let refund = PaymentRefundRequested {
                order_id: saga.order_id.clone(),
                authorization_id: captured.authorization_id.clone(),
                amount_minor: captured.amount_minor,
                currency: captured.currency.clone(),
            };
            vec![Effect::Emit(refund.into())]
        }
        _ => vec![],
    }
}

/// A shipment or capture deadline passed: ask again while retries are left, else park.
fn retry_or_park(saga: &Saga, now: Timestamp, timeouts: Timeouts, step: SagaStep) -> Vec<Effect> {
    let attempt = saga.attempts + 1;
    match step {
        _ if saga.attempts >= timeouts.max_retries => {
            let who = match step {
                SagaStep::Shipment => "shipping did not ship",
                _ => "payments did not capture",
            };
            let reason = format!("{who} in time, {} retries", timeouts.max_retries);
            park(saga, step, reason)
        }
        SagaStep::Shipment => request_shipment(saga, now, timeouts, attempt),
        _ => capture(saga, now, timeouts, attempt),
    }
}

/// Asks payments to authorize the order's total and sets the payment deadline.
pub(crate) fn request_payment(saga: &Saga, now: Timestamp, timeouts: Timeouts) -> Vec<Effect> {
    let request = PaymentRequested {
        order_id: saga.order_id.clone(),
        customer_id: saga.customer_id.clone(),
        amount_minor: saga.total_minor,
        currency: saga.currency.clone(),
    };
    let at = now.plus_millis(timeouts.payment_ms);
    vec![
        Effect::Emit(request.into()),
        deadline(&saga.order_id, SagaStep::Payment, at),
    ]
}

/// Asks payments to capture (again, for `attempt` > 0) and sets the capture deadline.
pub(crate) fn capture(
    saga: &Saga,
    now: Timestamp,
    timeouts: Timeouts,
    attempt: u32,
) -> Vec<Effect> {
    let capture = PaymentCaptureRequested {
        order_id: saga.order_id.clone(),
        authorization_id: saga.authorization_id.clone().unwrap_or_default(),
        amount_minor: saga.total_minor,
        currency: saga.currency.clone(),
    };
    let at = now.plus_millis(Timeouts::backoff(timeouts.capture_ms, attempt));
    vec![
        Effect::Emit(capture.into()),
        deadline(&saga.order_id, SagaStep::Capture, at),
    ]
}

/// Asks shipping (again) to ship and sets the shipment deadline.
pub(crate) fn request_shipment(
    saga: &Saga,
    now: Timestamp,
    timeouts: Timeouts,
    attempt: u32,
) -> Vec<Effect> {
    let request = ShipmentRequested {
        order_id: saga.order_id.clone(),
        customer_id: saga.customer_id.clone(),
        lines: saga.lines.clone(),
        attempt,
    };
    let at = now.plus_millis(Timeouts::backoff(timeouts.shipment_ms, attempt));
    vec![
        Effect::Emit(request.into()),
        deadline(&saga.order_id, SagaStep::Shipment, at),
    ]
}

/// Gives up on a step: the order waits for an operator (support opens a ticket).
pub(crate) fn park(saga: &Saga, step: SagaStep, reason: String) -> Vec<Effect> {
    let parked = OrderParked {
        order_id: saga.order_id.clone(),
        customer_id: saga.customer_id.clone(),
        step,
        reason,
    };
    vec![Effect::ClearDeadline, Effect::Emit(parked.into())]
}

pub(crate) fn cancel(saga: &Saga, reason: CancellationReason, detail: String) -> Vec<Effect> {
    let event = OrderCancelled {
        order_id: saga.order_id.clone(),
        customer_id: saga.customer_id.clone(),
        reason,
        detail,
    };
    vec![Effect::ClearDeadline, Effect::Emit(event.into())]
}
