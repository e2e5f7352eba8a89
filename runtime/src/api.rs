//! Request/reply API endpoints: `<prefix>.api.<service>.<verb>`, registered with the NATS
//! service API so `$SRV` lists them. Requests and replies are JSON. Every request gets either
//! its result or an error with a code and a message (in the `Nats-Service-Error-Code` and
//! `Nats-Service-Error` headers), never silence.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use events::{Event, Timestamp};

use sled::transaction::UnabortableTransactionError;

use crate::store::{CommandError, Producer, State, StateError, Store, StoreError};

/// The largest request body an endpoint reads; larger ones get a 413.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// An error reply: an HTTP-like code and a one-line message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code} {message}")]
pub struct ApiError {
    pub code: u16,
    pub message: String,
    /// A storage conflict inside a command: the transaction is re-run, not answered.
    pub(crate) conflict: Option<UnabortableTransactionError>,
}

impl ApiError {
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            conflict: None,
        }
    }

    /// 400: the request is malformed or breaks a rule.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    /// 404: the entity does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(409, message)
    }

    /// 500: the service failed; the request may be retried.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, message)
    }
}

impl From<StateError> for ApiError {
    fn from(error: StateError) -> Self {
        let message = error.to_string();
        match error {
            StateError::Storage(conflict) => ApiError {
                code: 500,
                message,
                conflict: Some(conflict),
            },
            _ => ApiError::internal(message),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::internal(error.to_string())
    }
}

/// What an endpoint handler can use: reads from the store and commands that commit state and
/// events together.
#[derive(Debug, Clone)]
pub struct Api {
    store: Store,
    producer: Producer,
    relay_wakeup: Arc<Notify>,
}

impl Api {
    pub(crate) fn new(store: Store, producer: Producer, relay_wakeup: Arc<Notify>) -> Self {
        Api {
            store,
            producer,
            relay_wakeup,
        }
    }

    /// For queries: read the service's trees directly.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs `command` in one transaction (see [`Store::execute`]), makes it durable, and
    /// wakes the outbox relay. The closure may run more than once: no side effects in it.
    pub async fn command<T, F>(&self, command: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: Fn(&mut State<'_>) -> Result<(T, Vec<Event>), ApiError> + Send + 'static,
    {
        let (store, producer) = (self.store.clone(), self.producer.clone());
        let result = tokio::task::spawn_blocking(move || {
            store.execute(&producer, Timestamp::now(), command)
        })
        .await
        .map_err(|error| ApiError::internal(format!("command task failed: {error}")))?;
        let value = match result {
            Ok(value) => value,
            Err(CommandError::Rejected(error)) => return Err(error),
            Err(CommandError::Store(error)) => return Err(ApiError::internal(error.to_string())),
        };
        self.store
            .flush()
            .await
            .map_err(|error| ApiError::internal(error.to_string()))?;
        self.relay_wakeup.notify_one();
        Ok(value)
    }
}

/// Reads a JSON request body, with the size limit.
pub fn decode_request<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.len() > MAX_REQUEST_BYTES {
        return Err(ApiError::new(
            413,
            format!(
                "request of {} bytes is larger than {MAX_REQUEST_BYTES}",
                body.len()
            ),
        ));
    }
    let body = if body.is_empty() {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("malformed request: {error}")))
}

/// Checks an id given by a client: it becomes a subject token.
pub fn require_id(field: &str, value: &str) -> Result<(), ApiError> {
    if events::validate::is_subject_token(value) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{field} {value:?} must be 1-128 printable ASCII characters without '.', '*', '>' or spaces"
        )))
    }
}
