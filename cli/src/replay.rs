//! `shopctl replay`: re-deliver a stream's history into another prefix, or export it to a
//! file and import it later. Replayed events keep their event ids (`Nats-Msg-Id` too), so
//! consumers that already applied one drop it; `--new-ids` gives them fresh ids.
//!
//! A message whose header block async-nats cannot read is neither published nor exported: it
//! is skipped with a line on stderr saying which and why.
//!
//! With `--json` each run ends with one JSON object instead of its line: `{"exported": N,
//! "file": …}`, `{"published": N, "seconds": x, "events_per_second": y}`, or for a dry run
//! `{"dry_run": true, "would_publish": N, "subjects": [the first 20]}`.
//!
//! Export format (lossless): JSON Lines, one object per message —
//! `{"stream": "SHOP_ORDERS", "stream_seq": 7, "subject": "shop.orders.placed.<id>",
//!   "headers": [["Shop-Event-Id", "..."], ...], "payload_hex": "85a86f72..."}`.

use std::future::IntoFuture;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer::DeliverPolicy};
use events::{Subjects, Timestamp, header};
use runtime::nats::reader::Dial;
use serde::{Deserialize, Serialize};

use crate::history::{self, Stored};
use crate::output::json;
use crate::{Global, connect};

#[derive(Debug, clap::Args)]
pub(crate) struct ReplayArgs {
    /// The stream to read: a context (`orders`) or a stream name (`SHOP_ORDERS`).
    #[arg(long, required_unless_present = "import")]
    stream: Option<String>,
    /// Only messages on this subject filter (NATS wildcards).
    #[arg(long)]
    subject: Option<String>,
    /// Start at this stream sequence.
    #[arg(long, conflicts_with = "since")]
    from_seq: Option<u64>,
    /// Start at this time: `10m`, `2h`, or RFC 3339.
    #[arg(long, value_parser = history::parse_since)]
    since: Option<Timestamp>,
    /// Stop after this time (by the events' occurred-at): `10m` or RFC 3339.
    #[arg(long, value_parser = history::parse_since)]
    until: Option<Timestamp>,
    /// Publish into this prefix (its streams are created if needed).
    #[arg(long)]
    to_prefix: Option<String>,
    /// Write the messages to this file instead of publishing them.
    #[arg(long, conflicts_with = "to_prefix")]
    export: Option<PathBuf>,
    /// Publish the messages of an exported file (into --to-prefix, or their own prefix).
    #[arg(long, conflicts_with_all = ["stream", "export", "subject", "from_seq", "since", "until"])]
    import: Option<PathBuf>,
    /// At most this many events per second.
    #[arg(long)]
    rate: Option<u32>,
    /// Show what would be published; publish nothing.
    #[arg(long)]
    dry_run: bool,
    /// Publish into the live shop's own prefix (without it, a replay into `--prefix` is
    /// refused: consumers would see every event again).
    #[arg(long)]
    force: bool,
    /// Give replayed events new event ids (consumers then apply them again).
    #[arg(long)]
    new_ids: bool,
}

/// One exported message.
#[derive(Debug, Serialize, Deserialize)]
struct Exported {
    stream: String,
    stream_seq: u64,
    subject: String,
    headers: Vec<(String, String)>,
    payload_hex: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(
        text.len().is_multiple_of(2),
        "payload_hex has an odd length"
    );
    (0..text.len())
        .step_by(2)
        .map(|at| Ok(u8::from_str_radix(&text[at..at + 2], 16)?))
        .collect()
}

