//! The service's sled store: its own trees plus the runtime's inbox, outbox and timers, and
//! the transactions that change them. One file per job:
//!
//! - [`state`]: [`State`], a step's window on the service's trees;
//! - [`batch`]: a batch of incoming events, applied in one transaction;
//! - [`command`]: an API command, in one transaction;
//! - [`timers`]: timers set by `decide`, fired into the outbox when due;
//! - [`outbox`]: the rows the relay publishes;
//! - [`inbox`]: event ids already applied;
//! - [`fold`]: folding events into a fresh store (rebuilds);
//! - [`digest`]: a stable digest of the service's trees, to compare two stores;
//! - `handover`: a partition's rows deleted for a take-over, and the claim they were built
//!   under (the default tree's `_runtime.claim.<index>`);
//! - `flush`: group commit, and [`durable`]: which outbox rows a completed flush covered;
//! - [`location`]: which directory inside the data directory holds the store in use.
//!
//! Runtime trees:
//! - `_runtime.inbox`: event id → applied-at millis (then the reason, for an event refused
//!   with `HandleError::Refused`); a redelivered event id is skipped (or dead-lettered again).
//! - `_runtime.outbox`: sequence (big-endian u64) → [`OutboxRow`], the events one batch
//!   emitted; the relay publishes rows in key order and deletes a row when all its events are
//!   acknowledged.
//! - `_runtime.timers`: due-at millis (big-endian) ‖ timer key → [`OutboxRecord`]: events a
//!   service scheduled for later (saga deadlines, shipping delays). When due they move to the
//!   outbox, so they survive restarts and go through the event log like any other event.
//! - `_runtime.timer_index`: timer key → due-at millis, so a timer can be moved or cancelled:
//!   a row of `_runtime.timers` the index does not point at is stale (moved or cancelled),
//!   dropped when its old due time comes, never fired.
//!
//! - the default tree's `_runtime.layout`: how the service trees keep their keys (whole, or
//!   per partition with the shared trees named; see [`state`]), written when the store is
//!   created, so a reader knows and a service whose layout changed is told to rebuild.
//!
//! Why one outbox row per batch rather than per event: a sled write costs 5-10 µs on this
//! machine class, so the number of writes per event is what bounds throughput (see
//! docs/performance.md). Per event we write the inbox mark and the service's own state.

pub(crate) mod batch;
pub(crate) mod command;
pub(crate) mod digest;
pub(crate) mod durable;
mod flush;
pub(crate) mod fold;
mod handover;
pub(crate) mod inbox;
mod layout;
pub(crate) mod location;
mod merge;
pub(crate) mod outbox;
#[cfg(test)]
mod partitioned;
mod reads;
pub(crate) mod state;
mod step;
#[cfg(test)]
pub(crate) mod test_support;
pub(crate) mod timers;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use events::codec;
use events::partition::Partitions;
use outbox::OutboxRow;
use serde::de::DeserializeOwned;
use sled::Tree;
use sled::transaction::TransactionError;

use layout::{LAYOUT_KEY, Layout};
use state::TreeSet;
pub use state::{Phase, State, StateError};
pub(crate) use step::Command;

pub(crate) const INBOX: usize = 0;
pub(crate) const OUTBOX: usize = 1;
pub(crate) const TIMERS: usize = 2;
pub(crate) const TIMER_INDEX: usize = 3;
pub(crate) const FIRST_SERVICE_TREE: usize = 4;
const RUNTIME_TREES: [&str; 4] = [
    "_runtime.inbox",
    "_runtime.outbox",
    "_runtime.timers",
    "_runtime.timer_index",
];

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("failed to open sled store at {path}: {source}")]
    Open { path: String, source: sled::Error },
    #[error("sled storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("failed to encode an outgoing event: {0}")]
    Encode(String),
    #[error("stored value in tree {tree:?} does not decode: {reason}")]
    Corrupt { tree: String, reason: String },
    #[error("tree {0:?} is not declared by this service")]
    UnknownTree(String),
    #[error("{0}")]
    Fold(String),
    /// The service produced an event its consumers would reject (a bug in the service): the
    /// step that produced it commits nothing.
    #[error("{0}")]
    InvalidEvent(String),
    #[error("flush task failed: {0}")]
    FlushTask(String),
    #[error(
        "the store at {path} keeps its trees {found}, and the service now keeps them {expected}: rebuild it (`shopctl rebuild <service>`, or the binary's --rebuild)"
    )]
    Layout {
        path: String,
        found: String,
        expected: String,
    },
    #[error("cannot tell which store is in use in {path}: {source}")]
    Location {
        path: String,
        source: std::io::Error,
    },
}

