//! The core layer: the per-request work every Flagstone app does, in one service and one
//! future (which allocates nothing of its own) instead of half a dozen stacked layers.
//!
//! It wraps the whole router, so it runs before routing: the matched route reaches it from
//! [`RouteTag`], the one layer each route carries, which records it in the request's span
//! and in a task-local slot the core layer reads once the response is there.
//!
//! In order, for each request it
//! 1. takes a well-formed incoming `x-request-id` or makes one, and stores [`RequestId`] in
//!    the request's extensions;
//! 2. works out [`ClientIp`] (trusted proxies only);
//! 3. opens a tracing span (method, request id, client IP; the matched route once routing
//!    has found it) and counts the request in flight;
//! 4. calls the inner service, turning a panic into a 500 when `http.catch_panic` is on
//!    (the message goes to the log, never to the client);
//! 5. renders any error as a problem — an [`Error`]
//!    response with the request's id and path, and bare framework rejections (`text/plain`
//!    or empty 4xx/5xx) in the same shape;
//! 6. adds the security headers the response does not set itself, echoes the request id,
//!    records the metrics and logs one line.
//!
//! [`Error`]: crate::Error

use std::{
    cell::RefCell,
    convert::Infallible,
    future::{self, Future, Ready},
    panic::{self, AssertUnwindSafe},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use axum::{
    body::Body,
    extract::MatchedPath,
    response::{IntoResponse, Response},
};
use futures_util::future::Either;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri, header};
use ipnet::IpNet;
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};

use super::{ClientIp, RequestId};
use crate::{
    Config,
    error::{ErrorKind, ErrorParts, Problem, ProblemRenderer},
    telemetry::Metrics,
};

/// Settings of the core layer, built once by the app.
pub(crate) struct CoreSettings {
    pub(crate) request_id: bool,
    pub(crate) trace: bool,
    pub(crate) security_headers: SecurityHeaders,
    pub(crate) trusted_proxies: Vec<IpNet>,
    pub(crate) metrics: Option<Arc<Metrics>>,
    pub(crate) renderer: Arc<dyn ProblemRenderer>,
    pub(crate) validation_status: StatusCode,
    /// Whether a panic in a handler becomes a 500 problem (`http.catch_panic`).
    pub(crate) catch_panic: bool,
}

/// The security headers a response gets when it does not set them itself, by kind of
/// response: helmet's set for documents (HTML, and anything that is not JSON), and for
/// JSON the ones that mean something to a response no browser renders (OWASP's REST set).
/// The headers only documents and redirects read — `Cross-Origin-Opener-Policy`,
/// `Origin-Agent-Cluster`, `Referrer-Policy`, `X-DNS-Prefetch-Control`,
/// `X-Download-Options`, `X-Permitted-Cross-Domain-Policies`, `X-XSS-Protection` — and
/// helmet's long CSP would be some 500 bytes on every API answer, to no effect.
#[derive(Default)]
pub(crate) struct SecurityHeaders {
    /// For responses without a JSON `Content-Type`.
    document: Vec<(HeaderName, HeaderValue)>,
    /// For `application/json` and `application/*+json` responses.
    json: Vec<(HeaderName, HeaderValue)>,
}

/// The Content-Security-Policy of JSON responses: nothing may load, nothing may frame them.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

impl SecurityHeaders {
    /// Both sets, plus HSTS on both when `http.hsts` is on; none when
    /// `http.security_headers` is off.
    pub(crate) fn from_config(config: &Config) -> Self {
        if !config.http.security_headers {
            return Self::default();
        }
        let pairs = |pairs: &[(&'static str, &'static str)]| -> Vec<(HeaderName, HeaderValue)> {
            pairs
                .iter()
                .map(|&(name, value)| {
                    (
                        HeaderName::from_static(name),
                        HeaderValue::from_static(value),
                    )
                })
                .collect()
        };
        let mut document = pairs(&[
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
        ]);
        // Validated when the configuration was loaded.
        if let Ok(csp) = HeaderValue::from_str(&config.http.content_security_policy) {
            document.push((header::CONTENT_SECURITY_POLICY, csp));
        }
        let mut json = pairs(&[
            ("content-security-policy", API_CSP),
            ("cross-origin-resource-policy", "same-origin"),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
        ]);
        if config.http.hsts {
            let hsts = HeaderValue::from_static("max-age=31536000; includeSubDomains");
            document.push((header::STRICT_TRANSPORT_SECURITY, hsts.clone()));
            json.push((header::STRICT_TRANSPORT_SECURITY, hsts));
        }
        Self { document, json }
    }

