//! The support service binary.

use clap::Parser;

/// Customer-support tickets of the shop.
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
        support::DEFINITION,
        support::handler(),
        support::build,
    )
    .await
}
