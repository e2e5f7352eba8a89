//! Runs the shop as processes: the pinned nats-server (unless an external broker is given)
//! and one process per service, each line of output prefixed with the service's name. A
//! service that exits on its own is reported loudly and restarted with a growing backoff.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

mod console;
pub(crate) mod control;
mod service;

pub(crate) use console::Console;

use std::sync::Arc;

use anyhow::Context as _;
use runtime::auth::Identity;
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Every service, in start order.
pub(crate) const SERVICES: [&str; 6] = service_names();

/// One service per context of the contract (its stream, its subjects, its binary
/// `shop-<name>`): the names are written once, in `events::Context`.
const fn service_names() -> [&'static str; 6] {
    let mut names = [""; 6];
    let mut index = 0;
    while index < names.len() {
        names[index] = events::Context::ALL[index].as_str();
        index += 1;
    }
    names
}

/// What to run and where.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Start this broker, or use `nats_url` as it is.
    pub(crate) broker: Option<BrokerPlan>,
    pub(crate) nats_url: String,
    pub(crate) prefix: String,
    pub(crate) data_dir: PathBuf,
    /// Where the `shop-<service>` binaries are.
    pub(crate) bin_dir: PathBuf,
    /// Extra environment per service.
    pub(crate) env: BTreeMap<&'static str, Vec<(String, String)>>,
    /// The identities' seeds (`runtime::auth`) when the broker checks them: each service
    /// signs in as itself, provisioning as the admin.
    pub(crate) auth_dir: Option<PathBuf>,
    /// What every service and provisioning connect with.
    pub(crate) tls: runtime::nats::Tls,
    /// The services' `RUST_LOG`.
    pub(crate) log_filter: String,
    /// How many instances of a service to run when more than one (`up --scale`).
    pub(crate) instances: BTreeMap<&'static str, u16>,
}

impl Plan {
    /// The environment that carries `tls` to a service process.
    pub(crate) fn tls_env(&self) -> Vec<(String, String)> {
        crate::provision::tls_env(&self.tls)
    }

    /// The instances of `service` to run: the service itself, then `<service>-2`, … when it
    /// is scaled out.
    pub(crate) fn instances_of(&self, service: &'static str) -> Vec<Instance> {
        let count = self.instances.get(service).copied().unwrap_or(1);
        (1..=count)
            .map(|n| Instance {
                service,
                name: match n {
                    1 => service.to_owned(),
                    n => format!("{service}-{n}"),
                },
                scale_out: count > 1,
            })
            .collect()
    }

    fn credentials(&self, identity: Identity) -> Option<PathBuf> {
        let auth_dir = self.auth_dir.as_ref()?;
        Some(runtime::auth::seed_file(auth_dir, identity))
    }
}

/// One process of a service.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub(crate) service: &'static str,
    /// Its instance id: the service's name, or `<service>-<n>`.
    pub(crate) name: String,
    /// It shares the service's partitions with the other instances.
    pub(crate) scale_out: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct BrokerPlan {
    pub(crate) binary: PathBuf,
    pub(crate) port: u16,
    /// The users and permissions to include (`None`: an open broker).
    pub(crate) authorization: Option<PathBuf>,
    /// The broker's certificate and key: TLS connections only.
    pub(crate) tls: Option<(PathBuf, PathBuf)>,
    /// JetStream fsyncs every write before acknowledging it (`sync_interval: always`)
    /// instead of every 2 minutes (see docs/performance.md).
    pub(crate) strict: bool,
}

/// Where `shopctl` finds nats-server when none is named (`--nats-server-bin`,
/// `NATS_SERVER_BIN`): the pinned one `scripts/nats-server.sh` installs into `.tools/nats/bin`
/// (of the working directory, or of the checkout these binaries were built in), else PATH.
pub(crate) fn find_nats_server() -> PathBuf {
    let pinned = Path::new(".tools/nats/bin/nats-server");
    let checkout = std::env::current_exe().ok().and_then(|exe| {
        // <checkout>/target/<profile>/shopctl
        let root = exe.parent()?.parent()?.parent()?;
        Some(root.join(".tools/nats/bin/nats-server"))
    });
    [Some(pinned.to_path_buf()), checkout]
        .into_iter()
        .flatten()
        .find(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from("nats-server"))
}

