//! Messages the consumer can never be delivered: a header block async-nats cannot parse drops
//! the connection it arrives on, or kills it (see `nats::raw`), before the consume loop sees
//! the message, and JetStream delivers it again after every ack wait. So each consume loop
//! pulls on a connection of its own, and whenever that connection came back (or replaces one
//! that ended) the consumer's unacknowledged messages are read raw: the unreadable ones are
//! dead-lettered with the reason, their readable headers and their payload, and terminated by
//! their sequence.
//!
//! A look may dead-letter a message a second time (when the connection that died took the
//! acks of the messages before it along): the copy is dropped as a duplicate by its
//! `Nats-Msg-Id`, though the `dead_letters` counter counts it again.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context as _;

use super::{ConsumeContext, ConsumerSpec, Pulled};
use crate::nats::raw;

/// At most this many unacknowledged messages are read raw per look.
const LOOK_BUDGET: usize = 10_000;

/// Tells when the consumer's connection reconnected since the last successful look.
#[derive(Debug)]
pub(super) struct Reconnects {
    statistics: Arc<async_nats::Statistics>,
    /// The connect count at the last look (`None`: look at once).
    looked_at: Option<u64>,
}

impl Reconnects {
    /// For a new connection: looks at once if it replaces one that ended, else from its
    /// first reconnect on (its first connect counts one).
    pub(super) fn new(client: &async_nats::Client, look_at_once: bool) -> Self {
        Reconnects {
            statistics: client.statistics(),
            looked_at: (!look_at_once).then_some(1),
        }
    }

    fn connects(&self) -> u64 {
        self.statistics.connects.load(Ordering::Relaxed)
    }

    /// Whether there may be an unreadable message to look for: not looked yet, or the
    /// connection came back since.
    pub(super) fn due(&self) -> bool {
        let connects = self.connects();
        // 0: the first connect is still under way (`retry_on_initial_connect`)
        connects > 0 && self.looked_at != Some(connects)
    }
}

impl ConsumeContext {
    /// Dead-letters the consumer's unacknowledged messages that async-nats cannot read, if
    /// its connection came back since the last look; a failed look is tried again next time.
    pub(super) async fn dead_letter_unreadable(
        &self,
        spec: &ConsumerSpec,
        reconnects: &mut Reconnects,
    ) {
        if !reconnects.due() {
            return;
        }
        let connects = reconnects.connects();
        match self.look_for_unreadable(spec).await {
            Ok(()) => reconnects.looked_at = Some(connects),
            Err(error) => {
                tracing::warn!(stream = %spec.stream, error = %format!("{error:#}"), "failed to look for unreadable messages; trying again")
            }
        }
    }

    async fn look_for_unreadable(&self, spec: &ConsumerSpec) -> anyhow::Result<()> {
        let durable = &self.producer.name;
        let stream = self.js.get_stream(&spec.stream).await?;
        let info = stream
            .consumer_info(durable)
            .await
            .context("failed to read the consumer's state")?;
        let range = (
            info.ack_floor.stream_sequence + 1,
            info.delivered.stream_sequence,
        );
        if info.num_ack_pending == 0 || range.0 > range.1 {
            return Ok(());
        }
        let found = raw::unreadable_between(
            &self.js,
            &spec.stream,
            &spec.filter_subjects,
            range,
            LOOK_BUDGET,
        )
        .await?;
        for (stored, reason) in found {
            let pulled = Pulled {
                message: stored.as_delivered(&self.js, durable),
                stream_sequence: stored.sequence,
                // the runtime never received it; JetStream delivered it at least once
                deliveries: 1,
            };
            self.dead_letter(&pulled, &spec.stream, &reason).await;
        }
        Ok(())
    }
}
