//! Asking the instance that holds a partition (docs/scaling.md, "How an API request reaches
//! its owner"): a request on `<prefix>.api.<service>.<verb>.<partition>`, which every
//! instance of the service listens to and only the holder answers (`endpoint::forward`).
//! Nobody answers while the partition has no owner (a take-over), so an ask is repeated until
//! [`FORWARD_FOR`] has passed, then answered 503.

use std::time::Duration;

use async_nats::Message;
use async_nats::service::error::Error as ServiceError;
use bytes::Bytes;
use events::partition::Partition;

/// How long a request for a partition held elsewhere is asked again before it gets a 503
/// (below the clients' own timeouts, so they see the reason).
const FORWARD_FOR: Duration = Duration::from_secs(4);

/// How long one ask waits for the owner.
const ATTEMPT: Duration = Duration::from_secs(1);

/// The pause between two asks.
const PAUSE: Duration = Duration::from_millis(100);

/// Asks partitions' owners on the API connection.
#[derive(Debug, Clone)]
pub(crate) struct Forwarder {
    pub(crate) client: async_nats::Client,
    /// `<prefix>.api.<service>`.
    pub(crate) group: String,
}

impl Forwarder {
    /// Asks the owner of `partition` to answer `verb` with `body`, and relays its answer.
    pub(crate) async fn ask(
        &self,
        verb: &str,
        partition: Partition,
        body: Bytes,
    ) -> Result<Bytes, ServiceError> {
        let subject = format!("{}.{verb}.{partition}", self.group);
        let deadline = tokio::time::Instant::now() + FORWARD_FOR;
        loop {
            let request = async_nats::Request::new()
                .payload(body.clone())
                .timeout(Some(ATTEMPT));
            match self.client.send_request(subject.clone(), request).await {
                Ok(reply) => return relayed(&reply),
                Err(error) if tokio::time::Instant::now() + PAUSE >= deadline => {
                    return Err(ServiceError {
                        code: 503,
                        status: format!(
                            "partition {partition} has no owner right now (it is moving: {error}); retry shortly"
                        ),
                    });
                }
                Err(_) => tokio::time::sleep(PAUSE).await,
            }
        }
    }
}

/// The owner's answer as this instance gives it: its error code and message, or its body.
fn relayed(reply: &Message) -> Result<Bytes, ServiceError> {
    let headers = reply.headers.as_ref();
    let header = |name| crate::nats::header(headers, name);
    match header(async_nats::service::NATS_SERVICE_ERROR_CODE) {
        Some(code) => Err(ServiceError {
            code: code.parse().unwrap_or(500),
            status: header(async_nats::service::NATS_SERVICE_ERROR)
                .unwrap_or_default()
                .to_owned(),
        }),
        None => Ok(reply.payload.clone()),
    }
}
