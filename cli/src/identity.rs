//! Which identity each command signs in as: the least privileged one the broker lets do what
//! the command does. Client commands map to the API verb they send and take the first of
//! `client`, `backoffice`, `operator` that `runtime::auth::API` allows for it (else `admin`);
//! watching and reading is the `operator`'s; provisioning, replay, rebuild, redrive and
//! running the shop are the `admin`'s. Credentials come from `--creds` / `NATS_CREDS`, or
//! else `<data-dir>/auth/<identity>.nk` when it exists (an open broker needs none).

use std::path::PathBuf;

use runtime::auth::Identity;

use crate::client::{
    account::AccountCommand, cart::CartCommand, catalog::CatalogCommand,
    inventory::InventoryCommand, order::OrderCommand, ticket::TicketCommand,
};
use crate::dlq::DlqCommand;
use crate::{Command, Global};

/// The least privileged identity that may call `service`'s `verb`.
pub(crate) fn for_verb(service: &str, verb: &str) -> Identity {
    let callers = runtime::auth::API
        .iter()
        .find(|(context, name, _)| context.as_str() == service && *name == verb)
        .map(|(_, _, callers)| *callers);
    match callers {
        Some(callers) if callers.client => Identity::Client,
        Some(callers) if callers.backoffice => Identity::Backoffice,
        Some(callers) if callers.operator => Identity::Operator,
        _ => Identity::Admin,
    }
}

/// The identity `command` signs in as.
pub(crate) fn for_command(command: &Command) -> Identity {
    match command {
        Command::Catalog(command) => for_verb("catalog", catalog_verb(command)),
        Command::Inventory(command) => for_verb(
            "inventory",
            match command {
                InventoryCommand::Restock { .. } => "restock",
                InventoryCommand::Get { .. } => "get",
            },
        ),
        Command::Account(command) => for_verb(
            "payments",
            match command {
                AccountCommand::Open { .. } => "open_account",
                AccountCommand::Get { .. } => "get_account",
            },
        ),
        Command::Cart(command) => for_verb(
            "orders",
            match command {
                CartCommand::Add { .. } => "cart_add",
                CartCommand::Remove { .. } => "cart_remove",
                CartCommand::Show { .. } => "cart_show",
            },
        ),
        Command::Order(command) => for_verb("orders", order_verb(command)),
        Command::Ticket(command) => for_verb(
            "support",
            match command {
                TicketCommand::List { .. } => "list",
                TicketCommand::Open { .. } => "open",
                TicketCommand::Resolve { .. } => "resolve",
            },
        ),
        Command::Watch(_) | Command::Trace { .. } | Command::Status | Command::Health { .. } => {
            Identity::Operator
        }
        Command::Dlq(DlqCommand::List | DlqCommand::Show { .. }) => Identity::Operator,
        // catalog add, restock, open_account and the reads
        Command::Seed => Identity::Backoffice,
        // connect to no broker (service talks to up's control socket)
        Command::Completions { .. } | Command::Service(_) => Identity::Operator,
        Command::Dlq(_)
        | Command::Up(_)
        | Command::Demo(_)
        | Command::Provision
        | Command::Auth(_)
        | Command::Replay(_)
        | Command::Rebuild(_)
        | Command::Bench(_) => Identity::Admin,
    }
}

fn catalog_verb(command: &CatalogCommand) -> &'static str {
    match command {
        CatalogCommand::Add { .. } => "add",
        CatalogCommand::Get { .. } => "get",
        CatalogCommand::Update(_) => "update",
        CatalogCommand::Discontinue { .. } => "discontinue",
        CatalogCommand::List => "list",
    }
}

fn order_verb(command: &OrderCommand) -> &'static str {
    match command {
        OrderCommand::Place { .. } => "place",
        OrderCommand::Get { .. } => "get",
        OrderCommand::Retry { .. } => "retry",
        OrderCommand::Cancel { .. } => "cancel",
        OrderCommand::List { .. } => "list",
    }
}

impl Global {
    /// The credentials file to sign in with as `identity`: `--creds`, else the identity's seed
    /// in `<data-dir>/auth/` if there is one, else none (an open broker).
    pub(crate) fn credentials_of(&self, identity: Identity) -> Option<PathBuf> {
        if let Some(creds) = &self.creds {
            return Some(creds.clone());
        }
        let seed = runtime::auth::seed_file(&runtime::auth::auth_dir(&self.data_dir), identity);
        seed.is_file().then_some(seed)
    }

    /// The credentials of the identity this command signs in as.
    pub(crate) fn credentials(&self) -> Option<PathBuf> {
        self.credentials_of(self.identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_verb_goes_to_the_least_privileged_identity_the_table_allows() {
        assert_eq!(for_verb("orders", "place"), Identity::Client);
        assert_eq!(for_verb("catalog", "list"), Identity::Client);
        assert_eq!(for_verb("catalog", "add"), Identity::Backoffice);
        assert_eq!(for_verb("payments", "get_account"), Identity::Backoffice);
        assert_eq!(for_verb("orders", "retry"), Identity::Admin);
        assert_eq!(for_verb("orders", "no_such_verb"), Identity::Admin);
    }
}
