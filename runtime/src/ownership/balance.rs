//! The loop every instance runs to hold its share of the partitions: heartbeat, renew what it
//! holds, hand back what another live member should own, claim what is free and its own.
//!
//! A claimed partition is not the instance's until [`Handover::taken`] has made it ready (the
//! take-over rebuild); only then does it show in [`Held`], where the runtime looks before it
//! handles or commits anything for a partition. Leases being prepared are renewed all along.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use events::partition::Partition;
use futures::future::BoxFuture;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{Lease, Owners, assign};

/// What the runtime does when a partition becomes this instance's, or stops being it.
pub trait Handover: Send + Sync + 'static {
    /// The partition was claimed: make it ready (build its state) before work on it starts.
    /// An error gives the lease back, to be claimed again later.
    fn taken(&self, lease: Lease) -> BoxFuture<'static, anyhow::Result<()>>;
    /// The partition is no longer in [`Held`]: let the work in flight for it finish.
    fn given_back(&self, partition: Partition) -> BoxFuture<'static, ()>;
}

/// The partitions this instance holds and has made ready, with their latest leases.
#[derive(Debug, Clone, Default)]
pub struct Held {
    leases: Arc<RwLock<BTreeMap<Partition, Lease>>>,
}

impl Held {
    /// Every partition, for good: an instance that does not share its service with others.
    pub fn everything(partitions: events::partition::Partitions) -> Held {
        let held = Held::default();
        for partition in partitions.all() {
            held.put(Lease::permanent(partition));
        }
        held
    }

    /// The lease, if the partition is held and its lease still counts as held now.
    pub fn lease(&self, partition: Partition) -> Option<Lease> {
        let leases = self.leases.read().expect("held leases");
        leases
            .get(&partition)
            .filter(|lease| lease.held_at(Instant::now()))
            .cloned()
    }

    pub fn owns(&self, partition: Partition) -> bool {
        self.lease(partition).is_some()
    }

    /// Every partition held and ready, in order.
    pub fn partitions(&self) -> Vec<Partition> {
        let leases = self.leases.read().expect("held leases");
        leases.keys().copied().collect()
    }

    fn put(&self, lease: Lease) {
        let mut leases = self.leases.write().expect("held leases");
        leases.insert(lease.partition(), lease);
    }

    fn refresh(&self, lease: &Lease) {
        let mut leases = self.leases.write().expect("held leases");
        if let Some(held) = leases.get_mut(&lease.partition()) {
            *held = lease.clone();
        }
    }

    fn remove(&self, partition: Partition) -> bool {
        let mut leases = self.leases.write().expect("held leases");
        leases.remove(&partition).is_some()
    }
}

/// One instance's share-keeping.
pub struct Balancer {
    owners: Owners,
    handover: Arc<dyn Handover>,
    held: Held,
    /// Every lease this instance holds: ready ones and ones being prepared.
    leases: BTreeMap<Partition, Lease>,
    preparing: JoinSet<(Partition, u64, anyhow::Result<()>)>,
}

