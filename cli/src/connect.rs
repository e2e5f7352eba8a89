//! Connecting for client commands: signed in as the command's identity (see identity.rs),
//! failing fast (a few seconds) when no broker answers.

use std::time::Duration;

use anyhow::Context as _;
use events::Subjects;
use runtime::ApiClient;

use crate::Global;

/// How long a command waits for the broker before it gives up.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A connected API client for the shop named by `--prefix`.
pub(crate) async fn api(global: &Global) -> anyhow::Result<ApiClient> {
    let subjects = Subjects::new(&global.prefix).map_err(|error| anyhow::anyhow!("{error}"))?;
    let url = global.url();
    let servers = runtime::nats::server_addrs(&url)?;
    let refusals = runtime::Refusals::default();
    let recorder = refusals.clone();
    let options = async_nats::ConnectOptions::new()
        .name("shopctl")
        .connection_timeout(CONNECT_TIMEOUT)
        .max_reconnects(Some(1))
        .event_callback(move |event| {
            let recorder = recorder.clone();
            async move {
                if let async_nats::Event::ServerError(error) = event {
                    recorder.record(&error.to_string());
                }
            }
        });
    let connecting = signed_in(global, options).await?.connect(servers);
    let client = tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), connecting)
        .await
        .map_err(|_| anyhow::anyhow!("cannot reach NATS at {url}: timed out{HINT}"))?
        .map_err(|error| unreachable(&url, &error))?;
    Ok(ApiClient::new(client, subjects).with_refusals(refusals))
}

/// What to do about a broker that does not answer.
const HINT: &str = " (is the shop running? start it with `shopctl up`, or give --nats-url)";

/// The connection error said once, with the hint when nothing listens there.
fn unreachable(url: &str, error: &async_nats::ConnectError) -> anyhow::Error {
    use std::error::Error as _;
    let mut cause = error.source();
    let mut refused = false;
    while let Some(inner) = cause {
        if let Some(io) = inner.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        cause = inner.source();
    }
    let text = error.to_string();
    if refused || text.contains("Connection refused") {
        anyhow::anyhow!("cannot reach NATS at {url}: connection refused{HINT}")
    } else {
        anyhow::anyhow!("cannot reach NATS at {url}: {text}")
    }
}

/// Refuses a TLS file that cannot be read before connecting, naming it.
fn readable(what: &str, path: Option<&std::path::Path>) -> anyhow::Result<()> {
    if let Some(path) = path {
        std::fs::File::open(path)
            .with_context(|| format!("cannot open {what} {}", path.display()))?;
    }
    Ok(())
}

/// `options` signed in as the command's identity ([`Global::credentials`]), over TLS when
/// configured ([`Global::tls`]); replies come to that identity's inbox prefix.
pub(crate) async fn signed_in(
    global: &Global,
    options: async_nats::ConnectOptions,
) -> anyhow::Result<async_nats::ConnectOptions> {
    let tls = global.tls();
    readable("the TLS CA file", tls.ca.as_deref())?;
    readable("the TLS certificate", tls.cert.as_deref())?;
    readable("the TLS key", tls.key.as_deref())?;
    let options = runtime::nats::with_tls(options, &tls);
    let Some(path) = global.credentials() else {
        return Ok(options);
    };
    let options = runtime::nats::with_credentials(options, &path).await?;
    let named = path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .and_then(runtime::auth::Identity::named);
    Ok(match named {
        Some(_) => options,
        None => options.custom_inbox_prefix(global.identity.inbox_prefix()),
    })
}
