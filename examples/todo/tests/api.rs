//! The todo app over HTTP: accounts, todos, and each user seeing only their own.
#![allow(clippy::unwrap_used)]

use flagstone::{
    App,
    config::{ConfigLoader, Profile},
    mail::Mailer,
    testing::{TestApp, TestResponse},
};
use http::{Method, StatusCode};
use serde_json::{Value, json};

async fn app() -> TestApp {
    app_with(&[]).await
}

async fn app_with(extra: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut env = vec![
        (
            "FLAGSTONE_AUTH__SECRET",
            "a-test-secret-that-is-long-enough-123",
        ),
        ("FLAGSTONE_AUTH__ARGON2_MEMORY", "64KiB"),
        ("FLAGSTONE_AUTH__ARGON2_ITERATIONS", "1"),
    ];
    env.extend_from_slice(extra);
    let config = ConfigLoader::new()
        .profile(Profile::Test)
        .dir(dir.path())
        .env(env)
        .load()
        .unwrap();
    let app = App::new(config).mailer(Mailer::memory().0);
    TestApp::new(todo::build(app).await.unwrap())
}

async fn token(app: &TestApp, email: &str) -> String {
    let body = json!({ "email": email, "password": "correct horse battery" });
    let r = app.post_json("/api/v1/auth/register", &body).await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text());
    r.json()["access_token"].as_str().unwrap().to_owned()
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> TestResponse {
    let mut req = app.request(method, path).bearer(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await
}

#[tokio::test]
async fn a_user_manages_their_own_todos() {
    own_todos(&app().await).await;
}

/// The same on MongoDB: `database.url` is all it takes.
#[tokio::test]
async fn on_the_live_server() {
    let Ok(uri) = std::env::var("FLAGSTONE_TEST_MONGODB_URI") else {
        println!("skipped: FLAGSTONE_TEST_MONGODB_URI is not set (scripts/test-mongo.sh start)");
        return;
    };
    let name = format!("todo_{}", std::process::id());
    let app = app_with(&[
        ("FLAGSTONE_DATABASE__URL", uri.as_str()),
        ("FLAGSTONE_DATABASE__NAME", name.as_str()),
    ])
    .await;
    own_todos(&app).await;
    let store = flagstone::Store::connect(&uri).await.unwrap();
    if let Some(client) = store.mongo() {
        let _ = client.client().database(&name).drop().await;
    }
}

async fn own_todos(app: &TestApp) {
    let app = app.clone();
    let ada = token(&app, "ada@example.com").await;
    let bob = token(&app, "bob@example.com").await;

    let r = call(
        &app,
        Method::POST,
        "/api/v1/todos",
        &ada,
        Some(json!({ "title": "Buy milk", "done": false })),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text());
    let path = r.header("location").unwrap().to_owned();
    call(
        &app,
        Method::POST,
        "/api/v1/todos",
        &ada,
        Some(json!({ "title": "Write docs", "done": true, "due": "2026-12-01T09:00:00.000Z" })),
    )
    .await;
    call(
        &app,
        Method::POST,
        "/api/v1/todos",
        &bob,
        Some(json!({ "title": "Bob's", "done": false })),
    )
    .await;

    let r = call(&app, Method::GET, "/api/v1/todos?done=false", &ada, None).await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    assert_eq!(r.json()["items"][0]["title"], "Buy milk");
    let r = call(
        &app,
        Method::GET,
        "/api/v1/todos?sort=-created_at",
        &ada,
        None,
    )
    .await;
    assert_eq!(r.json()["meta"]["total"], 2, "only Ada's own");

    let r = call(
        &app,
        Method::PATCH,
        &path,
        &ada,
        Some(json!({ "done": true })),
    )
    .await;
    assert_eq!(r.json()["done"], true);
    assert_eq!(
        call(&app, Method::GET, &path, &bob, None).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&app, Method::DELETE, &path, &bob, None).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&app, Method::DELETE, &path, &ada, None).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&app, Method::GET, &path, &ada, None).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn bad_input_gets_clear_answers() {
    let app = app().await;
    let ada = token(&app, "ada@example.com").await;
    assert_eq!(
        app.get("/api/v1/todos").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let r = call(
        &app,
        Method::POST,
        "/api/v1/todos",
        &ada,
        Some(json!({ "title": "", "done": "no" })),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = call(
        &app,
        Method::POST,
        "/api/v1/todos",
        &ada,
        Some(json!({ "title": "x", "done": false, "owner": "65f1c0ffee0000000000beef" })),
    )
    .await;
    assert_eq!(r.json()["errors"][0]["code"], "unknown_field");
    let r = call(&app, Method::GET, "/api/v1/todos?title[gt]=a", &ada, None).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        call(&app, Method::GET, "/api/v1/todos/not-an-id", &ada, None)
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn the_docs_describe_every_route() {
    let app = app().await;
    app.openapi_agreement().await.assert_ok();
    assert_eq!(app.get("/docs").await.status(), StatusCode::OK);
    let doc = app.get("/openapi.json").await.json();
    assert!(doc["paths"]["/api/v1/todos/{id}"]["patch"].is_object());
}
