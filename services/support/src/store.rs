//! Typed access to the support trees: `tickets` (ticket id → [`Ticket`]) and `timelines`
//! (order id → the order's timeline entries, oldest first).

use events::support::TimelineEntry;
use runtime::{ApiError, State, StateError, Store};

use crate::domain::Ticket;

pub const TICKETS: &str = "tickets";
pub const TIMELINES: &str = "timelines";

pub fn load_ticket(state: &State<'_>, ticket_id: &str) -> Result<Option<Ticket>, StateError> {
    state.load(TICKETS, ticket_id.as_bytes())
}

pub fn save_ticket(state: &mut State<'_>, ticket: &Ticket) -> Result<(), StateError> {
    state.put(TICKETS, ticket.ticket_id.as_bytes(), ticket)
}

pub fn load_timeline(state: &State<'_>, order_id: &str) -> Result<Vec<TimelineEntry>, StateError> {
    Ok(state
        .load(TIMELINES, order_id.as_bytes())?
        .unwrap_or_default())
}

pub fn save_timeline(
    state: &mut State<'_>,
    order_id: &str,
    timeline: &Vec<TimelineEntry>,
) -> Result<(), StateError> {
    state.put(TIMELINES, order_id.as_bytes(), timeline)
}

pub fn list_tickets(store: &Store) -> Result<Vec<Ticket>, ApiError> {
    Ok(store.read_all(TICKETS)?)
}
