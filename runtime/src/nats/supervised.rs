//! A connection that is watched and rebuilt when it dies, for what a service serves to the
//! outside world (its API and `$SRV`): anyone who may publish to those subjects can send a
//! core-NATS request whose header block async-nats cannot read (see [`raw`](super::raw)).
//! One that is not UTF-8 or has a line without a colon makes the client drop the connection,
//! and async-nats reconnects and subscribes again by itself; a value with a carriage return
//! panics the connection's task, and then nothing on that connection is ever heard again.
//!
//! So the [`Serve`] implementation sets up its subscriptions on a connection of its own, and a
//! watchdog rebuilds connection and subscriptions as soon as the connection is seen dead:
//!
//! - one of its subscriptions ended (the task that fed them is gone: the panic, at once);
//! - a flush fails (commands can no longer reach that task);
//! - a flush (a `PING` to the broker and its `PONG`) takes longer than [`PROBE_TIMEOUT`]
//!   [`PROBE_FAILURES`] times in a row while async-nats says the connection is up.
//!
//! While async-nats is reconnecting (the broker is away, or it dropped the connection on a bad
//! block) the watchdog waits: a new connection would wait for the same broker.
//!
//! The probe is the connection's own round trip to the broker rather than a request through
//! what is served (a `$SRV.PING` to this very instance): a service's identity may not publish
//! on `$SRV` subjects (`runtime::auth`), and what is served cannot go deaf on a live
//! connection without one of its subscriptions ending, which the first rule sees.

use std::future::Future;
use std::time::Duration;

use async_nats::connection::State;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::reader::Dial;

/// How often the watchdog flushes the connection.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// How long a flush may take before it counts as failed.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Flushes in a row that time out, while connected, that make the connection dead.
pub const PROBE_FAILURES: u32 = 2;

/// How long to wait before trying again when setting up on a new connection failed.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// What is served on a supervised connection, set up again on every new connection.
pub trait Serve: Send + Sync + 'static {
    /// What one set-up leaves running (stopped when its connection is replaced).
    type Served: Send + 'static;

    /// Subscribes on `client` and starts serving; cancels `ended` when one of the
    /// subscriptions ends.
    fn serve(
        &self,
        client: &async_nats::Client,
        ended: CancellationToken,
    ) -> impl Future<Output = anyhow::Result<Self::Served>> + Send;

    /// Stops serving (no new requests are taken).
    fn stop(&self, served: Self::Served) -> impl Future<Output = ()> + Send;
}

/// The running watchdog of one supervised connection.
#[derive(Debug)]
pub struct Supervisor {
    stop: CancellationToken,
    task: JoinHandle<Option<async_nats::Client>>,
}

/// Dials a connection named `name` with `dial`, sets `serve` up on it (and flushes, so the
/// broker has its subscriptions when this returns), then watches it on a task of its own.
pub async fn start<S: Serve>(name: &str, dial: Dial, serve: S) -> anyhow::Result<Supervisor> {
    let (client, served, ended) = set_up(&dial, &serve).await?;
    let watched = Watched {
        name: name.to_owned(),
        dial,
        serve,
    };
    let stop = CancellationToken::new();
    let task = tokio::spawn(watched.run(client, served, ended, stop.clone()));
    Ok(Supervisor { stop, task })
}

impl Supervisor {
    /// Stops serving and the watchdog; returns the connection, for the caller to drain once
    /// the requests in flight are answered (`None` if there was none at that moment).
    pub async fn stop(self) -> Option<async_nats::Client> {
        self.stop.cancel();
        self.task.await.ok().flatten()
    }
}

struct Watched<S> {
    name: String,
    dial: Dial,
    serve: S,
}

impl<S: Serve> Watched<S> {
    async fn run(
        self,
        mut client: async_nats::Client,
        mut served: S::Served,
        mut ended: CancellationToken,
        stop: CancellationToken,
    ) -> Option<async_nats::Client> {
        loop {
            let reason = tokio::select! {
                biased;
                _ = stop.cancelled() => {
                    self.serve.stop(served).await;
                    return Some(client);
                }
                reason = Self::until_dead(&client, &ended) => reason,
            };
            tracing::warn!(connection = %self.name, %reason, "connection dead; rebuilding it and what it serves");
            self.serve.stop(served).await;
            let _ = client.drain().await;
            (client, served, ended) = tokio::select! {
                biased;
                _ = stop.cancelled() => return None,
                rebuilt = self.rebuild() => rebuilt,
            };
            tracing::info!(connection = %self.name, "connection rebuilt");
        }
    }

    /// Resolves with the reason once the connection is dead.
    async fn until_dead(client: &async_nats::Client, ended: &CancellationToken) -> String {
        let mut timeouts = 0;
        loop {
            tokio::select! {
                _ = ended.cancelled() => {
                    return "a subscription ended: the connection's task is gone".to_owned();
                }
                _ = tokio::time::sleep(PROBE_INTERVAL) => {}
            }
            match tokio::time::timeout(PROBE_TIMEOUT, client.flush()).await {
                Ok(Ok(())) => timeouts = 0,
                Ok(Err(error)) => return format!("a flush failed: {error}"),
                // reconnecting by itself: a new connection would wait for the same broker
                Err(_) if client.connection_state() != State::Connected => timeouts = 0,
                Err(_) => {
                    timeouts += 1;
                    if timeouts >= PROBE_FAILURES {
                        return format!(
                            "{timeouts} flushes in a row took longer than {PROBE_TIMEOUT:?}"
                        );
                    }
                }
            }
        }
    }

    /// A new connection with everything set up on it, retried until it works.
    async fn rebuild(&self) -> (async_nats::Client, S::Served, CancellationToken) {
        loop {
            match set_up(&self.dial, &self.serve).await {
                Ok(rebuilt) => return rebuilt,
                Err(error) => {
                    tracing::warn!(connection = %self.name, error = %format!("{error:#}"), "failed to rebuild the connection; trying again");
                    tokio::time::sleep(RETRY_DELAY).await;
                }
            }
        }
    }
}

async fn set_up<S: Serve>(
    dial: &Dial,
    serve: &S,
) -> anyhow::Result<(async_nats::Client, S::Served, CancellationToken)> {
    let client = dial().await?;
    let ended = CancellationToken::new();
    let served = serve.serve(&client, ended.clone()).await?;
    if let Err(error) = client.flush().await {
        serve.stop(served).await;
        anyhow::bail!("failed to flush the subscriptions: {error}");
    }
    Ok((client, served, ended))
}
