//! The payments trees: `accounts` (customer id → [`Account`]) and `payments` (order id →
//! [`Payment`]).

use serde::{Deserialize, Serialize};

use runtime::Tree;

pub const ACCOUNTS: Tree<Account> = Tree::new("accounts");
pub const PAYMENTS: Tree<Payment> = Tree::new("payments");

/// Every tree, as `Service::TREES` lists them.
pub const TREES: &[&str] = &[ACCOUNTS.name(), PAYMENTS.name()];

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
