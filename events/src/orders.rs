//! Orders events: the order's life and the saga's steps. Keyed by order id.
//!
//! The saga in the orders service is an orchestrator: it asks the payments service for work
//! with `payment_*_requested` events and records each decision as an event here, so an order's
//! whole history can be read back from the orders stream.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::inventory::RejectionReason;
use crate::validate::{self, InvalidField, Validate};

/// One line of a placed order, priced by the orders service from catalog events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub sku: String,
    pub quantity: u32,
    /// Price of one unit in minor units of the order's currency.
    pub unit_price_minor: i64,
    /// `quantity * unit_price_minor`.
    pub line_total_minor: i64,
}

/// Why an order was cancelled. Readers must accept values they do not know (`unknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancellationReason {
    PaymentDeclined,
    PaymentTimedOut,
    ReservationTimedOut,
    /// An operator cancelled an order the saga had parked (`orders.cancel`).
    CancelledByOperator,
    #[serde(other)]
    Unknown,
}

/// A saga step that has a deadline. Readers must accept values they do not know (`unknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SagaStep {
    Reservation,
    Payment,
    /// Shipping ships a confirmed order.
    Shipment,
    /// Payments captures a shipped order's authorization.
    Capture,
    #[serde(other)]
    Unknown,
}

/// `orders.placed`: a customer checked out; everything a participant needs is here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub order_id: String,
    pub customer_id: String,
    pub lines: Vec<OrderLine>,
    pub total_minor: i64,
    pub currency: String,
}

/// `orders.payment_requested`: the saga asks payments to authorize the order's total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRequested {
    pub order_id: String,
    pub customer_id: String,
    pub amount_minor: i64,
    pub currency: String,
}

/// `orders.confirmed`: stock is reserved and payment authorized; the order will be shipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderConfirmed {
    pub order_id: String,
    pub customer_id: String,
    pub lines: Vec<OrderLine>,
    pub total_minor: i64,
    pub currency: String,
    /// The authorization that pays for the order (what the saga will capture). Optional for
    /// readers of events written before it existed.
    #[serde(default)]
    pub authorization_id: Option<String>,
}

/// `orders.rejected`: the order could not be accepted (stock); nothing was charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRejected {
    pub order_id: String,
    pub customer_id: String,
    pub reason: RejectionReason,
    #[serde(default)]
    pub detail: String,
}

/// `orders.cancelled`: the saga gave up and compensated (stock released, payment voided).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancelled {
    pub order_id: String,
    pub customer_id: String,
    pub reason: CancellationReason,
    #[serde(default)]
    pub detail: String,
}

/// `orders.completed`: shipped and paid; the saga is over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCompleted {
    pub order_id: String,
    pub customer_id: String,
}

/// `orders.deadline_passed`: a participant did not answer in time; compensation follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlinePassed {
    pub order_id: String,
    pub step: SagaStep,
    pub deadline: Timestamp,
}

/// `orders.payment_capture_requested`: the goods shipped; take the authorized money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentCaptureRequested {
    pub order_id: String,
    pub authorization_id: String,
    pub amount_minor: i64,
    pub currency: String,
}

/// `orders.shipment_requested`: the saga asks shipping again to ship a confirmed order (its
/// shipment deadline passed, or an operator retried a parked order). Shipping creates the
/// shipment if it has none, re-arms a lost ship timer, or repeats `shipping.shipped`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentRequested {
    pub order_id: String,
    pub customer_id: String,
    pub lines: Vec<OrderLine>,
    /// 1 for the first retry; 0 when an operator retries a parked order.
    pub attempt: u32,
}

/// `orders.parked`: the saga gave up on a step after its retries (or a participant said it
/// cannot act); the order waits for a person to retry or cancel it. Support opens a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderParked {
    pub order_id: String,
    pub customer_id: String,
    pub step: SagaStep,
    pub reason: String,
}