pub(crate) async fn run(global: &Global, args: ReplayArgs) -> anyhow::Result<ExitCode> {
    // a file that cannot be read is refused before anything connects
    let imported = args.import.as_deref().map(import).transpose()?;
    let api = connect::api(global).await?;
    let js = jetstream::new(api.nats().clone());
    let messages = match imported {
        Some(messages) => messages,
        None => {
            anyhow::ensure!(
                args.to_prefix.is_some() || args.export.is_some(),
                "say where to: --to-prefix PREFIX or --export FILE"
            );
            read(&js, &history::dial(global), api.subjects(), &args).await?
        }
    };
    if let Some(path) = &args.export {
        export(path, &messages)?;
        if global.json {
            let file = path.display().to_string();
            let exported = messages.len();
            print!(
                "{}",
                json(&serde_json::json!({ "exported": exported, "file": file }))
            );
        } else {
            println!("exported {} messages to {}", messages.len(), path.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let target = match &args.to_prefix {
        Some(prefix) => Some(Subjects::new(prefix).map_err(|error| anyhow::anyhow!("{error}"))?),
        None => None,
    };
    if args.dry_run {
        dry_run(&messages, target.as_ref(), global.json);
        return Ok(ExitCode::SUCCESS);
    }
    refuse_the_live_shop(global, target.as_ref(), &messages, args.force)?;
    if let Some(target) = &target {
        runtime::nats::ensure_streams(&js, target, 1).await?;
    }
    let started = Instant::now();
    publish(&js, &messages, target.as_ref(), args.rate, args.new_ids).await?;
    let seconds = started.elapsed().as_secs_f64().max(1e-6);
    let published = messages.len();
    let events_per_second = published as f64 / seconds;
    if global.json {
        let result = serde_json::json!({
            "published": published,
            "seconds": seconds,
            "events_per_second": events_per_second,
        });
        print!("{}", json(&result));
    } else {
        println!(
            "replayed {published} messages in {seconds:.2} s ({events_per_second:.0} events/s)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A replay into the prefix of the shop it talks to duplicates its history for every
/// consumer (with `--new-ids` they apply it again): only with `--force`.
fn refuse_the_live_shop(
    global: &Global,
    target: Option<&Subjects>,
    messages: &[Stored],
    force: bool,
) -> anyhow::Result<()> {
    let live = format!("{}.", global.prefix);
    let into_live = match target {
        Some(target) => target.prefix() == global.prefix,
        None => messages
            .iter()
            .any(|stored| stored.subject.starts_with(&live)),
    };
    anyhow::ensure!(
        force || !into_live,
        "refusing to replay into the live shop's own prefix {:?} (its consumers would see every \
         event again): give another --to-prefix, or --force if you mean it",
        global.prefix
    );
    Ok(())
}

async fn read(
    js: &jetstream::Context,
    dial: &Dial,
    subjects: &Subjects,
    args: &ReplayArgs,
) -> anyhow::Result<Vec<Stored>> {
    let name = args.stream.as_deref().unwrap_or_default();
    let (stream, stream_subject) = history::stream_names(subjects)
        .into_iter()
        .find(|(stream, _)| {
            stream == name || stream.ends_with(&format!("_{}", name.to_ascii_uppercase()))
        })
        .ok_or_else(|| anyhow::anyhow!("unknown stream {name:?}"))?;
    let filter = match &args.subject {
        Some(filter) => history::narrow(filter, &stream_subject)
            .ok_or_else(|| anyhow::anyhow!("--subject {filter} is not in {stream}"))?,
        None => stream_subject,
    };
    let policy = match (args.from_seq, args.since) {
        (Some(start_sequence), _) => DeliverPolicy::ByStartSequence { start_sequence },
        (None, Some(since)) => history::since_policy(since),
        (None, None) => DeliverPolicy::All,
    };
    let mut messages = history::read_on(js, dial, &stream, &filter, policy).await?;
    messages.retain(|stored| match &stored.unreadable {
        Some(reason) => {
            eprintln!(
                "skipped {} stream sequence {} ({}): {}",
                stored.stream,
                stored.sequence,
                crate::output::escaped(&stored.subject),
                crate::output::escaped(reason)
            );
            false
        }
        None => true,
    });
    if let Some(until) = args.until {
        messages.retain(|stored| {
            stored
                .header(header::OCCURRED_AT)
                .and_then(|at| at.parse::<Timestamp>().ok())
                .is_none_or(|at| at <= until)
        });
    }
    Ok(messages)
}

/// Writes the messages to `path`, one JSON object per line.
fn export(path: &Path, messages: &[Stored]) -> anyhow::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    for stored in messages {
        let exported = Exported {
            stream: stored.stream.clone(),
            stream_seq: stored.sequence,
            subject: stored.subject.clone(),
            headers: stored
                .headers
                .iter()
                .flat_map(|(name, values)| {
                    values
                        .iter()
                        .map(move |v| (name.to_string(), v.as_str().to_owned()))
                })
                .collect(),
            payload_hex: hex(&stored.payload),
        };
        serde_json::to_writer(&mut file, &exported)?;
        file.write_all(b"\n")?;
    }
    file.flush()?;
    Ok(())
}

/// Shows the first few subjects that would be published, and how many in all.
fn dry_run(messages: &[Stored], target: Option<&Subjects>, as_json: bool) {
    let first = messages.iter().take(20);
    if as_json {
        let subjects: Vec<String> = first
            .map(|stored| retarget(&stored.subject, target))
            .collect();
        let result = serde_json::json!({
            "dry_run": true,
            "would_publish": messages.len(),
            "subjects": subjects,
        });
        print!("{}", json(&result));
        return;
    }
    for stored in first {
        println!(
            "would publish {} ({})",
            retarget(&stored.subject, target),
            stored.header(header::EVENT_TYPE).unwrap_or("?")
        );
    }
    println!(
        "dry run: {} messages would be published; nothing was",
        messages.len()
    );
}

fn import(path: &Path) -> anyhow::Result<Vec<Stored>> {
    let file = std::fs::File::open(path)
        .map_err(|error| anyhow::anyhow!("cannot open {}: {error}", path.display()))?;
    let mut messages = Vec::new();
    for (number, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let exported: Exported = serde_json::from_str(&line)
            .map_err(|error| anyhow::anyhow!("{}:{}: {error}", path.display(), number + 1))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &exported.headers {
            headers.append(name.as_str(), value.as_str());
        }
        messages.push(Stored {
            stream: exported.stream,
            sequence: exported.stream_seq,
            subject: exported.subject,
            headers,
            payload: unhex(&exported.payload_hex)?.into(),
            unreadable: None,
        });
    }
    Ok(messages)
}

/// The subject with its prefix (first token) replaced.
fn retarget(subject: &str, target: Option<&Subjects>) -> String {
    match (target, subject.split_once('.')) {
        (Some(target), Some((_, rest))) => format!("{}.{rest}", target.prefix()),
        _ => subject.to_owned(),
    }
}

/// Publishes messages (into `target`'s prefix if given), up to 256 acks in flight; with a
/// `rate`, message `n` goes out at `n / rate` seconds, evenly. Each keeps its event id as
/// `Nats-Msg-Id` unless `new_ids`. Draws a progress bar on stderr when it is a terminal,
/// moved per message.
pub(crate) async fn publish(
    js: &jetstream::Context,
    messages: &[Stored],
    target: Option<&Subjects>,
    rate: Option<u32>,
    new_ids: bool,
) -> anyhow::Result<()> {
    let progress = crate::output::progress_bar("replayed", messages.len() as u64);
    let started = tokio::time::Instant::now();
    let mut acks = Vec::with_capacity(256);
    for (sent, stored) in messages.iter().enumerate() {
        if let Some(due) = due(sent, rate) {
            tokio::time::sleep_until(started + due).await;
        }
        acks.push(publish_one(js, stored, target, new_ids).await?);
        if acks.len() == 256 {
            futures::future::try_join_all(acks.drain(..).map(IntoFuture::into_future)).await?;
        }
        progress.inc(1);
    }
    futures::future::try_join_all(acks.into_iter().map(IntoFuture::into_future)).await?;
    progress.finish_and_clear();
    Ok(())
}

/// When message `sent` (counting from 0) goes out, from the start, at `rate` per second.
fn due(sent: usize, rate: Option<u32>) -> Option<Duration> {
    let rate = rate.filter(|rate| *rate > 0)?;
    Some(Duration::from_secs_f64(sent as f64 / f64::from(rate)))
}

/// Publishes one message; the returned future is its ack.
async fn publish_one(
    js: &jetstream::Context,
    stored: &Stored,
    target: Option<&Subjects>,
    new_ids: bool,
) -> anyhow::Result<async_nats::jetstream::context::PublishAckFuture> {
    // the conditions the original was stored under (a partition's claim) do not hold for a copy
    let mut headers = runtime::nats::copy_headers(Some(&stored.headers), true);
    if new_ids {
        let id = events::new_event_id();
        headers.insert(header::EVENT_ID, id.as_str());
        headers.insert(header::NATS_MSG_ID, id.as_str());
    } else if let Some(id) = stored.header(header::EVENT_ID) {
        headers.insert(header::NATS_MSG_ID, id);
    }
    let subject = retarget(&stored.subject, target);
    Ok(js
        .publish_with_headers(subject, headers, stored.payload.clone())
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_spaces_every_message_evenly() {
        let times: Vec<Duration> = (0..5).filter_map(|sent| due(sent, Some(4))).collect();
        let millis: Vec<u128> = times.iter().map(Duration::as_millis).collect();
        assert_eq!(
            millis,
            [0, 250, 500, 750, 1000],
            "one every 250 ms, not in bursts"
        );
        assert_eq!(due(1000, None), None, "no rate: no waiting");
        assert_eq!(due(1000, Some(0)), None);
    }

    #[test]
    fn hex_round_trips() {
        let bytes = vec![0x00, 0x85, 0xff, 0x10];
        assert_eq!(unhex(&hex(&bytes)).unwrap(), bytes);
        assert!(unhex("abc").is_err());
    }

    #[test]
    fn subjects_move_to_the_target_prefix() {
        let target = Subjects::new("test").unwrap();
        assert_eq!(
            retarget("shop.orders.placed.o1", Some(&target)),
            "test.orders.placed.o1"
        );
        assert_eq!(
            retarget("shop.orders.placed.o1", None),
            "shop.orders.placed.o1"
        );
    }
}
