//! The outbound HTTP client against a real HTTP server on loopback (axum, in the test):
//! timeouts, retries of idempotent calls only, bursts of 5xx, `Retry-After`, and the
//! circuit breaker opening, failing fast and closing again.

#![cfg(feature = "http-client")]
#![allow(clippy::unwrap_used)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::State,
    http::StatusCode,
    response::IntoResponse,
    routing::{get, post},
};
use flagstone::{
    ErrorKind,
    http_client::{ClientError, HttpClient},
};

/// Requests seen per route, and how many of the first ones fail.
#[derive(Clone, Default)]
struct Counters {
    flaky: Arc<AtomicUsize>,
    down: Arc<AtomicUsize>,
    slow: Arc<AtomicUsize>,
    post: Arc<AtomicUsize>,
    limited: Arc<AtomicUsize>,
    fail_first: Arc<AtomicUsize>,
}

async fn server() -> (String, Counters, tokio::task::JoinHandle<()>) {
    let counters = Counters::default();
    let app = Router::new()
        .route("/ok", get(|| async { "fine" }))
        .route(
            "/flaky",
            get(|State(c): State<Counters>| async move {
                let n = c.flaky.fetch_add(1, Ordering::SeqCst);
                match n < c.fail_first.load(Ordering::SeqCst) {
                    true => (StatusCode::SERVICE_UNAVAILABLE, "burst").into_response(),
                    false => "recovered".into_response(),
                }
            }),
        )
        .route(
            "/down",
            get(|State(c): State<Counters>| async move {
                c.down.fetch_add(1, Ordering::SeqCst);
                (StatusCode::INTERNAL_SERVER_ERROR, "down")
            }),
        )
        .route(
            "/slow",
            get(|State(c): State<Counters>| async move {
                c.slow.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/charge",
            post(|State(c): State<Counters>| async move {
                c.post.fetch_add(1, Ordering::SeqCst);
                (StatusCode::BAD_GATEWAY, "upstream of upstream")
            }),
        )
        .route(
            "/limited",
            get(|State(c): State<Counters>| async move {
                match c.limited.fetch_add(1, Ordering::SeqCst) {
                    0 => (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", "1")],
                        "wait",
                    )
                        .into_response(),
                    _ => "ok now".into_response(),
                }
            }),
        )
        .with_state(counters.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (base, counters, task)
}

fn client() -> flagstone::http_client::HttpClientBuilder {
    HttpClient::builder("test-service")
        .timeout(Duration::from_millis(300))
        .connect_timeout(Duration::from_millis(300))
        .backoff(Duration::from_millis(10), Duration::from_millis(50))
}

#[tokio::test]
async fn a_healthy_call_answers() {
    let (base, _, _server) = server().await;
    let http = client().build().unwrap();
    let response = http.send(http.get(format!("{base}/ok"))).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "fine");
}

#[tokio::test]
async fn a_burst_of_5xx_is_retried_with_backoff_until_it_passes() {
    let (base, counters, _server) = server().await;
    counters.fail_first.store(2, Ordering::SeqCst);
    let http = client().retries(3).build().unwrap();
    let response = http.send(http.get(format!("{base}/flaky"))).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "recovered");
    assert_eq!(
        counters.flaky.load(Ordering::SeqCst),
        3,
        "two failures, then success"
    );
    assert!(!http.is_circuit_open());
}

#[tokio::test]
async fn retries_stop_at_the_limit_and_the_last_answer_is_returned() {
    let (base, counters, _server) = server().await;
    counters.fail_first.store(100, Ordering::SeqCst);
    let http = client().retries(2).build().unwrap();
    let response = http.send(http.get(format!("{base}/flaky"))).await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        counters.flaky.load(Ordering::SeqCst),
        3,
        "one call and two retries"
    );
}

#[tokio::test]
async fn non_idempotent_calls_are_not_retried_unless_they_carry_a_key() {
    let (base, counters, _server) = server().await;
    let http = client().retries(3).build().unwrap();
    let response = http
        .send(http.post(format!("{base}/charge")))
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    assert_eq!(
        counters.post.load(Ordering::SeqCst),
        1,
        "a POST goes out once"
    );
    let keyed = http
        .post(format!("{base}/charge"))
        .header("idempotency-key", "charge-42");
    assert_eq!(http.send(keyed).await.unwrap().status(), 502);
    assert_eq!(counters.post.load(Ordering::SeqCst), 5, "1 + 4 with a key");
}

#[tokio::test]
async fn each_attempt_times_out_and_the_error_is_a_503_problem() {
    let (base, counters, _server) = server().await;
    let http = client().retries(1).build().unwrap();
    let started = Instant::now();
    let error = http
        .send(http.get(format!("{base}/slow")))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(error, ClientError::Timeout { .. }), "{error}");
    assert_eq!(counters.slow.load(Ordering::SeqCst), 2, "timed out twice");
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(3),
        "did not wait for the server: {elapsed:?}"
    );
    let problem = flagstone::Error::from(error);
    assert_eq!(problem.kind(), ErrorKind::Unavailable);
    assert_eq!(problem.code(), "upstream_timeout");
}

#[tokio::test]
async fn retry_after_is_honoured_within_the_cap() {
    let (base, counters, _server) = server().await;
    let http = client()
        .backoff(Duration::from_millis(10), Duration::from_millis(400))
        .build()
        .unwrap();
    let started = Instant::now();
    let response = http
        .send(http.get(format!("{base}/limited")))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(counters.limited.load(Ordering::SeqCst), 2);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(400),
        "Retry-After: 1 capped at 400ms: {waited:?}"
    );
}

#[tokio::test]
async fn a_dead_remote_opens_the_breaker_which_fails_fast_then_probes() {
    let (base, counters, server) = server().await;
    let http = client()
        .retries(1)
        .circuit_breaker(4, Duration::from_millis(300))
        .build()
        .unwrap();
    // Two calls of two attempts each: four failures in a row open the breaker.
    for _ in 0..2 {
        let response = http.send(http.get(format!("{base}/down"))).await.unwrap();
        assert_eq!(response.status(), 500);
    }
    assert_eq!(counters.down.load(Ordering::SeqCst), 4);
    assert!(http.is_circuit_open());

    // Open: no request reaches the server, and the answer is immediate.
    let started = Instant::now();
    for _ in 0..20 {
        let error = http
            .send(http.get(format!("{base}/down")))
            .await
            .unwrap_err();
        assert!(matches!(error, ClientError::CircuitOpen { .. }), "{error}");
    }
    assert!(started.elapsed() < Duration::from_millis(200));
    assert_eq!(
        counters.down.load(Ordering::SeqCst),
        4,
        "the dead remote is left alone"
    );
    let problem =
        flagstone::Error::from(http.send(http.get(format!("{base}/ok"))).await.unwrap_err());
    assert_eq!(problem.code(), "upstream_circuit_open");
    assert!(problem.retry_after().is_some());

    // After the cooldown one probe goes out; a healthy answer closes the breaker.
    tokio::time::sleep(Duration::from_millis(350)).await;
    let response = http.send(http.get(format!("{base}/ok"))).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(!http.is_circuit_open());

    // A remote that stops listening: connection errors count too.
    server.abort();
    let _ = server.await;
    for _ in 0..2 {
        let error = http.send(http.get(format!("{base}/ok"))).await.unwrap_err();
        assert!(
            matches!(
                error,
                ClientError::Request { .. } | ClientError::Timeout { .. }
            ),
            "{error}"
        );
    }
    assert!(http.is_circuit_open());
}
