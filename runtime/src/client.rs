//! A client for the services' request/reply API: sends a JSON request to
//! `<prefix>.api.<service>.<verb>` and turns the reply into the result or an [`ApiError`]
//! (from the `Nats-Service-Error-Code` / `Nats-Service-Error` headers).

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use events::Subjects;

use crate::api::ApiError;

/// How long a request waits for its reply.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct ApiClient {
    client: async_nats::Client,
    subjects: Subjects,
    timeout: Duration,
    refusals: Option<Refusals>,
}

/// The permission violations the broker reported on a connection (fed by its event callback),
/// so that a request the broker refused fails at once with a 403 that says so, instead of
/// waiting for a reply that cannot come.
#[derive(Debug, Clone, Default)]
pub struct Refusals {
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    arrived: std::sync::Arc<tokio::sync::Notify>,
}

impl Refusals {
    /// Call from the connection's event callback with every server error.
    pub fn record(&self, error: &str) {
        if !error.to_lowercase().contains("permissions violation") {
            return;
        }
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.push(error.to_lowercase());
        self.arrived.notify_waiters();
    }

    fn refused(&self, subject: &str) -> bool {
        let wanted = format!("publish to \"{}\"", subject.to_lowercase());
        let seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.iter().any(|violation| violation.contains(&wanted))
    }

    /// Resolves once the broker has refused a publish to `subject`.
    async fn until_refused(&self, subject: &str) {
        loop {
            let arrived = self.arrived.notified();
            if self.refused(subject) {
                return;
            }
            arrived.await;
        }
    }
}

impl ApiClient {
    pub fn new(client: async_nats::Client, subjects: Subjects) -> Self {
        ApiClient {
            client,
            subjects,
            timeout: REQUEST_TIMEOUT,
            refusals: None,
        }
    }

    /// Fails a request the broker refused at once (see [`Refusals`]).
    pub fn with_refusals(self, refusals: Refusals) -> Self {
        ApiClient {
            refusals: Some(refusals),
            ..self
        }
    }

    pub fn with_timeout(self, timeout: Duration) -> Self {
        ApiClient { timeout, ..self }
    }

    pub fn subjects(&self) -> &Subjects {
        &self.subjects
    }

    pub fn nats(&self) -> &async_nats::Client {
        &self.client
    }

    /// Calls one endpoint. A missing service or a timeout is a 503 error.
    pub async fn call<Request: Serialize, Response: DeserializeOwned>(
        &self,
        service: &str,
        verb: &str,
        request: &Request,
    ) -> Result<Response, ApiError> {
        let body = serde_json::to_vec(request)
            .map_err(|error| ApiError::bad_request(error.to_string()))?;
        let reply = self.call_raw(service, verb, body).await?;
        serde_json::from_slice(&reply).map_err(|error| {
            ApiError::internal(format!(
                "{service}.{verb} replied with unreadable JSON: {error}"
            ))
        })
    }

    /// Sends raw bytes (for tests of malformed requests).
    pub async fn call_raw(
        &self,
        service: &str,
        verb: &str,
        body: Vec<u8>,
    ) -> Result<bytes::Bytes, ApiError> {
        let subject = self
            .subjects
            .api(service, verb)
            .map_err(|error| ApiError::bad_request(error.to_string()))?;
        let request = async_nats::Request::new()
            .payload(body.into())
            .timeout(Some(self.timeout));
        let sent = self.client.send_request(subject.clone(), request);
        let refused = async {
            match &self.refusals {
                Some(refusals) => refusals.until_refused(&subject).await,
                None => std::future::pending().await,
            }
        };
        let reply = tokio::select! {
            reply = sent => reply.map_err(|error| {
                ApiError::new(503, format!("{service} did not answer {verb}: {error}"))
            })?,
            () = refused => {
                return Err(ApiError::new(
                    403,
                    format!(
                        "the broker refused {subject}: this identity may not call {service} {verb} \
                         (see docs/security.md)"
                    ),
                ));
            }
        };
        let headers = reply.headers.as_ref();
        let code =
            headers.and_then(|headers| headers.get(async_nats::service::NATS_SERVICE_ERROR_CODE));
        if let Some(code) = code {
            let message = headers
                .and_then(|headers| headers.get(async_nats::service::NATS_SERVICE_ERROR))
                .map(|value| value.as_str().to_owned())
                .unwrap_or_default();
            return Err(ApiError::new(code.as_str().parse().unwrap_or(500), message));
        }
        Ok(reply.payload)
    }
}
