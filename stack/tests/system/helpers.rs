//! A whole shop per test: broker, six services in-process, an API client, and helpers to
//! seed data, wait for orders, read an order's events and check the business invariants.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull::OrderedConfig};
use events::api::{
    AddProduct, Item, OpenAccount, Order, OrderRequest, PlaceOrder, Restock, StockLevel,
};
use events::{Envelope, Subjects};
use futures::StreamExt;
use runtime::{ApiClient, ApiError};
use stack::{Stack, StackConfig};
use testkit::NatsServer;

pub(crate) const PREFIX: &str = "t";

pub(crate) struct TestShop {
    pub(crate) server: NatsServer,
    pub(crate) stack: Stack,
    pub(crate) api: ApiClient,
    pub(crate) js: jetstream::Context,
    pub(crate) subjects: Subjects,
    pub(crate) config: StackConfig,
    pub(crate) _dir: tempfile::TempDir,
}

/// Fast settings for tests: short shipping delays and saga deadlines of a few seconds.
pub(crate) fn test_config(server: &NatsServer, dir: PathBuf) -> StackConfig {
    let mut config = StackConfig::new(&server.url(), dir, PREFIX);
    config.runtime.ack_wait_ms = 2_000;
    config.shipping = shipping::Settings {
        ship_delay_ms: 50,
        deliver_delay_ms: 50,
    };
    config.orders = orders::Settings {
        reservation_timeout_ms: 5_000,
        payment_timeout_ms: 5_000,
    };
    config
}

impl TestShop {
    /// Starts a broker and the services named (all six by default), after `tweak`.
    pub(crate) async fn start_with(
        services: &[&str],
        tweak: impl FnOnce(&mut StackConfig),
    ) -> TestShop {
        let server = NatsServer::start();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(&server, dir.path().to_path_buf());
        tweak(&mut config);
        let stack = Stack::start_only(config.clone(), services)
            .await
            .expect("start stack");
        let client = async_nats::connect(server.url()).await.expect("connect");
        let subjects = Subjects::new(PREFIX).expect("prefix");
        let api =
            ApiClient::new(client.clone(), subjects.clone()).with_timeout(Duration::from_secs(10));
        let js = jetstream::new(client);
        TestShop {
            server,
            stack,
            api,
            js,
            subjects,
            config,
            _dir: dir,
        }
    }

    pub(crate) async fn start() -> TestShop {
        Self::start_with(stack::SERVICES, |_| {}).await
    }

    /// Products TEA (8.99), MUG (14.50), KETTLE (39.99) with `stock` units each, and customers
    /// `rich` (limit 1,000,000.00) and `poor` (limit 1.00). Waits until every service knows.
    pub(crate) async fn seed(&self, stock: i64) {
        for (sku, price) in [("TEA", 899), ("MUG", 1450), ("KETTLE", 3999)] {
            let product = AddProduct {
                sku: sku.into(),
                name: sku.to_lowercase(),
                description: String::new(),
                price_minor: price,
                currency: "EUR".into(),
            };
            self.api
                .call::<_, serde_json::Value>("catalog", "add", &product)
                .await
                .expect("add product");
            if stock > 0 {
                self.restock(sku, stock).await;
            }
        }
        for (customer, limit) in [("rich", 100_000_000), ("poor", 100)] {
            self.open_account(customer, limit).await;
        }
        self.wait_until_quiet().await;
    }

    pub(crate) async fn restock(&self, sku: &str, quantity: i64) {
        let request = Restock {
            sku: sku.into(),
            quantity,
        };
        self.api
            .call::<_, StockLevel>("inventory", "restock", &request)
            .await
            .expect("restock");
    }

    pub(crate) async fn open_account(&self, customer: &str, limit: i64) {
        let request = OpenAccount {
            customer_id: customer.into(),
            credit_limit_minor: limit,
            currency: "EUR".into(),
        };
        self.api
            .call::<_, serde_json::Value>("payments", "open_account", &request)
            .await
            .expect("open account");
    }

