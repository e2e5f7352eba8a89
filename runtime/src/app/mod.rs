//! The application every service binary runs: [`Application::build`] opens the store, connects,
//! provisions streams and registers `$SRV` with the service's endpoints (on a supervised
//! connection of their own: `<service> api`);
//! [`Application::run_until_stopped`] runs the consume loops, the outbox relay, the timer loop
//! and inbox pruning until the shutdown token is cancelled, then stops in order: stop pulling
//! and finish the in-flight batch, publish the outbox, flush, drain.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use events::Subjects;

use crate::api::Api;
use crate::config::RuntimeConfig;
use crate::consumer::{ConsumeContext, Fatal, consumer_specs};
use crate::endpoint::{Endpoints, InFlight};
use crate::handler::Handler;
use crate::history::{HistorySource, Streams};
use crate::nats::supervised::{self, Supervisor};
use crate::ownership::Held;
use crate::relay::{Fences, Relay};
use crate::service::{Service, ServiceDefinition};
use crate::srv::ApiServer;
use crate::stats::RuntimeStats;
use crate::store::Store;
use crate::store::outbox::Producer;
use crate::{inbox, nats, timers};

mod sharing;

/// How long the outbox relay may take to publish what the last batches emitted at shutdown.
const FINAL_PUBLISH_TIMEOUT: Duration = Duration::from_secs(3);

