//! Dead letters: a message a consumer cannot process is copied, payload and headers intact (but for
//! its publish id and publish conditions), to `<prefix>.dlq.<service>.<key>` with the reason and its
//! origin in `Shop-Dlq-*` headers, and only then terminated, so nothing is lost and nothing blocks
//! the messages behind it.

use async_nats::jetstream::{self, message::PublishMessage};
use events::{Subjects, Timestamp, header};
use std::future::IntoFuture;

/// Where a failed message came from and why it failed.
#[derive(Debug)]
pub(crate) struct DeadLetter<'a> {
    pub service: &'a str,
    pub message: &'a jetstream::Message,
    pub stream: &'a str,
    pub stream_sequence: u64,
    pub deliveries: i64,
    pub reason: &'a str,
}

/// Longest reason kept in the header; the rest is cut.
const MAX_REASON_LEN: usize = 1000;

/// Header values cannot hold line breaks or other control characters.
fn header_safe(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_REASON_LEN)
        .collect()
}

/// Publishes the copy to the dead-letter stream and waits for JetStream's ack. The copy's
/// `Nats-Msg-Id` is `dlq-<service>-<stream>-<sequence>`: a retry after a crash is dropped as a
/// duplicate, while two services that dead-letter the same message both keep their copy.
pub(crate) async fn publish(
    js: &jetstream::Context,
    subjects: &Subjects,
    letter: &DeadLetter<'_>,
) -> anyhow::Result<()> {
    let subject = subjects.dead_letter(letter.service, &letter.message.subject)?;
    // the original's publish id and conditions (a partition's claim) are not the copy's
    let mut headers = crate::nats::copy_headers(letter.message.headers.as_ref(), false);
    headers.insert(header::DLQ_REASON, header_safe(letter.reason));
    headers.insert(header::DLQ_SUBJECT, header_safe(&letter.message.subject));
    headers.insert(header::DLQ_STREAM, letter.stream);
    headers.insert(header::DLQ_SEQUENCE, letter.stream_sequence.to_string());
    headers.insert(header::DLQ_CONSUMER, letter.service);
    headers.insert(header::DLQ_DELIVERIES, letter.deliveries.to_string());
    headers.insert(header::DLQ_FAILED_AT, Timestamp::now().to_string());
    let publish = PublishMessage::build()
        .payload(letter.message.payload.clone())
        .headers(headers)
        .message_id(format!(
            "dlq-{}-{}-{}",
            letter.service, letter.stream, letter.stream_sequence
        ));
    let ack = js.send_publish(subject, publish).await?;
    ack.into_future().await?;
    Ok(())
}
