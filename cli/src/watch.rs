//! `shopctl watch`: decoded events, live, one line each (or one JSON object per line);
//! `--since` starts from history and then follows. Messages that do not decode are shown with
//! the reason, never skipped; one whose header block async-nats cannot read is shown as
//! `UNREADABLE` with the reason, and watching goes on behind it.

use std::process::ExitCode;

use async_nats::jetstream::{self, consumer::DeliverPolicy};
use events::Subjects;
use runtime::nats::reader::{Dial, StreamReader};
use tokio::sync::mpsc;

use crate::history::{self, Stored};
use crate::{Global, connect, output};

#[derive(Debug, clap::Args)]
pub(crate) struct WatchArgs {
    /// Subject filters (NATS wildcards), e.g. `shop.orders.>`; default: everything.
    filters: Vec<String>,
    /// Only events about this order (its key).
    #[arg(long)]
    order: Option<String>,
    /// Only this event type, e.g. `orders.placed`.
    #[arg(long = "type")]
    event_type: Option<String>,
    /// Start from history: `10m`, `2h`, or an RFC 3339 time; then follow live.
    #[arg(long, value_parser = history::parse_since)]
    since: Option<events::Timestamp>,
}

/// The filters to watch, before narrowing to each stream.
fn filters(subjects: &Subjects, args: &WatchArgs) -> anyhow::Result<Vec<String>> {
    let mut filters = args.filters.clone();
    if let Some(order) = &args.order {
        filters.push(
            subjects
                .key_filter(order)
                .map_err(|error| anyhow::anyhow!("{error}"))?,
        );
    }
    if let Some(event_type) = &args.event_type {
        let event_type: events::EventType = event_type
            .parse()
            .map_err(|_| anyhow::anyhow!("unknown event type {event_type:?}"))?;
        filters.push(subjects.event_type_filter(event_type));
    }
    if filters.is_empty() {
        filters.push(format!("{}.>", subjects.prefix()));
    }
    Ok(filters)
}

pub(crate) async fn run(global: &Global, args: WatchArgs) -> anyhow::Result<ExitCode> {
    let api = connect::api(global).await?;
    let subjects = api.subjects().clone();
    let js = jetstream::new(api.nats().clone());
    let deliver = args
        .since
        .map(history::since_policy)
        .unwrap_or(DeliverPolicy::New);
    let (sender, mut receiver) = mpsc::channel::<Stored>(1024);
    let dial = history::dial(global);
    let mut watching = 0;
    for (stream, stream_subject) in history::stream_names(&subjects) {
        for filter in filters(&subjects, &args)? {
            let Some(narrowed) = history::narrow(&filter, &stream_subject) else {
                continue;
            };
            follow(&js, &dial, &stream, narrowed, deliver, sender.clone()).await?;
            watching += 1;
        }
    }
    anyhow::ensure!(
        watching > 0,
        "no stream of prefix {} matches the filters",
        subjects.prefix()
    );
    drop(sender);
    while let Some(stored) = receiver.recv().await {
        if global.json {
            println!(
                "{}",
                output::json_line(&history::json_line(&stored, &subjects))
            );
        } else {
            println!("{}", human_line(&stored, &subjects));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Starts reading `stream` for `filter` (its consumer on a connection from `dial`) and a task
/// that sends what it reads to `sender`, until the receiver is gone.
async fn follow(
    js: &jetstream::Context,
    dial: &Dial,
    stream: &str,
    filter: String,
    deliver_policy: DeliverPolicy,
    sender: mpsc::Sender<Stored>,
) -> anyhow::Result<()> {
    let mut reader = StreamReader::open(
        js,
        dial.clone(),
        stream,
        vec![filter],
        deliver_policy,
        false,
    )
    .await?;
    let stream = stream.to_owned();
    tokio::spawn(async move {
        loop {
            let stored = match reader.next().await {
                Ok(Some(read)) => Stored::from_read(&stream, read),
                Ok(None) => return,
                Err(error) => {
                    eprintln!("stopped watching {stream}: {error:#}");
                    return;
                }
            };
            let Ok(stored) = stored else { continue };
            if sender.send(stored).await.is_err() {
                return;
            }
        }
    });
    Ok(())
}

/// `09:30:00.250  orders.placed  <key>  3 line(s), 72.47 EUR`, [escaped](output::escaped):
/// the subject, the headers and the payload are anyone's text.
pub(crate) fn human_line(stored: &Stored, subjects: &Subjects) -> String {
    output::escaped(&unescaped_line(stored, subjects)).into_owned()
}

fn unescaped_line(stored: &Stored, subjects: &Subjects) -> String {
    let time = stored
        .header(events::header::OCCURRED_AT)
        .or(stored.header(events::header::DLQ_FAILED_AT))
        .unwrap_or("");
    let time = time.get(11..23).unwrap_or(time);
    let key = stored.subject.rsplit('.').next().unwrap_or("");
    if let Some(reason) = &stored.unreadable {
        return format!(
            "{time}  UNREADABLE  {:<28} {key}  skipped stream sequence {}: {reason}",
            stored.subject, stored.sequence
        );
    }
    if let Some(reason) = stored.header(events::header::DLQ_REASON) {
        return format!(
            "{time}  DEAD LETTER {:<28} {key}  {reason}",
            stored.header(events::header::DLQ_SUBJECT).unwrap_or("")
        );
    }
    match stored.event(subjects) {
        Ok(event) => format!(
            "{time}  {:<34} {key}  {}",
            event.event_type().as_str(),
            output::gist(&event)
        ),
        Err(reason) => format!("{time}  UNDECODABLE {:<28} {key}  {reason}", stored.subject),
    }
}
