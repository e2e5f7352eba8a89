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
        .map_err(|_| anyhow::anyhow!("cannot reach NATS at {url}: timed out"))?
        .with_context(|| format!("cannot reach NATS at {url}"))?;
    Ok(ApiClient::new(client, subjects).with_refusals(refusals))
}

/// `options` signed in as the command's identity ([`Global::credentials`]), over TLS when
/// configured ([`Global::tls`]); replies come to that identity's inbox prefix.
pub(crate) async fn signed_in(
    global: &Global,
    options: async_nats::ConnectOptions,
) -> anyhow::Result<async_nats::ConnectOptions> {
    let options = runtime::nats::with_tls(options, &global.tls());
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
