//! `shopctl up` as a process of its own (its own secured broker, a scratch data directory),
//! and shopctl run against it as a user in another terminal would (`NATS_URL` and
//! `SHOP_DATA_DIR` exported).

use std::process::{Command, Output, Stdio};

use testkit::ChildProcess;

use crate::helpers::{stderr, stdout};

pub(crate) struct Up {
    pub(crate) process: ChildProcess,
    data_dir: std::path::PathBuf,
    url: String,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Up {
    pub(crate) fn start() -> Up {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("data");
        let port = testkit::free_port();
        let log = dir.path().join("up.log");
        let file = std::fs::File::create(&log).expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_shopctl"));
        command
            .args(["up", "--nats-port", &port.to_string(), "--data-dir"])
            .arg(&data_dir)
            .env_remove("NATS_URL")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdout(Stdio::from(file.try_clone().expect("log")))
            .stderr(Stdio::from(file));
        Up {
            process: ChildProcess::spawn(&mut command),
            data_dir,
            url: format!("nats://127.0.0.1:{port}"),
            log,
            _dir: dir,
        }
    }

    pub(crate) async fn shopctl(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_shopctl"));
        command
            .args(args)
            .env("NATS_URL", &self.url)
            .env("SHOP_DATA_DIR", &self.data_dir)
            .env("NO_COLOR", "1");
        tokio::task::spawn_blocking(move || command.output().expect("run shopctl"))
            .await
            .expect("join")
    }

    pub(crate) async fn ok(&self, args: &[&str]) -> String {
        let output = self.shopctl(args).await;
        assert!(
            output.status.success(),
            "{args:?}: {}\n{}",
            stderr(&output),
            self.log()
        );
        stdout(&output)
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) async fn state_of(&self, service: &str) -> String {
        let status = self.ok(&["service", "status", "--json"]).await;
        let status: serde_json::Value = serde_json::from_str(&status).expect("JSON");
        status[service].as_str().unwrap_or_default().to_owned()
    }

    /// The pid of this shop's process of `service`.
    pub(crate) fn pid_of(&self, service: &str) -> Option<String> {
        pid_of(service, &self.data_dir)
    }
}

/// The pid of the `shop-<service>` process `up` runs on `data_dir` (its SHOP_DATA_DIR).
pub(crate) fn pid_of(service: &str, data_dir: &std::path::Path) -> Option<String> {
    let pids = Command::new("pgrep")
        .args(["-f", &format!("shop-{service}")])
        .output()
        .expect("pgrep");
    let ours = format!("SHOP_DATA_DIR={}\0", data_dir.display());
    String::from_utf8_lossy(&pids.stdout)
        .lines()
        .map(str::to_owned)
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| String::from_utf8_lossy(&env).contains(&ours))
                .unwrap_or(false)
        })
}
