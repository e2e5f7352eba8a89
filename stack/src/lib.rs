//! The whole shop in one process: the six services, each with its own sled store under one
//! data directory, against one broker. For system tests and benchmarks; `shopctl up` runs the
//! services as separate processes instead.
//!
//! The list of services is written once, in the `shop_services!` call below: it generates
//! [`StackConfig`] (one settings field per service), [`SERVICES`], [`build`], [`trees`] and
//! [`rebuild`]. A test checks it names the contract's contexts (`events::Context::ALL`), which
//! is where `shopctl` reads the names of the binaries it runs.

// dependencies nothing uses are flagged (not in test builds, which also see dev-dependencies)
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

use std::path::PathBuf;

use runtime::rebuild::RebuildReport;
use runtime::{Application, RuntimeConfig, Service, Store};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

macro_rules! shop_services {
    ($($field:ident: $service:ty),+ $(,)?) => {
        /// How to run the stack.
        #[derive(Debug, Clone)]
        pub struct StackConfig {
            /// The runtime settings every service shares; `data_dir` is the parent of the
            /// stores.
            pub runtime: RuntimeConfig,
            pub data_dir: PathBuf,
            /// The identities' seed files (`runtime::auth`), when the broker checks them:
            /// each service signs in as itself, provisioning and rebuilds as the admin.
            pub auth_dir: Option<PathBuf>,
            $(
                #[doc = concat!("The settings of ", stringify!($field), ".")]
                pub $field: <$service as Service>::Settings,
            )+
        }

        impl StackConfig {
            /// Defaults for a local broker, with stores under `data_dir`.
            pub fn new(nats_url: &str, data_dir: PathBuf, prefix: &str) -> Self {
                StackConfig {
                    runtime: RuntimeConfig::for_tests(nats_url, data_dir.clone(), prefix),
                    data_dir,
                    auth_dir: None,
                    $($field: Default::default(),)+
                }
            }
        }

        /// Every service, in start order.
        pub const SERVICES: &[&str] = &[$(<$service as Service>::DEFINITION.name),+];

        /// Builds one service by name.
        pub async fn build(name: &str, config: &StackConfig) -> anyhow::Result<Application> {
            let runtime = config.service_config(name);
            $(
                if name == <$service as Service>::DEFINITION.name {
                    return Application::build::<$service>(runtime, config.$field.clone()).await;
                }
            )+
            anyhow::bail!("unknown service {name:?}")
        }

        /// Whether one service's instances can share its partitions (`Service::SCALES_OUT`).
        pub fn scales_out(name: &str) -> anyhow::Result<bool> {
            $(
                if name == <$service as Service>::DEFINITION.name {
                    return Ok(<$service as Service>::SCALES_OUT);
                }
            )+
            anyhow::bail!("unknown service {name:?}")
        }

        /// The sled trees of one service, by name.
        pub fn trees(name: &str) -> anyhow::Result<&'static [&'static str]> {
            $(
                if name == <$service as Service>::DEFINITION.name {
                    return Ok(<$service as Service>::TREES);
                }
            )+
            anyhow::bail!("unknown service {name:?}")
        }

        /// Provisions the streams and one service's durable consumers, as the admin.
        pub async fn provision(name: &str, config: &StackConfig) -> anyhow::Result<()> {
            let admin = config.admin_config(name);
            $(
                if name == <$service as Service>::DEFINITION.name {
                    return runtime::provision::provision::<$service>(&admin).await;
                }
            )+
            anyhow::bail!("unknown service {name:?}")
        }

        /// The event types one service consumes, by name.
        pub fn consumes(name: &str) -> anyhow::Result<&'static [events::EventType]> {
            $(
                if name == <$service as Service>::DEFINITION.name {
                    return Ok(<$service as Service>::CONSUMES);
                }
            )+
            anyhow::bail!("unknown service {name:?}")
        }

        /// Rebuilds one stopped service's store from the streams and swaps it in.
        pub async fn rebuild(name: &str, config: &StackConfig) -> anyhow::Result<RebuildReport> {
            let runtime = config.admin_config(name);
            $(
                if name == <$service as Service>::DEFINITION.name {
                    return runtime::rebuild::rebuild::<$service>(&runtime, config.$field.clone())
                        .await;
                }
            )+
            anyhow::bail!("unknown service {name:?}")
        }
    };
}

shop_services!(
    catalog: catalog::Catalog,
    inventory: inventory::Inventory,
    orders: orders::Orders,
    payments: payments::Payments,
    shipping: shipping::Shipping,
    support: support::Support,
);

impl StackConfig {
    /// The runtime settings of one service (its own store is `<data_dir>/<service>`).
    pub fn service_config(&self, name: &str) -> RuntimeConfig {
        let identity = runtime::auth::Identity::named(name);
        RuntimeConfig {
            data_dir: Some(self.data_dir.clone()),
            nats_creds: self.credentials(identity),
            ..self.runtime.clone()
        }
    }

    /// One service's settings with the admin's credentials (provisioning, rebuilds).
    pub fn admin_config(&self, name: &str) -> RuntimeConfig {
        RuntimeConfig {
            nats_creds: self.credentials(Some(runtime::auth::Identity::Admin)),
            ..self.service_config(name)
        }
    }

    fn credentials(&self, identity: Option<runtime::auth::Identity>) -> Option<PathBuf> {
        let auth_dir = self.auth_dir.as_ref()?;
        Some(runtime::auth::seed_file(auth_dir, identity?))
    }
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
        Self::start_only(config, SERVICES).await
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

    /// Provisions one service's durables (as the admin; idempotent, as `shopctl up` does at
    /// every start), then starts it.
    pub async fn start_service(&mut self, name: &str) -> anyhow::Result<()> {
        provision(name, &self.config).await?;
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_services_are_the_contracts_contexts() {
        let contexts: Vec<&str> = events::Context::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(super::SERVICES, contexts.as_slice());
    }
}
