//! A batch of incoming events in one transaction. For each event: skip it if its id is in
//! the inbox; otherwise fold the event itself (when the service folds its type), `decide`,
//! and fold every event `decide` returned — the same `evolve` a rebuild runs — then stage
//! the inbox mark. The events the batch emits go into one outbox row. Nothing is durable
//! until [`Store::flush`]. An event refused with [`HandleError::Refused`] commits like an
//! applied one, and its mark keeps the reason, so that the consume loop dead-letters it now
//! and again on a redelivery.

use std::panic::{AssertUnwindSafe, catch_unwind};

use events::{Envelope, Event, EventType};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::outbox::{OutboxRecord, OutboxRow, Producer, RecordFence, new_outbox_record};
use super::state::{Phase, State, check_outgoing, inbox_key};
use super::timers::apply_timer_change;
use super::{INBOX, OUTBOX, Store, StoreError, TIMER_INDEX, TIMERS, inbox, transaction_error};
use crate::handler::{HandleError, Handler, Incoming};

/// What happened to one incoming event in a committed batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Applied; `emitted` events were added to the outbox.
    Applied { emitted: usize },
    /// Its event id was already in the inbox: nothing changed.
    Duplicate,
    /// The service refused it for good; it belongs in the dead-letter stream.
    Invalid(String),
    /// The service refused it but applied what it decided about that (`emitted` events);
    /// it belongs in the dead-letter stream. Also the outcome of its redelivery (`emitted` 0).
    Refused { reason: String, emitted: usize },
}

type Abort = ConflictableTransactionError<StoreError>;

impl Store {
    /// Applies a batch in one transaction (see the module doc); returns each event's outcome
    /// and the key of the outbox row the batch wrote, if it emitted anything.
    pub(crate) fn apply_batch(
        &self,
        handler: &dyn Handler,
        producer: &Producer,
        batch: &[Incoming],
    ) -> Result<(Vec<Outcome>, Option<u64>), StoreError> {
        let folds = handler.folds();
        let result = self.trees[..].transaction(|views| {
            let mut outcomes = Vec::with_capacity(batch.len());
            let mut row = OutboxRow {
                records: Vec::new(),
            };
            let mut timers = 0;
            for incoming in batch {
                let step = Step {
                    handler,
                    folds,
                    producer,
                    incoming,
                };
                outcomes.push(self.apply_one(views, &step, &mut row.records, &mut timers)?);
            }
            let mut key = None;
            if !row.records.is_empty() {
                let bytes = row.encode().map_err(Abort::Abort)?;
                let id = views[OUTBOX].generate_id()?;
                views[OUTBOX].insert(&id.to_be_bytes(), bytes)?;
                key = Some(id);
            }
            Ok((outcomes, row.records.len() as i64, timers, key))
        });
        let (outcomes, outbox, timers, key) = result.map_err(transaction_error)?;
        self.count(outbox, timers);
        self.outbox_written(key);
        Ok((outcomes, key))
    }

