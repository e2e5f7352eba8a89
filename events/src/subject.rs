//! Subject names: building them and reading them back.
//!
//! | what | subject | captured by |
//! |---|---|---|
//! | domain event | `<prefix>.<context>.<event>.<key>` | the context's stream |
//! | dead letter | `<prefix>.dlq.<service>.<key>` | the dead-letter stream |
//! | request/reply API | `<prefix>.api.<service>.<verb>` | nothing, ever |
//!
//! `api` and `dlq` are not contexts, so no event stream can capture them: a stream that
//! captured an API subject would answer requests itself with a publish ack.

use std::fmt;

use crate::partition::Partition;
use crate::validate::is_subject_token;
use crate::{Context, EventType};

/// The default subject prefix.
pub const DEFAULT_PREFIX: &str = "shop";
/// The token after the prefix for request/reply endpoints.
pub const API_TOKEN: &str = "api";
/// The token after the prefix for dead letters.
pub const DEAD_LETTER_TOKEN: &str = "dlq";
/// The key used on a dead letter whose original subject had no readable key.
pub const UNKNOWN_KEY: &str = "_";
/// The second token of the subjects events are forwarded on to a partition's owner.
pub const INTAKE_TOKEN: &str = "intake";
/// The event token of partition claims (`<prefix>.<context>._partition.<index>`): not an event.
pub const PARTITION_TOKEN: &str = "_partition";

/// Why a subject could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    #[error("invalid prefix {0:?}: use 1-64 lower-case letters, digits or '_'")]
    InvalidPrefix(String),
    #[error("subject {subject:?} does not start with prefix {prefix:?}")]
    WrongPrefix { subject: String, prefix: String },
    #[error("subject {0:?} must have exactly 4 tokens: <prefix>.<context>.<event>.<key>")]
    TokenCount(String),
    #[error("subject {subject:?}: unknown context {context:?}")]
    UnknownContext { subject: String, context: String },
    #[error("subject {subject:?}: unknown event {event:?} in context {context:?}")]
    UnknownEvent {
        subject: String,
        context: String,
        event: String,
    },
    #[error(
        "invalid key {0:?}: use 1-128 printable ASCII characters without '.', '*', '>' or spaces"
    )]
    InvalidKey(String),
    #[error("invalid token {0:?}: use 1-64 lower-case letters, digits or '_'")]
    InvalidToken(String),
}

/// A parsed event subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSubject {
    pub event_type: EventType,
    pub key: String,
}

/// Builds and parses the subjects of one prefix (one shop, one test, one tenant).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subjects {
    prefix: String,
}

impl Default for Subjects {
    fn default() -> Self {
        Subjects {
            prefix: DEFAULT_PREFIX.to_owned(),
        }
    }
}

impl fmt::Display for Subjects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.prefix)
    }
}

