//! catalog: the product listings.
//!
//! - Consumes: nothing (the catalog is the source of product facts).
//! - Publishes: `catalog.product_added`, `catalog.product_updated`, `catalog.product_discontinued`.
//! - API (`<prefix>.api.catalog.<verb>`): `add`, `update`, `discontinue`, `get`, `list`.
//! - sled trees: `products` (sku → product), a fold of the catalog's own events.

// dependencies nothing uses are flagged (not in test builds, which also see dev-dependencies)
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod domain;
pub mod handlers;
pub mod store;

use events::{Envelope, Event, EventType};
use runtime::{Endpoints, HandleError, Incoming, Service, ServiceDefinition, State, StateError};

/// The catalog service.
#[derive(Debug, Default)]
pub struct Catalog;

/// The catalog has no settings of its own.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Settings {}

impl Service for Catalog {
    const DEFINITION: ServiceDefinition =
        ServiceDefinition::of(events::Context::Catalog, "product listings");
    const TREES: &'static [&'static str] = store::TREES;
    const CONSUMES: &'static [EventType] = &[];
    const FOLDS: &'static [EventType] = &[
        EventType::ProductAdded,
        EventType::ProductUpdated,
        EventType::ProductDiscontinued,
    ];
    type Settings = Settings;

    fn new(_: Settings) -> Self {
        Catalog
    }

    /// The catalog consumes nothing; everything it decides comes through its API.
    fn decide(&self, _: &mut State<'_>, _: &Incoming) -> Result<Vec<Event>, HandleError> {
        Ok(vec![])
    }

    fn evolve(&self, state: &mut State<'_>, event: &Event, _: &Envelope) -> Result<(), StateError> {
        domain::evolve(state, event)
    }

    fn endpoints(&self, endpoints: &mut Endpoints) {
        handlers::endpoints(endpoints);
    }
}
