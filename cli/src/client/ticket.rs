//! `shopctl ticket`: open, list and resolve support tickets (the support service's API).

use std::process::ExitCode;

use clap::Subcommand;
use events::api::{ListTickets, OpenTicket, ResolveTicket, Ticket, TicketList};

use super::{ListRequest, list_and_print, send_and_print};
use crate::Global;
use crate::output::table;

#[derive(Debug, Subcommand)]
pub(crate) enum TicketCommand {
    /// List support tickets, by ticket id; every page of the list.
    #[command(
        after_help = "Examples:\n  shopctl ticket list\n  shopctl ticket list --order 0198a3c4-7b7e-7cc2-9d8e-3f0c6a1b2c3d"
    )]
    List {
        /// Only the tickets about this order.
        #[arg(long)]
        order: Option<String>,
    },
    /// Open a ticket about an order.
    #[command(
        after_help = "Examples:\n  shopctl ticket open --customer alice --order 0198a3c4-7b7e-7cc2-9d8e-3f0c6a1b2c3d --message 'Where is my tea?'"
    )]
    Open {
        /// The customer id.
        #[arg(long)]
        customer: String,
        /// The order the ticket is about.
        #[arg(long)]
        order: String,
        /// What the customer says.
        #[arg(long)]
        message: String,
    },
    /// Resolve a ticket.
    #[command(
        after_help = "Examples:\n  shopctl ticket resolve tick-0198a3c4-7b7e-7cc2-9d8e-3f0c6a1b2c3d --resolution 'refunded'"
    )]
    Resolve {
        /// The ticket id.
        ticket_id: String,
        /// How it was resolved.
        #[arg(long, default_value = "")]
        resolution: String,
    },
}

pub(crate) async fn run(global: &Global, command: TicketCommand) -> anyhow::Result<ExitCode> {
    match command {
        TicketCommand::List { order } => {
            let request = ListTickets {
                order_id: order,
                ..ListTickets::default()
            };
            list_and_print(global, "support", "list", request, |list: &TicketList| {
                tickets_table(&list.tickets)
            })
            .await
        }
        TicketCommand::Open {
            customer,
            order,
            message,
        } => {
            let request = OpenTicket {
                customer_id: customer,
                order_id: order,
                message,
            };
            send_and_print(global, "support", "open", &request, ticket_table).await
        }
        TicketCommand::Resolve {
            ticket_id,
            resolution,
        } => {
            let request = ResolveTicket {
                ticket_id,
                resolution,
            };
            send_and_print(global, "support", "resolve", &request, ticket_table).await
        }
    }
}

impl ListRequest for ListTickets {
    type Page = TicketList;

    fn start_at(&mut self, cursor: String) {
        self.cursor = Some(cursor);
    }

    fn take_next_cursor(page: &mut TicketList) -> Option<String> {
        page.next_cursor.take()
    }

    fn append(all: &mut TicketList, page: TicketList) {
        all.tickets.extend(page.tickets);
        all.next_cursor = page.next_cursor;
    }
}

fn ticket_table(ticket: &Ticket) -> String {
    tickets_table(std::slice::from_ref(ticket))
}

fn tickets_table(tickets: &[Ticket]) -> String {
    let rows = tickets
        .iter()
        .map(|t| {
            vec![
                t.ticket_id.clone(),
                t.order_id.clone(),
                t.customer_id.clone(),
                t.source.clone(),
                t.status.clone(),
                t.message.clone(),
            ]
        })
        .collect::<Vec<_>>();
    table(
        &["TICKET", "ORDER", "CUSTOMER", "SOURCE", "STATUS", "MESSAGE"],
        &rows,
    )
}
