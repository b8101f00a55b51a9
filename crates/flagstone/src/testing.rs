//! Drive the full stack in-process: no socket, every layer included.
//!
//! ```
//! use flagstone::{config::{Config, Profile}, prelude::*, testing::TestApp};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = App::new(Config::defaults(Profile::Test))
//!     .routes(Router::new().route("/hello", get(|| async { "hello" })));
//! let app = TestApp::new(app);
//!
//! let response = app.get("/api/v1/hello").await;
//! assert_eq!(response.status(), StatusCode::OK);
//! assert_eq!(response.text(), "hello");
//!
//! let missing = app.get("/nope").await;
//! assert_eq!(missing.status(), StatusCode::NOT_FOUND);
//! assert_eq!(missing.json()["code"], "not_found");
//! # }
//! ```

use std::net::SocketAddr;

use axum::{
    Router,
    body::{Body, Bytes},
    extract::ConnectInfo,
};
use http::{HeaderMap, Method, Request, StatusCode, header};
use serde::{Serialize, de::DeserializeOwned};
use tower::ServiceExt;

use crate::App;

/// An app wrapped for in-process requests. Requests appear to come from `127.0.0.1`
/// unless sent with [`TestApp::send_from`].
#[derive(Clone, Debug)]
pub struct TestApp {
    router: Router,
    /// The app's OpenAPI document, for the agreement check.
    #[cfg(feature = "openapi")]
    pub(crate) openapi: serde_json::Value,
    /// Where undocumented routers were added.
    #[cfg_attr(not(feature = "openapi"), allow(dead_code))]
    pub(crate) undocumented: Vec<String>,
}

impl TestApp {
    /// Builds the app's complete router.
    pub fn new(app: App) -> Self {
        #[cfg(feature = "openapi")]
        let openapi = serde_json::to_value(app.openapi()).unwrap_or_default();
        let undocumented = app.undocumented_routes();
        Self {
            router: app.into_router(),
            #[cfg(feature = "openapi")]
            openapi,
            undocumented,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(
            Request::get(path)
                .body(Body::empty())
                .expect("a valid request"),
        )
        .await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> TestResponse {
        self.send(
            Request::delete(path)
                .body(Body::empty())
                .expect("a valid request"),
        )
        .await
    }

    /// `POST path` with `body` as JSON.
    pub async fn post_json(&self, path: &str, body: &impl Serialize) -> TestResponse {
        self.json(Method::POST, path, body).await
    }

    /// `PUT path` with `body` as JSON.
    pub async fn put_json(&self, path: &str, body: &impl Serialize) -> TestResponse {
        self.json(Method::PUT, path, body).await
    }

    /// `PATCH path` with `body` as JSON.
    pub async fn patch_json(&self, path: &str, body: &impl Serialize) -> TestResponse {
        self.json(Method::PATCH, path, body).await
    }

    async fn json(&self, method: Method, path: &str, body: &impl Serialize) -> TestResponse {
        let body = serde_json::to_vec(body).expect("a serializable body");
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .expect("a valid request");
        self.send(request).await
    }

    /// A request to build up: headers, a bearer token, a JSON body, a peer address.
    ///
    /// ```
    /// # use flagstone::{config::{Config, Profile}, prelude::*, testing::TestApp};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let app = TestApp::new(App::new(Config::defaults(Profile::Test)));
    /// let response = app
    ///     .request(http::Method::POST, "/api/v1/notes")
    ///     .bearer("eyJ...")
    ///     .json(&serde_json::json!({ "text": "hi" }))
    ///     .send()
    ///     .await;
    /// # assert_eq!(response.status(), StatusCode::NOT_FOUND);
    /// # }
    /// ```
    pub fn request(&self, method: Method, path: &str) -> TestRequest<'_> {
        TestRequest {
            app: self,
            builder: Request::builder().method(method).uri(path),
            body: Body::empty(),
            peer: ([127, 0, 0, 1], 40000).into(),
        }
    }

    /// Sends any request, from `127.0.0.1`.
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        self.send_from(([127, 0, 0, 1], 40000).into(), request)
            .await
    }