/// Why the broker did not start, with how to install it when it is not there.
fn cannot_start(binary: &Path, error: &std::io::Error) -> anyhow::Error {
    if error.kind() == std::io::ErrorKind::NotFound {
        anyhow::anyhow!(
            "cannot start nats-server: {} not found. Install the pinned one with \
             `scripts/nats-server.sh` (from the checkout; it prints its path), or point \
             NATS_SERVER_BIN or --nats-server-bin at one",
            binary.display()
        )
    } else {
        anyhow::anyhow!("cannot start {}: {error}", binary.display())
    }
}

/// The running shop.
#[derive(Debug)]
pub(crate) struct Supervisor {
    broker: Option<Child>,
    tasks: Vec<JoinHandle<()>>,
    controls: Controls,
    stop: watch::Sender<bool>,
    console: Console,
    /// Held while the shop runs: a second `up` on the same data directory is refused.
    _lock: control::DataDirLock,
    control: control::Server,
}

impl Supervisor {
    pub(crate) async fn start(plan: Plan, console: Console) -> anyhow::Result<Supervisor> {
        std::fs::create_dir_all(&plan.data_dir)
            .with_context(|| format!("cannot create data directory {}", plan.data_dir.display()))?;
        let lock = control::DataDirLock::take(&plan.data_dir)?;
        let broker = match &plan.broker {
            Some(broker) => Some(start_broker(broker, &plan.data_dir, console).await?),
            None => None,
        };
        for service in SERVICES {
            let binary = service_binary(&plan.bin_dir, service);
            anyhow::ensure!(
                binary.is_file(),
                "{} not found: build the services first (cargo build --release --workspace)",
                binary.display()
            );
        }
        let admin = plan.credentials(Identity::Admin);
        crate::provision::provision_all(
            &plan.bin_dir,
            &plan.nats_url,
            &plan.prefix,
            admin.as_deref(),
            &plan.tls_env(),
        )
        .await?;
        let (stop, _) = watch::channel(false);
        let mut controls = BTreeMap::new();
        let mut tasks = Vec::new();
        let instances = SERVICES
            .into_iter()
            .flat_map(|service| plan.instances_of(service));
        for instance in instances {
            let running = Arc::new(watch::channel(true).0);
            let (alive, alive_now) = watch::channel(None);
            let name = instance.name.clone();
            tasks.push(tokio::spawn(service::keep_running(
                instance,
                plan.clone(),
                service::Signals {
                    running: running.subscribe(),
                    switch: running.clone(),
                    stop: stop.subscribe(),
                    alive,
                },
                console,
            )));
            controls.insert(
                name,
                Control {
                    running,
                    alive: alive_now,
                },
            );
        }
        let controls = Controls(Arc::new(controls));
        let control = control::Server::start(&plan.data_dir, controls.clone(), console)?;
        Ok(Supervisor {
            broker,
            tasks,
            controls,
            stop,
            console,
            _lock: lock,
            control,
        })
    }

    /// Waits until every service answers its health check (`timeout` at most); the names of
    /// those that do not.
    pub(crate) async fn wait_healthy(
        &self,
        global: &crate::Global,
        timeout: Duration,
    ) -> Vec<&'static str> {
        let deadline = Instant::now() + timeout;
        let mut waiting: Vec<&'static str> = SERVICES.to_vec();
        let mut global = global.clone();
        global.identity = Identity::Operator;
        while !waiting.is_empty() && Instant::now() < deadline {
            if let Ok(api) = crate::connect::api(&global).await {
                let api = api.with_timeout(Duration::from_millis(500));
                let mut still = Vec::new();
                for service in waiting {
                    let answer = api
                        .call::<_, serde_json::Value>(service, "status", &events::api::Empty {})
                        .await;
                    if answer.is_err() {
                        still.push(service);
                    }
                }
                waiting = still;
            }
            if !waiting.is_empty() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        waiting
    }

    /// The process ids of the broker (when it started one) and of every running instance.
    pub(crate) fn pids(&self) -> Vec<(String, u32)> {
        let broker = self
            .broker
            .as_ref()
            .and_then(Child::id)
            .map(|pid| ("nats-server".to_owned(), pid));
        let services = self.controls.pids().into_iter();
        broker
            .into_iter()
            .chain(services.filter_map(|(name, pid)| Some((name, pid?))))
            .collect()
    }

    /// Stops one service on purpose (no restart until [`Supervisor::resume`]).
    pub(crate) fn pause(&self, service: &str) {
        self.controls.set(service, false);
    }

    pub(crate) fn resume(&self, service: &str) {
        self.controls.set(service, true);
    }

