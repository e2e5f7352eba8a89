//! Given / when / then tests for a service's rules over a temporary store, no broker:
//!
//! ```
//! # use runtime::scenario::Scenario;
//! # use runtime::example::Example;
//! # use events::{EventType, samples};
//! Scenario::<Example>::new(Default::default())
//!     .given([])                          // past events, folded with `evolve`
//!     .when(samples::order_placed())      // handled as live: evolve, decide, evolve
//!     .then_types(&[EventType::StockReserved]);
//! ```
//!
//! `given` folds events exactly as a rebuild does; `when` runs the consume loop's transaction
//! for one incoming event; `then` compares what it emitted. The store is a real (temporary)
//! sled store, so a test can also read state with [`Scenario::store`], fire timers with
//! [`Scenario::fire_timers_at`], or call the service's endpoints with [`Scenario::api`].

use std::sync::Arc;

use events::partition::Partitions;
use events::{Envelope, Event, EventType, Subjects, Timestamp, codec};
use tokio::sync::Notify;

use crate::api::Api;
use crate::handler::{Handler, Incoming};
use crate::history::{HistorySource, Recorded};
use crate::service::Service;
use crate::store::Store;
use crate::store::batch::Outcome;
use crate::store::fold::partition_of;
use crate::store::outbox::Producer;

/// One service under test, its store and what the last `when` did.
pub struct Scenario<S: Service> {
    service: Arc<S>,
    store: Store,
    producer: Producer,
    now: Timestamp,
    last: Vec<Outcome>,
    emitted: Vec<(Envelope, Event)>,
    /// What the streams hold, for the histories the service asks for.
    stored: Vec<Recorded>,
}

impl<S: Service> std::fmt::Debug for Scenario<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scenario")
            .field("service", &S::DEFINITION.name)
            .field("emitted", &self.emitted.len())
            .finish_non_exhaustive()
    }
}

impl<S: Service> Scenario<S> {
    /// A fresh service with `settings` over an empty temporary store, at 2026-01-01.
    pub fn new(settings: S::Settings) -> Self {
        let service = Arc::new(S::new(settings));
        let trees = service.tree_set(Partitions::default());
        let store = Store::open_temporary(trees).expect("temporary store");
        Scenario {
            service,
            store,
            producer: Producer {
                name: S::DEFINITION.name.to_owned(),
                subjects: Subjects::default(),
            },
            now: Timestamp::from_unix_millis(1_767_225_600_000).expect("a valid time"),
            last: Vec::new(),
            emitted: Vec::new(),
            stored: Vec::new(),
        }
    }

    /// Moves the scenario's clock (what `State::now` reads in the next `when`).
    pub fn at(mut self, now: Timestamp) -> Self {
        self.now = now;
        self
    }

    /// Past events, folded with `evolve` (types the service does not fold are skipped).
    pub fn given(self, events: impl IntoIterator<Item = Event>) -> Self {
        let batch: Vec<Incoming> = events
            .into_iter()
            .map(|event| self.incoming(event))
            .collect();
        self.store
            .fold_batch(self.service.as_ref(), &batch)
            .expect("given events fold");
        self
    }

    /// Events the streams hold (for services that read a [`History`](crate::History)), each
    /// stamped with the scenario's clock; they are not folded (add them to `given` too when
    /// the service folds them).
    pub fn stored(mut self, events: impl IntoIterator<Item = Event>) -> Self {
        for event in events {
            let Incoming {
                envelope, event, ..
            } = self.incoming(event);
            self.stored.push(Recorded { envelope, event });
        }
        self
    }

    /// One incoming event, handled as the consume loop handles it (with its history, when
    /// the service asks for one: the stored events with its key, and itself).
    pub fn when(mut self, event: Event) -> Self {
        let mut incoming = self.incoming(event);
        // handled for its partition, as an instance holding every partition handles it
        let partition = partition_of(self.service.as_ref(), &self.store.tree_set(), &incoming);
        incoming.partition = partition.map(|partition| (partition, 0));
        if S::HISTORY.on.contains(&incoming.envelope.event_type) {
            let key = incoming.event.key();
            incoming.history = (self.stored.iter())
                .chain([&Recorded {
                    envelope: incoming.envelope.clone(),
                    event: incoming.event.clone(),
                }])
                .filter(|recorded| {
                    recorded.event.key() == key
                        && S::HISTORY.of.contains(&recorded.envelope.event_type)
                })
                .cloned()
                .collect();
        }
        self.last = self
            .store
            .apply_batch(self.service.as_ref(), &self.producer, &[incoming])
            .expect("batch commits")
            .0;
        self.emitted = self.drain_outbox();
        self
    }

