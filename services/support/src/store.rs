//! The support trees: `tickets` (ticket id → [`Ticket`]) and `timelines` (order id → the
//! order's timeline entries, oldest first).

use events::support::TimelineEntry;
use runtime::Tree;

use crate::domain::Ticket;

pub const TICKETS: Tree<Ticket> = Tree::new("tickets");
pub const TIMELINES: Tree<Vec<TimelineEntry>> = Tree::new("timelines");

/// Every tree, as `Service::TREES` lists them.
pub const TREES: &[&str] = &[TICKETS.name(), TIMELINES.name()];
