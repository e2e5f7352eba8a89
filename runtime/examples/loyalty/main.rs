//! loyalty: a point per completed order, per customer. The smallest whole shop service, shown
//! in docs/architecture.md ("How to add a service"). In a service crate this file is split
//! into `lib.rs` (everything but `main`) and a one-line `main.rs`.
//!
//! - Consumes: `orders.completed`. Publishes nothing.
//! - API (`<prefix>.api.loyalty.<verb>`): `get`.
//! - sled trees: `points` (customer id → points), a fold of `orders.completed`.

// in a service crate the `pub` items are its library's API; in an example they are not
#![allow(unreachable_pub)]

mod domain;

use events::{Envelope, Event, EventType};
use runtime::{
    Endpoints, HandleError, Incoming, Route, Service, ServiceDefinition, State, StateError,
};

/// The loyalty service.
#[derive(Debug, Default)]
pub struct Loyalty;

/// Loyalty has no settings of its own.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Settings {}

impl Service for Loyalty {
    const DEFINITION: ServiceDefinition = ServiceDefinition {
        name: "loyalty",
        version: env!("CARGO_PKG_VERSION"),
        description: "a point per completed order",
    };
    const TREES: &'static [&'static str] = &[domain::POINTS.name()];
    const CONSUMES: &'static [EventType] = &[EventType::OrderCompleted];
    const FOLDS: &'static [EventType] = &[EventType::OrderCompleted];
    type Settings = Settings;

    fn new(_: Settings) -> Self {
        Loyalty
    }

    /// Loyalty decides nothing: it only keeps count.
    fn decide(&self, _: &mut State<'_>, _: &Incoming) -> Result<Vec<Event>, HandleError> {
        Ok(vec![])
    }

    fn evolve(&self, state: &mut State<'_>, event: &Event, _: &Envelope) -> Result<(), StateError> {
        domain::evolve(state, event)
    }

    /// Points are kept per customer, so an event is handled in its customer's partition
    /// (docs/scaling.md); by default it would be its order's.
    fn route(event: &Event) -> Route<'_> {
        match event {
            Event::OrderCompleted(completed) => Route::Key(&completed.customer_id),
            other => Route::Key(other.key()),
        }
    }

    fn endpoints(&self, endpoints: &mut Endpoints) {
        endpoints.add("get", domain::get);
    }
}

fn main() -> std::process::ExitCode {
    runtime::main::<Loyalty>()
}
