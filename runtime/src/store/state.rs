//! [`State`]: a handler's window on the service's trees inside one sled transaction.
//!
//! Writes are staged and reach the transaction only when the whole step succeeds, so a
//! refused event or command leaves no trace. Which trees a step may write depends on its
//! [`Phase`]: `evolve` writes the trees that are a fold of events, `decide` may only read
//! them (and write the service's *local* trees, state that no event records, such as carts).
//! That split is what makes a rebuilt store equal to the live one: every folded byte was
//! written by the same `evolve`, live or rebuilt.
//!
//! A service that scales out keeps its state per partition (docs/scaling.md, "Take-over"):
//! a step is for one partition, and the keys of the trees it reads and writes are the
//! service's keys behind the partition's index (two bytes, big-endian), so a partition's rows
//! can be found, deleted and rebuilt apart from the others. Its *shared* trees (reference
//! data every instance keeps whole) are not partitioned: only a step for every partition
//! ([`Route::Everywhere`](crate::Route)) writes them, and every step reads them. A service
//! that does not scale out keeps every tree whole, as it always did.
//!
//! A storage failure inside a step (a sled conflict, most often) is remembered here, so the
//! transaction that owns this view can re-run or fail with it whatever error type the
//! service's code turned it into.

use std::borrow::Cow;
use std::cell::RefCell;

use events::partition::{Partition, Partitions};
use events::{Event, Timestamp, codec};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::transaction::{TransactionalTree, UnabortableTransactionError};

use super::{FIRST_SERVICE_TREE, TIMER_INDEX};

/// Why a handler's state access failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StateError {
    #[error("storage conflict or failure: {0}")]
    Storage(UnabortableTransactionError),
    #[error("tree {0:?} is not declared by this service")]
    UnknownTree(String),
    #[error("tree {tree:?} cannot be written while the service {phase}")]
    ReadOnly { tree: String, phase: Phase },
    #[error("timers can only be set or cancelled while the service decides")]
    TimerOutsideDecide,
    #[error("{0}")]
    InvalidEvent(String),
    #[error("stored value in tree {tree:?} does not decode: {reason}")]
    Corrupt { tree: String, reason: String },
    #[error("value for tree {tree:?} does not encode: {reason}")]
    Encode { tree: String, reason: String },
    /// A step for every partition (reference data) touched a partitioned tree.
    #[error(
        "tree {0:?} is kept per partition, and this step is for every partition (reference data changes only shared trees)"
    )]
    NoPartition(String),
    /// A step for one partition wrote a shared tree.
    #[error(
        "tree {0:?} is shared by every partition: only events for every partition (reference data) change it"
    )]
    Shared(String),
}

/// What the code holding a [`State`] is doing, which decides what it may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Choosing what happens: reads everything, writes only local trees, sets timers.
    Decide,
    /// Folding a fact into state: writes only folded trees.
    Evolve,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Decide => "decides (folded trees change only through evolve)",
            Phase::Evolve => "evolves (local trees change only in decide)",
        })
    }
}

/// The service's trees: their names, which are local (written by `decide`, not folded),
/// which are shared by every partition, and the partitions its other trees are kept in
/// (`None`: a service that does not scale out keeps every tree whole).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TreeSet<'a> {
    pub names: &'a [&'static str],
    pub local: &'a [&'static str],
    pub shared: &'a [&'static str],
    pub partitions: Option<Partitions>,
}

impl TreeSet<'_> {
    /// Whether `tree` keeps its keys per partition.
    pub(crate) fn partitioned(&self, tree: &str) -> bool {
        self.partitions.is_some() && !self.shared.contains(&tree)
    }
}

/// The index that prefixes the inbox marks of events for every partition.
pub(crate) const EVERYWHERE: u16 = u16::MAX;

/// `key` as stored for partition `index`: the index (big-endian), then the key.
pub(crate) fn partition_key(index: u16, key: &[u8]) -> Vec<u8> {
    let mut stored = Vec::with_capacity(2 + key.len());
    stored.extend_from_slice(&index.to_be_bytes());
    stored.extend_from_slice(key);
    stored
}

