//! The orders trees: `products` (sku → [`PriceEntry`]), `customers` (customer id → ()),
//! `carts` (customer id → items; local: no event records a cart) and `orders` (order id →
//! [`Saga`]).

use serde::{Deserialize, Serialize};

use events::api::Item;
use runtime::Tree;

use crate::saga::Saga;

pub const PRODUCTS: Tree<PriceEntry> = Tree::new("products");
pub const CUSTOMERS: Tree<()> = Tree::new("customers");
pub const CARTS: Tree<Vec<Item>> = Tree::new("carts");
pub const ORDERS: Tree<Saga> = Tree::new("orders");

/// Every tree, as `Service::TREES` lists them.
pub const TREES: &[&str] = &[
    PRODUCTS.name(),
    CUSTOMERS.name(),
    CARTS.name(),
    ORDERS.name(),
];

/// The trees `decide` writes directly (see `Service::LOCAL_TREES`).
pub const LOCAL_TREES: &[&str] = &[CARTS.name()];

/// What the orders service knows about a product, from catalog events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceEntry {
    pub sku: String,
    pub name: String,
    pub price_minor: i64,
    pub currency: String,
    pub active: bool,
}
