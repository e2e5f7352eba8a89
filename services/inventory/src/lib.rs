//! inventory: stock per sku and reservations per order.
//!
//! - Consumes: `catalog.product_added`, `catalog.product_discontinued` (which skus exist),
//!   `orders.placed` (reserve every line or reject the order), `orders.cancelled` (release),
//!   `orders.confirmed` (commit: the reserved units are sold), `shipping.shipment_cancelled`
//!   (a confirmed order's goods did not leave: its sold units are available again).
//! - Publishes: `inventory.restocked`, `inventory.stock_reserved`,
//!   `inventory.reservation_rejected`, `inventory.reservation_released` (with no lines when
//!   the order was cancelled before inventory saw it: a tombstone, so a late `orders.placed`
//!   reserves nothing), `inventory.reservation_committed`.
//! - API (`<prefix>.api.inventory.<verb>`): `restock`, `get`.
//! - sled trees: `stock` (sku → stock levels), `reservations` (order id → reservation); both
//!   are folds of the catalog's listings and inventory's own events.
//!
//! Invariant: per sku, received = available + reserved + sold, and available never goes
//! below zero (every quantity is unsigned and checked before it is taken).

// dependencies nothing uses are flagged (not in test builds, which also see dev-dependencies)
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod domain;
pub mod handlers;
pub mod store;

use events::{Envelope, Event, EventType};
use runtime::{Endpoints, HandleError, Incoming, Service, ServiceDefinition, State, StateError};

/// The inventory service.
#[derive(Debug, Default)]
pub struct Inventory;

/// Inventory has no settings of its own.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Settings {}

impl Service for Inventory {
    const DEFINITION: ServiceDefinition = ServiceDefinition::of(
        events::Context::Inventory,
        "stock levels and order reservations",
    );
    /// Not yet: an order's lines span sku partitions, and reserving them all-or-nothing across
    /// partitions is still to be built (docs/scaling.md, "Status").
    const SCALES_OUT: bool = false;
    const TREES: &'static [&'static str] = store::TREES;
    const CONSUMES: &'static [EventType] = &[
        EventType::ProductAdded,
        EventType::ProductDiscontinued,
        EventType::OrderPlaced,
        EventType::OrderCancelled,
        EventType::OrderConfirmed,
        EventType::ShipmentCancelled,
    ];
    const FOLDS: &'static [EventType] = &[
        EventType::ProductAdded,
        EventType::ProductDiscontinued,
        EventType::Restocked,
        EventType::StockReserved,
        EventType::ReservationRejected,
        EventType::ReservationReleased,
        EventType::ReservationCommitted,
    ];
    type Settings = Settings;

    fn new(_: Settings) -> Self {
        Inventory
    }

    fn decide(
        &self,
        state: &mut State<'_>,
        incoming: &Incoming,
    ) -> Result<Vec<Event>, HandleError> {
        Ok(domain::decide(state, &incoming.event)?)
    }

    fn evolve(&self, state: &mut State<'_>, event: &Event, _: &Envelope) -> Result<(), StateError> {
        domain::evolve(state, event)
    }

    fn endpoints(&self, endpoints: &mut Endpoints) {
        handlers::endpoints(endpoints);
    }
}
