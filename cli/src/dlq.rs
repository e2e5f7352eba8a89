//! `shopctl dlq`: the dead-letter stream — list, show one entry with its decoded payload and
//! reason, and redrive entries to their original subject (removing each once it is stored;
//! refusing one whose original subject is not an event of the stream it came from, see
//! [`redrive`]). An entry whose header block async-nats cannot read (published there by hand)
//! is listed and shown as unreadable, with the reason, and never redriven.

mod redrive;

use std::process::ExitCode;

use async_nats::jetstream::{self, consumer::DeliverPolicy};
use clap::Subcommand;
use events::{Subjects, header};
use runtime::nats::raw;
use runtime::nats::reader::{Dial, Read};
use serde::Serialize;

use crate::history::{self, Stored};
use crate::output::{json, table};
use crate::{Global, connect};

#[derive(Debug, Subcommand)]
pub(crate) enum DlqCommand {
    /// List dead letters: id (its sequence in the dead-letter stream), failed at (RFC 3339
    /// UTC), consumer, original subject, deliveries, reason.
    #[command(after_help = "Examples:\n  shopctl dlq list\n  shopctl dlq list --json")]
    List,
    /// Show one dead letter: headers, reason, and the decoded payload.
    #[command(after_help = "Examples:\n  shopctl dlq show 42")]
    Show {
        /// The dead letter's id (its sequence in the dead-letter stream, as `dlq list` shows it).
        id: u64,
    },
    /// Publish dead letters again to their original subject, then remove them; a letter whose
    /// original subject is not an event of the stream it came from is refused (non-zero exit).
    #[command(
        after_help = "Examples:\n  shopctl dlq redrive 42\n  shopctl dlq redrive --filter 'shop.orders.>'\n  shopctl dlq redrive --all"
    )]
    Redrive {
        /// One dead letter.
        id: Option<u64>,
        /// Every dead letter whose original subject matches (NATS wildcards).
        #[arg(long, conflicts_with = "id")]
        filter: Option<String>,
        /// Every dead letter.
        #[arg(long, conflicts_with_all = ["id", "filter"])]
        all: bool,
    },
}

fn stream_name(subjects: &Subjects) -> String {
    events::stream::dead_letter_stream(subjects).name
}

async fn letters(
    js: &jetstream::Context,
    dial: &Dial,
    subjects: &Subjects,
) -> anyhow::Result<Vec<Stored>> {
    history::read_on(
        js,
        dial,
        &stream_name(subjects),
        &subjects.dead_letter_filter(),
        DeliverPolicy::All,
    )
    .await
}

