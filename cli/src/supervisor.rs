//! Runs the shop as processes: the pinned nats-server (unless an external broker is given)
//! and one process per service, each line of output prefixed with the service's name. A
//! service that exits on its own is reported loudly and restarted with a growing backoff.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use runtime::auth::Identity;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
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
}

impl Plan {
    /// The environment that carries `tls` to a service process.
    pub(crate) fn tls_env(&self) -> Vec<(String, String)> {
        crate::provision::tls_env(&self.tls)
    }

    fn credentials(&self, identity: Identity) -> Option<PathBuf> {
        let auth_dir = self.auth_dir.as_ref()?;
        Some(runtime::auth::seed_file(auth_dir, identity))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct BrokerPlan {
    pub(crate) binary: PathBuf,
    pub(crate) port: u16,
    /// The users and permissions to include (`None`: an open broker).
    pub(crate) authorization: Option<PathBuf>,
    /// The broker's certificate and key: TLS connections only.
    pub(crate) tls: Option<(PathBuf, PathBuf)>,
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

/// Output lines, coloured by source when their stream is a terminal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Console {
    color: bool,
    /// Lines go to stderr (stdout is the command's JSON result).
    stderr: bool,
}

impl Console {
    pub(crate) fn new() -> Self {
        Console {
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            stderr: false,
        }
    }

    /// A console on stderr, for a command whose stdout is its `--json` result.
    pub(crate) fn on_stderr() -> Self {
        Console {
            color: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            stderr: true,
        }
    }

    fn paint(&self, code: u8, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// A line from a service (or from shopctl itself, as `shopctl`).
    pub(crate) fn line(&self, source: &str, text: &str) {
        let code = match source {
            "catalog" => 36,
            "inventory" => 32,
            "orders" => 33,
            "payments" => 35,
            "shipping" => 34,
            "support" => 96,
            "nats" => 90,
            _ => 1,
        };
        let line = format!("{} | {text}", self.paint(code, &format!("{source:>9}")));
        if self.stderr {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }

    /// Something the operator must notice.
    pub(crate) fn alert(&self, text: &str) {
        println!("{}", self.paint(31, &format!("  shopctl | !! {text}")));
    }
}

/// The running shop.
#[derive(Debug)]
pub(crate) struct Supervisor {
    broker: Option<Child>,
    services: BTreeMap<&'static str, Slot>,
    stop: watch::Sender<bool>,
    console: Console,
}

#[derive(Debug)]
struct Slot {
    running: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Supervisor {
    pub(crate) async fn start(plan: Plan, console: Console) -> anyhow::Result<Supervisor> {
        std::fs::create_dir_all(&plan.data_dir)
            .with_context(|| format!("cannot create data directory {}", plan.data_dir.display()))?;
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
        console.line("shopctl", "provisioned the streams and durable consumers");
        let (stop, _) = watch::channel(false);
        let mut services = BTreeMap::new();
        for service in SERVICES {
            let (running, _) = watch::channel(true);
            let task = tokio::spawn(keep_running(
                service,
                plan.clone(),
                running.subscribe(),
                stop.subscribe(),
                console,
            ));
            services.insert(service, Slot { running, task });
        }
        Ok(Supervisor {
            broker,
            services,
            stop,
            console,
        })
    }

    /// Stops one service on purpose (no restart until [`Supervisor::resume`]).
    pub(crate) fn pause(&self, service: &str) {
        if let Some(slot) = self.services.get(service) {
            let _ = slot.running.send(false);
        }
    }

    pub(crate) fn resume(&self, service: &str) {
        if let Some(slot) = self.services.get(service) {
            let _ = slot.running.send(true);
        }
    }

    /// SIGTERM to every service, then the broker; waits for them.
    pub(crate) async fn stop(mut self) {
        let _ = self.stop.send(true);
        for (_, slot) in std::mem::take(&mut self.services) {
            let _ = slot.task.await;
        }
        if let Some(mut broker) = self.broker.take() {
            terminate(&mut broker, Duration::from_secs(10)).await;
            self.console.line("nats", "stopped");
        }
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
    let mut text = format!(
        "# Written by shopctl up at every start.\nlisten: 127.0.0.1:{}\njetstream {{\n  store_dir: {:?}\n}}\n",
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

/// Keeps one service running while it should, restarting it after a crash.
async fn keep_running(
    service: &'static str,
    plan: Plan,
    mut running: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
    console: Console,
) {
    let mut backoff = Duration::from_secs(1);
    loop {
        if *stop.borrow() {
            return;
        }
        if !*running.borrow() {
            tokio::select! {
                _ = running.changed() => continue,
                _ = stop.changed() => return,
            }
        }
        let mut child = match spawn_service(service, &plan, console) {
            Ok(child) => child,
            Err(error) => {
                console.alert(&format!(
                    "{service} failed to start: {error:#}; retrying in {backoff:?}"
                ));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        let started = Instant::now();
        tokio::select! {
            status = child.wait() => {
                if *stop.borrow() {
                    return;
                }
                let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                if started.elapsed() > Duration::from_secs(30) {
                    backoff = Duration::from_secs(1);
                }
                console.alert(&format!("{service} CRASHED ({status}); restarting in {}s", backoff.as_secs()));
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
            _ = running.changed() => {
                console.line("shopctl", &format!("stopping {service} on request"));
                terminate(&mut child, Duration::from_secs(10)).await;
            }
            _ = stop.changed() => {
                terminate(&mut child, Duration::from_secs(10)).await;
                console.line(service, "stopped");
                return;
            }
        }
    }
}

fn spawn_service(service: &str, plan: &Plan, console: Console) -> anyhow::Result<Child> {
    let mut command = Command::new(service_binary(&plan.bin_dir, service));
    command
        .env("NATS_URL", &plan.nats_url)
        .env("SHOP_PREFIX", &plan.prefix)
        .env("SHOP_DATA_DIR", plan.data_dir.join(service))
        .env("NO_COLOR", "1")
        .env_remove("NATS_CREDS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(seed) = Identity::named(service).and_then(|identity| plan.credentials(identity)) {
        command.env("NATS_CREDS", seed);
    }
    command.envs(plan.tls_env());
    for (name, value) in plan.env.get(service).into_iter().flatten() {
        command.env(name, value);
    }
    let mut child = command.spawn()?;
    if let Some(stdout) = child.stdout.take() {
        tokio::spawn(forward(service.to_owned(), stdout, console));
    }
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(forward(service.to_owned(), stderr, console));
    }
    Ok(child)
}

/// Relays a service's output line by line, escaped (a log line may quote an event's text),
/// and past bytes that are not UTF-8.
async fn forward(service: String, stream: impl AsyncRead + Unpin, console: Console) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    while matches!(reader.read_until(b'\n', &mut line).await, Ok(n) if n > 0) {
        console.line(&service, &relayed(&line));
        line.clear();
    }
}

/// One line of a service's output as the console prints it.
fn relayed(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    crate::output::escaped(text.trim_end_matches(['\n', '\r'])).into_owned()
}

/// SIGTERM, then SIGKILL if it does not exit in time.
async fn terminate(child: &mut Child, grace: Duration) {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
    }
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
}

#[cfg(test)]
mod tests {
    use super::relayed;

    #[test]
    fn a_relayed_line_cannot_drive_the_terminal_and_survives_bad_bytes() {
        assert_eq!(
            relayed(b"ticket \x1b]0;owned\x07 opened\r\n"),
            "ticket \\u{1b}]0;owned\\u{7} opened"
        );
        assert_eq!(relayed(b"name \xff\xfe ok\n"), "name \u{fffd}\u{fffd} ok");
    }
}