    /// The set for a response with these headers.
    fn for_response(&self, headers: &HeaderMap) -> &[(HeaderName, HeaderValue)] {
        if self.document.is_empty() {
            // `http.security_headers` is off.
            return &[];
        }
        match headers.get(header::CONTENT_TYPE).is_some_and(is_json) {
            true => &self.json,
            false => &self.document,
        }
    }
}

/// `application/json` or `application/<something>+json`, parameters aside.
fn is_json(content_type: &HeaderValue) -> bool {
    let essence = content_type.as_bytes();
    let essence = essence
        .iter()
        .position(|&b| b == b';')
        .map_or(essence, |end| &essence[..end])
        .trim_ascii();
    let Some(subtype) = essence
        .get(..12)
        .filter(|kind| kind.eq_ignore_ascii_case(b"application/"))
        .map(|_| &essence[12..])
    else {
        return false;
    };
    subtype.eq_ignore_ascii_case(b"json")
        || subtype.len() > 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case(b"+json")
}

/// Applies [`Core`].
#[derive(Clone)]
pub(crate) struct CoreLayer(pub(crate) Arc<CoreSettings>);

impl<S> Layer<S> for CoreLayer {
    type Service = Core<S>;

    fn layer(&self, inner: S) -> Core<S> {
        Core {
            inner,
            settings: self.0.clone(),
        }
    }
}

/// See the module documentation.
#[derive(Clone)]
pub(crate) struct Core<S> {
    inner: S,
    settings: Arc<CoreSettings>,
}

