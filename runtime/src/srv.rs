//! Registration with the NATS service API (`async_nats::service`): `$SRV.PING`, `$SRV.INFO` and
//! `$SRV.STATS` describe every running service, and `<prefix>.api.<service>.status` answers
//! with the runtime's counters. Services add their own endpoints to the same group.
//!
//! [`ApiServer`] sets all of it up on a supervised connection of its own
//! ([`nats::supervised`](crate::nats::supervised)): a request anyone can send there may kill
//! that connection, and it is then rebuilt with everything registered again.

use std::collections::HashMap;
use std::sync::Arc;

use async_nats::service::{Service, ServiceExt};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use events::Subjects;

use crate::api::Api;
use crate::endpoint::{self, Endpoints, InFlight};
use crate::nats::supervised::Serve;
use crate::service::ServiceDefinition;
use crate::stats::RuntimeStats;
use crate::store::{Counters, Store};

/// Everything a service serves to clients: `$SRV`, `status` and its endpoints, with the tasks
/// that answer them (on `tasks`) and the one bound on requests in flight.
pub(crate) struct ApiServer {
    pub(crate) subjects: Subjects,
    pub(crate) definition: ServiceDefinition,
    pub(crate) stats: Arc<RuntimeStats>,
    pub(crate) store: Store,
    pub(crate) endpoints: Endpoints,
    pub(crate) api: Api,
    pub(crate) in_flight: InFlight,
    pub(crate) tasks: TaskTracker,
    /// Shares its partitions with other instances: requests for theirs are asked of them.
    pub(crate) scale_out: bool,
}

impl Serve for ApiServer {
    type Served = Service;

    async fn serve(
        &self,
        client: &async_nats::Client,
        ended: CancellationToken,
    ) -> anyhow::Result<Service> {
        let service = register(client, self, ended.clone()).await?;
        let group = self.subjects.api_group(self.definition.name)?;
        let (endpoints, api) = (&self.endpoints, &self.api);
        let forwarder = crate::peers::Forwarder {
            client: client.clone(),
            group: group.clone(),
        };
        endpoint::serve(
            &service,
            &group,
            endpoints,
            api,
            &self.in_flight,
            &self.tasks,
            self.scale_out.then_some(&forwarder),
            ended,
        )
        .await?;
        Ok(service)
    }

    async fn stop(&self, service: Service) {
        let _ = service.stop().await;
    }
}

/// Registers the service and its `status` endpoint; the endpoint task runs on the server's
/// tasks and cancels `ended` when its subscription ends.
async fn register(
    client: &async_nats::Client,
    server: &ApiServer,
    ended: CancellationToken,
) -> anyhow::Result<Service> {
    let ServiceDefinition {
        name,
        version,
        description,
    } = server.definition;
    let (stats, counters) = (server.stats.clone(), server.store.counters());
    let (stats_for_srv, counters_for_srv) = (stats.clone(), counters.clone());
    let service = client
        .service_builder()
        .description(description)
        .metadata(HashMap::from([(
            "prefix".to_owned(),
            server.subjects.prefix().to_owned(),
        )]))
        .stats_handler(move |_endpoint, _stats| {
            serde_json::to_value(exact_snapshot(&stats_for_srv, &counters_for_srv))
                .unwrap_or_default()
        })
        .start(name, version)
        .await
        .map_err(|error| anyhow::anyhow!("failed to register service {name}: {error}"))?;
    let mut status = service
        .group(server.subjects.api_group(name)?)
        .endpoint("status")
        .await
        .map_err(|error| anyhow::anyhow!("failed to add status endpoint: {error}"))?;
    server.tasks.spawn(async move {
        while let Some(request) = status.next().await {
            let body = serde_json::to_vec(&exact_snapshot(&stats, &counters)).unwrap_or_default();
            if let Err(error) = request.respond(Ok(body.into())).await {
                tracing::warn!(%error, "failed to answer status request");
            }
        }
        ended.cancel();
    });
    Ok(service)
}

/// The counters, with the outbox backlog and pending timers read from the store itself.
fn exact_snapshot(stats: &RuntimeStats, counters: &Counters) -> crate::stats::StatsSnapshot {
    let mut snapshot = stats.snapshot();
    snapshot.outbox_backlog = counters.outbox_len() as u64;
    snapshot.pending_timers = counters.pending_timers() as u64;
    snapshot
}