/// The inbox key of an event applied for `partition` (`None`: for every partition) in a
/// store of this layout.
pub(crate) fn inbox_key<'k>(
    trees: &TreeSet<'_>,
    partition: Option<Partition>,
    event_id: &'k str,
) -> Cow<'k, [u8]> {
    match trees.partitions {
        None => Cow::Borrowed(event_id.as_bytes()),
        Some(_) => Cow::Owned(partition_key(
            partition.map_or(EVERYWHERE, Partition::index),
            event_id.as_bytes(),
        )),
    }
}

/// A change to a named timer, staged by `decide`.
#[derive(Debug, Clone)]
pub(crate) enum TimerChange {
    Set {
        key: String,
        at: Timestamp,
        event: Event,
    },
    Cancel {
        key: String,
    },
}

type Staged = (usize, Vec<u8>, Option<Vec<u8>>);

/// Checks an event a service is about to publish with the validator its consumers run, so
/// a service that decides an invalid event fails loudly instead of publishing it.
pub(crate) fn check_outgoing(event: &Event) -> Result<(), String> {
    event.validate().map_err(|error| {
        format!(
            "the service decided an invalid {} (its consumers would reject it): {error}",
            event.event_type()
        )
    })
}

/// A handler's window on the service's trees inside the batch transaction.
pub struct State<'a> {
    views: &'a [TransactionalTree],
    timer_index: &'a TransactionalTree,
    trees: TreeSet<'a>,
    /// The partition this step is for (`None`: every partition, reference data).
    partition: Option<Partition>,
    phase: Phase,
    staged: Vec<Staged>,
    timers: Vec<TimerChange>,
    now: Timestamp,
    storage_failure: RefCell<Option<UnabortableTransactionError>>,
}

impl std::fmt::Debug for State<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("trees", &self.trees.names)
            .field("phase", &self.phase)
            .field("staged", &self.staged.len())
            .finish()
    }
}

impl<'a> State<'a> {
    /// `views` are all of the store's trees in the transaction, the runtime's first; the step
    /// is for `partition` (`None`: for every partition; ignored when every tree is whole).
    pub(crate) fn new(
        views: &'a [TransactionalTree],
        trees: TreeSet<'a>,
        partition: Option<Partition>,
        now: Timestamp,
    ) -> Self {
        State {
            views: &views[FIRST_SERVICE_TREE..],
            timer_index: &views[TIMER_INDEX],
            trees,
            partition,
            phase: Phase::Decide,
            staged: Vec::new(),
            timers: Vec::new(),
            now,
            storage_failure: RefCell::new(None),
        }
    }

    /// The runtime's clock reading for this batch or call (handlers never read the clock).
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The partition this step is for: `None` for a step for every partition (reference
    /// data), and in a service that does not scale out.
    pub fn partition(&self) -> Option<Partition> {
        self.trees.partitions.and(self.partition)
    }

    /// What the holder of this view may do now.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub(crate) fn set_phase(&mut self, phase: Phase, now: Timestamp) {
        self.phase = phase;
        self.now = now;
    }

    /// Publishes `event` at `at` (or at once, if `at` has passed) — committed with everything
    /// else, so a timer survives restarts. `key` names the timer within the service:
    /// scheduling the same key again moves it, and [`State::cancel_timer`] removes it.
    pub fn schedule(&mut self, key: &str, at: Timestamp, event: Event) -> Result<(), StateError> {
        self.require_decide()?;
        check_outgoing(&event).map_err(StateError::InvalidEvent)?;
        self.timers.push(TimerChange::Set {
            key: key.to_owned(),
            at,
            event,
        });
        Ok(())
    }

    /// Removes a pending timer (nothing happens if there is none).
    pub fn cancel_timer(&mut self, key: &str) -> Result<(), StateError> {
        self.require_decide()?;
        self.timers.push(TimerChange::Cancel {
            key: key.to_owned(),
        });
        Ok(())
    }

    /// Whether the timer `key` is still waiting to fire, counting this step's own changes.
    /// Read inside the transaction: a timer that fired (its event is in the outbox) is not
    /// pending, and firing cannot race this step.
    pub fn timer_pending(&self, key: &str) -> Result<bool, StateError> {
        let staged = self.timers.iter().rev().find_map(|change| match change {
            TimerChange::Set { key: staged, .. } if staged == key => Some(true),
            TimerChange::Cancel { key: staged } if staged == key => Some(false),
            _ => None,
        });
        match staged {
            Some(pending) => Ok(pending),
            None => match self.timer_index.get(key.as_bytes()) {
                Ok(found) => Ok(found.is_some()),
                Err(error) => Err(self.remember(error)),
            },
        }
    }

