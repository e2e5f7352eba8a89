//! API requests for a partition another instance holds (docs/scaling.md, "How an API request
//! reaches its owner"). The instance that got one from the queue group asks again on
//! `<prefix>.api.<service>.<verb>.<partition>` and relays the answer. Every instance listens
//! there (no queue group) and answers only for the partitions it holds; the others stay
//! silent, so while a partition has no owner (a take-over) nobody answers, and the request
//! is asked again (`peers`) until it has an owner or the time is up.

use std::sync::Arc;

use async_nats::service::error::Error as ServiceError;
use async_nats::{HeaderMap, Message};
use bytes::Bytes;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{InFlight, Respond, busy, header_safe};
use crate::api::Api;
use crate::peers::Forwarder;
use crate::scatter;

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
    // another instance reading this partition's rows for a list or a lookup
    if [scatter::ROWS_VERB, scatter::GET_VERB].contains(&verb) {
        let verb = verb.to_owned();
        let read: Respond = Arc::new(move |api, body| {
            let verb = verb.clone();
            Box::pin(async move { scatter::answer(api, &verb, partition, body).await })
        });
        return Some((read, reply));
    }
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
