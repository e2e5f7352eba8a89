//! Payments' rules and state: `decide` (authorize within the credit limit; capture, void and
//! refund at most once) and `evolve`, the one fold of payments' events into accounts and
//! payments that live handling, API commands and rebuilds share.

use events::Event;
use events::orders::{PaymentCaptureRequested, PaymentRequested};
use events::payments::{
    AccountOpened, CaptureFailed, DeclineReason, PaymentAuthorized, PaymentCaptured,
    PaymentDeclined, PaymentRefunded, PaymentVoided,
};
use runtime::{ApiError, HandleError, State, StateError};

use crate::store::{ACCOUNTS, Account, PAYMENTS, Payment, PaymentStatus};

/// Whether the decline knob declines this order: a stable hash of the order id, so the same
/// request always gets the same answer.
pub fn knob_declines(order_id: &str, decline_rate: f64) -> bool {
    if decline_rate <= 0.0 {
        return false;
    }
    let hash = order_id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    (hash % 10_000) as f64 / 10_000.0 < decline_rate
}

/// Why payments refuses a request or an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentsError {
    #[error("{operation:?} requested for order {order_id}, which has no payment")]
    NoPayment {
        operation: Operation,
        order_id: String,
    },
    #[error("payment of order {0} names unknown customer")]
    PaymentWithoutAccount(String),
    #[error("account {0} already exists")]
    AccountExists(String),
    #[error("unknown customer {0}")]
    UnknownCustomer(String),
    #[error("{0}")]
    Invalid(String),
}

impl From<PaymentsError> for ApiError {
    fn from(error: PaymentsError) -> Self {
        let code = match error {
            PaymentsError::Invalid(_) => 400,
            PaymentsError::UnknownCustomer(_) => 404,
            PaymentsError::AccountExists(_) => 409,
            PaymentsError::NoPayment { .. } | PaymentsError::PaymentWithoutAccount(_) => 500,
        };
        ApiError::new(code, error.to_string())
    }
}

impl From<PaymentsError> for HandleError {
    fn from(error: PaymentsError) -> Self {
        HandleError::Invalid(error.to_string())
    }
}

/// What happens because of a request the saga sent.
pub fn decide(
    state: &State<'_>,
    event: &Event,
    decline_rate: f64,
) -> Result<Vec<Event>, HandleError> {
    let (order_id, operation) = match event {
        Event::PaymentRequested(request) => {
            if PAYMENTS.contains(state, &request.order_id)? {
                return Ok(vec![]); // one payment per order
            }
            let account = ACCOUNTS.load(state, &request.customer_id)?;
            return Ok(vec![authorize(request, account.as_ref(), decline_rate)]);
        }
        Event::PaymentCaptureRequested(request) => return capture(state, request),
        Event::PaymentVoidRequested(request) => (&request.order_id, Operation::Void),
        Event::PaymentRefundRequested(request) => (&request.order_id, Operation::Refund),
        _ => return Ok(vec![]),
    };
    let payment = PAYMENTS
        .load(state, order_id)?
        .ok_or_else(|| PaymentsError::NoPayment {
            operation,
            order_id: order_id.clone(),
        })?;
    if !ACCOUNTS.contains(state, &payment.customer_id)? {
        return Err(PaymentsError::PaymentWithoutAccount(order_id.clone()).into());
    }
    // a void of a captured payment gives the money back: the intent is to release it
    let operation = match (operation, payment.status) {
        (Operation::Void, PaymentStatus::Captured) => Operation::Refund,
        (operation, _) => operation,
    };
    // `None`: repeated or out of order, nothing to do
    Ok(settle(&payment, operation).into_iter().collect())
}

/// A capture request gets an answer whatever the payment's state: captured (again, for a
/// payment already captured, whose first answer the saga may have missed), or failed.
fn capture(
    state: &State<'_>,
    request: &PaymentCaptureRequested,
) -> Result<Vec<Event>, HandleError> {
    let failed = |reason: String| -> Result<Vec<Event>, HandleError> {
        let failed = CaptureFailed {
            order_id: request.order_id.clone(),
            authorization_id: request.authorization_id.clone(),
            reason,
        };
        Ok(vec![failed.into()])
    };
    let Some(payment) = PAYMENTS.load(state, &request.order_id)? else {
        return failed("the order has no payment".into());
    };
    if payment.authorization_id != request.authorization_id {
        return failed(format!(
            "the request names authorization {}, the order's is {}",
            request.authorization_id, payment.authorization_id
        ));
    }
    match payment.status {
        PaymentStatus::Authorized => Ok(settle(&payment, Operation::Capture).into_iter().collect()),
        PaymentStatus::Captured => {
            let captured = PaymentCaptured {
                order_id: payment.order_id.clone(),
                authorization_id: payment.authorization_id.clone(),
                amount_minor: payment.amount_minor,
                currency: payment.currency.clone(),
            };
            Ok(vec![captured.into()])
        }
        status => failed(format!("the payment is {status:?}").to_lowercase()),
    }
}

/// A new account, as requested; refused if the customer has one.
pub fn open_account(
    existing: Option<&Account>,
    opened: AccountOpened,
) -> Result<Event, PaymentsError> {
    if existing.is_some() {
        return Err(PaymentsError::AccountExists(opened.customer_id));
    }
    events::validate::Validate::validate(&opened)
        .map_err(|error| PaymentsError::Invalid(error.to_string()))?;
    Ok(opened.into())
}

