//! What the broker and the disk say about a benchmark run: events and deliveries so far,
//! whether the shop has drained, and bytes on disk per store.

use std::time::{Duration, Instant};

use async_nats::jetstream;
use events::{Context, Subjects};

/// Messages in the shop's event streams, and deliveries to its durables so far.
pub(super) async fn counts(
    js: &jetstream::Context,
    subjects: &Subjects,
) -> anyhow::Result<(u64, u64)> {
    let (mut messages, mut deliveries) = (0, 0);
    for context in Context::ALL {
        let mut stream = js
            .get_stream(events::stream::event_stream(subjects, context).name)
            .await?;
        messages += stream.info().await?.state.messages;
        let names: Vec<String> =
            futures::TryStreamExt::try_collect(stream.consumer_names()).await?;
        for name in names {
            deliveries += stream
                .consumer_info(&name)
                .await?
                .delivered
                .consumer_sequence;
        }
    }
    Ok((messages, deliveries))
}

/// Waits until every durable has nothing pending or unacknowledged and the streams stopped
/// growing (timers, such as shipping's, fire every 100 ms): every consequence of the run was
/// handled. Returns how long that took.
pub(super) async fn drained(js: &jetstream::Context, subjects: &Subjects) -> anyhow::Result<f64> {
    let began = Instant::now();
    let mut last = None;
    loop {
        anyhow::ensure!(
            began.elapsed() < Duration::from_secs(120),
            "the shop was still busy 120 s after the last completion"
        );
        let now = counts(js, subjects).await?;
        if idle(js, subjects).await? && last == Some(now) {
            return Ok(began.elapsed().as_secs_f64() - QUIET.as_secs_f64());
        }
        last = Some(now);
        tokio::time::sleep(QUIET).await;
    }
}

/// How long the streams must stay the same for the shop to count as drained.
const QUIET: Duration = Duration::from_millis(300);

/// Whether no durable has anything pending or unacknowledged.
async fn idle(js: &jetstream::Context, subjects: &Subjects) -> anyhow::Result<bool> {
    for context in Context::ALL {
        let stream = js
            .get_stream(events::stream::event_stream(subjects, context).name)
            .await?;
        let names: Vec<String> =
            futures::TryStreamExt::try_collect(stream.consumer_names()).await?;
        for name in names {
            let info = stream.consumer_info(&name).await?;
            if info.num_pending > 0 || info.num_ack_pending > 0 {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Bytes on disk per service store, and the broker's.
pub(super) fn disk_usage(data_dir: &std::path::Path) -> Vec<(String, u64)> {
    let mut usage = Vec::new();
    for name in crate::supervisor::SERVICES.iter().chain(&["nats"]) {
        usage.push(((*name).to_owned(), dir_bytes(&data_dir.join(name))));
    }
    usage
}

fn dir_bytes(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => dir_bytes(&entry.path()),
            _ => entry.metadata().map(|meta| meta.len()).unwrap_or(0),
        })
        .sum()
}
