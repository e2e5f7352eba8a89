//! shipping: one shipment per confirmed order, shipped after a delay, then delivered.
//!
//! - Consumes: `orders.confirmed` (create the shipment), and its own `shipping.shipped` and
//!   `shipping.delivered` (which its timers publish) to record progress.
//! - Publishes: `shipping.shipment_created`, `shipping.shipped`, `shipping.delivered`.
//! - API (`<prefix>.api.shipping.<verb>`): `get`.
//! - sled trees: `shipments` (order id → shipment).
//!
//! The delays are runtime timers: they are stored with the shipment's transaction, survive
//! restarts, and publish their event through the outbox like everything else.

pub mod domain;
pub mod handlers;
pub mod store;

use std::sync::Arc;

use runtime::{Application, Handler, RuntimeConfig, ServiceDefinition};

pub const DEFINITION: ServiceDefinition = ServiceDefinition {
    name: "shipping",
    version: env!("CARGO_PKG_VERSION"),
    description: "shipments of confirmed orders",
};

#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Settings {
    /// Time from confirmation to shipping, in milliseconds.
    #[arg(long, env = "SHIPPING_SHIP_DELAY_MS", default_value_t = 1_000)]
    pub ship_delay_ms: i64,
    /// Time from shipping to delivery, in milliseconds.
    #[arg(long, env = "SHIPPING_DELIVER_DELAY_MS", default_value_t = 2_000)]
    pub deliver_delay_ms: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ship_delay_ms: 1_000,
            deliver_delay_ms: 2_000,
        }
    }
}

/// The service's event handler (also used by `--rebuild`).
pub fn handler(settings: Settings) -> Arc<dyn Handler> {
    Arc::new(handlers::ShippingHandler { settings })
}

/// Builds the service: runtime, event handler and API endpoints.
pub async fn build(config: RuntimeConfig, settings: Settings) -> anyhow::Result<Application> {
    let app = Application::build(config, DEFINITION, handler(settings)).await?;
    handlers::register_api(&app).await?;
    Ok(app)
}
