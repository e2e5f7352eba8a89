//! support: customer-support tickets, opened by customers or automatically when an order
//! fails, with the order's event timeline attached.
//!
//! - Consumes: `orders.cancelled` (a declined payment, a saga timeout, an operator's cancel)
//!   and `orders.parked`, and opens a system ticket on each.
//! - Reads, when a ticket opens: the order's story from the streams (its `History`) —
//!   `orders.placed`, `orders.confirmed`, `orders.rejected`, `orders.cancelled`,
//!   `orders.completed`, `orders.deadline_passed`, `orders.parked`, `inventory.stock_reserved`,
//!   `inventory.reservation_rejected`, `payments.authorized`, `payments.declined`,
//!   `payments.captured`, `payments.voided`, `shipping.shipped` — instead of consuming every
//!   event of every order to keep timelines nobody may ever look at.
//! - Publishes: `support.ticket_opened`, `support.ticket_updated`, `support.ticket_resolved`.
//! - API (`<prefix>.api.support.<verb>`): `open`, `list`, `resolve`.
//! - sled trees: `tickets` (ticket id → ticket, with the timeline it was opened with), a fold
//!   of support's own events.

// dependencies nothing uses are flagged (not in test builds, which also see dev-dependencies)
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod domain;
pub mod handlers;
pub mod store;

use events::{Envelope, Event, EventType};
use runtime::{
    Endpoints, HandleError, History, Incoming, Service, ServiceDefinition, State, StateError,
};

/// The events that make up an order's timeline: what support reads when a ticket opens.
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

/// The order events that open a system ticket: what support consumes.
const OPENS_A_TICKET: [EventType; 2] = [EventType::OrderCancelled, EventType::OrderParked];

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
    const CONSUMES: &'static [EventType] = &OPENS_A_TICKET;
    /// Its own ticket events only: a ticket keeps the timeline it was opened with.
    const FOLDS: &'static [EventType] = &[EventType::TicketOpened, EventType::TicketResolved];
    /// The order's story, read when a system ticket opens.
    const HISTORY: History = History {
        on: &OPENS_A_TICKET,
        of: &TIMELINE,
    };
    type Settings = Settings;

    fn new(_: Settings) -> Self {
        Support
    }

    fn decide(
        &self,
        state: &mut State<'_>,
        incoming: &Incoming,
    ) -> Result<Vec<Event>, HandleError> {
        Ok(domain::decide(state, &incoming.event, &incoming.history)?)
    }

    fn evolve(&self, state: &mut State<'_>, event: &Event, _: &Envelope) -> Result<(), StateError> {
        domain::evolve(state, event)
    }

    fn endpoints(&self, endpoints: &mut Endpoints) {
        handlers::endpoints(endpoints);
    }
}
