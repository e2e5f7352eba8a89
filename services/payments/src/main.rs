//! The payments service binary.

use clap::Parser;

/// Customer accounts and payments of the shop.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    runtime: runtime::RuntimeConfig,
    #[command(flatten)]
    settings: payments::Settings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let handler = payments::handler(cli.settings);
    runtime::run_service(cli.runtime, payments::DEFINITION, handler, |config| {
        payments::build(config, cli.settings)
    })
    .await
}
