//! The shop's event contract: every domain event, the subjects and streams they travel on, the
//! envelope carried in NATS headers, and the one MessagePack codec.
//!
//! Types and pure functions only: no tokio, no NATS connection, no I/O. Every service, the
//! CLI and other teams' consumers read the same contract; `docs/events.md` is its prose twin.
//!
//! ```
//! use events::{codec, samples, Subjects};
//!
//! let event = samples::order_placed();
//! let subject = Subjects::default().for_event(&event)?;
//! assert_eq!(subject, format!("shop.orders.placed.{}", samples::ORDER_ID));
//! let bytes = codec::encode(&event)?;
//! assert_eq!(codec::decode("orders.placed", &bytes)?, event);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// dependencies nothing uses are flagged (not in test builds, which also see dev-dependencies)
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod api;
pub mod catalog;
pub mod codec;
pub mod envelope;
mod event;
mod ids;
pub mod inventory;
pub mod orders;
pub mod partition;
pub mod payments;
pub mod samples;
pub mod shipping;
pub mod stream;
pub mod subject;
pub mod support;
mod timestamp;
pub mod traceparent;
pub mod validate;

pub use codec::{DecodeError, EncodeError};
pub use envelope::{Envelope, EnvelopeError, header};
pub use event::{Context, Event, EventType, UnknownName};
pub use ids::new_event_id;
pub use stream::StreamSpec;
pub use subject::{EventSubject, SubjectError, Subjects};
pub use timestamp::{Timestamp, TimestampError};
pub use traceparent::{TraceParent, TraceParentError};
pub use validate::InvalidField;

impl Subjects {
    /// The subject an event is published on: `<prefix>.<context>.<event>.<key>`.
    pub fn for_event(&self, event: &Event) -> Result<String, SubjectError> {
        self.event(event.event_type(), event.key())
    }
}
