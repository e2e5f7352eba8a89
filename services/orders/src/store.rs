//! The orders trees: `products` (sku → [`PriceEntry`]), `customers` (customer id → ()),
//! `carts` (customer id → items; local: no event records a cart) and `orders` (order id →
//! [`Saga`]).

use events::api::Item;
use runtime::Tree;

use crate::domain::PriceEntry;
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
