//! Payments events: customer accounts and the money side of an order.
//!
//! `account_opened` is keyed by customer id; everything about an order's money is keyed by the
//! order id. Captures, voids and refunds name the authorization they act on.

use serde::{Deserialize, Serialize};

use crate::validate::{self, InvalidField, Validate};

/// Why an authorization was declined. Readers must accept values they do not know (`unknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineReason {
    UnknownCustomer,
    InsufficientCredit,
    CurrencyMismatch,
    /// Declined by the configurable decline-rate knob (demos and tests).
    IssuerDeclined,
    #[serde(other)]
    Unknown,
}

/// `payments.account_opened`: a customer can now pay, up to a credit limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountOpened {
    pub customer_id: String,
    pub credit_limit_minor: i64,
    pub currency: String,
}

/// `payments.authorized`: the amount is held on the customer's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentAuthorized {
    pub order_id: String,
    pub customer_id: String,
    pub authorization_id: String,
    pub amount_minor: i64,
    pub currency: String,
}

/// `payments.declined`: nothing is held; the order cannot be paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentDeclined {
    pub order_id: String,
    pub customer_id: String,
    pub reason: DeclineReason,
    pub amount_minor: i64,
    pub currency: String,
}

/// `payments.captured`: the held amount was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentCaptured {
    pub order_id: String,
    pub authorization_id: String,
    pub amount_minor: i64,
    pub currency: String,
}

/// `payments.capture_failed`: a capture payments cannot make (the order has no payment, or its
/// payment is not authorized: declined, voided, refunded). The saga parks the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureFailed {
    pub order_id: String,
    pub authorization_id: String,
    pub reason: String,
}

/// `payments.voided`: the hold was released without taking anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentVoided {
    pub order_id: String,
    pub authorization_id: String,
    pub amount_minor: i64,
    pub currency: String,
}

/// `payments.refunded`: captured money was given back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRefunded {
    pub order_id: String,
    pub authorization_id: String,
    pub amount_minor: i64,
    pub currency: String,
}

/// Rules shared by every event that moves money for one authorization.
fn validate_movement(
    order_id: &str,
    authorization_id: &str,
    amount_minor: i64,
    currency: &str,
) -> Result<(), InvalidField> {
    validate::id("order_id", order_id)?;
    validate::id("authorization_id", authorization_id)?;
    validate::amount("amount_minor", amount_minor)?;
    validate::currency("currency", currency)
}

impl Validate for AccountOpened {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("customer_id", &self.customer_id)?;
        validate::amount("credit_limit_minor", self.credit_limit_minor)?;
        validate::currency("currency", &self.currency)
    }
}

impl Validate for PaymentAuthorized {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("customer_id", &self.customer_id)?;
        validate_movement(
            &self.order_id,
            &self.authorization_id,
            self.amount_minor,
            &self.currency,
        )
    }
}

impl Validate for PaymentDeclined {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)?;
        validate::id("customer_id", &self.customer_id)?;
        validate::amount("amount_minor", self.amount_minor)?;
        validate::currency("currency", &self.currency)
    }
}

impl Validate for CaptureFailed {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)?;
        validate::id("authorization_id", &self.authorization_id)
    }
}

impl Validate for PaymentCaptured {
    fn validate(&self) -> Result<(), InvalidField> {
        validate_movement(
            &self.order_id,
            &self.authorization_id,
            self.amount_minor,
            &self.currency,
        )
    }
}

impl Validate for PaymentVoided {
    fn validate(&self) -> Result<(), InvalidField> {
        validate_movement(
            &self.order_id,
            &self.authorization_id,
            self.amount_minor,
            &self.currency,
        )
    }
}

impl Validate for PaymentRefunded {
    fn validate(&self) -> Result<(), InvalidField> {
        validate_movement(
            &self.order_id,
            &self.authorization_id,
            self.amount_minor,
            &self.currency,
        )
    }
}
