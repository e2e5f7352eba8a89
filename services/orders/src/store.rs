//! Typed access to the orders trees: `products` (sku → [`PriceEntry`]), `customers`
//! (customer id → ()), `carts` (customer id → items), `orders` (order id → [`Saga`]).

use std::collections::BTreeMap;

use events::api::Item;
use runtime::{ApiError, State, StateError, Store};

use crate::domain::PriceEntry;
use crate::saga::Saga;

pub const PRODUCTS: &str = "products";
pub const CUSTOMERS: &str = "customers";
pub const CARTS: &str = "carts";
pub const ORDERS: &str = "orders";

pub fn load_price(state: &State<'_>, sku: &str) -> Result<Option<PriceEntry>, StateError> {
    state.load(PRODUCTS, sku.as_bytes())
}

pub fn save_price(state: &mut State<'_>, entry: &PriceEntry) -> Result<(), StateError> {
    state.put(PRODUCTS, entry.sku.as_bytes(), entry)
}

/// The price entries of the given skus that the service knows.
pub fn load_prices<'a>(
    state: &State<'_>,
    skus: impl IntoIterator<Item = &'a str>,
) -> Result<BTreeMap<String, PriceEntry>, StateError> {
    let mut prices = BTreeMap::new();
    for sku in skus {
        if let Some(entry) = load_price(state, sku)? {
            prices.insert(sku.to_owned(), entry);
        }
    }
    Ok(prices)
}

pub fn customer_known(state: &State<'_>, customer_id: &str) -> Result<bool, StateError> {
    Ok(state.get(CUSTOMERS, customer_id.as_bytes())?.is_some())
}

pub fn add_customer(state: &mut State<'_>, customer_id: &str) -> Result<(), StateError> {
    state.insert(CUSTOMERS, customer_id.as_bytes(), Vec::new())
}

pub fn load_cart(state: &State<'_>, customer_id: &str) -> Result<Vec<Item>, StateError> {
    Ok(state
        .load(CARTS, customer_id.as_bytes())?
        .unwrap_or_default())
}

pub fn save_cart(
    state: &mut State<'_>,
    customer_id: &str,
    items: &Vec<Item>,
) -> Result<(), StateError> {
    if items.is_empty() {
        state.remove(CARTS, customer_id.as_bytes())
    } else {
        state.put(CARTS, customer_id.as_bytes(), items)
    }
}

pub fn load_saga(state: &State<'_>, order_id: &str) -> Result<Option<Saga>, StateError> {
    state.load(ORDERS, order_id.as_bytes())
}

pub fn save_saga(state: &mut State<'_>, saga: &Saga) -> Result<(), StateError> {
    state.put(ORDERS, saga.order_id.as_bytes(), saga)
}

pub fn get_saga(store: &Store, order_id: &str) -> Result<Option<Saga>, ApiError> {
    Ok(store.read(ORDERS, order_id.as_bytes())?)
}

pub fn list_sagas(store: &Store) -> Result<Vec<Saga>, ApiError> {
    Ok(store.read_all(ORDERS)?)
}

pub fn get_cart(store: &Store, customer_id: &str) -> Result<Vec<Item>, ApiError> {
    Ok(store
        .read(CARTS, customer_id.as_bytes())?
        .unwrap_or_default())
}
