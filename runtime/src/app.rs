//! The application every service binary runs: [`Application::build`] opens the store, connects,
//! provisions streams and registers `$SRV`; [`Application::run_until_stopped`] runs the consume
//! loops, the outbox relay and inbox pruning until the shutdown token is cancelled, then stops
//! in order: stop pulling and finish the in-flight batch, publish the outbox, flush, drain.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use events::{Subjects, Timestamp};

use std::future::Future;

use futures::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::{self, Api, ApiError};
use crate::config::RuntimeConfig;
use crate::consumer::{ConsumeContext, ConsumerSpec};
use crate::handler::Handler;
use crate::outbox::Relay;
use crate::stats::RuntimeStats;
use crate::store::{Producer, Store};
use crate::{nats, service};

/// Name, version and one-line description, as shown by `$SRV.INFO`.
#[derive(Debug, Clone, Copy)]
pub struct ServiceDefinition {
    pub name: &'static str,
    pub version: &'static str,
    pub description: &'static str,
}

/// How long the outbox relay may take to publish what the last batches emitted at shutdown.
const FINAL_PUBLISH_TIMEOUT: Duration = Duration::from_secs(3);
/// How often applied event ids older than the retention are forgotten.
const PRUNE_INTERVAL: Duration = Duration::from_secs(600);

/// A built service, ready to run.
pub struct Application {
    config: RuntimeConfig,
    definition: ServiceDefinition,
    handler: Arc<dyn Handler>,
    client: async_nats::Client,
    js: jetstream::Context,
    store: Store,
    stats: Arc<RuntimeStats>,
    service: async_nats::service::Service,
    endpoint_tasks: TaskTracker,
    relay_wakeup: Arc<Notify>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("definition", &self.definition)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Opens the store, connects (retrying while the broker is not up yet), creates or updates
    /// the streams and registers the service.
    pub async fn build(
        config: RuntimeConfig,
        definition: ServiceDefinition,
        handler: Arc<dyn Handler>,
    ) -> anyhow::Result<Application> {
        let store_dir = config.store_dir(definition.name);
        let store = Store::open(&store_dir, config.cache_mb * 1024 * 1024, &handler.trees())?;
        let client = nats::connect(&config, definition.name).await?;
        let js = nats::jetstream(client.clone());
        ensure_streams_with_retry(&js, &config).await?;
        let stats = Arc::new(RuntimeStats::default());
        let endpoint_tasks = TaskTracker::new();
        let service = service::register(
            &client,
            &config.prefix,
            &definition,
            stats.clone(),
            store.clone(),
            &endpoint_tasks,
        )
        .await?;
        tracing::info!(service = definition.name, store = %store_dir.display(), prefix = %config.prefix, "built");
        Ok(Application {
            config,
            definition,
            handler,
            client,
            js,
            store,
            stats,
            service,
            endpoint_tasks,
            relay_wakeup: Arc::new(Notify::new()),
        })
    }

    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn subjects(&self) -> &Subjects {
        &self.config.prefix
    }

    pub fn stats(&self) -> Arc<RuntimeStats> {
        self.stats.clone()
    }

    /// The registered `$SRV` service.
    pub fn service(&self) -> &async_nats::service::Service {
        &self.service
    }

    fn producer(&self) -> Producer {
        Producer {
            name: self.definition.name.to_owned(),
            subjects: self.config.prefix.clone(),
        }
    }

    /// What API handlers use: store reads and commands.
    pub fn api(&self) -> Api {
        Api::new(
            self.store.clone(),
            self.producer(),
            self.relay_wakeup.clone(),
        )
    }

