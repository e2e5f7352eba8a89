//! orders: carts, checkout, and the order saga that drives every order to an end.
//!
//! - Consumes: `catalog.product_added`, `catalog.product_updated`,
//!   `catalog.product_discontinued` (prices come from these, never from the client),
//!   `payments.account_opened` (known customers), and the saga's replies:
//!   `inventory.stock_reserved`, `inventory.reservation_rejected`, `payments.authorized`,
//!   `payments.declined`, `payments.captured`, `shipping.shipped`, and its own
//!   `orders.deadline_passed` (timers). A reply that does not match its order (`saga::check`)
//!   is dead-lettered, and parks the order it would have moved on.
//! - Publishes: `orders.placed`, `orders.payment_requested`, `orders.confirmed`,
//!   `orders.rejected`, `orders.cancelled`, `orders.completed`, `orders.deadline_passed`,
//!   `orders.payment_capture_requested`, `orders.payment_void_requested`,
//!   `orders.payment_refund_requested`.
//! - API (`<prefix>.api.orders.<verb>`): `cart_add`, `cart_remove`, `cart_show`, `place`,
//!   `get`, `list`.
//! - sled trees: `products` (sku → price), `customers` (customer id → ()), `carts`
//!   (customer id → items), `orders` (order id → saga state). Deadlines are runtime timers.
//!   Every tree but `carts` is a fold of events (catalog facts, opened accounts, the saga's
//!   own events). `carts` is *local*: a cart is a customer's scratch pad, not a fact another
//!   service may react to, so cart changes are not published; a rebuild carries the tree over.

// dependencies nothing uses are flagged (not in test builds, which also see dev-dependencies)
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod domain;
pub mod handlers;
pub mod saga;
pub mod store;

use events::{Envelope, Event, EventType};
use runtime::{Endpoints, HandleError, Incoming, Service, ServiceDefinition, State, StateError};

/// How long the saga waits for each participant before it compensates.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Settings {
    /// Deadline for inventory to reserve or reject, in milliseconds.
    #[arg(long, env = "ORDERS_RESERVATION_TIMEOUT_MS", default_value_t = 10_000)]
    pub reservation_timeout_ms: i64,
    /// Deadline for payments to authorize or decline, in milliseconds.
    #[arg(long, env = "ORDERS_PAYMENT_TIMEOUT_MS", default_value_t = 10_000)]
    pub payment_timeout_ms: i64,
    /// Deadline for shipping to ship a confirmed order, in milliseconds (doubled per retry).
    #[arg(long, env = "ORDERS_SHIPMENT_TIMEOUT_MS", default_value_t = 30_000)]
    pub shipment_timeout_ms: i64,
    /// Deadline for payments to capture a shipped order, in milliseconds (doubled per retry).
    #[arg(long, env = "ORDERS_CAPTURE_TIMEOUT_MS", default_value_t = 10_000)]
    pub capture_timeout_ms: i64,
    /// Retries of a shipment or a capture before the order is parked for an operator.
    #[arg(long, env = "ORDERS_MAX_RETRIES", default_value_t = 3)]
    pub max_retries: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            reservation_timeout_ms: 10_000,
            payment_timeout_ms: 10_000,
            shipment_timeout_ms: 30_000,
            capture_timeout_ms: 10_000,
            max_retries: 3,
        }
    }
}

impl Settings {
    pub fn timeouts(&self) -> saga::Timeouts {
        saga::Timeouts {
            reservation_ms: self.reservation_timeout_ms,
            payment_ms: self.payment_timeout_ms,
            shipment_ms: self.shipment_timeout_ms,
            capture_ms: self.capture_timeout_ms,
            max_retries: self.max_retries,
        }
    }
}

/// The orders service.
#[derive(Debug)]
pub struct Orders {
    timeouts: saga::Timeouts,
}

impl Service for Orders {
    const DEFINITION: ServiceDefinition = ServiceDefinition::of(
        events::Context::Orders,
        "carts, checkout and the order saga",
    );
    /// Not yet: the saga is kept by order and the cart by customer, and the events it consumes
    /// do not all name the customer (docs/scaling.md, "Status").
    const SCALES_OUT: bool = false;
    const TREES: &'static [&'static str] = store::TREES;
    const LOCAL_TREES: &'static [&'static str] = store::LOCAL_TREES;
    const CONSUMES: &'static [EventType] = &[
        EventType::ProductAdded,
        EventType::ProductUpdated,
        EventType::ProductDiscontinued,
        EventType::AccountOpened,
        EventType::StockReserved,
        EventType::ReservationRejected,
        EventType::PaymentAuthorized,
        EventType::PaymentDeclined,
        EventType::PaymentCaptured,
        EventType::Shipped,
        EventType::DeadlinePassed,
        EventType::CaptureFailed,
    ];
    /// Catalog facts, opened accounts, and every saga decision.
    const FOLDS: &'static [EventType] = &[
        EventType::ProductAdded,
        EventType::ProductUpdated,
        EventType::ProductDiscontinued,
        EventType::AccountOpened,
        EventType::OrderPlaced,
        EventType::PaymentRequested,
        EventType::OrderConfirmed,
        EventType::OrderRejected,
        EventType::OrderCancelled,
        EventType::OrderCompleted,
        EventType::PaymentCaptureRequested,
        EventType::PaymentVoidRequested,
        EventType::PaymentRefundRequested,
        EventType::ShipmentRequested,
        EventType::OrderParked,
    ];
    type Settings = Settings;

    fn new(settings: Settings) -> Self {
        Orders {
            timeouts: settings.timeouts(),
        }
    }

    fn decide(
        &self,
        state: &mut State<'_>,
        incoming: &Incoming,
    ) -> Result<Vec<Event>, HandleError> {
        domain::decide(state, &incoming.event, self.timeouts)
    }

    fn evolve(
        &self,
        state: &mut State<'_>,
        event: &Event,
        envelope: &Envelope,
    ) -> Result<(), StateError> {
        domain::evolve(state, event, envelope.occurred_at)
    }

    fn endpoints(&self, endpoints: &mut Endpoints) {
        handlers::endpoints(endpoints, self.timeouts);
    }
}
