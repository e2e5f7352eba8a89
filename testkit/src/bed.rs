//! A test bed: one real broker with the contract's streams, a client and its JetStream
//! context, the subjects of one prefix, and a scratch directory for stores, all dropped with
//! the test. [`TestShop`](crate::TestShop) runs the shop on one; the runtime's tests run the
//! example service on one.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use async_nats::jetstream;
use events::Subjects;
use runtime::auth::Identity;
use runtime::{ApiClient, RuntimeConfig};

use crate::process::ChildProcess;
use crate::server::NatsServer;
use crate::tls::TlsFiles;

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
    /// The admin's connection (on an open bed: a connection without credentials).
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub subjects: Subjects,
    pub dir: tempfile::TempDir,
    /// The identities' seed files, when the broker checks them.
    auth_dir: Option<PathBuf>,
    /// The certificates, when the broker accepts TLS only.
    tls: Option<TlsFiles>,
}

impl TestBed {
    /// A fresh open broker (no authentication) with the streams of [`PREFIX`]: the runtime's
    /// own tests, whose example service is not one of the shop's identities.
    pub async fn start() -> TestBed {
        Self::start_with_prefix(PREFIX).await
    }

    /// A fresh open broker with the streams of `prefix`.
    pub async fn start_with_prefix(prefix: &str) -> TestBed {
        Self::start_bed(prefix, false, false).await
    }

    /// A fresh broker as `shopctl up` runs it: every identity of the shop under `prefix` has
    /// a generated nkey, and the broker enforces each one's permissions. The bed's own client
    /// is the admin.
    pub async fn start_secured(prefix: &str) -> TestBed {
        Self::start_bed(prefix, true, false).await
    }

    /// Like [`TestBed::start_secured`], and the broker accepts TLS connections only (its
    /// certificate signed by a CA made for the test: [`TestBed::tls`]).
    pub async fn start_secured_tls(prefix: &str) -> TestBed {
        Self::start_bed(prefix, true, true).await
    }

    async fn start_bed(prefix: &str, secured: bool, tls: bool) -> TestBed {
        let dir = tempfile::tempdir().expect("temp dir");
        let subjects = Subjects::new(prefix).expect("prefix");
        let auth_dir = secured.then(|| runtime::auth::auth_dir(dir.path()));
        let tls = tls.then(|| crate::tls::generate(&dir.path().join("tls")));
        let mut config = String::new();
        if let Some(auth_dir) = &auth_dir {
            let authorization = runtime::auth::generate(auth_dir, &subjects).expect("auth");
            // nats-server resolves `include` relative to its own configuration: inline it
            config.push_str(&std::fs::read_to_string(&authorization).expect("authorization"));
        }
        if let Some(tls) = &tls {
            config.push_str(&tls.server_config());
        }
        let server = NatsServer::start_with_config(&config);
        let admin = auth_dir
            .as_ref()
            .map(|auth_dir| runtime::auth::seed_file(auth_dir, Identity::Admin));
        let client_tls = client_tls(tls.as_ref());
        if let Some(seed) = &admin {
            crate::streams::register_reader_credentials(server.port(), seed, &client_tls);
        }
        let client = connect(
            &server.url(),
            admin.as_deref(),
            Identity::Admin,
            &client_tls,
        )
        .await;
        let js = jetstream::new(client.clone());
        runtime::nats::ensure_streams(&js, &subjects, 1)
            .await
            .expect("streams");
        TestBed {
            server,
            client,
            js,
            subjects,
            dir,
            auth_dir,
            tls,
        }
    }

    /// The test CA and the broker's certificate, on a TLS bed.
    pub fn tls(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// The seed file of `identity`, on a secured bed.
    pub fn credentials(&self, identity: Identity) -> Option<PathBuf> {
        let auth_dir = self.auth_dir.as_ref()?;
        Some(runtime::auth::seed_file(auth_dir, identity))
    }

    /// The directory of the identities' seeds, on a secured bed.
    pub fn auth_dir(&self) -> Option<&Path> {
        self.auth_dir.as_deref()
    }

    /// A new connection as `identity` (its seed and its inbox prefix; on an open bed, no
    /// credentials).
    pub async fn connect_as(&self, identity: Identity) -> async_nats::Client {
        let tls = client_tls(self.tls.as_ref());
        connect(
            &self.url(),
            self.credentials(identity).as_deref(),
            identity,
            &tls,
        )
        .await
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

    /// Settings for a service on this bed whose store is `<data_dir>/<service>`.
    pub fn runtime_config(&self, data_dir: &Path) -> RuntimeConfig {
        let mut config =
            RuntimeConfig::for_tests(&self.url(), data_dir.to_path_buf(), self.prefix());
        config.ack_wait_ms = ACK_WAIT_MS;
        config
    }

    /// Starts a service binary against this bed with its store in `<data_dir>/<service>`, for
    /// a test that kills it; `extra_env` adds or overrides variables. Open beds only: on a
    /// secured one, sign it in with [`TestBed::process_env`].
    pub fn service_process(
        &self,
        binary: &Path,
        data_dir: &Path,
        extra_env: &[(&str, &str)],
    ) -> ChildProcess {
        let env = self.process_env(data_dir, None, extra_env);
        ChildProcess::spawn(Command::new(binary).envs(env))
    }

    /// The environment of a service process on this bed: broker, store, prefix, a short ack
    /// wait, warnings only, the credentials file given (none: no `NATS_CREDS`), then
    /// `extra_env`.
    pub fn process_env(
        &self,
        data_dir: &Path,
        credentials: Option<&Path>,
        extra_env: &[(&str, &str)],
    ) -> Vec<(String, String)> {
        let mut env = vec![
            ("NATS_URL".to_owned(), self.url()),
            ("SHOP_DATA_DIR".to_owned(), data_dir.display().to_string()),
            ("SHOP_PREFIX".to_owned(), self.prefix().to_owned()),
            ("SHOP_ACK_WAIT_MS".to_owned(), "1000".to_owned()),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ];
        if let Some(credentials) = credentials {
            env.push(("NATS_CREDS".to_owned(), credentials.display().to_string()));
        }
        env.extend(
            extra_env
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
        );
        env
    }
}

/// Connects to `url` as `identity` with its seed (none: no credentials); reconnects on its own
/// when a test kills and restarts the broker.
async fn connect(
    url: &str,
    seed: Option<&Path>,
    identity: Identity,
    tls: &runtime::nats::Tls,
) -> async_nats::Client {
    let options = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .custom_inbox_prefix(identity.inbox_prefix());
    let mut options = runtime::nats::with_tls(options, tls);
    if let Some(seed) = seed {
        let key = runtime::auth::load_seed(seed).expect("seed");
        options = options.nkey(key.seed().expect("seed"));
    }
    options.connect(url).await.expect("connect test client")
}

/// What a client needs to trust a TLS bed's broker.
fn client_tls(tls: Option<&TlsFiles>) -> runtime::nats::Tls {
    runtime::nats::Tls {
        ca: tls.map(|tls| tls.ca.clone()),
        ..Default::default()
    }
}
