//! Shipping events: one shipment per confirmed order. Keyed by order id.

use serde::{Deserialize, Serialize};

use crate::inventory::StockLine;
use crate::validate::{self, InvalidField, Validate};

/// `shipping.shipment_created`: a confirmed order is being packed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentCreated {
    pub order_id: String,
    pub shipment_id: String,
    pub customer_id: String,
    pub lines: Vec<StockLine>,
}

/// `shipping.shipped`: the parcel left the warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipped {
    pub order_id: String,
    pub shipment_id: String,
    #[serde(default)]
    pub tracking_number: String,
}

/// `shipping.delivered`: the parcel reached the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivered {
    pub order_id: String,
    pub shipment_id: String,
}

/// `shipping.shipment_cancelled`: nothing will ship for this order (an operator cancelled it
/// before the parcel left). Inventory takes the goods back into stock. Also published for an
/// operator-cancelled order shipping never saw, so that a late request creates nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentCancelled {
    pub order_id: String,
    pub shipment_id: String,
    pub customer_id: String,
}

impl Validate for ShipmentCreated {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)?;
        validate::id("shipment_id", &self.shipment_id)?;
        validate::id("customer_id", &self.customer_id)?;
        validate::non_empty("lines", &self.lines)
    }
}

impl Validate for Shipped {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)?;
        validate::id("shipment_id", &self.shipment_id)
    }
}

impl Validate for Delivered {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)?;
        validate::id("shipment_id", &self.shipment_id)
    }
}

impl Validate for ShipmentCancelled {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)?;
        validate::id("shipment_id", &self.shipment_id)?;
        validate::id("customer_id", &self.customer_id)
    }
}
