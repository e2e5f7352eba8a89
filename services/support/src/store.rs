//! The support tree: `tickets` (ticket id → [`Ticket`], with the timeline it was opened
//! with). Stores written before support read timelines from the streams also hold a
//! `timelines` tree; nothing reads it.

use events::support::TicketSource;
use serde::{Deserialize, Serialize};

use events::support::TimelineEntry;
use runtime::Tree;

pub const TICKETS: Tree<Ticket> = Tree::new("tickets");

/// Every tree, as `Service::TREES` lists them.
pub const TREES: &[&str] = &[TICKETS.name()];

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
