//! Support's event handlers (timelines, automatic tickets) and API endpoints.

use events::api::{ListTickets, OpenTicket, ResolveTicket, Ticket as TicketView, TicketList};
use events::orders::CancellationReason;
use events::support::TicketSource;
use events::{Event, EventType};
use runtime::api::require_id;
use runtime::{Api, ApiError, Application, HandleError, Handler, Incoming, State};

use crate::domain::{self, Ticket};
use crate::store;

#[derive(Debug, Default)]
pub struct SupportHandler;

impl Handler for SupportHandler {
    fn consumes(&self) -> Vec<EventType> {
        vec![
            EventType::OrderPlaced,
            EventType::OrderConfirmed,
            EventType::OrderRejected,
            EventType::OrderCancelled,
            EventType::OrderCompleted,
            EventType::DeadlinePassed,
            EventType::StockReserved,
            EventType::ReservationRejected,
            EventType::PaymentAuthorized,
            EventType::PaymentDeclined,
            EventType::PaymentCaptured,
            EventType::PaymentVoided,
            EventType::Shipped,
        ]
    }

    fn trees(&self) -> Vec<&'static str> {
        vec![store::TICKETS, store::TIMELINES]
    }

    fn handle(
        &self,
        state: &mut State<'_>,
        incoming: &Incoming,
    ) -> Result<Vec<Event>, HandleError> {
        let order_id = incoming.event.key();
        let mut timeline = store::load_timeline(state, order_id)?;
        domain::record(
            &mut timeline,
            incoming.envelope.occurred_at,
            &incoming.event,
        );
        store::save_timeline(state, order_id, &timeline)?;
        let Event::OrderCancelled(cancelled) = &incoming.event else {
            return Ok(vec![]);
        };
        let ticket_id = format!("tick-{order_id}");
        if store::load_ticket(state, &ticket_id)?.is_some() {
            return Ok(vec![]);
        }
        let message = match cancelled.reason {
            CancellationReason::PaymentDeclined => {
                format!("payment declined: {}", cancelled.detail)
            }
            CancellationReason::PaymentTimedOut => {
                "payment did not answer in time; order cancelled".to_owned()
            }
            CancellationReason::ReservationTimedOut => {
                "inventory did not answer in time; order cancelled".to_owned()
            }
            CancellationReason::Unknown => format!("order cancelled: {}", cancelled.detail),
        };
        let (ticket, opened) =
            domain::system_ticket(order_id, &cancelled.customer_id, message, timeline);
        store::save_ticket(state, &ticket)?;
        Ok(vec![opened])
    }

    fn rebuild_from(&self) -> Vec<EventType> {
        let mut types = self.consumes();
        types.extend([EventType::TicketOpened, EventType::TicketResolved]);
        types
    }

    /// Timelines from the order events support reads; tickets from its own events.
    fn evolve(&self, state: &mut State<'_>, incoming: &Incoming) -> Result<(), HandleError> {
        match &incoming.event {
            Event::TicketOpened(opened) => {
                let ticket = Ticket {
                    ticket_id: opened.ticket_id.clone(),
                    order_id: opened.order_id.clone(),
                    customer_id: opened.customer_id.clone(),
                    source: opened.source,
                    message: opened.message.clone(),
                    timeline: opened.timeline.clone(),
                    resolved: false,
                    resolution: String::new(),
                };
                store::save_ticket(state, &ticket)?;
            }
            Event::TicketResolved(resolved) => {
                if let Some(ticket) = store::load_ticket(state, &resolved.ticket_id)? {
                    let ticket = Ticket {
                        resolved: true,
                        resolution: resolved.resolution.clone(),
                        ..ticket
                    };
                    store::save_ticket(state, &ticket)?;
                }
            }
            event => {
                let order_id = event.key();
                let mut timeline = store::load_timeline(state, order_id)?;
                domain::record(&mut timeline, incoming.envelope.occurred_at, event);
                store::save_timeline(state, order_id, &timeline)?;
            }
        }
        Ok(())
    }
}

pub async fn register_api(app: &Application) -> anyhow::Result<()> {
    app.add_endpoint("open", open).await?;
    app.add_endpoint("list", list).await?;
    app.add_endpoint("resolve", resolve).await
}

fn view(ticket: &Ticket) -> TicketView {
    TicketView {
        ticket_id: ticket.ticket_id.clone(),
        order_id: ticket.order_id.clone(),
        customer_id: ticket.customer_id.clone(),
        source: match ticket.source {
            TicketSource::Customer => "customer",
            TicketSource::System => "system",
            TicketSource::Unknown => "unknown",
        }
        .to_owned(),
        status: if ticket.resolved { "resolved" } else { "open" }.to_owned(),
        message: ticket.message.clone(),
        timeline: ticket.timeline.clone(),
        resolution: ticket.resolution.clone(),
    }
}

async fn open(api: Api, request: OpenTicket) -> Result<TicketView, ApiError> {
    require_id("customer_id", &request.customer_id)?;
    require_id("order_id", &request.order_id)?;
    if request.message.trim().is_empty() {
        return Err(ApiError::bad_request("message must not be empty"));
    }
    let ticket_id = format!("tick-{}", events::new_event_id());
    api.command(move |state| {
        let timeline = store::load_timeline(state, &request.order_id)?;
        let (ticket, opened) = domain::open(
            ticket_id.clone(),
            &request.order_id,
            &request.customer_id,
            TicketSource::Customer,
            request.message.clone(),
            timeline,
        );
        store::save_ticket(state, &ticket)?;
        Ok((view(&ticket), vec![opened]))
    })
    .await
}

async fn list(api: Api, request: ListTickets) -> Result<TicketList, ApiError> {
    let tickets = store::list_tickets(api.store())?
        .iter()
        .filter(|ticket| {
            request
                .order_id
                .as_ref()
                .is_none_or(|order_id| &ticket.order_id == order_id)
        })
        .map(view)
        .collect();
    Ok(TicketList { tickets })
}

async fn resolve(api: Api, request: ResolveTicket) -> Result<TicketView, ApiError> {
    require_id("ticket_id", &request.ticket_id)?;
    api.command(move |state| {
        let ticket = store::load_ticket(state, &request.ticket_id)?
            .ok_or_else(|| ApiError::not_found(format!("unknown ticket {}", request.ticket_id)))?;
        let (ticket, events) = domain::resolve(&ticket, request.resolution.clone(), state.now());
        store::save_ticket(state, &ticket)?;
        Ok((view(&ticket), events))
    })
    .await
}