    /// Sends any request as if from the socket address `peer`.
    pub async fn send_from(&self, peer: SocketAddr, mut request: Request<Body>) -> TestResponse {
        request.extensions_mut().insert(ConnectInfo(peer));
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|e| match e {});
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("a readable body");
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }
}

/// A request being built by [`TestApp::request`].
#[derive(Debug)]
pub struct TestRequest<'a> {
    app: &'a TestApp,
    builder: http::request::Builder,
    body: Body,
    peer: SocketAddr,
}

impl TestRequest<'_> {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    /// Adds `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Sets a JSON body.
    pub fn json(mut self, body: &impl Serialize) -> Self {
        self.body = Body::from(serde_json::to_vec(body).expect("a serializable body"));
        self.header("content-type", "application/json")
    }

    /// Sends it as if from `peer`.
    pub fn from(mut self, peer: SocketAddr) -> Self {
        self.peer = peer;
        self
    }

    /// Sends the request.
    pub async fn send(self) -> TestResponse {
        let request = self.builder.body(self.body).expect("a valid request");
        self.app.send_from(self.peer, request).await
    }
}

/// A buffered response.
#[derive(Clone, Debug)]
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl TestResponse {
    /// The `Set-Cookie` values, in order.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// All headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One header as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The raw body.
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        self.json_as()
    }

    /// The body deserialized as `T`; panics with the body when it does not fit.
    pub fn json_as<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not the expected JSON ({e}): {}", self.text()))
    }
}

/// Captures every log line of the current thread while it lives, for tests that check
/// what reaches the logs (and what never does). Use it on a `current_thread` runtime, so
/// the tasks a request spawns log on the same thread.
///
/// ```
/// let logs = flagstone::testing::LogCapture::start();
/// tracing::warn!(user = "ada", "something happened");
/// assert!(logs.contents().contains("something happened"));
/// ```
pub struct LogCapture {
    buffer: LogBuffer,
    _guard: tracing::subscriber::DefaultGuard,
    // While a second dispatcher exists, tracing asks each thread's own subscriber instead
    // of caching the first thread's answer process-wide, so other tests' threads (with no
    // subscriber) cannot turn callsites off for this one.
    _second: tracing::Dispatch,
}

impl LogCapture {
    /// Starts capturing, at every level, without colours.
    pub fn start() -> Self {
        let buffer = LogBuffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
        Self {
            buffer,
            _guard: tracing::subscriber::set_default(subscriber),
            _second: second,
        }
    }

    /// Everything logged so far.
    pub fn contents(&self) -> String {
        let bytes = self.buffer.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::fmt::Debug for LogCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogCapture").finish_non_exhaustive()
    }
}

/// Where [`LogCapture`] writes.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Checks an OpenAPI document with openapi-spec-validator (`python3 -m
/// openapi_spec_validator`, which `.ci/run` installs), as a test would. Panics with the
/// validator's report when it finds a problem. Returns `false`, after printing
/// `skipped: ...`, when the validator is not installed, so a test can still pass where
/// Python is missing.
#[cfg(feature = "openapi")]
pub fn openapi_spec_validator(document: &serde_json::Value) -> bool {
    use std::process::Command;
    use std::sync::atomic::{AtomicU64, Ordering};

    static NEXT: AtomicU64 = AtomicU64::new(0);
    let available = Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        println!("skipped: openapi-spec-validator not installed");
        eprintln!("skipped: openapi-spec-validator not installed");
        return false;
    }
    let path = std::env::temp_dir().join(format!(
        "flagstone-openapi-{}-{}.json",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let json = serde_json::to_vec_pretty(document).expect("a JSON document serializes");
    std::fs::write(&path, json).expect("the temporary directory is writable");
    let output = Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&path)
        .output();
    let _ = std::fs::remove_file(&path);
    let output = output.expect("python3 runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && report.contains("OK"),
        "openapi-spec-validator: {report}"
    );
    true
}
