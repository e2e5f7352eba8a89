//! Configuration shared by every service, from flags or environment variables
//! (`--help` lists both). Services flatten [`RuntimeConfig`] into their own clap parser.

use std::path::PathBuf;
use std::time::Duration;

use events::Subjects;
use events::partition::Partitions;

use crate::ownership::LeaseTiming;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Settings every service has.
#[derive(Debug, Clone, clap::Args)]
pub struct RuntimeConfig {
    /// NATS server URL(s), comma-separated.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,

    /// NATS credentials: an nkey seed file named after the identity (`<data-dir>/auth/orders.nk`,
    /// as `shopctl up` generates them) or a `.creds` file (JWT + seed).
    #[arg(long, env = "NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,

    /// Connect over TLS, trusting the CA certificate(s) in this PEM file.
    #[arg(long, env = "NATS_TLS_CA")]
    pub nats_tls_ca: Option<PathBuf>,

    /// A client certificate (PEM) for brokers that verify clients (with --nats-tls-key).
    #[arg(long, env = "NATS_TLS_CERT", requires = "nats_tls_key")]
    pub nats_tls_cert: Option<PathBuf>,

    /// The client certificate's private key (PEM).
    #[arg(long, env = "NATS_TLS_KEY", requires = "nats_tls_cert")]
    pub nats_tls_key: Option<PathBuf>,

    /// The shop's data directory: this service's sled store is `<data-dir>/<service>` (the
    /// same meaning as shopctl's --data-dir) [default: ./data].
    #[arg(long, env = "SHOP_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// This instance's id, unique among the instances of its service (1-64 letters, digits,
    /// `-`, `_`): its store is `<data-dir>/<instance>`, and the other instances see it by this
    /// name [default: the service's name].
    #[arg(long, env = "SHOP_INSTANCE", value_parser = parse_instance)]
    pub instance: Option<String>,

    /// Partitions of each service's state: the same for every instance of every service of a
    /// deployment (docs/scaling.md).
    #[arg(long, env = "SHOP_PARTITIONS", default_value_t = Partitions::default(), value_parser = parse_partitions)]
    pub partitions: Partitions,

    /// Share this service's partitions with its other instances through the broker (leases,
    /// forwarding, fencing: docs/scaling.md). Off, the instance holds every partition itself,
    /// as the only instance must until taking a partition over rebuilds its state.
    #[arg(long, env = "SHOP_SCALE_OUT")]
    pub scale_out: bool,

    /// How long a partition's lease lasts without renewal, in milliseconds: an instance that
    /// dies is taken over after about this long (renewed every third of it).
    #[arg(long, env = "SHOP_LEASE_MS", default_value_t = 6_000, value_parser = clap::value_parser!(u64).range(600..=600_000))]
    pub lease_ms: u64,

    /// Subject prefix: isolates shops, tenants and test runs on one broker.
    #[arg(long, env = "SHOP_PREFIX", default_value = "shop", value_parser = parse_prefix)]
    pub prefix: Subjects,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Messages pulled and committed together (one sled transaction and one flush per batch).
    #[arg(long, env = "SHOP_BATCH_SIZE", default_value_t = 256, value_parser = clap::value_parser!(u16).range(1..=2048))]
    pub batch_size: u16,

    /// How long JetStream waits for an ack before redelivering, in milliseconds.
    #[arg(long, env = "SHOP_ACK_WAIT_MS", default_value_t = 10_000)]
    pub ack_wait_ms: u64,

    /// Failed attempts at one message before it is copied to the dead-letter stream.
    #[arg(long, env = "SHOP_MAX_DELIVER", default_value_t = 10, value_parser = clap::value_parser!(i64).range(2..=1000))]
    pub max_deliver: i64,

    /// sled page cache, in MiB (sled's own default is 1 GiB per process).
    #[arg(long, env = "SHOP_CACHE_MB", default_value_t = 64)]
    pub cache_mb: u64,

    /// How long applied event ids are remembered to drop redeliveries, in hours.
    #[arg(long, env = "SHOP_INBOX_RETENTION_HOURS", default_value_t = 168)]
    pub inbox_retention_hours: u64,

    /// Largest payload the decoder accepts, in bytes; larger ones are dead-lettered.
    #[arg(long, env = "SHOP_MAX_PAYLOAD_BYTES", default_value_t = events::codec::DEFAULT_MAX_PAYLOAD_BYTES)]
    pub max_payload_bytes: usize,

    /// Replicas of each stream this service creates (3 on a cluster).
    #[arg(long, env = "SHOP_STREAM_REPLICAS", default_value_t = 1)]
    pub stream_replicas: usize,

    /// API requests handled at once, over all endpoints; more are answered 503 at once
    /// (`status` and `$SRV` are not counted).
    #[arg(long, env = "SHOP_API_MAX_IN_FLIGHT", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub api_max_in_flight: u32,

