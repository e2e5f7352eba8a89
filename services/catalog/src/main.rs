//! The catalog service binary.

use clap::Parser;

/// Product listings of the shop.
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
        catalog::DEFINITION,
        catalog::handler(),
        catalog::build,
    )
    .await
}