pub(crate) async fn run(global: &Global, command: DlqCommand) -> anyhow::Result<ExitCode> {
    let api = connect::api(global).await?;
    let subjects = api.subjects().clone();
    let js = jetstream::new(api.nats().clone());
    let dial = history::dial(global);
    match command {
        DlqCommand::List => list(global, &js, &dial, &subjects).await?,
        DlqCommand::Show { id } => show(&js, &subjects, id).await?,
        DlqCommand::Redrive { id, filter, all } => {
            anyhow::ensure!(
                id.is_some() || filter.is_some() || all,
                "say which: an ID, --filter SUBJECT or --all"
            );
            let selection = redrive::Selection { id, filter, all };
            return redrive::run(&js, &dial, &subjects, &selection, global.json).await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One entry of `dlq list --json`: the fields of `watch --json` for the letter as it is stored
/// (`subject`, `stream`, `stream_seq`, …, with `payload` decoded as its original event), and
/// where it came from and why it is here.
#[derive(Debug, Serialize)]
struct ListedLetter {
    /// Its sequence in the dead-letter stream (what `dlq show` and `dlq redrive` take).
    id: u64,
    /// The service whose consumer gave up on it.
    consumer: Option<String>,
    original_subject: Option<String>,
    original_stream: Option<String>,
    reason: Option<String>,
    /// Deliveries to that consumer before it was dead-lettered.
    deliveries: Option<u64>,
    /// RFC 3339 UTC (the header as written, when it is not a timestamp).
    failed_at: Option<String>,
    /// Set when its header block cannot be read (and so it is never redriven): why.
    #[serde(skip_serializing_if = "Option::is_none")]
    unreadable: Option<String>,
    #[serde(flatten)]
    line: history::JsonLine,
}

fn listed(letter: &Stored, subjects: &Subjects) -> ListedLetter {
    let header = |name: &str| letter.header(name).map(str::to_owned);
    // decoded as the event it was, not as a message of the (event-less) dlq context
    let original = Stored {
        subject: header(header::DLQ_SUBJECT).unwrap_or_default(),
        ..letter.clone()
    };
    let mut line = history::json_line(&original, subjects);
    line.subject = letter.subject.clone();
    ListedLetter {
        id: letter.sequence,
        consumer: header(header::DLQ_CONSUMER),
        original_subject: header(header::DLQ_SUBJECT),
        original_stream: header(header::DLQ_STREAM),
        reason: header(header::DLQ_REASON),
        deliveries: header(header::DLQ_DELIVERIES).and_then(|text| text.parse().ok()),
        failed_at: header(header::DLQ_FAILED_AT).map(|text| utc(&text)),
        unreadable: letter.unreadable.clone(),
        line,
    }
}

/// A header's time in the one RFC 3339 UTC spelling; text that is no time stays as it is.
fn utc(text: &str) -> String {
    text.parse::<events::Timestamp>()
        .map(|at| at.to_string())
        .unwrap_or_else(|_| text.to_owned())
}

/// `dlq list`: a table, or one [`ListedLetter`] per entry.
async fn list(
    global: &Global,
    js: &jetstream::Context,
    dial: &Dial,
    subjects: &Subjects,
) -> anyhow::Result<()> {
    let letters = letters(js, dial, subjects).await?;
    if global.json {
        let lines: Vec<_> = letters
            .iter()
            .map(|letter| listed(letter, subjects))
            .collect();
        print!("{}", json(&lines));
    } else {
        let rows: Vec<Vec<String>> = letters.iter().map(letter_row).collect();
        let header = [
            "ID",
            "FAILED AT",
            "CONSUMER",
            "SUBJECT",
            "ATTEMPTS",
            "REASON",
        ];
        print!("{}", table(&header, &rows));
    }
    Ok(())
}

fn letter_row(letter: &Stored) -> Vec<String> {
    let field = |name: &str| letter.header(name).unwrap_or("").to_owned();
    let reason = match &letter.unreadable {
        Some(reason) => format!("unreadable: {reason}"),
        None => field(header::DLQ_REASON),
    };
    let reason: String = reason.chars().take(70).collect();
    vec![
        letter.sequence.to_string(),
        utc(&field(header::DLQ_FAILED_AT)),
        field(header::DLQ_CONSUMER),
        field(header::DLQ_SUBJECT),
        field(header::DLQ_DELIVERIES),
        reason,
    ]
}

/// `dlq show ID`: always JSON, with the payload decoded as its original event type.
async fn show(js: &jetstream::Context, subjects: &Subjects, id: u64) -> anyhow::Result<()> {
    let stream = js.get_stream(stream_name(subjects)).await?;
    let letter = match stream.get_raw_message(id).await {
        Ok(message) => Stored {
            stream: stream_name(subjects),
            sequence: id,
            subject: message.subject.to_string(),
            headers: message.headers,
            payload: message.payload,
            unreadable: None,
        },
        // async-nats refuses a header block it cannot parse: read it raw
        Err(error) => unreadable_letter(js, subjects, id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no dead letter {id}: {error}"))?,
    };
    print!("{}", json(&described(&letter, subjects)));
    Ok(())
}

/// Dead letter `id` read raw, if its header block is one async-nats cannot read.
async fn unreadable_letter(
    js: &jetstream::Context,
    subjects: &Subjects,
    id: u64,
) -> anyhow::Result<Option<Stored>> {
    let stream = stream_name(subjects);
    let found = raw::next_stored(js, &stream, id, &subjects.dead_letter_filter()).await?;
    found
        .filter(|stored| stored.sequence == id)
        .and_then(|stored| {
            let reason = stored.unreadable()?;
            Some(Stored::from_read(&stream, Read::Skipped(stored, reason)))
        })
        .transpose()
}

/// A dead letter as `dlq show` prints it: reason, origin, headers and the decoded payload.
fn described(letter: &Stored, subjects: &Subjects) -> serde_json::Value {
    let original = Stored {
        subject: letter.header(header::DLQ_SUBJECT).unwrap_or("").to_owned(),
        ..letter.clone()
    };
    let decoded = original
        .event(subjects)
        .map(|event| serde_json::to_value(event).unwrap_or_default());
    let headers: serde_json::Map<String, serde_json::Value> = letter
        .headers
        .iter()
        .map(|(name, values)| {
            let first = values.first().map(|v| v.as_str().to_owned());
            (
                name.to_string(),
                serde_json::Value::String(first.unwrap_or_default()),
            )
        })
        .collect();
    serde_json::json!({
        "id": letter.sequence,
        "reason": letter.header(header::DLQ_REASON),
        "unreadable": letter.unreadable,
        "original_subject": letter.header(header::DLQ_SUBJECT),
        "attempts": letter.header(header::DLQ_DELIVERIES),
        "headers": headers,
        "payload": decoded.as_ref().ok(),
        "payload_error": decoded.as_ref().err(),
        "payload_bytes": letter.payload.len(),
    })
}
