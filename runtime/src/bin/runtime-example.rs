//! The runtime's example service as a process, so tests can kill it with SIGKILL and SIGTERM.

use std::sync::Arc;

use clap::Parser;

/// Counts `orders.placed` events and emits `inventory.stock_reserved` (runtime example).
#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    runtime: runtime::RuntimeConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let handler = Arc::new(runtime::example::ExampleHandler);
    let definition = runtime::example::DEFINITION;
    runtime::run_service(cli.runtime, definition, handler.clone(), |config| {
        runtime::Application::build(config, definition, handler)
    })
    .await
}
