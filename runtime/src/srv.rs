//! Registration with the NATS service API (`async_nats::service`): `$SRV.PING`, `$SRV.INFO` and
//! `$SRV.STATS` describe every running service, and `<prefix>.api.<service>.status` answers
//! with the runtime's counters. Services add their own endpoints to the same group.

use std::collections::HashMap;
use std::sync::Arc;

use async_nats::service::{Service, ServiceExt};
use futures::StreamExt;
use tokio_util::task::TaskTracker;

use events::Subjects;

use crate::service::ServiceDefinition;
use crate::stats::RuntimeStats;
use crate::store::Store;

/// Registers the service and its `status` endpoint; the endpoint task runs on `tasks`.
pub(crate) async fn register(
    client: &async_nats::Client,
    subjects: &Subjects,
    definition: &ServiceDefinition,
    stats: Arc<RuntimeStats>,
    store: Store,
    tasks: &TaskTracker,
) -> anyhow::Result<Service> {
    let ServiceDefinition {
        name,
        version,
        description,
    } = *definition;
    let (stats_for_srv, store_for_srv) = (stats.clone(), store.clone());
    let service = client
        .service_builder()
        .description(description)
        .metadata(HashMap::from([(
            "prefix".to_owned(),
            subjects.prefix().to_owned(),
        )]))
        .stats_handler(move |_endpoint, _stats| {
            serde_json::to_value(exact_snapshot(&stats_for_srv, &store_for_srv)).unwrap_or_default()
        })
        .start(name, version)
        .await
        .map_err(|error| anyhow::anyhow!("failed to register service {name}: {error}"))?;
    let mut status = service
        .group(subjects.api_group(name)?)
        .endpoint("status")
        .await
        .map_err(|error| anyhow::anyhow!("failed to add status endpoint: {error}"))?;
    tasks.spawn(async move {
        while let Some(request) = status.next().await {
            let body = serde_json::to_vec(&exact_snapshot(&stats, &store)).unwrap_or_default();
            if let Err(error) = request.respond(Ok(body.into())).await {
                tracing::warn!(%error, "failed to answer status request");
            }
        }
    });
    Ok(service)
}

/// The counters, with the outbox backlog and pending timers read from the store itself.
fn exact_snapshot(stats: &RuntimeStats, store: &Store) -> crate::stats::StatsSnapshot {
    let mut snapshot = stats.snapshot();
    snapshot.outbox_backlog = store.outbox_len() as u64;
    snapshot.pending_timers = store.pending_timers() as u64;
    snapshot
}
