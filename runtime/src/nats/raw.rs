//! Stored messages read without async-nats' header parser, for the messages it cannot read.
//!
//! async-nats 0.51 parses the header block of every message in its connection task. A block
//! that is not UTF-8, does not start with `NATS/1.0`, or holds a line that is not
//! `Name: value` is an I/O error there: the client drops the connection and reconnects, and
//! JetStream delivers the message again after the ack wait, for ever. A header value with a
//! carriage return inside it is worse: a failed assertion panics that task, and the client
//! never talks to the broker again. nats-server stores either kind as it was published.
//!
//! So such a message must never be delivered to a client that matters. This module reads a
//! stored message through `$JS.API.STREAM.MSG.GET`, whose JSON reply carries the header block
//! base64-encoded (the reply itself has no headers), checks the block with async-nats' rules,
//! and turns a bad one into a message the dead-letter path can copy and terminate.

use anyhow::Context as _;
use async_nats::HeaderMap;
use async_nats::jetstream::{self, ErrorCode, response::Response, stream::RawMessage};
use bytes::Bytes;

/// One stored message as JetStream keeps it: the header block as bytes, unparsed.
#[derive(Debug, Clone)]
pub struct RawStored {
    pub stream: String,
    pub sequence: u64,
    pub subject: String,
    pub header_block: Vec<u8>,
    pub payload: Bytes,
}

#[derive(serde::Deserialize)]
struct GetReply {
    message: RawMessage,
}

/// The first message of `stream` at or after sequence `from` on a subject matching `filter`
/// (`None` when there is none).
pub async fn next_stored(
    js: &jetstream::Context,
    stream: &str,
    from: u64,
    filter: &str,
) -> anyhow::Result<Option<RawStored>> {
    let request = serde_json::json!({ "seq": from.max(1), "next_by_subj": filter });
    let reply: Response<GetReply> = js
        .request(format!("STREAM.MSG.GET.{stream}"), &request)
        .await
        .with_context(|| format!("failed to read {stream} from sequence {from}"))?;
    let message = match reply {
        Response::Ok(GetReply { message }) => message,
        Response::Err { error } if error.error_code() == ErrorCode::NO_MESSAGE_FOUND => {
            return Ok(None);
        }
        Response::Err { error } => {
            anyhow::bail!("failed to read {stream} from sequence {from}: {error}")
        }
    };
    let header_block = match &message.headers {
        Some(encoded) => base64_decode(encoded).context("the header block is not base64")?,
        None => Vec::new(),
    };
    Ok(Some(RawStored {
        stream: stream.to_owned(),
        sequence: message.sequence,
        subject: message.subject,
        header_block,
        payload: base64_decode(&message.payload)
            .context("the payload is not base64")?
            .into(),
    }))
}

/// The first message at or after `from` on any of `filters` (all of the stream if none).
pub async fn next_stored_on_any(
    js: &jetstream::Context,
    stream: &str,
    from: u64,
    filters: &[String],
) -> anyhow::Result<Option<RawStored>> {
    if filters.is_empty() {
        return next_stored(js, stream, from, ">").await;
    }
    let mut first: Option<RawStored> = None;
    for filter in filters {
        if let Some(found) = next_stored(js, stream, from, filter).await?
            && first
                .as_ref()
                .is_none_or(|first| found.sequence < first.sequence)
        {
            first = Some(found);
        }
    }
    Ok(first)
}

/// Messages of `stream` on `filters` with a sequence in `first..=last` whose header block
/// async-nats cannot read, with the reason; at most `budget` messages are looked at.
pub async fn unreadable_between(
    js: &jetstream::Context,
    stream: &str,
    filters: &[String],
    (first, last): (u64, u64),
    budget: usize,
) -> anyhow::Result<Vec<(RawStored, String)>> {
    let mut found = Vec::new();
    let (mut from, mut looked) = (first, 0);
    while from <= last && looked < budget {
        let Some(stored) = next_stored_on_any(js, stream, from, filters).await? else {
            break;
        };
        if stored.sequence > last {
            break;
        }
        looked += 1;
        from = stored.sequence + 1;
        if let Some(reason) = stored.unreadable() {
            found.push((stored, reason));
        }
    }
    if looked == budget {
        tracing::warn!(
            stream,
            first,
            last,
            budget,
            "looked at only part of the unacknowledged range"
        );
    }
    Ok(found)
}

impl RawStored {
    /// Why async-nats cannot read this message (the dead-letter or skip reason: what is
    /// wrong and the block itself, escaped), or `None` when it can.
    pub fn unreadable(&self) -> Option<String> {
        if self.header_block.is_empty() {
            return None;
        }
        let error = parse_header_block(&self.header_block).err()?;
        Some(format!(
            "header block does not parse ({error}): {}",
            self.header_block.escape_ascii()
        ))
    }