    /// Serves `<prefix>.api.<service>.<verb>`: each request body is decoded as JSON into
    /// `Request`, handled concurrently, and answered with the JSON result or the error.
    pub async fn add_endpoint<Request, Response, F, Fut>(
        &self,
        verb: &str,
        handler: F,
    ) -> anyhow::Result<()>
    where
        Request: DeserializeOwned + Send + 'static,
        Response: Serialize + Send + 'static,
        F: Fn(Api, Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response, ApiError>> + Send + 'static,
    {
        let group = self.config.prefix.api_group(self.definition.name)?;
        let mut endpoint = self
            .service
            .group(group)
            .endpoint(verb)
            .await
            .map_err(|error| anyhow::anyhow!("failed to add endpoint {verb}: {error}"))?;
        let (api, handler, tasks) = (self.api(), Arc::new(handler), self.endpoint_tasks.clone());
        self.endpoint_tasks.spawn(async move {
            while let Some(request) = endpoint.next().await {
                let (api, handler) = (api.clone(), handler.clone());
                tasks.spawn(async move {
                    let result = match api::decode_request::<Request>(&request.message.payload) {
                        Ok(body) => handler(api, body).await,
                        Err(error) => Err(error),
                    };
                    let reply = result
                        .and_then(|response| {
                            serde_json::to_vec(&response)
                                .map_err(|error| ApiError::internal(error.to_string()))
                        })
                        .map(bytes::Bytes::from)
                        .map_err(|error| async_nats::service::error::Error {
                            code: usize::from(error.code),
                            status: error.message,
                        });
                    if let Err(error) = request.respond(reply).await {
                        tracing::warn!(%error, "failed to send api reply");
                    }
                });
            }
        });
        Ok(())
    }

    /// Runs until `shutdown` is cancelled, then shuts down cleanly.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let relay_wakeup = self.relay_wakeup.clone();
        let producer = self.producer();
        let context = Arc::new(ConsumeContext {
            js: self.js.clone(),
            store: self.store.clone(),
            handler: self.handler.clone(),
            producer,
            config: self.config.clone(),
            stats: self.stats.clone(),
            relay_wakeup: relay_wakeup.clone(),
        });
        let consumers = TaskTracker::new();
        for spec in consumer_specs(self.handler.as_ref(), &self.config.prefix) {
            consumers.spawn(context.clone().run(spec, shutdown.clone()));
        }
        consumers.close();

        let relay_stop = CancellationToken::new();
        let relay = Relay {
            js: self.js.clone(),
            store: self.store.clone(),
            stats: self.stats.clone(),
            wakeup: relay_wakeup,
        };
        let relay_task = tokio::spawn(relay.run(relay_stop.clone()));
        let timers = tokio::spawn(fire_timers(
            self.store.clone(),
            self.stats.clone(),
            self.relay_wakeup.clone(),
            shutdown.clone(),
        ));
        let pruner = tokio::spawn(prune_inbox(
            self.store.clone(),
            self.config.inbox_retention(),
            shutdown.clone(),
        ));

        shutdown.cancelled().await;
        tracing::info!("stopping: finishing the in-flight batch");
        consumers.wait().await;
        let _ = timers.await;
        relay_stop.cancel();
        let mut relay_task = relay_task;
        if tokio::time::timeout(FINAL_PUBLISH_TIMEOUT, &mut relay_task)
            .await
            .is_err()
        {
            tracing::warn!(
                "outbox not fully published at shutdown; the rest goes out at the next start"
            );
            relay_task.abort();
            let _ = relay_task.await;
        }
        // every task that holds the store ends before this returns, so the store is closed
        pruner.abort();
        let _ = pruner.await;
        self.store.flush().await.context("final flush failed")?;
        let _ = self.service.stop().await;
        self.endpoint_tasks.close();
        // the endpoint tasks hold the store: let them end, so the store is closed on return
        let _ = tokio::time::timeout(Duration::from_secs(2), self.endpoint_tasks.wait()).await;
        self.client
            .drain()
            .await
            .context("failed to drain the nats connection")?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// One consumer per stream that holds any of the handler's event types.
pub fn consumer_specs(handler: &dyn Handler, subjects: &Subjects) -> Vec<ConsumerSpec> {
    let mut by_context: BTreeMap<events::Context, Vec<String>> = BTreeMap::new();
    for event_type in handler.consumes() {
        by_context
            .entry(event_type.context())
            .or_default()
            .push(subjects.event_type_filter(event_type));
    }
    by_context
        .into_iter()
        .map(|(context, filter_subjects)| ConsumerSpec {
            stream: events::stream::event_stream(subjects, context).name,
            filter_subjects,
        })
        .collect()
}

/// Stream provisioning retries for a while: the broker may be starting at the same time.
async fn ensure_streams_with_retry(
    js: &jetstream::Context,
    config: &RuntimeConfig,
) -> anyhow::Result<()> {
    let mut attempt = 0u32;
    loop {
        match nats::ensure_streams(js, &config.prefix, config.stream_replicas).await {
            Ok(()) => return Ok(()),
            Err(error) if attempt < 30 => {
                attempt += 1;
                tracing::warn!(error = %format!("{error:#}"), attempt, "streams not ready; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// How often due timers are looked for.
const TIMER_INTERVAL: Duration = Duration::from_millis(100);

/// Moves due timers into the outbox until shutdown.
async fn fire_timers(
    store: Store,
    stats: Arc<RuntimeStats>,
    relay_wakeup: Arc<Notify>,
    shutdown: CancellationToken,
) {
    loop {
        let firing = store.clone();
        let fired = tokio::task::spawn_blocking(move || {
            let fired = firing.fire_due_timers(Timestamp::now());
            (fired, firing.pending_timers())
        })
        .await
        .map(|(fired, pending)| {
            stats.set_pending_timers(pending);
            fired
        });
        match fired {
            Ok(Ok(0)) => {}
            Ok(Ok(count)) => match store.flush().await {
                Ok(()) => {
                    tracing::debug!(count, "timers fired");
                    relay_wakeup.notify_one();
                }
                Err(error) => tracing::warn!(%error, "flush after firing timers failed"),
            },
            Ok(Err(error)) => tracing::warn!(%error, "firing timers failed"),
            Err(error) => tracing::warn!(%error, "timer task failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(TIMER_INTERVAL) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

async fn prune_inbox(store: Store, retention: Duration, shutdown: CancellationToken) {
    loop {
        let cutoff = Timestamp::now().plus_millis(-(retention.as_millis() as i64));
        let pruning = store.clone();
        match tokio::task::spawn_blocking(move || pruning.prune_inbox(cutoff)).await {
            Ok(Ok(removed)) if removed > 0 => tracing::info!(removed, "pruned inbox"),
            Ok(Err(error)) => tracing::warn!(%error, "inbox pruning failed"),
            _ => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(PRUNE_INTERVAL) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
