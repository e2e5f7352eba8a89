//! Inbox pruning: applied event ids older than the retention are forgotten now and then, so
//! the inbox stays bounded. A redelivery older than the retention is no longer recognised;
//! JetStream's own duplicate window and the retention (days) make that moot in practice.

use std::time::Duration;

use events::Timestamp;
use tokio_util::sync::CancellationToken;

use crate::store::Store;

/// How often applied event ids older than the retention are forgotten.
const PRUNE_INTERVAL: Duration = Duration::from_secs(600);

/// Prunes every [`PRUNE_INTERVAL`] until `shutdown`.
pub(crate) async fn prune(store: Store, retention: Duration, shutdown: CancellationToken) {
    loop {
        let cutoff = Timestamp::now().plus_millis(-(retention.as_millis() as i64));
        let pruning = store.clone();
        match tokio::task::spawn_blocking(move || pruning.prune_inbox(cutoff)).await {
            Ok(Ok(removed)) if removed > 0 => tracing::info!(removed, "pruned inbox"),
            Ok(Err(error)) => tracing::warn!(%error, "inbox pruning failed"),
            _ => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(PRUNE_INTERVAL) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
