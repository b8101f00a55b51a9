//! The app over HTTP: health, the info route, accounts and the OpenAPI document.
#![allow(clippy::unwrap_used)]

mod common;

use flagstone::axum::http::{Method, StatusCode};

#[tokio::test]
async fn it_is_alive_and_says_what_it_is() {
    let app = common::app().await;
    assert_eq!(app.get("/health/live").await.status(), StatusCode::OK);
    assert_eq!(app.get("/health/ready").await.status(), StatusCode::OK);
    let r = app.get("/api/v1/info").await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["name"], env!("CARGO_PKG_NAME"));
}

#[tokio::test]
async fn users_register_and_see_themselves() {
    let app = common::app().await;
    let token = common::token(&app, "ada@example.com").await;
    let r = app
        .request(Method::GET, "/api/v1/auth/me")
        .bearer(&token)
        .send()
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["email"], "ada@example.com");
    assert_eq!(
        app.get("/api/v1/auth/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_docs_describe_every_route() {
    let app = common::app().await;
    app.openapi_agreement().await.assert_ok();
    assert_eq!(app.get("/openapi.json").await.status(), StatusCode::OK);
}
