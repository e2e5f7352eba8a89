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
    runtime::telemetry::init(cli.runtime.log_format);
    let shutdown = runtime::shutdown::on_signals();
    let handler = Arc::new(runtime::example::ExampleHandler);
    let app =
        runtime::Application::build(cli.runtime, runtime::example::DEFINITION, handler).await?;
    app.run_until_stopped(shutdown).await
}
