//! How an instance takes its place among its service's instances: sharing the partitions
//! with the others (`--scale-out`), or holding every one of them alone (docs/scaling.md).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Application;
use crate::config::RuntimeConfig;
use crate::consumer::{ConsumeContext, Fatal};
use crate::intake::Intake;
use crate::ownership::{Balancer, Held, Owners};
use crate::service::ServiceDefinition;
use crate::takeover::Takeover;

impl Application {
    /// This instance's view of its service's leases.
    async fn owners(&self) -> anyhow::Result<Owners> {
        let name = self.definition.name;
        let instance = self.config.instance(name);
        let (prefix, partitions) = (self.config.prefix.clone(), self.config.partitions);
        let timing = self.config.lease_timing();
        Owners::open(
            self.js.clone(),
            prefix,
            name,
            name.parse().ok(),
            partitions,
            &instance,
            timing,
        )
        .await
    }

    /// An instance that holds every partition by itself refuses to start beside instances that
    /// share them, and stops when one appears.
    pub(super) async fn stay_alone(
        &self,
        fatal: &Arc<Fatal>,
        stop: &CancellationToken,
    ) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
        let owners = match self.owners().await {
            Ok(owners) => Some(owners),
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "cannot see the lease bucket: not checking that this instance runs alone");
                None
            }
        };
        if let Some(owners) = &owners {
            owners.check_alone().await?;
        }
        self.rebuild_if_it_was_shared().await?;
        let Some(owners) = owners else {
            return Ok(None);
        };
        let (fatal, stop) = (fatal.clone(), stop.clone());
        Ok(Some(tokio::spawn(async move {
            if let Err(error) = crate::ownership::stay_alone(owners, stop).await {
                fatal.raise(format!("{error:#}"));
            }
        })))
    }

    /// A store last used with `--scale-out` misses what the other instances applied: alone
    /// now, the instance rebuilds every partition from the streams before it consumes.
    async fn rebuild_if_it_was_shared(&self) -> anyhow::Result<()> {
        if !self.store.was_shared()? {
            return Ok(());
        }
        tracing::warn!(
            "this store was last shared with other instances: rebuilding every partition from the streams"
        );
        let takeover = Takeover::new(
            self.js.clone(),
            self.config.clone(),
            self.store.clone(),
            self.handler.clone(),
            super::producer(&self.definition, &self.config.prefix),
        );
        let folded = takeover.rebuild_all().await?;
        self.store.unmark_shared()?;
        self.store.flush().await?;
        tracing::info!(folded, "every partition rebuilt");
        Ok(())
    }

    /// Joins the instances of this service in sharing its partitions (docs/scaling.md), and
    /// waits, for up to a lease time, until this instance holds its first share: a lone
    /// instance takes every partition in its first round and forwards nothing.
    pub(super) async fn balance(
        &self,
        context: Arc<ConsumeContext>,
        held: Held,
        shutdown: &CancellationToken,
        stop: &CancellationToken,
    ) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        let owners = self.owners().await?;
        let lone = owners.lone_instances().await?;
        anyhow::ensure!(
            lone.is_empty(),
            "{name} runs without --scale-out as {instances}, holding every partition: stop it, or \
             restart it with --scale-out too, before this instance shares the partitions",
            name = self.definition.name,
            instances = lone.join(", "),
        );
        self.store.mark_shared()?;
        let timing = owners.timing();
        let intake = Arc::new(Intake::new(context, shutdown.clone()));
        let balancer = Balancer::with_held(owners, intake, held.clone());
        let task = tokio::spawn(balancer.run(stop.clone()));
        let deadline = tokio::time::Instant::now() + timing.ttl;
        while held.partitions().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let indices: Vec<u16> = held.partitions().iter().map(|p| p.index()).collect();
        tracing::info!(partitions = ?indices, "partitions held");
        Ok(task)
    }
}

/// How an instance that shares its partitions asks the others.
pub(super) fn peers(
    config: &RuntimeConfig,
    definition: &ServiceDefinition,
    client: &async_nats::Client,
) -> anyhow::Result<Option<crate::peers::Forwarder>> {
    let group = config.prefix.api_group(definition.name)?;
    Ok(config.scale_out.then(|| crate::peers::Forwarder {
        client: client.clone(),
        group,
    }))
}
