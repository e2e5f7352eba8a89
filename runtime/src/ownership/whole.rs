//! An instance that does not share its partitions (`--scale-out` off) holds every one of them
//! for good, without leases, so it must never run beside instances that share them: both would
//! decide for the same keys. Each kind says what it is in the lease bucket and looks for the
//! other (docs/scaling.md, "One instance, or instances that share"): a lone instance keeps
//! `<service>.whole.<instance>` alive and stops when another instance holds a lease; an
//! instance that shares does not start while a lone one is alive.

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::Owners;

impl Owners {
    fn whole_key(&self) -> String {
        format!("{}.whole.{}", self.service, self.instance)
    }

    /// The instances of this service that hold every partition by themselves, alive now
    /// (this one left out).
    pub async fn lone_instances(&self) -> anyhow::Result<Vec<String>> {
        let mut lone = self.live("whole").await?;
        lone.retain(|instance| *instance != self.instance);
        Ok(lone)
    }

    /// An error naming them when instances that share the partitions hold any.
    pub async fn check_alone(&self) -> anyhow::Result<()> {
        let mut sharing: Vec<String> = self
            .holders()
            .await?
            .into_iter()
            .filter_map(|(_, holder)| holder.map(|holder| holder.instance))
            .filter(|instance| *instance != self.instance)
            .collect();
        sharing.sort();
        sharing.dedup();
        anyhow::ensure!(
            sharing.is_empty(),
            "{service} instance {instance} runs without --scale-out, but {others} share {service}'s \
             partitions: run every instance of {service} with --scale-out (SHOP_SCALE_OUT), or only one",
            service = self.service,
            instance = self.instance,
            others = sharing.join(", "),
        );
        Ok(())
    }
}

/// Keeps a lone instance's key alive and checks, as often as leases are renewed, that no
/// instance sharing the partitions has appeared; returns an error when one has, and `Ok`
/// (the key withdrawn) once `stop` is cancelled.
pub async fn stay_alone(owners: Owners, stop: CancellationToken) -> anyhow::Result<()> {
    let key = owners.whole_key();
    loop {
        owners.check_alone().await?;
        owners
            .kv
            .put(&key, Bytes::from_static(b"{}"))
            .await
            .map_err(|error| anyhow::anyhow!("declare {key}: {error}"))?;
        tokio::select! {
            () = tokio::time::sleep(owners.timing.renew_every) => {}
            () = stop.cancelled() => break,
        }
    }
    let _ = owners.kv.delete(&key).await;
    Ok(())
}
