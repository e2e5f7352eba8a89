//! What an instance does when a partition becomes its own or stops being it: it starts and
//! stops consuming the partition's intake durable (events the other instances forwarded to the
//! partition's owner), and joins the balancing of its service (docs/scaling.md).
//!
//! Not built yet: building the partition's state from the streams when it is taken over. Until
//! then a partition moves correctly only to an instance that already holds its state, so a
//! deployment runs one instance per service (a new store is refused while the broker's durable
//! has delivered, `app.rs`).

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

/// Starts and stops the intake consumers of the partitions this instance holds.
pub(crate) struct Intake {
    pub(crate) context: Arc<ConsumeContext>,
    /// The service's shutdown: every intake consumer stops with it too.
    pub(crate) shutdown: CancellationToken,
    running: Mutex<BTreeMap<Partition, (CancellationToken, JoinHandle<()>)>>,
}

impl Intake {
    pub(crate) fn new(context: Arc<ConsumeContext>, shutdown: CancellationToken) -> Intake {
        Intake {
            context,
            shutdown,
            running: Mutex::default(),
        }
    }

    fn running(
        &self,
    ) -> std::sync::MutexGuard<'_, BTreeMap<Partition, (CancellationToken, JoinHandle<()>)>> {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Handover for Intake {
    fn taken(&self, lease: Lease) -> BoxFuture<'static, anyhow::Result<()>> {
        let partition = lease.partition();
        if !self.context.handler.consumes().is_empty() {
            let spec = intake_spec(
                &self.context.producer.name,
                &self.context.producer.subjects,
                partition,
            );
            let stop = self.shutdown.child_token();
            let task = tokio::spawn(self.context.clone().run(spec, stop.clone()));
            if let Some((earlier, _)) = self.running().insert(partition, (stop, task)) {
                earlier.cancel();
            }
        }
        futures::future::ready(Ok(())).boxed()
    }

    fn given_back(&self, partition: Partition) -> BoxFuture<'static, ()> {
        let running = self.running().remove(&partition);
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
