//! What the runtime hands a service and gets back: an [`Incoming`] event, a [`HandleError`]
//! when the service refuses it (with nothing applied, or with the events it decides about
//! the refusal), and [`Handler`], the object-safe face of a
//! [`Service`](crate::service::Service) that the consume loop, API commands and rebuilds call.
//! Every service implements `Service`; `Handler` comes with it (see `service.rs`).

use events::partition::{Partition, Partitions};
use events::{Envelope, Event, EventType, Timestamp};

use crate::history::{History, Recorded};
use crate::store::state::{State, StateError, TreeSet};
use crate::store::{Store, StoreError};

/// One decoded event handed to a service.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub envelope: Envelope,
    pub event: Event,
    pub subject: String,
    pub stream_sequence: u64,
    /// The runtime's clock reading for this batch.
    pub now: Timestamp,
    /// The stored events with the same key that the service asked for
    /// ([`Service::HISTORY`](crate::Service::HISTORY)), oldest first; empty for other types.
    pub history: Vec<Recorded>,
    /// The partition this event is handled for, and the claim of the lease it is handled
    /// under (what its outgoing events are fenced on); `None` for reference data every
    /// instance keeps ([`Route::Everywhere`]).
    pub partition: Option<(Partition, u64)>,
}

/// Which partitions of a service's state an event is about (docs/scaling.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'e> {
    /// The partition of this key (by default the subject's key, [`Event::key`]).
    Key(&'e str),
    /// Reference data: every instance applies it, whatever it owns.
    Everywhere,
}

impl Route<'_> {
    /// The partitions the event goes to: one, or all of them.
    pub fn partitions(&self, partitions: Partitions) -> Vec<Partition> {
        match self {
            Route::Key(key) => vec![partitions.of(key)],
            Route::Everywhere => partitions.all().collect(),
        }
    }
}

/// A timer a service's state waits on: `event` is published at `at` under the name `key`
/// (the name `State::schedule` gives it), unless it is moved or cancelled first.
#[derive(Debug, Clone, PartialEq)]
pub struct Timer {
    pub key: String,
    pub at: Timestamp,
    pub event: Event,
}

/// Why a service did not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The event can never be applied (it contradicts the contract or the service's rules).
    /// It goes to the dead-letter stream with this reason; nothing of it is committed.
    #[error("{0}")]
    Invalid(String),
    /// The event is refused, and `events` are what the service decides because of that (the
    /// order saga parks the order a reply does not match). The step commits as an accepted
    /// one does (its events, timers and state) with the event's inbox mark, which keeps the
    /// reason; then the event goes to the dead-letter stream with it. A redelivery (the copy
    /// could not be stored, say) is dead-lettered again from the mark, never decided again.
    #[error("{reason}")]
    Refused { reason: String, events: Vec<Event> },
    /// Reading or writing state failed; storage conflicts re-run the transaction.
    #[error(transparent)]
    State(#[from] StateError),
}

/// A service as the runtime drives it (see `Service` for what each method means).
pub(crate) trait Handler: Send + Sync + 'static {
    fn trees(&self) -> &'static [&'static str];
    fn local_trees(&self) -> &'static [&'static str];
    fn shared_trees(&self) -> &'static [&'static str] {
        &[]
    }
    fn scales_out(&self) -> bool {
        true
    }
    fn consumes(&self) -> &'static [EventType];
    fn folds(&self) -> &'static [EventType];
    fn history(&self) -> History {
        History::NONE
    }
    fn route<'e>(&self, event: &'e Event) -> Route<'e> {
        Route::Key(event.key())
    }
    fn decide(&self, state: &mut State<'_>, incoming: &Incoming)
    -> Result<Vec<Event>, HandleError>;
    fn evolve(
        &self,
        state: &mut State<'_>,
        event: &Event,
        envelope: &Envelope,
    ) -> Result<(), StateError>;
    fn timers(
        &self,
        store: &Store,
        partition: Partition,
        now: Timestamp,
    ) -> Result<Vec<Timer>, StoreError> {
        let _ = (store, partition, now);
        Ok(Vec::new())
    }

    /// The service's trees in a deployment of `partitions`: kept per partition when it
    /// scales out, whole when it does not.
    fn tree_set(&self, partitions: Partitions) -> TreeSet<'static> {
        TreeSet {
            names: self.trees(),
            local: self.local_trees(),
            shared: self.shared_trees(),
            partitions: self.scales_out().then_some(partitions),
        }
    }
}
