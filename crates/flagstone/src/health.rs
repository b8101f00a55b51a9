//! Liveness and readiness, served outside the API prefix.
//!
//! * `GET /health/live` answers 200 while the process serves requests.
//! * `GET /health/ready` runs every registered check at once (each bounded by a timeout)
//!   and answers 200 when all pass, or 503 with `Retry-After` naming the failing ones:
//!
//! ```json
//! {"status": "unavailable", "checks": [{"name": "store", "status": "down", "error": "connection refused"}]}
//! ```
//!
//! Register a check with [`App::readiness_check`](crate::App::readiness_check):
//!
//! ```
//! use flagstone::{config::{Config, Profile}, App};
//!
//! let app = App::new(Config::defaults(Profile::Test))
//!     .readiness_check("cache", || async { Ok::<(), String>(()) });
//! ```

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Serialize;

/// How long one readiness check may take before it counts as failed.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

type CheckFn = dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync;

/// The readiness checks of an app.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(String, Arc<CheckFn>)>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.checks.iter().map(|(name, _)| name))
            .finish()
    }
}

/// The outcome of one check.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CheckReport {
    /// The check's name.
    pub name: String,
    /// `up` or `down`.
    pub status: &'static str,
    /// Why it is down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Readiness {
    /// Adds a check: an async function that returns `Err(reason)` when not ready.
    pub fn add<F, Fut>(&mut self, name: impl Into<String>, check: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks
            .push((name.into(), Arc::new(move || Box::pin(check()))));
    }

    /// Runs every check concurrently, each bounded by [`CHECK_TIMEOUT`].
    pub async fn run(&self) -> Vec<CheckReport> {
        let handles: Vec<_> = self
            .checks
            .iter()
            .map(|(name, check)| {
                let future = check();
                (
                    name.clone(),
                    tokio::spawn(tokio::time::timeout(CHECK_TIMEOUT, future)),
                )
            })
            .collect();
        let mut reports = Vec::with_capacity(handles.len());
        for (name, handle) in handles {
            let error = match handle.await {
                Ok(Ok(Ok(()))) => None,
                Ok(Ok(Err(reason))) => Some(reason),
                Ok(Err(_)) => Some(format!("no answer within {CHECK_TIMEOUT:?}")),
                Err(_) => Some("the check panicked".to_owned()),
            };
            let status = if error.is_none() { "up" } else { "down" };
            reports.push(CheckReport {
                name,
                status,
                error,
            });
        }
        reports
    }
}

#[derive(Serialize)]
struct Body {
    status: &'static str,
    checks: Vec<CheckReport>,
}

/// The `/health/live` and `/health/ready` routes.
pub(crate) fn routes(readiness: Readiness) -> Router {
    Router::new()
        .route(
            "/health/live",
            get(|| async { Json(serde_json::json!({ "status": "ok" })) }),
        )
        .route("/health/ready", get(ready))
        .with_state(Arc::new(readiness))
}

async fn ready(State(readiness): State<Arc<Readiness>>) -> Response {
    let checks = readiness.run().await;
    if checks.iter().all(|c| c.error.is_none()) {
        return Json(Body {
            status: "ready",
            checks,
        })
        .into_response();
    }
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(Body {
            status: "unavailable",
            checks,
        }),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}
