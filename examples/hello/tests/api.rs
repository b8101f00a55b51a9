//! The hello example through the full stack, in-process.
#![allow(clippy::unwrap_used)]

use flagstone::{
    App,
    axum::{body::Body, http::Request},
    config::{Config, Profile},
    prelude::*,
    testing::TestApp,
};
use serde_json::json;

fn app() -> TestApp {
    TestApp::new(App::new(Config::defaults(Profile::Test)).api(hello::routes()))
}

#[tokio::test]
async fn says_hello_to_the_world_or_by_name() {
    let app = app();
    assert_eq!(
        app.get("/api/v1/hello").await.json(),
        json!({"message": "Hello, world!"})
    );
    assert_eq!(
        app.get("/api/v1/hello?name=Ada").await.json(),
        json!({"message": "Hello, Ada!"})
    );
    assert_eq!(
        app.get("/api/v1/hello?name=%20").await.json(),
        json!({"message": "Hello, world!"})
    );
}

#[tokio::test]
async fn creates_a_greeting_in_the_requested_language() {
    let response = app()
        .post_json(
            "/api/v1/greetings",
            &json!({"name": "Ada", "language": "fr"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.json(), json!({"message": "Bonjour, Ada!"}));
}

#[tokio::test]
async fn reports_every_invalid_field_at_once() {
    let response = app()
        .post_json(
            "/api/v1/greetings",
            &json!({"name": "  ", "language": "xx"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    let body = response.json();
    assert_eq!(body["code"], "validation_failed");
    let fields: Vec<(&str, &str)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(fields, [("name", "non_empty"), ("language", "one_of")]);
    assert_eq!(body["errors"][1]["message"], "must be one of: en, fr, de");
}

#[tokio::test]
async fn names_are_at_most_50_characters() {
    let app = app();
    let longest = app
        .post_json("/api/v1/greetings", &json!({"name": "é".repeat(50)}))
        .await;
    assert_eq!(longest.status(), StatusCode::CREATED);
    let too_long = app
        .post_json("/api/v1/greetings", &json!({"name": "é".repeat(51)}))
        .await;
    assert_eq!(too_long.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        too_long.json()["errors"],
        json!([{"field": "name", "code": "length", "message": "must be at most 50 characters"}])
    );
}

#[tokio::test]
async fn rejects_unknown_fields_and_wrong_content_types() {
    let app = app();
    let unknown = app
        .post_json("/api/v1/greetings", &json!({"name": "Ada", "admin": true}))
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown.json()["detail"]
            .as_str()
            .unwrap()
            .contains("unknown field `admin`")
    );

    let form = Request::post("/api/v1/greetings")
        .header("content-type", "text/plain")
        .body(Body::from("name=Ada"))
        .unwrap();
    let response = app.send(form).await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(response.json()["code"], "unsupported_media_type");
}