/// The service's sled database.
#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
    trees: Vec<Tree>,
    names: Vec<&'static str>,
    local: Vec<&'static str>,
    layout: Layout,
    /// The trees `layout` names shared, as `names` spells them.
    shared: Vec<&'static str>,
    flushes: Arc<flush::FlushGate>,
    counts: Arc<Counts>,
    durable: Arc<durable::Durable>,
}

/// The store's counters without the store: what `$SRV.STATS` reads from a handler that
/// async-nats drops whenever it likes (holding the store there would keep its lock after the
/// service stopped).
#[derive(Debug, Clone)]
pub(crate) struct Counters(Arc<Counts>);

impl Counters {
    pub(crate) fn outbox_len(&self) -> usize {
        usize::try_from(self.0.outbox.load(Ordering::SeqCst)).unwrap_or(0)
    }

    pub(crate) fn pending_timers(&self) -> usize {
        usize::try_from(self.0.timers.load(Ordering::SeqCst)).unwrap_or(0)
    }
}

impl Store {
    pub(crate) fn counters(&self) -> Counters {
        Counters(self.counts.clone())
    }
}

/// What `status` and `$SRV.STATS` report about the store, kept as counters (counted once at
/// open, then updated by every commit) so that answering never scans a tree.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Events in the outbox.
    pub(crate) outbox: std::sync::atomic::AtomicI64,
    /// Pending timers.
    pub(crate) timers: std::sync::atomic::AtomicI64,
}

