//! Support events: customer-support tickets. A ticket always concerns one order, so these are
//! keyed by the order id and show up when following that order.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::validate::{self, InvalidField, Validate};

/// Who opened a ticket. Readers must accept values they do not know (`unknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketSource {
    /// A customer asked for help.
    Customer,
    /// The shop opened it by itself (a declined payment, a saga that timed out).
    System,
    #[serde(other)]
    Unknown,
}

/// One step of an order's history, attached to a ticket so the agent needs no other tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub occurred_at: Timestamp,
    pub event_type: String,
    pub summary: String,
}

/// `support.ticket_opened`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketOpened {
    pub ticket_id: String,
    pub order_id: String,
    pub customer_id: String,
    pub source: TicketSource,
    pub message: String,
    /// The order's events known to support when the ticket was opened, oldest first.
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
}

/// `support.ticket_updated`: a note was added to the ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketUpdated {
    pub ticket_id: String,
    pub order_id: String,
    pub message: String,
}

/// `support.ticket_resolved`: the ticket is closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketResolved {
    pub ticket_id: String,
    pub order_id: String,
    #[serde(default)]
    pub resolution: String,
    /// When the resolution was decided, if it differs from the event's occurred-at.
    #[serde(default)]
    pub resolved_at: Option<Timestamp>,
}

impl Validate for TicketOpened {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("ticket_id", &self.ticket_id)?;
        validate::id("order_id", &self.order_id)?;
        validate::id("customer_id", &self.customer_id)
    }
}

impl Validate for TicketUpdated {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("ticket_id", &self.ticket_id)?;
        validate::id("order_id", &self.order_id)
    }
}

impl Validate for TicketResolved {
    fn validate(&self) -> Result<(), InvalidField> {
        validate::id("ticket_id", &self.ticket_id)?;
        validate::id("order_id", &self.order_id)
    }
}
