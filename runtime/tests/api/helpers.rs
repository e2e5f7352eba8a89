//! What only the runtime's tests need on top of `testkit`: the example service (in this
//! process, or as its binary where it must be killed), the `orders.placed` events it consumes,
//! and its store read back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use events::orders::{OrderLine, OrderPlaced};
use events::partition::Partitions;
use events::{Context, Event};
use runtime::example::{APPLIED, APPLIED_TREE, Example};
use runtime::ownership::{LeaseTiming, Owners};
use runtime::{Application, RuntimeConfig, Store};
use testkit::{ChildProcess, TestBed};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Where the example service stands on a test bed.
pub(crate) trait ExampleBed {
    /// The data directory it runs with (in the bed's scratch directory).
    fn data_dir(&self) -> PathBuf;
    /// Its store: `<data dir>/example`.
    fn store_dir(&self) -> PathBuf {
        self.data_dir().join("example")
    }
    /// Its runtime settings against the bed.
    fn config(&self) -> RuntimeConfig;
    /// The stream it consumes (orders) and the one it publishes to (inventory).
    fn input_stream(&self) -> String;
    fn output_stream(&self) -> String;
}

impl ExampleBed for TestBed {
    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("example-data")
    }

    fn config(&self) -> RuntimeConfig {
        self.runtime_config(&self.data_dir())
    }

    fn input_stream(&self) -> String {
        self.stream(Context::Orders)
    }

    fn output_stream(&self) -> String {
        self.stream(Context::Inventory)
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

/// The example service running in this process.
pub(crate) struct RunningApp {
    pub(crate) store: Store,
    pub(crate) shutdown: CancellationToken,
    pub(crate) task: JoinHandle<anyhow::Result<()>>,
}

/// Provisions the example's durable consumer (as `shopctl provision` would), then starts it.
pub(crate) async fn spawn_app(config: RuntimeConfig) -> RunningApp {
    runtime::provision::provision::<Example>(&config)
        .await
        .expect("provision");
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

/// Starts the example service binary against the test bed, after its `--provision` run.
pub(crate) fn spawn_process(bed: &TestBed, extra_env: &[(&str, &str)]) -> ChildProcess {
    let binary = Path::new(env!("CARGO_BIN_EXE_runtime-example"));
    // once per broker: a restart after a kill must not wait for another provisioning run
    static PROVISIONED: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut provisioned_ports = PROVISIONED.lock().unwrap_or_else(|p| p.into_inner());
    if provisioned_ports.contains(&bed.server.port()) {
        return bed.service_process(binary, &bed.data_dir(), extra_env);
    }
    provisioned_ports.push(bed.server.port());
    drop(provisioned_ports);
    let provisioned = std::process::Command::new(binary)
        .arg("--provision")
        .env("NATS_URL", bed.url())
        .env("SHOP_PREFIX", bed.prefix())
        .env("SHOP_DATA_DIR", bed.data_dir())
        .env("SHOP_ACK_WAIT_MS", "1000")
        .envs(extra_env.iter().copied())
        .status()
        .expect("run --provision");
    assert!(provisioned.success(), "provisioning the example failed");
    bed.service_process(binary, &bed.data_dir(), extra_env)
}

/// The example's durable consumer has been delivered at least `delivered` stream messages
/// and has nothing pending or waiting for an ack.
pub(crate) async fn consumer_idle(bed: &TestBed, delivered: u64) -> bool {
    testkit::streams::consumer_idle(&bed.js, &bed.input_stream(), "example", delivered).await
}

/// (orders in the store, total applications): equal and N when every event applied exactly once.
pub(crate) fn applications(store: &Store) -> (usize, u64) {
    let applied = APPLIED_TREE.entries(store).expect("read applied");
    (applied.len(), applied.iter().map(|(_, count)| count).sum())
}

/// Opens a store that no process holds any more.
pub(crate) fn open_store(path: &Path) -> Store {
    Store::open(path, 16 * 1024 * 1024, &[APPLIED]).expect("open store")
}

/// One instance's view of `service`'s leases on the bed (`home`: the context its claims are
/// recorded in, `None` for a service with no stream of its own), with the default partitions.
pub(crate) async fn owners(
    bed: &TestBed,
    service: &str,
    home: Option<Context>,
    instance: &str,
    timing: LeaseTiming,
) -> Owners {
    Owners::open(
        bed.js.clone(),
        bed.subjects.clone(),
        service,
        home,
        Partitions::default(),
        instance,
        timing,
    )
    .await
    .expect("open the lease bucket")
}

/// Who holds each partition, as the lease bucket says.
pub(crate) async fn holders(bed: &TestBed) -> BTreeMap<u16, String> {
    let observer = owners(bed, "example", None, "observer", LeaseTiming::default()).await;
    observer
        .holders()
        .await
        .expect("holders")
        .into_iter()
        .filter_map(|(partition, holder)| Some((partition.index(), holder?.instance)))
        .collect()
}

/// The orders an instance's store applied, with how often.
pub(crate) fn applied(store: &runtime::Store) -> BTreeMap<String, u64> {
    APPLIED_TREE
        .entries(store)
        .expect("read applied")
        .into_iter()
        .collect()
}

/// An instance of the example that shares its partitions, with a short lease (1.5 s).
pub(crate) fn scale_out_instance(bed: &TestBed, instance: &str) -> RuntimeConfig {
    RuntimeConfig {
        instance: Some(instance.to_owned()),
        scale_out: true,
        lease_ms: 1_500,
        ..bed.config()
    }
}

/// The partitions each instance holds, as the lease bucket says.
pub(crate) async fn held_by(bed: &TestBed) -> BTreeMap<String, Vec<u16>> {
    let mut by_instance: BTreeMap<String, Vec<u16>> = BTreeMap::new();
    for (partition, instance) in holders(bed).await {
        by_instance.entry(instance).or_default().push(partition);
    }
    by_instance
}

/// Two instances of the example sharing its partitions, `example-1` and `example-2`, once
/// they hold six each.
pub(crate) async fn two_instances(bed: &TestBed) -> (RunningApp, RunningApp) {
    let first = spawn_app(scale_out_instance(bed, "example-1")).await;
    let second = spawn_app(scale_out_instance(bed, "example-2")).await;
    until_split_six_six(bed).await;
    (first, second)
}

/// Waits until two instances hold six partitions each.
pub(crate) async fn until_split_six_six(bed: &TestBed) {
    testkit::wait::until(
        "the partitions split six and six",
        std::time::Duration::from_secs(30),
        || async {
            held_by(bed)
                .await
                .values()
                .map(Vec::len)
                .collect::<Vec<_>>()
                == [6, 6]
        },
    )
    .await;
}
