//! The support trees: `tickets` (ticket id → [`Ticket`]) and `timelines` (order id → the
//! order's timeline entries, oldest first).

use events::support::TicketSource;
use serde::{Deserialize, Serialize};

use events::support::TimelineEntry;
use runtime::Tree;

pub const TICKETS: Tree<Ticket> = Tree::new("tickets");
pub const TIMELINES: Tree<Vec<TimelineEntry>> = Tree::new("timelines");

/// Every tree, as `Service::TREES` lists them.
pub const TREES: &[&str] = &[TICKETS.name(), TIMELINES.name()];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub ticket_id: String,
    pub order_id: String,
    pub customer_id: String,
    pub source: TicketSource,
    pub message: String,
    pub timeline: Vec<TimelineEntry>,
    pub resolved: bool,
    pub resolution: String,
}
