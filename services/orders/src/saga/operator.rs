//! An operator's commands on a parked order: retry the step it waits on, or cancel it and
//! release the money. Each acts once. An order parked at its reservation (inventory's answer
//! did not match it) cannot be retried: inventory answers an order once, so its own answer,
//! when it comes, resumes the order; an operator can only cancel it.

use events::Timestamp;
use events::orders::{CancellationReason, PaymentVoidRequested, SagaStep};

use super::{Effect, Saga, Status, Timeouts, cancel, capture, request_payment, request_shipment};

/// Why an operator command does nothing to an order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperatorError {
    #[error(
        "order {order_id} is {status}: only an order that needs attention can be retried or cancelled"
    )]
    NotParked {
        order_id: String,
        status: &'static str,
    },
    #[error(
        "order {order_id} was parked at its reservation and inventory cannot be asked again: \
         inventory's own answer resumes it, or cancel it"
    )]
    ReservationNotRetried { order_id: String },
}

/// `orders.retry` on a parked order: re-issue the step it waits on, with fresh retries (at
/// the payment step: ask payments again, with a fresh payment deadline; payments answers
/// the first request it has not answered yet). Retrying an order whose retry is already under
/// way changes nothing.
pub fn retry(
    saga: &Saga,
    now: Timestamp,
    timeouts: Timeouts,
) -> Result<Vec<Effect>, OperatorError> {
    match (saga.status, saga.parked_step) {
        (Status::NeedsAttention, Some(SagaStep::Shipment)) => {
            Ok(request_shipment(saga, now, timeouts, 0))
        }
        (Status::NeedsAttention, Some(SagaStep::Payment)) => {
            Ok(request_payment(saga, now, timeouts))
        }
        (Status::NeedsAttention, Some(SagaStep::Reservation)) => {
            Err(OperatorError::ReservationNotRetried {
                order_id: saga.order_id.clone(),
            })
        }
        (Status::NeedsAttention, Some(_)) => Ok(capture(saga, now, timeouts, 0)),
        (Status::AwaitingPayment | Status::Confirmed | Status::Shipped, _)
            if saga.parked_step.is_some() =>
        {
            Ok(vec![])
        }
        (status, _) => Err(OperatorError::NotParked {
            order_id: saga.order_id.clone(),
            status: status.as_str(),
        }),
    }
}

/// `orders.cancel` on a parked order: release the money (payments voids an authorization and
/// refunds a capture) and cancel. Cancelling a cancelled order changes nothing.
pub fn operator_cancel(saga: &Saga) -> Result<Vec<Effect>, OperatorError> {
    match saga.status {
        Status::NeedsAttention => {
            let mut effects = cancel(
                saga,
                CancellationReason::CancelledByOperator,
                "cancelled by an operator".into(),
            );
            if let Some(authorization_id) = &saga.authorization_id {
                let void = PaymentVoidRequested {
                    order_id: saga.order_id.clone(),
                    authorization_id: authorization_id.clone(),
                };
                effects.push(Effect::Emit(void.into()));
            }
            Ok(effects)
        }
        Status::Cancelled if saga.parked_step.is_some() => Ok(vec![]),
        status => Err(OperatorError::NotParked {
            order_id: saga.order_id.clone(),
            status: status.as_str(),
        }),
    }
}
