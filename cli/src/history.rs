//! Reading the shop's streams back: every stored message with its stream, sequence, headers
//! and payload, and decoding it into an envelope and an event (or the reason it does not
//! decode, so nothing is skipped silently). A message whose header block async-nats cannot
//! read is read raw instead (`runtime::nats::reader`): it comes back marked unreadable, with
//! the reason, and the read goes on behind it.

use std::time::Duration;

use anyhow::Context as _;
use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer::DeliverPolicy};
use bytes::Bytes;
use events::{Envelope, Event, Subjects, codec};
use runtime::nats::reader::{self, Dial, Read, StreamReader};
use serde::Serialize;

use crate::Global;
use crate::connect::CONNECT_TIMEOUT;

/// One stored message.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) stream: String,
    pub(crate) sequence: u64,
    pub(crate) subject: String,
    pub(crate) headers: HeaderMap,
    pub(crate) payload: Bytes,
    /// Set when async-nats cannot read the message's header block: why. `headers` then holds
    /// only the lines it can read.
    pub(crate) unreadable: Option<String>,
}

impl Stored {
    /// Whether it is a partition claim record rather than an event (docs/scaling.md).
    pub(crate) fn is_claim(&self, prefix: &str) -> bool {
        Subjects::new(prefix).is_ok_and(|subjects| subjects.is_partition_claim(&self.subject))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.as_str())
    }

    pub(crate) fn envelope(&self) -> Result<Envelope, String> {
        Envelope::from_headers(|name| self.header(name)).map_err(|error| error.to_string())
    }

    /// What a read delivered, from `stream`.
    pub(crate) fn from_read(stream: &str, read: Read) -> anyhow::Result<Stored> {
        Ok(match read {
            Read::Message(message) => {
                let info = message.info().map_err(|error| anyhow::anyhow!("{error}"))?;
                Stored {
                    stream: stream.to_owned(),
                    sequence: info.stream_sequence,
                    subject: message.subject.to_string(),
                    headers: message.headers.clone().unwrap_or_default(),
                    payload: message.payload.clone(),
                    unreadable: None,
                }
            }
            Read::Skipped(raw, reason) => Stored {
                stream: stream.to_owned(),
                sequence: raw.sequence,
                headers: raw.readable_headers(),
                subject: raw.subject,
                payload: raw.payload,
                unreadable: Some(reason),
            },
        })
    }

    /// The decoded event, or why it does not decode.
    pub(crate) fn event(&self, subjects: &Subjects) -> Result<Event, String> {
        if let Some(reason) = &self.unreadable {
            return Err(reason.clone());
        }
        let parsed = subjects
            .parse(&self.subject)
            .map_err(|error| error.to_string())?;
        codec::decode_typed(
            parsed.event_type,
            &self.payload,
            codec::DEFAULT_MAX_PAYLOAD_BYTES,
        )
        .map_err(|error| error.to_string())
    }
}

