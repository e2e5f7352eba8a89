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
mod lease;
mod whole;

use std::time::Instant;

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
pub use lease::{Lease, LeaseTiming};
pub use whole::stay_alone;

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
    /// The service's name: the leases' keys start with it.
    service: String,
    /// The context whose stream the service publishes to, where its claims are recorded.
    home: Option<Context>,
    partitions: Partitions,
    instance: String,
    timing: LeaseTiming,
}

impl Owners {
    /// The bucket every service's leases live in.
    pub fn bucket(subjects: &Subjects) -> String {
        format!("{}_partitions", subjects.prefix())
    }

    /// Opens the lease bucket, creating it when it does not exist yet. `service` names the
    /// leases; `home` is the context the service publishes to (its name, for the shop's
    /// services), whose stream records the claims.
    pub async fn open(
        js: jetstream::Context,
        subjects: Subjects,
        service: &str,
        home: Option<Context>,
        partitions: Partitions,
        instance: &str,
        timing: LeaseTiming,
    ) -> anyhow::Result<Owners> {
        anyhow::ensure!(
            is_instance_id(instance),
            "instance id {instance:?}: use 1-64 letters, digits, '-' or '_'"
        );
        let kv = Owners::ensure_bucket(&js, &subjects, timing).await?;
        Ok(Owners {
            kv,
            js,
            subjects,
            service: service.to_owned(),
            home,
            partitions,
            instance: instance.to_owned(),
            timing,
        })
    }

