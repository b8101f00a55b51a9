//! The default middleware stack, on for every app and each part switchable in `[http]`,
//! `[server]`, `[cors]` and `[rate_limit]`.
//!
//! From the outside in (the last six wrap the app's routes only; `/health/*`, `/metrics`
//! and the OpenAPI routes are never throttled, shed or timed out):
//!
//! | layer | does | configured by |
//! | --- | --- | --- |
//! | compression | gzip / brotli responses when the client accepts them (others skip it) | `http.compression` |
//! | core | request id, client IP, tracing span, panic catching, metrics, security headers, problem rendering | `http.request_id`, `http.trace`, `http.catch_panic`, `http.security_headers`, `http.hsts`, `http.content_security_policy`, `metrics.enabled`, `trusted_proxies` |
//! | CORS | preflight and response headers for allowed origins | `cors.*` (off when no origin is allowed) |
//! | rate limit | GCRA budget per client IP, 429 with `Retry-After` | `rate_limit.*` |
//! | load shedding | 503 with `Retry-After` past `max_concurrency` requests in flight | `server.max_concurrency` |
//! | timeout | 408 past `request_timeout` | `server.request_timeout` |
//! | decompression | gzip / brotli request bodies (requests without `Content-Encoding` skip it) | `http.decompression` |
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

use std::{
    convert::Infallible,
    sync::Arc,
    task::{Context, Poll},
};

use axum::{
    Router,
    body::Body,
    extract::DefaultBodyLimit,
    response::{IntoResponse, Response},
    routing::future::RouteFuture,
};
use bytes::Bytes;
use http::{Extensions, HeaderName, HeaderValue, Request, StatusCode, header};
use tower::{BoxError, Layer, Service, ServiceBuilder, util::Either};
use tower_http::{
    compression::{Compression, CompressionLayer},
    cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer},
    decompression::{RequestDecompression, RequestDecompressionLayer},
    limit::{RequestBodyLimit, RequestBodyLimitLayer},
    timeout::TimeoutLayer,
};

pub use client_ip::ClientIp;
pub use core::API_CSP;
pub use rate_limit::{RateLimit, RateLimitLayer};
pub use request_id::{REQUEST_ID_HEADER, RequestId};
pub use shed::{LoadShed, LoadShedLayer, ShedFuture};

use crate::{Config, error::ProblemRenderer, telemetry::Metrics};
pub(crate) use core::{CoreLayer, CoreSettings, RouteTagLayer, SecurityHeaders};

/// Wraps the app's own routes (the API, root routes and the 404 fallback) in the limiting
/// layers: CORS, rate limit, load shedding, timeout, decompression and body limit, then
/// adds the app's shared values (`state`) to each request, with the limit axum's buffering
/// extractors read. Health and metrics stay outside them, so probes are answered even when
/// clients are throttled. `stream_limit`, when larger, is the limit of the whole body for
/// extractors that stream it (file uploads); axum's buffering extractors keep
/// `server.body_limit`.
///
/// The layers wrap the router once, as one service, rather than each route through
/// [`Router::layer`]: a request then passes through each layer once, without the clone
/// of a boxed service and the boxed future that every route-level layer costs.
pub(crate) fn limit(
    router: Router,
    config: &Config,
    stream_limit: Option<u64>,
    state: Extensions,
) -> impl Service<Request<Body>, Response = Response, Error = Infallible, Future: Send + 'static>
+ Clone
+ Send
+ Sync
+ 'static
+ use<> {
    let limit = usize::try_from(config.server.body_limit).unwrap_or(usize::MAX);
    let outer = stream_limit.map_or(limit, |stream| {
        usize::try_from(stream).unwrap_or(usize::MAX).max(limit)
    });
    let max = usize::try_from(config.server.max_concurrency).unwrap_or(usize::MAX);
    let timeout = config.server.request_timeout;
    // Each optional layer keeps `Request<Body>` in and `Response<Body>` out, so that it
    // can be left out without changing the stack's type.
    let decompression = config
        .http
        .decompression
        .then_some(tower::layer::layer_fn(decompression));
    ServiceBuilder::new()
        .option_layer(cors(config))
        .option_layer(
            config
                .rate_limit
                .enabled
                .then(|| RateLimitLayer::from_config(&config.rate_limit)),
        )
        .option_layer((max > 0).then(|| LoadShedLayer::new(max)))
        .option_layer(
            (!timeout.is_zero())
                .then(|| TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout)),
        )
        .option_layer(decompression)
        .layer(tower::layer::layer_fn(move |inner| {
            body_limit(inner, outer)
        }))
        .layer(AddStateLayer(Arc::new(with_default_body_limit(
            state, limit,
        ))))
        .service(routed(router))
}

