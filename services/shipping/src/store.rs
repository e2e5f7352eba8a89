//! The shipping tree: `shipments` (order id → [`Shipment`]).

use events::inventory::StockLine;
use serde::{Deserialize, Serialize};

use runtime::Tree;

pub const SHIPMENTS: Tree<Shipment> = Tree::new("shipments");

/// Every tree, as `Service::TREES` lists them.
pub const TREES: &[&str] = &[SHIPMENTS.name()];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShipmentStatus {
    Created,
    Shipped,
    Delivered,
    /// Cancelled before the parcel left; nothing for the order ships.
    Cancelled,
}

impl ShipmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentStatus::Created => "created",
            ShipmentStatus::Shipped => "shipped",
            ShipmentStatus::Delivered => "delivered",
            ShipmentStatus::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub order_id: String,
    pub shipment_id: String,
    pub customer_id: String,
    pub lines: Vec<StockLine>,
    pub tracking_number: String,
    pub status: ShipmentStatus,
}
