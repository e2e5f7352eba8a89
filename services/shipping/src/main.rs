//! The shipping service binary.

use clap::Parser;

/// Shipments of the shop.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    runtime: runtime::RuntimeConfig,
    #[command(flatten)]
    settings: shipping::Settings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let handler = shipping::handler(cli.settings);
    runtime::run_service(cli.runtime, shipping::DEFINITION, handler, |config| {
        shipping::build(config, cli.settings)
    })
    .await
}
