//! Typed access to the inventory's sled trees: `stock` (sku → [`Stock`]) and `reservations`
//! (order id → [`Reservation`]).

use std::collections::BTreeMap;

use runtime::{ApiError, State, StateError, Store};

use crate::domain::{Reservation, Stock};

pub const STOCK: &str = "stock";
pub const RESERVATIONS: &str = "reservations";

pub fn load_stock(state: &State<'_>, sku: &str) -> Result<Option<Stock>, StateError> {
    state.load(STOCK, sku.as_bytes())
}

/// The stock of every given sku that inventory has heard of.
pub fn load_stocks<'a>(
    state: &State<'_>,
    skus: impl IntoIterator<Item = &'a str>,
) -> Result<BTreeMap<String, Stock>, StateError> {
    let mut stock = BTreeMap::new();
    for sku in skus {
        if let Some(level) = load_stock(state, sku)? {
            stock.insert(sku.to_owned(), level);
        }
    }
    Ok(stock)
}

pub fn save_stock(state: &mut State<'_>, level: &Stock) -> Result<(), StateError> {
    state.put(STOCK, level.sku.as_bytes(), level)
}

pub fn load_reservation(
    state: &State<'_>,
    order_id: &str,
) -> Result<Option<Reservation>, StateError> {
    state.load(RESERVATIONS, order_id.as_bytes())
}

pub fn save_reservation(
    state: &mut State<'_>,
    reservation: &Reservation,
) -> Result<(), StateError> {
    state.put(RESERVATIONS, reservation.order_id.as_bytes(), reservation)
}

/// One sku's stock, outside a transaction (queries).
pub fn get(store: &Store, sku: &str) -> Result<Option<Stock>, ApiError> {
    Ok(store.read(STOCK, sku.as_bytes())?)
}

/// Every sku's stock.
pub fn list(store: &Store) -> Result<Vec<Stock>, ApiError> {
    Ok(store.read_all(STOCK)?)
}
