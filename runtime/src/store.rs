//! The service's sled store: its own trees plus the runtime's inbox and outbox, and the one
//! transaction that commits a batch of events.
//!
//! Runtime trees:
//! - `_runtime.inbox`: event id → applied-at millis; a redelivered event id is skipped.
//! - `_runtime.outbox`: sequence (big-endian u64) → [`OutboxRow`], the events one batch
//!   emitted; the relay publishes rows in key order and deletes a row when all its events are
//!   acknowledged.
//! - `_runtime.timers`: due-at millis (big-endian) ‖ timer key → [`OutboxRecord`]: events a
//!   handler scheduled for later (saga deadlines, shipping delays). When due they move to the
//!   outbox, so they survive restarts and go through the event log like any other event.
//! - `_runtime.timer_index`: timer key → due-at millis, so a timer can be moved or cancelled.
//!
//! Why one outbox row per batch rather than per event: a sled write costs 5-10 µs on this
//! machine class, so the number of writes per event is what bounds throughput (see
//! docs/performance.md). Per event we write the inbox mark and the handler's own state.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use events::{Envelope, Event, Subjects, Timestamp, codec};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};
use sled::{Transactional, Tree};

use crate::api::ApiError;
use crate::handler::{HandleError, Handler, Incoming};

const INBOX: usize = 0;
const OUTBOX: usize = 1;
const TIMERS: usize = 2;
const TIMER_INDEX: usize = 3;
const FIRST_SERVICE_TREE: usize = 4;
const RUNTIME_TREES: [&str; 4] = [
    "_runtime.inbox",
    "_runtime.outbox",
    "_runtime.timers",
    "_runtime.timer_index",
];

/// A change to a named timer, staged by a handler.
#[derive(Debug, Clone)]
enum TimerChange {
    Set {
        key: String,
        at: Timestamp,
        event: Event,
    },
    Cancel {
        key: String,
    },
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("failed to open sled store at {path}: {source}")]
    Open { path: String, source: sled::Error },
    #[error("sled storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("failed to encode an outgoing event: {0}")]
    Encode(String),
}

/// Why a handler's state access failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("storage conflict or failure: {0}")]
    Storage(#[from] UnabortableTransactionError),
    #[error("tree {0:?} is not declared by this service's handler")]
    UnknownTree(String),
    #[error("stored value in tree {tree:?} does not decode: {reason}")]
    Corrupt { tree: String, reason: String },
    #[error("value for tree {tree:?} does not encode: {reason}")]
    Encode { tree: String, reason: String },
}

/// One event waiting in the outbox: everything needed to publish it again, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRecord {
    pub subject: String,
    pub headers: Vec<(String, String)>,
    pub payload: Bytes,
}

/// One outbox row: the events a committed batch (or an API call) emitted, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRow {
    pub records: Vec<OutboxRecord>,
}

/// What happened to one incoming event in a committed batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied; `emitted` events were added to the outbox.
    Applied { emitted: usize },
    /// Its event id was already in the inbox: nothing changed.
    Duplicate,
    /// The handler refused it for good; it belongs in the dead-letter stream.
    Invalid(String),
}

/// A handler's window on the service's trees inside the batch transaction. Writes are staged
/// and only reach the transaction if the handler succeeds, so a refused event leaves no trace.
pub struct State<'a> {
    views: &'a [TransactionalTree],
    names: &'a [&'static str],
    staged: Vec<(usize, Vec<u8>, Option<Vec<u8>>)>,
    timers: Vec<TimerChange>,
    now: Timestamp,
}

impl std::fmt::Debug for State<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("trees", &self.names)
            .field("staged", &self.staged.len())
            .finish()
    }
}

