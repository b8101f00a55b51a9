//! The default middleware stack, driven end to end through `TestApp`: security headers,
//! body limits, rate limiting, CORS, request ids, panics, problem documents, timeouts,
//! trusted proxies, load shedding, compression, metrics, health, custom renderers and logs.
#![allow(clippy::unwrap_used)]

use std::{io::Write, net::SocketAddr, time::Duration};

use axum::{
    body::Body,
    http::{HeaderMap, Method, Request, header},
    response::Response,
};
use flagstone::{
    App,
    config::{ConfigLoader, Profile},
    error::{ErrorKind, Problem, ProblemRenderer},
    http::{ClientIp, RateLimitLayer, RequestId},
    prelude::*,
    testing::{TestApp, TestResponse},
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A test-profile app with `env` as its only configuration source, the test routes under
/// `/api/v1`, and `customize` applied last.
fn app_with(env: &[(&str, &str)], customize: impl FnOnce(App) -> App) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigLoader::new()
        .profile(Profile::Test)
        .dir(dir.path())
        .env(env.iter().copied())
        .load()
        .unwrap();
    TestApp::new(customize(App::new(config).routes(routes())))
}

fn app(env: &[(&str, &str)]) -> TestApp {
    app_with(env, |app| app)
}

/// Large enough to be compressed and to exceed a 1 KiB body limit.
fn big_json() -> Value {
    json!({ "items": (0..200).map(|i| format!("item number {i}")).collect::<Vec<_>>() })
}

async fn panics() -> &'static str {
    panic!("the handler's secret panic message")
}

fn routes() -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/echo",
            post(|Json(body): Json<Value>| async move { Json(body) }),
        )
        .route("/panic", get(panics))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                "slow"
            }),
        )
        .route(
            "/internal",
            get(|| async {
                Err::<(), _>(Error::internal(std::io::Error::other("secret db detail")))
            }),
        )
        .route("/ip", get(|ip: ClientIp| async move { ip.0.to_string() }))
        .route(
            "/request-id",
            get(|id: RequestId, headers: HeaderMap| async move {
                Json(json!({
                    "id": id.as_str(),
                    "header": headers.get("x-request-id").map(|v| v.to_str().unwrap()),
                }))
            }),
        )
        .route(
            "/invalid",
            post(|| async {
                Err::<(), _>(Error::validation(vec![FieldError::new(
                    "email",
                    "email",
                    "must be an email address",
                )]))
            }),
        )
        .route(
            "/items/{id}",
            get(|Path(id): Path<u32>| async move { format!("item {id}") }),
        )
        .route("/big", get(|| async { Json(big_json()) }))
        .route("/json", get(|| async { Json(json!({ "hello": "world" })) }))
        .route(
            "/own-csp",
            get(|| async {
                (
                    [(header::CONTENT_SECURITY_POLICY, "default-src 'none'")],
                    "own",
                )
            }),
        )
}

fn peer(ip: &str) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), 40000)
}

fn request(
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body.into()).unwrap()
}

fn get_with(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    request(Method::GET, path, headers, Body::empty())
}

const JSON: (&str, &str) = ("content-type", "application/json");

/// Asserts `response` is a problem+json document of `status` and `code`; returns its body.
fn assert_problem(response: &TestResponse, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "body: {}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    let body = response.json();
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["type"], "about:blank", "{body}");
    assert!(body["title"].is_string(), "{body}");
    body
}

