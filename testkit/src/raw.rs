//! Bytes on the wire as no client library would send them: a plain TCP connection to the test
//! broker (loopback only) that publishes one message with any header block, for the tests of
//! what a malformed header does to the services and the operator commands.
//!
//! The protocol is spoken by hand: `CONNECT {"verbose":false,"headers":true}` (signed in as the
//! admin on a secured bed), a `SUB` to an
//! inbox, `HPUB <subject> <inbox> <hdr_len> <total_len>`, then the JetStream ack read from the
//! inbox, whose stream sequence is returned ([`publish_raw`]); or, for a core-NATS request to
//! a service, the same `HPUB` followed by a `PING` whose `PONG` says the broker has routed it
//! ([`request_raw`]: no one waits for the reply).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A header block that is not UTF-8: `NATS/1.0`, then `\xff\xfe: \xc3`.
pub const NOT_UTF8: &[u8] = b"NATS/1.0\r\n\xff\xfe: \xc3\r\n\r\n";

/// A header block with a line that is not `Name: value`.
pub const NO_COLON: &[u8] = b"NATS/1.0\r\nno colon here\r\n\r\n";

/// A header value with a carriage return inside it (async-nats 0.51 panics on it).
pub const LONE_CR: &[u8] = b"NATS/1.0\r\nShop-Note: a\rb\r\n\r\n";

/// Publishes `payload` with the header block `headers` exactly as given to `subject` on the
/// broker at `127.0.0.1:port`, and waits for JetStream to store it; returns its stream
/// sequence. Panics if the broker refuses it or does not answer within 10 s.
pub async fn publish_raw(port: u16, subject: &str, headers: &[u8], payload: &[u8]) -> u64 {
    let (subject, headers, payload) = (subject.to_owned(), headers.to_vec(), payload.to_vec());
    tokio::task::spawn_blocking(move || publish_blocking(port, &subject, &headers, &payload))
        .await
        .expect("raw publisher thread")
}

/// Sends `payload` with the header block `headers` exactly as given to `subject` as a
/// core-NATS request (a reply inbox, no JetStream ack) on the broker at `127.0.0.1:port`, and
/// returns once the broker has routed it to its subscribers. A service that can read it
/// answers to an inbox nobody reads. Panics if the broker refuses it.
pub async fn request_raw(port: u16, subject: &str, headers: &[u8], payload: &[u8]) {
    let (subject, headers, payload) = (subject.to_owned(), headers.to_vec(), payload.to_vec());
    tokio::task::spawn_blocking(move || request_blocking(port, &subject, &headers, &payload))
        .await
        .expect("raw requester thread")
}

fn request_blocking(port: u16, subject: &str, headers: &[u8], payload: &[u8]) {
    let (mut reader, mut writer) = send_frame(port, subject, headers, payload);
    // the broker handles a connection's input in order: at the PONG the request went out
    read_until(&mut reader, &mut writer, "request", |line, _| {
        line.starts_with("PONG").then_some(())
    });
}

/// Reads the broker's lines, answering its PINGs and failing on `-ERR`, until `done` makes
/// something of one (it may read the body that follows from the reader it is given).
fn read_until<T>(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
    what: &str,
    mut done: impl FnMut(&str, &mut BufReader<TcpStream>) -> Option<T>,
) -> T {
    loop {
        let line = read_line(reader);
        if line.starts_with("PING") {
            writer.write_all(b"PONG\r\n").expect("pong");
        } else if line.starts_with("-ERR") {
            panic!("the broker refused the raw {what}: {line}");
        } else if let Some(value) = done(&line, reader) {
            return value;
        }
    }
}

/// Connects, subscribes to an inbox, sends the `HPUB` and a `PING`.
fn send_frame(
    port: u16,
    subject: &str,
    headers: &[u8],
    payload: &[u8],
) -> (BufReader<TcpStream>, TcpStream) {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the test broker");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let mut writer = stream.try_clone().expect("socket clone");
    let mut reader = BufReader::new(stream);
    let info = read_line(&mut reader);
    assert!(info.starts_with("INFO "), "expected INFO, got {info:?}");
    let connect = connect_options(port, &info);
    let inbox = format!("_RAW_INBOX.{}", std::process::id());
    let total = headers.len() + payload.len();
    let mut frame = format!(
        "CONNECT {connect}\r\nSUB {inbox} 1\r\n\
         HPUB {subject} {inbox} {} {total}\r\n",
        headers.len()
    )
    .into_bytes();
    frame.extend_from_slice(headers);
    frame.extend_from_slice(payload);
    frame.extend_from_slice(b"\r\nPING\r\n");
    writer.write_all(&frame).expect("send the raw message");
    (reader, writer)
}

/// The `CONNECT` options: on a secured bed, signed in as its admin (the nkey and the
/// server's nonce signed with its seed, base64url without padding, as NATS expects).
fn connect_options(port: u16, info: &str) -> serde_json::Value {
    use base64::Engine as _;
    let mut options = serde_json::json!({ "verbose": false, "headers": true });
    if let Some(seed) = crate::streams::registered_seed(port) {
        let info: serde_json::Value =
            serde_json::from_str(info.trim_start_matches("INFO ")).expect("INFO is JSON");
        let nonce = info["nonce"]
            .as_str()
            .expect("a secured broker sends a nonce");
        let key = runtime::auth::load_seed(&seed).expect("seed");
        let signature = key.sign(nonce.as_bytes()).expect("sign the nonce");
        options["nkey"] = serde_json::json!(key.public_key());
        options["sig"] =
            serde_json::json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature));
    }
    options
}

fn publish_blocking(port: u16, subject: &str, headers: &[u8], payload: &[u8]) -> u64 {
    let (mut reader, mut writer) = send_frame(port, subject, headers, payload);
    read_until(&mut reader, &mut writer, "message", |line, reader| {
        let size: usize = line
            .strip_prefix("MSG ")?
            .rsplit(' ')
            .next()
            .and_then(|size| size.parse().ok())
            .expect("message size");
        let mut body = vec![0; size + 2];
        reader.read_exact(&mut body).expect("ack body");
        Some(stored_sequence(&body[..size]))
    })
}

fn read_line(reader: &mut impl BufRead) -> String {
    let mut line = String::new();
    let read = reader.read_line(&mut line).expect("read from the broker");
    assert!(read > 0, "the broker closed the raw connection");
    line.trim_end().to_owned()
}

/// The `seq` of a JetStream publish ack (`{"stream":"…","seq":7}`); panics on an error ack.
fn stored_sequence(ack: &[u8]) -> u64 {
    let ack: serde_json::Value = serde_json::from_slice(ack).expect("ack is JSON");
    ack.get("seq")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or_else(|| panic!("JetStream did not store the raw message: {ack}"))
}
