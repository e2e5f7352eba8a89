//! What a service plugs into the runtime: a [`Handler`] that turns one incoming event and the
//! service's current state into state changes and events to publish.
//!
//! The handler runs inside a sled transaction that sled may re-run on a conflict, so it must
//! be pure: no I/O, no clock reads (use [`Incoming::now`]), no channels, no randomness that
//! matters. Everything it does goes through [`State`], which the runtime commits together with
//! the outbox rows and the inbox mark.

use events::{Envelope, Event, EventType, Timestamp};

use crate::store::{State, StateError};

/// One decoded event handed to a handler.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub envelope: Envelope,
    pub event: Event,
    pub subject: String,
    pub stream_sequence: u64,
    /// The runtime's clock reading for this batch.
    pub now: Timestamp,
}

/// Why a handler did not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The event can never be applied (it contradicts the contract or the service's rules).
    /// It goes to the dead-letter stream with this reason; nothing of it is committed.
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing state failed; storage conflicts re-run the transaction.
    #[error(transparent)]
    State(#[from] StateError),
}

/// A service's event logic.
pub trait Handler: Send + Sync + 'static {
    /// The event types this service consumes. The runtime creates one durable consumer per
    /// stream these types live on, filtered to exactly these types.
    fn consumes(&self) -> Vec<EventType>;

    /// The sled trees the service owns; [`State`] gives access to these only.
    fn trees(&self) -> Vec<&'static str>;

    /// Applies one event: read and write state, return the events to publish. Returning
    /// `Ok(vec![])` acknowledges the event without effects (e.g. a type this service ignores).
    fn handle(&self, state: &mut State<'_>, incoming: &Incoming)
    -> Result<Vec<Event>, HandleError>;

    /// The event types whose facts make up this service's state when its store is rebuilt
    /// from the streams: its own events (the outcomes of its decisions) plus the facts it
    /// copies from others. Empty (the default) means the service cannot be rebuilt.
    fn rebuild_from(&self) -> Vec<EventType> {
        vec![]
    }

    /// Folds one event's facts into state during a rebuild: no decisions, no events, no
    /// timers. Events arrive in causal order across streams.
    fn evolve(&self, _state: &mut State<'_>, _incoming: &Incoming) -> Result<(), HandleError> {
        Ok(())
    }

    /// The trees a rebuild restores (the default: all); state that no event records (a cart,
    /// say) is left out and starts empty.
    fn rebuilt_trees(&self) -> Vec<&'static str> {
        self.trees()
    }
}
