//! What every shop service shares, written once: configuration, telemetry, the NATS
//! connection, stream provisioning, the consume loop (decode → inbox → evolve, decide, evolve
//! → one sled transaction with the outbox → flush → ack), the outbox relay, timers, dead
//! letters, `$SRV` registration, rebuilds and clean shutdown.
//!
//! A service implements [`Service`] once; its `main.rs` is one line:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     runtime::main::<runtime::example::Example>()
//! }
//! ```
//!
//! Layers, bottom up (no module imports one above it; `scripts/check_cycles.py` checks):
//! `store::state` → `store::*` → `history` → `handler`, `tree` → `api` → `endpoint` → `service` →
//! `consumer`, `relay`, `timers`, `inbox`, `srv` → `app`, `rebuild` → this file.

// dependencies nothing uses are flagged (not in test builds, which also see dev-dependencies)
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod api;
mod app;
pub mod auth;
mod client;
mod config;
mod consumer;
mod dead_letter;
mod endpoint;
pub mod example;
mod handler;
mod history;
mod inbox;
mod intake;
pub mod nats;
pub mod ownership;
mod page;
mod peers;
pub mod provision;
pub mod rebuild;
mod relay;
mod scatter;
pub mod scenario;
mod service;
pub mod shutdown;
mod srv;
mod stats;
mod store;
mod takeover;
mod telemetry;
mod timers;
mod tree;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

pub use api::{Api, ApiError};
pub use app::Application;
pub use client::{ApiClient, Refusals};
pub use config::{LogFormat, RuntimeConfig};
pub use endpoint::Endpoints;
pub use handler::{HandleError, Incoming, Route, Timer};
pub use history::{History, Recorded};
pub use page::{Page, PageError};
pub use service::{Service, ServiceDefinition};
pub use stats::{RuntimeStats, StatsSnapshot};
pub use store::{Phase, State, StateError, Store, StoreError};
pub use tree::Tree;

/// A service binary's command line: the runtime's flags and the service's own.
#[derive(Debug, clap::Parser)]
struct ServiceCli<Settings: clap::Args> {
    #[command(flatten)]
    runtime: RuntimeConfig,
    #[command(flatten)]
    settings: Settings,
}

/// A service binary's whole `main`: parse the command line (`--help` shows the runtime's and
/// the service's flags), start tokio, [`run`]. A failure is printed with its causes and makes
/// the process exit with status 1, so a supervisor sees it and restarts the service.
pub fn main<S: Service>() -> ExitCode {
    match start::<S>() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "service failed");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn start<S: Service>() -> anyhow::Result<()> {
    let definition = S::DEFINITION;
    let matches = ServiceCli::<S::Settings>::command()
        .name(definition.name)
        .about(definition.description)
        .version(definition.version)
        .get_matches();
    let cli =
        ServiceCli::<S::Settings>::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run::<S>(cli.runtime, cli.settings))
}

/// Logging, signal handling, build, run until SIGINT or SIGTERM. With `--rebuild` it rebuilds
/// the (stopped) service's store from the streams instead, and with `--provision` it creates
/// or updates the streams and its durable consumers; then it returns.
pub async fn run<S: Service>(config: RuntimeConfig, settings: S::Settings) -> anyhow::Result<()> {
    telemetry::init(config.log_format);
    if config.rebuild {
        return rebuild::run::<S>(config, settings).await;
    }
    if config.provision {
        return provision::provision::<S>(&config).await;
    }
    let shutdown = shutdown::on_signals();
    let app = Application::build::<S>(config, settings).await?;
    app.run_until_stopped(shutdown).await
}
