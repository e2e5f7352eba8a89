//! A whole shop per test: a [`TestBed`] with the six services running in this process (via
//! `stack`), an API client, fast settings, and what the system tests share: start and stop a
//! service, run one as a separate process, wait until everything has settled, read an
//! order's events, deliver everything again, and read the stores the invariants are about.
//! Calls to the services' API are in `calls.rs`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use events::Envelope;
use runtime::{ApiClient, Store};
use stack::{Stack, StackConfig};

use crate::bed::TestBed;
use crate::process::{ChildProcess, workspace_binary};
use crate::{streams, wait};

/// How long [`TestShop::wait_until_quiet`] waits for the shop to settle.
const SETTLE: Duration = Duration::from_secs(60);

/// How long [`TestShop::wait_for_service`] waits for a service to come up.
const START: Duration = Duration::from_secs(30);

/// A broker, the services named at start (all six by default) and an API client.
#[derive(Debug)]
pub struct TestShop {
    pub bed: TestBed,
    pub stack: Stack,
    pub api: ApiClient,
    /// What the services were started with (stores under [`TestShop::data_dir`]).
    pub config: StackConfig,
}

/// Fast settings for tests on `bed`: short shipping delays, saga deadlines of a few seconds,
/// redelivery after 2 s, every store under the bed's directory.
pub fn fast_config(bed: &TestBed) -> StackConfig {
    let mut config = StackConfig::new(&bed.url(), bed.dir.path().to_path_buf(), bed.prefix());
    config.auth_dir = bed.auth_dir().map(Path::to_path_buf);
    config.runtime.nats_tls_ca = bed.tls().map(|tls| tls.ca.clone());
    config.runtime.ack_wait_ms = crate::bed::ACK_WAIT_MS;
    config.shipping.ship_delay_ms = 50;
    config.shipping.deliver_delay_ms = 50;
    config.orders.reservation_timeout_ms = 5_000;
    config.orders.payment_timeout_ms = 5_000;
    config
}

impl TestShop {
    /// All six services under [`PREFIX`](crate::PREFIX) with [`fast_config`].
    pub async fn start() -> TestShop {
        Self::start_with(stack::SERVICES, |_| {}).await
    }

    /// The services named (others can be started later), after `tweak` changed the settings.
    pub async fn start_with(services: &[&str], tweak: impl FnOnce(&mut StackConfig)) -> TestShop {
        Self::start_with_prefix(crate::PREFIX, services, tweak).await
    }

    /// Like [`TestShop::start_with`], under another prefix.
    pub async fn start_with_prefix(
        prefix: &str,
        services: &[&str],
        tweak: impl FnOnce(&mut StackConfig),
    ) -> TestShop {
        Self::start_on(TestBed::start_secured(prefix).await, services, tweak).await
    }

    /// All six services on an open broker (no authentication), as `shopctl up --no-auth`
    /// runs them: for benchmarks that compare the two.
    pub async fn start_open() -> TestShop {
        let bed = TestBed::start_with_prefix(crate::PREFIX).await;
        Self::start_on(bed, stack::SERVICES, |_| {}).await
    }

    /// All six services on a broker that accepts TLS connections only (a CA made for the
    /// test); every connection trusts that CA.
    pub async fn start_over_tls() -> TestShop {
        let bed = TestBed::start_secured_tls(crate::PREFIX).await;
        Self::start_on(bed, stack::SERVICES, |_| {}).await
    }

    async fn start_on(
        bed: TestBed,
        services: &[&str],
        tweak: impl FnOnce(&mut StackConfig),
    ) -> TestShop {
        let mut config = fast_config(&bed);
        tweak(&mut config);
        let stack = Stack::start_only(config.clone(), services)
            .await
            .expect("start stack");
        TestShop {
            api: bed.api(),
            bed,
            stack,
            config,
        }
    }

    /// `nats://127.0.0.1:<port>` of the broker.
    pub fn url(&self) -> String {
        self.bed.url()
    }

    /// The directory holding one store per service (`<data_dir>/<service>`).
    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// A running service's store (panics if it is not running in this process).
    pub fn store(&self, service: &str) -> &Store {
        self.stack.store(service).expect("service running")
    }

    /// Starts one service in this process (on the store it had, if it ran before).
    pub async fn start_service(&mut self, service: &str) {
        self.stack
            .start_service(service)
            .await
            .unwrap_or_else(|error| panic!("start {service}: {error:#}"));
    }

    /// Stops one service cleanly; its store stays on disk.
    pub async fn stop_service(&mut self, service: &str) {
        self.stack
            .stop_service(service)
            .await
            .unwrap_or_else(|error| panic!("stop {service}: {error:#}"));
    }