impl Store {
    /// Opens (or creates) the store in use in data directory `path` (see [`location`]), with
    /// an explicit page-cache size, for reading and for tools (no local trees: see
    /// [`Store::open_service`]).
    pub fn open(
        path: &Path,
        cache_bytes: u64,
        service_trees: &[&'static str],
    ) -> Result<Store, StoreError> {
        Self::open_with(&in_use(path)?, cache_bytes, service_trees, Some(500))
    }

    /// Opens a running service's store: `local` names the trees `decide` may write.
    pub(crate) fn open_service(
        path: &Path,
        cache_bytes: u64,
        trees: TreeSet<'static>,
    ) -> Result<Store, StoreError> {
        let dir = in_use(path)?;
        let mut store = Self::open_with(&dir, cache_bytes, trees.names, Some(500))?;
        store.local = trees.local.to_vec();
        store.lay_out(&dir, &trees)
    }

    /// Writes the layout of `trees` into a new store; checks that an existing one has it.
    fn lay_out(mut self, path: &Path, trees: &TreeSet<'_>) -> Result<Store, StoreError> {
        let expected = Layout::of(trees);
        if self.is_new() {
            let bytes =
                codec::to_bytes(&expected).map_err(|e| StoreError::Encode(e.to_string()))?;
            self.db.insert(LAYOUT_KEY, bytes)?;
            self.set_layout(expected);
        } else if self.layout != expected {
            return Err(StoreError::Layout {
                path: path.display().to_string(),
                found: self.layout.to_string(),
                expected: expected.to_string(),
            });
        }
        Ok(self)
    }

    fn set_layout(&mut self, layout: Layout) {
        self.shared = self
            .names
            .iter()
            .copied()
            .filter(|name| layout.shared.iter().any(|shared| shared == name))
            .collect();
        self.layout = layout;
    }

    /// Whether the store was created by this open (it held nothing before).
    pub fn is_new(&self) -> bool {
        !self.db.was_recovered()
    }

    /// A store in a temporary directory that sled removes when it is dropped (tests).
    pub(crate) fn open_temporary(trees: TreeSet<'static>) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .temporary(true)
            .cache_capacity(8 * 1024 * 1024)
            .open()?;
        let mut handles = Vec::with_capacity(RUNTIME_TREES.len() + trees.names.len());
        for name in RUNTIME_TREES.iter().chain(trees.names) {
            handles.push(db.open_tree(name)?);
        }
        let mut store = Store {
            db,
            trees: handles,
            names: trees.names.to_vec(),
            local: trees.local.to_vec(),
            layout: Layout::default(),
            shared: Vec::new(),
            flushes: Arc::default(),
            counts: Arc::default(),
            durable: Arc::default(),
        };
        store.set_layout(Layout::of(&trees));
        Ok(store.counted())
    }

    /// A store being written from scratch by a rebuild: no background flushes (one flush at
    /// the end makes it durable before it is swapped in).
    pub(crate) fn open_for_rebuild(
        path: &Path,
        cache_bytes: u64,
        trees: TreeSet<'static>,
    ) -> Result<Store, StoreError> {
        let mut store = Self::open_with(path, cache_bytes, trees.names, None)?;
        store.local = trees.local.to_vec();
        store.lay_out(path, &trees)
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
        let layout = match db.get(LAYOUT_KEY)? {
            Some(bytes) => decode("_runtime.layout", &bytes)?,
            None => Layout::default(),
        };
        let mut store = Store {
            db,
            trees,
            names: service_trees.to_vec(),
            local: Vec::new(),
            layout: Layout::default(),
            shared: Vec::new(),
            flushes: Arc::default(),
            counts: Arc::default(),
            durable: Arc::default(),
        };
        store.set_layout(layout);
        Ok(store.counted())
    }

    /// Counts the outbox's events and the pending timers once.
    fn counted(self) -> Store {
        let mut outbox = 0;
        for (key, value) in self.trees[OUTBOX].iter().filter_map(Result::ok) {
            if let Ok(row) = codec::from_bytes::<OutboxRow>(&value) {
                outbox += row.records.len();
            }
            self.durable.on_disk(flush::outbox_key(&key));
        }
        let timers = self.trees[TIMER_INDEX].len();
        self.counts.outbox.store(outbox as i64, Ordering::SeqCst);
        self.counts.timers.store(timers as i64, Ordering::SeqCst);
        self
    }

    /// Records what a committed transaction added to the outbox and the timers.
    pub(crate) fn count(&self, outbox: i64, timers: i64) {
        self.counts.outbox.fetch_add(outbox, Ordering::SeqCst);
        self.counts.timers.fetch_add(timers, Ordering::SeqCst);
    }

    /// The service's trees, as a [`State`] sees them.
    pub(crate) fn tree_set(&self) -> TreeSet<'_> {
        TreeSet {
            names: &self.names,
            local: &self.local,
            shared: &self.shared,
            partitions: self.layout.partitions(),
        }
    }

    /// The partitions this store's layout keeps apart (one, in a store kept whole).
    pub(crate) fn partitions(&self) -> Partitions {
        self.layout.partitions().unwrap_or(Partitions::ONE)
    }

    /// The partition `key` belongs to in this store (0 in a store kept whole).
    pub fn partition_of(&self, key: &str) -> events::partition::Partition {
        let partitions = self.layout.partitions();
        partitions.unwrap_or(Partitions::ONE).of(key)
    }

    /// A service tree, for reads outside the consume loop (API queries, digests).
    pub fn tree(&self, name: &str) -> Option<&Tree> {
        let index = self.names.iter().position(|tree| *tree == name)?;
        self.trees.get(FIRST_SERVICE_TREE + index)
    }

    fn known_tree(&self, name: &str) -> Result<&Tree, StoreError> {
        self.tree(name)
            .ok_or_else(|| StoreError::UnknownTree(name.to_owned()))
    }
}

/// The directory of the store in use in data directory `path`.
fn in_use(path: &Path) -> Result<std::path::PathBuf, StoreError> {
    location::resolve(path).map_err(|source| StoreError::Location {
        path: path.display().to_string(),
        source,
    })
}

fn decode<T: DeserializeOwned>(tree: &str, bytes: &[u8]) -> Result<T, StoreError> {
    codec::from_bytes(bytes).map_err(|error| StoreError::Corrupt {
        tree: tree.to_owned(),
        reason: error.to_string(),
    })
}

/// The store's error for a failed transaction whose abort error is already a [`StoreError`].
fn transaction_error(error: TransactionError<StoreError>) -> StoreError {
    match error {
        TransactionError::Abort(error) => error,
        TransactionError::Storage(error) => StoreError::Sled(error),
    }
}