    /// The lease bucket, created when it does not exist yet (by provisioning, on a broker
    /// that checks permissions: a service may only read it and write its own keys). Its
    /// `max_age` is the lease time it was created with.
    pub async fn ensure_bucket(
        js: &jetstream::Context,
        subjects: &Subjects,
        timing: LeaseTiming,
    ) -> anyhow::Result<kv::Store> {
        let bucket = Owners::bucket(subjects);
        match js.get_key_value(&bucket).await {
            Ok(kv) => Ok(kv),
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
                .with_context(|| format!("create the lease bucket {bucket}")),
        }
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
        format!("{}.{partition}", self.service)
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
            Err(error) if error.kind() == kv::CreateErrorKind::AlreadyExists => {
                return self.adopt(partition, started).await;
            }
            Err(error) => return Err(error).with_context(|| format!("claim {key}")),
        };
        let recorded = match self.home {
            Some(home) => self.record_claim(home, partition).await.map(Some),
            None => Ok(None),
        };
        let fence = match recorded {
            Ok(fence) => fence,
            Err(error) => {
                // give the lease back rather than hold a partition nobody can publish for
                let _ = self.kv.delete_expect_revision(&key, Some(revision)).await;
                return Err(error);
            }
        };
        let holder = Holder {
            instance: self.instance.clone(),
            claim_sequence: fence.as_ref().map_or(0, Fence::sequence),
        };
        let revision = self
            .kv
            .update(&key, encode(&holder)?, revision)
            .await
            .with_context(|| format!("record the claim sequence in {key}"))?;
        Ok(Some(Lease::taken(
            partition,
            revision,
            fence,
            started,
            self.timing,
        )))
    }

    /// A lease held under this instance's own id is an earlier run of this very instance (its
    /// store is locked by one process at a time): take it back at once, with its claim, rather
    /// than wait for it to expire. `None` when someone else holds it.
    async fn adopt(&self, partition: Partition, started: Instant) -> anyhow::Result<Option<Lease>> {
        let key = self.key(partition);
        let Some(entry) = self
            .kv
            .entry(&key)
            .await
            .with_context(|| format!("read {key}"))?
        else {
            return Ok(None);
        };
        let Ok(holder) = serde_json::from_slice::<Holder>(&entry.value) else {
            return Ok(None);
        };
        if holder.instance != self.instance || entry.operation != kv::Operation::Put {
            return Ok(None);
        }
        let revision = match self
            .kv
            .update(&key, entry.value.clone(), entry.revision)
            .await
        {
            Ok(revision) => revision,
            Err(error) if error.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                return Ok(None);
            }
            Err(error) => return Err(error).with_context(|| format!("adopt {key}")),
        };
        let fence = match (self.home, holder.claim_sequence) {
            (Some(home), claim) if claim > 0 => Some(Fence::new(
                self.subjects.partition_claim(home, partition),
                claim,
            )),
            _ => None,
        };
        tracing::info!(%partition, "took back a partition this instance held before it restarted");
        Ok(Some(Lease::taken(
            partition,
            revision,
            fence,
            started,
            self.timing,
        )))
    }

    /// Records a claim of `partition` in the service's stream, unless the last claim recorded
    /// there is this instance's own (it restarted, and nobody else owned the partition since):
    /// then that claim goes on, and what it committed before the restart may still be published.
    async fn record_claim(&self, home: Context, partition: Partition) -> anyhow::Result<Fence> {
        let subject = self.subjects.partition_claim(home, partition);
        let stream = self
            .js
            .get_stream(events::stream::event_stream(&self.subjects, home).name)
            .await
            .with_context(|| format!("read the stream of {home}"))?;
        if let Ok(last) = stream.get_last_raw_message_by_subject(&subject).await
            && let Ok(claim) = events::codec::from_bytes::<Claim>(&last.payload)
            && claim.instance == self.instance
        {
            return Ok(Fence::new(subject, last.sequence));
        }
        let claim = Claim {
            instance: self.instance.clone(),
            partition: partition.index(),
            partitions: self.partitions.count(),
            claimed_at: Timestamp::now(),
        };
        let payload = events::codec::to_bytes(&claim).context("encode the claim record")?;
        let ack = self
            .js
            .publish(subject.clone(), payload.into())
            .await
            .with_context(|| format!("publish the claim record on {subject}"))?
            .await
            .with_context(|| format!("store the claim record on {subject}"))?;
        Ok(Fence::new(subject, ack.sequence))
    }

    /// Renews a lease this instance holds. `None` when it was lost (it expired and someone
    /// else claimed it, or it was written by anyone else): stop work on the partition.
    pub async fn renew(&self, lease: &Lease) -> anyhow::Result<Option<Lease>> {
        let started = Instant::now();
        let key = self.key(lease.partition);
        let holder = Holder {
            instance: self.instance.clone(),
            claim_sequence: lease.claim(),
        };
        match self.kv.update(&key, encode(&holder)?, lease.revision).await {
            Ok(revision) => Ok(Some(Lease {
                revision,
                renewed_at: started,
                ..lease.clone()
            })),
            // written since: by this instance, if a renewal whose answer was lost landed
            // (then it is still ours, with the same claim), or by someone else
            Err(error) if error.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(self
                .adopt(lease.partition, started)
                .await?
                .filter(|adopted| adopted.claim() == lease.claim())),
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
        format!("{}.members.{}", self.service, self.instance)
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

    /// The live instances of this service: those whose heartbeat has neither expired nor
    /// been withdrawn.
    pub async fn members(&self) -> anyhow::Result<Vec<String>> {
        self.live("members").await
    }

    /// The instances named by live keys `<service>.<kind>.<instance>`. (Read with
    /// `STREAM.INFO` and direct gets, which is all a service may do on the bucket besides
    /// writing its own keys.)
    async fn live(&self, kind: &str) -> anyhow::Result<Vec<String>> {
        let bucket = Owners::bucket(&self.subjects);
        let prefix = format!("$KV.{bucket}.{}.{kind}.", self.service);
        let stream = self
            .js
            .get_stream(format!("KV_{bucket}"))
            .await
            .context("read the lease bucket")?;
        let subjects: Vec<(String, usize)> = stream
            .info_with_subjects(format!("{prefix}*"))
            .await
            .with_context(|| format!("list the {kind}"))?
            .try_collect()
            .await
            .with_context(|| format!("list the {kind}"))?;
        let mut live = Vec::with_capacity(subjects.len());
        for (subject, _) in subjects {
            let Some(instance) = subject.strip_prefix(&prefix) else {
                continue;
            };
            let key = format!("{}.{kind}.{instance}", self.service);
            // a withdrawn key leaves a delete marker until it ages out
            if self
                .kv
                .get(&key)
                .await
                .context("read the lease bucket")?
                .is_some()
            {
                live.push(instance.to_owned());
            }
        }
        Ok(live)
    }

    /// Who holds each partition of this service right now (`None`: nobody).
    pub async fn holders(&self) -> anyhow::Result<Vec<(Partition, Option<Holder>)>> {
        // read together: one round trip, not one per partition
        let reads = self.partitions.all().map(|partition| async move {
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
            Ok::<_, anyhow::Error>((partition, holder))
        });
        futures::future::try_join_all(reads).await
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