fn is_request_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The `retry-after` header in seconds.
fn retry_after(response: &TestResponse) -> u64 {
    response
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

const HELMET: &[(&str, Option<&str>)] = &[
    ("content-security-policy", None),
    ("cross-origin-opener-policy", Some("same-origin")),
    ("cross-origin-resource-policy", Some("same-origin")),
    ("origin-agent-cluster", Some("?1")),
    ("referrer-policy", Some("no-referrer")),
    ("x-content-type-options", Some("nosniff")),
    ("x-dns-prefetch-control", Some("off")),
    ("x-download-options", Some("noopen")),
    ("x-frame-options", Some("SAMEORIGIN")),
    ("x-permitted-cross-domain-policies", Some("none")),
    ("x-xss-protection", Some("0")),
];

/// What JSON responses get instead of [`HELMET`]: the headers that mean something to a
/// response no browser renders.
const API_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("cross-origin-resource-policy", "same-origin"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
];

/// The headers only documents (and redirects) read, left off JSON responses.
const DOCUMENT_ONLY: &[&str] = &[
    "cross-origin-opener-policy",
    "origin-agent-cluster",
    "referrer-policy",
    "x-dns-prefetch-control",
    "x-download-options",
    "x-permitted-cross-domain-policies",
    "x-xss-protection",
];

fn assert_api_headers(response: &TestResponse) {
    for (name, expected) in API_HEADERS {
        assert_eq!(
            response.header(name),
            Some(*expected),
            "{name} on {}",
            response.status()
        );
    }
    for name in DOCUMENT_ONLY {
        assert_eq!(
            response.header(name),
            None,
            "{name} on {}",
            response.status()
        );
    }
    assert_eq!(response.header("x-powered-by"), None);
}

fn assert_helmet(response: &TestResponse) {
    for (name, expected) in HELMET {
        let value = response.header(name);
        assert!(value.is_some(), "{name} missing on {}", response.status());
        if let Some(expected) = expected {
            assert_eq!(value, Some(*expected), "{name} on {}", response.status());
        }
    }
    assert_eq!(response.header("x-powered-by"), None);
}

fn access_control_headers(headers: &HeaderMap) -> Vec<String> {
    headers
        .keys()
        .map(|k| k.as_str().to_owned())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

// ---------------------------------------------------------------------------------------
// 1. Security headers
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn documents_get_helmets_headers() {
    let app = app(&[]);
    let text = app.get("/api/v1/hello").await;
    assert_eq!(text.status(), StatusCode::OK);
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_helmet(&text);
    assert_eq!(
        text.header("content-security-policy"),
        Some(flagstone::config::DEFAULT_CSP)
    );
    // Not in the test profile by default.
    assert_eq!(text.header("strict-transport-security"), None);
}

#[tokio::test]
async fn json_answers_and_problems_get_the_api_headers() {
    let app = app(&[]);
    let ok = app.get("/api/v1/json").await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.header("content-type"), Some("application/json"));
    assert_api_headers(&ok);
    for error in [
        app.get("/nope").await,
        app.get("/api/v1/internal").await,
        app.get("/api/v1/panic").await,
        app.post_json("/api/v1/invalid", &json!({})).await,
    ] {
        assert!(error.status().is_client_error() || error.status().is_server_error());
        assert_eq!(
            error.header("content-type"),
            Some("application/problem+json")
        );
        assert_api_headers(&error);
    }
    assert_api_headers(&app.get("/health/live").await);
}

#[tokio::test]
async fn hsts_is_sent_only_when_enabled() {
    let response = app(&[("FLAGSTONE_HTTP__HSTS", "true")])
        .get("/api/v1/hello")
        .await;
    assert_eq!(
        response.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains")
    );
    let response = app(&[("FLAGSTONE_HTTP__HSTS", "true")])
        .get("/api/v1/json")
        .await;
    assert_eq!(
        response.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains")
    );
    let response = app(&[("FLAGSTONE_HTTP__HSTS", "false")])
        .get("/api/v1/hello")
        .await;
    assert_eq!(response.header("strict-transport-security"), None);
}

#[tokio::test]
async fn security_headers_can_be_switched_off() {
    let app = app(&[
        ("FLAGSTONE_HTTP__SECURITY_HEADERS", "false"),
        ("FLAGSTONE_HTTP__HSTS", "true"),
    ]);
    for response in [app.get("/api/v1/hello").await, app.get("/nope").await] {
        for name in HELMET.iter().map(|(name, _)| name).chain(DOCUMENT_ONLY) {
            assert_eq!(response.header(name), None, "{name}");
        }
        assert_eq!(response.header("strict-transport-security"), None);
    }
}

#[tokio::test]
async fn a_response_keeps_its_own_content_security_policy() {
    let response = app(&[]).get("/api/v1/own-csp").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.header("content-security-policy"),
        Some("default-src 'none'")
    );
    assert_eq!(
        response
            .headers()
            .get_all("content-security-policy")
            .iter()
            .count(),
        1
    );
    assert_eq!(response.header("x-frame-options"), Some("SAMEORIGIN"));
}

