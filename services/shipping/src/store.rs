//! The shipping tree: `shipments` (order id → [`Shipment`]).

use runtime::Tree;

use crate::domain::Shipment;

pub const SHIPMENTS: Tree<Shipment> = Tree::new("shipments");

/// Every tree, as `Service::TREES` lists them.
pub const TREES: &[&str] = &[SHIPMENTS.name()];
