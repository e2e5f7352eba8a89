//! What an instance does when a partition becomes its own or stops being it: it rebuilds the
//! partition's state from the streams (`takeover`) unless its store holds that very claim's
//! state already, then starts consuming the partition's intake durable (events the other
//! instances forwarded to the partition's owner); when it loses the partition, it stops that
//! consumer after its batch in flight (docs/scaling.md).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use events::partition::Partition;
use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::consumer::ConsumeContext;
use crate::ownership::{Handover, Lease};
use crate::provision::intake_spec;
use crate::takeover::Takeover;

type Running = Arc<Mutex<BTreeMap<Partition, (CancellationToken, JoinHandle<()>)>>>;

/// Makes taken partitions ready, and starts and stops the intake consumers of the
/// partitions this instance holds.
pub(crate) struct Intake {
    context: Arc<ConsumeContext>,
    /// The service's shutdown: every intake consumer stops with it too.
    shutdown: CancellationToken,
    takeover: Arc<Takeover>,
    running: Running,
}

impl Intake {
    pub(crate) fn new(context: Arc<ConsumeContext>, shutdown: CancellationToken) -> Intake {
        let takeover = Arc::new(Takeover::new(
            context.js.clone(),
            context.config.clone(),
            context.store.clone(),
            context.handler.clone(),
            context.producer.clone(),
        ));
        Intake {
            context,
            shutdown,
            takeover,
            running: Running::default(),
        }
    }
}

fn lock(
    running: &Running,
) -> std::sync::MutexGuard<'_, BTreeMap<Partition, (CancellationToken, JoinHandle<()>)>> {
    running
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Handover for Intake {
    fn taken(&self, lease: Lease) -> BoxFuture<'static, anyhow::Result<()>> {
        let partition = lease.partition();
        // a claim with a record: the store may hold its state already (a restart of this
        // instance that took its own claim back); without a record, nothing says so
        let claim = lease.fence().map(|_| lease.claim());
        let (context, takeover, running) = (
            self.context.clone(),
            self.takeover.clone(),
            self.running.clone(),
        );
        let stop = self.shutdown.child_token();
        async move {
            let current = match claim {
                Some(claim) => context.store.partition_claim(partition)? == Some(claim),
                None => false,
            };
            if current {
                tracing::info!(%partition, "the store holds this claim's state: no rebuild");
            } else {
                takeover.rebuild(partition, claim.unwrap_or(0)).await?;
                if let Some(claim) = claim {
                    context.store.set_partition_claim(partition, claim)?;
                }
            }
            if !context.handler.consumes().is_empty() {
                let spec = intake_spec(
                    &context.producer.name,
                    &context.producer.subjects,
                    partition,
                );
                let task = tokio::spawn(context.clone().run(spec, stop.clone()));
                if let Some((earlier, _)) = lock(&running).insert(partition, (stop, task)) {
                    earlier.cancel();
                }
            }
            Ok(())
        }
        .boxed()
    }

    fn given_back(&self, partition: Partition) -> BoxFuture<'static, ()> {
        let running = lock(&self.running).remove(&partition);
        async move {
            if let Some((stop, task)) = running {
                // the batch in flight is finished (committed, published, acked) first
                stop.cancel();
                let _ = task.await;
            }
        }
        .boxed()
    }
}
