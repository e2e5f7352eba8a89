//! A test bed: one real broker with the contract's streams, a client and its JetStream
//! context, the subjects of one prefix, and a scratch directory for stores, all dropped with
//! the test. [`TestShop`](crate::TestShop) runs the shop on one; the runtime's tests run the
//! example service on one.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use async_nats::jetstream;
use events::Subjects;
use runtime::{ApiClient, RuntimeConfig};

use crate::process::ChildProcess;
use crate::server::NatsServer;

/// The prefix a test bed uses unless a suite asks for another.
pub const PREFIX: &str = "test";

/// How long a test's API call waits for its reply (longer than production's 5 s: two test
/// binaries share two cores).
pub const API_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a message is in flight before redelivery in tests (short, so a test sees it).
pub const ACK_WAIT_MS: u64 = 2_000;

/// A broker, a client and a scratch directory for one test.
#[derive(Debug)]
pub struct TestBed {
    pub server: NatsServer,
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub subjects: Subjects,
    pub dir: tempfile::TempDir,
}

impl TestBed {
    /// A fresh broker with the streams of [`PREFIX`].
    pub async fn start() -> TestBed {
        Self::start_with_prefix(PREFIX).await
    }

    /// A fresh broker with the streams of `prefix`.
    pub async fn start_with_prefix(prefix: &str) -> TestBed {
        let server = NatsServer::start();
        // reconnects on its own when a test kills and restarts the broker
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect(server.url())
            .await
            .expect("connect test client");
        let js = jetstream::new(client.clone());
        let subjects = Subjects::new(prefix).expect("prefix");
        runtime::nats::ensure_streams(&js, &subjects, 1)
            .await
            .expect("streams");
        TestBed {
            server,
            client,
            js,
            subjects,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// `nats://127.0.0.1:<port>` of the broker.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn prefix(&self) -> &str {
        self.subjects.prefix()
    }

    /// The name of one context's event stream.
    pub fn stream(&self, context: events::Context) -> String {
        events::stream::event_stream(&self.subjects, context).name
    }

    pub fn dead_letter_stream(&self) -> String {
        events::stream::dead_letter_stream(&self.subjects).name
    }

    /// A client for the services' API on this bed.
    pub fn api(&self) -> ApiClient {
        ApiClient::new(self.client.clone(), self.subjects.clone()).with_timeout(API_TIMEOUT)
    }

    /// Runtime settings for a service on this bed with its store in `store_dir`.
    pub fn runtime_config(&self, store_dir: &Path) -> RuntimeConfig {
        let mut config =
            RuntimeConfig::for_tests(&self.url(), store_dir.to_path_buf(), self.prefix());
        config.ack_wait_ms = ACK_WAIT_MS;
        config
    }

    /// Starts a service binary against this bed with its store in `store_dir`, for a test
    /// that kills it; `extra_env` adds or overrides variables.
    pub fn service_process(
        &self,
        binary: &Path,
        store_dir: &Path,
        extra_env: &[(&str, &str)],
    ) -> ChildProcess {
        let mut command = Command::new(binary);
        command
            .env("NATS_URL", self.url())
            .env("SHOP_DATA_DIR", store_dir)
            .env("SHOP_PREFIX", self.prefix())
            .env("SHOP_ACK_WAIT_MS", "1000")
            .env("RUST_LOG", "warn");
        for (name, value) in extra_env {
            command.env(name, value);
        }
        ChildProcess::spawn(&mut command)
    }
}
