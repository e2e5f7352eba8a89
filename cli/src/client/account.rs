//! `shopctl account`: open and read customer payment accounts (the payments service's API).

use std::process::ExitCode;

use clap::Subcommand;
use events::api::{Account, CustomerRequest, OpenAccount};

use super::send_and_print;
use crate::Global;
use crate::output::{money, table};

#[derive(Debug, Subcommand)]
pub(crate) enum AccountCommand {
    /// Open a customer account.
    #[command(
        after_help = "Examples:\n  shopctl account open --customer alice --credit-limit 50000.00\n  shopctl account open --customer bob --credit-limit-minor 500"
    )]
    Open {
        /// The customer id.
        #[arg(long)]
        customer: String,
        /// Credit limit in the currency's major unit, e.g. 500.00 (EUR).
        #[arg(
            long,
            allow_hyphen_values = true,
            required_unless_present = "credit_limit_minor"
        )]
        credit_limit: Option<String>,
        /// Credit limit in minor units (cents), for scripts.
        #[arg(long, allow_negative_numbers = true, conflicts_with = "credit_limit")]
        credit_limit_minor: Option<i64>,
        /// ISO 4217 currency code of the account (orders must be in it).
        #[arg(long, default_value = "EUR")]
        currency: String,
    },
    /// Show a customer account.
    #[command(after_help = "Examples:\n  shopctl account get --customer alice")]
    Get {
        /// The customer id.
        #[arg(long)]
        customer: String,
    },
}

pub(crate) async fn run(global: &Global, command: AccountCommand) -> anyhow::Result<ExitCode> {
    match command {
        AccountCommand::Open {
            customer,
            credit_limit,
            credit_limit_minor,
            currency,
        } => {
            let credit_limit_minor =
                super::amount::either(credit_limit.as_deref(), credit_limit_minor, &currency)?
                    .ok_or_else(|| {
                        anyhow::anyhow!("give --credit-limit or --credit-limit-minor")
                    })?;
            let request = OpenAccount {
                customer_id: customer,
                credit_limit_minor,
                currency,
            };
            send_and_print(global, "payments", "open_account", &request, account_table).await
        }
        AccountCommand::Get { customer } => {
            let request = CustomerRequest {
                customer_id: customer,
            };
            send_and_print(global, "payments", "get_account", &request, account_table).await
        }
    }
}

fn account_table(account: &Account) -> String {
    let row = vec![
        account.customer_id.clone(),
        money(account.credit_limit_minor, &account.currency),
        money(account.held_minor, &account.currency),
        money(account.captured_minor, &account.currency),
        money(account.available_minor, &account.currency),
    ];
    table(
        &["CUSTOMER", "LIMIT", "HELD", "CAPTURED", "AVAILABLE"],
        &[row],
    )
}
