//! shipping: one shipment per confirmed order, shipped after a delay, then delivered.
//!
//! - Consumes: `orders.confirmed` (create the shipment), `orders.shipment_requested` (the
//!   saga asks again), `orders.cancelled` (cancel a shipment that has not left), and its own
//!   `shipping.shipped` and `shipping.delivered` (which its timers publish) to record progress.
//! - Publishes: `shipping.shipment_created`, `shipping.shipped`, `shipping.delivered`,
//!   `shipping.shipment_cancelled`.
//! - API (`<prefix>.api.shipping.<verb>`): `get`.
//! - sled trees: `shipments` (order id → shipment), a fold of shipping's own events.
//!
//! The delays are runtime timers: they are stored with the shipment's transaction, survive
//! restarts, and publish their event through the outbox like everything else.

// dependencies nothing uses are flagged (not in test builds, which also see dev-dependencies)
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod domain;
pub mod handlers;
pub mod store;

use events::partition::Partition;
use events::{Envelope, Event, EventType, Timestamp};
use runtime::{
    Endpoints, HandleError, Incoming, Service, ServiceDefinition, State, StateError, Store,
    StoreError, Timer,
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

/// The shipping service.
#[derive(Debug, Default)]
pub struct Shipping {
    settings: Settings,
}

impl Service for Shipping {
    const DEFINITION: ServiceDefinition =
        ServiceDefinition::of(events::Context::Shipping, "shipments of confirmed orders");
    const TREES: &'static [&'static str] = store::TREES;
    const CONSUMES: &'static [EventType] = &[
        EventType::OrderConfirmed,
        EventType::ShipmentRequested,
        EventType::OrderCancelled,
        EventType::Shipped,
        EventType::Delivered,
    ];
    const FOLDS: &'static [EventType] = &[
        EventType::ShipmentCreated,
        EventType::Shipped,
        EventType::Delivered,
        EventType::ShipmentCancelled,
    ];
    type Settings = Settings;

    fn new(settings: Settings) -> Self {
        Shipping { settings }
    }

    fn decide(
        &self,
        state: &mut State<'_>,
        incoming: &Incoming,
    ) -> Result<Vec<Event>, HandleError> {
        domain::decide(state, &incoming.event, &self.settings)
    }

    fn evolve(&self, state: &mut State<'_>, event: &Event, _: &Envelope) -> Result<(), StateError> {
        domain::evolve(state, event)
    }

    fn endpoints(&self, endpoints: &mut Endpoints) {
        handlers::endpoints(endpoints);
    }

    /// The ship and deliver timers of the partition's shipments that have not arrived.
    fn timers(
        &self,
        store: &Store,
        partition: Partition,
        now: Timestamp,
    ) -> Result<Vec<Timer>, StoreError> {
        let shipments: Vec<_> = store::SHIPMENTS
            .partition_entries(store, partition)?
            .into_iter()
            .map(|(_, shipment)| shipment)
            .collect();
        Ok(domain::waiting(&shipments, &self.settings, now))
    }
}