impl<'a> State<'a> {
    fn new(views: &'a [TransactionalTree], names: &'a [&'static str], now: Timestamp) -> Self {
        State {
            views,
            names,
            staged: Vec::new(),
            timers: Vec::new(),
            now,
        }
    }

    /// The runtime's clock reading for this batch or call (handlers never read the clock).
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Publishes `event` at `at` (or at once, if `at` has passed) — committed with everything
    /// else, so a timer survives restarts. `key` names the timer within the service:
    /// scheduling the same key again moves it, and [`State::cancel_timer`] removes it.
    pub fn schedule(&mut self, key: &str, at: Timestamp, event: Event) {
        self.timers.push(TimerChange::Set {
            key: key.to_owned(),
            at,
            event,
        });
    }

    /// Removes a pending timer (nothing happens if there is none).
    pub fn cancel_timer(&mut self, key: &str) {
        self.timers.push(TimerChange::Cancel {
            key: key.to_owned(),
        });
    }

    fn tree_index(&self, tree: &str) -> Result<usize, StateError> {
        self.names
            .iter()
            .position(|name| *name == tree)
            .ok_or_else(|| StateError::UnknownTree(tree.to_owned()))
    }

    /// The current bytes under `key`, including this handler's own staged writes.
    pub fn get(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        let index = self.tree_index(tree)?;
        let staged = self
            .staged
            .iter()
            .rev()
            .find(|(staged_tree, staged_key, _)| *staged_tree == index && staged_key == key);
        match staged {
            Some((_, _, value)) => Ok(value.clone()),
            None => Ok(self.views[index].get(key)?.map(|value| value.to_vec())),
        }
    }

    /// Stages `value` under `key`.
    pub fn insert(&mut self, tree: &str, key: &[u8], value: Vec<u8>) -> Result<(), StateError> {
        let index = self.tree_index(tree)?;
        self.staged.push((index, key.to_vec(), Some(value)));
        Ok(())
    }

    /// Stages the removal of `key`.
    pub fn remove(&mut self, tree: &str, key: &[u8]) -> Result<(), StateError> {
        let index = self.tree_index(tree)?;
        self.staged.push((index, key.to_vec(), None));
        Ok(())
    }

    /// Reads a value stored with [`State::put`].
    pub fn load<T: DeserializeOwned>(
        &self,
        tree: &str,
        key: &[u8],
    ) -> Result<Option<T>, StateError> {
        self.get(tree, key)?
            .map(|bytes| {
                codec::from_bytes(&bytes).map_err(|error| StateError::Corrupt {
                    tree: tree.to_owned(),
                    reason: error.to_string(),
                })
            })
            .transpose()
    }

    /// Stages a value, MessagePack-encoded.
    pub fn put<T: Serialize>(
        &mut self,
        tree: &str,
        key: &[u8],
        value: &T,
    ) -> Result<(), StateError> {
        let bytes = codec::to_bytes(value).map_err(|error| StateError::Encode {
            tree: tree.to_owned(),
            reason: error.to_string(),
        })?;
        self.insert(tree, key, bytes)
    }

    /// Writes the staged changes into the transaction; returns the timer changes.
    fn commit(self) -> Result<Vec<TimerChange>, UnabortableTransactionError> {
        for (index, key, value) in self.staged {
            match value {
                Some(value) => self.views[index].insert(key, value)?,
                None => self.views[index].remove(key)?,
            };
        }
        Ok(self.timers)
    }
}

/// Who is writing and how outgoing events are addressed.
#[derive(Debug, Clone)]
pub struct Producer {
    pub name: String,
    pub subjects: Subjects,
}

/// The service's sled database.
#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
    trees: Vec<Tree>,
    names: Vec<&'static str>,
    flushes: Arc<FlushGate>,
}

/// Group commit: callers that ask for a flush while one is running share the next one.
#[derive(Debug, Default)]
struct FlushGate {
    /// Flush requests so far (each caller takes a ticket).
    requested: AtomicU64,
    /// The highest ticket a completed flush covered; the lock serializes flushes.
    completed: tokio::sync::Mutex<u64>,
}

