//! `shopctl dlq`: the dead-letter stream — list, show one entry with its decoded payload and
//! reason, and redrive entries to their original subject (removing each once it is stored).
//! An entry whose header block async-nats cannot read (published there by hand) is listed and
//! shown as unreadable, with the reason, and never redriven.

use std::future::IntoFuture;
use std::process::ExitCode;

use async_nats::jetstream::{self, consumer::DeliverPolicy};
use clap::Subcommand;
use events::{Subjects, header};
use runtime::nats::raw;
use runtime::nats::reader::{Dial, Read};

use crate::history::{self, Stored};
use crate::output::{json, table};
use crate::{Global, connect};

#[derive(Debug, Subcommand)]
pub(crate) enum DlqCommand {
    /// List dead letters: id (its sequence in the dead-letter stream), consumer, subject, reason.
    List,
    /// Show one dead letter: headers, reason, and the decoded payload.
    Show { id: u64 },
    /// Publish dead letters again to their original subject, then remove them.
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

/// Whether a subject matches a NATS filter with `*` and `>`.
fn matches(filter: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for token in filter.split('.') {
        match (token, subject_tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (literal, Some(actual)) if literal == actual => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
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
            let selection = Selection { id, filter, all };
            redrive(&js, &dial, &subjects, &selection).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `dlq list`: a table, or the JSON form `watch --json` uses.
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
            .map(|letter| history::json_line(letter, subjects))
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
        field(header::DLQ_FAILED_AT),
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

/// Which dead letters `dlq redrive` takes: one id, an original-subject filter, or all.
#[derive(Debug)]
struct Selection {
    id: Option<u64>,
    filter: Option<String>,
    all: bool,
}

impl Selection {
    fn takes(&self, letter: &Stored) -> bool {
        let original = letter.header(header::DLQ_SUBJECT).unwrap_or("");
        self.all
            || Some(letter.sequence) == self.id
            || self
                .filter
                .as_deref()
                .is_some_and(|filter| matches(filter, original))
    }
}

/// `dlq redrive`: each selected letter back to its original subject, then out of the stream.
async fn redrive(
    js: &jetstream::Context,
    dial: &Dial,
    subjects: &Subjects,
    selection: &Selection,
) -> anyhow::Result<()> {
    let stream = js.get_stream(stream_name(subjects)).await?;
    let mut selected: Vec<Stored> = letters(js, dial, subjects)
        .await?
        .into_iter()
        .filter(|letter| selection.takes(letter))
        .collect();
    anyhow::ensure!(!selected.is_empty(), "no dead letter matches");
    selected.retain(|letter| match &letter.unreadable {
        Some(reason) => {
            println!("skipped dead letter {}: {reason}", letter.sequence);
            false
        }
        None => true,
    });
    for letter in &selected {
        let original = letter.header(header::DLQ_SUBJECT).ok_or_else(|| {
            anyhow::anyhow!("dead letter {} has no original subject", letter.sequence)
        })?;
        let headers = original_headers(letter, subjects);
        let ack = js
            .publish_with_headers(original.to_owned(), headers, letter.payload.clone())
            .await?;
        ack.into_future().await?;
        stream
            .delete_message(letter.sequence)
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        println!("redrove dead letter {} to {original}", letter.sequence);
    }
    println!("{} redriven", selected.len());
    Ok(())
}

/// The letter's headers without the `Shop-Dlq-*` ones, under a new publish id.
fn original_headers(letter: &Stored, subjects: &Subjects) -> async_nats::HeaderMap {
    let mut headers = async_nats::HeaderMap::new();
    for (name, values) in letter.headers.iter() {
        let name: &str = name.as_ref();
        if !name.starts_with("Shop-Dlq-") && name != header::NATS_MSG_ID {
            for value in values {
                headers.append(name, value.as_str());
            }
        }
    }
    // a new publish id (JetStream may remember the original's); the event id stays, so
    // consumers that already applied the event drop the copy
    headers.insert(
        header::NATS_MSG_ID,
        format!("redrive-{}-{}", stream_name(subjects), letter.sequence),
    );
    headers
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn subject_filters_match_like_nats() {
        assert!(matches("shop.orders.>", "shop.orders.placed.o1"));
        assert!(matches("shop.*.placed.*", "shop.orders.placed.o1"));
        assert!(!matches("shop.*.placed", "shop.orders.placed.o1"));
        assert!(!matches("shop.payments.>", "shop.orders.placed.o1"));
    }
}