    fn apply_one(
        &self,
        views: &[TransactionalTree],
        step: &Step<'_>,
        outbox: &mut Vec<OutboxRecord>,
        timers_added: &mut i64,
    ) -> Result<Outcome, Abort> {
        let incoming = step.incoming;
        let partition = incoming.partition.map(|(partition, _)| partition);
        let trees = self.tree_set();
        let event_id = &*inbox_key(&trees, partition, &incoming.envelope.event_id);
        if let Some(mark) = views[INBOX].get(event_id)? {
            return Ok(match inbox::refusal(&mark) {
                Some(reason) => Outcome::Refused { reason, emitted: 0 },
                None => Outcome::Duplicate,
            });
        }
        let mut state = State::new(views, trees, partition, incoming.now);
        let envelope = &incoming.envelope;
        let span = tracing::info_span!(
            "event",
            event_id = %envelope.event_id,
            event_type = %envelope.event_type,
            correlation_id = %envelope.correlation_id,
            trace_id = %envelope.traceparent.map(|parent| parent.trace_id_hex()).unwrap_or_default(),
        );
        let result = span.in_scope(|| catch_unwind(AssertUnwindSafe(|| step.run(&mut state))));
        if let Some(failure) = state.take_storage_failure() {
            return Err(failure.into());
        }
        let (emitted, refused) = match result {
            Ok(Ok(decided)) => decided,
            Ok(Err(error)) => return Ok(Outcome::Invalid(error.to_string())),
            Err(panic) => {
                return Ok(Outcome::Invalid(format!(
                    "handler panicked: {}",
                    panic_message(&panic)
                )));
            }
        };
        let timers = state.commit()?;
        let count = emitted.len();
        let fence = incoming
            .partition
            .filter(|(_, claim)| *claim > 0)
            .map(|(partition, claim)| RecordFence {
                partition: partition.index(),
                claim,
            });
        for (envelope, event) in &emitted {
            let mut record =
                new_outbox_record(step.producer, envelope, event).map_err(Abort::Abort)?;
            record.fence = fence;
            outbox.push(record);
        }
        for change in timers {
            // fenced on the claim it was armed under: fired after another instance claimed
            // the partition, it is refused and dropped (docs/scaling.md, "Take-over")
            let record = |event: &Event| {
                let mut record = new_outbox_record(step.producer, &step.envelope_for(event), event)
                    .map_err(Abort::Abort)?;
                record.fence = fence;
                Ok(record)
            };
            *timers_added +=
                apply_timer_change(&views[TIMERS], &views[TIMER_INDEX], change, record)?;
        }
        match refused {
            None => {
                views[INBOX].insert(event_id, &inbox::applied_at(incoming.now))?;
                Ok(Outcome::Applied { emitted: count })
            }
            Some(reason) => {
                views[INBOX].insert(event_id, inbox::refused_at(incoming.now, &reason))?;
                Ok(Outcome::Refused {
                    reason,
                    emitted: count,
                })
            }
        }
    }
}

/// The events a step emits, and the reason if it refused its incoming event.
type Decided = (Vec<(Envelope, Event)>, Option<String>);

/// One incoming event and what it needs to be applied.
struct Step<'a> {
    handler: &'a dyn Handler,
    folds: &'a [EventType],
    producer: &'a Producer,
    incoming: &'a Incoming,
}

impl Step<'_> {
    /// The envelope of an event this step emits: caused by the incoming one.
    fn envelope_for(&self, event: &Event) -> Envelope {
        let incoming = self.incoming;
        Envelope::caused_by(
            &incoming.envelope,
            event.event_type(),
            incoming.now,
            &self.producer.name,
        )
    }

    /// Fold the incoming fact, decide, fold what was decided; with the reason when the
    /// service refused the incoming event but decided events about that.
    fn run(&self, state: &mut State<'_>) -> Result<Decided, HandleError> {
        let incoming = self.incoming;
        if self.folds.contains(&incoming.envelope.event_type) {
            state.set_phase(Phase::Evolve, incoming.envelope.occurred_at);
            self.handler
                .evolve(state, &incoming.event, &incoming.envelope)?;
        }
        state.set_phase(Phase::Decide, incoming.now);
        let (decided, refused) = match self.handler.decide(state, incoming) {
            Ok(events) => (events, None),
            Err(HandleError::Refused { reason, events }) if reason.is_empty() => {
                (events, Some("refused by the service".to_owned()))
            }
            Err(HandleError::Refused { reason, events }) => (events, Some(reason)),
            Err(error) => return Err(error),
        };
        let mut emitted = Vec::with_capacity(decided.len());
        for event in decided {
            check_outgoing(&event).map_err(HandleError::Invalid)?;
            let envelope = self.envelope_for(&event);
            if self.folds.contains(&envelope.event_type) {
                state.set_phase(Phase::Evolve, envelope.occurred_at);
                self.handler.evolve(state, &event, &envelope)?;
            }
            emitted.push((envelope, event));
        }
        Ok((emitted, refused))
    }
}

pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

#[cfg(test)]
mod tests {
    use events::inventory::StockReserved;
    use events::{Envelope, Event, EventType, Timestamp};

    use super::*;
    use crate::store::state::StateError;
    use crate::store::test_support::{THINGS, store};

    /// Answers every event with a reservation that has no lines: invalid by the contract.
    struct Careless;

    impl Handler for Careless {
        fn trees(&self) -> &'static [&'static str] {
            &[THINGS]
        }

