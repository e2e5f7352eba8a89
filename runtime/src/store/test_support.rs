//! A minimal service for the store's own tests: one tree `things`, folding
//! `inventory.stock_reserved` into a count per order.

use events::{Envelope, Event, EventType};

use super::Store;
use super::outbox::Producer;
use super::state::TreeSet;
use super::state::{State, StateError};
use crate::handler::{HandleError, Handler, Incoming};

pub(crate) const THINGS: &str = "things";

pub(crate) struct Things;

impl Handler for Things {
    fn trees(&self) -> &'static [&'static str] {
        &[THINGS]
    }

    fn local_trees(&self) -> &'static [&'static str] {
        &[]
    }

    fn consumes(&self) -> &'static [EventType] {
        &[]
    }

    fn folds(&self) -> &'static [EventType] {
        &[EventType::StockReserved]
    }

    fn decide(&self, _: &mut State<'_>, _: &Incoming) -> Result<Vec<Event>, HandleError> {
        Ok(vec![])
    }

    fn evolve(&self, state: &mut State<'_>, event: &Event, _: &Envelope) -> Result<(), StateError> {
        let count: u64 = state.load(THINGS, event.key().as_bytes())?.unwrap_or(0);
        state.put(THINGS, event.key().as_bytes(), &(count + 1))
    }
}

pub(crate) fn store() -> (Store, Producer) {
    let trees = TreeSet {
        names: &[THINGS],
        local: &[],
        shared: &[],
        partitions: None,
    };
    let producer = Producer {
        name: "test".into(),
        subjects: events::Subjects::default(),
    };
    (
        Store::open_temporary(trees).expect("temporary store"),
        producer,
    )
}

/// A command of the test service at the epoch, in a store of one partition, unfenced.
pub(crate) fn command(producer: &Producer) -> super::Command<'_> {
    super::Command {
        handler: &Things,
        producer,
        now: events::Timestamp::UNIX_EPOCH,
        partition: events::partition::Partitions::ONE.of(""),
        fence: None,
    }
}