/// The whole app as one service: the probe routes (health, metrics, the OpenAPI document),
/// which `probe_paths` lists, beside the limited app, both inside the outer layers: panic
/// catching, the core layer and compression. Like [`limit`], services around the routers,
/// not layers on each route; a request goes to the probes only when its path is one of
/// theirs, so the app's requests skip a second routing.
pub(crate) fn wrap<A>(
    probes: Router,
    probe_paths: Vec<String>,
    app: A,
    config: &Config,
    renderer: Arc<dyn ProblemRenderer>,
    metrics: Option<Arc<Metrics>>,
) -> impl Service<Request<Body>, Response = Response, Error = Infallible, Future: Send + 'static>
+ Clone
+ Send
+ Sync
+ 'static
+ use<A>
where
    A: Service<Request<Body>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    A::Future: Send + 'static,
{
    let core = CoreSettings {
        request_id: config.http.request_id,
        trace: config.http.trace,
        security_headers: SecurityHeaders::from_config(config),
        trusted_proxies: config.trusted_proxies.clone(),
        metrics,
        renderer,
        validation_status: config.api.validation_status,
        catch_panic: config.http.catch_panic,
    };
    let service = ServiceBuilder::new()
        .layer(CoreLayer(Arc::new(core)))
        .service(Probes {
            paths: probe_paths.into(),
            probes: routed(probes),
            app,
        });
    match config.http.compression {
        true => Either::Left(compression(service)),
        false => Either::Right(service),
    }
}

/// `router` ready to serve: every handler turned into a route once, here, rather than per
/// request (which axum does for a router that is never given its state, the unit state
/// included), and each route tagged for the core layer.
fn routed(router: Router) -> Router {
    router.with_state(()).layer(RouteTagLayer)
}

/// Sends the requests for the probe paths to their router and the rest to the app.
#[derive(Clone)]
struct Probes<A> {
    paths: Arc<[String]>,
    probes: Router,
    app: A,
}

impl<A> Service<Request<Body>> for Probes<A>
where
    A: Service<Request<Body>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = futures_util::future::Either<RouteFuture<Infallible>, A::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        std::task::ready!(Service::<Request<Body>>::poll_ready(&mut self.probes, cx))?;
        self.app.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let path = request.uri().path();
        match self.paths.iter().any(|probe| probe == path) {
            true => futures_util::future::Either::Left(self.probes.call(request)),
            false => futures_util::future::Either::Right(self.app.call(request)),
        }
    }
}

/// A tower-http layer (`wrapped`, around `S`) applied only to the requests that need it;
/// the others go straight to `S` and skip the layer's body and response wrappers. Either
/// way it takes `Request<Body>` and answers `Response<Body>`.
struct Selective<W, S> {
    wrapped: W,
    /// Whether a request needs the layer.
    needs: fn(&Request<Body>) -> bool,
    /// The service inside the layer.
    inner: fn(&mut W) -> &mut S,
    /// What a response that skipped the layer gets instead.
    skipped: fn(Response) -> Response,
}

impl<W: Clone, S> Clone for Selective<W, S> {
    fn clone(&self) -> Self {
        Self {
            wrapped: self.wrapped.clone(),
            ..*self
        }
    }
}

impl<W, S> Service<Request<Body>> for Selective<W, S>
where
    W: Service<Request<Body>, Error = S::Error>,
    W::Response: IntoResponse,
    S: Service<Request<Body>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = futures_util::future::Either<
        futures_util::future::MapOk<W::Future, fn(W::Response) -> Response>,
        futures_util::future::MapOk<S::Future, fn(Response) -> Response>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.wrapped.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        use futures_util::TryFutureExt as _;
        match (self.needs)(&request) {
            true => futures_util::future::Either::Left(
                self.wrapped
                    .call(request)
                    .map_ok(IntoResponse::into_response as fn(_) -> Response),
            ),
            false => futures_util::future::Either::Right(
                (self.inner)(&mut self.wrapped)
                    .call(request)
                    .map_ok(self.skipped),
            ),
        }
    }
}

/// Compression (gzip, brotli) for the requests that accept it; the others only get the
/// `Vary: accept-encoding` the layer would have added. tower-http negotiates the encoding
/// (q-values included) for any request whose `Accept-Encoding` names one of them.
fn compression<S>(inner: S) -> Selective<Compression<S>, S> {
    Selective {
        wrapped: CompressionLayer::new().gzip(true).br(true).layer(inner),
        needs: |request| accepts_compression(request.headers()),
        inner: Compression::get_mut,
        skipped: vary_on_encoding,
    }
}

