//! Typed access to the catalog's sled tree `products` (sku → [`Product`]).

use events::api::Product;
use runtime::{ApiError, State, StateError, Store};

pub const PRODUCTS: &str = "products";

pub fn load(state: &State<'_>, sku: &str) -> Result<Option<Product>, StateError> {
    state.load(PRODUCTS, sku.as_bytes())
}

pub fn save(state: &mut State<'_>, product: &Product) -> Result<(), StateError> {
    state.put(PRODUCTS, product.sku.as_bytes(), product)
}

/// Reads one product outside a transaction (queries).
pub fn get(store: &Store, sku: &str) -> Result<Option<Product>, ApiError> {
    Ok(store.read(PRODUCTS, sku.as_bytes())?)
}

/// Every product, by sku.
pub fn list(store: &Store) -> Result<Vec<Product>, ApiError> {
    Ok(store.read_all(PRODUCTS)?)
}
