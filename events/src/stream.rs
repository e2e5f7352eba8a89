//! Stream definitions: one stream per context plus the dead-letter stream.
//!
//! Plain data: the runtime turns a [`StreamSpec`] into a JetStream stream configuration and
//! creates or updates it at start-up.

use std::time::Duration;

use crate::{Context, Subjects};

/// How long JetStream remembers a `Nats-Msg-Id` to drop a re-publish. Longer than any retry
/// of the outbox relay within one outage; consumers' inboxes catch anything older.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(5 * 60);

/// One JetStream stream: file storage, limits retention (an event log that can be replayed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSpec {
    /// `<PREFIX>_<CONTEXT>`, e.g. `SHOP_ORDERS`; `<PREFIX>_DLQ` for dead letters.
    pub name: String,
    pub subjects: Vec<String>,
    pub description: String,
    pub duplicate_window: Duration,
    /// Zero keeps messages forever (the default: the log is the source of truth for replay).
    pub max_age: Duration,
    /// A work queue deletes each message once it is acknowledged (the intake streams);
    /// otherwise messages stay until `max_age` (an event log).
    pub work_queue: bool,
}

/// The stream that holds every event of `context`.
pub fn event_stream(subjects: &Subjects, context: Context) -> StreamSpec {
    StreamSpec {
        name: format!(
            "{}_{}",
            subjects.stream_name_prefix(),
            context.as_str().to_ascii_uppercase()
        ),
        subjects: vec![subjects.context_filter(context)],
        description: format!("{context} domain events"),
        duplicate_window: DUPLICATE_WINDOW,
        max_age: Duration::ZERO,
        work_queue: false,
    }
}

/// The private stream through which instances of `service` hand events to the owner of their
/// partition (docs/scaling.md): a work queue, one durable per partition.
pub fn intake_stream(subjects: &Subjects, service: &str) -> StreamSpec {
    StreamSpec {
        name: format!(
            "{}_{}_INTAKE",
            subjects.stream_name_prefix(),
            service.to_ascii_uppercase()
        ),
        subjects: vec![subjects.intake_filter(service)],
        description: format!("events forwarded to the owner of a partition of {service}"),
        duplicate_window: DUPLICATE_WINDOW,
        max_age: Duration::ZERO,
        work_queue: true,
    }
}

/// The stream that holds messages consumers could not process, with the reason in headers.
pub fn dead_letter_stream(subjects: &Subjects) -> StreamSpec {
    StreamSpec {
        name: format!("{}_DLQ", subjects.stream_name_prefix()),
        subjects: vec![subjects.dead_letter_filter()],
        description: "dead letters: messages a consumer could not process, with the reason".into(),
        duplicate_window: DUPLICATE_WINDOW,
        max_age: Duration::ZERO,
        work_queue: false,
    }
}

/// Every stream of the shop: the six context streams, then the dead-letter stream.
pub fn all_streams(subjects: &Subjects) -> Vec<StreamSpec> {
    let mut streams: Vec<StreamSpec> = Context::ALL
        .into_iter()
        .map(|context| event_stream(subjects, context))
        .collect();
    streams.push(dead_letter_stream(subjects));
    streams
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_subjects() {
        let shop = Subjects::default();
        let orders = event_stream(&shop, Context::Orders);
        assert_eq!(orders.name, "SHOP_ORDERS");
        assert_eq!(orders.subjects, ["shop.orders.>"]);
        assert!(orders.duplicate_window >= Duration::from_secs(120));
        assert_eq!(dead_letter_stream(&shop).name, "SHOP_DLQ");
        assert_eq!(all_streams(&shop).len(), 7);
        let intake = intake_stream(&shop, "payments");
        assert_eq!(intake.name, "SHOP_PAYMENTS_INTAKE");
        assert_eq!(intake.subjects, ["shop.intake.payments.*"]);
        assert!(intake.work_queue && !orders.work_queue);
    }

    #[test]
    fn no_stream_captures_api_subjects() {
        let shop = Subjects::default();
        let api = shop.api("orders", "place").unwrap();
        for stream in all_streams(&shop) {
            for filter in stream.subjects {
                assert!(
                    !api.starts_with(filter.trim_end_matches('>')),
                    "{filter} captures {api}"
                );
            }
        }
    }
}
