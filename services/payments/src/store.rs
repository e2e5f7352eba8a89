//! Typed access to the payments trees: `accounts` (customer id → [`Account`]) and `payments`
//! (order id → [`Payment`]).

use runtime::{ApiError, State, StateError, Store};

use crate::domain::{Account, Payment};

pub const ACCOUNTS: &str = "accounts";
pub const PAYMENTS: &str = "payments";

pub fn load_account(state: &State<'_>, customer_id: &str) -> Result<Option<Account>, StateError> {
    state.load(ACCOUNTS, customer_id.as_bytes())
}

pub fn save_account(state: &mut State<'_>, account: &Account) -> Result<(), StateError> {
    state.put(ACCOUNTS, account.customer_id.as_bytes(), account)
}

pub fn load_payment(state: &State<'_>, order_id: &str) -> Result<Option<Payment>, StateError> {
    state.load(PAYMENTS, order_id.as_bytes())
}

pub fn save_payment(state: &mut State<'_>, payment: &Payment) -> Result<(), StateError> {
    state.put(PAYMENTS, payment.order_id.as_bytes(), payment)
}

pub fn get_account(store: &Store, customer_id: &str) -> Result<Option<Account>, ApiError> {
    Ok(store.read(ACCOUNTS, customer_id.as_bytes())?)
}

/// Every order's payment, for audits and tests.
pub fn list_payments(store: &Store) -> Result<Vec<Payment>, ApiError> {
    Ok(store.read_all(PAYMENTS)?)
}
