//! [`HttpClient`] and its builder.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use http::{Method, StatusCode, header};
use reqwest::{RequestBuilder, Response};
use tracing::Instrument;

use super::breaker::Breaker;
use crate::{Error, ErrorKind};

/// Configures an [`HttpClient`]; start with [`HttpClient::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct HttpClientBuilder {
    name: String,
    timeout: Duration,
    connect_timeout: Duration,
    retries: u32,
    backoff: Duration,
    max_backoff: Duration,
    breaker_threshold: u32,
    breaker_cooldown: Duration,
    user_agent: String,
}

impl HttpClientBuilder {
    /// Time allowed for one attempt, answer body included (default `10s`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time allowed to open a connection (default `3s`).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Further attempts of an idempotent call after a retryable failure (default 2).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// First backoff before a retry (default `100ms`); it doubles each time, with full
    /// jitter, up to `max` (default `2s`).
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = first;
        self.max_backoff = max.max(first);
        self
    }

    /// Failed calls in a row (after their retries) that open the breaker (default 5), and
    /// how long it stays open (default `30s`).
    pub fn circuit_breaker(mut self, threshold: u32, cooldown: Duration) -> Self {
        self.breaker_threshold = threshold.max(1);
        self.breaker_cooldown = cooldown;
        self
    }

    /// The `User-Agent` sent (default `flagstone/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<HttpClient, Error> {
        // reqwest is built without a default crypto provider; Flagstone uses ring. An
        // application that installed another one keeps it.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent.clone())
            .build()
            .map_err(Error::internal)?;
        Ok(HttpClient {
            inner: Arc::new(Inner {
                client,
                breaker: Breaker::new(self.breaker_threshold, self.breaker_cooldown),
                settings: self,
            }),
        })
    }
}

/// A client for one external service; cheap to clone, and clones share the breaker. See
/// [the module](crate::http_client).
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    breaker: Breaker,
    settings: HttpClientBuilder,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("name", &self.inner.settings.name)
            .field("breaker_open", &self.inner.breaker.is_open())
            .finish_non_exhaustive()
    }
}

/// A call that got no usable answer.
///
/// It converts into a 503 [`Error`] (with `Retry-After`), so a handler can use `?` on
/// [`HttpClient::send`]. It does not implement [`std::error::Error`] on purpose: through
/// that, `?` would make it a 500.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The breaker is open: recent calls failed, so this one was not attempted.
    CircuitOpen {
        /// The service's name.
        service: String,
        /// Time until a probe call is let through.
        retry_after: Duration,
    },
    /// The last attempt timed out.
    Timeout {
        /// The service's name.
        service: String,
        /// The underlying error.
        source: reqwest::Error,
    },
    /// The last attempt failed without an answer (connection refused, reset, TLS, ...) or
    /// the request could not be built.
    Request {
        /// The service's name.
        service: String,
        /// The underlying error.
        source: reqwest::Error,
    },
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CircuitOpen {
                service,
                retry_after,
            } => write!(
                f,
                "{service}: not called, too many recent failures (retry in {}s)",
                retry_after.as_secs().max(1)
            ),
            Self::Timeout { service, source } => write!(f, "{service}: timed out: {source}"),
            Self::Request { service, source } => write!(f, "{service}: {source}"),
        }
    }
}

impl From<ClientError> for Error {
    /// A 503 problem that names no internals; the cause is kept for the log.
    fn from(error: ClientError) -> Self {
        let (code, retry) = match &error {
            ClientError::CircuitOpen { retry_after, .. } => {
                ("upstream_circuit_open", retry_after.as_secs().max(1))
            }
            ClientError::Timeout { .. } => ("upstream_timeout", 1),
            ClientError::Request { .. } => ("upstream_unavailable", 1),
        };
        let problem = Error::new(
            ErrorKind::Unavailable,
            "a service this request depends on is unavailable; try again later",
        )
        .with_code(code)
        .with_retry_after(retry);
        match error {
            ClientError::Timeout { source, .. } | ClientError::Request { source, .. } => {
                problem.with_source(source)
            }
            circuit @ ClientError::CircuitOpen { .. } => {
                problem.with_source(std::io::Error::other(circuit.to_string()))
            }
        }
    }
}

