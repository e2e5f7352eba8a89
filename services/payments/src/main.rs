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
    runtime::run_service(cli.runtime, |config| payments::build(config, cli.settings)).await
}
