//! inventory: stock per sku and reservations per order.
//!
//! - Consumes: `catalog.product_added`, `catalog.product_discontinued` (which skus exist),
//!   `orders.placed` (reserve every line or reject the order), `orders.cancelled` (release),
//!   `orders.confirmed` (commit: the reserved units are sold).
//! - Publishes: `inventory.restocked`, `inventory.stock_reserved`,
//!   `inventory.reservation_rejected`, `inventory.reservation_released`,
//!   `inventory.reservation_committed`.
//! - API (`<prefix>.api.inventory.<verb>`): `restock`, `get`.
//! - sled trees: `stock` (sku → stock levels), `reservations` (order id → reservation).
//!
//! Invariant: per sku, received = available + reserved + sold, and available never goes
//! below zero (every quantity is unsigned and checked before it is taken).

pub mod domain;
pub mod handlers;
pub mod store;

use std::sync::Arc;

use runtime::{Application, Handler, RuntimeConfig, ServiceDefinition};

pub const DEFINITION: ServiceDefinition = ServiceDefinition {
    name: "inventory",
    version: env!("CARGO_PKG_VERSION"),
    description: "stock levels and order reservations",
};

/// The service's event handler (also used by `--rebuild`).
pub fn handler() -> Arc<dyn Handler> {
    Arc::new(handlers::InventoryHandler)
}

/// Builds the service: runtime, event handler and API endpoints.
pub async fn build(config: RuntimeConfig) -> anyhow::Result<Application> {
    let app = Application::build(config, DEFINITION, handler()).await?;
    handlers::register_api(&app).await?;
    Ok(app)
}