    /// The lines of the header block that async-nats can read, for a copy that can be read.
    pub fn readable_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let lines = self.header_block.split(|byte| *byte == b'\n').skip(1);
        for line in lines.filter_map(|line| std::str::from_utf8(line).ok()) {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if let Ok(name) = name.parse::<async_nats::HeaderName>()
                && !value.contains(['\r', '\n'])
            {
                headers.append(name, value);
            }
        }
        headers
    }

    /// The message as `consumer` was delivered it, with its readable headers and the ack
    /// subject of that delivery, so that it can be dead-lettered and terminated like any
    /// other. JetStream finds the delivery by stream and sequence (the delivery count and
    /// consumer sequence in the subject are not used to find it).
    pub fn as_delivered(&self, js: &jetstream::Context, consumer: &str) -> jetstream::Message {
        let ack = format!(
            "$JS.ACK.{}.{consumer}.1.{}.{}.0.0",
            self.stream, self.sequence, self.sequence
        );
        jetstream::Message {
            message: async_nats::Message {
                subject: self.subject.as_str().into(),
                reply: Some(ack.into()),
                payload: self.payload.clone(),
                headers: Some(self.readable_headers()),
                status: None,
                description: None,
                length: self.header_block.len() + self.payload.len(),
            },
            context: js.clone(),
        }
    }
}

/// Checks a header block with the rules async-nats 0.51 applies when it reads a message
/// (`Connection::try_read_op`, `HMSG`); where it fails, the connection is dropped (or its
/// task panics: a value with a carriage return). Returns the headers it would read.
pub fn parse_header_block(block: &[u8]) -> Result<HeaderMap, String> {
    let text = std::str::from_utf8(block).map_err(|_| "header isn't valid utf-8".to_owned())?;
    let mut lines = text.lines().peekable();
    let version = lines.next().ok_or("no header version line found")?;
    let suffix = version
        .strip_prefix("NATS/1.0")
        .map(str::trim)
        .ok_or("header version line does not begin with `NATS/1.0`")?;
    let status = suffix.split_once(' ').map_or(suffix, |(status, _)| status);
    if !status.trim().is_empty() && status.trim().parse::<async_nats::StatusCode>().is_err() {
        return Err("could not parse status parameter".to_owned());
    }
    let mut headers = HeaderMap::new();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("line {:?} is not `Name: value`", line))?;
        let name = name
            .parse::<async_nats::HeaderName>()
            .map_err(|_| format!("{name:?} is not a header name"))?;
        let mut value = value.trim_start().to_owned();
        while let Some(more) = lines.next_if(|line| line.starts_with(char::is_whitespace)) {
            value.push_str(more);
        }
        let value = value.trim_end();
        if value.contains(['\r', '\n']) {
            return Err(format!("the value of {name} holds a carriage return"));
        }
        headers.append(name, value);
    }
    Ok(headers)
}

/// Standard base64 with padding, as JetStream's API encodes bytes (written out here rather
/// than adding a dependency for it).
fn base64_decode(text: &str) -> anyhow::Result<Vec<u8>> {
    let digit = |byte: u8| -> anyhow::Result<u32> {
        Ok(match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            other => anyhow::bail!("{:?} is not a base64 digit", other as char),
        }
        .into())
    };
    let digits = text.trim_end_matches('=').as_bytes();
    let mut bytes = Vec::with_capacity(digits.len() * 3 / 4);
    let (mut buffer, mut bits) = (0u32, 0);
    for byte in digits {
        buffer = (buffer << 6) | digit(*byte)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_what_jetstream_encodes() {
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("TkFUUy8xLjA=").unwrap(), b"NATS/1.0");
        assert_eq!(base64_decode("//79").unwrap(), [0xff, 0xfe, 0xfd]);
        assert!(base64_decode("a*b=").is_err());
    }

    #[test]
    fn header_blocks_are_read_as_async_nats_reads_them() {
        let good = b"NATS/1.0\r\nShop-Event-Id: e1\r\nFolded: a\r\n b\r\n\r\n";
        let headers = parse_header_block(good).unwrap();
        assert_eq!(headers.get("Shop-Event-Id").unwrap().as_str(), "e1");
        assert_eq!(headers.get("Folded").unwrap().as_str(), "a b");
        for (bad, why) in [
            (&b"NATS/1.0\r\n\xff\xfe: \xc3\r\n\r\n"[..], "utf-8"),
            (b"NATS/1.0\r\nno colon here\r\n\r\n", "is not `Name: value`"),
            (b"HTTP/1.1\r\nA: b\r\n\r\n", "NATS/1.0"),
            (b"NATS/1.0 abc\r\n\r\n", "status"),
            (b"NATS/1.0\r\nbad name: x\r\n\r\n", "not a header name"),
            (b"NATS/1.0\r\nNote: a\rb\r\n\r\n", "carriage return"),
        ] {
            let error = parse_header_block(bad).unwrap_err();
            assert!(error.contains(why), "{error}");
        }
    }

    #[test]
    fn an_unreadable_block_keeps_its_readable_lines_and_says_what_it_was() {
        let stored = RawStored {
            stream: "S".into(),
            sequence: 7,
            subject: "test.orders.placed.o1".into(),
            header_block: b"NATS/1.0\r\nShop-Event-Id: e1\r\n\xff: x\r\nno colon\r\n\r\n".to_vec(),
            payload: Bytes::new(),
        };
        let reason = stored.unreadable().unwrap();
        assert!(reason.contains(r"\xff: x\r\nno colon"), "{reason}");
        let headers = stored.readable_headers();
        assert_eq!(headers.get("Shop-Event-Id").unwrap().as_str(), "e1");
        assert_eq!(headers.len(), 1);
    }
}