        fn local_trees(&self) -> &'static [&'static str] {
            &[]
        }

        fn consumes(&self) -> &'static [EventType] {
            &[EventType::OrderPlaced]
        }

        fn folds(&self) -> &'static [EventType] {
            &[EventType::StockReserved]
        }

        fn decide(
            &self,
            _: &mut State<'_>,
            incoming: &Incoming,
        ) -> Result<Vec<Event>, HandleError> {
            let reserved = StockReserved {
                order_id: incoming.event.key().to_owned(),
                lines: vec![],
            };
            Ok(vec![reserved.into()])
        }

        fn evolve(
            &self,
            state: &mut State<'_>,
            event: &Event,
            _: &Envelope,
        ) -> Result<(), StateError> {
            state.put(THINGS, event.key().as_bytes(), &1u64)
        }
    }

    /// Refuses every event, and decides a reservation about the refusal.
    struct Wary;

    impl Handler for Wary {
        fn trees(&self) -> &'static [&'static str] {
            Careless.trees()
        }

        fn local_trees(&self) -> &'static [&'static str] {
            &[]
        }

        fn consumes(&self) -> &'static [EventType] {
            Careless.consumes()
        }

        fn folds(&self) -> &'static [EventType] {
            Careless.folds()
        }

        fn decide(&self, _: &mut State<'_>, _: &Incoming) -> Result<Vec<Event>, HandleError> {
            Err(HandleError::Refused {
                reason: "it does not match".into(),
                events: vec![events::samples::sample(EventType::StockReserved)],
            })
        }

        fn evolve(
            &self,
            state: &mut State<'_>,
            event: &Event,
            envelope: &Envelope,
        ) -> Result<(), StateError> {
            Careless.evolve(state, event, envelope)
        }
    }

    fn order_placed() -> Incoming {
        let event = events::samples::order_placed();
        Incoming {
            envelope: Envelope::new(
                event.event_type(),
                Timestamp::UNIX_EPOCH,
                "test",
                event.key(),
            ),
            subject: String::new(),
            event,
            stream_sequence: 1,
            now: Timestamp::UNIX_EPOCH,
            history: Vec::new(),
            partition: None,
        }
    }

    #[test]
    fn a_refused_event_commits_what_was_decided_and_its_redelivery_is_refused_again() {
        let (store, producer) = store();
        let incoming = order_placed();
        let batch = std::slice::from_ref(&incoming);
        let (outcomes, _) = store.apply_batch(&Wary, &producer, batch).unwrap();
        let refused = |emitted| Outcome::Refused {
            reason: "it does not match".into(),
            emitted,
        };
        assert_eq!(outcomes, [refused(1)]);
        assert_eq!(store.outbox_len(), 1, "the decided event is published");
        assert_eq!(store.tree(THINGS).unwrap().len(), 1, "and folded");
        assert!(store.inbox_contains(&incoming.envelope.event_id).unwrap());
        // a redelivery (the dead letter could not be stored) is dead-lettered again, not decided
        let (outcomes, _) = store.apply_batch(&Wary, &producer, batch).unwrap();
        assert_eq!(outcomes, [refused(0)]);
        assert_eq!(store.outbox_len(), 1, "nothing more published");
        // the mark, reason and all, is pruned like any other
        assert_eq!(
            store
                .prune_inbox(Timestamp::UNIX_EPOCH.plus_millis(1))
                .unwrap(),
            1
        );
    }

    #[test]
    fn an_invalid_event_a_service_decides_is_refused_and_nothing_commits() {
        let (store, producer) = store();
        let incoming = order_placed();
        let (outcomes, _) = store
            .apply_batch(&Careless, &producer, std::slice::from_ref(&incoming))
            .unwrap();
        let [Outcome::Invalid(reason)] = outcomes.as_slice() else {
            panic!("expected a refusal, got {outcomes:?}")
        };
        assert!(
            reason.contains("invalid inventory.stock_reserved"),
            "{reason}"
        );
        assert_eq!(store.outbox_len(), 0, "nothing published");
        assert!(store.tree(THINGS).unwrap().is_empty(), "nothing folded");
        assert!(
            !store.inbox_contains(&incoming.envelope.event_id).unwrap(),
            "not marked applied"
        );
    }
}
