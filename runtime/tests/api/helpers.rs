//! Shared test plumbing: a real nats-server per test, publishing order events, reading streams
//! back, running the example service in-process or as a child process, and reading its store.

use std::collections::HashSet;
use std::future::IntoFuture;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull::OrderedConfig};
use events::orders::{OrderLine, OrderPlaced};
use events::{Envelope, Event, EventType, Subjects, Timestamp, codec, header};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use runtime::example::{APPLIED, Example};
use runtime::{Application, RuntimeConfig, Store};
use testkit::{ChildProcess, NatsServer};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub(crate) const PREFIX: &str = "test";

/// A broker, a client and a scratch directory for one test.
pub(crate) struct TestBed {
    pub(crate) server: NatsServer,
    pub(crate) js: jetstream::Context,
    pub(crate) subjects: Subjects,
    pub(crate) dir: tempfile::TempDir,
}

impl TestBed {
    pub(crate) async fn start() -> TestBed {
        let server = NatsServer::start();
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect(server.url())
            .await
            .expect("connect test client");
        let js = jetstream::new(client);
        let subjects = Subjects::new(PREFIX).expect("prefix");
        runtime::nats::ensure_streams(&js, &subjects, 1)
            .await
            .expect("streams");
        TestBed {
            server,
            js,
            subjects,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub(crate) fn store_dir(&self) -> PathBuf {
        self.dir.path().join("example-store")
    }

    pub(crate) fn config(&self) -> RuntimeConfig {
        let mut config = RuntimeConfig::for_tests(&self.server.url(), self.store_dir(), PREFIX);
        config.ack_wait_ms = 2_000;
        config
    }

    pub(crate) fn input_stream(&self) -> String {
        events::stream::event_stream(&self.subjects, events::Context::Orders).name
    }

    pub(crate) fn output_stream(&self) -> String {
        events::stream::event_stream(&self.subjects, events::Context::Inventory).name
    }

    pub(crate) fn dead_letter_stream(&self) -> String {
        events::stream::dead_letter_stream(&self.subjects).name
    }
}

/// A valid `orders.placed` for order number `n`.
pub(crate) fn order(n: usize) -> Event {
    let line = OrderLine {
        sku: format!("SKU-{}", n % 7),
        quantity: 1,
        unit_price_minor: 250,
        line_total_minor: 250,
    };
    OrderPlaced {
        order_id: format!("order-{n}"),
        customer_id: "cust-1".into(),
        lines: vec![line],
        total_minor: 250,
        currency: "EUR".into(),
    }
    .into()
}

/// An event ready to publish: subject, headers (with `Nats-Msg-Id`), payload.
#[derive(Clone)]
pub(crate) struct Outgoing {
    pub(crate) subject: String,
    pub(crate) headers: async_nats::HeaderMap,
    pub(crate) payload: bytes::Bytes,
}

pub(crate) fn outgoing(subjects: &Subjects, event: &Event) -> Outgoing {
    let envelope = Envelope::new(event.event_type(), Timestamp::now(), "test", event.key());
    let headers = runtime::nats::header_map(
        envelope
            .to_headers()
            .iter()
            .map(|(name, value)| (*name, value.as_str())),
    );
    Outgoing {
        subject: subjects.for_event(event).expect("subject"),
        headers,
        payload: codec::encode(event).expect("encode").into(),
    }
}

/// Publishes every message through JetStream, many acks in flight, retrying failures with the
/// same headers (so the same `Nats-Msg-Id`) until each is stored.
pub(crate) async fn publish_all(js: &jetstream::Context, messages: &[Outgoing]) {
    for chunk in messages.chunks(500) {
        let mut remaining: Vec<&Outgoing> = chunk.iter().collect();
        for _attempt in 0..200 {
            let mut acks = FuturesUnordered::new();
            for message in &remaining {
                let publish = js.publish_with_headers(
                    message.subject.clone(),
                    message.headers.clone(),
                    message.payload.clone(),
                );
                let message = *message;
                acks.push(async move {
                    match publish.await {
                        Ok(ack) => ack.into_future().await.map(|_| ()).map_err(|_| message),
                        Err(_) => Err(message),
                    }
                });
            }
            let mut failed = Vec::new();
            while let Some(result) = acks.next().await {
                if let Err(message) = result {
                    failed.push(message);
                }
            }
            if failed.is_empty() {
                break;
            }
            remaining = failed;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Number of messages in a stream.
pub(crate) async fn message_count(js: &jetstream::Context, stream: &str) -> u64 {
    match js.get_stream(stream).await {
        Ok(mut stream) => stream
            .info()
            .await
            .map(|info| info.state.messages)
            .unwrap_or(0),
        Err(_) => 0,
    }
}

/// Every message of a stream, as (headers, payload).
pub(crate) async fn read_stream(
    js: &jetstream::Context,
    stream: &str,
) -> Vec<(async_nats::HeaderMap, bytes::Bytes)> {
    let expected = message_count(js, stream).await as usize;
    let mut out = Vec::with_capacity(expected);
    if expected == 0 {
        return out;
    }
    let stream = js.get_stream(stream).await.expect("stream");
    let consumer = stream
        .create_consumer(OrderedConfig::default())
        .await
        .expect("ordered consumer");
    let mut messages = consumer.messages().await.expect("messages");
    while out.len() < expected {
        let next = tokio::time::timeout(Duration::from_secs(10), messages.next()).await;
        match next {
            Ok(Some(Ok(message))) => out.push((
                message.headers.clone().unwrap_or_default(),
                message.payload.clone(),
            )),
            other => panic!(
                "reading stream stopped early after {} of {expected}: {:?}",
                out.len(),
                other.is_ok()
            ),
        }
    }
    out
}

/// The distinct event ids in a stream.
pub(crate) async fn distinct_event_ids(js: &jetstream::Context, stream: &str) -> HashSet<String> {
    read_stream(js, stream)
        .await
        .iter()
        .filter_map(|(headers, _)| {
            headers
                .get(header::EVENT_ID)
                .map(|value| value.as_str().to_owned())
        })
        .collect()
}

/// Waits until `condition` holds, checking every 50 ms; panics with `what` after `timeout`.
pub(crate) async fn eventually<F, Fut>(timeout: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The example service running in this process.
pub(crate) struct RunningApp {
    pub(crate) store: Store,
    pub(crate) shutdown: CancellationToken,
    pub(crate) task: JoinHandle<anyhow::Result<()>>,
}

pub(crate) async fn spawn_app(config: RuntimeConfig) -> RunningApp {
    let app = Application::build::<Example>(config, Default::default())
        .await
        .expect("build app");
    let store = app.store().clone();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    RunningApp {
        store,
        shutdown,
        task,
    }
}

impl RunningApp {
    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        self.task
            .await
            .expect("app task")
            .expect("app stopped cleanly");
    }
}

/// (orders in the store, total applications): equal and N when every event applied exactly once.
pub(crate) fn applications(store: &Store) -> (usize, u64) {
    let tree = store.tree(APPLIED).expect("applied tree");
    let mut orders = 0;
    let mut total = 0;
    for entry in tree.iter() {
        let (_, value) = entry.expect("read applied");
        total += codec::from_bytes::<u64>(&value).expect("count");
        orders += 1;
    }
    (orders, total)
}

/// Opens a store that no process holds any more.
pub(crate) fn open_store(path: &Path) -> Store {
    Store::open(path, 16 * 1024 * 1024, &[APPLIED]).expect("open store")
}

/// Starts the example service binary against the test bed.
pub(crate) fn spawn_process(bed: &TestBed, extra_env: &[(&str, &str)]) -> ChildProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_runtime-example"));
    command
        .env("NATS_URL", bed.server.url())
        .env("SHOP_DATA_DIR", bed.store_dir())
        .env("SHOP_PREFIX", PREFIX)
        .env("SHOP_ACK_WAIT_MS", "1000")
        .env("RUST_LOG", "warn");
    for (name, value) in extra_env {
        command.env(name, value);
    }
    ChildProcess::spawn(&mut command)
}

/// Whether an event type's `Shop-Event-Type` header equals `event_type`.
pub(crate) fn is_type(headers: &async_nats::HeaderMap, event_type: EventType) -> bool {
    headers.get(header::EVENT_TYPE).map(|value| value.as_str()) == Some(event_type.as_str())
}

/// The example's durable consumer has been delivered at least `delivered` stream messages
/// and has nothing pending or waiting for an ack.
pub(crate) async fn consumer_idle(bed: &TestBed, delivered: u64) -> bool {
    let Ok(stream) = bed.js.get_stream(bed.input_stream()).await else {
        return false;
    };
    match stream.consumer_info("example").await {
        Ok(info) => {
            info.num_pending == 0
                && info.num_ack_pending == 0
                && info.delivered.stream_sequence >= delivered
        }
        Err(_) => false,
    }
}
