//! API requests for a partition another instance holds (docs/scaling.md, "How an API request
//! reaches its owner"). The instance that got one from the queue group asks again on
//! `<prefix>.api.<service>.<verb>.<partition>` and relays the answer. Every instance listens
//! there (no queue group) and answers only for the partitions it holds; the others stay
//! silent, so while a partition has no owner (a take-over) nobody answers, and the request
//! is asked again until [`FORWARD_FOR`] has passed, then answered 503.

use std::sync::Arc;
use std::time::Duration;

use async_nats::service::error::Error as ServiceError;
use async_nats::{HeaderMap, Message};
use bytes::Bytes;
use events::partition::Partition;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{InFlight, Respond, busy, header_safe};
use crate::api::Api;

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

/// Answers the requests other instances ask on `<group>.<verb>.<partition>` for the
/// partitions this instance holds; cancels `ended` when the subscription ends.
pub(crate) async fn serve_owned(
    forwarder: &Forwarder,
    endpoints: Vec<(&'static str, Respond)>,
    api: &Api,
    in_flight: &InFlight,
    tasks: &TaskTracker,
    ended: CancellationToken,
) -> anyhow::Result<()> {
    let subject = format!("{}.*.*", forwarder.group);
    let mut asked = forwarder
        .client
        .subscribe(subject.clone())
        .await
        .map_err(|error| anyhow::anyhow!("failed to subscribe to {subject}: {error}"))?;
    let (client, api, in_flight, requests) = (
        forwarder.client.clone(),
        api.clone(),
        in_flight.clone(),
        tasks.clone(),
    );
    let endpoints = Arc::new(endpoints);
    tasks.spawn(async move {
        loop {
            // the endpoints' subscriptions end first when the service stops
            let message = tokio::select! {
                message = asked.next() => message,
                () = ended.cancelled() => None,
            };
            let Some(message) = message else { break };
            let Some((respond, reply)) = owned(&message, &endpoints, &api) else {
                continue; // another instance's partition, or not a request: not ours to answer
            };
            let Ok(permit) = in_flight.permits.clone().try_acquire_owned() else {
                send(&client, reply, Err(busy(&in_flight))).await;
                continue;
            };
            let (client, api) = (client.clone(), api.clone());
            requests.spawn(async move {
                let _permit = permit;
                match respond(api, message.payload.clone()).await {
                    // lost meanwhile: the new owner answers the next ask
                    Err(error) if error.elsewhere.is_some() => {}
                    Ok(body) => send(&client, reply, Ok(body)).await,
                    Err(error) => {
                        let error = ServiceError {
                            code: usize::from(error.code),
                            status: header_safe(&error.message),
                        };
                        send(&client, reply, Err(error)).await;
                    }
                }
            });
        }
        ended.cancel();
    });
    Ok(())
}

/// The endpoint and the reply subject of an ask for a partition this instance holds.
fn owned(
    message: &Message,
    endpoints: &[(&'static str, Respond)],
    api: &Api,
) -> Option<(Respond, async_nats::Subject)> {
    let reply = message.reply.clone()?;
    let mut tokens = message.subject.rsplit('.');
    let index: u16 = tokens.next()?.parse().ok()?;
    let verb = tokens.next()?;
    let held = api.held();
    let partition = held.partitions().into_iter().find(|p| p.index() == index)?;
    held.owns(partition).then_some(())?;
    let (_, respond) = endpoints.iter().find(|(name, _)| *name == verb)?;
    Some((respond.clone(), reply))
}

/// Answers an ask in the form the NATS service API answers a request.
async fn send(
    client: &async_nats::Client,
    reply: async_nats::Subject,
    answer: Result<Bytes, ServiceError>,
) {
    let sent = match answer {
        Ok(body) => client.publish(reply, body).await,
        Err(error) => {
            let mut headers = HeaderMap::new();
            headers.insert(
                async_nats::service::NATS_SERVICE_ERROR_CODE,
                error.code.to_string().as_str(),
            );
            headers.insert(
                async_nats::service::NATS_SERVICE_ERROR,
                error.status.as_str(),
            );
            client
                .publish_with_headers(reply, headers, Bytes::new())
                .await
        }
    };
    if let Err(error) = sent {
        tracing::warn!(%error, "failed to answer a forwarded api request");
    }
}
