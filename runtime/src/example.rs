//! A small example service, used by the runtime's tests and benchmark and as the shortest
//! complete picture of a handler: it consumes `orders.placed`, counts each order in the tree
//! `applied` (so a test can see any event applied twice), and emits one
//! `inventory.stock_reserved` per order.

use events::inventory::{StockLine, StockReserved};
use events::{Event, EventType};

use crate::app::ServiceDefinition;
use crate::handler::{HandleError, Handler, Incoming};
use crate::store::State;

pub const DEFINITION: ServiceDefinition = ServiceDefinition {
    name: "example",
    version: env!("CARGO_PKG_VERSION"),
    description: "runtime example: counts orders.placed, emits inventory.stock_reserved",
};

/// The tree holding how often each order id was applied.
pub const APPLIED: &str = "applied";

/// An order whose id starts with this is refused by the handler, to exercise dead letters.
pub const REFUSED_ORDER_PREFIX: &str = "refuse-";

#[derive(Debug, Default)]
pub struct ExampleHandler;

impl Handler for ExampleHandler {
    fn consumes(&self) -> Vec<EventType> {
        vec![EventType::OrderPlaced]
    }

    fn trees(&self) -> Vec<&'static str> {
        vec![APPLIED]
    }

    fn handle(
        &self,
        state: &mut State<'_>,
        incoming: &Incoming,
    ) -> Result<Vec<Event>, HandleError> {
        let Event::OrderPlaced(placed) = &incoming.event else {
            return Ok(vec![]);
        };
        if placed.order_id.starts_with(REFUSED_ORDER_PREFIX) {
            return Err(HandleError::Invalid(format!(
                "order {} is refused by the example",
                placed.order_id
            )));
        }
        let key = placed.order_id.as_bytes();
        let count: u64 = state.load(APPLIED, key)?.unwrap_or(0);
        state.put(APPLIED, key, &(count + 1))?;
        let lines = placed
            .lines
            .iter()
            .map(|line| StockLine {
                sku: line.sku.clone(),
                quantity: line.quantity,
            })
            .collect();
        Ok(vec![
            StockReserved {
                order_id: placed.order_id.clone(),
                lines,
            }
            .into(),
        ])
    }

    /// Each `inventory.stock_reserved` it published records one application.
    fn rebuild_from(&self) -> Vec<EventType> {
        vec![EventType::StockReserved]
    }

    fn evolve(&self, state: &mut State<'_>, incoming: &Incoming) -> Result<(), HandleError> {
        if let Event::StockReserved(reserved) = &incoming.event {
            let key = reserved.order_id.as_bytes();
            let count: u64 = state.load(APPLIED, key)?.unwrap_or(0);
            state.put(APPLIED, key, &(count + 1))?;
        }
        Ok(())
    }
}
