//! Timers that `decide` set (saga deadlines, shipping delays): rows keyed by due time ‖ name,
//! an index from name to due time so a timer can be moved or cancelled, and firing: due
//! timers move into one outbox row, stamped with the time they fired.

use events::{Envelope, Event, Timestamp, codec};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::outbox::{OutboxRecord, OutboxRow, Producer, RecordFence, new_outbox_record};
use super::state::TimerChange;
use super::{OUTBOX, Store, StoreError, TIMER_INDEX, TIMERS, transaction_error};
use crate::handler::Timer;

/// Sets, moves or cancels a named timer inside a transaction; `record` addresses the event.
/// Returns the change in the number of pending timers (+1, 0 or -1).
///
/// Moving or cancelling leaves the old row where it is: the index says which row is the
/// timer's, and firing drops a row the index no longer points at. That saves two writes per
/// move (the saga moves its deadline at every step; a sled write is what an event costs, see
/// docs/performance.md); a stale row lives until its old due time.
pub(crate) fn apply_timer_change<E>(
    timers: &TransactionalTree,
    index: &TransactionalTree,
    change: TimerChange,
    record: impl Fn(&Event) -> Result<OutboxRecord, ConflictableTransactionError<E>>,
) -> Result<i64, ConflictableTransactionError<E>> {
    match change {
        TimerChange::Cancel { key } => Ok(-i64::from(index.remove(key.as_bytes())?.is_some())),
        TimerChange::Set { key, at, event } => {
            let due = at.unix_millis().to_be_bytes();
            let bytes = codec::to_bytes(&record(&event)?).map_err(|error| {
                ConflictableTransactionError::Storage(sled::Error::Unsupported(error.to_string()))
            })?;
            timers.insert([&due[..], key.as_bytes()].concat(), bytes)?;
            Ok(i64::from(index.insert(key.as_bytes(), &due)?.is_none()))
        }
    }
}

/// A fired timer's event happened when it fired, not when it was scheduled.
fn restamp(record: &mut OutboxRecord, now: Timestamp) {
    for (name, value) in &mut record.headers {
        if name == events::header::OCCURRED_AT {
            *value = now.to_string();
        }
    }
}

impl Store {
    /// Arms `timers` (set, or moved when armed already) with events from `producer`,
    /// fenced on `fence`: a take-over re-arming what a partition's state waits on. Returns
    /// how many were new. Call [`Store::flush`] afterwards.
    pub(crate) fn arm(
        &self,
        producer: &Producer,
        timers: &[Timer],
        fence: Option<RecordFence>,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let trees = (&self.trees[TIMERS], &self.trees[TIMER_INDEX]);
        let result = trees.transaction(|(rows, index)| {
            let mut added = 0;
            for timer in timers {
                let record = |event: &Event| {
                    let envelope =
                        Envelope::new(event.event_type(), now, &producer.name, event.key());
                    let mut record = new_outbox_record(producer, &envelope, event)
                        .map_err(ConflictableTransactionError::Abort)?;
                    record.fence = fence;
                    Ok(record)
                };
                let change = TimerChange::Set {
                    key: timer.key.clone(),
                    at: timer.at,
                    event: timer.event.clone(),
                };
                added += apply_timer_change(rows, index, change, record)?;
            }
            Ok(added)
        });
        let added = result.map_err(transaction_error)?;
        self.count(0, added);
        Ok(added)
    }