fn is_name_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 64
        && token
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Subjects {
    /// A prefix is one snake_case subject token: lower-case letters, digits or `_`.
    pub fn new(prefix: &str) -> Result<Self, SubjectError> {
        if is_name_token(prefix) {
            Ok(Subjects {
                prefix: prefix.to_owned(),
            })
        } else {
            Err(SubjectError::InvalidPrefix(prefix.to_owned()))
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `<prefix>.<context>.<event>.<key>`; fails when the key cannot be a subject token.
    pub fn event(&self, event_type: EventType, key: &str) -> Result<String, SubjectError> {
        if !is_subject_token(key) {
            return Err(SubjectError::InvalidKey(key.to_owned()));
        }
        let (context, name) = (event_type.context(), event_type.name());
        Ok(format!("{}.{context}.{name}.{key}", self.prefix))
    }

    /// Reads an event subject back into its type and key.
    pub fn parse(&self, subject: &str) -> Result<EventSubject, SubjectError> {
        let rest = subject
            .strip_prefix(self.prefix.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
            .ok_or_else(|| SubjectError::WrongPrefix {
                subject: subject.to_owned(),
                prefix: self.prefix.clone(),
            })?;
        let tokens: Vec<&str> = rest.split('.').collect();
        let [context, event, key] = tokens[..] else {
            return Err(SubjectError::TokenCount(subject.to_owned()));
        };
        if context.parse::<Context>().is_err() {
            return Err(SubjectError::UnknownContext {
                subject: subject.to_owned(),
                context: context.to_owned(),
            });
        }
        let event_type =
            EventType::from_parts(context, event).ok_or_else(|| SubjectError::UnknownEvent {
                subject: subject.to_owned(),
                context: context.to_owned(),
                event: event.to_owned(),
            })?;
        if !is_subject_token(key) {
            return Err(SubjectError::InvalidKey(key.to_owned()));
        }
        Ok(EventSubject {
            event_type,
            key: key.to_owned(),
        })
    }

    /// Everything a context publishes: `<prefix>.<context>.>` (its stream's subject).
    pub fn context_filter(&self, context: Context) -> String {
        format!("{}.{context}.>", self.prefix)
    }

    /// Every event of one type: `<prefix>.<context>.<event>.*`.
    pub fn event_type_filter(&self, event_type: EventType) -> String {
        let (context, name) = (event_type.context(), event_type.name());
        format!("{}.{context}.{name}.*", self.prefix)
    }

    /// Everything about one entity in every context, dead letters included:
    /// `<prefix>.*.*.<key>`.
    pub fn key_filter(&self, key: &str) -> Result<String, SubjectError> {
        if !is_subject_token(key) {
            return Err(SubjectError::InvalidKey(key.to_owned()));
        }
        Ok(format!("{}.*.*.{key}", self.prefix))
    }

    /// A request/reply endpoint: `<prefix>.api.<service>.<verb>`.
    pub fn api(&self, service: &str, verb: &str) -> Result<String, SubjectError> {
        for token in [service, verb] {
            if !is_name_token(token) {
                return Err(SubjectError::InvalidToken(token.to_owned()));
            }
        }
        Ok(format!("{}.{API_TOKEN}.{service}.{verb}", self.prefix))
    }

    /// The API endpoint group of a service: `<prefix>.api.<service>`.
    pub fn api_group(&self, service: &str) -> Result<String, SubjectError> {
        if !is_name_token(service) {
            return Err(SubjectError::InvalidToken(service.to_owned()));
        }
        Ok(format!("{}.{API_TOKEN}.{service}", self.prefix))
    }

    /// Where a consumer files a message it could not process: `<prefix>.dlq.<service>.<key>`.
    /// The key is the original subject's last token when it is a valid token, else `_`.
    pub fn dead_letter(
        &self,
        service: &str,
        original_subject: &str,
    ) -> Result<String, SubjectError> {
        if !is_name_token(service) {
            return Err(SubjectError::InvalidToken(service.to_owned()));
        }
        let key = original_subject
            .rsplit('.')
            .next()
            .filter(|key| is_subject_token(key) && original_subject.contains('.'))
            .unwrap_or(UNKNOWN_KEY);
        Ok(format!(
            "{}.{DEAD_LETTER_TOKEN}.{service}.{key}",
            self.prefix
        ))
    }

    /// Every dead letter: `<prefix>.dlq.>` (the dead-letter stream's subject).
    pub fn dead_letter_filter(&self) -> String {
        format!("{}.{DEAD_LETTER_TOKEN}.>", self.prefix)
    }

    /// Where the owner of a partition of a context's state records its claim, in the context's
    /// own stream: `<prefix>.<context>._partition.<index>`. A claim is not an event (no event
    /// type starts with `_`); its sequence is what the owner's publishes are fenced on.
    pub fn partition_claim(&self, context: Context, partition: Partition) -> String {
        format!("{}.{context}.{PARTITION_TOKEN}.{partition}", self.prefix)
    }

    /// Whether `subject` is a partition claim record (`<prefix>.<context>._partition.<index>`):
    /// in a context's stream, but not an event.
    pub fn is_partition_claim(&self, subject: &str) -> bool {
        let mut tokens = subject.split('.');
        tokens.next() == Some(self.prefix.as_str())
            && tokens.next().is_some()
            && tokens.next() == Some(PARTITION_TOKEN)
    }

    /// Where an event for `partition` of `service`'s state is forwarded to its owner:
    /// `<prefix>.intake.<service>.<index>` (the service's intake stream, never an event stream).
    pub fn intake(&self, service: &str, partition: Partition) -> String {
        format!("{}.{INTAKE_TOKEN}.{service}.{partition}", self.prefix)
    }

    /// Every intake subject of `service`: `<prefix>.intake.<service>.*`.
    pub fn intake_filter(&self, service: &str) -> String {
        format!("{}.{INTAKE_TOKEN}.{service}.*", self.prefix)
    }

    /// The prefix in the upper-case form used for stream names: `shop_eu` → `SHOP_EU`.
    pub fn stream_name_prefix(&self) -> String {
        self.prefix.to_ascii_uppercase()
    }
}

#[cfg(test)]
mod partition_subject_tests {
    use super::*;
    use crate::partition::Partitions;

    #[test]
    fn claim_records_are_told_from_events() {
        let shop = Subjects::default();
        let claim = shop.partition_claim(Context::Payments, Partitions::default().of("cust-1"));
        assert!(shop.is_partition_claim(&claim));
        assert!(!shop.is_partition_claim("shop.payments.authorized.o1"));
        assert!(!shop.is_partition_claim("other.payments._partition.3"));
        assert!(shop.parse(&claim).is_err(), "not an event");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> Subjects {
        Subjects::default()
    }

    #[test]
    fn builds_and_parses_every_event_type() {
        for ty in EventType::ALL {
            let subject = shop().event(*ty, "0198a3c4-key").unwrap();
            let parsed = shop().parse(&subject).unwrap();
            assert_eq!(
                parsed,
                EventSubject {
                    event_type: *ty,
                    key: "0198a3c4-key".into()
                }
            );
        }
        assert_eq!(
            shop().event(EventType::OrderPlaced, "o-1").unwrap(),
            "shop.orders.placed.o-1"
        );
    }

    #[test]
    fn rejects_malformed_subjects() {
        let cases = [
            ("other.orders.placed.o-1", "WrongPrefix"),
            ("shopx.orders.placed.o-1", "WrongPrefix"),
            ("shop.orders.placed", "TokenCount"),
            ("shop.orders.placed.o-1.extra", "TokenCount"),
            ("shop.api.orders.place", "UnknownContext"),
            ("shop.dlq.orders.o-1", "UnknownContext"),
            ("shop.orders.shipped.o-1", "UnknownEvent"),
            ("shop.orders.placed.*", "InvalidKey"),
            ("shop.orders.placed.>", "InvalidKey"),
            ("shop.orders.placed.", "InvalidKey"),
            ("shop", "WrongPrefix"),
            ("", "WrongPrefix"),
        ];
        for (subject, expected) in cases {
            let error = shop().parse(subject).unwrap_err();
            assert!(
                format!("{error:?}").starts_with(expected),
                "{subject:?} gave {error:?}"
            );
        }
    }

    #[test]
    fn keys_and_prefixes_are_checked_when_building() {
        assert!(shop().event(EventType::OrderPlaced, "a.b").is_err());
        assert!(shop().event(EventType::OrderPlaced, "").is_err());
        assert!(Subjects::new("Shop").is_err());
        assert!(Subjects::new("a.b").is_err());
        assert!(Subjects::new("").is_err());
        assert!(
            Subjects::new("shop-eu").is_err(),
            "would share stream names with shop_eu"
        );
        assert_eq!(
            Subjects::new("test_7").unwrap().stream_name_prefix(),
            "TEST_7"
        );
    }

    #[test]
    fn api_and_dead_letter_subjects_are_outside_every_event_stream() {
        let api = shop().api("orders", "place").unwrap();
        assert_eq!(api, "shop.api.orders.place");
        let dead = shop()
            .dead_letter("inventory", "shop.orders.placed.o-1")
            .unwrap();
        assert_eq!(dead, "shop.dlq.inventory.o-1");
        assert_eq!(
            shop().dead_letter("inventory", "garbage").unwrap(),
            "shop.dlq.inventory._"
        );
        for context in Context::ALL {
            let filter = shop().context_filter(context);
            let stem = filter.trim_end_matches('>');
            assert!(!api.starts_with(stem) && !dead.starts_with(stem));
        }
    }

    #[test]
    fn filters() {
        assert_eq!(shop().context_filter(Context::Orders), "shop.orders.>");
        assert_eq!(
            shop().event_type_filter(EventType::PaymentAuthorized),
            "shop.payments.authorized.*"
        );
        assert_eq!(shop().key_filter("o-1").unwrap(), "shop.*.*.o-1");
        assert_eq!(shop().dead_letter_filter(), "shop.dlq.>");
    }
}
