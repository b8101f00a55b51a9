//! The twin's API end to end on a MongoDB-compatible server: set
//! `FLAGSTONE_TEST_MONGODB_URI` (e.g. `export "$(scripts/test-mongo.sh start)"`); without it
//! the test says why and passes.
#![allow(clippy::unwrap_used)]

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode},
};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Token {token}"));
    }
    let body = match body {
        Some(body) => {
            request = request.header("content-type", "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let response = app
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn register(app: &Router, name: &str) -> String {
    let user = json!({ "user": { "username": name, "email": format!("{name}@example.com"), "password": "password 123" } });
    let (status, body) = call(app, "POST", "/api/users", None, Some(user)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["user"]["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn register_follow_write_and_read() {
    let Ok(uri) = std::env::var("FLAGSTONE_TEST_MONGODB_URI") else {
        eprintln!(
            "skipped: FLAGSTONE_TEST_MONGODB_URI is not set (export \"$(scripts/test-mongo.sh start)\")"
        );
        return;
    };
    let database = format!("twin_test_{}", bson::oid::ObjectId::new().to_hex());
    let url = format!("{}/{database}", uri.trim_end_matches('/'));
    let app = realworld_twin::app(realworld_twin::connect(&url, b"test secret").await.unwrap());

    let reader = register(&app, "reader").await;
    let author = register(&app, "author").await;
    let login = json!({ "user": { "email": "reader@example.com", "password": "password 123" } });
    assert_eq!(
        call(&app, "POST", "/api/users/login", None, Some(login))
            .await
            .0,
        StatusCode::OK
    );
    let wrong = json!({ "user": { "email": "reader@example.com", "password": "wrong" } });
    assert_eq!(
        call(&app, "POST", "/api/users/login", None, Some(wrong))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&app, "GET", "/api/user", None, None).await.0,
        StatusCode::UNAUTHORIZED
    );

    let (status, body) = call(
        &app,
        "POST",
        "/api/profiles/author/follow",
        Some(&reader),
        None,
    )
    .await;
    assert_eq!(
        (status, body["profile"]["following"].clone()),
        (StatusCode::OK, json!(true))
    );

    for i in 0..3 {
        let article = json!({ "article": { "title": "Same Title", "description": "d", "body": format!("b{i}"), "tagList": ["z", "a"] } });
        let (status, body) =
            call(&app, "POST", "/api/articles", Some(&author), Some(article)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["article"]["tagList"], json!(["a", "z"]));
    }
    let blank = json!({ "article": { "title": "", "description": "d", "body": "b" } });
    assert_eq!(
        call(&app, "POST", "/api/articles", Some(&author), Some(blank))
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let (status, page) = call(&app, "GET", "/api/articles?limit=2", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page["articlesCount"],
        json!(3),
        "the total, not the page size"
    );
    assert_eq!(page["articles"].as_array().unwrap().len(), 2);
    let slugs: Vec<&str> = page["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap())
        .collect();
    assert_ne!(slugs[0], slugs[1], "slugs are unique");

    let (_, feed) = call(
        &app,
        "GET",
        "/api/articles/feed?limit=20",
        Some(&reader),
        None,
    )
    .await;
    assert_eq!(feed["articlesCount"], json!(3));
    assert_eq!(feed["articles"][0]["author"]["following"], json!(true));

    let (status, single) = call(&app, "GET", "/api/articles/same-title", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(single["article"]["body"], json!("b0"));
    let comment = json!({ "comment": { "body": "first" } });
    let (status, body) = call(
        &app,
        "POST",
        "/api/articles/same-title/comments",
        Some(&reader),
        Some(comment),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["comment"]["id"].is_i64());
    assert_eq!(
        call(&app, "GET", "/api/articles/missing", None, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}
