//! orders: carts, checkout, and the order saga that drives every order to an end.
//!
//! - Consumes: `catalog.product_added`, `catalog.product_updated`,
//!   `catalog.product_discontinued` (prices come from these, never from the client),
//!   `payments.account_opened` (known customers), and the saga's replies:
//!   `inventory.stock_reserved`, `inventory.reservation_rejected`, `payments.authorized`,
//!   `payments.declined`, `payments.captured`, `shipping.shipped`, and its own
//!   `orders.deadline_passed` (timers).
//! - Publishes: `orders.placed`, `orders.payment_requested`, `orders.confirmed`,
//!   `orders.rejected`, `orders.cancelled`, `orders.completed`, `orders.deadline_passed`,
//!   `orders.payment_capture_requested`, `orders.payment_void_requested`,
//!   `orders.payment_refund_requested`.
//! - API (`<prefix>.api.orders.<verb>`): `cart_add`, `cart_remove`, `cart_show`, `place`,
//!   `get`, `list`.
//! - sled trees: `products` (sku → price), `customers` (customer id → ()), `carts`
//!   (customer id → items), `orders` (order id → saga state). Deadlines are runtime timers.

pub mod domain;
pub mod handlers;
pub mod saga;
pub mod store;

use std::sync::Arc;

use runtime::{Application, Handler, RuntimeConfig, ServiceDefinition};

pub const DEFINITION: ServiceDefinition = ServiceDefinition {
    name: "orders",
    version: env!("CARGO_PKG_VERSION"),
    description: "carts, checkout and the order saga",
};

/// How long the saga waits for each participant before it compensates.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Settings {
    /// Deadline for inventory to reserve or reject, in milliseconds.
    #[arg(long, env = "ORDERS_RESERVATION_TIMEOUT_MS", default_value_t = 10_000)]
    pub reservation_timeout_ms: i64,
    /// Deadline for payments to authorize or decline, in milliseconds.
    #[arg(long, env = "ORDERS_PAYMENT_TIMEOUT_MS", default_value_t = 10_000)]
    pub payment_timeout_ms: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            reservation_timeout_ms: 10_000,
            payment_timeout_ms: 10_000,
        }
    }
}

impl Settings {
    pub fn timeouts(&self) -> saga::Timeouts {
        saga::Timeouts {
            reservation_ms: self.reservation_timeout_ms,
            payment_ms: self.payment_timeout_ms,
        }
    }
}

/// The service's event handler (also used by `--rebuild`).
pub fn handler(settings: Settings) -> Arc<dyn Handler> {
    Arc::new(handlers::OrdersHandler {
        timeouts: settings.timeouts(),
    })
}

/// Builds the service: runtime, event handler and API endpoints.
pub async fn build(config: RuntimeConfig, settings: Settings) -> anyhow::Result<Application> {
    let app = Application::build(config, DEFINITION, handler(settings)).await?;
    handlers::register_api(&app, settings.timeouts()).await?;
    Ok(app)
}
