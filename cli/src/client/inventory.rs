//! `shopctl inventory`: restock a sku and read its stock (the inventory service's API).

use std::process::ExitCode;

use clap::Subcommand;
use events::api::{Restock, SkuRequest, StockLevel};

use super::{positive, send_and_print};
use crate::Global;
use crate::output::table;

#[derive(Debug, Subcommand)]
pub(crate) enum InventoryCommand {
    /// Add units of a sku to stock.
    #[command(after_help = "Examples:\n  shopctl inventory restock --sku TEA-GREEN-100G --qty 100")]
    Restock {
        /// The sku (it need not be listed yet: goods may arrive first).
        #[arg(long)]
        sku: String,
        /// Units to add (1 or more).
        #[arg(long, allow_negative_numbers = true)]
        qty: i64,
    },
    /// Show a sku's stock.
    #[command(after_help = "Examples:\n  shopctl inventory get --sku TEA-GREEN-100G")]
    Get {
        /// The sku.
        #[arg(long)]
        sku: String,
    },
}

pub(crate) async fn run(global: &Global, command: InventoryCommand) -> anyhow::Result<ExitCode> {
    match command {
        InventoryCommand::Restock { sku, qty } => {
            positive("--qty", qty)?;
            let request = Restock { sku, quantity: qty };
            send_and_print(global, "inventory", "restock", &request, stock_table).await
        }
        InventoryCommand::Get { sku } => {
            send_and_print(global, "inventory", "get", &SkuRequest { sku }, stock_table).await
        }
    }
}

fn stock_table(level: &StockLevel) -> String {
    let status = if level.discontinued {
        "discontinued"
    } else if level.listed {
        "listed"
    } else {
        "not listed"
    };
    let row = vec![
        level.sku.clone(),
        level.available.to_string(),
        level.reserved.to_string(),
        level.sold.to_string(),
        status.to_owned(),
    ];
    table(&["SKU", "AVAILABLE", "RESERVED", "SOLD", "STATUS"], &[row])
}