    /// Moves every timer due at `now` into one outbox row (stamped with the time it fired);
    /// returns how many fired. Call [`Store::flush`] afterwards.
    pub fn fire_due_timers(&self, now: Timestamp) -> Result<usize, StoreError> {
        let end = now.unix_millis().saturating_add(1).to_be_bytes();
        let mut due = Vec::new();
        for entry in self.trees[TIMERS].range(..&end[..]).take(1024) {
            due.push(entry?.0);
        }
        if due.is_empty() {
            return Ok(0);
        }
        let trees = (
            &self.trees[TIMERS],
            &self.trees[TIMER_INDEX],
            &self.trees[OUTBOX],
        );
        let result = trees.transaction(|(timers, index, outbox)| {
            // read again inside the transaction: a service may have moved or cancelled a timer
            // since the scan above, and a cancelled deadline must not fire
            let mut row = OutboxRow { records: Vec::new() };
            let mut expired = 0i64;
            for row_key in &due {
                let Some(value) = timers.remove(row_key)? else { continue };
                let name = &row_key[8..];
                // a row the index does not point at was moved or cancelled: dropped
                if index.get(name)?.as_deref() != Some(&row_key[..8]) {
                    continue;
                }
                index.remove(name)?;
                expired += 1;
                match codec::from_bytes::<OutboxRecord>(&value) {
                    Ok(mut record) => {
                        restamp(&mut record, now);
                        row.records.push(record);
                    }
                    Err(error) => tracing::error!(%error, key = ?row_key, "timer row does not decode; dropped"),
                }
            }
            let mut key = None;
            if !row.records.is_empty() {
                let bytes = row.encode().map_err(ConflictableTransactionError::Abort)?;
                let id = outbox.generate_id()?;
                outbox.insert(&id.to_be_bytes(), bytes)?;
                key = Some(id);
            }
            Ok((row.records.len(), expired, key))
        });
        let (fired, expired, key) = result.map_err(transaction_error)?;
        self.count(fired as i64, -expired);
        self.outbox_written(key);
        Ok(fired)
    }