impl<S> Service<Request<Body>> for Core<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = CoreFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let settings = self.settings.clone();

        let start = Instant::now();
        let request_id = settings.request_id.then(|| {
            let id = RequestId::from_request_or_new(request.headers_mut());
            request.extensions_mut().insert(id.clone());
            id
        });
        let client_ip = ClientIp::resolve(&request, &settings.trusted_proxies);
        if let Some(ip) = client_ip {
            request.extensions_mut().insert(ip);
        }
        let method = request.method().clone();
        let uri = request.uri().clone();

        let span = if settings.trace {
            tracing::info_span!(
                "request",
                method = %method,
                route = tracing::field::Empty,
                request_id = request_id.as_ref().map(RequestId::as_str),
                client_ip = client_ip.map(|ip| tracing::field::display(ip.0)),
            )
        } else {
            tracing::Span::none()
        };
        if let Some(metrics) = &settings.metrics {
            metrics.enter();
        }

        // Called inside the span, like the polls after it: routing and the handler run in
        // it. A panic on the way, when caught, is the 500 the future then renders.
        let called = {
            let _entered = span.enter();
            match settings.catch_panic {
                true => panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request))),
                false => Ok(self.inner.call(request)),
            }
        };
        let inner = match called {
            Ok(future) => Either::Left(future),
            Err(panic) => Either::Right(future::ready(Ok(panic_response(panic)))),
        };
        CoreFuture {
            inner: ROUTE.scope(RefCell::new(None), inner),
            rendering: None,
            answer: Answer {
                settings,
                start,
                request_id,
                method,
                uri,
                span,
                in_flight: true,
                route: None,
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Core`]: the inner service's, polled inside the request's span and
    /// route slot (and `catch_unwind` when `http.catch_panic` is on); then, if the answer
    /// is an error, its problem; then the finishing touches of [`Answer::finish`]. No
    /// allocation of its own, except for the rare error answers whose body must be read
    /// before it becomes a problem.
    pub(crate) struct CoreFuture<F> {
        #[pin]
        inner: TaskLocalFuture<RefCell<Option<MatchedPath>>, Either<F, Ready<Result<Response, Infallible>>>>,
        rendering: Option<Rendering>,
        answer: Answer,
    }
}

impl<F> Future for CoreFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let answer = this.answer;
        if let Some(rendering) = this.rendering {
            let response = std::task::ready!(rendering.as_mut().poll(cx));
            return Poll::Ready(Ok(answer.finish(response)));
        }
        let polled = {
            let _entered = answer.span.enter();
            match answer.settings.catch_panic {
                true => panic::catch_unwind(AssertUnwindSafe(|| this.inner.as_mut().poll(cx)))
                    .unwrap_or_else(|panic| Poll::Ready(Ok(panic_response(panic)))),
                false => this.inner.as_mut().poll(cx),
            }
        };
        let Ok(response) = std::task::ready!(polled);
        answer.route = this.inner.take_value().and_then(RefCell::into_inner);
        let status = response.status();
        if !status.is_client_error() && !status.is_server_error() {
            return Poll::Ready(Ok(answer.finish(response)));
        }
        match render_problem(response, answer) {
            Ok(problem) => Poll::Ready(Ok(answer.finish(problem))),
            Err(mut rendering) => {
                let polled = rendering.as_mut().poll(cx);
                *this.rendering = Some(rendering);
                let problem = std::task::ready!(polled);
                Poll::Ready(Ok(answer.finish(problem)))
            }
        }
    }
}

/// What [`CoreFuture`] keeps of the request to finish its answer.
struct Answer {
    settings: Arc<CoreSettings>,
    start: Instant,
    request_id: Option<RequestId>,
    method: Method,
    /// For a problem's `instance`.
    uri: Uri,
    span: tracing::Span,
    /// Whether the request still counts in the in-flight gauge; it leaves once answered,
    /// or when the future is dropped first (a client gone away).
    in_flight: bool,
    /// The matched route, once the inner service has answered.
    route: Option<MatchedPath>,
}

impl Drop for Answer {
    fn drop(&mut self) {
        self.leave();
    }
}

impl Answer {
    /// Takes the request out of the in-flight gauge, once.
    fn leave(&mut self) {
        if std::mem::take(&mut self.in_flight)
            && let Some(metrics) = &self.settings.metrics
        {
            metrics.leave();
        }
    }

    /// Adds the security headers the response does not set itself and the request id,
    /// records the metrics and logs one line.
    fn finish(&mut self, mut response: Response) -> Response {
        let settings = &*self.settings;
        let security = settings.security_headers.for_response(response.headers());
        let headers = response.headers_mut();
        // One growth of the map instead of several while the headers go in.
        headers.reserve(security.len() + 1);
        for (name, value) in security {
            headers.entry(name).or_insert_with(|| value.clone());
        }
        if let Some(id) = &self.request_id {
            headers.insert(super::REQUEST_ID_HEADER, id.header_value().clone());
        }

        let status = response.status().as_u16();
        let latency = self.start.elapsed();
        if let Some(metrics) = &settings.metrics {
            let route = self.route.as_ref().map_or("unmatched", |r| r.as_str());
            metrics.record(&self.method, route, status, latency);
        }
        if settings.trace {
            let latency_ms = latency.as_secs_f64() * 1000.0;
            if status >= 500 {
                tracing::warn!(parent: &self.span, status, latency_ms, "request answered");
            } else {
                tracing::info!(parent: &self.span, status, latency_ms, "request answered");
            }
        }
        self.leave();
        response
    }
}

/// Applies [`RouteTag`] to each route.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RouteTagLayer;

impl<S> Layer<S> for RouteTagLayer {
    type Service = RouteTag<S>;

    fn layer(&self, inner: S) -> RouteTag<S> {
        RouteTag(inner)
    }
}

tokio::task_local! {
    /// The matched route of the request [`Core`] is answering, set by [`RouteTag`].
    static ROUTE: RefCell<Option<MatchedPath>>;
}

/// Carries a route's [`MatchedPath`] out to [`Core`], which runs before routing: records
/// it as the span's `route` and in the request's task-local slot. Routing calls it while
/// polling, so inside the core's span and slot; without a core around it (a bare router),
/// it only passes the request on.
#[derive(Clone, Debug)]
pub(crate) struct RouteTag<S>(S);

impl<S, B> Service<Request<B>> for RouteTag<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if let Some(route) = request.extensions().get::<MatchedPath>() {
            tracing::Span::current().record("route", route.as_str());
            let _ = ROUTE.try_with(|slot| *slot.borrow_mut() = Some(route.clone()));
        }
        self.0.call(request)
    }
}

/// The 500 problem a panicking handler answers; the panic's message goes to the log only.
fn panic_response(panic: Box<dyn std::any::Any + Send>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string payload".to_owned());
    crate::Error::internal(std::io::Error::other(format!(
        "handler panicked: {message}"
    )))
    .into_response()
}

/// Largest body of a framework rejection read back as the problem's detail.
const MAX_DETAIL_BYTES: usize = 2048;

/// An error response rendered later, once its body has been read.
type Rendering = Pin<Box<dyn Future<Output = Response> + Send>>;

/// Renders an error response as a problem through the app's renderer, keeping its headers
/// (`Allow`, `Retry-After`, `WWW-Authenticate`, CORS, ...). Responses that already carry a
/// JSON (or any non-text) body of their own are left alone. An [`Error`](crate::Error)
/// renders at once; a bare framework rejection (`text/plain` or empty) first has its body
/// read as the detail, which is the future this returns instead.
fn render_problem(response: Response, answer: &Answer) -> Result<Response, Rendering> {
    let (mut head, body) = response.into_parts();
    let settings = &answer.settings;
    if let Some(parts) = head.extensions.remove::<ErrorParts>() {
        let status = match parts.kind {
            ErrorKind::Validation => settings.validation_status,
            kind => kind.status(),
        };
        let request_id = answer.request_id.as_ref();
        return Ok(problem(
            head,
            &parts,
            status,
            settings,
            answer.uri.path(),
            request_id,
        ));
    }
    if !is_bare(&head.headers) {
        return Ok(Response::from_parts(head, body));
    }
    let settings = settings.clone();
    let uri = answer.uri.clone();
    let request_id = answer.request_id.clone();
    Err(Box::pin(async move {
        let text = axum::body::to_bytes(body, MAX_DETAIL_BYTES)
            .await
            .ok()
            .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
            .filter(|text| !text.trim().is_empty());
        let detail = match head.status.is_client_error() {
            true => text.or_else(|| default_detail(head.status).map(str::to_owned)),
            // A 5xx never shows its text; the logs keep it.
            false => {
                tracing::error!(
                    status = head.status.as_u16(),
                    cause = text.as_deref(),
                    "request failed"
                );
                None
            }
        };
        let kind = ErrorKind::from_status(head.status);
        let parts = ErrorParts {
            kind,
            code: kind.code(),
            detail: detail.map(Into::into),
            errors: Arc::new([]),
        };
        let status = head.status;
        problem(
            head,
            &parts,
            status,
            &settings,
            uri.path(),
            request_id.as_ref(),
        )
    }))
}

/// The problem for `parts`, with the headers of the response it replaces.
fn problem(
    mut head: http::response::Parts,
    parts: &ErrorParts,
    status: StatusCode,
    settings: &CoreSettings,
    path: &str,
    request_id: Option<&RequestId>,
) -> Response {
    let problem = Problem::from_parts(parts, status, path, request_id.map(RequestId::as_str));
    let mut rendered = settings.renderer.render(&problem);
    head.headers.remove(header::CONTENT_TYPE);
    head.headers.remove(header::CONTENT_LENGTH);
    // Every 401 carries a challenge (RFC 9110 §15.5.2), whichever layer refused.
    if status == StatusCode::UNAUTHORIZED && !head.headers.contains_key(header::WWW_AUTHENTICATE) {
        head.headers
            .insert(header::WWW_AUTHENTICATE, crate::auth::challenge(parts.code));
    }
    // The renderer sets only the body's own headers, which were just removed from `head`.
    rendered.headers_mut().extend(head.headers);
    rendered
}

/// An error response with no body of its own worth keeping: empty or `text/plain`.
fn is_bare(headers: &HeaderMap) -> bool {
    match headers.get(header::CONTENT_TYPE) {
        None => true,
        Some(value) => value.as_bytes().starts_with(b"text/plain"),
    }
}

fn default_detail(status: StatusCode) -> Option<&'static str> {
    Some(match status {
        StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed here; see the Allow header",
        StatusCode::REQUEST_TIMEOUT => "the request took too long to answer",
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            "the request body's type or encoding is not supported"
        }
        StatusCode::NOT_FOUND => "no such resource",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types_are_told_from_the_others() {
        for json in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/problem+json",
            "application/vnd.api+json ; charset=utf-8",
        ] {
            assert!(is_json(&HeaderValue::from_static(json)), "{json}");
        }
        for other in [
            "text/html; charset=utf-8",
            "text/plain",
            "application/javascript",
            "application/jsonp",
            "application/+json",
            "application/xml; note=+json",
            "image/svg+xml",
            "json",
            "",
        ] {
            assert!(!is_json(&HeaderValue::from_static(other)), "{other}");
        }
    }
}
