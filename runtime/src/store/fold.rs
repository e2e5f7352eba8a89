//! Folding events into a store without deciding anything: what a rebuild does with the
//! events it reads from the streams. The service's `evolve` is the same one live handling
//! runs; events of the types the service consumes are marked in the inbox, as live
//! processing would have marked them.

use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

use super::state::{Phase, State, TreeSet, inbox_key};
use super::{INBOX, Store, StoreError, TIMER_INDEX, TIMERS, inbox, transaction_error};
use crate::handler::{Handler, Incoming, Route};

/// The partition an event is folded for: the one it was handled for live (`incoming`'s, or
/// its route's), `None` for reference data every partition keeps.
pub(crate) fn partition_of(
    handler: &dyn Handler,
    trees: &TreeSet<'_>,
    incoming: &Incoming,
) -> Option<events::partition::Partition> {
    if let Some((partition, _)) = incoming.partition {
        return Some(partition);
    }
    let partitions = trees.partitions?;
    match handler.route(&incoming.event) {
        Route::Key(key) => Some(partitions.of(key)),
        Route::Everywhere => None,
    }
}

impl Store {
    /// Folds a batch of events (in causal order) into state, in one transaction.
    pub(crate) fn fold_batch(
        &self,
        handler: &dyn Handler,
        batch: &[Incoming],
    ) -> Result<(), StoreError> {
        let (folds, consumes) = (handler.folds(), handler.consumes());
        let trees = self.tree_set();
        let result = self.trees[..].transaction(|views| {
            for incoming in batch {
                let envelope = &incoming.envelope;
                let partition = partition_of(handler, &trees, incoming);
                if folds.contains(&envelope.event_type) {
                    let mut state = State::new(views, trees, partition, incoming.now);
                    state.set_phase(Phase::Evolve, envelope.occurred_at);
                    let folded = handler.evolve(&mut state, &incoming.event, envelope);
                    if let Some(failure) = state.take_storage_failure() {
                        return Err(failure.into());
                    }
                    folded.map_err(|error| {
                        ConflictableTransactionError::Abort(StoreError::Fold(format!(
                            "cannot fold {} {}: {error}",
                            envelope.event_type, envelope.event_id
                        )))
                    })?;
                    state.commit()?;
                }
                if consumes.contains(&envelope.event_type) {
                    let event_id = inbox_key(&trees, partition, &envelope.event_id);
                    views[INBOX].insert(&*event_id, &inbox::applied_at(incoming.now))?;
                }
            }
            Ok(())
        });
        result.map_err(transaction_error)
    }

    /// Copies the pending timers from `source` unchanged (a rebuild keeps the saga's
    /// deadlines and shipping's delays: no event records a timer).
    pub(crate) fn copy_timers(&self, source: &Store) -> Result<usize, StoreError> {
        let mut copied = 0;
        for tree in [TIMERS, TIMER_INDEX] {
            for entry in source.trees[tree].iter() {
                let (key, value) = entry?;
                self.trees[tree].insert(key, value)?;
                copied += usize::from(tree == TIMER_INDEX);
            }
        }
        Ok(copied)
    }

    /// Copies the named trees from `source` unchanged (a rebuild keeps the local trees that
    /// no event records, such as carts).
    pub(crate) fn copy_trees(&self, source: &Store, names: &[&str]) -> Result<usize, StoreError> {
        let mut copied = 0;
        for name in names {
            let (Some(from), Some(to)) = (source.tree(name), self.tree(name)) else {
                continue;
            };
            for entry in from.iter() {
                let (key, value) = entry?;
                to.insert(key, value)?;
                copied += 1;
            }
        }
        Ok(copied)
    }
}
