//! Support's rules and state: an order's timeline as its history reads, when a ticket opens
//! by itself (`decide`), and `evolve`, the one fold of support's own events into tickets,
//! shared by live handling, API commands and rebuilds.

use events::codec::wire_name;
use events::orders::{CancellationReason, OrderCancelled};
use events::support::{TicketOpened, TicketResolved, TicketSource, TimelineEntry};
use events::{Event, Timestamp};
use runtime::{ApiError, Recorded, State, StateError};

use crate::store::{TICKETS, Ticket};

/// The most timeline entries kept per order (the story of one order is short; this bounds
/// the store against a runaway producer).
pub const MAX_TIMELINE: usize = 50;

/// A one-line summary of an event for the timeline.
pub fn summary(event: &Event) -> String {
    match event {
        Event::OrderPlaced(e) => format!(
            "{} line(s), {} {}",
            e.lines.len(),
            money(e.total_minor),
            e.currency
        ),
        Event::OrderConfirmed(_) => "order confirmed".into(),
        Event::OrderRejected(e) => format!("rejected: {}", wire_name(&e.reason)),
        Event::OrderCancelled(e) => format!("cancelled: {}", wire_name(&e.reason)),
        Event::OrderCompleted(_) => "order completed".into(),
        Event::DeadlinePassed(e) => format!("{} deadline passed", wire_name(&e.step)),
        Event::StockReserved(e) => format!("{} line(s) reserved", e.lines.len()),
        Event::ReservationRejected(e) => format!("reservation rejected: {}", wire_name(&e.reason)),
        Event::PaymentAuthorized(e) => {
            format!("authorized {} {}", money(e.amount_minor), e.currency)
        }
        Event::PaymentDeclined(e) => format!("payment declined: {}", wire_name(&e.reason)),
        Event::PaymentCaptured(e) => format!("captured {} {}", money(e.amount_minor), e.currency),
        Event::PaymentVoided(e) => format!("voided {} {}", money(e.amount_minor), e.currency),
        Event::Shipped(e) => format!("shipped, tracking {}", e.tracking_number),
        Event::OrderParked(e) => format!("needs attention: {}", e.reason),
        other => other.event_type().to_string(),
    }
}

fn money(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// An order's timeline from its history (the stored events of the timeline's types).
pub fn timeline(history: &[Recorded]) -> Vec<TimelineEntry> {
    let mut timeline = Vec::new();
    for recorded in history {
        record(
            &mut timeline,
            recorded.envelope.occurred_at,
            &recorded.event,
        );
    }
    timeline
}

/// Adds an entry to a timeline, oldest first, without duplicates, bounded.
pub fn record(timeline: &mut Vec<TimelineEntry>, occurred_at: Timestamp, event: &Event) {
    let entry = TimelineEntry {
        occurred_at,
        event_type: event.event_type().to_string(),
        summary: summary(event),
    };
    if timeline.contains(&entry) {
        return;
    }
    let at = timeline.partition_point(|existing| existing.occurred_at <= occurred_at);
    timeline.insert(at, entry);
    timeline.truncate(MAX_TIMELINE);
}

/// Why a support request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupportError {
    #[error("message must not be empty")]
    EmptyMessage,
    #[error("unknown ticket {0}")]
    UnknownTicket(String),
}

impl From<SupportError> for ApiError {
    fn from(error: SupportError) -> Self {
        let code = match error {
            SupportError::EmptyMessage => 400,
            SupportError::UnknownTicket(_) => 404,
        };
        ApiError::new(code, error.to_string())
    }
}

/// What happens because of an order event: a cancelled or parked order gets one system
/// ticket, with the order's timeline so far from its `history` (the event itself included:
/// it is stored before it is delivered).
pub fn decide(
    state: &State<'_>,
    event: &Event,
    history: &[Recorded],
) -> Result<Vec<Event>, StateError> {
    let (order_id, customer_id, message) = match event {
        Event::OrderCancelled(cancelled) => (
            &cancelled.order_id,
            &cancelled.customer_id,
            cancellation_message(cancelled),
        ),
        Event::OrderParked(parked) => (
            &parked.order_id,
            &parked.customer_id,
            format!(
                "order needs attention ({} step): {}; retry or cancel it",
                wire_name(&parked.step),
                parked.reason
            ),
        ),
        _ => return Ok(vec![]),
    };
    if TICKETS.contains(state, &system_ticket_id(order_id))? {
        return Ok(vec![]);
    }
    Ok(vec![system_ticket(
        order_id,
        customer_id,
        message,
        timeline(history),
    )])
}

