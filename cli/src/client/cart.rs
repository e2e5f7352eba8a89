//! `shopctl cart`: fill, empty and read a customer's cart (the orders service's API).

use std::process::ExitCode;

use clap::Subcommand;
use events::api::{Cart, CartAdd, CartRemove, CustomerRequest};

use super::{positive, send_and_print};
use crate::Global;
use crate::output::{escaped, table};

#[derive(Debug, Subcommand)]
pub(crate) enum CartCommand {
    /// Add units of a sku to a customer's cart.
    #[command(
        after_help = "Examples:\n  shopctl cart add --customer alice --sku TEA-GREEN-100G --qty 2\n  shopctl order place --customer alice --wait     (places the cart)"
    )]
    Add {
        /// The customer id.
        #[arg(long)]
        customer: String,
        /// The sku.
        #[arg(long)]
        sku: String,
        /// Units to add.
        #[arg(long, allow_negative_numbers = true)]
        qty: i64,
    },
    /// Remove a sku from a customer's cart.
    #[command(after_help = "Examples:\n  shopctl cart remove --customer alice --sku MUG")]
    Remove {
        /// The customer id.
        #[arg(long)]
        customer: String,
        /// The sku.
        #[arg(long)]
        sku: String,
    },
    /// Show a customer's cart.
    #[command(after_help = "Examples:\n  shopctl cart show --customer alice")]
    Show {
        /// The customer id.
        #[arg(long)]
        customer: String,
    },
}

pub(crate) async fn run(global: &Global, command: CartCommand) -> anyhow::Result<ExitCode> {
    match command {
        CartCommand::Add { customer, sku, qty } => {
            positive("--qty", qty)?;
            let request = CartAdd {
                customer_id: customer,
                sku,
                quantity: qty,
            };
            send_and_print(global, "orders", "cart_add", &request, cart_table).await
        }
        CartCommand::Remove { customer, sku } => {
            let request = CartRemove {
                customer_id: customer,
                sku,
            };
            send_and_print(global, "orders", "cart_remove", &request, cart_table).await
        }
        CartCommand::Show { customer } => {
            let request = CustomerRequest {
                customer_id: customer,
            };
            send_and_print(global, "orders", "cart_show", &request, cart_table).await
        }
    }
}

fn cart_table(cart: &Cart) -> String {
    let rows: Vec<Vec<String>> = cart
        .items
        .iter()
        .map(|item| vec![item.sku.clone(), item.quantity.to_string()])
        .collect();
    format!(
        "cart of {}\n{}",
        escaped(&cart.customer_id),
        table(&["SKU", "QTY"], &rows)
    )
}
