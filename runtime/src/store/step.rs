//! What an API command runs with (see `command`).

use events::Timestamp;
use events::partition::Partition;

use super::outbox::{Producer, RecordFence};
use crate::handler::Handler;

/// Who runs a command, when, and for which partition.
pub(crate) struct Command<'c> {
    pub(crate) handler: &'c dyn Handler,
    pub(crate) producer: &'c Producer,
    pub(crate) now: Timestamp,
    pub(crate) partition: Partition,
    /// The claim its events (and the timers it arms) are fenced on, when the partition is
    /// shared with other instances.
    pub(crate) fence: Option<RecordFence>,
}
