//! `shopctl dlq redrive`: dead letters published again to their original subject, each removed
//! once JetStream has stored it.
//!
//! The original subject is a header of the dead letter, and anyone who can publish to the
//! dead-letter stream can write it; the redrive publishes with the operator's rights. So a
//! letter goes back only to an event subject of this shop's prefix, in the context of the
//! stream it came from, of its own event type (`Shop-Event-Type`): a letter that names
//! anything else (`$JS.API.STREAM.DELETE.…`, another prefix, another stream's subject) is
//! refused with the reason, stays in the dead-letter stream, and the exit code says so.

use std::future::IntoFuture;
use std::process::ExitCode;

use async_nats::jetstream;
use events::{Subjects, header};
use runtime::nats::reader::Dial;
use serde::Serialize;

use super::{letters, stream_name};
use crate::history::Stored;
use crate::output::{escaped, json};

/// Which dead letters `dlq redrive` takes: one id, an original-subject filter, or all.
#[derive(Debug)]
pub(super) struct Selection {
    pub(super) id: Option<u64>,
    pub(super) filter: Option<String>,
    pub(super) all: bool,
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

/// What became of the selected letters (`--json` prints it as it is).
#[derive(Debug, Default, Serialize)]
struct Outcome {
    redriven: Vec<Redriven>,
    /// Letters whose original subject is not theirs to go back to: they stay.
    refused: Vec<NotRedriven>,
    /// Letters whose header block async-nats cannot read: they stay.
    skipped: Vec<NotRedriven>,
}

#[derive(Debug, Serialize)]
struct Redriven {
    id: u64,
    subject: String,
}

#[derive(Debug, Serialize)]
struct NotRedriven {
    id: u64,
    original_subject: Option<String>,
    reason: String,
}

impl NotRedriven {
    fn new(letter: &Stored, reason: String) -> NotRedriven {
        NotRedriven {
            id: letter.sequence,
            original_subject: letter.header(header::DLQ_SUBJECT).map(str::to_owned),
            reason,
        }
    }
}

/// Redrives the selected letters; a failure exit when one was refused.
pub(super) async fn run(
    js: &jetstream::Context,
    dial: &Dial,
    subjects: &Subjects,
    selection: &Selection,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let stream = js.get_stream(stream_name(subjects)).await?;
    let selected: Vec<Stored> = letters(js, dial, subjects)
        .await?
        .into_iter()
        .filter(|letter| selection.takes(letter))
        .collect();
    anyhow::ensure!(!selected.is_empty(), "no dead letter matches");
    // reasons and subjects are the letters' own text
    let say = |line: String| {
        if !as_json {
            println!("{}", escaped(&line));
        }
    };
    let mut outcome = Outcome::default();
    for letter in &selected {
        if let Some(reason) = &letter.unreadable {
            say(format!("skipped dead letter {}: {reason}", letter.sequence));
            outcome
                .skipped
                .push(NotRedriven::new(letter, reason.clone()));
            continue;
        }
        let subject = match target(letter, subjects) {
            Ok(subject) => subject,
            Err(reason) => {
                say(format!("refused dead letter {}: {reason}", letter.sequence));
                outcome.refused.push(NotRedriven::new(letter, reason));
                continue;
            }
        };
        let headers = original_headers(letter, subjects);
        let ack = js
            .publish_with_headers(subject.clone(), headers, letter.payload.clone())
            .await?;
        ack.into_future().await?;
        stream
            .delete_message(letter.sequence)
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        say(format!(
            "redrove dead letter {} to {subject}",
            letter.sequence
        ));
        let id = letter.sequence;
        outcome.redriven.push(Redriven { id, subject });
    }
    if as_json {
        print!("{}", json(&outcome));
    } else {
        println!(
            "{} redriven, {} refused, {} skipped",
            outcome.redriven.len(),
            outcome.refused.len(),
            outcome.skipped.len()
        );
    }
    Ok(if outcome.refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The subject a letter may be published to again — its original subject, when that is an
/// event subject of this prefix, of the context whose stream the letter came from, and of
/// the letter's own event type — or why not, in one line.
fn target(letter: &Stored, subjects: &Subjects) -> Result<String, String> {
    let present = |name: &str| {
        letter
            .header(name)
            .ok_or_else(|| format!("it has no {name} header"))
    };
    let original = present(header::DLQ_SUBJECT)?;
    let parsed = subjects.parse(original).map_err(|error| {
        format!("its original subject is not an event subject of this shop: {error}")
    })?;
    let context = parsed.event_type.context();
    let own_stream = events::stream::event_stream(subjects, context).name;
    let came_from = present(header::DLQ_STREAM)?;
    if came_from != own_stream {
        return Err(format!(
            "its original subject {original} is an event of context {context}, but it came \
             from stream {came_from:?}, not {own_stream}"
        ));
    }
    let event_type = present(header::EVENT_TYPE)?;
    if event_type != parsed.event_type.as_str() {
        return Err(format!(
            "its original subject {original} has event type {}, but its Shop-Event-Type \
             header says {event_type:?}",
            parsed.event_type
        ));
    }
    Ok(original.to_owned())
}

/// The letter's headers without the `Shop-Dlq-*` ones and without any `Nats-*` one (the broker
/// acts on those: a planted `Nats-TTL`, `Nats-Rollup` or `Nats-Expected-*` must not ride along),
/// under a new publish id.
fn original_headers(letter: &Stored, subjects: &Subjects) -> async_nats::HeaderMap {
    let mut headers = async_nats::HeaderMap::new();
    for (name, values) in letter.headers.iter() {
        let name: &str = name.as_ref();
        let lower = name.to_ascii_lowercase();
        if !lower.starts_with("shop-dlq-") && !lower.starts_with("nats-") {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_filters_match_like_nats() {
        assert!(matches("shop.orders.>", "shop.orders.placed.o1"));
        assert!(matches("shop.*.placed.*", "shop.orders.placed.o1"));
        assert!(!matches("shop.*.placed", "shop.orders.placed.o1"));
        assert!(!matches("shop.payments.>", "shop.orders.placed.o1"));
    }

    /// A dead letter of `shop` with these headers.
    fn letter(headers: &[(&str, &str)]) -> Stored {
        let mut map = async_nats::HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, *value);
        }
        Stored {
            stream: "SHOP_DLQ".into(),
            sequence: 7,
            subject: "shop.dlq.payments.o-1".into(),
            headers: map,
            payload: bytes::Bytes::new(),
            unreadable: None,
        }
    }

    fn target_of(subject: &str, stream: &str, event_type: &str) -> Result<String, String> {
        let letter = letter(&[
            (header::DLQ_SUBJECT, subject),
            (header::DLQ_STREAM, stream),
            (header::EVENT_TYPE, event_type),
        ]);
        target(&letter, &Subjects::default())
    }

    #[test]
    fn a_redriven_letter_keeps_the_envelope_and_drops_what_the_broker_would_act_on() {
        let letter = letter(&[
            (header::EVENT_ID, "e-1"),
            (header::EVENT_TYPE, "orders.placed"),
            (
                header::TRACEPARENT,
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ),
            (header::DLQ_REASON, "undecodable"),
            (header::NATS_MSG_ID, "e-1"),
            ("Nats-TTL", "1s"),
            ("nats-rollup", "sub"),
            ("Nats-Expected-Last-Sequence", "1"),
        ]);
        let headers = original_headers(&letter, &Subjects::default());
        let mut names: Vec<String> = headers
            .iter()
            .map(|(name, _)| AsRef::<str>::as_ref(name).to_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                header::NATS_MSG_ID,
                header::EVENT_ID,
                header::EVENT_TYPE,
                header::TRACEPARENT
            ]
        );
        assert_eq!(
            headers.get(header::NATS_MSG_ID).map(|v| v.as_str()),
            Some("redrive-SHOP_DLQ-7")
        );
    }

    #[test]
    fn a_letter_goes_back_to_its_own_event_subject() {
        assert_eq!(
            target_of("shop.orders.placed.o-1", "SHOP_ORDERS", "orders.placed"),
            Ok("shop.orders.placed.o-1".into())
        );
        assert_eq!(
            target_of(
                "shop.payments.voided.o-1",
                "SHOP_PAYMENTS",
                "payments.voided"
            ),
            Ok("shop.payments.voided.o-1".into())
        );
    }

    #[test]
    fn a_letter_aimed_anywhere_else_is_refused_with_the_reason() {
        let placed = "orders.placed";
        for (subject, stream, event_type, reason) in [
            (
                "$JS.API.STREAM.DELETE.SHOP_ORDERS",
                "SHOP_ORDERS",
                placed,
                "not an event subject of this shop",
            ),
            ("other.orders.placed.o-1", "SHOP_ORDERS", placed, "prefix"),
            ("shop.api.orders.place", "SHOP_ORDERS", placed, "context"),
            ("shop.dlq.orders.o-1", "SHOP_DLQ", placed, "context"),
            (
                "shop.orders.placed.o-1.x",
                "SHOP_ORDERS",
                placed,
                "4 tokens",
            ),
            ("shop.orders.placed.*", "SHOP_ORDERS", placed, "invalid key"),
            ("shop.orders.placed.>", "SHOP_ORDERS", placed, "invalid key"),
            (
                "shop.orders.placed.o-1",
                "SHOP_PAYMENTS",
                placed,
                "from stream \"SHOP_PAYMENTS\", not SHOP_ORDERS",
            ),
            (
                "shop.orders.placed.o-1",
                "OTHER_ORDERS",
                placed,
                "from stream \"OTHER_ORDERS\", not SHOP_ORDERS",
            ),
            (
                "shop.orders.placed.o-1",
                "SHOP_ORDERS",
                "orders.cancelled",
                "has event type orders.placed, but its Shop-Event-Type header says \"orders.cancelled\"",
            ),
        ] {
            let refused = target_of(subject, stream, event_type).expect_err(subject);
            assert!(refused.contains(reason), "{subject}: {refused}");
            assert!(!refused.contains('\n'), "{refused}");
        }
    }

    #[test]
    fn a_letter_without_its_origin_is_refused() {
        let subjects = Subjects::default();
        let no_subject = letter(&[(header::DLQ_STREAM, "SHOP_ORDERS")]);
        assert_eq!(
            target(&no_subject, &subjects),
            Err("it has no Shop-Dlq-Subject header".into())
        );
        let no_stream = letter(&[
            (header::DLQ_SUBJECT, "shop.orders.placed.o-1"),
            (header::EVENT_TYPE, "orders.placed"),
        ]);
        assert_eq!(
            target(&no_stream, &subjects),
            Err("it has no Shop-Dlq-Stream header".into())
        );
        let no_type = letter(&[
            (header::DLQ_SUBJECT, "shop.orders.placed.o-1"),
            (header::DLQ_STREAM, "SHOP_ORDERS"),
        ]);
        assert_eq!(
            target(&no_type, &subjects),
            Err("it has no Shop-Event-Type header".into())
        );
    }
}
