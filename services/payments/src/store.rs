//! The payments trees: `accounts` (customer id → [`Account`]) and `payments` (order id →
//! [`Payment`]).

use runtime::Tree;

use crate::domain::{Account, Payment};

pub const ACCOUNTS: Tree<Account> = Tree::new("accounts");
pub const PAYMENTS: Tree<Payment> = Tree::new("payments");

/// Every tree, as `Service::TREES` lists them.
pub const TREES: &[&str] = &[ACCOUNTS.name(), PAYMENTS.name()];
