//! Connecting to NATS and provisioning JetStream: the client options every service uses, the
//! streams of the contract, and header conversion between the contract and async-nats.
//! [`raw`] and [`reader`] deal with stored messages async-nats cannot read (a header block
//! that does not parse drops or kills the connection it is delivered on); [`supervised`]
//! rebuilds a connection such a core-NATS request killed, with what was served on it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::HeaderMap;
use async_nats::jetstream::{self, stream};
use events::{StreamSpec, Subjects};

use crate::config::RuntimeConfig;

pub mod raw;
pub mod reader;
pub mod supervised;

/// How often the client pings the server: a dead link is noticed within about two intervals
/// (async-nats' default of 60 s takes minutes).
pub const PING_INTERVAL: Duration = Duration::from_secs(5);

/// Connects with reconnects forever, a short ping interval, and connection events logged.
/// Starting before the broker is fine: the first connect is retried too.
pub async fn connect(config: &RuntimeConfig, name: &str) -> anyhow::Result<async_nats::Client> {
    let mut options = async_nats::ConnectOptions::new()
        .name(name)
        .ping_interval(PING_INTERVAL)
        .connection_timeout(Duration::from_secs(5))
        .retry_on_initial_connect()
        .max_reconnects(None)
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis((attempts as u64 * 100).min(2_000))
        })
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Connected => tracing::info!("connected to nats"),
                async_nats::Event::Disconnected => {
                    tracing::warn!("disconnected from nats; reconnecting")
                }
                other => tracing::info!(event = %other, "nats event"),
            }
        });
    if let Some(path) = &config.nats_creds {
        options = with_credentials(options, path).await?;
    }
    options = with_tls(options, &Tls::of(config));
    let servers = server_addrs(&config.nats_url)?;
    options
        .connect(servers)
        .await
        .with_context(|| format!("failed to connect to {}", config.nats_url))
}

/// TLS settings of a connection: the CA to trust (TLS is required when one is given) and an
/// optional client certificate.
#[derive(Debug, Clone, Default)]
pub struct Tls {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl Tls {
    pub fn of(config: &RuntimeConfig) -> Tls {
        Tls {
            ca: config.nats_tls_ca.clone(),
            cert: config.nats_tls_cert.clone(),
            key: config.nats_tls_key.clone(),
        }
    }
}

/// `options` with `tls`: with a CA, the connection must be TLS and the broker's certificate
/// must chain to that CA; with a certificate and key, the client presents them.
pub fn with_tls(mut options: async_nats::ConnectOptions, tls: &Tls) -> async_nats::ConnectOptions {
    if let Some(ca) = &tls.ca {
        options = options.add_root_certificates(ca.clone()).require_tls(true);
    }
    if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    options
}

/// Signs in with the file at `path`: an nkey seed (`<identity>.nk`, as `runtime::auth`
/// generates them) or a `.creds` file (JWT and seed). Replies then come to the identity's own
/// inbox prefix, `_INBOX_<identity>` (the broker lets no one else read them), the identity
/// being the file's name without its extension.
pub async fn with_credentials(
    options: async_nats::ConnectOptions,
    path: &std::path::Path,
) -> anyhow::Result<async_nats::ConnectOptions> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read nats credentials {}", path.display()))?;
    let options = if text.trim_start().starts_with("SU") {
        options.nkey(text.trim().to_owned())
    } else {
        options.credentials(&text).with_context(|| {
            format!(
                "{} is neither an nkey seed nor a .creds file",
                path.display()
            )
        })?
    };
    let identity = path.file_stem().and_then(|stem| stem.to_str());
    Ok(match identity.and_then(crate::auth::Identity::named) {
        Some(identity) => options.custom_inbox_prefix(identity.inbox_prefix()),
        None => options,
    })
}

/// A [`reader::Dial`] that opens connections as [`connect`] does, named `name`.
pub fn dial(config: &RuntimeConfig, name: &str) -> reader::Dial {
    let (config, name) = (config.clone(), name.to_owned());
    std::sync::Arc::new(move || {
        let (config, name) = (config.clone(), name.clone());
        Box::pin(async move { connect(&config, &name).await })
    })
}

