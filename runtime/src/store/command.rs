//! An API command in one transaction: the command's `decide` closure reads state and returns
//! the events to publish; each is folded with the service's `evolve`, exactly as live event
//! handling and rebuilds fold it; then `view` reads the result for the reply. The events go
//! into one outbox row with new root envelopes (correlation id = each event's key). A command
//! whose `decide` or `view` fails changes nothing.
//!
//! The closures' error type is the caller's (`E: From<StateError>`, so `?` works on state
//! access). A storage conflict is caught here whatever the closure made of it, and the
//! transaction re-runs: the closures may run more than once, so no side effects in them.

use events::{Envelope, Event, Timestamp};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::outbox::{OutboxRow, Producer, new_outbox_record};
use super::state::{Phase, State, StateError, check_outgoing};
use super::timers::apply_timer_change;
use super::{Command, OUTBOX, Store, StoreError, TIMER_INDEX, TIMERS};

/// Why a command did not commit.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CommandError<E> {
    /// The command refused (bad input, unknown entity, conflict): nothing changed.
    #[error("command rejected")]
    Rejected(E),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Abort<E> = ConflictableTransactionError<CommandError<E>>;

fn abort_store<E>(error: StoreError) -> Abort<E> {
    ConflictableTransactionError::Abort(CommandError::Store(error))
}

/// A root envelope for an event that no other event caused.
fn root_envelope(event: &Event, now: Timestamp, producer: &Producer) -> Envelope {
    Envelope {
        traceparent: Some(events::TraceParent::new_root()),
        ..Envelope::new(event.event_type(), now, &producer.name, event.key())
    }
}

impl Store {
    /// Runs a command (see the module doc). Call [`Store::flush`] before replying. Returns
    /// the reply and the key of the outbox row the command wrote, if it emitted anything.
    pub(crate) fn execute<T, E>(
        &self,
        command: Command<'_>,
        decide: impl Fn(&mut State<'_>) -> Result<Vec<Event>, E>,
        view: impl Fn(&State<'_>, &[Event]) -> Result<T, E>,
    ) -> Result<(T, Option<u64>), CommandError<E>>
    where
        E: From<StateError>,
    {
        let Command {
            handler,
            producer,
            now,
            partition,
            fence,
        } = command;
        let folds = handler.folds();
        let result = self.trees[..].transaction(|views| {
            let mut state = State::new(views, self.tree_set(), Some(partition), now);
            let outcome = decide(&mut state).and_then(|events| {
                let mut envelopes = Vec::with_capacity(events.len());
                for event in &events {
                    let envelope = root_envelope(event, now, producer);
                    if folds.contains(&envelope.event_type) {
                        state.set_phase(Phase::Evolve, now);
                        handler.evolve(&mut state, event, &envelope)?;
                    }
                    envelopes.push(envelope);
                }
                let reply = view(&state, &events)?;
                Ok((events, envelopes, reply))
            });
            if let Some(failure) = state.take_storage_failure() {
                return Err(failure.into());
            }
            let (events, envelopes, reply) =
                outcome.map_err(|error| Abort::Abort(CommandError::Rejected(error)))?;
            if let Some(invalid) = events.iter().find_map(|event| check_outgoing(event).err()) {
                return Err(abort_store(StoreError::InvalidEvent(invalid)));
            }
            let timers = state.commit()?;
            let mut row = OutboxRow {
                records: Vec::with_capacity(events.len()),
            };
            for (envelope, event) in envelopes.iter().zip(&events) {
                let mut record =
                    new_outbox_record(producer, envelope, event).map_err(abort_store)?;
                record.fence = fence;
                row.records.push(record);
            }
            let mut timers_added = 0;
            for change in timers {
                let record = |event: &Event| {
                    let envelope = match envelopes.first() {
                        Some(cause) => {
                            Envelope::caused_by(cause, event.event_type(), now, &producer.name)
                        }
                        None => root_envelope(event, now, producer),
                    };
                    let mut record =
                        new_outbox_record(producer, &envelope, event).map_err(abort_store)?;
                    record.fence = fence;
                    Ok(record)
                };
                timers_added +=
                    apply_timer_change(&views[TIMERS], &views[TIMER_INDEX], change, record)?;
            }
            let mut key = None;
            if !row.records.is_empty() {
                let bytes = row.encode().map_err(abort_store)?;
                let id = views[OUTBOX].generate_id()?;
                views[OUTBOX].insert(&id.to_be_bytes(), bytes)?;
                key = Some(id);
            }
            Ok((reply, row.records.len() as i64, timers_added, key))
        });
        let (reply, outbox, timers, key) = result.map_err(|error| match error {
            TransactionError::Abort(error) => error,
            TransactionError::Storage(error) => CommandError::Store(StoreError::Sled(error)),
        })?;
        self.count(outbox, timers);
        self.outbox_written(key);
        Ok((reply, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{THINGS, store};

    #[derive(Debug, PartialEq)]
    struct Refused;

    impl From<StateError> for Refused {
        fn from(_: StateError) -> Self {
            Refused
        }
    }

    #[test]
    fn a_refused_command_changes_nothing() {
        let (store, producer) = store();
        let result: Result<((), Option<u64>), _> = store.execute(
            crate::store::test_support::command(&producer),
            |state| {
                state.schedule("t", Timestamp::UNIX_EPOCH, events::samples::order_placed())?;
                // folded into `things` by the test service's evolve, then the view refuses
                Ok(vec![events::samples::sample(
                    events::EventType::StockReserved,
                )])
            },
            |_, _| Err(Refused),
        );
        assert!(matches!(result, Err(CommandError::Rejected(Refused))));
        assert!(store.tree(THINGS).unwrap().is_empty());
        assert_eq!(store.pending_timers(), 0);
        assert_eq!(store.outbox_len(), 0);
    }

    #[test]
    fn a_command_cannot_write_folded_trees_directly() {
        let (store, producer) = store();
        let result: Result<((), Option<u64>), CommandError<StateError>> = store.execute(
            crate::store::test_support::command(&producer),
            |state| {
                state.insert(THINGS, b"k", b"v".to_vec())?;
                Ok(vec![])
            },
            |_, _| Ok(()),
        );
        assert!(
            matches!(
                result,
                Err(CommandError::Rejected(StateError::ReadOnly { .. }))
            ),
            "{result:?}"
        );
        assert!(store.tree(THINGS).unwrap().is_empty());
    }
}
