//! A partition lease as an instance holds it, and how long leases last.

use std::time::{Duration, Instant};

use events::partition::Partition;

use super::Fence;

/// How long a lease lasts and how often it is renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTiming {
    /// A lease not renewed for this long expires at the broker (the bucket's `max_age`).
    pub ttl: Duration,
    /// How often an owner renews (and a waiting instance looks for free partitions).
    pub renew_every: Duration,
    /// The owner stops counting a lease as held this long before it can expire.
    pub margin: Duration,
}

impl Default for LeaseTiming {
    fn default() -> Self {
        LeaseTiming {
            ttl: Duration::from_secs(6),
            renew_every: Duration::from_secs(2),
            margin: Duration::from_secs(1),
        }
    }
}

/// A partition this instance holds, as of its last claim or renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub(super) partition: Partition,
    pub(super) revision: u64,
    pub(super) fence: Option<Fence>,
    pub(super) renewed_at: Instant,
    pub(super) held_for: Duration,
}

impl Lease {
    /// A lease just claimed or taken back at `started` (its answer's revision), held for the
    /// lease time less the margin.
    pub(super) fn taken(
        partition: Partition,
        revision: u64,
        fence: Option<Fence>,
        started: Instant,
        timing: LeaseTiming,
    ) -> Lease {
        Lease {
            partition,
            revision,
            fence,
            renewed_at: started,
            held_for: timing.ttl.saturating_sub(timing.margin),
        }
    }

    /// A partition held for good, with no claim: an instance that does not share its service
    /// (`--scale-out` off).
    pub(crate) fn permanent(partition: Partition) -> Lease {
        Lease {
            partition,
            revision: 0,
            fence: None,
            renewed_at: Instant::now(),
            held_for: Duration::from_secs(100 * 365 * 24 * 3600),
        }
    }

    pub fn partition(&self) -> Partition {
        self.partition
    }

    /// Whether the lease still counts as held at `now`; commits for the partition need it.
    pub fn held_at(&self, now: Instant) -> bool {
        now < self.renewed_at + self.held_for
    }

    /// What every publish for the partition carries while this lease is held (`None` for a
    /// service with no stream of its own to record claims in: it publishes nothing).
    pub fn fence(&self) -> Option<&Fence> {
        self.fence.as_ref()
    }

    /// The claim this lease belongs to: its record's stream sequence (0 without a record).
    pub fn claim(&self) -> u64 {
        self.fence.as_ref().map_or(0, Fence::sequence)
    }
}