    /// Fires the timers due at `now` (they are emitted like any event).
    pub fn fire_timers_at(mut self, now: Timestamp) -> Self {
        self.store.fire_due_timers(now).expect("timers fire");
        self.emitted = self.drain_outbox();
        self
    }

    /// Asserts the last step emitted exactly `expected`, in order.
    pub fn then(self, expected: impl IntoIterator<Item = Event>) -> Self {
        let expected: Vec<Event> = expected.into_iter().collect();
        assert_eq!(self.emitted_events(), expected, "emitted events");
        self
    }

    /// Asserts the types of what the last step emitted, in order.
    pub fn then_types(self, expected: &[EventType]) -> Self {
        let types: Vec<EventType> = self.emitted.iter().map(|(e, _)| e.event_type).collect();
        assert_eq!(types, expected, "emitted event types");
        self
    }

    /// Asserts the last `when` was refused for good (a dead letter) with a reason that
    /// contains `reason`: with nothing applied (`HandleError::Invalid`) or with the events
    /// the service decided about it (`HandleError::Refused`; check them with `then`).
    pub fn then_refused(self, reason: &str) -> Self {
        match self.refusal() {
            Some(why) if why.contains(reason) => self,
            _ => panic!(
                "expected a refusal containing {reason:?}, got {:?}",
                self.last
            ),
        }
    }

    /// Why the last `when` was refused (it goes to the dead-letter stream), if it was.
    pub fn refusal(&self) -> Option<&str> {
        match self.last.as_slice() {
            [Outcome::Invalid(why) | Outcome::Refused { reason: why, .. }] => Some(why),
            _ => None,
        }
    }

    /// What the last step emitted.
    pub fn emitted_events(&self) -> Vec<Event> {
        self.emitted
            .iter()
            .map(|(_, event)| event.clone())
            .collect()
    }

    /// The store, to read state.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// What the service's endpoints get, over this scenario's store.
    pub fn api(&self) -> Api {
        let handler: Arc<dyn Handler> = self.service.clone();
        Api::new(
            self.store.clone(),
            self.producer.clone(),
            handler,
            Arc::new(Notify::new()),
            HistorySource::Given(Arc::new(
                (self.stored.iter())
                    .filter(|recorded| S::HISTORY.of.contains(&recorded.envelope.event_type))
                    .cloned()
                    .collect(),
            )),
            // one instance: it holds every partition
            crate::ownership::Held::everything(Partitions::default()),
            None,
        )
    }

    /// Takes the events committed to the outbox since the last look (API commands too).
    pub fn take_emitted(&mut self) -> Vec<Event> {
        self.emitted = self.drain_outbox();
        self.emitted_events()
    }

    fn incoming(&self, event: Event) -> Incoming {
        let envelope = Envelope::new(event.event_type(), self.now, "scenario", event.key());
        Incoming {
            subject: self.producer.subjects.for_event(&event).unwrap_or_default(),
            envelope,
            event,
            stream_sequence: 0,
            now: self.now,
            history: Vec::new(),
            partition: None,
        }
    }

    fn drain_outbox(&self) -> Vec<(Envelope, Event)> {
        let mut emitted = Vec::new();
        for (key, row) in self.store.outbox_batch(usize::MAX).expect("outbox reads") {
            let count = row.records.len();
            for record in row.records {
                let header = |name: &str| {
                    record
                        .headers
                        .iter()
                        .find(|(header, _)| header == name)
                        .map(|(_, value)| value.as_str())
                };
                let envelope = Envelope::from_headers(header).expect("outbox envelope");
                let event = codec::decode_typed(envelope.event_type, &record.payload, usize::MAX)
                    .expect("outbox payload");
                emitted.push((envelope, event));
            }
            self.store
                .outbox_remove(&key, count)
                .expect("outbox row removed");
        }
        emitted
    }
}