// ---------------------------------------------------------------------------------------
// 2. Body limit
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_413() {
    let app = app(&[("FLAGSTONE_SERVER__BODY_LIMIT", "1KiB")]);
    let big = serde_json::to_vec(&big_json()).unwrap();
    assert!(big.len() > 1024);

    let length = big.len().to_string();
    let declared = request(
        Method::POST,
        "/api/v1/echo",
        &[JSON, ("content-length", &length)],
        big.clone(),
    );
    assert_problem(
        &app.send(declared).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );

    // No Content-Length and no size hint: the limit is enforced while reading.
    let streamed = Body::from_stream(Body::from(big).into_data_stream());
    let streamed = request(Method::POST, "/api/v1/echo", &[JSON], streamed);
    assert_problem(
        &app.send(streamed).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );

    let small = app
        .post_json("/api/v1/echo", &json!({ "small": true }))
        .await;
    assert_eq!(small.status(), StatusCode::OK, "{}", small.text());
    assert_eq!(small.json(), json!({ "small": true }));
}

// ---------------------------------------------------------------------------------------
// 3. Rate limit
// ---------------------------------------------------------------------------------------

const THREE_PER_MINUTE: &[(&str, &str)] = &[
    ("FLAGSTONE_RATE_LIMIT__REQUESTS", "3"),
    ("FLAGSTONE_RATE_LIMIT__PERIOD", "1m"),
];

