//! Who holds which partition of each service that shares them (docs/scaling.md), for
//! `shopctl status`: the leases in the bucket `<prefix>_partitions`, read as stored messages
//! (what an operator may read), and the backlog of each partition's intake durable.

use std::collections::BTreeMap;

use async_nats::jetstream;
use events::Subjects;
use events::partition::Partitions;
use runtime::ownership::{Holder, Owners};
use serde::Serialize;

use crate::output::table;
use crate::up::SCALES_OUT;

/// One instance's share of a service's partitions.
#[derive(Debug, Serialize)]
pub(crate) struct ShareRow {
    pub(crate) service: String,
    /// The instance, or `-` for partitions nobody holds (one moving).
    pub(crate) instance: String,
    pub(crate) partitions: Vec<u16>,
    /// Forwarded events waiting in these partitions' intake durables.
    pub(crate) intake_pending: u64,
}

/// The shares of every service whose partitions are held through leases; none for a service
/// whose one instance holds them all without leases (`--scale-out` off).
pub(crate) async fn read(
    js: &jetstream::Context,
    subjects: &Subjects,
) -> anyhow::Result<Vec<ShareRow>> {
    let bucket = Owners::bucket(subjects);
    let stream = format!("KV_{bucket}");
    let mut rows = Vec::new();
    for service in SCALES_OUT {
        let mut shares: BTreeMap<String, (Vec<u16>, u64)> = BTreeMap::new();
        let intake = events::stream::intake_stream(subjects, service).name;
        let intake = js.get_stream(&intake).await.ok();
        for partition in Partitions::default().all() {
            let subject = format!("$KV.{bucket}.{service}.{partition}");
            let holder = runtime::nats::raw::next_stored(js, &stream, 1, &subject)
                .await
                .ok()
                .flatten()
                .and_then(|stored| serde_json::from_slice::<Holder>(&stored.payload).ok());
            let Some(holder) = holder else { continue };
            let pending = match &intake {
                Some(intake) => intake
                    .consumer_info(format!("{service}_p{partition}"))
                    .await
                    .map(|info| info.num_pending + info.num_ack_pending as u64)
                    .unwrap_or(0),
                None => 0,
            };
            let share = shares.entry(holder.instance).or_default();
            share.0.push(partition.index());
            share.1 += pending;
        }
        if shares.is_empty() {
            continue;
        }
        let free: Vec<u16> = Partitions::default()
            .all()
            .map(|partition| partition.index())
            .filter(|index| !shares.values().any(|(held, _)| held.contains(index)))
            .collect();
        for (instance, (partitions, intake_pending)) in shares {
            rows.push(ShareRow {
                service: service.to_owned(),
                instance,
                partitions,
                intake_pending,
            });
        }
        if !free.is_empty() {
            rows.push(ShareRow {
                service: service.to_owned(),
                instance: "-".to_owned(),
                partitions: free,
                intake_pending: 0,
            });
        }
    }
    Ok(rows)
}

/// The shares as a table (nothing when no service shares its partitions).
pub(crate) fn shares_table(rows: &[ShareRow]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let instance = match row.instance.as_str() {
                "-" => "(nobody: moving)".to_owned(),
                instance => instance.to_owned(),
            };
            vec![
                row.service.clone(),
                instance,
                list(&row.partitions),
                row.intake_pending.to_string(),
            ]
        })
        .collect();
    table(
        &["SERVICE", "INSTANCE", "PARTITIONS", "INTAKE PENDING"],
        &cells,
    )
}

/// `0-3,7,9-11`.
fn list(partitions: &[u16]) -> String {
    let mut ranges: Vec<(u16, u16)> = Vec::new();
    for &partition in partitions {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == partition => *end = partition,
            _ => ranges.push((partition, partition)),
        }
    }
    ranges
        .iter()
        .map(|(start, end)| match start == end {
            true => start.to_string(),
            false => format!("{start}-{end}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn partitions_are_listed_as_ranges() {
        assert_eq!(super::list(&[0, 1, 2, 3, 7, 9, 10, 11]), "0-3,7,9-11");
        assert_eq!(super::list(&[5]), "5");
        assert_eq!(super::list(&[]), "");
    }
}