    /// Rebuild this (stopped) service's store from the streams into a fresh directory, swap it
    /// in, report, and exit.
    #[arg(long)]
    pub rebuild: bool,

    /// Create or update the streams and this service's durable consumers, and exit (needs
    /// the admin's credentials on a broker that checks them; `shopctl provision` runs it).
    #[arg(long, conflicts_with = "rebuild")]
    pub provision: bool,

    /// Extra latency before each batch is handled, in milliseconds (demos and timeout tests).
    #[arg(long, env = "SHOP_PROCESSING_DELAY_MS", default_value_t = 0)]
    pub processing_delay_ms: u64,

    /// Failpoint for tests: after committing and flushing, nak instead of ack the first
    /// delivery of every message whose stream sequence is a multiple of N (0 = off). The
    /// redelivery must be dropped by the inbox.
    #[arg(
        long,
        env = "SHOP_FAILPOINT_REDELIVER_EVERY",
        default_value_t = 0,
        hide = true
    )]
    pub failpoint_redeliver_every: u64,

    /// Failpoint for tests: every batch after the first N fails as if the disk were full
    /// (0 = off). The service must exit non-zero, not nak for ever.
    #[arg(
        long,
        env = "SHOP_FAILPOINT_STORAGE_FULL_AFTER",
        default_value_t = 0,
        hide = true
    )]
    pub failpoint_storage_full_after: u64,

    /// Failpoint for tests: while this file exists, handling an event of one of the
    /// `--failpoint-unavailable-types` fails as if something the service needs were down (a
    /// failed attempt: nak'ed with backoff, dead-lettered after `max_deliver`).
    #[arg(long, env = "SHOP_FAILPOINT_UNAVAILABLE_WHILE", hide = true)]
    pub failpoint_unavailable_while: Option<PathBuf>,

    /// The event types (`orders.capture_requested`, comma-separated) the file above fails.
    #[arg(
        long,
        env = "SHOP_FAILPOINT_UNAVAILABLE_TYPES",
        value_delimiter = ',',
        hide = true
    )]
    pub failpoint_unavailable_types: Vec<events::EventType>,
}

fn parse_instance(text: &str) -> Result<String, String> {
    if crate::ownership::is_instance_id(text) {
        Ok(text.to_owned())
    } else {
        Err("use 1-64 letters, digits, '-' or '_'".to_owned())
    }
}

fn parse_partitions(text: &str) -> Result<Partitions, String> {
    let count: u32 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    Partitions::new(count).map_err(|error| error.to_string())
}

fn parse_prefix(text: &str) -> Result<Subjects, String> {
    Subjects::new(text).map_err(|error| error.to_string())
}

impl RuntimeConfig {
    /// Defaults for tests and embedding: a local broker, the given store directory.
    pub fn for_tests(nats_url: &str, data_dir: PathBuf, prefix: &str) -> Self {
        RuntimeConfig {
            nats_url: nats_url.to_owned(),
            nats_creds: None,
            nats_tls_ca: None,
            nats_tls_cert: None,
            nats_tls_key: None,
            data_dir: Some(data_dir),
            instance: None,
            partitions: Partitions::default(),
            scale_out: false,
            lease_ms: 6_000,
            prefix: Subjects::new(prefix).unwrap_or_default(),
            log_format: LogFormat::Text,
            batch_size: 256,
            ack_wait_ms: 10_000,
            max_deliver: 10,
            cache_mb: 32,
            inbox_retention_hours: 168,
            max_payload_bytes: events::codec::DEFAULT_MAX_PAYLOAD_BYTES,
            stream_replicas: 1,
            api_max_in_flight: 256,
            rebuild: false,
            provision: false,
            processing_delay_ms: 0,
            failpoint_redeliver_every: 0,
            failpoint_storage_full_after: 0,
            failpoint_unavailable_while: None,
            failpoint_unavailable_types: Vec::new(),
        }
    }

    /// This instance's id: `--instance`, or the service's name.
    pub fn instance(&self, service: &str) -> String {
        self.instance.clone().unwrap_or_else(|| service.to_owned())
    }

    /// The store directory of this instance of `service`: `<data-dir>/<instance>`.
    pub fn store_dir(&self, service: &str) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("data"))
            .join(self.instance(service))
    }

    /// The partition leases' timing: `--lease-ms`, renewed every third, given up a sixth early.
    pub fn lease_timing(&self) -> LeaseTiming {
        let ttl = Duration::from_millis(self.lease_ms);
        LeaseTiming {
            ttl,
            renew_every: ttl / 3,
            margin: ttl / 6,
        }
    }

    pub fn ack_wait(&self) -> Duration {
        Duration::from_millis(self.ack_wait_ms)
    }

    pub fn inbox_retention(&self) -> Duration {
        Duration::from_secs(self.inbox_retention_hours * 3600)
    }
}
