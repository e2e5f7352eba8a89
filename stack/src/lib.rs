//! The whole shop in one process: the six services, each with its own sled store under one
//! data directory, against one broker. For system tests and benchmarks; `shopctl up` runs the
//! services as separate processes instead.

use std::path::PathBuf;

use std::sync::Arc;

use runtime::{Application, Handler, RuntimeConfig, ServiceDefinition, Store};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Every service, in start order.
pub const SERVICES: [&str; 6] = [
    "catalog",
    "inventory",
    "orders",
    "payments",
    "shipping",
    "support",
];

/// How to run the stack.
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// The runtime settings every service shares; `data_dir` is the parent of the stores.
    pub runtime: RuntimeConfig,
    pub data_dir: PathBuf,
    pub orders: orders::Settings,
    pub payments: payments::Settings,
    pub shipping: shipping::Settings,
}

impl StackConfig {
    /// Defaults for a local broker, with stores under `data_dir`.
    pub fn new(nats_url: &str, data_dir: PathBuf, prefix: &str) -> Self {
        StackConfig {
            runtime: RuntimeConfig::for_tests(nats_url, data_dir.clone(), prefix),
            data_dir,
            orders: orders::Settings::default(),
            payments: payments::Settings::default(),
            shipping: shipping::Settings::default(),
        }
    }

    /// The runtime settings of one service (its own store under `data_dir`).
    pub fn service_config(&self, name: &str) -> RuntimeConfig {
        RuntimeConfig {
            data_dir: Some(self.data_dir.join(name)),
            ..self.runtime.clone()
        }
    }
}

/// Builds one service by name.
pub async fn build(name: &str, config: &StackConfig) -> anyhow::Result<Application> {
    let runtime = config.service_config(name);
    match name {
        "catalog" => catalog::build(runtime).await,
        "inventory" => inventory::build(runtime).await,
        "orders" => orders::build(runtime, config.orders).await,
        "payments" => payments::build(runtime, config.payments).await,
        "shipping" => shipping::build(runtime, config.shipping).await,
        "support" => support::build(runtime).await,
        other => anyhow::bail!("unknown service {other:?}"),
    }
}

/// A service's definition and event handler, by name (for rebuilds).
pub fn definition_and_handler(
    name: &str,
    config: &StackConfig,
) -> anyhow::Result<(ServiceDefinition, Arc<dyn Handler>)> {
    Ok(match name {
        "catalog" => (catalog::DEFINITION, catalog::handler()),
        "inventory" => (inventory::DEFINITION, inventory::handler()),
        "orders" => (orders::DEFINITION, orders::handler(config.orders)),
        "payments" => (payments::DEFINITION, payments::handler(config.payments)),
        "shipping" => (shipping::DEFINITION, shipping::handler(config.shipping)),
        "support" => (support::DEFINITION, support::handler()),
        other => anyhow::bail!("unknown service {other:?}"),
    })
}

/// One service running in this process.
#[derive(Debug)]
struct Running {
    name: String,
    store: Store,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

/// Services running in this process.
#[derive(Debug)]
pub struct Stack {
    config: StackConfig,
    running: Vec<Running>,
}

impl Stack {
    /// Starts every service.
    pub async fn start(config: StackConfig) -> anyhow::Result<Stack> {
        Self::start_only(config, &SERVICES).await
    }

    /// Starts the named services only (others can be started later).
    pub async fn start_only(config: StackConfig, names: &[&str]) -> anyhow::Result<Stack> {
        let mut stack = Stack {
            config,
            running: Vec::new(),
        };
        for name in names {
            stack.start_service(name).await?;
        }
        Ok(stack)
    }

    pub async fn start_service(&mut self, name: &str) -> anyhow::Result<()> {
        let app = build(name, &self.config).await?;
        let store = app.store().clone();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        self.running.push(Running {
            name: name.to_owned(),
            store,
            shutdown,
            task,
        });
        Ok(())
    }

    /// Stops one service cleanly (its store stays on disk for a restart).
    pub async fn stop_service(&mut self, name: &str) -> anyhow::Result<()> {
        let Some(index) = self.running.iter().position(|service| service.name == name) else {
            anyhow::bail!("{name} is not running");
        };
        let service = self.running.remove(index);
        service.shutdown.cancel();
        service.task.await??;
        Ok(())
    }

    /// A running service's store, for digests and invariant checks.
    pub fn store(&self, name: &str) -> Option<&Store> {
        self.running
            .iter()
            .find(|service| service.name == name)
            .map(|service| &service.store)
    }

    /// Whether any service stopped on its own (it should not).
    pub fn any_exited(&self) -> bool {
        self.running
            .iter()
            .any(|service| service.task.is_finished())
    }

    /// Stops every service cleanly.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        while let Some(service) = self.running.pop() {
            service.shutdown.cancel();
            service.task.await??;
        }
        Ok(())
    }
}
