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

// dependencies nothing uses are flagged (not in test builds, which also see dev-dependencies)
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod domain;
pub mod handlers;
pub mod store;

use events::{Envelope, Event, EventType};
use runtime::{Endpoints, HandleError, Incoming, Service, ServiceDefinition, State, StateError};

/// Knobs for demos and tests (latency comes from the runtime's `--processing-delay-ms`).
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct Settings {
    /// Share of payment requests declined at random (0.0 to 1.0), decided per order id so a
    /// redelivery gets the same answer.
    #[arg(long, env = "PAYMENTS_DECLINE_RATE", default_value_t = 0.0)]
    pub decline_rate: f64,
}

/// The payments service.
#[derive(Debug, Default)]
pub struct Payments {
    decline_rate: f64,
}

impl Service for Payments {
    const DEFINITION: ServiceDefinition = ServiceDefinition::of(
        events::Context::Payments,
        "customer accounts: authorize, capture, void, refund",
    );
    /// Not yet: an account is kept by customer, and the capture, void and refund requests do
    /// not name the customer (docs/scaling.md, "Status").
    const SCALES_OUT: bool = false;
    const TREES: &'static [&'static str] = store::TREES;
    const CONSUMES: &'static [EventType] = &[
        EventType::PaymentRequested,
        EventType::PaymentCaptureRequested,
        EventType::PaymentVoidRequested,
        EventType::PaymentRefundRequested,
    ];
    const FOLDS: &'static [EventType] = &[
        EventType::AccountOpened,
        EventType::PaymentAuthorized,
        EventType::PaymentDeclined,
        EventType::PaymentCaptured,
        EventType::PaymentVoided,
        EventType::PaymentRefunded,
    ];
    type Settings = Settings;

    fn new(settings: Settings) -> Self {
        Payments {
            decline_rate: settings.decline_rate.clamp(0.0, 1.0),
        }
    }

    fn decide(
        &self,
        state: &mut State<'_>,
        incoming: &Incoming,
    ) -> Result<Vec<Event>, HandleError> {
        domain::decide(state, &incoming.event, self.decline_rate)
    }

    fn evolve(&self, state: &mut State<'_>, event: &Event, _: &Envelope) -> Result<(), StateError> {
        domain::evolve(state, event)
    }

    fn endpoints(&self, endpoints: &mut Endpoints) {
        handlers::endpoints(endpoints);
    }
}