/// `orders.payment_void_requested`: release an authorization the order no longer needs
/// (also sent for an authorization that arrives after the saga gave up).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentVoidRequested {
    pub order_id: String,
    pub authorization_id: String,
}

/// `orders.payment_refund_requested`: give back captured money (a capture the order must not keep).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRefundRequested {
    pub order_id: String,
    pub authorization_id: String,
    pub amount_minor: i64,
    pub currency: String,
}

impl Validate for OrderLine {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("lines.sku", &self.sku)?;
        validate::quantity("lines.quantity", self.quantity)?;
        validate::amount("lines.unit_price_minor", self.unit_price_minor)?;
        validate::amount("lines.line_total_minor", self.line_total_minor)?;
        let expected = self.unit_price_minor.checked_mul(i64::from(self.quantity));
        if expected != Some(self.line_total_minor) {
            return Err(InvalidField {
                field: "lines.line_total_minor",
                rule: "must equal quantity * unit_price_minor",
            });
        }
        Ok(())
    }
}

/// Rules shared by `placed` and `confirmed`, which carry the same order snapshot.
fn validate_order(
    order_id: &str,
    customer_id: &str,
    lines: &[OrderLine],
    total_minor: i64,
    currency: &str,
) -> Result<(), InvalidField> {
    validate::id("order_id", order_id)?;
    validate::id("customer_id", customer_id)?;
    validate::non_empty("lines", lines)?;
    validate::amount("total_minor", total_minor)?;
    let sum = lines
        .iter()
        .try_fold(0i64, |sum, line| sum.checked_add(line.line_total_minor));
    if sum != Some(total_minor) {
        return Err(InvalidField {
            field: "total_minor",
            rule: "must equal the sum of line_total_minor",
        });
    }
    validate::currency("currency", currency)
}

impl Validate for OrderPlaced {
    fn validate(&self) -> Result<(), InvalidField> {
        let Self {
            order_id,
            customer_id,
            lines,
            total_minor,
            currency,
        } = self;
        validate_order(order_id, customer_id, lines, *total_minor, currency)
    }
}

impl Validate for OrderConfirmed {
    fn validate(&self) -> Result<(), InvalidField> {
        let Self {
            order_id,
            customer_id,
            lines,
            total_minor,
            currency,
            authorization_id,
        } = self;
        if let Some(authorization_id) = authorization_id {
            validate::id("authorization_id", authorization_id)?;
        }
        validate_order(order_id, customer_id, lines, *total_minor, currency)
    }
}

impl Validate for PaymentRequested {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)?;
        validate::id("customer_id", &self.customer_id)?;
        validate::amount("amount_minor", self.amount_minor)?;
        validate::currency("currency", &self.currency)
    }
}

impl Validate for OrderRejected {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)?;
        validate::id("customer_id", &self.customer_id)
    }
}

impl Validate for OrderCancelled {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)?;
        validate::id("customer_id", &self.customer_id)
    }
}

impl Validate for OrderCompleted {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)?;
        validate::id("customer_id", &self.customer_id)
    }
}

impl Validate for DeadlinePassed {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)
    }
}

impl Validate for PaymentCaptureRequested {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)?;
        validate::id("authorization_id", &self.authorization_id)?;
        validate::amount("amount_minor", self.amount_minor)?;
        validate::currency("currency", &self.currency)
    }
}

impl Validate for ShipmentRequested {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)?;
        validate::id("customer_id", &self.customer_id)?;
        validate::non_empty("lines", &self.lines)
    }
}

impl Validate for OrderParked {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)?;
        validate::id("customer_id", &self.customer_id)
    }
}

impl Validate for PaymentVoidRequested {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)?;
        validate::id("authorization_id", &self.authorization_id)
    }
}

impl Validate for PaymentRefundRequested {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)?;
        validate::id("authorization_id", &self.authorization_id)?;
        validate::amount("amount_minor", self.amount_minor)?;
        validate::currency("currency", &self.currency)
    }
}