/// The JSON form of a message for `watch --json` and `trace --json`.
#[derive(Debug, Serialize)]
pub(crate) struct JsonLine {
    pub(crate) subject: String,
    pub(crate) stream: String,
    pub(crate) stream_seq: u64,
    pub(crate) event_type: Option<String>,
    pub(crate) event_id: Option<String>,
    pub(crate) correlation_id: Option<String>,
    pub(crate) causation_id: Option<String>,
    pub(crate) occurred_at: Option<String>,
    pub(crate) producer: Option<String>,
    pub(crate) payload: serde_json::Value,
    /// Set when the message does not decode: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

pub(crate) fn json_line(stored: &Stored, subjects: &Subjects) -> JsonLine {
    let envelope = stored.envelope();
    let event = stored.event(subjects);
    let (payload, error) = match (&envelope, &event) {
        (_, Ok(event)) => (
            serde_json::to_value(event).unwrap_or_default(),
            envelope.as_ref().err().cloned(),
        ),
        (_, Err(reason)) => (serde_json::Value::Null, Some(reason.clone())),
    };
    let header = |name: &str| stored.header(name).map(str::to_owned);
    JsonLine {
        subject: stored.subject.clone(),
        stream: stored.stream.clone(),
        stream_seq: stored.sequence,
        event_type: header(events::header::EVENT_TYPE),
        event_id: header(events::header::EVENT_ID).or_else(|| header(events::header::NATS_MSG_ID)),
        correlation_id: header(events::header::CORRELATION_ID),
        causation_id: header(events::header::CAUSATION_ID),
        occurred_at: header(events::header::OCCURRED_AT),
        producer: header(events::header::PRODUCER),
        payload,
        error,
    }
}

/// Every stream of the shop (the six event streams and the dead-letter stream).
pub(crate) fn stream_names(subjects: &Subjects) -> Vec<(String, String)> {
    events::stream::all_streams(subjects)
        .into_iter()
        .map(|spec| (spec.name, spec.subjects[0].clone()))
        .collect()
}

/// The part of `filter` that falls in a stream capturing `<prefix>.<token>.>`, if any.
pub(crate) fn narrow(filter: &str, stream_subject: &str) -> Option<String> {
    let stream_tokens: Vec<&str> = stream_subject.split('.').collect();
    let (prefix, token) = (stream_tokens.first()?, stream_tokens.get(1)?);
    let tokens: Vec<&str> = filter.split('.').collect();
    match tokens.as_slice() {
        [first, ..] if *first == ">" => Some(stream_subject.to_owned()),
        [first, second, rest @ ..]
            if (first == prefix || *first == "*") && (second == token || *second == "*") =>
        {
            let mut narrowed = vec![*prefix, *token];
            narrowed.extend_from_slice(rest);
            Some(narrowed.join("."))
        }
        [first, second] if (first == prefix || *first == "*") && *second == ">" => {
            Some(stream_subject.to_owned())
        }
        _ => None,
    }
}

/// Connections for the readers of a command: each reader's consumer has one of its own, so a
/// message that breaks it breaks nothing else (see `runtime::nats::reader`).
pub(crate) fn dial(global: &Global) -> Dial {
    let (url, global) = (global.url(), global.clone());
    std::sync::Arc::new(move || {
        let (url, global) = (url.clone(), global.clone());
        Box::pin(async move {
            let servers = runtime::nats::server_addrs(&url)?;
            let options = async_nats::ConnectOptions::new()
                .name("shopctl reader")
                .connection_timeout(CONNECT_TIMEOUT)
                .max_reconnects(Some(3));
            let connecting = crate::connect::signed_in(&global, options)
                .await?
                .connect(servers);
            tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), connecting)
                .await
                .map_err(|_| anyhow::anyhow!("cannot reach NATS at {url}: timed out"))?
                .with_context(|| format!("cannot reach NATS at {url}"))
        })
    })
}

/// Reads what a stream holds now for `filter` (from `deliver`), oldest first, on `js`'s own
/// connection (a message that kills it ends the read with an error; see [`read_on`]).
pub(crate) async fn read(
    js: &jetstream::Context,
    stream: &str,
    filter: &str,
    deliver_policy: DeliverPolicy,
) -> anyhow::Result<Vec<Stored>> {
    let dial = reader::shared(js.client());
    read_on(js, &dial, stream, filter, deliver_policy).await
}

/// Reads what a stream holds now for `filter` (from `deliver`), oldest first, the consumer on
/// a connection from `dial`. Unreadable messages are in the list, marked.
pub(crate) async fn read_on(
    js: &jetstream::Context,
    dial: &Dial,
    stream: &str,
    filter: &str,
    deliver_policy: DeliverPolicy,
) -> anyhow::Result<Vec<Stored>> {
    let filters = vec![filter.to_owned()];
    let mut reader =
        StreamReader::open(js, dial.clone(), stream, filters, deliver_policy, true).await?;
    let mut out = Vec::new();
    while let Ok(next) = tokio::time::timeout(Duration::from_secs(10), reader.next()).await {
        match next? {
            Some(read) => {
                let stored = Stored::from_read(stream, read)?;
                // partition claims share the context streams; they are not events
                if !stored.is_claim(js_prefix(filter)) {
                    out.push(stored);
                }
            }
            None => break,
        }
    }
    Ok(out)
}

/// The prefix a stream filter starts with (`shop.orders.>` → `shop`).
fn js_prefix(filter: &str) -> &str {
    filter.split('.').next().unwrap_or_default()
}