    /// SIGTERM to every service, then the broker; waits for them.
    pub(crate) async fn stop(mut self) {
        self.control.stop();
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
        if let Some(mut broker) = self.broker.take() {
            service::terminate(&mut broker, Duration::from_secs(10)).await;
            self.console.line("nats", "stopped");
        }
    }
}

/// What `up` can do to each service while it runs: stop or start it, and see whether its
/// process is alive.
#[derive(Debug, Clone)]
pub(crate) struct Controls(Arc<BTreeMap<String, Control>>);

#[derive(Debug)]
struct Control {
    /// Whether the service should run (`false`: stopped on request).
    running: Arc<watch::Sender<bool>>,
    /// Its process's id while it is alive.
    alive: watch::Receiver<Option<u32>>,
}

impl Controls {
    fn set(&self, service: &str, run: bool) {
        if let Some(control) = self.0.get(service) {
            control.running.send_replace(run);
        }
    }

    /// Stops or starts `service` (an instance's name) and waits (up to 20 s) until its
    /// process is gone or there.
    pub(crate) async fn apply(&self, service: &str, run: bool) -> anyhow::Result<()> {
        let control = self.0.get(service).ok_or_else(|| {
            let names: Vec<&str> = self.0.keys().map(String::as_str).collect();
            anyhow::anyhow!(
                "unknown service {service:?} (this shop runs {})",
                names.join(", ")
            )
        })?;
        control.running.send_replace(run);
        let mut alive = control.alive.clone();
        let reached = tokio::time::timeout(
            Duration::from_secs(20),
            alive.wait_for(|pid| pid.is_some() == run),
        )
        .await;
        anyhow::ensure!(
            matches!(reached, Ok(Ok(_))),
            "{service} did not {} within 20 s",
            if run { "start" } else { "stop" }
        );
        Ok(())
    }

    /// Each instance and whether its process is alive.
    pub(crate) fn states(&self) -> Vec<(String, bool)> {
        self.pids()
            .into_iter()
            .map(|(name, pid)| (name, pid.is_some()))
            .collect()
    }

    /// Each instance and its process's id while it is alive.
    pub(crate) fn pids(&self) -> Vec<(String, Option<u32>)> {
        self.0
            .iter()
            .map(|(name, control)| (name.clone(), *control.alive.borrow()))
            .collect()
    }
}

fn service_binary(bin_dir: &Path, service: &str) -> PathBuf {
    bin_dir.join(format!("shop-{service}"))
}

pub(crate) async fn start_broker(
    plan: &BrokerPlan,
    data_dir: &Path,
    console: Console,
) -> anyhow::Result<Child> {
    if TcpStream::connect(("127.0.0.1", plan.port)).is_ok() {
        anyhow::bail!(
            "port {} is in use: is a broker already running? To use it, pass --nats-url nats://127.0.0.1:{}",
            plan.port,
            plan.port
        );
    }
    let store = data_dir.join("nats");
    std::fs::create_dir_all(&store)?;
    let log = store.join("server.log");
    let config = store.join("nats-server.conf");
    let sync = if plan.strict {
        "  sync_interval: always\n"
    } else {
        ""
    };
    let mut text = format!(
        "# Written by shopctl up at every start.\nlisten: 127.0.0.1:{}\njetstream {{\n  store_dir: {:?}\n{sync}}}\n",
        plan.port,
        store.join("jetstream")
    );
    if let Some(authorization) = &plan.authorization {
        // inlined: nats-server resolves an `include` relative to this file, never absolutely
        let users = std::fs::read_to_string(authorization)
            .with_context(|| format!("cannot read {}", authorization.display()))?;
        text.push_str(&users);
    }
    if let Some((cert, key)) = &plan.tls {
        text.push_str(&format!(
            "tls {{\n  cert_file: {cert:?}\n  key_file: {key:?}\n}}\n"
        ));
    }
    std::fs::write(&config, text).with_context(|| format!("cannot write {}", config.display()))?;
    let child = Command::new(&plan.binary)
        .arg("-c")
        .arg(&config)
        .arg("-l")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| cannot_start(&plan.binary, &error))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", plan.port)).is_err() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "nats-server did not start; see {}",
            log.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    console.line(
        "nats",
        &format!(
            "nats-server with JetStream on nats://127.0.0.1:{} (log: {})",
            plan.port,
            log.display()
        ),
    );
    Ok(child)
}