impl Store {
    /// Opens (or creates) the store with an explicit page-cache size.
    pub fn open(
        path: &Path,
        cache_bytes: u64,
        service_trees: &[&'static str],
    ) -> Result<Store, StoreError> {
        Self::open_with(path, cache_bytes, service_trees, Some(500))
    }

    /// A store being written from scratch by a rebuild: no background flushes (one flush at
    /// the end makes it durable before it is swapped in).
    pub fn open_for_rebuild(
        path: &Path,
        cache_bytes: u64,
        service_trees: &[&'static str],
    ) -> Result<Store, StoreError> {
        Self::open_with(path, cache_bytes, service_trees, None)
    }

    fn open_with(
        path: &Path,
        cache_bytes: u64,
        service_trees: &[&'static str],
        flush_every_ms: Option<u64>,
    ) -> Result<Store, StoreError> {
        let open_error = |source| StoreError::Open {
            path: path.display().to_string(),
            source,
        };
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(cache_bytes)
            .flush_every_ms(flush_every_ms)
            .open()
            .map_err(open_error)?;
        let mut trees = Vec::with_capacity(RUNTIME_TREES.len() + service_trees.len());
        for name in RUNTIME_TREES.iter().chain(service_trees) {
            trees.push(db.open_tree(name)?);
        }
        Ok(Store {
            db,
            trees,
            names: service_trees.to_vec(),
            flushes: Arc::default(),
        })
    }

    /// Reads one value stored with [`State::put`], outside any transaction (queries).
    pub fn read<T: DeserializeOwned>(
        &self,
        tree: &str,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        let Some(tree_handle) = self.tree(tree) else {
            return Err(StoreError::Encode(format!("unknown tree {tree:?}")));
        };
        tree_handle
            .get(key)?
            .map(|bytes| {
                codec::from_bytes(&bytes)
                    .map_err(|error| StoreError::Encode(format!("tree {tree:?}: {error}")))
            })
            .transpose()
    }

    /// Every value of a tree, in key order (queries).
    pub fn read_all<T: DeserializeOwned>(&self, tree: &str) -> Result<Vec<T>, StoreError> {
        let Some(tree_handle) = self.tree(tree) else {
            return Err(StoreError::Encode(format!("unknown tree {tree:?}")));
        };
        let mut values = Vec::new();
        for entry in tree_handle.iter() {
            let (_, bytes) = entry?;
            values.push(
                codec::from_bytes(&bytes)
                    .map_err(|error| StoreError::Encode(format!("tree {tree:?}: {error}")))?,
            );
        }
        Ok(values)
    }

    /// A service tree, for reads outside the consume loop (API queries, digests).
    pub fn tree(&self, name: &str) -> Option<&Tree> {
        let index = self.names.iter().position(|tree| *tree == name)?;
        self.trees.get(FIRST_SERVICE_TREE + index)
    }

    /// Applies a batch in one transaction: for each event, skip it if its id is in the inbox,
    /// otherwise run the handler and stage its writes and the inbox mark; the events the
    /// batch emits go into one outbox row. Nothing is durable until [`Store::flush`].
    pub fn apply_batch(
        &self,
        handler: &dyn Handler,
        producer: &Producer,
        batch: &[Incoming],
    ) -> Result<Vec<Outcome>, StoreError> {
        let result = self.trees[..].transaction(|views| {
            let mut outcomes = Vec::with_capacity(batch.len());
            let mut row = OutboxRow {
                records: Vec::new(),
            };
            for incoming in batch {
                let outcome =
                    self.apply_one(views, handler, producer, incoming, &mut row.records)?;
                outcomes.push(outcome);
            }
            if !row.records.is_empty() {
                let bytes =
                    codec::to_bytes(&row).map_err(|error| abort_encode(error.to_string()))?;
                views[OUTBOX].insert(&views[OUTBOX].generate_id()?.to_be_bytes(), bytes)?;
            }
            Ok(outcomes)
        });
        result.map_err(|error| match error {
            TransactionError::Abort(error) => error,
            TransactionError::Storage(error) => StoreError::Sled(error),
        })
    }

    fn apply_one(
        &self,
        views: &[TransactionalTree],
        handler: &dyn Handler,
        producer: &Producer,
        incoming: &Incoming,
        outbox: &mut Vec<OutboxRecord>,
    ) -> Result<Outcome, ConflictableTransactionError<StoreError>> {
        let event_id = incoming.envelope.event_id.as_bytes();
        if views[INBOX].get(event_id)?.is_some() {
            return Ok(Outcome::Duplicate);
        }
        let mut state = State::new(&views[FIRST_SERVICE_TREE..], &self.names, incoming.now);
        let envelope = &incoming.envelope;
        let span = tracing::info_span!(
            "event",
            event_id = %envelope.event_id,
            event_type = %envelope.event_type,
            correlation_id = %envelope.correlation_id,
            trace_id = %envelope.traceparent.map(|parent| parent.trace_id_hex()).unwrap_or_default(),
        );
        let result = span
            .in_scope(|| catch_unwind(AssertUnwindSafe(|| handler.handle(&mut state, incoming))));
        let emitted = match result {
            Ok(Ok(emitted)) => emitted,
            Ok(Err(HandleError::State(StateError::Storage(error)))) => return Err(error.into()),
            Ok(Err(error)) => return Ok(Outcome::Invalid(error.to_string())),
            Err(panic) => {
                return Ok(Outcome::Invalid(format!(
                    "handler panicked: {}",
                    panic_message(&panic)
                )));
            }
        };
        let timers = state.commit()?;
        for event in &emitted {
            let record = outbox_record(producer, &incoming.envelope, incoming.now, event)
                .map_err(ConflictableTransactionError::Abort)?;
            outbox.push(record);
        }
        for change in timers {
            let record = |event: &Event| {
                outbox_record(producer, &incoming.envelope, incoming.now, event)
                    .map_err(ConflictableTransactionError::Abort)
            };
            apply_timer_change(&views[TIMERS], &views[TIMER_INDEX], change, record)?;
        }
        views[INBOX].insert(event_id, &incoming.now.unix_millis().to_be_bytes())?;
        Ok(Outcome::Applied {
            emitted: emitted.len(),
        })
    }

    /// Runs a command (an API call) as one transaction: `command` reads and stages writes
    /// through [`State`] and returns its result with the events to publish, which go into one
    /// outbox row with new root envelopes (correlation id = each event's key). A command that
    /// returns `Err` changes nothing. Call [`Store::flush`] before replying.
    pub fn execute<T>(
        &self,
        producer: &Producer,
        now: Timestamp,
        command: impl Fn(&mut State<'_>) -> Result<(T, Vec<Event>), ApiError>,
    ) -> Result<T, CommandError<ApiError>> {
        let result = self.trees[..].transaction(|views| {
            let mut state = State::new(&views[FIRST_SERVICE_TREE..], &self.names, now);
            let (value, events) = match command(&mut state) {
                Ok(done) => done,
                Err(ApiError {
                    conflict: Some(conflict),
                    ..
                }) => return Err(conflict.into()),
                Err(rejection) => {
                    return Err(ConflictableTransactionError::Abort(CommandError::Rejected(
                        rejection,
                    )));
                }
            };
            let timers = state.commit()?;
            let mut row = OutboxRow {
                records: Vec::with_capacity(events.len()),
            };
            let mut root = None;
            for event in &events {
                let envelope = Envelope {
                    traceparent: Some(events::TraceParent::new_root()),
                    ..Envelope::new(event.event_type(), now, &producer.name, event.key())
                };
                let record = new_outbox_record(producer, &envelope, event).map_err(abort_store)?;
                row.records.push(record);
                root.get_or_insert(envelope);
            }
            for change in timers {
                let record = |event: &Event| {
                    let envelope = match &root {
                        Some(cause) => {
                            Envelope::caused_by(cause, event.event_type(), now, &producer.name)
                        }
                        None => Envelope::new(event.event_type(), now, &producer.name, event.key()),
                    };
                    new_outbox_record(producer, &envelope, event).map_err(abort_store)
                };
                apply_timer_change(&views[TIMERS], &views[TIMER_INDEX], change, record)?;
            }
            if !row.records.is_empty() {
                let bytes = codec::to_bytes(&row)
                    .map_err(|error| abort_store(StoreError::Encode(error.to_string())))?;
                views[OUTBOX].insert(&views[OUTBOX].generate_id()?.to_be_bytes(), bytes)?;
            }
            Ok(value)
        });
        result.map_err(|error| match error {
            TransactionError::Abort(error) => error,
            TransactionError::Storage(error) => CommandError::Store(StoreError::Sled(error)),
        })
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
            // read again inside the transaction: a handler may have moved or cancelled a timer
            // since the scan above, and a cancelled deadline must not fire
            let mut row = OutboxRow { records: Vec::new() };
            for row_key in &due {
                let Some(value) = timers.remove(row_key)? else { continue };
                let name = &row_key[8..];
                if index.get(name)?.as_deref() == Some(&row_key[..8]) {
                    index.remove(name)?;
                }
                match codec::from_bytes::<OutboxRecord>(&value) {
                    Ok(mut record) => {
                        restamp(&mut record, now);
                        row.records.push(record);
                    }
                    Err(error) => tracing::error!(%error, key = ?row_key, "timer row does not decode; dropped"),
                }
            }
            if !row.records.is_empty() {
                let bytes = codec::to_bytes(&row)
                    .map_err(|error| ConflictableTransactionError::Abort(StoreError::Encode(error.to_string())))?;
                outbox.insert(&outbox.generate_id()?.to_be_bytes(), bytes)?;
            }
            Ok(row.records.len())
        });
        result.map_err(|error| match error {
            TransactionError::Abort(error) => error,
            TransactionError::Storage(error) => StoreError::Sled(error),
        })
    }

    /// Timers waiting to fire.
    pub fn pending_timers(&self) -> usize {
        self.trees[TIMERS].len()
    }

    /// [`Store::flush`] for code already on a blocking thread.
    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Makes everything committed so far durable (fsync of sled's log). Call before acking.
    ///
    /// This is sled's synchronous `flush` on tokio's blocking pool, not `flush_async`: the
    /// latter runs on sled's own small thread pool, which also writes the log buffers a flush
    /// waits for. With several flushes in flight (consume loops, API commands, timers) every
    /// pool thread can end up waiting for a write queued behind it — a deadlock we hit with
    /// the whole shop in one process.
    ///
    /// Concurrent callers share flushes: a flush that starts after a caller asked covers that
    /// caller's writes, so many API commands in flight cost a few fsyncs, not one each.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let ticket = self.flushes.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut completed = self.flushes.completed.lock().await;
        if *completed >= ticket {
            return Ok(());
        }
        let covers = self.flushes.requested.load(Ordering::SeqCst);
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|error| StoreError::Encode(format!("flush task failed: {error}")))??;
        *completed = covers;
        Ok(())
    }

    /// Outbox rows, oldest first, until they hold at least `min_records` events.
    pub fn outbox_batch(
        &self,
        min_records: usize,
    ) -> Result<Vec<(sled::IVec, OutboxRow)>, StoreError> {
        let mut rows = Vec::new();
        let mut records = 0;
        for entry in self.trees[OUTBOX].iter() {
            let (key, value) = entry?;
            match codec::from_bytes::<OutboxRow>(&value) {
                Ok(row) => {
                    records += row.records.len();
                    rows.push((key, row));
                }
                Err(error) => {
                    tracing::error!(%error, key = ?key, "outbox row does not decode; left in place")
                }
            }
            if records >= min_records {
                break;
            }
        }
        Ok(rows)
    }

    /// Adds a row of events that no incoming event caused (API calls, timers), durably.
    pub async fn append_outbox(&self, records: Vec<OutboxRecord>) -> Result<(), StoreError> {
        let row = OutboxRow { records };
        let bytes = codec::to_bytes(&row).map_err(|error| StoreError::Encode(error.to_string()))?;
        let outbox = &self.trees[OUTBOX];
        outbox.insert(self.db.generate_id()?.to_be_bytes(), bytes)?;
        self.flush().await
    }

    /// Removes a published outbox row.
    pub fn outbox_remove(&self, key: &[u8]) -> Result<(), StoreError> {
        self.trees[OUTBOX].remove(key)?;
        Ok(())
    }

    /// Events waiting in the outbox (reads every row: call it rarely).
    pub fn outbox_len(&self) -> usize {
        self.trees[OUTBOX]
            .iter()
            .filter_map(Result::ok)
            .filter_map(|(_, value)| codec::from_bytes::<OutboxRow>(&value).ok())
            .map(|row| row.records.len())
            .sum()
    }

    /// Forgets inbox marks applied before `cutoff`; returns how many were removed. Walks the
    /// whole inbox (a read costs well under a microsecond), so it runs rarely.
    pub fn prune_inbox(&self, cutoff: Timestamp) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in self.trees[INBOX].iter() {
            let (key, applied_at) = entry?;
            let millis = <[u8; 8]>::try_from(&applied_at[..])
                .map(i64::from_be_bytes)
                .unwrap_or(i64::MIN);
            if millis < cutoff.unix_millis() {
                self.trees[INBOX].remove(&key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Whether an event id is in the inbox (already applied).
    pub fn inbox_contains(&self, event_id: &str) -> Result<bool, StoreError> {
        Ok(self.trees[INBOX].contains_key(event_id.as_bytes())?)
    }

    /// Folds a batch of events into state with the handler's `evolve`, in one transaction;
    /// events of the types the service consumes are marked in the inbox, as live processing
    /// would have. For rebuilds.
    pub fn evolve_batch(
        &self,
        handler: &dyn Handler,
        batch: &[Incoming],
    ) -> Result<(), StoreError> {
        let consumed = handler.consumes();
        let result = self.trees[..].transaction(|views| {
            for incoming in batch {
                let mut state = State::new(&views[FIRST_SERVICE_TREE..], &self.names, incoming.now);
                match handler.evolve(&mut state, incoming) {
                    Ok(()) => {}
                    Err(HandleError::State(StateError::Storage(error))) => return Err(error.into()),
                    Err(error) => {
                        return Err(ConflictableTransactionError::Abort(StoreError::Encode(
                            format!(
                                "cannot fold {} {}: {error}",
                                incoming.envelope.event_type, incoming.envelope.event_id
                            ),
                        )));
                    }
                }
                state.commit()?;
                if consumed.contains(&incoming.envelope.event_type) {
                    let event_id = incoming.envelope.event_id.as_bytes();
                    views[INBOX].insert(event_id, &incoming.now.unix_millis().to_be_bytes())?;
                }
            }
            Ok(())
        });
        result.map_err(|error| match error {
            TransactionError::Abort(error) => error,
            TransactionError::Storage(error) => StoreError::Sled(error),
        })
    }

    /// The digest of the named trees only (see [`Store::digest`]).
    pub fn digest_of(&self, trees: &[&str]) -> Result<u64, StoreError> {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |bytes: &[u8]| {
            for byte in (bytes.len() as u64).to_be_bytes().iter().chain(bytes) {
                hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
            }
        };
        for (name, tree) in self.names.iter().zip(&self.trees[FIRST_SERVICE_TREE..]) {
            if !trees.contains(name) {
                continue;
            }
            feed(name.as_bytes());
            for entry in tree.iter() {
                let (key, value) = entry?;
                feed(&key);
                feed(&value);
            }
        }
        Ok(hash)
    }

    /// A stable 64-bit digest (FNV-1a) of every service tree, to compare two stores' state.
    pub fn digest(&self) -> Result<u64, StoreError> {
        let names = self.names.clone();
        self.digest_of(&names)
    }
}

fn abort_encode(reason: String) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(StoreError::Encode(reason))
}

fn abort_store<E>(error: StoreError) -> ConflictableTransactionError<CommandError<E>> {
    ConflictableTransactionError::Abort(CommandError::Store(error))
}

/// Why a command did not commit.
#[derive(Debug, thiserror::Error)]
pub enum CommandError<E> {
    /// The command refused (bad input, unknown entity, conflict): nothing changed.
    #[error("command rejected")]
    Rejected(E),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Sets, moves or cancels a named timer: rows are keyed by due time ‖ name, and the index
/// maps each name to its due time.
fn apply_timer_change<E>(
    timers: &TransactionalTree,
    index: &TransactionalTree,
    change: TimerChange,
    record: impl Fn(&Event) -> Result<OutboxRecord, ConflictableTransactionError<E>>,
) -> Result<(), ConflictableTransactionError<E>> {
    let key = match &change {
        TimerChange::Set { key, .. } | TimerChange::Cancel { key } => key.clone(),
    };
    if let Some(old_at) = index.remove(key.as_bytes())? {
        timers.remove([&old_at[..], key.as_bytes()].concat())?;
    }
    if let TimerChange::Set { at, event, .. } = change {
        let due = at.unix_millis().to_be_bytes();
        let bytes = codec::to_bytes(&record(&event)?).map_err(|error| {
            ConflictableTransactionError::Storage(sled::Error::Unsupported(error.to_string()))
        })?;
        timers.insert([&due[..], key.as_bytes()].concat(), bytes)?;
        index.insert(key.as_bytes(), &due)?;
    }
    Ok(())
}

/// A fired timer's event happened when it fired, not when it was scheduled.
fn restamp(record: &mut OutboxRecord, now: Timestamp) {
    for (name, value) in &mut record.headers {
        if name == events::header::OCCURRED_AT {
            *value = now.to_string();
        }
    }
}

/// The outbox row for an event caused by `cause`.
fn outbox_record(
    producer: &Producer,
    cause: &Envelope,
    now: Timestamp,
    event: &Event,
) -> Result<OutboxRecord, StoreError> {
    let envelope = Envelope::caused_by(cause, event.event_type(), now, &producer.name);
    new_outbox_record(producer, &envelope, event)
}

/// The outbox row for `event` with `envelope`.
pub fn new_outbox_record(
    producer: &Producer,
    envelope: &Envelope,
    event: &Event,
) -> Result<OutboxRecord, StoreError> {
    let subject = producer
        .subjects
        .for_event(event)
        .map_err(|error| StoreError::Encode(error.to_string()))?;
    let payload = codec::encode(event).map_err(|error| StoreError::Encode(error.to_string()))?;
    let headers = envelope
        .to_headers()
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    Ok(OutboxRecord {
        subject,
        headers,
        payload: Bytes::from(payload),
    })
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store, Producer) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store"), 8 * 1024 * 1024, &["things"]).unwrap();
        let producer = Producer {
            name: "test".into(),
            subjects: Subjects::default(),
        };
        (dir, store, producer)
    }

    fn schedule(store: &Store, producer: &Producer, key: &'static str, at: Timestamp) {
        store
            .execute(producer, Timestamp::UNIX_EPOCH, |state| {
                state.schedule(
                    key,
                    at,
                    events::samples::sample(events::EventType::DeadlinePassed),
                );
                Ok(((), vec![]))
            })
            .unwrap();
    }

    #[test]
    fn timers_fire_when_due_and_can_be_moved_or_cancelled() {
        let (_dir, store, producer) = store();
        let t = |millis| Timestamp::from_unix_millis(millis).unwrap();
        schedule(&store, &producer, "a", t(100));
        schedule(&store, &producer, "b", t(100));
        schedule(&store, &producer, "b", t(300)); // moved
        schedule(&store, &producer, "c", t(100));
        store
            .execute(&producer, t(0), |state| {
                state.cancel_timer("c");
                Ok(((), vec![]))
            })
            .unwrap();
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
        assert_eq!(store.outbox_len(), 2);
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

    #[test]
    fn a_refused_command_changes_nothing() {
        let (_dir, store, producer) = store();
        let result: Result<(), _> = store.execute(&producer, Timestamp::UNIX_EPOCH, |state| {
            state.insert("things", b"k", b"v".to_vec())?;
            state.schedule("t", Timestamp::UNIX_EPOCH, events::samples::order_placed());
            Err(ApiError::conflict("no"))
        });
        assert!(matches!(result, Err(CommandError::Rejected(ref error)) if error.code == 409));
        assert!(store.tree("things").unwrap().is_empty());
        assert_eq!(store.pending_timers(), 0);
        assert_eq!(store.outbox_len(), 0);
    }
}