/// Parses `--since` (and `--until`): an RFC 3339 time, or a duration back from now as
/// humantime spells it (`90s`, `10m`, `2h`, `1d`, `1h 30m`, `2weeks`).
///
/// Months and years are refused although humantime reads them: it counts 30.44 and 365.25
/// days, which is never quite "since last month", and `1M` (a month) is one shift key away
/// from `1m`.
pub(crate) fn parse_since(text: &str) -> Result<events::Timestamp, String> {
    if let Ok(stamp) = text.parse::<events::Timestamp>() {
        return Ok(stamp);
    }
    let back = humantime::parse_duration(text)
        .map_err(|error| format!("expected e.g. 10m, 2h or an RFC 3339 time ({error})"))?;
    if uses_calendar_units(text) {
        return Err("months and years have no fixed length: use days, e.g. 30d".to_owned());
    }
    let millis = i64::try_from(back.as_millis()).unwrap_or(i64::MAX);
    Ok(events::Timestamp::now().plus_millis(-millis))
}

/// Whether a duration humantime accepted has a month or year unit in it.
fn uses_calendar_units(duration: &str) -> bool {
    duration
        .split(|c: char| c.is_ascii_digit() || c == '.' || c.is_whitespace())
        .any(|unit| {
            matches!(
                unit,
                "M" | "month" | "months" | "y" | "yr" | "yrs" | "year" | "years"
            )
        })
}

/// A deliver policy starting at a timestamp.
pub(crate) fn since_policy(since: events::Timestamp) -> DeliverPolicy {
    let nanos = i128::from(since.unix_millis()) * 1_000_000;
    let start_time = time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    DeliverPolicy::ByStartTime { start_time }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_narrow_to_each_stream() {
        assert_eq!(
            narrow("shop.>", "shop.orders.>"),
            Some("shop.orders.>".into())
        );
        assert_eq!(
            narrow("shop.*.*.o1", "shop.orders.>"),
            Some("shop.orders.*.o1".into())
        );
        assert_eq!(
            narrow("shop.orders.placed.*", "shop.orders.>"),
            Some("shop.orders.placed.*".into())
        );
        assert_eq!(narrow("shop.orders.placed.*", "shop.payments.>"), None);
        assert_eq!(narrow(">", "shop.dlq.>"), Some("shop.dlq.>".into()));
        assert_eq!(narrow("other.>", "shop.orders.>"), None);
    }

    #[test]
    fn since_takes_durations_and_times() {
        assert!(parse_since("10m").is_ok());
        assert!(parse_since("2026-01-15T09:30:00Z").is_ok());
        assert!(parse_since("ten minutes").is_err());
        assert!(parse_since("5y").is_err());
    }

    #[test]
    fn since_reads_a_time_as_it_is_and_a_duration_back_from_now() {
        assert_eq!(
            parse_since("2026-01-15T09:30:00.250Z"),
            Ok("2026-01-15T09:30:00.250Z".parse().unwrap())
        );
        for (text, millis) in [
            ("90s", 90_000),
            ("10m", 600_000),
            ("2h", 7_200_000),
            ("1d", 86_400_000),
            ("0s", 0),
            ("1h 30m", 5_400_000),
            ("1h30m", 5_400_000),
            ("2weeks", 1_209_600_000),
            ("1.5h", 5_400_000),
        ] {
            let before = events::Timestamp::now().unix_millis();
            let since = parse_since(text).unwrap().unix_millis();
            let after = events::Timestamp::now().unix_millis();
            assert!(
                (before - millis..=after - millis).contains(&since),
                "{text} is not {millis} ms back"
            );
        }
    }

    #[test]
    fn since_refuses_other_text_in_one_line() {
        for bad in [
            "", "10", "10x", "-10m", "m", "1M", "2 months", "1yr", "3 years", "1d 1y",
        ] {
            let error = parse_since(bad).expect_err(bad);
            assert!(!error.contains('\n'), "{bad:?}: {error}");
        }
        assert!(parse_since("1M").unwrap_err().contains("use days"));
    }

    #[test]
    fn since_far_back_stops_at_year_zero() {
        let since = parse_since("99999999999999d").unwrap();
        assert_eq!(since.to_string(), "0000-01-01T00:00:00.000Z");
    }
}
