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
//! - sled trees: `tickets` (ticket id → ticket), `timelines` (order id → timeline); both are
//!   folds of the events support reads and publishes.

// dependencies nothing uses are flagged (not in test builds, which also see dev-dependencies)
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod domain;
pub mod handlers;
pub mod store;

use events::{Envelope, Event, EventType};
use runtime::{Endpoints, HandleError, Incoming, Service, ServiceDefinition, State, StateError};

/// The events that make up an order's timeline: what support consumes.
const TIMELINE: [EventType; 14] = [
    EventType::OrderPlaced,
    EventType::OrderConfirmed,
    EventType::OrderRejected,
    EventType::OrderCancelled,
    EventType::OrderCompleted,
    EventType::DeadlinePassed,
    EventType::StockReserved,
    EventType::ReservationRejected,
    EventType::PaymentAuthorized,
    EventType::PaymentDeclined,
    EventType::PaymentCaptured,
    EventType::PaymentVoided,
    EventType::Shipped,
    EventType::OrderParked,
];

/// What support folds: the timeline events and its own ticket events.
const FOLDS: [EventType; 16] = {
    let mut folds = [EventType::TicketOpened; 16];
    let mut index = 0;
    while index < TIMELINE.len() {
        folds[index] = TIMELINE[index];
        index += 1;
    }
    folds[15] = EventType::TicketResolved;
    folds
};

/// The support service.
#[derive(Debug, Default)]
pub struct Support;

/// Support has no settings of its own.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Settings {}

impl Service for Support {
    const DEFINITION: ServiceDefinition =
        ServiceDefinition::of(events::Context::Support, "customer-support tickets");
    const TREES: &'static [&'static str] = store::TREES;
    const CONSUMES: &'static [EventType] = &TIMELINE;
    /// Everything it consumes (timelines) and its own ticket events.
    const FOLDS: &'static [EventType] = &FOLDS;
    type Settings = Settings;

    fn new(_: Settings) -> Self {
        Support
    }

    fn decide(
        &self,
        state: &mut State<'_>,
        incoming: &Incoming,
    ) -> Result<Vec<Event>, HandleError> {
        Ok(domain::decide(state, &incoming.event)?)
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
        handlers::endpoints(endpoints);
    }
}