/// The `remaining` of a `ratelimit` header such as `limit=3, remaining=2, reset=20`.
fn remaining(response: &TestResponse) -> u32 {
    let value = response.header("ratelimit").expect("a ratelimit header");
    let remaining = value
        .split(',')
        .find_map(|part| part.trim().strip_prefix("remaining="));
    remaining
        .unwrap_or_else(|| panic!("no remaining in {value:?}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_request_over_the_budget_gets_429() {
    let app = app(THREE_PER_MINUTE);
    for expected in [2, 1, 0] {
        let response = app.get("/api/v1/hello").await;
        assert_eq!(response.status(), StatusCode::OK);
        let value = response.header("ratelimit").unwrap();
        assert!(
            value.starts_with(&format!("limit=3, remaining={expected}, reset=")),
            "{value}"
        );
        assert_eq!(response.header("ratelimit-policy"), Some("3;w=60"));
    }
    let refused = app.get("/api/v1/hello").await;
    assert_problem(&refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(retry_after(&refused) >= 1);
    assert_eq!(remaining(&refused), 0);
    assert_eq!(refused.header("ratelimit-policy"), Some("3;w=60"));
}

#[tokio::test]
async fn health_and_metrics_are_never_throttled() {
    let app = app(THREE_PER_MINUTE);
    for _ in 0..4 {
        app.get("/api/v1/hello").await;
    }
    assert_eq!(
        app.get("/api/v1/hello").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    for path in ["/health/live", "/health/ready", "/metrics", "/health/live"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.header("ratelimit").is_none(), "{path}");
    }
}

#[tokio::test]
async fn each_client_ip_has_its_own_budget() {
    let app = app(THREE_PER_MINUTE);
    for _ in 0..3 {
        assert_eq!(
            app.send_from(peer("203.0.113.1"), get_with("/api/v1/hello", &[]))
                .await
                .status(),
            StatusCode::OK
        );
    }
    let refused = app
        .send_from(peer("203.0.113.1"), get_with("/api/v1/hello", &[]))
        .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let other = app
        .send_from(peer("203.0.113.2"), get_with("/api/v1/hello", &[]))
        .await;
    assert_eq!(other.status(), StatusCode::OK);
    assert_eq!(remaining(&other), 2);
}

#[tokio::test]
async fn a_route_group_can_have_a_stricter_budget() {
    let strict = Router::new()
        .route("/login", post(|| async { "token" }))
        .layer(RateLimitLayer::new(2, Duration::from_secs(60)));
    let app = app_with(&[], |app| app.routes(strict));
    let login = || request(Method::POST, "/api/v1/login", &[], Body::empty());

    for expected in [1, 0] {
        let response = app.send(login()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.header("ratelimit-policy"), Some("2;w=60"));
        assert_eq!(remaining(&response), expected);
    }
    let refused = app.send(login()).await;
    assert_problem(&refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(retry_after(&refused) >= 1);
    // The headers describe the budget that refused the request.
    assert_eq!(refused.header("ratelimit-policy"), Some("2;w=60"));
    assert_eq!(remaining(&refused), 0);

    // Other routes only answer to the (much larger) global budget.
    for _ in 0..5 {
        let response = app.get("/api/v1/hello").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.header("ratelimit-policy"), Some("600;w=60"));
    }
}

#[tokio::test]
async fn rate_limiting_can_be_switched_off() {
    let app = app(&[
        THREE_PER_MINUTE,
        &[("FLAGSTONE_RATE_LIMIT__ENABLED", "false")],
    ]
    .concat());
    for _ in 0..5 {
        let response = app.get("/api/v1/hello").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.header("ratelimit"), None);
        assert_eq!(response.header("ratelimit-policy"), None);
    }
}

// ---------------------------------------------------------------------------------------
// 4. CORS
// ---------------------------------------------------------------------------------------

const ALLOWED: &str = "https://app.example.com";

#[tokio::test]
async fn cors_answers_allowed_origins_only() {
    let app = app(&[("FLAGSTONE_CORS__ALLOWED_ORIGINS", ALLOWED)]);
    let allowed = app
        .send(get_with("/api/v1/hello", &[("origin", ALLOWED)]))
        .await;
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(allowed.header("access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(allowed.header("access-control-allow-credentials"), None);

    let denied = app
        .send(get_with(
            "/api/v1/hello",
            &[("origin", "https://evil.example.com")],
        ))
        .await;
    assert_eq!(denied.header("access-control-allow-origin"), None);

    // Error responses carry CORS headers too, so browsers can read the problem.
    let missing = app.send(get_with("/nope", &[("origin", ALLOWED)])).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.header("access-control-allow-origin"), Some(ALLOWED));
}

#[tokio::test]
async fn cors_preflight_is_answered_for_allowed_origins() {
    let app = app(&[("FLAGSTONE_CORS__ALLOWED_ORIGINS", ALLOWED)]);
    let preflight = request(
        Method::OPTIONS,
        "/api/v1/echo",
        &[
            ("origin", ALLOWED),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type"),
        ],
        Body::empty(),
    );
    let response = app.send(preflight).await;
    assert!(
        response.status().is_success(),
        "{}: {}",
        response.status(),
        response.text()
    );
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some(ALLOWED)
    );
    let methods = response
        .header("access-control-allow-methods")
        .expect("allow-methods");
    assert!(methods.contains("POST"), "{methods}");
    assert!(
        response
            .header("access-control-allow-headers")
            .unwrap()
            .contains("content-type")
    );
}

#[tokio::test]
async fn no_cors_headers_without_configured_origins() {
    let app = app(&[]);
    let simple = app
        .send(get_with("/api/v1/hello", &[("origin", ALLOWED)]))
        .await;
    assert_eq!(
        access_control_headers(simple.headers()),
        Vec::<String>::new()
    );
    let preflight = request(
        Method::OPTIONS,
        "/api/v1/echo",
        &[
            ("origin", ALLOWED),
            ("access-control-request-method", "POST"),
        ],
        Body::empty(),
    );
    let preflight = app.send(preflight).await;
    assert_eq!(
        access_control_headers(preflight.headers()),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn cors_credentials_are_allowed_when_configured() {
    let app = app(&[
        ("FLAGSTONE_CORS__ALLOWED_ORIGINS", ALLOWED),
        ("FLAGSTONE_CORS__ALLOW_CREDENTIALS", "true"),
    ]);
    let response = app
        .send(get_with("/api/v1/hello", &[("origin", ALLOWED)]))
        .await;
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some(ALLOWED)
    );
    assert_eq!(
        response.header("access-control-allow-credentials"),
        Some("true")
    );
}

// ---------------------------------------------------------------------------------------
// 5. Request id
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_well_formed_request_id_is_echoed_and_reported_in_problems() {
    let app = app(&[]);
    let id = "req-123_abc.def:1/2+3=";
    let ok = app
        .send(get_with("/api/v1/hello", &[("x-request-id", id)]))
        .await;
    assert_eq!(ok.header("x-request-id"), Some(id));
    let missing = app.send(get_with("/nope", &[("x-request-id", id)])).await;
    assert_eq!(missing.header("x-request-id"), Some(id));
    assert_eq!(
        assert_problem(&missing, StatusCode::NOT_FOUND, "not_found")["request_id"],
        id
    );
}

#[tokio::test]
async fn a_malformed_request_id_is_replaced() {
    let app = app(&[]);
    let too_long = "x".repeat(129);
    for bad in [too_long.as_str(), "has space"] {
        let response = app.send(get_with("/nope", &[("x-request-id", bad)])).await;
        let id = response.header("x-request-id").unwrap();
        assert!(is_request_id(id), "{bad:?} was replaced by {id:?}");
        assert_eq!(response.json()["request_id"], id);
    }
}

#[tokio::test]
async fn handlers_get_the_id_and_never_a_malformed_header() {
    let app = app(&[]);
    let echoed = |response: &TestResponse| response.header("x-request-id").unwrap().to_owned();

    let given = app
        .send(get_with("/api/v1/request-id", &[("x-request-id", "abc-1")]))
        .await;
    assert_eq!(given.json(), json!({ "id": "abc-1", "header": "abc-1" }));

    let generated = app.get("/api/v1/request-id").await;
    assert_eq!(
        generated.json(),
        json!({ "id": echoed(&generated), "header": null })
    );

    let malformed = app
        .send(get_with("/api/v1/request-id", &[("x-request-id", "a\"b")]))
        .await;
    assert!(is_request_id(&echoed(&malformed)));
    assert_eq!(
        malformed.json(),
        json!({ "id": echoed(&malformed), "header": null })
    );
}

#[tokio::test]
async fn request_ids_are_generated_unique_and_hex() {
    let app = app(&[]);
    let mut ids = Vec::new();
    for _ in 0..5 {
        let id = app
            .get("/api/v1/hello")
            .await
            .header("x-request-id")
            .unwrap()
            .to_owned();
        assert!(is_request_id(&id), "{id}");
        assert!(!ids.contains(&id), "{id} repeated");
        ids.push(id);
    }
}

// ---------------------------------------------------------------------------------------
// 6. Panics
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_panicking_handler_answers_500_and_the_app_keeps_serving() {
    let app = app(&[]);
    let response = app.get("/api/v1/panic").await;
    let body = assert_problem(&response, StatusCode::INTERNAL_SERVER_ERROR, "internal");
    assert!(!response.text().contains("secret panic message"), "{body}");
    assert!(!response.text().contains("panicked"), "{body}");
    assert_eq!(body.get("detail"), None);
    assert_eq!(app.get("/api/v1/hello").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_panic_after_an_await_is_a_500_counted_under_its_route() {
    let late = Router::new().route(
        "/late/{n}",
        get(|| async {
            tokio::task::yield_now().await;
            if std::hint::black_box(true) {
                panic!("the handler's late secret");
            }
            "never"
        }),
    );
    let app = app_with(&[], |app| app.routes(late));
    for _ in 0..2 {
        let response = app.get("/api/v1/late/7").await;
        let body = assert_problem(&response, StatusCode::INTERNAL_SERVER_ERROR, "internal");
        assert!(!response.text().contains("late secret"), "{body}");
        assert_eq!(body["instance"], "/api/v1/late/7");
        assert!(response.header("x-request-id").is_some());
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    }
    let text = app.get("/metrics").await.text();
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/api/v1/late/{n}",status="500"} 2"#
        ),
        "{text}"
    );
    assert!(text.contains("http_requests_in_flight 1"), "{text}");
}

// ---------------------------------------------------------------------------------------
// 7. Problem shapes
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_routes_are_404_problems_with_every_member() {
    let response = app(&[]).get("/api/v1/nothing-here").await;
    let body = assert_problem(&response, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(body["title"], "Not Found");
    assert_eq!(body["instance"], "/api/v1/nothing-here");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("/api/v1/nothing-here"),
        "{body}"
    );
    assert!(
        is_request_id(body["request_id"].as_str().unwrap()),
        "{body}"
    );
    assert_eq!(body["request_id"], response.header("x-request-id").unwrap());
}

#[tokio::test]
async fn wrong_methods_are_405_problems_keeping_allow() {
    let response = app(&[])
        .send(request(Method::DELETE, "/api/v1/hello", &[], Body::empty()))
        .await;
    let body = assert_problem(
        &response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    assert_eq!(body["instance"], "/api/v1/hello");
    let allow = response.header("allow").expect("an Allow header");
    assert!(allow.contains("GET"), "{allow}");
}

#[tokio::test]
async fn json_rejections_are_problems() {
    let app = app(&[]);
    let wrong_type = request(
        Method::POST,
        "/api/v1/echo",
        &[("content-type", "text/plain")],
        "{}",
    );
    let body = assert_problem(
        &app.send(wrong_type).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    assert!(body["detail"].is_string(), "{body}");

    let malformed = request(Method::POST, "/api/v1/echo", &[JSON], "{not json");
    let body = assert_problem(
        &app.send(malformed).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert!(body["detail"].is_string(), "{body}");
    assert_eq!(body["instance"], "/api/v1/echo");
}

#[tokio::test]
async fn typed_path_failures_are_400_problems() {
    let app = app(&[]);
    assert_eq!(app.get("/api/v1/items/7").await.text(), "item 7");
    let body = assert_problem(
        &app.get("/api/v1/items/abc").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert_eq!(body["instance"], "/api/v1/items/abc");
}

#[tokio::test]
async fn validation_errors_list_every_field() {
    let invalid = || request(Method::POST, "/api/v1/invalid", &[], Body::empty());
    let response = app(&[]).send(invalid()).await;
    let body = assert_problem(&response, StatusCode::BAD_REQUEST, "validation_failed");
    assert_eq!(
        body["errors"],
        json!([{ "field": "email", "code": "email", "message": "must be an email address" }])
    );

    let response = app(&[("FLAGSTONE_API__VALIDATION_STATUS", "422")])
        .send(invalid())
        .await;
    let body = assert_problem(
        &response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(body["errors"][0]["field"], "email");
}

#[tokio::test]
async fn internal_errors_never_show_their_cause() {
    let response = app(&[]).get("/api/v1/internal").await;
    let body = assert_problem(&response, StatusCode::INTERNAL_SERVER_ERROR, "internal");
    assert!(!response.text().contains("secret db detail"), "{body}");
    assert_eq!(body["instance"], "/api/v1/internal");
}

// ---------------------------------------------------------------------------------------
// 8. Timeout
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn slow_requests_time_out_with_408() {
    let app = app(&[("FLAGSTONE_SERVER__REQUEST_TIMEOUT", "50ms")]);
    let body = assert_problem(
        &app.get("/api/v1/slow").await,
        StatusCode::REQUEST_TIMEOUT,
        "timeout",
    );
    assert_eq!(body["instance"], "/api/v1/slow");
    assert_eq!(app.get("/api/v1/hello").await.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------
// 9. Trusted proxies
// ---------------------------------------------------------------------------------------

const TRUSTED: (&str, &str) = ("FLAGSTONE_TRUSTED_PROXIES", "10.0.0.0/8");

async fn client_ip(app: &TestApp, from: &str, forwarded_for: &str) -> String {
    app.send_from(
        peer(from),
        get_with("/api/v1/ip", &[("x-forwarded-for", forwarded_for)]),
    )
    .await
    .text()
}

#[tokio::test]
async fn forwarded_for_is_believed_from_trusted_proxies_only() {
    let app = app(&[TRUSTED]);
    assert_eq!(
        client_ip(&app, "203.0.113.9", "198.51.100.7").await,
        "203.0.113.9"
    );
    assert_eq!(
        client_ip(&app, "10.1.2.3", "198.51.100.7").await,
        "198.51.100.7"
    );
    // Without trusted proxies, the header is never believed.
    assert_eq!(
        client_ip(&self::app(&[]), "10.1.2.3", "198.51.100.7").await,
        "10.1.2.3"
    );
}

#[tokio::test]
async fn rate_limit_budgets_follow_the_resolved_client_ip() {
    let app = app(&[THREE_PER_MINUTE, &[TRUSTED]].concat());
    let send = |from: &'static str, client: &'static str| {
        let app = app.clone();
        async move {
            app.send_from(
                peer(from),
                get_with("/api/v1/hello", &[("x-forwarded-for", client)]),
            )
            .await
        }
    };
    // Two clients behind one proxy: separate budgets.
    for _ in 0..3 {
        assert_eq!(
            send("10.0.0.2", "198.51.100.1").await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        send("10.0.0.2", "198.51.100.1").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        send("10.0.0.2", "198.51.100.2").await.status(),
        StatusCode::OK
    );
    // An untrusted peer cannot escape its budget by varying the header.
    for client in ["1.1.1.1", "2.2.2.2", "3.3.3.3"] {
        assert_eq!(send("203.0.113.5", client).await.status(), StatusCode::OK);
    }
    assert_eq!(
        send("203.0.113.5", "4.4.4.4").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

// ---------------------------------------------------------------------------------------
// 10. Load shedding
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn requests_past_max_concurrency_are_shed_with_503() {
    let app = app(&[("FLAGSTONE_SERVER__MAX_CONCURRENCY", "1")]);
    let slow = tokio::spawn({
        let app = app.clone();
        async move { app.get("/api/v1/slow").await }
    });
    // Let the slow request reach its handler.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!slow.is_finished());

    let shed = app.get("/api/v1/hello").await;
    assert_problem(&shed, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert!(retry_after(&shed) >= 1);

    assert_eq!(slow.await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.get("/api/v1/hello").await.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------
// 11. Compression
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn large_responses_are_gzipped_when_accepted() {
    let app = app(&[]);
    let raw = serde_json::to_vec(&big_json()).unwrap();
    let plain = app.get("/api/v1/big").await;
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.bytes().as_ref(), raw.as_slice());
    // Not compressed, but it could have been: caches must keep the variants apart.
    assert_eq!(plain.header("vary"), Some("accept-encoding"));
    // Too small to be worth compressing either way: nothing varies.
    assert_eq!(app.get("/api/v1/hello").await.header("vary"), None);
    for declined in ["identity", "gzip;q=0", "deflate"] {
        let response = app
            .send(get_with("/api/v1/big", &[("accept-encoding", declined)]))
            .await;
        assert_eq!(response.header("content-encoding"), None, "{declined}");
        assert_eq!(
            response.header("vary"),
            Some("accept-encoding"),
            "{declined}"
        );
        assert_eq!(response.bytes().as_ref(), raw.as_slice(), "{declined}");
    }
    let brotli = app
        .send(get_with("/api/v1/big", &[("accept-encoding", "BR")]))
        .await;
    assert_eq!(brotli.header("content-encoding"), Some("br"));

    let gzipped = app
        .send(get_with("/api/v1/big", &[("accept-encoding", "gzip")]))
        .await;
    assert_eq!(gzipped.status(), StatusCode::OK);
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    assert_eq!(gzipped.header("vary"), Some("accept-encoding"));
    assert!(gzipped.bytes().len() < raw.len());
    let mut decoded = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(gzipped.bytes().as_ref()),
        &mut decoded,
    )
    .unwrap();
    assert_eq!(decoded, raw);

    let off = self::app(&[("FLAGSTONE_HTTP__COMPRESSION", "false")]);
    let response = off
        .send(get_with("/api/v1/big", &[("accept-encoding", "gzip")]))
        .await;
    assert_eq!(response.header("content-encoding"), None);
}

#[tokio::test]
async fn gzip_request_bodies_are_decompressed_within_the_body_limit() {
    let app = app(&[("FLAGSTONE_SERVER__BODY_LIMIT", "1KiB")]);
    let gzip_post = |json: &Value| {
        let body = gzip(&serde_json::to_vec(json).unwrap());
        let length = body.len().to_string();
        request(
            Method::POST,
            "/api/v1/echo",
            &[
                JSON,
                ("content-encoding", "gzip"),
                ("content-length", &length),
            ],
            body,
        )
    };
    let small = json!({ "compressed": true });
    let response = app.send(gzip_post(&small)).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
    assert_eq!(response.json(), small);

    // An encoding the server cannot undo is refused, not read as JSON.
    let unknown = request(
        Method::POST,
        "/api/v1/echo",
        &[JSON, ("content-encoding", "x-unknown")],
        serde_json::to_vec(&small).unwrap(),
    );
    let response = app.send(unknown).await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Small on the wire, over the limit once inflated.
    let bomb = json!({ "padding": "a".repeat(64 * 1024) });
    let request = gzip_post(&bomb);
    let response = app.send(request).await;
    assert_problem(
        &response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
}

// ---------------------------------------------------------------------------------------
// 12. Metrics
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = app(&[]);
    for id in [1, 2, 3] {
        assert_eq!(
            app.get(&format!("/api/v1/items/{id}")).await.status(),
            StatusCode::OK
        );
    }
    app.get("/nope").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text();
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/api/v1/items/{id}",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="unmatched",status="404"} 1"#),
        "{text}"
    );
    assert!(!text.contains("/api/v1/items/1"), "{text}");
    assert!(text.contains("http_requests_in_flight"), "{text}");
}

#[tokio::test]
async fn requests_given_up_on_leave_the_in_flight_gauge() {
    let app = app(&[]);
    let slow = tokio::time::timeout(Duration::from_millis(50), app.get("/api/v1/slow")).await;
    assert!(slow.is_err(), "the slow route answered within 50 ms");
    // Only the request for the metrics themselves is in flight.
    let text = app.get("/metrics").await.text();
    assert!(text.contains("http_requests_in_flight 1\n"), "{text}");
}

#[tokio::test]
async fn metrics_can_be_switched_off() {
    let app = app(&[("FLAGSTONE_METRICS__ENABLED", "false")]);
    assert_problem(
        &app.get("/metrics").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}

// ---------------------------------------------------------------------------------------
// 13. Health
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn health_endpoints_report_liveness_and_readiness() {
    let app = app(&[]);
    assert_eq!(app.get("/health/live").await.status(), StatusCode::OK);
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.json()["status"], "ready");
}

#[tokio::test]
async fn a_failing_readiness_check_answers_503_naming_it() {
    let app = app_with(&[], |app| {
        app.readiness_check("cache", || async { Ok(()) })
            .readiness_check("db", || async { Err("down".to_string()) })
    });
    assert_eq!(app.get("/health/live").await.status(), StatusCode::OK);
    let response = app.get("/health/ready").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.header("retry-after").is_some());
    let body = response.json();
    assert_eq!(body["status"], "unavailable");
    let checks = body["checks"].as_array().unwrap();
    assert!(
        checks.contains(&json!({ "name": "db", "status": "down", "error": "down" })),
        "{body}"
    );
    assert!(
        checks.contains(&json!({ "name": "cache", "status": "up" })),
        "{body}"
    );
}

// ---------------------------------------------------------------------------------------
// 14. Custom problem renderer
// ---------------------------------------------------------------------------------------

/// `{"errors": {"body": [...]}}`, with validation failures as 422.
struct ErrorsBody;

impl ProblemRenderer for ErrorsBody {
    fn render(&self, problem: &Problem<'_>) -> Response {
        let mut messages: Vec<String> = problem
            .errors
            .iter()
            .map(|e| format!("{} {}", e.field, e.message))
            .collect();
        if messages.is_empty() {
            messages.push(problem.detail.unwrap_or(problem.title()).to_owned());
        }
        let status = if problem.kind == ErrorKind::Validation {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            problem.status
        };
        (status, Json(json!({ "errors": { "body": messages } }))).into_response()
    }
}

#[tokio::test]
async fn a_custom_problem_renderer_shapes_every_error() {
    let app = app_with(&[], |app| app.problem_renderer(ErrorsBody));
    let response = app
        .send(request(Method::POST, "/api/v1/invalid", &[], Body::empty()))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(
        response.json(),
        json!({ "errors": { "body": ["email must be an email address"] } })
    );

    let missing = app.get("/nope").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json(),
        json!({ "errors": { "body": ["no route for GET /nope"] } })
    );
    assert!(missing.header("x-request-id").is_some());
    assert_eq!(missing.header("x-content-type-options"), Some("nosniff"));

    let internal = app.get("/api/v1/internal").await;
    assert_eq!(internal.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        internal.json(),
        json!({ "errors": { "body": ["Internal Server Error"] } })
    );
}

// ---------------------------------------------------------------------------------------
// 15. Logs
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "current_thread")]
async fn logs_never_contain_credentials() {
    let logs = flagstone::testing::LogCapture::start();

    let app = app(&[("FLAGSTONE_HTTP__TRACE", "true")]);
    let secrets = [
        ("authorization", "Bearer super-secret-token"),
        ("cookie", "sid=cookie-secret"),
    ];
    for (path, id, status) in [
        ("/api/v1/hello", "log-ok-1", StatusCode::OK),
        (
            "/api/v1/internal",
            "log-500-1",
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        ("/nope", "log-404-1", StatusCode::NOT_FOUND),
    ] {
        let headers = [secrets[0], secrets[1], ("x-request-id", id)];
        assert_eq!(app.send(get_with(path, &headers)).await.status(), status);
    }

    let logs = logs.contents();
    for id in ["log-ok-1", "log-500-1", "log-404-1"] {
        assert!(logs.contains(id), "request id {id} not logged:\n{logs}");
    }
    // The cause of a 500 is for the logs.
    assert!(logs.contains("secret db detail"), "{logs}");
    for secret in ["super-secret-token", "cookie-secret", "Bearer"] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}

#[tokio::test]
async fn shared_state_reaches_routes_added_before_and_after_it() {
    #[derive(Clone)]
    struct Word(&'static str);
    async fn say(
        flagstone::axum::Extension(word): flagstone::axum::Extension<Word>,
    ) -> &'static str {
        word.0
    }
    let app = app_with(&[], |app| {
        app.routes(Router::new().route("/before", get(say)))
            .state(Word("shared"))
            .routes(Router::new().route("/after", get(say)))
            .root_routes(Router::new().route("/root", get(say)))
    });
    for path in ["/api/v1/before", "/api/v1/after", "/root"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.text(), "shared");
    }

    // A second value of the same type replaces the first.
    let app = app_with(&[], |app| {
        app.state(Word("first"))
            .routes(Router::new().route("/say", get(say)))
            .state(Word("second"))
    });
    assert_eq!(app.get("/api/v1/say").await.text(), "second");
}
