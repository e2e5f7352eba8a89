//! `shopctl dlq`: the dead-letter stream — list, show one entry with its decoded payload and
//! reason, and redrive entries to their original subject (removing each once it is stored).

use std::future::IntoFuture;
use std::process::ExitCode;

use async_nats::jetstream::{self, consumer::DeliverPolicy};
use clap::Subcommand;
use events::{Subjects, header};

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

async fn letters(js: &jetstream::Context, subjects: &Subjects) -> anyhow::Result<Vec<Stored>> {
    history::read(
        js,
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
    match command {
        DlqCommand::List => {
            let letters = letters(&js, &subjects).await?;
            if global.json {
                let lines: Vec<_> = letters
                    .iter()
                    .map(|letter| history::json_line(letter, &subjects))
                    .collect();
                print!("{}", json(&lines));
            } else {
                let rows: Vec<Vec<String>> = letters
                    .iter()
                    .map(|letter| {
                        let reason: String = letter
                            .header(header::DLQ_REASON)
                            .unwrap_or("")
                            .chars()
                            .take(70)
                            .collect();
                        vec![
                            letter.sequence.to_string(),
                            letter
                                .header(header::DLQ_FAILED_AT)
                                .unwrap_or("")
                                .to_owned(),
                            letter.header(header::DLQ_CONSUMER).unwrap_or("").to_owned(),
                            letter.header(header::DLQ_SUBJECT).unwrap_or("").to_owned(),
                            letter
                                .header(header::DLQ_DELIVERIES)
                                .unwrap_or("")
                                .to_owned(),
                            reason,
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(
                        &[
                            "ID",
                            "FAILED AT",
                            "CONSUMER",
                            "SUBJECT",
                            "ATTEMPTS",
                            "REASON"
                        ],
                        &rows
                    )
                );
            }
        }
        DlqCommand::Show { id } => {
            let stream = js.get_stream(stream_name(&subjects)).await?;
            let message = stream
                .get_raw_message(id)
                .await
                .map_err(|error| anyhow::anyhow!("no dead letter {id}: {error}"))?;
            let letter = Stored {
                stream: stream_name(&subjects),
                sequence: id,
                subject: message.subject.to_string(),
                headers: message.headers,
                payload: message.payload,
            };
            let original = Stored {
                subject: letter.header(header::DLQ_SUBJECT).unwrap_or("").to_owned(),
                ..letter.clone()
            };
            let decoded = original
                .event(&subjects)
                .map(|event| serde_json::to_value(event).unwrap_or_default());
            let headers: serde_json::Map<String, serde_json::Value> = letter
                .headers
                .iter()
                .map(|(name, values)| {
                    (
                        name.to_string(),
                        serde_json::Value::String(
                            values
                                .first()
                                .map(|v| v.as_str().to_owned())
                                .unwrap_or_default(),
                        ),
                    )
                })
                .collect();
            let shown = serde_json::json!({
                "id": id,
                "reason": letter.header(header::DLQ_REASON),
                "original_subject": letter.header(header::DLQ_SUBJECT),
                "attempts": letter.header(header::DLQ_DELIVERIES),
                "headers": headers,
                "payload": decoded.as_ref().ok(),
                "payload_error": decoded.as_ref().err(),
                "payload_bytes": letter.payload.len(),
            });
            print!("{}", json(&shown));
        }
        DlqCommand::Redrive { id, filter, all } => {
            anyhow::ensure!(
                id.is_some() || filter.is_some() || all,
                "say which: an ID, --filter SUBJECT or --all"
            );
            let stream = js.get_stream(stream_name(&subjects)).await?;
            let selected: Vec<Stored> = letters(&js, &subjects)
                .await?
                .into_iter()
                .filter(|letter| {
                    let original = letter.header(header::DLQ_SUBJECT).unwrap_or("");
                    all || Some(letter.sequence) == id
                        || filter
                            .as_deref()
                            .is_some_and(|filter| matches(filter, original))
                })
                .collect();
            anyhow::ensure!(!selected.is_empty(), "no dead letter matches");
            let mut redriven = 0;
            for letter in &selected {
                let original = letter.header(header::DLQ_SUBJECT).ok_or_else(|| {
                    anyhow::anyhow!("dead letter {} has no original subject", letter.sequence)
                })?;
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
                    format!("redrive-{}-{}", stream_name(&subjects), letter.sequence),
                );
                let ack = js
                    .publish_with_headers(original.to_owned(), headers, letter.payload.clone())
                    .await?;
                ack.into_future().await?;
                stream
                    .delete_message(letter.sequence)
                    .await
                    .map_err(|error| anyhow::anyhow!("{error}"))?;
                redriven += 1;
                println!("redrove dead letter {} to {original}", letter.sequence);
            }
            println!("{redriven} redriven");
        }
    }
    Ok(ExitCode::SUCCESS)
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