/// A built service, ready to run.
pub struct Application {
    config: RuntimeConfig,
    definition: ServiceDefinition,
    handler: Arc<dyn Handler>,
    client: async_nats::Client,
    js: jetstream::Context,
    store: Store,
    stats: Arc<RuntimeStats>,
    /// The API and `$SRV`, on their own connection, rebuilt when it dies.
    api_connection: Supervisor,
    endpoint_tasks: TaskTracker,
    relay_wakeup: Arc<Notify>,
    /// The partitions this instance holds and has made ready.
    held: Held,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("definition", &self.definition)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Builds service `S` with `settings`: opens the store, connects (retrying while the
    /// broker is not up yet), creates or updates the streams, registers the service and
    /// serves its endpoints.
    pub async fn build<S: Service>(
        config: RuntimeConfig,
        settings: S::Settings,
    ) -> anyhow::Result<Application> {
        let service = S::new(settings);
        let mut endpoints = Endpoints::default();
        service.endpoints(&mut endpoints);
        Self::build_with(config, S::DEFINITION, Arc::new(service), endpoints).await
    }

    async fn build_with(
        config: RuntimeConfig,
        definition: ServiceDefinition,
        handler: Arc<dyn Handler>,
        endpoints: Endpoints,
    ) -> anyhow::Result<Application> {
        let store_dir = config.store_dir(definition.name);
        anyhow::ensure!(
            !config.scale_out || handler.scales_out(),
            "{} cannot share its partitions with other instances yet (docs/scaling.md, \"Status\"): run it without --scale-out",
            definition.name
        );
        let trees = handler.tree_set(config.partitions);
        let store = Store::open_service(&store_dir, config.cache_mb * 1024 * 1024, trees)?;
        let client = nats::connect(&config, definition.name).await?;
        let js = nats::jetstream(client.clone());
        await_provisioning(&js, &config, definition.name, handler.consumes()).await?;
        // a new store is expected of an instance that shares its partitions: it builds each
        // partition it takes from the streams (shared trees excepted: nothing rebuilds those)
        let builds_what_it_takes = config.scale_out && handler.shared_trees().is_empty();
        if store.is_new() && !builds_what_it_takes {
            refuse_a_lost_store(&js, &config, &definition, handler.consumes()).await?;
        }
        // what it holds, filled by the balancing when it shares its partitions
        let held = match config.scale_out {
            true => Held::default(),
            false => Held::everything(config.partitions),
        };
        let stats = Arc::new(RuntimeStats::default());
        let endpoint_tasks = TaskTracker::new();
        let relay_wakeup = Arc::new(Notify::new());
        let producer = producer(&definition, &config.prefix);
        let api = Api::new(
            store.clone(),
            producer,
            handler.clone(),
            relay_wakeup.clone(),
            history_source(&js, &config, handler.as_ref()),
            held.clone(),
            sharing::peers(&config, &definition, &client)?,
        );
        let server = ApiServer {
            subjects: config.prefix.clone(),
            definition,
            stats: stats.clone(),
            store: store.clone(),
            endpoints,
            api,
            in_flight: InFlight::new(config.api_max_in_flight as usize),
            tasks: endpoint_tasks.clone(),
            scale_out: config.scale_out,
        };
        // returns once the broker has the subscriptions: a request sent right after `build`
        // returns finds them
        let name = format!("{} api", definition.name);
        let api_connection = supervised::start(&name, nats::dial(&config, &name), server)
            .await
            .context("failed to serve the api")?;
        tracing::info!(service = definition.name, store = %store_dir.display(), prefix = %config.prefix, "built");
        Ok(Application {
            config,
            definition,
            handler,
            client,
            js,
            store,
            stats,
            api_connection,
            endpoint_tasks,
            relay_wakeup,
            held,
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

    pub fn definition(&self) -> ServiceDefinition {
        self.definition
    }

    /// Runs until `shutdown` is cancelled, then shuts down cleanly.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let fatal = Arc::new(Fatal::default());
        // a fatal failure stops the service like a signal does, then makes it return an error
        let shutdown = {
            let (outer, stop) = (shutdown.clone(), fatal.token.clone());
            let combined = CancellationToken::new();
            let trigger = combined.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = outer.cancelled() => {}
                    _ = stop.cancelled() => {}
                }
                trigger.cancel();
            });
            combined
        };
        let held = self.held.clone();
        let context = Arc::new(ConsumeContext {
            js: self.js.clone(),
            store: self.store.clone(),
            handler: self.handler.clone(),
            history: history_source(&self.js, &self.config, self.handler.as_ref()),
            producer: producer(&self.definition, &self.config.prefix),
            config: self.config.clone(),
            stats: self.stats.clone(),
            relay_wakeup: self.relay_wakeup.clone(),
            failures: Default::default(),
            fatal: fatal.clone(),
            batches: Default::default(),
            storage_failures: Default::default(),
            held: held.clone(),
        });
        let balance_stop = CancellationToken::new();
        let balancing = match self.config.scale_out {
            true => Some(
                self.balance(context.clone(), held.clone(), &shutdown, &balance_stop)
                    .await?,
            ),
            // alone: it must stay the only instance (docs/scaling.md)
            false if self.handler.scales_out() => self.stay_alone(&fatal, &balance_stop).await?,
            false => None,
        };
        let consumers = TaskTracker::new();
        let name = self.definition.name;
        for spec in consumer_specs(name, self.handler.consumes(), &self.config.prefix) {
            consumers.spawn(context.clone().run(spec, shutdown.clone()));
        }
        consumers.close();

        let relay_stop = CancellationToken::new();
        let relay = Relay {
            fences: Fences {
                subjects: self.config.prefix.clone(),
                home: name.parse().ok(),
                partitions: self.config.partitions,
            },
            js: self.js.clone(),
            store: self.store.clone(),
            stats: self.stats.clone(),
            wakeup: self.relay_wakeup.clone(),
        };
        let relay_task = tokio::spawn(relay.run(relay_stop.clone()));
        let timers = tokio::spawn(timers::run(
            self.store.clone(),
            self.stats.clone(),
            self.relay_wakeup.clone(),
            shutdown.clone(),
        ));
        let pruner = tokio::spawn(inbox::prune(
            self.store.clone(),
            self.config.inbox_retention(),
            shutdown.clone(),
        ));

        shutdown.cancelled().await;
        tracing::info!("stopping: finishing the in-flight batch");
        consumers.wait().await;
        // hand the partitions back: their intake consumers finish their batches, the leases go
        balance_stop.cancel();
        if let Some(balancing) = balancing {
            let _ = balancing.await;
        }
        let _ = timers.await;
        relay_stop.cancel();
        finish_relay(relay_task).await;
        // every task that holds the store ends before this returns, so the store is closed
        pruner.abort();
        let _ = pruner.await;
        self.store.flush().await.context("final flush failed")?;
        let api_client = self.api_connection.stop().await;
        self.endpoint_tasks.close();
        // the endpoint tasks hold the store: let them end, so the store is closed on return
        let _ = tokio::time::timeout(Duration::from_secs(2), self.endpoint_tasks.wait()).await;
        if let Some(api_client) = api_client {
            let _ = api_client.drain().await;
        }
        self.client
            .drain()
            .await
            .context("failed to drain the nats connection")?;
        if let Some(reason) = fatal.reason() {
            anyhow::bail!("{} stopped: {reason}", self.definition.name);
        }
        tracing::info!("stopped");
        Ok(())
    }
}

