//! What makes the broker refuse a deposed owner's publishes.

use async_nats::HeaderMap;
use async_nats::header::NATS_EXPECTED_LAST_SUBJECT_SEQUENCE;

/// Makes `Nats-Expected-Last-Subject-Sequence` check another subject of the same stream
/// (nats-server 2.11+): here, the partition's claim record.
pub const EXPECTED_LAST_SUBJECT_SEQUENCE_SUBJECT: &str =
    "Nats-Expected-Last-Subject-Sequence-Subject";

/// A publish for a partition is stored only while the partition's last claim record is the
/// one this owner published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    subject: String,
    sequence: u64,
}

impl Fence {
    pub(crate) fn new(subject: String, sequence: u64) -> Fence {
        Fence { subject, sequence }
    }

    /// The claim record's subject.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The claim record's stream sequence.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Adds the fence to a publish's headers.
    pub fn apply(&self, headers: &mut HeaderMap) {
        headers.insert(
            NATS_EXPECTED_LAST_SUBJECT_SEQUENCE,
            self.sequence.to_string().as_str(),
        );
        headers.insert(
            EXPECTED_LAST_SUBJECT_SEQUENCE_SUBJECT,
            self.subject.as_str(),
        );
    }
}