impl HttpClient {
    /// A builder for a client of the service `name` (used in logs, spans and errors).
    pub fn builder(name: impl Into<String>) -> HttpClientBuilder {
        HttpClientBuilder {
            name: name.into(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            retries: 2,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            user_agent: concat!("flagstone/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    /// A client with the default settings.
    pub fn new(name: impl Into<String>) -> Result<Self, Error> {
        Self::builder(name).build()
    }

    /// Starts a request; send it with [`HttpClient::send`].
    pub fn request(&self, method: Method, url: impl reqwest::IntoUrl) -> RequestBuilder {
        self.inner.client.request(method, url)
    }

    /// Starts a `GET`.
    pub fn get(&self, url: impl reqwest::IntoUrl) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// Starts a `POST` (not retried unless it carries an `Idempotency-Key`).
    pub fn post(&self, url: impl reqwest::IntoUrl) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// Starts a `PUT`.
    pub fn put(&self, url: impl reqwest::IntoUrl) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// Starts a `DELETE`.
    pub fn delete(&self, url: impl reqwest::IntoUrl) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// Whether the breaker is open (calls fail fast).
    pub fn is_circuit_open(&self) -> bool {
        self.inner.breaker.is_open()
    }

    /// Sends `request` with the timeouts, retries and breaker of this client. Every HTTP
    /// answer comes back as `Ok` (check its status); `Err` means no answer.
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, ClientError> {
        let name = &self.inner.settings.name;
        let request = request.build().map_err(|source| ClientError::Request {
            service: name.clone(),
            source,
        })?;
        let mut url = request.url().clone();
        url.set_query(None);
        url.set_fragment(None);
        let _ = url.set_password(None);
        let _ = url.set_username("");
        let span = tracing::info_span!(
            "http_client.request",
            service = %name,
            method = %request.method(),
            url = %url,
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
        );
        self.send_with_retries(request).instrument(span).await
    }

    async fn send_with_retries(&self, request: reqwest::Request) -> Result<Response, ClientError> {
        let settings = &self.inner.settings;
        let breaker = &self.inner.breaker;
        let service = || settings.name.clone();
        let retryable = is_idempotent(&request);
        let mut request = Some(request);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            tracing::Span::current().record("attempts", attempt);
            if let Err(retry_after) = breaker.allow() {
                tracing::warn!("circuit open: not calling");
                return Err(ClientError::CircuitOpen {
                    service: service(),
                    retry_after,
                });
            }
            let Some(current) = request.take() else {
                // Unreachable: a request is kept for every attempt that follows.
                return Err(ClientError::CircuitOpen {
                    service: service(),
                    retry_after: Duration::ZERO,
                });
            };
            let more = retryable && attempt <= settings.retries;
            // A body that cannot be cloned (a stream) allows one attempt only.
            let next = if more { current.try_clone() } else { None };
            let started = Instant::now();
            let outcome = self.inner.client.execute(current).await;
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let failed = match &outcome {
                Ok(response) => is_failure(response.status()),
                Err(_) => true,
            };
            if failed {
                if breaker.failure() {
                    tracing::warn!(
                        threshold = settings.breaker_threshold,
                        cooldown_s = settings.breaker_cooldown.as_secs(),
                        "circuit opened after repeated failures"
                    );
                }
            } else {
                breaker.success();
            }
            let retry = next.is_some()
                && match &outcome {
                    Ok(response) => is_retryable_status(response.status()),
                    Err(e) => e.is_timeout() || e.is_connect() || e.is_request(),
                };
            if !retry {
                return match outcome {
                    Ok(response) => {
                        tracing::Span::current().record("status", response.status().as_u16());
                        tracing::debug!(elapsed_ms, "answered");
                        Ok(response)
                    }
                    Err(source) if source.is_timeout() => {
                        tracing::warn!(elapsed_ms, error = %source, "timed out");
                        Err(ClientError::Timeout {
                            service: service(),
                            source,
                        })
                    }
                    Err(source) => {
                        tracing::warn!(elapsed_ms, error = %source, "failed");
                        Err(ClientError::Request {
                            service: service(),
                            source,
                        })
                    }
                };
            }
            let hinted = outcome.as_ref().ok().and_then(retry_after);
            let delay = self.backoff(attempt, hinted);
            match &outcome {
                Ok(response) => tracing::info!(
                    status = response.status().as_u16(),
                    elapsed_ms,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "retrying"
                ),
                Err(error) => tracing::info!(
                    %error,
                    elapsed_ms,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "retrying"
                ),
            }
            drop(outcome);
            tokio::time::sleep(delay).await;
            request = next;
        }
    }

    /// Full jitter: a random delay up to `backoff * 2^(attempt-1)`, capped; a server's
    /// `Retry-After` is honoured within the cap.
    fn backoff(&self, attempt: u32, hinted: Option<Duration>) -> Duration {
        let s = &self.inner.settings;
        let ceiling = s
            .backoff
            .saturating_mul(
                1u32.checked_shl(attempt.saturating_sub(1))
                    .unwrap_or(u32::MAX),
            )
            .min(s.max_backoff);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        let jittered = Duration::from_nanos(random_u64() % nanos.saturating_add(1));
        match hinted {
            Some(hint) => hint.min(s.max_backoff).max(jittered),
            None => jittered,
        }
    }
}

/// Safe to send twice: idempotent methods, or a request with an `Idempotency-Key`.
fn is_idempotent(request: &reqwest::Request) -> bool {
    matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    ) || request.headers().contains_key("idempotency-key")
}

/// Answers that count against the failure budget: the service is failing, not the call.
fn is_failure(status: StatusCode) -> bool {
    status.is_server_error()
}

/// Answers worth trying again.
fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// `Retry-After` in seconds.
fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get(header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// 64 random bits for jitter (not for secrets).
fn random_u64() -> u64 {
    getrandom::u64().unwrap_or_else(|_| {
        use std::hash::{BuildHasher, RandomState};
        RandomState::new().hash_one(Instant::now())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_jitters_and_stays_capped() {
        let client = HttpClient::builder("t")
            .backoff(Duration::from_millis(100), Duration::from_millis(800))
            .build()
            .unwrap();
        for _ in 0..200 {
            assert!(client.backoff(1, None) <= Duration::from_millis(100));
            assert!(client.backoff(3, None) <= Duration::from_millis(400));
            assert!(client.backoff(30, None) <= Duration::from_millis(800));
            let hinted = client.backoff(1, Some(Duration::from_secs(60)));
            assert_eq!(hinted, Duration::from_millis(800), "Retry-After is capped");
        }
        let spread: std::collections::BTreeSet<_> =
            (0..50).map(|_| client.backoff(4, None)).collect();
        assert!(spread.len() > 10, "jittered: {spread:?}");
    }
}
