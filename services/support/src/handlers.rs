//! Support's API endpoints: `open` and `resolve` (commands), `list` (a query).

use events::api::{
    ListTickets, MAX_PAGE_BYTES, OpenTicket, ResolveTicket, Ticket as TicketView, TicketList,
};
use events::support::TicketSource;
use runtime::api::require_id;
use runtime::{Api, ApiError, Endpoints, State};

use crate::domain::{self, SupportError};
use crate::store::{TICKETS, Ticket};

pub fn endpoints(endpoints: &mut Endpoints) {
    endpoints
        .add("open", open)
        .add("list", list)
        .add("resolve", resolve);
}

/// The API's view of a ticket.
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

/// The reply of every command: the ticket as it now is.
fn ticket_view(state: &State<'_>, ticket_id: &str) -> Result<TicketView, ApiError> {
    let ticket = TICKETS
        .load(state, ticket_id)?
        .ok_or_else(|| SupportError::UnknownTicket(ticket_id.to_owned()))?;
    Ok(view(&ticket))
}

async fn open(api: Api, request: OpenTicket) -> Result<TicketView, ApiError> {
    require_id("customer_id", &request.customer_id)?;
    require_id("order_id", &request.order_id)?;
    if request.message.trim().is_empty() {
        return Err(SupportError::EmptyMessage.into());
    }
    let ticket_id = format!("tick-{}", events::new_event_id());
    let reply_id = ticket_id.clone();
    let timeline = domain::timeline(&api.history(&request.order_id).await?);
    api.command(
        request.order_id.clone(),
        move |_| {
            Ok(vec![domain::open(
                ticket_id.clone(),
                &request.order_id,
                &request.customer_id,
                TicketSource::Customer,
                request.message.clone(),
                timeline.clone(),
            )])
        },
        move |state, _| ticket_view(state, &reply_id),
    )
    .await
}

/// One page of tickets (of one order, if the request names it), in ticket id order, of every
/// partition wherever it is held. Tickets
/// carry timelines and messages of up to 64 KiB, so a page is often bounded by its bytes.
async fn list(api: Api, request: ListTickets) -> Result<TicketList, ApiError> {
    if let Some(order_id) = &request.order_id {
        require_id("order_id", order_id)?;
    }
    let wanted = |ticket: &Ticket| {
        request
            .order_id
            .as_ref()
            .is_none_or(|order_id| &ticket.order_id == order_id)
    };
    let page = api
        .page(
            TICKETS,
            request.cursor.as_deref(),
            request.limit,
            MAX_PAGE_BYTES,
            |ticket| wanted(&ticket).then(|| view(&ticket)),
        )
        .await?;
    Ok(TicketList {
        tickets: page.items,
        next_cursor: page.next_cursor,
    })
}

async fn resolve(api: Api, request: ResolveTicket) -> Result<TicketView, ApiError> {
    require_id("ticket_id", &request.ticket_id)?;
    let ticket_id = request.ticket_id.clone();
    // a ticket is kept in its order's partition, wherever that is held
    let order_id = api
        .find(TICKETS, &ticket_id)
        .await?
        .ok_or_else(|| SupportError::UnknownTicket(ticket_id.clone()))?
        .order_id;
    api.command(
        order_id,
        move |state| {
            let ticket = TICKETS
                .load(state, &request.ticket_id)?
                .ok_or_else(|| SupportError::UnknownTicket(request.ticket_id.clone()))?;
            let resolution = domain::resolve(&ticket, request.resolution.clone(), state.now());
            Ok(resolution.into_iter().collect())
        },
        move |state, _| ticket_view(state, &ticket_id),
    )
    .await
}