    fn require_decide(&self) -> Result<(), StateError> {
        match self.phase {
            Phase::Decide => Ok(()),
            Phase::Evolve => Err(StateError::TimerOutsideDecide),
        }
    }

    fn tree_index(&self, tree: &str) -> Result<usize, StateError> {
        self.trees
            .names
            .iter()
            .position(|name| *name == tree)
            .ok_or_else(|| StateError::UnknownTree(tree.to_owned()))
    }

    fn writable_index(&self, tree: &str) -> Result<usize, StateError> {
        let index = self.tree_index(tree)?;
        let local = self.trees.local.contains(&tree);
        match (self.phase, local) {
            (Phase::Decide, true) | (Phase::Evolve, false) => {}
            (phase, _) => {
                return Err(StateError::ReadOnly {
                    tree: tree.to_owned(),
                    phase,
                });
            }
        }
        let shared = self.trees.partitions.is_some() && !self.trees.partitioned(tree);
        if shared && self.partition.is_some() {
            return Err(StateError::Shared(tree.to_owned()));
        }
        Ok(index)
    }

    /// `key` as this step stores it in `tree`: behind the step's partition in a partitioned
    /// tree, as it is in a shared or whole one.
    fn stored_key<'k>(&self, tree: &str, key: &'k [u8]) -> Result<Cow<'k, [u8]>, StateError> {
        if !self.trees.partitioned(tree) {
            return Ok(Cow::Borrowed(key));
        }
        match self.partition {
            Some(partition) => Ok(Cow::Owned(partition_key(partition.index(), key))),
            None => Err(StateError::NoPartition(tree.to_owned())),
        }
    }

    /// The current bytes under `key`, including this step's own staged writes.
    pub fn get(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        let index = self.tree_index(tree)?;
        let key = self.stored_key(tree, key)?;
        let staged = self
            .staged
            .iter()
            .rev()
            .find(|(staged_tree, staged_key, _)| *staged_tree == index && *staged_key == *key);
        match staged {
            Some((_, _, value)) => Ok(value.clone()),
            None => match self.views[index].get(&*key) {
                Ok(value) => Ok(value.map(|value| value.to_vec())),
                Err(error) => Err(self.remember(error)),
            },
        }
    }

    /// Stages `value` under `key`.
    pub fn insert(&mut self, tree: &str, key: &[u8], value: Vec<u8>) -> Result<(), StateError> {
        let index = self.writable_index(tree)?;
        let key = self.stored_key(tree, key)?.into_owned();
        self.staged.push((index, key, Some(value)));
        Ok(())
    }

    /// Stages the removal of `key`.
    pub fn remove(&mut self, tree: &str, key: &[u8]) -> Result<(), StateError> {
        let index = self.writable_index(tree)?;
        let key = self.stored_key(tree, key)?.into_owned();
        self.staged.push((index, key, None));
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
    pub fn put<T: Serialize + ?Sized>(
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

    fn remember(&self, error: UnabortableTransactionError) -> StateError {
        self.storage_failure
            .borrow_mut()
            .get_or_insert(error.clone());
        StateError::Storage(error)
    }

    /// A storage failure seen during this step, whatever the step's code made of it: the
    /// transaction must re-run (conflict) or fail with it, never commit.
    pub(crate) fn take_storage_failure(&self) -> Option<UnabortableTransactionError> {
        self.storage_failure.borrow_mut().take()
    }

    /// Writes the staged changes into the transaction; returns the timer changes.
    pub(crate) fn commit(self) -> Result<Vec<TimerChange>, UnabortableTransactionError> {
        if let Some(failure) = self.storage_failure.into_inner() {
            return Err(failure);
        }
        for (index, key, value) in self.staged {
            match value {
                Some(value) => self.views[index].insert(key, value)?,
                None => self.views[index].remove(key)?,
            };
        }
        Ok(self.timers)
    }
}
