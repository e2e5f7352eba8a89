//! What the consume loop does when things go wrong: failed attempts counted per message
//! (nak with a growing delay, dead-letter after `max_deliver`), dead letters stored before the
//! original is terminated, and storage that keeps failing, which stops the service.

use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream::AckKind;
use tokio_util::sync::CancellationToken;

use super::{ConsumeContext, Pulled, ack};
use crate::dead_letter::{self, DeadLetter};
use crate::store::StoreError;

/// A message delivered this many times `max_deliver` without being applied is dead-lettered
/// without processing it again (the service probably crashes on it).
pub(crate) const CRASH_LOOP_DELIVERIES: i64 = 10;

/// Failed attempts per message (stream, sequence), counted by this process.
pub(crate) type Failures = std::sync::Mutex<std::collections::HashMap<(String, u64), i64>>;

/// Storage failures in a row (each after a nak'ed batch) before the service gives up.
const STORAGE_FAILURES_BEFORE_EXIT: u32 = 5;

/// A failure the service cannot recover from by itself: it stops, and its supervisor (compose,
/// `shopctl up`) restarts it or a person looks.
#[derive(Debug, Default)]
pub(crate) struct Fatal {
    pub(crate) token: CancellationToken,
    pub(crate) reason: std::sync::Mutex<Option<String>>,
}

impl Fatal {
    pub(crate) fn raise(&self, reason: String) {
        let mut slot = self
            .reason
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        slot.get_or_insert(reason);
        self.token.cancel();
    }

    /// Why the service had to stop, if it had to.
    pub(crate) fn reason(&self) -> Option<String> {
        self.reason
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl ConsumeContext {
    /// A storage error sled keeps returning (a full disk, a broken device) will not heal by
    /// retrying: after a few in a row the service stops and exits non-zero, with this log line,
    /// instead of nak-ing everything while it looks healthy.
    pub(crate) fn note_storage_failure(&self, error: &anyhow::Error, reason: &str) {
        let storage = error.chain().any(|cause| {
            matches!(
                cause.downcast_ref::<StoreError>(),
                Some(StoreError::Sled(_))
            )
        });
        if !storage {
            return;
        }
        let in_a_row = self.storage_failures.fetch_add(1, Ordering::Relaxed) + 1;
        if in_a_row >= STORAGE_FAILURES_BEFORE_EXIT {
            let reason = format!(
                "storage failed {in_a_row} times in a row ({reason}); stopping so that the supervisor \
                 restarts the service or a person looks (is the disk full?)"
            );
            tracing::error!(%reason, "giving up");
            self.fatal.raise(reason);
        }
    }

    /// A failed attempt: nak with a growing delay, or dead-letter after `max_deliver` of them.
    pub(crate) async fn retry_or_dead_letter(&self, pulled: &Pulled, stream: &str, reason: &str) {
        let attempts = self.record_failure(stream, pulled);
        if attempts >= self.config.max_deliver {
            let reason = format!("gave up after {attempts} failed attempts: {reason}");
            self.dead_letter(pulled, stream, &reason).await;
        } else {
            let exponent = u32::try_from(attempts.clamp(1, 6) - 1).unwrap_or(0);
            let delay = Duration::from_millis(500 * 2u64.pow(exponent));
            ack(&pulled.message, AckKind::Nak(Some(delay))).await;
        }
    }

    /// Counts a failed attempt at a message; returns how many there were.
    fn record_failure(&self, stream: &str, pulled: &Pulled) -> i64 {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = failures
            .entry((stream.to_owned(), pulled.stream_sequence))
            .or_insert(0);
        *count += 1;
        *count
    }

    pub(crate) fn forget_failures(&self, stream: &str, pulled: &Pulled) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !failures.is_empty() {
            failures.remove(&(stream.to_owned(), pulled.stream_sequence));
        }
    }

    /// Copies the message to the dead-letter stream, then terminates it. If the copy cannot
    /// be stored, the message is nak'ed instead and comes back (deliveries are unlimited), so
    /// it is never dropped.
    pub(crate) async fn dead_letter(&self, pulled: &Pulled, stream: &str, reason: &str) {
        tracing::warn!(subject = %pulled.message.subject, stream, sequence = pulled.stream_sequence, reason, "dead-lettering");
        let letter = DeadLetter {
            service: &self.producer.name,
            message: &pulled.message,
            stream,
            stream_sequence: pulled.stream_sequence,
            deliveries: pulled.deliveries,
            reason,
        };
        match dead_letter::publish(&self.js, &self.producer.subjects, &letter).await {
            Ok(()) => {
                self.stats.record_dead_letter();
                self.forget_failures(stream, pulled);
                ack(&pulled.message, AckKind::Term).await;
            }
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "failed to store dead letter; redelivering");
                ack(&pulled.message, AckKind::Nak(Some(Duration::from_secs(1)))).await;
            }
        }
    }
}
