//! An HTTP client for calling external services (cargo feature `http-client`).
//!
//! [`HttpClient`] wraps a [`reqwest::Client`] (rustls, no OpenSSL) with what a backend
//! needs when it depends on someone else's API:
//!
//! - a timeout per attempt and for connecting;
//! - retries of idempotent calls (GET, HEAD, PUT, DELETE, OPTIONS, or any request with an
//!   `Idempotency-Key` header) after connection failures, timeouts, 429 and 5xx answers,
//!   with exponential backoff and full jitter (and `Retry-After`, within the backoff cap);
//! - a failure budget: after `breaker_threshold` failed calls in a row the client stops
//!   calling for `breaker_cooldown` and fails fast with [`ClientError::CircuitOpen`], then
//!   lets one probe through;
//! - a tracing span per call (`http_client.request`, with the service name, method, URL
//!   without its query, attempts and final status).
//!
//! Any HTTP answer is returned as a response, errors included, once retries are spent;
//! [`ClientError`] is for calls that got no answer. It converts into a 503 problem, so
//! handlers can use `?`.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use flagstone::http_client::HttpClient;
//!
//! # async fn run() -> flagstone::Result<()> {
//! let payments = HttpClient::builder("payments")
//!     .timeout(Duration::from_secs(5))
//!     .retries(2)
//!     .build()?;
//! let response = payments
//!     .send(payments.get("https://payments.example.com/v1/balance"))
//!     .await?;
//! let balance = response.text().await.map_err(flagstone::Error::internal)?;
//! # Ok(())
//! # }
//! ```

mod breaker;
mod client;

pub use client::{ClientError, HttpClient, HttpClientBuilder};

/// The HTTP client crate, for request building and responses.
pub use reqwest;
