//! The default middleware stack, on for every app and each part switchable in `[http]`,
//! `[server]`, `[cors]` and `[rate_limit]`.
//!
//! From the outside in (the last six wrap the app's routes only; `/health/*` and
//! `/metrics` are never throttled, shed or timed out):
//!
//! | layer | does | configured by |
//! | --- | --- | --- |
//! | compression | gzip / brotli responses when the client accepts them | `http.compression` |
//! | core | request id, client IP, tracing span, metrics, security headers, problem rendering | `http.request_id`, `http.trace`, `http.security_headers`, `http.hsts`, `http.content_security_policy`, `metrics.enabled`, `trusted_proxies` |
//! | panic catching | a panic becomes a 500 problem; the server keeps serving | `http.catch_panic` |
//! | CORS | preflight and response headers for allowed origins | `cors.*` (off when no origin is allowed) |
//! | rate limit | GCRA budget per client IP, 429 with `Retry-After` | `rate_limit.*` |
//! | load shedding | 503 with `Retry-After` past `max_concurrency` requests in flight | `server.max_concurrency` |
//! | timeout | 408 past `request_timeout` | `server.request_timeout` |
//! | decompression | gzip / brotli request bodies | `http.decompression` |
//! | body limit | 413 past `body_limit` bytes (after decompression) | `server.body_limit` |
//!
//! ```
//! use flagstone::{config::{ConfigLoader, Profile}, prelude::*, testing::TestApp};
//!
//! # tokio_test();
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn tokio_test() {
//! let config = ConfigLoader::new().profile(Profile::Test).env([("FLAGSTONE_HTTP__COMPRESSION", "false")]).load().unwrap();
//! let app = TestApp::new(App::new(config).routes(Router::new().route("/hi", get(|| async { "hi" }))));
//! let response = app.get("/api/v1/hi").await;
//! assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
//! assert!(response.header("x-request-id").is_some());
//! # }
//! ```

mod client_ip;
mod core;
mod rate_limit;
mod request_id;
mod shed;

use std::sync::Arc;

use axum::{Router, extract::DefaultBodyLimit, response::IntoResponse};
use http::{HeaderName, HeaderValue, StatusCode, header};
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::CompressionLayer,
    cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer},
    decompression::RequestDecompressionLayer,
    limit::RequestBodyLimitLayer,
    timeout::TimeoutLayer,
};

pub use client_ip::ClientIp;
pub use rate_limit::{RateLimit, RateLimitLayer};
pub use request_id::{REQUEST_ID_HEADER, RequestId};
pub use shed::{LoadShed, LoadShedLayer};

use crate::{Config, Error, error::ProblemRenderer, telemetry::Metrics};
pub(crate) use core::{CoreLayer, CoreSettings};

/// Wraps the app's own routes (the API, root routes and the 404 fallback) in the limiting
/// layers: body limit, decompression, timeout, load shedding, rate limit and CORS. Health
/// and metrics stay outside them, so probes are answered even when clients are throttled.
/// `stream_limit`, when larger, is the limit of the whole body for extractors that stream
/// it (file uploads); axum's buffering extractors keep `server.body_limit`.
pub(crate) fn limit(router: Router, config: &Config, stream_limit: Option<u64>) -> Router {
    let limit = usize::try_from(config.server.body_limit).unwrap_or(usize::MAX);
    let outer = stream_limit.map_or(limit, |stream| {
        usize::try_from(stream).unwrap_or(usize::MAX).max(limit)
    });
    let mut router = router
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(outer));
    if config.http.decompression {
        router = router.layer(RequestDecompressionLayer::new());
    }
    if !config.server.request_timeout.is_zero() {
        router = router.layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.server.request_timeout,
        ));
    }
    if config.server.max_concurrency > 0 {
        let max = usize::try_from(config.server.max_concurrency).unwrap_or(usize::MAX);
        router = router.layer(LoadShedLayer::new(max));
    }
    if config.rate_limit.enabled {
        router = router.layer(RateLimitLayer::from_config(&config.rate_limit));
    }
    if let Some(cors) = cors(config) {
        router = router.layer(cors);
    }
    router
}

/// Wraps every route, health and metrics included, in the outer layers: panic catching,
/// the core layer and compression.
pub(crate) fn wrap(
    mut router: Router,
    config: &Config,
    renderer: Arc<dyn ProblemRenderer>,
    metrics: Option<Arc<Metrics>>,
) -> Router {
    if config.http.catch_panic {
        router = router.layer(CatchPanicLayer::custom(
            |panic: Box<dyn std::any::Any + Send>| {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a non-string payload".to_owned());
                Error::internal(std::io::Error::other(format!(
                    "handler panicked: {message}"
                )))
                .into_response()
            },
        ));
    }
    let core = CoreSettings {
        request_id: config.http.request_id,
        trace: config.http.trace,
        security_headers: security_headers(config),
        trusted_proxies: config.trusted_proxies.clone(),
        metrics,
        renderer,
        validation_status: config.api.validation_status,
    };
    router = router.layer(CoreLayer(Arc::new(core)));
    if config.http.compression {
        router = router.layer(CompressionLayer::new().gzip(true).br(true));
    }
    router
}

/// helmet's defaults (v7), plus HSTS when `http.hsts` is on.
fn security_headers(config: &Config) -> Vec<(HeaderName, HeaderValue)> {
    if !config.http.security_headers {
        return Vec::new();
    }
    let mut headers: Vec<(HeaderName, HeaderValue)> = [
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        ("origin-agent-cluster", "?1"),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
        ("x-dns-prefetch-control", "off"),
        ("x-download-options", "noopen"),
        ("x-frame-options", "SAMEORIGIN"),
        ("x-permitted-cross-domain-policies", "none"),
        ("x-xss-protection", "0"),
    ]
    .into_iter()
    .map(|(name, value)| {
        (
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    })
    .collect();
    // Validated when the configuration was loaded.
    if let Ok(csp) = HeaderValue::from_str(&config.http.content_security_policy) {
        headers.push((header::CONTENT_SECURITY_POLICY, csp));
    }
    if config.http.hsts {
        headers.push((
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    headers
}

/// The CORS layer for `[cors]`, or none when no origin is allowed.
fn cors(config: &Config) -> Option<CorsLayer> {
    let origins = &config.cors.allowed_origins;
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let expose = [
        "x-request-id",
        "retry-after",
        "ratelimit",
        "ratelimit-policy",
        "location",
        "link",
    ]
    .map(HeaderName::from_static);
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods(AllowMethods::mirror_request())
            .allow_headers(AllowHeaders::mirror_request())
            .allow_credentials(config.cors.allow_credentials)
            .expose_headers(expose)
            .max_age(config.cors.max_age),
    )
}