/// What the system ticket of a cancelled order says.
pub fn cancellation_message(cancelled: &OrderCancelled) -> String {
    match cancelled.reason {
        CancellationReason::PaymentDeclined => format!("payment declined: {}", cancelled.detail),
        CancellationReason::PaymentTimedOut => {
            "payment did not answer in time; order cancelled".to_owned()
        }
        CancellationReason::ReservationTimedOut => {
            "inventory did not answer in time; order cancelled".to_owned()
        }
        CancellationReason::CancelledByOperator => {
            format!("order cancelled by an operator: {}", cancelled.detail)
        }
        CancellationReason::Unknown => format!("order cancelled: {}", cancelled.detail),
    }
}

fn system_ticket_id(order_id: &str) -> String {
    events::validate::derived_id("tick-", order_id)
}

/// The ticket the shop opens by itself when an order fails; one per order.
pub fn system_ticket(
    order_id: &str,
    customer_id: &str,
    message: String,
    timeline: Vec<TimelineEntry>,
) -> Event {
    open(
        system_ticket_id(order_id),
        order_id,
        customer_id,
        TicketSource::System,
        message,
        timeline,
    )
}

/// The event that opens a ticket.
pub fn open(
    ticket_id: String,
    order_id: &str,
    customer_id: &str,
    source: TicketSource,
    message: String,
    timeline: Vec<TimelineEntry>,
) -> Event {
    TicketOpened {
        ticket_id,
        order_id: order_id.to_owned(),
        customer_id: customer_id.to_owned(),
        source,
        message,
        timeline,
    }
    .into()
}

/// The event that closes a ticket; resolving twice publishes nothing new.
pub fn resolve(ticket: &Ticket, resolution: String, now: Timestamp) -> Option<Event> {
    (!ticket.resolved).then(|| {
        TicketResolved {
            ticket_id: ticket.ticket_id.clone(),
            order_id: ticket.order_id.clone(),
            resolution,
            resolved_at: Some(now),
        }
        .into()
    })
}

/// The ticket after a ticket event; `None` when it changes nothing.
pub fn apply(existing: Option<Ticket>, event: &Event) -> Option<Ticket> {
    match event {
        Event::TicketOpened(opened) if existing.is_none() => Some(Ticket {
            ticket_id: opened.ticket_id.clone(),
            order_id: opened.order_id.clone(),
            customer_id: opened.customer_id.clone(),
            source: opened.source,
            message: opened.message.clone(),
            timeline: opened.timeline.clone(),
            resolved: false,
            resolution: String::new(),
        }),
        Event::TicketResolved(resolved) => existing.map(|ticket| Ticket {
            resolved: true,
            resolution: resolved.resolution.clone(),
            ..ticket
        }),
        _ => None,
    }
}

/// The state change each of support's own events records: a ticket opened or resolved.
pub fn evolve(state: &mut State<'_>, event: &Event) -> Result<(), StateError> {
    match event {
        Event::TicketOpened(TicketOpened { ticket_id, .. })
        | Event::TicketResolved(TicketResolved { ticket_id, .. }) => {
            if let Some(ticket) = apply(TICKETS.load(state, ticket_id)?, event) {
                TICKETS.save(state, ticket_id, &ticket)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timelines_stay_ordered_and_free_of_duplicates() {
        let placed = events::samples::order_placed();
        let declined = events::samples::sample(events::EventType::PaymentDeclined);
        let t0 = events::samples::sample_time();
        let mut timeline = Vec::new();
        record(&mut timeline, t0.plus_millis(50), &declined);
        record(&mut timeline, t0, &placed);
        record(&mut timeline, t0, &placed);
        assert_eq!(timeline.len(), 2);
        assert_eq!(timeline[0].event_type, "orders.placed");
        assert_eq!(timeline[1].summary, "payment declined: insufficient_credit");
    }

    #[test]
    fn a_ticket_resolves_once() {
        let opened = system_ticket("o1", "c1", "payment declined".into(), vec![]);
        assert_eq!(opened.event_type(), events::EventType::TicketOpened);
        let ticket = apply(None, &opened).unwrap();
        assert_eq!(ticket.ticket_id, "tick-o1");
        assert!(apply(Some(ticket.clone()), &opened).is_none(), "opens once");
        let resolution = resolve(&ticket, "refunded".into(), Timestamp::UNIX_EPOCH).unwrap();
        let resolved = apply(Some(ticket), &resolution).unwrap();
        assert!(resolved.resolved);
        assert!(resolve(&resolved, "again".into(), Timestamp::UNIX_EPOCH).is_none());
    }
}
