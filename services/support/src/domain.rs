//! Pure support rules: what each event adds to an order's timeline, and when a ticket opens.

use serde::{Deserialize, Serialize};

use events::codec::wire_name;
use events::support::{TicketOpened, TicketResolved, TicketSource, TimelineEntry};
use events::{Event, Timestamp};

/// The most timeline entries kept per order (the story of one order is short; this bounds
/// the store against a runaway producer).
pub const MAX_TIMELINE: usize = 50;

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
        other => other.event_type().to_string(),
    }
}

fn money(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
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

/// The ticket the shop opens by itself when an order fails; one per order.
pub fn system_ticket(
    order_id: &str,
    customer_id: &str,
    message: String,
    timeline: Vec<TimelineEntry>,
) -> (Ticket, Event) {
    open(
        format!("tick-{order_id}"),
        order_id,
        customer_id,
        TicketSource::System,
        message,
        timeline,
    )
}

/// A new ticket and its event.
pub fn open(
    ticket_id: String,
    order_id: &str,
    customer_id: &str,
    source: TicketSource,
    message: String,
    timeline: Vec<TimelineEntry>,
) -> (Ticket, Event) {
    let ticket = Ticket {
        ticket_id,
        order_id: order_id.to_owned(),
        customer_id: customer_id.to_owned(),
        source,
        message,
        timeline,
        resolved: false,
        resolution: String::new(),
    };
    let event = TicketOpened {
        ticket_id: ticket.ticket_id.clone(),
        order_id: ticket.order_id.clone(),
        customer_id: ticket.customer_id.clone(),
        source,
        message: ticket.message.clone(),
        timeline: ticket.timeline.clone(),
    };
    (ticket, event.into())
}

/// Closes a ticket; resolving twice publishes nothing new.
pub fn resolve(ticket: &Ticket, resolution: String, now: Timestamp) -> (Ticket, Vec<Event>) {
    if ticket.resolved {
        return (ticket.clone(), vec![]);
    }
    let resolved = Ticket {
        resolved: true,
        resolution: resolution.clone(),
        ..ticket.clone()
    };
    let event = TicketResolved {
        ticket_id: ticket.ticket_id.clone(),
        order_id: ticket.order_id.clone(),
        resolution,
        resolved_at: Some(now),
    };
    (resolved, vec![event.into()])
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
        let (ticket, opened) = system_ticket("o1", "c1", "payment declined".into(), vec![]);
        assert_eq!(ticket.ticket_id, "tick-o1");
        assert_eq!(opened.event_type(), events::EventType::TicketOpened);
        let (resolved, events) = resolve(&ticket, "refunded".into(), Timestamp::UNIX_EPOCH);
        assert!(resolved.resolved && events.len() == 1);
        assert!(
            resolve(&resolved, "again".into(), Timestamp::UNIX_EPOCH)
                .1
                .is_empty()
        );
    }
}
