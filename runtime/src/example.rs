//! A small example service, used by the runtime's tests and benchmark and as the shortest
//! complete picture of a [`Service`]: it consumes `orders.placed` and decides one
//! `inventory.stock_reserved` per order, which its `evolve` folds into the tree `applied` (a
//! count per order, so a test can see any event applied twice).

use events::inventory::{StockLine, StockReserved};
use events::{Envelope, Event, EventType};

use crate::handler::{HandleError, Incoming};
use crate::service::{Service, ServiceDefinition};
use crate::store::state::{State, StateError};
use crate::tree::Tree;

/// How often each order id was applied.
pub const APPLIED: &str = "applied";
const APPLIED_TREE: Tree<u64> = Tree::new(APPLIED);

/// An order whose id starts with this is refused, to exercise dead letters.
pub const REFUSED_ORDER_PREFIX: &str = "refuse-";

/// The example has no settings of its own.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Settings {}

#[derive(Debug, Default)]
pub struct Example;

impl Service for Example {
    const DEFINITION: ServiceDefinition = ServiceDefinition {
        name: "example",
        version: env!("CARGO_PKG_VERSION"),
        description: "runtime example: counts orders.placed, emits inventory.stock_reserved",
    };
    const TREES: &'static [&'static str] = &[APPLIED];
    const CONSUMES: &'static [EventType] = &[EventType::OrderPlaced];
    /// Each `inventory.stock_reserved` it emits records one application.
    const FOLDS: &'static [EventType] = &[EventType::StockReserved];
    type Settings = Settings;

    fn new(_: Settings) -> Self {
        Example
    }

    fn decide(&self, _: &mut State<'_>, incoming: &Incoming) -> Result<Vec<Event>, HandleError> {
        let Event::OrderPlaced(placed) = &incoming.event else {
            return Ok(vec![]);
        };
        if placed.order_id.starts_with(REFUSED_ORDER_PREFIX) {
            return Err(HandleError::Invalid(format!(
                "order {} is refused by the example",
                placed.order_id
            )));
        }
        let lines = placed
            .lines
            .iter()
            .map(|line| StockLine {
                sku: line.sku.clone(),
                quantity: line.quantity,
            })
            .collect();
        let reserved = StockReserved {
            order_id: placed.order_id.clone(),
            lines,
        };
        Ok(vec![reserved.into()])
    }

    /// Each `inventory.stock_reserved` records one application.
    fn evolve(&self, state: &mut State<'_>, event: &Event, _: &Envelope) -> Result<(), StateError> {
        if let Event::StockReserved(reserved) = event {
            let count = APPLIED_TREE.load(state, &reserved.order_id)?.unwrap_or(0);
            APPLIED_TREE.save(state, &reserved.order_id, &(count + 1))?;
        }
        Ok(())
    }
}