    /// Timers waiting to fire (a counter: cheap).
    pub fn pending_timers(&self) -> usize {
        usize::try_from(self.counts.timers.load(std::sync::atomic::Ordering::SeqCst)).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::outbox::Producer;
    use crate::store::state::StateError;
    use crate::store::test_support::{THINGS, store};

    fn command(
        store: &Store,
        producer: &Producer,
        change: impl Fn(&mut crate::store::state::State<'_>) -> Result<(), StateError>,
    ) {
        store
            .execute(
                crate::store::test_support::command(producer),
                |state| {
                    change(state)?;
                    Ok::<_, StateError>(vec![])
                },
                |_, _| Ok(()),
            )
            .unwrap();
    }

    fn schedule(store: &Store, producer: &Producer, key: &'static str, at: Timestamp) {
        command(store, producer, |state| {
            state.schedule(
                key,
                at,
                events::samples::sample(events::EventType::DeadlinePassed),
            )
        });
    }

    #[test]
    fn timers_fire_when_due_and_can_be_moved_or_cancelled() {
        let (store, producer) = store();
        let t = |millis| Timestamp::from_unix_millis(millis).unwrap();
        schedule(&store, &producer, "a", t(100));
        schedule(&store, &producer, "b", t(100));
        schedule(&store, &producer, "b", t(300)); // moved
        schedule(&store, &producer, "c", t(100));
        command(&store, &producer, |state| state.cancel_timer("c"));
        assert_eq!(store.pending_timers(), 2);
        assert_eq!(store.fire_due_timers(t(99)).unwrap(), 0);
        assert_eq!(
            store.fire_due_timers(t(100)).unwrap(),
            1,
            "only a: b moved, c cancelled"
        );
        assert_eq!(store.fire_due_timers(t(299)).unwrap(), 0);
        assert_eq!(store.fire_due_timers(t(300)).unwrap(), 1);
        assert_eq!(store.pending_timers(), 0);
        assert!(
            store.trees[TIMER_INDEX].is_empty(),
            "fired timers leave no index entry"
        );
        assert!(
            store.trees[TIMERS].is_empty(),
            "the rows a move or a cancel left behind were dropped at their old time"
        );
        assert_eq!(store.outbox_len(), 2);
        assert!(store.tree(THINGS).unwrap().is_empty());
        // moved away and back: it fires once, at the time it was moved back to
        schedule(&store, &producer, "d", t(400));
        schedule(&store, &producer, "d", t(500));
        schedule(&store, &producer, "d", t(400));
        assert_eq!(store.pending_timers(), 1);
        assert_eq!(store.fire_due_timers(t(400)).unwrap(), 1);
        assert_eq!(store.fire_due_timers(t(500)).unwrap(), 0);
        assert_eq!(store.pending_timers(), 0);
        assert!(store.trees[TIMERS].is_empty());
        let rows = store.outbox_batch(10).unwrap();
        let occurred = rows[0].1.records[0]
            .headers
            .iter()
            .find(|(name, _)| name == events::header::OCCURRED_AT);
        assert_eq!(
            occurred.map(|(_, value)| value.as_str()),
            Some("1970-01-01T00:00:00.100Z"),
            "stamped when fired"
        );
    }

    /// Arms one timer for every event it is given.
    struct Arms;

    impl crate::handler::Handler for Arms {
        fn trees(&self) -> &'static [&'static str] {
            &[THINGS]
        }
        fn local_trees(&self) -> &'static [&'static str] {
            &[]
        }
        fn consumes(&self) -> &'static [events::EventType] {
            &[events::EventType::StockReserved]
        }
        fn folds(&self) -> &'static [events::EventType] {
            &[]
        }
        fn decide(
            &self,
            state: &mut crate::store::State<'_>,
            _: &crate::handler::Incoming,
        ) -> Result<Vec<Event>, crate::handler::HandleError> {
            let deadline = events::samples::sample(events::EventType::DeadlinePassed);
            state.schedule("t", Timestamp::from_unix_millis(100).unwrap(), deadline)?;
            Ok(vec![])
        }
        fn evolve(
            &self,
            _: &mut crate::store::State<'_>,
            _: &Event,
            _: &events::Envelope,
        ) -> Result<(), StateError> {
            Ok(())
        }
    }

    #[test]
    fn a_timer_fires_fenced_on_the_claim_it_was_armed_under() {
        let (store, producer) = store();
        let event = events::samples::sample(events::EventType::StockReserved);
        let partition = events::partition::Partitions::ONE.of("");
        let incoming = crate::handler::Incoming {
            envelope: events::Envelope::new(event.event_type(), Timestamp::UNIX_EPOCH, "test", "c"),
            subject: String::new(),
            event,
            stream_sequence: 1,
            now: Timestamp::UNIX_EPOCH,
            history: Vec::new(),
            partition: Some((partition, 7)),
        };
        store.apply_batch(&Arms, &producer, &[incoming]).unwrap();
        assert_eq!(
            store
                .fire_due_timers(Timestamp::from_unix_millis(100).unwrap())
                .unwrap(),
            1
        );
        let rows = store.outbox_batch(10).unwrap();
        assert_eq!(
            rows[0].1.records[0].fence,
            Some(crate::store::outbox::RecordFence {
                partition: partition.index(),
                claim: 7
            })
        );
    }

    #[test]
    fn armed_timers_are_pending_fenced_and_fire_once() {
        let (store, producer) = store();
        let t = |millis| Timestamp::from_unix_millis(millis).unwrap();
        let timer = |key: &str, at| crate::handler::Timer {
            key: key.into(),
            at: t(at),
            event: events::samples::sample(events::EventType::DeadlinePassed),
        };
        let fence = Some(crate::store::outbox::RecordFence {
            partition: 3,
            claim: 9,
        });
        let armed = store
            .arm(&producer, &[timer("a", 100), timer("b", 200)], fence, t(50))
            .unwrap();
        assert_eq!((armed, store.pending_timers()), (2, 2));
        // armed again (a second take-over): moved, not doubled
        let armed = store
            .arm(&producer, &[timer("a", 150)], fence, t(60))
            .unwrap();
        assert_eq!((armed, store.pending_timers()), (0, 2));
        assert_eq!(store.fire_due_timers(t(100)).unwrap(), 0, "a moved to 150");
        assert_eq!(store.fire_due_timers(t(200)).unwrap(), 2);
        let rows = store.outbox_batch(10).unwrap();
        let records: Vec<_> = rows.iter().flat_map(|(_, row)| &row.records).collect();
        assert_eq!(records.len(), 2);
        assert!(records.iter().all(|record| record.fence == fence));
    }
}
