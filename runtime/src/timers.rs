//! The timer loop: moves due timers (set by `decide`, kept in the store) into the outbox,
//! makes that durable and wakes the relay, until shutdown.

use std::sync::Arc;
use std::time::Duration;

use events::Timestamp;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::stats::RuntimeStats;
use crate::store::Store;

/// How often due timers are looked for.
const TIMER_INTERVAL: Duration = Duration::from_millis(100);

/// Fires due timers every [`TIMER_INTERVAL`] until `shutdown`.
pub(crate) async fn run(
    store: Store,
    stats: Arc<RuntimeStats>,
    relay_wakeup: Arc<Notify>,
    shutdown: CancellationToken,
) {
    loop {
        let firing = store.clone();
        let fired = tokio::task::spawn_blocking(move || {
            let fired = firing.fire_due_timers(Timestamp::now());
            (fired, firing.pending_timers())
        })
        .await
        .map(|(fired, pending)| {
            stats.set_pending_timers(pending);
            fired
        });
        match fired {
            Ok(Ok(0)) => {}
            Ok(Ok(count)) => match store.flush().await {
                Ok(()) => {
                    tracing::debug!(count, "timers fired");
                    relay_wakeup.notify_one();
                }
                Err(error) => tracing::warn!(%error, "flush after firing timers failed"),
            },
            Ok(Err(error)) => tracing::warn!(%error, "firing timers failed"),
            Err(error) => tracing::warn!(%error, "timer task failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(TIMER_INTERVAL) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