/// Authorizes or declines a payment request.
pub fn authorize(
    request: &PaymentRequested,
    account: Option<&Account>,
    decline_rate: f64,
) -> Event {
    let reason = match account {
        None => Some(DeclineReason::UnknownCustomer),
        Some(account) if account.currency != request.currency => {
            Some(DeclineReason::CurrencyMismatch)
        }
        Some(_) if knob_declines(&request.order_id, decline_rate) => {
            Some(DeclineReason::IssuerDeclined)
        }
        Some(account) if account.available_minor() < request.amount_minor => {
            Some(DeclineReason::InsufficientCredit)
        }
        Some(_) => None,
    };
    match reason {
        None => PaymentAuthorized {
            order_id: request.order_id.clone(),
            customer_id: request.customer_id.clone(),
            authorization_id: authorization_id(&request.order_id),
            amount_minor: request.amount_minor,
            currency: request.currency.clone(),
        }
        .into(),
        Some(reason) => PaymentDeclined {
            order_id: request.order_id.clone(),
            customer_id: request.customer_id.clone(),
            reason,
            amount_minor: request.amount_minor,
            currency: request.currency.clone(),
        }
        .into(),
    }
}

/// The one authorization id of an order's payment (`auth-<order id>`, shortened with a hash
/// when that would be longer than an id may be).
pub fn authorization_id(order_id: &str) -> String {
    events::validate::derived_id("auth-", order_id)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Capture,
    Void,
    Refund,
}

impl Operation {
    /// The payment status the operation needs, and the one it leaves.
    fn transition(self) -> (PaymentStatus, PaymentStatus) {
        match self {
            Operation::Capture => (PaymentStatus::Authorized, PaymentStatus::Captured),
            Operation::Void => (PaymentStatus::Authorized, PaymentStatus::Voided),
            Operation::Refund => (PaymentStatus::Captured, PaymentStatus::Refunded),
        }
    }

    /// The money it moves on the account.
    fn apply(self, account: &mut Account, amount: i64) {
        match self {
            Operation::Capture => {
                account.held_minor -= amount;
                account.captured_minor += amount;
            }
            Operation::Void => account.held_minor -= amount,
            Operation::Refund => account.captured_minor -= amount,
        }
    }
}

/// The event of a capture, void or refund; `None` when the payment is not in the state the
/// operation needs (a repeat, or out of order).
pub fn settle(payment: &Payment, operation: Operation) -> Option<Event> {
    if payment.status != operation.transition().0 {
        return None;
    }
    let (order_id, authorization_id, amount_minor, currency) = (
        payment.order_id.clone(),
        payment.authorization_id.clone(),
        payment.amount_minor,
        payment.currency.clone(),
    );
    Some(match operation {
        Operation::Capture => PaymentCaptured {
            order_id,
            authorization_id,
            amount_minor,
            currency,
        }
        .into(),
        Operation::Void => PaymentVoided {
            order_id,
            authorization_id,
            amount_minor,
            currency,
        }
        .into(),
        Operation::Refund => PaymentRefunded {
            order_id,
            authorization_id,
            amount_minor,
            currency,
        }
        .into(),
    })
}

/// The state change each payments event records.
pub fn evolve(state: &mut State<'_>, event: &Event) -> Result<(), StateError> {
    match event {
        Event::AccountOpened(opened) => {
            let account = Account {
                customer_id: opened.customer_id.clone(),
                credit_limit_minor: opened.credit_limit_minor,
                currency: opened.currency.clone(),
                held_minor: 0,
                captured_minor: 0,
            };
            ACCOUNTS.save(state, &opened.customer_id, &account)
        }
        Event::PaymentAuthorized(e) => {
            if let Some(mut account) = ACCOUNTS.load(state, &e.customer_id)? {
                account.held_minor += e.amount_minor;
                ACCOUNTS.save(state, &e.customer_id, &account)?;
            }
            let payment = Payment {
                order_id: e.order_id.clone(),
                customer_id: e.customer_id.clone(),
                authorization_id: e.authorization_id.clone(),
                amount_minor: e.amount_minor,
                currency: e.currency.clone(),
                status: PaymentStatus::Authorized,
            };
            PAYMENTS.save(state, &e.order_id, &payment)
        }
        Event::PaymentDeclined(e) => {
            let payment = Payment {
                order_id: e.order_id.clone(),
                customer_id: e.customer_id.clone(),
                authorization_id: authorization_id(&e.order_id),
                amount_minor: e.amount_minor,
                currency: e.currency.clone(),
                status: PaymentStatus::Declined,
            };
            PAYMENTS.save(state, &e.order_id, &payment)
        }
        Event::PaymentCaptured(e) => settled(state, &e.order_id, Operation::Capture),
        Event::PaymentVoided(e) => settled(state, &e.order_id, Operation::Void),
        Event::PaymentRefunded(e) => settled(state, &e.order_id, Operation::Refund),
        _ => Ok(()),
    }
}

/// A capture, void or refund that happened: the payment moves on and the account with it.
fn settled(state: &mut State<'_>, order_id: &str, operation: Operation) -> Result<(), StateError> {
    let Some(payment) = PAYMENTS.load(state, order_id)? else {
        return Ok(());
    };
    let (from, to) = operation.transition();
    if payment.status != from {
        return Ok(());
    }
    if let Some(mut account) = ACCOUNTS.load(state, &payment.customer_id)? {
        operation.apply(&mut account, payment.amount_minor);
        ACCOUNTS.save(state, &payment.customer_id, &account)?;
    }
    PAYMENTS.save(
        state,
        order_id,
        &Payment {
            status: to,
            ..payment
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decline_knob_is_stable_and_roughly_the_rate() {
        assert_eq!(knob_declines("order-7", 0.3), knob_declines("order-7", 0.3));
        let declined = (0..10_000)
            .filter(|n| knob_declines(&format!("order-{n}"), 0.3))
            .count();
        assert!((2_500..3_500).contains(&declined), "{declined}");
    }
}