impl std::fmt::Debug for Balancer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Balancer")
            .field("instance", &self.owners.instance())
            .field("leases", &self.leases.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Balancer {
    pub fn new(owners: Owners, handover: Arc<dyn Handover>) -> Balancer {
        Balancer::with_held(owners, handover, Held::default())
    }

    /// A balancer that keeps `held` (shared with what reads it) up to date.
    pub fn with_held(owners: Owners, handover: Arc<dyn Handover>, held: Held) -> Balancer {
        Balancer {
            owners,
            handover,
            held,
            leases: BTreeMap::new(),
            preparing: JoinSet::new(),
        }
    }

    /// What the runtime reads: the partitions held and ready.
    pub fn held(&self) -> Held {
        self.held.clone()
    }

    /// Keeps this instance's share until `stop`, then hands everything back and leaves.
    pub async fn run(mut self, stop: CancellationToken) {
        let mut ticks = tokio::time::interval(self.owners.timing().renew_every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = ticks.tick() => {
                    if let Err(error) = self.tick().await {
                        tracing::warn!(error = %format!("{error:#}"), "partition leases: will retry");
                    }
                }
                Some(prepared) = self.preparing.join_next(), if !self.preparing.is_empty() => {
                    self.prepared(prepared).await;
                }
            }
        }
        self.preparing.abort_all();
        // everything at once: each partition's work in flight finishes in parallel
        let all: Vec<Partition> = self.leases.keys().copied().collect();
        for partition in &all {
            self.held.remove(*partition);
        }
        futures::future::join_all(all.iter().map(|p| self.handover.given_back(*p))).await;
        let leases = std::mem::take(&mut self.leases).into_values();
        let owners = &self.owners;
        for released in futures::future::join_all(leases.map(|lease| owners.release(lease))).await {
            if let Err(error) = released {
                tracing::warn!(error = %format!("{error:#}"), "could not release a partition; it expires instead");
            }
        }
        if let Err(error) = self.owners.leave().await {
            tracing::warn!(error = %format!("{error:#}"), "could not say this instance leaves");
        }
    }

    async fn tick(&mut self) -> anyhow::Result<()> {
        self.owners.heartbeat().await?;
        self.renew_all().await?;
        let members = self.owners.members().await?;
        let me = self.owners.instance().to_owned();
        let target = assign(self.owners.partitions(), &members);
        let mine = |partition: &Partition| target.get(partition).copied() == Some(me.as_str());
        let surplus: Vec<Partition> = self
            .leases
            .keys()
            .filter(|partition| !mine(partition))
            .copied()
            .collect();
        for partition in surplus {
            tracing::info!(%partition, "handing a partition over to its preferred owner");
            self.give_back(partition).await;
        }
        let wanted: Vec<Partition> = self
            .owners
            .holders()
            .await?
            .into_iter()
            // free, or held by an earlier run of this very instance (taken back at once)
            .filter(|(_, holder)| holder.as_ref().is_none_or(|holder| holder.instance == me))
            .map(|(partition, _)| partition)
            .filter(|partition| mine(partition) && !self.leases.contains_key(partition))
            .collect();
        let owners = &self.owners;
        let claims = futures::future::join_all(wanted.iter().map(|p| owners.claim(*p))).await;
        let mut first_error = None;
        for claimed in claims {
            match claimed {
                Ok(Some(lease)) => self.prepare(lease),
                Ok(None) => {}
                Err(error) => first_error = first_error.or(Some(error)),
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn renew_all(&mut self) -> anyhow::Result<()> {
        let held: Vec<Lease> = self.leases.values().cloned().collect();
        let owners = &self.owners;
        let renewals =
            futures::future::join_all(held.iter().map(|lease| owners.renew(lease))).await;
        let mut first_error = None;
        for (lease, renewed) in held.into_iter().zip(renewals) {
            let renewed = match renewed {
                Ok(renewed) => renewed,
                // kept as it is: the next round tries again (the lease may have expired by then)
                Err(error) => {
                    first_error = first_error.or(Some(error));
                    continue;
                }
            };
            match renewed {
                Some(renewed) => {
                    self.held.refresh(&renewed);
                    self.leases.insert(renewed.partition(), renewed);
                }
                None => {
                    let partition = lease.partition();
                    tracing::warn!(%partition, "partition lease lost; stopping work on it");
                    self.leases.remove(&partition);
                    if self.held.remove(partition) {
                        self.handover.given_back(partition).await;
                    }
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn prepare(&mut self, lease: Lease) {
        let partition = lease.partition();
        tracing::info!(%partition, claim = lease.claim(), "partition claimed; preparing it");
        self.leases.insert(partition, lease.clone());
        let claim = lease.claim();
        let taken = self.handover.taken(lease);
        self.preparing
            .spawn(async move { (partition, claim, taken.await) });
    }

    async fn prepared(
        &mut self,
        prepared: Result<(Partition, u64, anyhow::Result<()>), tokio::task::JoinError>,
    ) {
        let Ok((partition, claim, result)) = prepared else {
            return;
        };
        let Some(lease) = self.leases.get(&partition).cloned() else {
            return; // lost or given back while it was being prepared
        };
        if lease.claim() != claim {
            return; // prepared for an earlier claim; the current one is being prepared
        }
        match result {
            Ok(()) => {
                tracing::info!(%partition, "partition ready");
                self.held.put(lease);
            }
            Err(error) => {
                tracing::warn!(%partition, error = %format!("{error:#}"), "could not prepare the partition; giving it back");
                self.leases.remove(&partition);
                let _ = self.owners.release(lease).await;
            }
        }
    }

    async fn give_back(&mut self, partition: Partition) {
        if self.held.remove(partition) {
            self.handover.given_back(partition).await;
        }
        if let Some(lease) = self.leases.remove(&partition)
            && let Err(error) = self.owners.release(lease).await
        {
            tracing::warn!(%partition, error = %format!("{error:#}"), "could not release a partition; it expires instead");
        }
    }
}
