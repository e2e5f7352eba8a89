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
    const DEFINITION: ServiceDefinition = ServiceDefinition {
        name: events::Context::Catalog.as_str(),
        version: env!("CARGO_PKG_VERSION"),
        description: "product listings",
    };
    const TREES: &'static [&'static str] = store::TREES;
    type Settings = Settings;

    fn new(_: Settings) -> Self {
        Catalog
    }

    fn consumes(&self) -> Vec<EventType> {
        vec![]
    }

    fn folds(&self) -> Vec<EventType> {
        vec![
            EventType::ProductAdded,
            EventType::ProductUpdated,
            EventType::ProductDiscontinued,
        ]
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