fn producer(definition: &ServiceDefinition, subjects: &Subjects) -> Producer {
    Producer {
        name: definition.name.to_owned(),
        subjects: subjects.clone(),
    }
}

/// Lets the relay publish what is left, for a while; the rest goes out at the next start.
async fn finish_relay(mut relay_task: tokio::task::JoinHandle<()>) {
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
}

/// A new (empty) store while the broker already has this service's durable consumer with
/// deliveries means the store was lost or `--data-dir` is wrong: starting would silently
/// diverge (the consumer resumes where the old store left off), so the service refuses.
async fn refuse_a_lost_store(
    js: &jetstream::Context,
    config: &RuntimeConfig,
    definition: &ServiceDefinition,
    consumes: &[events::EventType],
) -> anyhow::Result<()> {
    for spec in consumer_specs(definition.name, consumes, &config.prefix) {
        let Ok(stream) = js.get_stream(&spec.stream).await else {
            continue;
        };
        let Ok(info) = stream.consumer_info(definition.name).await else {
            continue;
        };
        let delivered = info.delivered.stream_sequence;
        anyhow::ensure!(
            delivered == 0,
            "{name}: the store at {dir} is new, but the broker's durable consumer {name} on {stream} \
             has already delivered up to sequence {delivered}: this service ran before with another \
             store. If the store was lost, rebuild it from the streams (`shopctl rebuild {name} --lost`, or \
             `shop-{name} --rebuild` with the same --data-dir), then start the service; if \
             --data-dir is wrong, fix it",
            name = definition.name,
            dir = config.store_dir(definition.name).display(),
            stream = spec.stream,
        );
    }
    Ok(())
}

/// Waits until the streams and this service's durable consumers are there (a broker that is
/// starting, or `shopctl provision` running at the same time), for up to 30 s; then a missing
/// one is an error that says how to provision it. The service never creates them itself.
async fn await_provisioning(
    js: &jetstream::Context,
    config: &RuntimeConfig,
    name: &str,
    consumes: &[events::EventType],
) -> anyhow::Result<()> {
    for spec in consumer_specs(name, consumes, &config.prefix) {
        let mut attempt = 0u32;
        while let Err(error) = crate::provision::bind(js, &spec, name).await {
            attempt += 1;
            if attempt >= 30 {
                return Err(error);
            }
            tracing::warn!(error = %format!("{error:#}"), attempt, "not provisioned yet; waiting");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    Ok(())
}

/// Where the service reads the histories it asks for: the broker's streams.
fn history_source(
    js: &jetstream::Context,
    config: &RuntimeConfig,
    handler: &dyn Handler,
) -> HistorySource {
    HistorySource::Streams(Arc::new(Streams {
        js: js.clone(),
        subjects: config.prefix.clone(),
        history: handler.history(),
        max_payload_bytes: config.max_payload_bytes,
    }))
}