    /// Starts `service`'s binary (built next to the test binary) against this shop's broker
    /// and its store, for a test that kills it; `extra_env` adds settings. Wait for it with
    /// [`TestShop::wait_for_service`].
    pub fn service_process(&self, service: &str, extra_env: &[(&str, &str)]) -> ChildProcess {
        let binary = workspace_binary(&format!("shop-{service}"));
        let data_dir = self.config.data_dir.clone();
        let admin = self.config.admin_config(service).nats_creds;
        let own = self.config.service_config(service).nats_creds;
        let as_admin = self.bed.process_env(&data_dir, admin.as_deref(), extra_env);
        let provisioned = std::process::Command::new(&binary)
            .arg("--provision")
            .envs(as_admin)
            .status()
            .expect("run --provision");
        assert!(provisioned.success(), "provisioning {service} failed");
        let env = self.bed.process_env(&data_dir, own.as_deref(), extra_env);
        ChildProcess::spawn(std::process::Command::new(&binary).envs(env))
    }

    /// Waits until every durable consumer of every stream has nothing pending or unacked, and
    /// every running service has an empty outbox and no pending timer.
    ///
    /// Consumers, outboxes and timers cannot be read in one atomic look (a timer may fire and
    /// be published between two reads), so the shop counts as quiet only after three
    /// consecutive quiet looks 100 ms apart.
    pub async fn wait_until_quiet(&self) {
        wait::until("the shop to settle", SETTLE, || async {
            for look in 0..3 {
                if look > 0 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                if !self.quiet().await {
                    return false;
                }
            }
            true
        })
        .await;
    }

    async fn quiet(&self) -> bool {
        if !streams::consumers_idle(&self.bed.js, &self.bed.subjects).await {
            return false;
        }
        for service in stack::SERVICES {
            if let Ok(stats) = self.status(service).await
                && (stats.outbox_backlog > 0 || stats.pending_timers > 0)
            {
                return false;
            }
        }
        true
    }

    /// A service's runtime counters, from its `status` endpoint.
    pub async fn status(&self, service: &str) -> Result<runtime::StatsSnapshot, runtime::ApiError> {
        self.api
            .call(service, "status", &events::api::Empty {})
            .await
    }

    /// Waits until `service` answers and its durable consumer exists on every stream it reads
    /// (a service started as a separate process is not ready the moment it is spawned).
    pub async fn wait_for_service(&self, service: &str, reads: &[events::Context]) {
        let what = format!("{service} to come up");
        wait::until(&what, START, || async {
            if self.status(service).await.is_err() {
                return false;
            }
            for context in reads {
                let stream = self.bed.js.get_stream(self.bed.stream(*context)).await;
                let stream = stream.expect("stream");
                if stream.consumer_info(service).await.is_err() {
                    return false;
                }
            }
            true
        })
        .await;
    }

    /// Every event about one order (its key), from every context stream, oldest first.
    pub async fn order_events(&self, order_id: &str) -> Vec<(Envelope, String)> {
        streams::events_with_key(&self.bed.js, &self.bed.subjects, order_id).await
    }

    /// Publishes every event of every stream again: same event id, new `Nats-Msg-Id` (as
    /// happens after the duplicate window), so each is in its stream twice. Returns how many.
    pub async fn republish_everything(&self) -> usize {
        streams::republish_everything(&self.bed.js, &self.bed.subjects).await
    }

    /// Publishes `event` as `producer` would (a new root envelope), straight to its stream.
    pub async fn publish_event(&self, event: &events::Event, producer: &str) {
        crate::publish::publish_event(&self.bed.js, &self.bed.subjects, event, producer).await;
    }

    /// Publishes a message on `orders.cancelled` for `order_id` whose payload is not
    /// MessagePack: inventory, shipping and support all consume that type, so it makes three
    /// dead letters.
    pub async fn publish_garbage_cancellation(&self, order_id: &str) {
        let event = events::samples::sample(events::EventType::OrderCancelled);
        let mut outgoing = crate::publish::outgoing(&self.bed.subjects, &event);
        outgoing.subject = self
            .bed
            .subjects
            .event(events::EventType::OrderCancelled, order_id)
            .expect("subject");
        outgoing.payload = b"\xc1 not messagepack".to_vec();
        crate::publish::publish_all(&self.bed.js, &[outgoing]).await;
    }

    /// Net captures per order from the payments store: captured = 1, refunded = 0 (after a
    /// capture), anything else = 0.
    pub fn net_captures(&self) -> HashMap<String, i64> {
        let payments = payments::store::PAYMENTS
            .all(self.store("payments"))
            .expect("payments");
        payments
            .into_iter()
            .map(|payment| {
                let net = i64::from(payment.status == payments::store::PaymentStatus::Captured);
                (payment.order_id, net)
            })
            .collect()
    }

    /// Stock per sku from the inventory store (where received == available + reserved + sold
    /// must hold).
    pub fn stock_levels(&self) -> BTreeMap<String, inventory::store::Stock> {
        inventory::store::STOCK
            .all(self.store("inventory"))
            .expect("stock")
            .into_iter()
            .map(|level| (level.sku.clone(), level))
            .collect()
    }
}