/// Whether `Accept-Encoding` mentions an encoding the server compresses with.
fn accepts_compression(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .any(|value| {
            value
                .as_bytes()
                .windows(2)
                .any(|pair| pair.eq_ignore_ascii_case(b"br") || pair.eq_ignore_ascii_case(b"gz"))
        })
}

/// What the compression layer does to a response it could compress but the client did not
/// ask for compressed: `Vary: accept-encoding`, so that caches keep the variants apart.
/// "Could compress" is tower-http's default predicate (32 bytes or more, or of unknown
/// size; not gRPC, not an image other than SVG, not an event stream; not already encoded
/// or a range), checked in one pass over the headers.
fn vary_on_encoding(mut response: Response) -> Response {
    use http_body::Body as _;
    let mut content_type = "";
    for (name, value) in response.headers() {
        let settled = *name == header::CONTENT_ENCODING
            || *name == header::CONTENT_RANGE
            || (*name == header::VARY
                && value
                    .as_bytes()
                    .windows(b"accept-encoding".len())
                    .any(|window| window.eq_ignore_ascii_case(b"accept-encoding")));
        if settled {
            return response;
        }
        if *name == header::CONTENT_TYPE {
            content_type = value.to_str().unwrap_or_default();
        }
    }
    let size = response.body().size_hint().exact().or_else(|| {
        response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.parse().ok())
    });
    let excluded = (content_type.starts_with("application/grpc")
        && !content_type.starts_with("application/grpc-web"))
        || (content_type.starts_with("image/") && !content_type.starts_with("image/svg+xml"))
        || content_type.starts_with("text/event-stream");
    if size.is_none_or(|size| size >= 32) && !excluded {
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// Request decompression for the requests with a `Content-Encoding`: it has nothing to do
/// for the others.
fn decompression<S>(inner: S) -> Selective<RequestDecompression<AxumBody<S>>, S> {
    Selective {
        wrapped: RequestDecompressionLayer::new().layer(AxumBody(inner)),
        needs: |request| request.headers().contains_key(header::CONTENT_ENCODING),
        inner: |wrapped| &mut wrapped.get_mut().0,
        skipped: std::convert::identity,
    }
}

/// The body limit for requests that have a body: a body known to be empty (most reads)
/// cannot go over it.
fn body_limit<S>(inner: S, limit: usize) -> Selective<RequestBodyLimit<S>, S> {
    Selective {
        wrapped: RequestBodyLimitLayer::new(limit).layer(inner),
        needs: |request| {
            use http_body::Body as _;
            request.body().size_hint().exact() != Some(0)
        },
        inner: RequestBodyLimit::get_mut,
        skipped: std::convert::identity,
    }
}

/// Hands any request body on as axum's [`Body`].
#[derive(Clone)]
struct AxumBody<S>(S);

impl<S, B> Service<Request<B>> for AxumBody<S>
where
    S: Service<Request<Body>>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> S::Future {
        self.0.call(request.map(Body::new))
    }
}

/// `state` plus what axum's [`DefaultBodyLimit`] layer would add to each request: the limit
/// its buffering extractors (`Json`, `Bytes`, `Form`, ...) apply. Taken from the layer
/// itself, once, so that requests get it with the rest of the state instead of through one
/// more layer and one more insert.
fn with_default_body_limit(mut state: Extensions, limit: usize) -> Extensions {
    use futures_util::FutureExt as _;
    let mut capture =
        DefaultBodyLimit::max(limit).layer(tower::service_fn(|request: Request<()>| async move {
            Ok::<_, Infallible>(request.into_parts().0)
        }));
    // `service_fn`'s future is an `async` block with nothing to wait for: ready at once.
    if let Some(Ok(parts)) = capture.call(Request::new(())).now_or_never() {
        state.extend(parts.extensions);
    }
    state
}

/// Adds the app's shared values ([`App::state`](crate::App::state)) to each request.
#[derive(Clone)]
struct AddStateLayer(Arc<Extensions>);

impl<S> Layer<S> for AddStateLayer {
    type Service = AddState<S>;

    fn layer(&self, inner: S) -> AddState<S> {
        AddState {
            inner,
            state: self.0.clone(),
        }
    }
}

/// The service of [`AddStateLayer`].
#[derive(Clone)]
struct AddState<S> {
    inner: S,
    state: Arc<Extensions>,
}

impl<S, B> Service<Request<B>> for AddState<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> S::Future {
        // The request's own few extensions (connection info, request id, client IP) go
        // into a copy of the shared ones, rather than each shared value into the request's
        // map: a copy is one allocation for the table, and fewer values are inserted.
        let own = std::mem::take(request.extensions_mut());
        let extensions = request.extensions_mut();
        *extensions = (*self.state).clone();
        extensions.extend(own);
        self.inner.call(request)
    }
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