    pub(crate) async fn place(
        &self,
        customer: &str,
        items: &[(&str, i64)],
    ) -> Result<Order, ApiError> {
        let items = items
            .iter()
            .map(|(sku, quantity)| Item {
                sku: (*sku).into(),
                quantity: *quantity,
            })
            .collect();
        self.api
            .call(
                "orders",
                "place",
                &PlaceOrder {
                    customer_id: customer.into(),
                    items,
                    order_id: None,
                },
            )
            .await
    }

    pub(crate) async fn order(&self, order_id: &str) -> Order {
        self.api
            .call(
                "orders",
                "get",
                &OrderRequest {
                    order_id: order_id.into(),
                },
            )
            .await
            .expect("get order")
    }

    /// Waits until the order is terminal (or panics after `timeout`).
    pub(crate) async fn wait_terminal(&self, order_id: &str, timeout: Duration) -> Order {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let order = self.order(order_id).await;
            if order.is_terminal() {
                return order;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "order {order_id} still {} after {timeout:?}",
                order.status
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn account(&self, customer: &str) -> events::api::Account {
        let request = events::api::CustomerRequest {
            customer_id: customer.into(),
        };
        self.api
            .call("payments", "get_account", &request)
            .await
            .expect("account")
    }

    pub(crate) async fn stock(&self, sku: &str) -> StockLevel {
        self.api
            .call(
                "inventory",
                "get",
                &events::api::SkuRequest { sku: sku.into() },
            )
            .await
            .expect("stock")
    }

    /// Publishes every event of every stream again: same event id, new `Nats-Msg-Id` (as
    /// happens after the duplicate window), so each is in its stream twice. Returns how many.
    pub(crate) async fn republish_everything(&self) -> usize {
        let mut republished = 0;
        for context in events::Context::ALL {
            let spec = events::stream::event_stream(&self.subjects, context);
            let stream = self.js.get_stream(&spec.name).await.expect("stream");
            let consumer = stream
                .create_consumer(OrderedConfig::default())
                .await
                .expect("consumer");
            let pending = consumer.cached_info().num_pending;
            let mut messages = consumer.messages().await.expect("messages");
            for _ in 0..pending {
                let message = messages.next().await.expect("open").expect("message");
                let mut headers = message.headers.clone().unwrap_or_default();
                let id = headers
                    .get(events::header::EVENT_ID)
                    .expect("event id")
                    .as_str()
                    .to_owned();
                headers.insert(events::header::NATS_MSG_ID, format!("{id}-again"));
                let ack = self
                    .js
                    .publish_with_headers(message.subject.clone(), headers, message.payload.clone())
                    .await
                    .expect("publish");
                std::future::IntoFuture::into_future(ack)
                    .await
                    .expect("ack");
                republished += 1;
            }
        }
        republished
    }

    /// Publishes `event` as `producer` would (a new root envelope), straight to its stream.
    pub(crate) async fn publish_event(&self, event: &events::Event, producer: &str) {
        let envelope = Envelope::new(
            event.event_type(),
            events::Timestamp::now(),
            producer,
            event.key(),
        );
        let mut headers = async_nats::HeaderMap::new();
        for (name, value) in envelope.to_headers() {
            headers.insert(name, value.as_str());
        }
        let subject = self.subjects.for_event(event).expect("subject");
        let payload = events::codec::encode(event).expect("encode");
        let ack = self
            .js
            .publish_with_headers(subject, headers, payload.into())
            .await
            .expect("publish");
        std::future::IntoFuture::into_future(ack)
            .await
            .expect("ack");
    }

    /// Waits until every durable consumer of every stream has nothing pending or unacked, and
    /// every running service has an empty outbox and no pending timer.
    ///
    /// Consumers, outboxes and timers cannot be read in one atomic look (a timer may fire and
    /// be published between two reads), so the shop counts as quiet only after three
    /// consecutive quiet looks 100 ms apart.
    pub(crate) async fn wait_until_quiet(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut quiet_looks = 0;
        while quiet_looks < 3 {
            quiet_looks = if self.quiet().await {
                quiet_looks + 1
            } else {
                0
            };
            assert!(
                tokio::time::Instant::now() < deadline,
                "the shop did not settle within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn quiet(&self) -> bool {
        for spec in events::stream::all_streams(&self.subjects) {
            let Ok(mut stream) = self.js.get_stream(&spec.name).await else {
                return false;
            };
            let Ok(info) = stream.info().await else {
                return false;
            };
            let count = info.state.consumer_count;
            let mut consumers = stream.consumers();
            let mut seen = 0;
            while let Some(consumer) = consumers.next().await {
                let Ok(consumer) = consumer else { return false };
                seen += 1;
                if consumer.num_pending > 0 || consumer.num_ack_pending > 0 {
                    return false;
                }
            }
            if seen < count {
                return false;
            }
        }
        for service in stack::SERVICES {
            match self
                .api
                .call::<_, runtime::StatsSnapshot>(service, "status", &events::api::Empty {})
                .await
            {
                Ok(stats) if stats.outbox_backlog > 0 || stats.pending_timers > 0 => return false,
                _ => {}
            }
        }
        true
    }

    /// Waits until `service` answers and its durable consumer exists on every stream it reads
    /// (a service started as a separate process is not ready the moment it is spawned).
    pub(crate) async fn wait_for_service(&self, service: &str, reads: &[events::Context]) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let answering = self
                .api
                .call::<_, runtime::StatsSnapshot>(service, "status", &events::api::Empty {})
                .await
                .is_ok();
            let mut consuming = true;
            for context in reads {
                let name = events::stream::event_stream(&self.subjects, *context).name;
                let stream = self.js.get_stream(&name).await.expect("stream");
                consuming &= stream.consumer_info(service).await.is_ok();
            }
            if answering && consuming {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{service} did not come up within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every event about one order (its key), from every context stream, oldest first.
    pub(crate) async fn order_events(&self, order_id: &str) -> Vec<(Envelope, String)> {
        let mut found = Vec::new();
        for context in events::Context::ALL {
            let spec = events::stream::event_stream(&self.subjects, context);
            let stream = self.js.get_stream(&spec.name).await.expect("stream");
            let filter = format!("{PREFIX}.{context}.*.{order_id}");
            let consumer = stream
                .create_consumer(OrderedConfig {
                    filter_subject: filter,
                    ..Default::default()
                })
                .await
                .expect("ordered consumer");
            let pending = consumer.cached_info().num_pending;
            let mut messages = consumer.messages().await.expect("messages");
            for _ in 0..pending {
                let message = tokio::time::timeout(Duration::from_secs(5), messages.next())
                    .await
                    .expect("message in time")
                    .expect("stream open")
                    .expect("message");
                let headers = message.headers.clone().unwrap_or_default();
                let envelope =
                    Envelope::from_headers(|name| headers.get(name).map(|value| value.as_str()))
                        .expect("every event has an envelope");
                found.push((envelope, message.subject.to_string()));
            }
        }
        found.sort_by(|(a, _), (b, _)| {
            a.occurred_at
                .cmp(&b.occurred_at)
                .then(a.event_id.cmp(&b.event_id))
        });
        found
    }

    pub(crate) fn store(&self, service: &str) -> &runtime::Store {
        self.stack.store(service).expect("service running")
    }
}

/// Net captures per order from the payments store: captured = 1, refunded = 0 (after a
/// capture), anything else = 0.
pub(crate) fn net_captures(shop: &TestShop) -> HashMap<String, i64> {
    let payments: Vec<payments::store::Payment> = payments::store::PAYMENTS
        .all(shop.store("payments"))
        .expect("payments");
    payments
        .into_iter()
        .map(|payment| {
            let net = i64::from(payment.status == payments::store::PaymentStatus::Captured);
            (payment.order_id, net)
        })
        .collect()
}

/// Per sku: received == available + reserved + sold, from the inventory store.
pub(crate) fn stock_levels(shop: &TestShop) -> BTreeMap<String, inventory::store::Stock> {
    inventory::store::STOCK
        .all(shop.store("inventory"))
        .expect("stock")
        .into_iter()
        .map(|level| (level.sku.clone(), level))
        .collect()
}
