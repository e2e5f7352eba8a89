//! The inventory service binary.

use clap::Parser;

/// Stock levels and order reservations of the shop.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    runtime: runtime::RuntimeConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    runtime::run_service(
        cli.runtime,
        inventory::DEFINITION,
        inventory::handler(),
        inventory::build,
    )
    .await
}
