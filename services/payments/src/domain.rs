//! Pure payment rules: authorize within the credit limit, capture, void and refund at most once.

use serde::{Deserialize, Serialize};

use events::Event;
use events::orders::PaymentRequested;
use events::payments::{
    DeclineReason, PaymentAuthorized, PaymentCaptured, PaymentDeclined, PaymentRefunded,
    PaymentVoided,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub customer_id: String,
    pub credit_limit_minor: i64,
    pub currency: String,
    /// Authorized and not yet captured or voided.
    pub held_minor: i64,
    /// Captured minus refunded.
    pub captured_minor: i64,
}

impl Account {
    pub fn available_minor(&self) -> i64 {
        self.credit_limit_minor - self.held_minor - self.captured_minor
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentStatus {
    Declined,
    Authorized,
    Captured,
    Voided,
    Refunded,
}

/// The one payment of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub order_id: String,
    pub customer_id: String,
    pub authorization_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub status: PaymentStatus,
}

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

/// Authorizes or declines a payment request. Returns the updated account (when money is held),
/// the payment record and the event.
pub fn authorize(
    request: &PaymentRequested,
    account: Option<&Account>,
    decline_rate: f64,
) -> (Option<Account>, Payment, Event) {
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
    let authorization_id = format!("auth-{}", request.order_id);
    let payment = |status| Payment {
        order_id: request.order_id.clone(),
        customer_id: request.customer_id.clone(),
        authorization_id: authorization_id.clone(),
        amount_minor: request.amount_minor,
        currency: request.currency.clone(),
        status,
    };
    match (reason, account) {
        (None, Some(account)) => {
            let mut account = account.clone();
            account.held_minor += request.amount_minor;
            let event = PaymentAuthorized {
                order_id: request.order_id.clone(),
                customer_id: request.customer_id.clone(),
                authorization_id: authorization_id.clone(),
                amount_minor: request.amount_minor,
                currency: request.currency.clone(),
            };
            (
                Some(account),
                payment(PaymentStatus::Authorized),
                event.into(),
            )
        }
        (reason, _) => {
            let event = PaymentDeclined {
                order_id: request.order_id.clone(),
                customer_id: request.customer_id.clone(),
                reason: reason.unwrap_or(DeclineReason::Unknown),
                amount_minor: request.amount_minor,
                currency: request.currency.clone(),
            };
            (None, payment(PaymentStatus::Declined), event.into())
        }
    }
}

/// The next state of a payment and its account for a capture, void or refund; `None` when the
/// payment is not in the state the operation needs (a repeat, or out of order).
pub fn settle(
    payment: &Payment,
    account: &Account,
    operation: Operation,
) -> Option<(Account, Payment, Event)> {
    let (from, to) = match operation {
        Operation::Capture => (PaymentStatus::Authorized, PaymentStatus::Captured),
        Operation::Void => (PaymentStatus::Authorized, PaymentStatus::Voided),
        Operation::Refund => (PaymentStatus::Captured, PaymentStatus::Refunded),
    };
    if payment.status != from {
        return None;
    }
    let mut account = account.clone();
    let amount = payment.amount_minor;
    match operation {
        Operation::Capture => {
            account.held_minor -= amount;
            account.captured_minor += amount;
        }
        Operation::Void => account.held_minor -= amount,
        Operation::Refund => account.captured_minor -= amount,
    }
    let (order_id, authorization_id, currency) = (
        payment.order_id.clone(),
        payment.authorization_id.clone(),
        payment.currency.clone(),
    );
    let event: Event = match operation {
        Operation::Capture => PaymentCaptured {
            order_id,
            authorization_id,
            amount_minor: amount,
            currency,
        }
        .into(),
        Operation::Void => PaymentVoided {
            order_id,
            authorization_id,
            amount_minor: amount,
            currency,
        }
        .into(),
        Operation::Refund => PaymentRefunded {
            order_id,
            authorization_id,
            amount_minor: amount,
            currency,
        }
        .into(),
    };
    Some((
        account,
        Payment {
            status: to,
            ..payment.clone()
        },
        event,
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Capture,
    Void,
    Refund,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(limit: i64) -> Account {
        Account {
            customer_id: "c".into(),
            credit_limit_minor: limit,
            currency: "EUR".into(),
            held_minor: 0,
            captured_minor: 0,
        }
    }

    fn request(amount: i64) -> PaymentRequested {
        PaymentRequested {
            order_id: "o1".into(),
            customer_id: "c".into(),
            amount_minor: amount,
            currency: "EUR".into(),
        }
    }

    #[test]
    fn authorizes_within_the_limit_and_declines_beyond() {
        let (held, payment, event) = authorize(&request(100), Some(&account(150)), 0.0);
        assert_eq!(held.unwrap().available_minor(), 50);
        assert_eq!(payment.status, PaymentStatus::Authorized);
        assert_eq!(event.event_type(), events::EventType::PaymentAuthorized);
        let (held, _, event) = authorize(&request(200), Some(&account(150)), 0.0);
        assert!(held.is_none());
        assert!(
            matches!(event, Event::PaymentDeclined(ref d) if d.reason == DeclineReason::InsufficientCredit)
        );
        let (_, _, event) = authorize(&request(1), None, 0.0);
        assert!(
            matches!(event, Event::PaymentDeclined(ref d) if d.reason == DeclineReason::UnknownCustomer)
        );
        let (_, _, event) = authorize(&request(1), Some(&account(150)), 1.0);
        assert!(
            matches!(event, Event::PaymentDeclined(ref d) if d.reason == DeclineReason::IssuerDeclined)
        );
    }

    #[test]
    fn capture_void_and_refund_happen_at_most_once() {
        let (held, payment, _) = authorize(&request(100), Some(&account(150)), 0.0);
        let held = held.unwrap();
        let (captured_account, captured, _) = settle(&payment, &held, Operation::Capture).unwrap();
        assert_eq!(
            (captured_account.held_minor, captured_account.captured_minor),
            (0, 100)
        );
        assert!(settle(&captured, &captured_account, Operation::Capture).is_none());
        assert!(settle(&captured, &captured_account, Operation::Void).is_none());
        let (refunded_account, refunded, _) =
            settle(&captured, &captured_account, Operation::Refund).unwrap();
        assert_eq!(refunded_account.captured_minor, 0);
        assert!(settle(&refunded, &refunded_account, Operation::Refund).is_none());
        let (voided_account, _, _) = settle(&payment, &held, Operation::Void).unwrap();
        assert_eq!(voided_account.available_minor(), 150);
    }

    #[test]
    fn the_decline_knob_is_stable_and_roughly_the_rate() {
        assert_eq!(knob_declines("order-7", 0.3), knob_declines("order-7", 0.3));
        let declined = (0..10_000)
            .filter(|n| knob_declines(&format!("order-{n}"), 0.3))
            .count();
        assert!((2_500..3_500).contains(&declined), "{declined}");
    }
}
