//! Who owns which partition of a service's state, agreed through the broker with no
//! coordinator of our own (docs/scaling.md, "Who owns what" and "Fencing").
//!
//! - A **lease** is the key `<service>.<index>` in the KV bucket `<prefix>_partitions`. The
//!   claimer creates it (`create` fails while anyone holds it) and renews it with `update` on
//!   the revision it holds (which fails once anyone else has written it). The bucket's
//!   `max_age` is the lease time: a lease nobody renews disappears, and anyone may create it.
//! - A **claim** is also recorded in the service's own stream, on
//!   `<prefix>.<context>._partition.<index>`. Everything the owner publishes for the
//!   partition carries a [`Fence`]: `Nats-Expected-Last-Subject-Sequence` of that subject.
//!   Once another instance has claimed the partition, JetStream refuses those publishes.
//! - The owner also stops by itself: a [`Lease`] counts as held only until its last renewal
//!   (timed from *before* the renewal was sent) plus the lease time minus a margin, so an
//!   owner cut off from the broker stops committing before its lease can expire there.

mod assign;
mod balance;
mod fence;

use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use events::partition::{Claim, Partition, Partitions};
use events::{Context, Subjects, Timestamp};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

pub use assign::assign;
pub use balance::{Balancer, Handover, Held};
pub use fence::{EXPECTED_LAST_SUBJECT_SEQUENCE_SUBJECT, Fence};

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
    partition: Partition,
    revision: u64,
    fence: Fence,
    renewed_at: Instant,
    held_for: Duration,
}

impl Lease {
    pub fn partition(&self) -> Partition {
        self.partition
    }

    /// Whether the lease still counts as held at `now`; commits for the partition need it.
    pub fn held_at(&self, now: Instant) -> bool {
        now < self.renewed_at + self.held_for
    }

    /// What every publish for the partition carries while this lease is held.
    pub fn fence(&self) -> &Fence {
        &self.fence
    }
}

/// A lease as the bucket holds it (JSON, so `nats kv get` shows it as it is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub instance: String,
    /// The stream sequence of the holder's claim record; 0 until it is published.
    pub claim_sequence: u64,
}

/// One service instance's view of the partition leases of its service.
#[derive(Debug, Clone)]
pub struct Owners {
    kv: kv::Store,
    js: jetstream::Context,
    subjects: Subjects,
    context: Context,
    partitions: Partitions,
    instance: String,
    timing: LeaseTiming,
}

impl Owners {
    /// The bucket every service's leases live in.
    pub fn bucket(subjects: &Subjects) -> String {
        format!("{}_partitions", subjects.prefix())
    }

