//! API endpoints: a service lists them in [`Service::endpoints`](crate::service::Service)
//! as `(verb, async fn(Api, Request) -> Result<Response, ApiError>)`, and the runtime serves
//! each on `<prefix>.api.<service>.<verb>` through the NATS service API, so `$SRV` lists it.
//! Every request gets an answer: its JSON result, or an error with a code and a message. A
//! service handles at most `--api-max-in-flight` (default 256) requests at once over all its
//! endpoints; beyond that it answers 503 at once instead of queueing without bound. `status`
//! and the `$SRV` verbs are not counted (an operator can look at an overloaded service): they
//! are answered one at a time by tasks of their own (`srv.rs`, and async-nats for `$SRV`).

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::{Api, ApiError, MAX_REQUEST_BYTES, decode_request};
use crate::peers::Forwarder;

mod forward;

type Respond = Arc<dyn Fn(Api, Bytes) -> BoxFuture<'static, Result<Bytes, ApiError>> + Send + Sync>;

/// The endpoints a service serves, by verb.
#[derive(Default, Clone)]
pub struct Endpoints {
    endpoints: Vec<(&'static str, Respond)>,
}

impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verbs: Vec<&str> = self.endpoints.iter().map(|(verb, _)| *verb).collect();
        f.debug_struct("Endpoints").field("verbs", &verbs).finish()
    }
}

impl Endpoints {
    /// Serves `verb`: each request body is decoded as a JSON object into `Request` (an empty
    /// body as `{}`), handled concurrently, and answered with the JSON `Response` or the
    /// error.
    pub fn add<Request, Response, F, Fut>(&mut self, verb: &'static str, handler: F) -> &mut Self
    where
        Request: DeserializeOwned + Send + 'static,
        Response: Serialize + Send + 'static,
        F: Fn(Api, Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response, ApiError>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let respond: Respond = Arc::new(move |api, body| {
            let handler = handler.clone();
            Box::pin(async move {
                let request = decode_object::<Request>(&body)?;
                let response = handler(api, request).await?;
                serde_json::to_vec(&response)
                    .map(Bytes::from)
                    .map_err(|error| ApiError::internal(error.to_string()))
            })
        });
        self.endpoints.push((verb, respond));
        self
    }

    /// The verbs, in the order they were added.
    pub fn verbs(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.endpoints.iter().map(|(verb, _)| *verb)
    }
}

/// The bound on requests in flight (more get a quick 503), shared by every endpoint and every
/// connection they are served on (a request still running on a connection that died keeps
/// its permit).
#[derive(Debug, Clone)]
pub(crate) struct InFlight {
    permits: Arc<Semaphore>,
    max: usize,
}

impl InFlight {
    pub(crate) fn new(max: usize) -> Self {
        InFlight {
            permits: Arc::new(Semaphore::new(max)),
            max,
        }
    }
}

/// Decodes a request body, which must be a JSON object (docs/api.md): serde would also read
/// a struct from an array of its fields in declaration order, a form no client should come
/// to rely on (reordering two fields of a type would silently swap their values).
fn decode_object<Request: DeserializeOwned>(body: &[u8]) -> Result<Request, ApiError> {
    let first = body.iter().find(|byte| !byte.is_ascii_whitespace());
    if first == Some(&b'[') && body.len() <= MAX_REQUEST_BYTES {
        return Err(ApiError::bad_request(
            "malformed request: the body must be a JSON object, not an array",
        ));
    }
    decode_request(body)
}

/// The longest error message kept in the `Nats-Service-Error` header.
const MAX_ERROR_LEN: usize = 1000;

/// An error message as a header value can carry it: no line breaks or other control
/// characters (a request id quoted in a message may hold them), and not too long.
fn header_safe(message: &str) -> String {
    message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_ERROR_LEN)
        .collect()
}

