//! How a store keeps its service trees' keys (see `state`): written into the store when it is
//! created, so that a tool reading it knows, and a service whose layout changed is told to
//! rebuild it.

use events::partition::Partitions;
use serde::{Deserialize, Serialize};

use super::state::TreeSet;

/// How a store keeps its service trees' keys: whole (`partitions` none: a store written
/// before partitions, or of a service that does not scale out) or behind their partition,
/// but for the `shared` trees. Kept in the store (`_runtime.layout`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Layout {
    pub(super) partitions: Option<u16>,
    pub(super) shared: Vec<String>,
}

pub(super) const LAYOUT_KEY: &[u8] = b"_runtime.layout";

impl Layout {
    pub(super) fn of(trees: &TreeSet<'_>) -> Layout {
        Layout {
            partitions: trees.partitions.map(Partitions::count),
            shared: match trees.partitions {
                Some(_) => trees.shared.iter().map(|tree| (*tree).to_owned()).collect(),
                None => Vec::new(),
            },
        }
    }

    pub(super) fn partitions(&self) -> Option<Partitions> {
        self.partitions
            .and_then(|count| Partitions::new(u32::from(count)).ok())
    }
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.partitions {
            None => f.write_str("whole"),
            Some(count) if self.shared.is_empty() => write!(f, "in {count} partitions"),
            Some(count) => write!(
                f,
                "in {count} partitions but {} (shared)",
                self.shared.join(", ")
            ),
        }
    }
}
