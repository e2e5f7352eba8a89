//! The orders service binary.

use clap::Parser;

/// Carts, checkout and the order saga of the shop.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    runtime: runtime::RuntimeConfig,
    #[command(flatten)]
    settings: orders::Settings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let handler = orders::handler(cli.settings);
    runtime::run_service(cli.runtime, orders::DEFINITION, handler, |config| {
        orders::build(config, cli.settings)
    })
    .await
}
