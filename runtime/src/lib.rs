//! What every shop service shares, written once: configuration, telemetry, the NATS
//! connection, stream provisioning, the consume loop (decode → inbox → handler → one sled
//! transaction with the outbox → flush → ack), the outbox relay, dead letters, `$SRV`
//! registration and clean shutdown.
//!
//! A service supplies a [`Handler`] and a [`ServiceDefinition`]; its `main.rs` is:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use clap::Parser;
//! # #[derive(clap::Parser)] struct Cli { #[command(flatten)] runtime: runtime::RuntimeConfig }
//! # async fn run() -> anyhow::Result<()> {
//! let cli = Cli::parse();
//! let handler = Arc::new(runtime::example::ExampleHandler);
//! let definition = runtime::example::DEFINITION;
//! runtime::run_service(cli.runtime, definition, handler.clone(), |config| {
//!     runtime::Application::build(config, definition, handler)
//! })
//! .await
//! # }
//! ```

pub mod api;
pub mod app;
pub mod client;
pub mod config;
pub mod consumer;
pub mod dead_letter;
pub mod example;
pub mod handler;
pub mod nats;
pub mod outbox;
pub mod rebuild;

pub mod service;
pub mod shutdown;
pub mod stats;
pub mod store;
pub mod telemetry;

use std::future::Future;

pub use api::{Api, ApiError};
pub use app::{Application, ServiceDefinition};
pub use client::ApiClient;
pub use config::{LogFormat, RuntimeConfig};
pub use handler::{HandleError, Handler, Incoming};
pub use stats::{RuntimeStats, StatsSnapshot};
pub use store::{State, StateError, Store, StoreError};

/// What every service's `main` does: logging, signal handling, build, run until SIGINT or
/// SIGTERM. `build` registers the service's handler and API endpoints. With `--rebuild` it
/// rebuilds the (stopped) service's store from the streams with `handler` instead, and exits.
pub async fn run_service<F, Fut>(
    config: RuntimeConfig,
    definition: ServiceDefinition,
    handler: std::sync::Arc<dyn Handler>,
    build: F,
) -> anyhow::Result<()>
where
    F: FnOnce(RuntimeConfig) -> Fut,
    Fut: Future<Output = anyhow::Result<Application>>,
{
    telemetry::init(config.log_format);
    if config.rebuild {
        return rebuild::run(config, definition, handler).await;
    }
    let shutdown = shutdown::on_signals();
    let app = build(config).await?;
    app.run_until_stopped(shutdown).await
}