/// Sends the reply; a reply that cannot be sent (too large for the broker, say) is replaced
/// by a generic coded error, so every request gets an answer.
async fn answer(
    request: &async_nats::service::Request,
    reply: Result<Bytes, async_nats::service::error::Error>,
) {
    let Err(error) = request.respond(reply).await else {
        return;
    };
    tracing::warn!(%error, "failed to send api reply; answering with a 500");
    let fallback = async_nats::service::error::Error {
        code: 500,
        status: "the reply could not be sent".to_owned(),
    };
    if let Err(error) = request.respond(Err(fallback)).await {
        tracing::warn!(%error, "failed to send the fallback reply");
    }
}

/// The answer to a request beyond the bound on requests in flight.
fn busy(in_flight: &InFlight) -> async_nats::service::error::Error {
    async_nats::service::error::Error {
        code: 503,
        status: format!("busy: {} requests in flight; retry shortly", in_flight.max),
    }
}

/// Registers every endpoint in `group` of `service` and answers its requests on `tasks`; a
/// request for a partition held by another instance is asked of it through `forwarder` (an
/// instance that shares its partitions), which also answers such asks for the partitions
/// held here. Cancels `ended` when a subscription ends (the service stopped, or its
/// connection's task is gone).
#[expect(
    clippy::too_many_arguments,
    reason = "what serving needs, each from its owner"
)]
pub(crate) async fn serve(
    service: &async_nats::service::Service,
    group: &str,
    endpoints: &Endpoints,
    api: &Api,
    in_flight: &InFlight,
    tasks: &TaskTracker,
    forwarder: Option<&Forwarder>,
    ended: CancellationToken,
) -> anyhow::Result<()> {
    for (verb, respond) in endpoints.endpoints.iter().cloned() {
        let mut endpoint = service
            .group(group)
            .endpoint(verb)
            .await
            .map_err(|error| anyhow::anyhow!("failed to add endpoint {verb}: {error}"))?;
        let (api, tasks_for_requests, in_flight) = (api.clone(), tasks.clone(), in_flight.clone());
        let (ended, forwarder) = (ended.clone(), forwarder.cloned());
        tasks.spawn(async move {
            while let Some(request) = endpoint.next().await {
                let Ok(permit) = in_flight.permits.clone().try_acquire_owned() else {
                    answer(&request, Err(busy(&in_flight))).await;
                    continue;
                };
                let (api, respond, forwarder) = (api.clone(), respond.clone(), forwarder.clone());
                tasks_for_requests.spawn(async move {
                    let _permit = permit;
                    let body = request.message.payload.clone();
                    let reply = match (respond(api, body.clone()).await, forwarder) {
                        (
                            Err(ApiError {
                                elsewhere: Some(partition),
                                ..
                            }),
                            Some(forwarder),
                        ) => forwarder.ask(verb, partition, body).await,
                        (reply, _) => reply.map_err(|error| async_nats::service::error::Error {
                            code: usize::from(error.code),
                            status: header_safe(&error.message),
                        }),
                    };
                    answer(&request, reply).await;
                });
            }
            ended.cancel();
        });
    }
    if let Some(forwarder) = forwarder {
        let endpoints = endpoints.endpoints.clone();
        forward::serve_owned(forwarder, endpoints, api, in_flight, tasks, ended).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Pair {
        first: String,
        #[serde(default)]
        second: u32,
    }

    #[test]
    fn a_body_is_a_json_object_not_an_array_of_the_fields() {
        let pair: Pair = decode_object(br#"{"first": "a", "second": 2}"#).unwrap();
        assert_eq!((pair.first.as_str(), pair.second), ("a", 2));
        let error = decode_object::<Pair>(b"").unwrap_err();
        assert!(error.message.contains("missing field `first`"), "{error}");
        for array in [&br#"["a", 2]"#[..], b" \r\n[\"a\"]"] {
            let error = decode_object::<Pair>(array).unwrap_err();
            assert_eq!(error.code, 400);
            assert!(error.message.starts_with("malformed request: "), "{error}");
        }
        let oversized = [b"[".as_slice(), &[b' '; MAX_REQUEST_BYTES]].concat();
        assert_eq!(decode_object::<Pair>(&oversized).unwrap_err().code, 413);
    }
}
