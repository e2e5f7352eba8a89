//! What an API endpoint works with: [`ApiError`], the coded error every failed request gets
//! (in the `Nats-Service-Error-Code` and `Nats-Service-Error` headers), and [`Api`], store
//! reads for queries and commands that decide, fold and commit in one transaction. Requests
//! and replies are JSON; `endpoint.rs` serves them.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use events::partition::Partition;
use events::{Event, Timestamp};

use crate::handler::Handler;
use crate::history::{HistorySource, Recorded};
use crate::ownership::Held;
use crate::page::PageError;
use crate::peers::Forwarder;
use crate::store::Command;
use crate::store::command::CommandError;
use crate::store::outbox::{Producer, RecordFence};
use crate::store::state::{State, StateError};
use crate::store::{Store, StoreError};

/// The largest request body an endpoint reads; larger ones get a 413.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// An error reply: an HTTP-like code and a one-line message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} {message}")]
pub struct ApiError {
    pub code: u16,
    pub message: String,
    /// The request is for a partition another instance holds: the runtime forwards it to
    /// the owner (docs/scaling.md, "How an API request reaches its owner").
    pub(crate) elsewhere: Option<Partition>,
}

impl ApiError {
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            elsewhere: None,
        }
    }

    /// 503: `partition` is not held here; the runtime asks its owner instead.
    pub(crate) fn elsewhere(partition: Partition) -> Self {
        ApiError {
            elsewhere: Some(partition),
            ..Self::new(
                503,
                format!(
                    "partition {partition} has no owner right now (it is moving); retry shortly"
                ),
            )
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
        ApiError::internal(error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::internal(error.to_string())
    }
}

/// A bad `limit` or `cursor` is the client's (400); anything else is the service's (500).
impl From<PageError> for ApiError {
    fn from(error: PageError) -> Self {
        match error {
            PageError::Limit(_) | PageError::Cursor(_) => ApiError::bad_request(error.to_string()),
            PageError::Encode(_) | PageError::Store(_) => ApiError::internal(error.to_string()),
        }
    }
}

/// What an endpoint handler can use: reads from the store and commands that commit state and
/// events together.
#[derive(Clone)]
pub struct Api {
    store: Store,
    producer: Producer,
    handler: Arc<dyn Handler>,
    relay_wakeup: Arc<Notify>,
    history: HistorySource,
    /// The partitions this instance holds: a command or a keyed read for another goes to
    /// its owner.
    held: Held,
    /// How this instance asks the others that share its partitions (`--scale-out`).
    peers: Option<Forwarder>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("producer", &self.producer)
            .finish_non_exhaustive()
    }
}

impl Api {
    pub(crate) fn new(
        store: Store,
        producer: Producer,
        handler: Arc<dyn Handler>,
        relay_wakeup: Arc<Notify>,
        history: HistorySource,
        held: Held,
        peers: Option<Forwarder>,
    ) -> Self {
        Api {
            store,
            producer,
            handler,
            relay_wakeup,
            history,
            held,
            peers,
        }
    }

    pub(crate) fn held(&self) -> &Held {
        &self.held
    }

    pub(crate) fn peers(&self) -> Option<&Forwarder> {
        self.peers.as_ref()
    }

    /// For a query about one key: `Ok` when this instance holds the key's partition, so its
    /// store is the one that knows; otherwise the request is answered by the partition's
    /// owner. (One instance per service holds every partition.)
    pub fn local(&self, key: &str) -> Result<(), ApiError> {
        let partition = self.store.partition_of(key);
        match self.held.owns(partition) {
            true => Ok(()),
            false => Err(ApiError::elsewhere(partition)),
        }
    }

    /// The stored events with `key` of the types the service's
    /// [`Service::HISTORY`](crate::Service::HISTORY) names, oldest first (read before a
    /// command whose decision needs them: the command's closure cannot wait on the broker).
    pub async fn history(&self, key: &str) -> Result<Vec<Recorded>, ApiError> {
        self.history.read(key).await.map_err(|error| {
            ApiError::new(
                503,
                format!("could not read the history of {key}: {error:#}"),
            )
        })
    }

    /// For queries: read the service's trees directly.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs a command in one transaction, for the partition of `key` (the key the service's
    /// rules keep the command's state consistent on: a sku, a customer, an order; see
    /// docs/scaling.md): `decide` reads state and returns the events that record what
    /// happened; the runtime folds each with the service's `evolve`; `view` builds the reply
    /// from the resulting state (and the events). Then the store is made durable and the
    /// outbox relay woken. The closures may run more than once (storage conflicts re-run the
    /// transaction): no side effects in them.
    pub async fn command<T, D, V>(&self, key: String, decide: D, view: V) -> Result<T, ApiError>
    where
        T: Send + 'static,
        D: Fn(&mut State<'_>) -> Result<Vec<Event>, ApiError> + Send + 'static,
        V: Fn(&State<'_>, &[Event]) -> Result<T, ApiError> + Send + 'static,
    {
        let (store, producer, handler) = (
            self.store.clone(),
            self.producer.clone(),
            self.handler.clone(),
        );
        let partition = store.partition_of(&key);
        let lease = self
            .held
            .lease(partition)
            .ok_or_else(|| ApiError::elsewhere(partition))?;
        // what it publishes is fenced on the claim it was decided under
        let fence = (lease.claim() > 0).then(|| RecordFence {
            partition: partition.index(),
            claim: lease.claim(),
        });
        let result = tokio::task::spawn_blocking(move || {
            let now = Timestamp::now();
            let step = Command {
                handler: handler.as_ref(),
                producer: &producer,
                now,
                partition,
                fence,
            };
            store.execute(step, decide, view)
        })
        .await
        .map_err(|error| ApiError::internal(format!("command task failed: {error}")))?;
        let (value, row) = match result {
            Ok(committed) => committed,
            Err(CommandError::Rejected(error)) => return Err(error),
            Err(CommandError::Store(error)) => return Err(error.into()),
        };
        self.store.flush().await?;
        self.relay_wakeup.notify_one();
        // answered once its events are published, so that an answer means they are out
        if let Some(row) = row
            && !self.store.wait_published(row, PUBLISH_BEFORE_REPLY).await
        {
            tracing::warn!(
                "a command's events are not published yet; answering anyway (the relay keeps trying)"
            );
        }
        Ok(value)
    }
}

/// How long a command waits for its events to be published before it answers anyway.
const PUBLISH_BEFORE_REPLY: std::time::Duration = std::time::Duration::from_secs(2);

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
