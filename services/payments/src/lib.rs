//! payments: customer accounts with a credit limit, and the money side of every order.
//!
//! - Consumes: `orders.payment_requested` (authorize or decline),
//!   `orders.payment_capture_requested`, `orders.payment_void_requested`,
//!   `orders.payment_refund_requested`.
//! - Publishes: `payments.account_opened`, `payments.authorized`, `payments.declined`,
//!   `payments.captured`, `payments.voided`, `payments.refunded`.
//! - API (`<prefix>.api.payments.<verb>`): `open_account`, `get_account`.
//! - sled trees: `accounts` (customer id → account), `payments` (order id → payment).
//!
//! One payment per order: a repeated request finds the order's payment and changes nothing,
//! so there is never more than one net capture per order.

pub mod domain;
pub mod handlers;
pub mod store;

use std::sync::Arc;

use runtime::{Application, Handler, RuntimeConfig, ServiceDefinition};

pub const DEFINITION: ServiceDefinition = ServiceDefinition {
    name: "payments",
    version: env!("CARGO_PKG_VERSION"),
    description: "customer accounts: authorize, capture, void, refund",
};

/// Knobs for demos and tests (latency comes from the runtime's `--processing-delay-ms`).
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct Settings {
    /// Share of payment requests declined at random (0.0 to 1.0), decided per order id so a
    /// redelivery gets the same answer.
    #[arg(long, env = "PAYMENTS_DECLINE_RATE", default_value_t = 0.0)]
    pub decline_rate: f64,
}

/// The service's event handler (also used by `--rebuild`).
pub fn handler(settings: Settings) -> Arc<dyn Handler> {
    Arc::new(handlers::PaymentsHandler {
        decline_rate: settings.decline_rate.clamp(0.0, 1.0),
    })
}

/// Builds the service: runtime, event handler and API endpoints.
pub async fn build(config: RuntimeConfig, settings: Settings) -> anyhow::Result<Application> {
    let app = Application::build(config, DEFINITION, handler(settings)).await?;
    handlers::register_api(&app).await?;
    Ok(app)
}