/// Parses a comma-separated list of server URLs (`nats://a:4222,nats://b:4222`).
pub fn server_addrs(urls: &str) -> anyhow::Result<Vec<async_nats::ServerAddr>> {
    urls.split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(|url| {
            url.parse::<async_nats::ServerAddr>()
                .with_context(|| format!("invalid NATS server URL {url:?}"))
        })
        .collect()
}

/// A JetStream context with the runtime's timeouts.
pub fn jetstream(client: async_nats::Client) -> jetstream::Context {
    jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(5))
        .build(client)
}

/// The JetStream configuration of a contract stream.
pub fn stream_config(spec: &StreamSpec, replicas: usize) -> stream::Config {
    stream::Config {
        name: spec.name.clone(),
        description: Some(spec.description.clone()),
        subjects: spec.subjects.clone(),
        retention: if spec.work_queue {
            stream::RetentionPolicy::WorkQueue
        } else {
            stream::RetentionPolicy::Limits
        },
        storage: stream::StorageType::File,
        duplicate_window: spec.duplicate_window,
        max_age: spec.max_age,
        num_replicas: replicas,
        allow_direct: true,
        ..Default::default()
    }
}

/// Creates or updates every stream of the contract (idempotent; any service may do it).
pub async fn ensure_streams(
    js: &jetstream::Context,
    subjects: &Subjects,
    replicas: usize,
) -> anyhow::Result<()> {
    for spec in events::stream::all_streams(subjects) {
        js.create_or_update_stream(stream_config(&spec, replicas))
            .await
            .with_context(|| format!("failed to create or update stream {}", spec.name))?;
    }
    Ok(())
}

/// Contract headers as an async-nats header map.
pub fn header_map<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(name, value);
    }
    map
}

/// The headers of a stored message, for publishing a copy of it (a forward, a dead letter,
/// a replay): every header but its publish conditions (`Nats-Expected-*`: the claim the
/// original was published under does not hold for a copy) and, unless `keep_msg_id`, its
/// `Nats-Msg-Id`.
pub fn copy_headers(original: Option<&HeaderMap>, keep_msg_id: bool) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, values) in original.iter().flat_map(|headers| headers.iter()) {
        let text: &str = name.as_ref();
        let dropped = events::header::is_condition(text)
            || (!keep_msg_id && text == events::header::NATS_MSG_ID);
        if !dropped {
            for value in values {
                headers.append(name.clone(), value.clone());
            }
        }
    }
    headers
}

/// The first value of a header, if present.
pub fn header<'a>(headers: Option<&'a HeaderMap>, name: &str) -> Option<&'a str> {
    headers?.get(name).map(|value| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_lists_are_split_on_commas() {
        let servers = server_addrs("nats://127.0.0.1:4222, nats://127.0.0.1:4223").unwrap();
        assert_eq!(servers.len(), 2);
        assert!(server_addrs("nats://127.0.0.1:notaport").is_err());
    }

    #[test]
    fn a_copy_keeps_every_header_but_the_conditions() {
        let original = header_map([
            ("Shop-Event-Id", "e1"),
            ("Nats-Msg-Id", "e1"),
            ("Nats-Expected-Last-Subject-Sequence", "7"),
        ]);
        let copy = copy_headers(Some(&original), true);
        assert_eq!(header(Some(&copy), "Shop-Event-Id"), Some("e1"));
        assert_eq!(header(Some(&copy), "Nats-Msg-Id"), Some("e1"));
        assert_eq!(
            header(Some(&copy), "Nats-Expected-Last-Subject-Sequence"),
            None
        );
        let copy = copy_headers(Some(&original), false);
        assert_eq!(header(Some(&copy), "Nats-Msg-Id"), None);
        assert_eq!(header(Some(&copy), "Shop-Event-Id"), Some("e1"));
        assert!(copy_headers(None, true).is_empty());
    }
}
