//! support: customer-support tickets, opened by customers or automatically when an order
//! fails, with the order's event timeline attached.
//!
//! - Consumes: the order's story for timelines — `orders.placed`, `orders.confirmed`,
//!   `orders.rejected`, `orders.cancelled`, `orders.completed`, `orders.deadline_passed`,
//!   `inventory.stock_reserved`, `inventory.reservation_rejected`, `payments.authorized`,
//!   `payments.declined`, `payments.captured`, `payments.voided`, `shipping.shipped`; and
//!   opens a ticket by itself on `orders.cancelled` (a declined payment or a saga timeout).
//! - Publishes: `support.ticket_opened`, `support.ticket_updated`, `support.ticket_resolved`.
//! - API (`<prefix>.api.support.<verb>`): `open`, `list`, `resolve`.
//! - sled trees: `tickets` (ticket id → ticket), `timelines` (order id → timeline).

pub mod domain;
pub mod handlers;
pub mod store;

use std::sync::Arc;

use runtime::{Application, Handler, RuntimeConfig, ServiceDefinition};

pub const DEFINITION: ServiceDefinition = ServiceDefinition {
    name: "support",
    version: env!("CARGO_PKG_VERSION"),
    description: "customer-support tickets",
};

/// The service's event handler (also used by `--rebuild`).
pub fn handler() -> Arc<dyn Handler> {
    Arc::new(handlers::SupportHandler)
}

/// Builds the service: runtime, event handler and API endpoints.
pub async fn build(config: RuntimeConfig) -> anyhow::Result<Application> {
    let app = Application::build(config, DEFINITION, handler()).await?;
    handlers::register_api(&app).await?;
    Ok(app)
}