    /// Opens the lease bucket, creating it when it does not exist yet.
    pub async fn open(
        js: jetstream::Context,
        subjects: Subjects,
        context: Context,
        partitions: Partitions,
        instance: &str,
        timing: LeaseTiming,
    ) -> anyhow::Result<Owners> {
        anyhow::ensure!(
            is_instance_id(instance),
            "instance id {instance:?}: use 1-64 letters, digits, '-' or '_'"
        );
        let bucket = Owners::bucket(&subjects);
        let kv = match js.get_key_value(&bucket).await {
            Ok(kv) => kv,
            Err(_) => js
                .create_key_value(kv::Config {
                    bucket: bucket.clone(),
                    description: "who owns which partition of each service's state".into(),
                    history: 1,
                    max_age: timing.ttl,
                    storage: jetstream::stream::StorageType::File,
                    ..Default::default()
                })
                .await
                .with_context(|| format!("create the lease bucket {bucket}"))?,
        };
        Ok(Owners {
            kv,
            js,
            subjects,
            context,
            partitions,
            instance: instance.to_owned(),
            timing,
        })
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn timing(&self) -> LeaseTiming {
        self.timing
    }

    pub fn partitions(&self) -> Partitions {
        self.partitions
    }

    fn key(&self, partition: Partition) -> String {
        format!("{}.{partition}", self.context)
    }

    /// Claims `partition` if nobody holds it: creates the lease, records the claim in the
    /// service's stream, and returns the lease. `None` when another instance holds it.
    pub async fn claim(&self, partition: Partition) -> anyhow::Result<Option<Lease>> {
        let started = Instant::now();
        let key = self.key(partition);
        let pending = Holder {
            instance: self.instance.clone(),
            claim_sequence: 0,
        };
        let revision = match self.kv.create(&key, encode(&pending)?).await {
            Ok(revision) => revision,
            Err(error) if error.kind() == kv::CreateErrorKind::AlreadyExists => return Ok(None),
            Err(error) => return Err(error).with_context(|| format!("claim {key}")),
        };
        let sequence = match self.record_claim(partition).await {
            Ok(sequence) => sequence,
            Err(error) => {
                // give the lease back rather than hold a partition nobody can publish for
                let _ = self.kv.delete_expect_revision(&key, Some(revision)).await;
                return Err(error);
            }
        };
        let holder = Holder {
            instance: self.instance.clone(),
            claim_sequence: sequence,
        };
        let revision = self
            .kv
            .update(&key, encode(&holder)?, revision)
            .await
            .with_context(|| format!("record the claim sequence in {key}"))?;
        Ok(Some(Lease {
            partition,
            revision,
            fence: Fence::new(
                self.subjects.partition_claim(self.context, partition),
                sequence,
            ),
            renewed_at: started,
            held_for: self.timing.ttl.saturating_sub(self.timing.margin),
        }))
    }

    async fn record_claim(&self, partition: Partition) -> anyhow::Result<u64> {
        let claim = Claim {
            instance: self.instance.clone(),
            partition: partition.index(),
            partitions: self.partitions.count(),
            claimed_at: Timestamp::now(),
        };
        let payload = events::codec::to_bytes(&claim).context("encode the claim record")?;
        let subject = self.subjects.partition_claim(self.context, partition);
        let ack = self
            .js
            .publish(subject.clone(), payload.into())
            .await
            .with_context(|| format!("publish the claim record on {subject}"))?
            .await
            .with_context(|| format!("store the claim record on {subject}"))?;
        Ok(ack.sequence)
    }

    /// Renews a lease this instance holds. `None` when it was lost (it expired and someone
    /// else claimed it, or it was written by anyone else): stop work on the partition.
    pub async fn renew(&self, lease: &Lease) -> anyhow::Result<Option<Lease>> {
        let started = Instant::now();
        let key = self.key(lease.partition);
        let holder = Holder {
            instance: self.instance.clone(),
            claim_sequence: lease.fence.sequence(),
        };
        match self.kv.update(&key, encode(&holder)?, lease.revision).await {
            Ok(revision) => Ok(Some(Lease {
                revision,
                renewed_at: started,
                ..lease.clone()
            })),
            Err(error) if error.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(None),
            Err(error) => Err(error).with_context(|| format!("renew {key}")),
        }
    }

    /// Gives a lease back at once (an orderly hand-over), unless it was already lost.
    pub async fn release(&self, lease: Lease) -> anyhow::Result<()> {
        let key = self.key(lease.partition);
        match self
            .kv
            .delete_expect_revision(&key, Some(lease.revision))
            .await
        {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == kv::DeleteErrorKind::WrongLastRevision => Ok(()),
            Err(error) => Err(error).with_context(|| format!("release {key}")),
        }
    }

    fn member_key(&self) -> String {
        format!("{}.members.{}", self.context, self.instance)
    }

    /// Says this instance is alive; repeated more often than the lease time.
    pub async fn heartbeat(&self) -> anyhow::Result<()> {
        let key = self.member_key();
        self.kv
            .put(&key, Bytes::from_static(b"{}"))
            .await
            .with_context(|| format!("heartbeat {key}"))?;
        Ok(())
    }

    /// Says this instance is leaving (an orderly stop), so the others need not wait.
    pub async fn leave(&self) -> anyhow::Result<()> {
        let key = self.member_key();
        self.kv
            .delete(&key)
            .await
            .with_context(|| format!("leave {key}"))
    }

    /// The live instances of this service: those whose heartbeat has not expired.
    pub async fn members(&self) -> anyhow::Result<Vec<String>> {
        let prefix = format!("{}.members.", self.context);
        let keys = self.kv.keys().await.context("list the members")?;
        let keys: Vec<String> = keys.try_collect().await.context("list the members")?;
        Ok(keys
            .into_iter()
            .filter_map(|key| key.strip_prefix(&prefix).map(str::to_owned))
            .collect())
    }

    /// Who holds each partition of this service right now (`None`: nobody).
    pub async fn holders(&self) -> anyhow::Result<Vec<(Partition, Option<Holder>)>> {
        let mut holders = Vec::with_capacity(usize::from(self.partitions.count()));
        for partition in self.partitions.all() {
            let entry = self
                .kv
                .get(self.key(partition))
                .await
                .with_context(|| format!("read the lease of partition {partition}"))?;
            let holder = match entry {
                Some(value) if !value.is_empty() => Some(
                    serde_json::from_slice(&value)
                        .with_context(|| format!("read the lease of partition {partition}"))?,
                ),
                _ => None,
            };
            holders.push((partition, holder));
        }
        Ok(holders)
    }
}

/// An instance id becomes a KV key token: 1-64 letters, digits, `-` or `_`.
pub fn is_instance_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn encode(holder: &Holder) -> anyhow::Result<Bytes> {
    Ok(serde_json::to_vec(holder).context("encode a lease")?.into())
}

#[cfg(test)]
mod tests {
    use super::is_instance_id;

    #[test]
    fn instance_ids_are_single_key_tokens() {
        for good in ["payments-1", "a", "host_7-payments-2"] {
            assert!(is_instance_id(good), "{good}");
        }
        for bad in ["", "a.b", "a b", "x*", "a>", &"x".repeat(65)] {
            assert!(!is_instance_id(bad), "{bad}");
        }
    }
}
