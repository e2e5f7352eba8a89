//! Inventory events: stock per sku and reservations per order.
//!
//! `restocked` is keyed by sku; everything about a reservation is keyed by the order id, so
//! `<prefix>.*.*.<order_id>` shows an order's reservation next to its other steps.

use serde::{Deserialize, Serialize};

use crate::validate::{self, InvalidField, Validate};

/// A quantity of one sku.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLine {
    pub sku: String,
    pub quantity: u32,
}

/// A line that could not be reserved, with what was asked and what was there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShortLine {
    pub sku: String,
    pub requested: u32,
    pub available: u64,
}

/// Why a reservation was refused. Readers must accept values they do not know (`unknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectionReason {
    InsufficientStock,
    UnknownSku,
    DiscontinuedSku,
    #[serde(other)]
    Unknown,
}

/// Why a reservation was released. Readers must accept values they do not know (`unknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseReason {
    OrderCancelled,
    /// The goods of a confirmed order were taken back into stock: its shipment was cancelled
    /// before the parcel left (`shipping.shipment_cancelled`). Sold units become available.
    ShipmentCancelled,
    #[serde(other)]
    Unknown,
}

/// `inventory.restocked`: units were added to a sku's stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restocked {
    pub sku: String,
    pub quantity_added: u32,
    /// Units available for new reservations after the restock.
    pub available: u64,
}

/// `inventory.stock_reserved`: every line of the order is set aside, all or nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockReserved {
    pub order_id: String,
    pub lines: Vec<StockLine>,
}

/// `inventory.reservation_rejected`: nothing was reserved for the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationRejected {
    pub order_id: String,
    pub reason: RejectionReason,
    /// The lines that could not be served (empty when the order itself was unusable).
    #[serde(default)]
    pub short_lines: Vec<ShortLine>,
}

/// `inventory.reservation_released`: reserved units went back to available stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationReleased {
    pub order_id: String,
    pub lines: Vec<StockLine>,
    pub reason: ReleaseReason,
}

/// `inventory.reservation_committed`: reserved units are sold and leave the stock for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationCommitted {
    pub order_id: String,
    pub lines: Vec<StockLine>,
}

impl Validate for StockLine {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("lines.sku", &self.sku)?;
        validate::quantity("lines.quantity", self.quantity)
    }
}

impl Validate for ShortLine {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("short_lines.sku", &self.sku)?;
        validate::quantity("short_lines.requested", self.requested)
    }
}

impl Validate for Restocked {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("sku", &self.sku)?;
        validate::quantity("quantity_added", self.quantity_added)
    }
}

impl Validate for StockReserved {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)?;
        validate::non_empty("lines", &self.lines)
    }
}

impl Validate for ReservationRejected {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)?;
        self.short_lines.iter().try_for_each(Validate::validate)
    }
}

impl Validate for ReservationReleased {
    /// `lines` may be empty: the release of an order inventory never reserved for (it was
    /// cancelled before inventory saw it), which also means it never will.
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)
    }
}

impl Validate for ReservationCommitted {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("order_id", &self.order_id)?;
        validate::non_empty("lines", &self.lines)
    }
}
