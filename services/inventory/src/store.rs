//! The inventory's sled trees: `stock` (sku → [`Stock`]) and `reservations` (order id →
//! [`Reservation`]).

use runtime::Tree;

use crate::domain::{Reservation, Stock};

pub const STOCK: Tree<Stock> = Tree::new("stock");
pub const RESERVATIONS: Tree<Reservation> = Tree::new("reservations");

/// Every tree, as `Service::TREES` lists them.
pub const TREES: &[&str] = &[STOCK.name(), RESERVATIONS.name()];
