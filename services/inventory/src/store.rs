//! The inventory's sled trees: `stock` (sku → [`Stock`]) and `reservations` (order id →
//! [`Reservation`]).

use events::inventory::StockLine;
use serde::{Deserialize, Serialize};

use runtime::Tree;

pub const STOCK: Tree<Stock> = Tree::new("stock");
pub const RESERVATIONS: Tree<Reservation> = Tree::new("reservations");

/// Every tree, as `Service::TREES` lists them.
pub const TREES: &[&str] = &[STOCK.name(), RESERVATIONS.name()];

/// Stock of one sku. `received = available + reserved + sold` always holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stock {
    pub sku: String,
    /// Listed by the catalog (only listed skus can be reserved).
    pub listed: bool,
    pub discontinued: bool,
    pub available: u64,
    pub reserved: u64,
    pub sold: u64,
}

impl Stock {
    pub fn new(sku: &str) -> Self {
        Stock {
            sku: sku.to_owned(),
            ..Default::default()
        }
    }

    pub fn received(&self) -> u64 {
        self.available + self.reserved + self.sold
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReservationStatus {
    Reserved,
    Rejected,
    Released,
    Committed,
}

/// What inventory did for one order. A `Released` reservation with no lines is a tombstone:
/// the order was cancelled before it was seen, so a late `orders.placed` reserves nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub order_id: String,
    pub lines: Vec<StockLine>,
    pub status: ReservationStatus,
}
