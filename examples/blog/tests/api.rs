//! The blog over HTTP: roles, drafts and publishing, comments both ways, the admin route,
//! and the services the command line runs.
#![allow(clippy::unwrap_used)]

use blog::services::{Publishing, SEED_PASSWORD, seed};
use flagstone::{
    App, Store,
    auth::Auth,
    config::{ConfigLoader, Profile},
    mail::Mailer,
    store::Timestamp,
    testing::{TestApp, TestResponse},
};
use http::{Method, StatusCode};
use serde_json::{Value, json};

struct Blog {
    app: TestApp,
    store: Store,
}

async fn blog() -> Blog {
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigLoader::new()
        .profile(Profile::Test)
        .dir(dir.path())
        .env([
            (
                "FLAGSTONE_AUTH__SECRET",
                "a-test-secret-that-is-long-enough-123",
            ),
            ("FLAGSTONE_AUTH__ARGON2_MEMORY", "64KiB"),
            ("FLAGSTONE_AUTH__ARGON2_ITERATIONS", "1"),
            ("FLAGSTONE_AUTH__RATE_LIMIT", "0"),
            ("FLAGSTONE_BLOG__EMBEDDED_COMMENTS", "2"),
        ])
        .load()
        .unwrap();
    let store = Store::memory();
    let auth = Auth::new(&config, &store).unwrap();
    let app = blog::build(App::new(config).mailer(Mailer::memory().0), store.clone())
        .await
        .unwrap();
    seed(&store, &auth).await.unwrap();
    Blog {
        app: TestApp::new(app),
        store,
    }
}

impl Blog {
    async fn login(&self, who: &str) -> String {
        let body = json!({ "email": format!("{who}@example.com"), "password": SEED_PASSWORD });
        let r = self.app.post_json("/api/v1/auth/login", &body).await;
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
        r.json()["access_token"].as_str().unwrap().to_owned()
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> TestResponse {
        let mut req = self.app.request(method, path);
        if let Some(token) = token {
            req = req.bearer(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await
    }

    async fn titles(&self, token: Option<&str>) -> Vec<String> {
        let r = self
            .call(Method::GET, "/api/v1/posts?sort=title", token, None)
            .await;
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap().to_owned())
            .collect()
    }
}

#[tokio::test]
async fn drafts_are_for_editors_and_only_editors_publish() {
    let b = blog().await;
    let (editor, reader) = (b.login("editor").await, b.login("reader").await);
    assert_eq!(
        b.titles(None).await,
        ["Hello, world"],
        "the seeded draft is hidden"
    );
    assert_eq!(
        b.titles(Some(&editor)).await,
        ["Hello, world", "Work in progress"]
    );

    let post = json!({ "title": "Rust at scale", "body": "Notes." });
    let r = b
        .call(
            Method::POST,
            "/api/v1/posts",
            Some(&reader),
            Some(post.clone()),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "readers do not write posts"
    );
    let r = b
        .call(Method::POST, "/api/v1/posts", Some(&editor), Some(post))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text());
    let created = r.json();
    assert_eq!(created["status"], "draft");
    assert!(
        created["slug"]
            .as_str()
            .unwrap()
            .starts_with("rust-at-scale-")
    );
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/posts/{id}");
    assert_eq!(
        b.call(Method::GET, &path, None, None).await.status(),
        StatusCode::NOT_FOUND
    );
    let r = b
        .call(
            Method::POST,
            "/api/v1/posts",
            Some(&editor),
            Some(json!({ "title": "x", "body": "", "status": "published" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "status is not input");

    let publish = format!("{path}/publish");
    assert_eq!(
        b.call(Method::POST, &publish, Some(&reader), None)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let r = b.call(Method::POST, &publish, Some(&editor), None).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "published");
    assert!(r.json()["published_at"].is_string());
    assert_eq!(
        b.call(Method::POST, &publish, Some(&editor), None)
            .await
            .status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        b.call(Method::GET, &path, None, None).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn scheduled_posts_go_out_when_due() {
    let b = blog().await;
    let editor = b.login("editor").await;
    let r = b
        .call(
            Method::POST,
            "/api/v1/posts",
            Some(&editor),
            Some(json!({ "title": "Later", "body": "Soon." })),
        )
        .await;
    let path = format!("/api/v1/posts/{}", r.json()["id"].as_str().unwrap());
    let schedule = format!("{path}/schedule");
    let r = b
        .call(
            Method::POST,
            &schedule,
            Some(&editor),
            Some(json!({ "at": "2020-01-01T00:00:00.000Z" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let at = Timestamp::from_millis(Timestamp::now().millis() + 3_600_000);
    let r = b
        .call(
            Method::POST,
            &schedule,
            Some(&editor),
            Some(json!({ "at": at })),
        )
        .await;
    assert_eq!(r.json()["status"], "scheduled", "{}", r.text());

    // What `blog publish-due` runs: nothing is due now, everything in two hours.
    let publishing = Publishing::new(&b.store);
    assert_eq!(publishing.publish_due(Timestamp::now()).await.unwrap(), 0);
    let later = Timestamp::from_millis(Timestamp::now().millis() + 7_200_000);
    assert_eq!(publishing.publish_due(later).await.unwrap(), 1);
    assert_eq!(
        b.call(Method::GET, &path, None, None).await.json()["status"],
        "published"
    );
}

#[tokio::test]
async fn comments_live_in_their_collection_and_embedded_in_the_post() {
    let b = blog().await;
    let (reader, admin) = (b.login("reader").await, b.login("admin").await);
    let r = b.call(Method::GET, "/api/v1/posts", None, None).await;
    let post = r.json()["items"][0]["id"].as_str().unwrap().to_owned();
    let mut ids = Vec::new();
    for text in ["first", "second", "third"] {
        let r = b
            .call(
                Method::POST,
                "/api/v1/comments",
                Some(&reader),
                Some(json!({ "post": post, "body": text })),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text());
        ids.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    let path = format!("/api/v1/posts/{post}");
    let shown = b.call(Method::GET, &path, None, None).await.json();
    assert_eq!(shown["comment_count"], 3, "{shown}");
    let embedded: Vec<&str> = shown["recent_comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        embedded,
        ["second", "third"],
        "the newest two, as configured"
    );
    let r = b
        .call(
            Method::GET,
            &format!("/api/v1/comments?post={post}&sort=created_at&expand=post"),
            None,
            None,
        )
        .await;
    assert_eq!(r.json()["meta"]["total"], 3);
    assert_eq!(
        r.json()["items"][0]["post"]["id"],
        post.as_str(),
        "expanded: {}",
        r.text()
    );

    // Deleting keeps both copies in step; drafts take no comments.
    let comment = format!("/api/v1/comments/{}", ids[2]);
    assert_eq!(
        b.call(Method::DELETE, &comment, Some(&admin), None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let shown = b.call(Method::GET, &path, None, None).await.json();
    assert_eq!(shown["comment_count"], 2);
    assert_eq!(shown["recent_comments"].as_array().unwrap().len(), 1);
    let editor = b.login("editor").await;
    let drafts = b
        .call(
            Method::GET,
            "/api/v1/posts?status=draft",
            Some(&editor),
            None,
        )
        .await
        .json();
    let draft = drafts["items"][0]["id"].as_str().unwrap();
    let r = b
        .call(
            Method::POST,
            "/api/v1/comments",
            Some(&reader),
            Some(json!({ "post": draft, "body": "hi" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = b
        .call(
            Method::POST,
            "/api/v1/comments",
            None,
            Some(json!({ "post": post, "body": "hi" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn admins_set_roles() {
    let b = blog().await;
    let (admin, editor) = (b.login("admin").await, b.login("editor").await);
    let me = b
        .call(Method::GET, "/api/v1/auth/me", Some(&editor), None)
        .await
        .json();
    let path = format!("/api/v1/admin/users/{}/roles", me["id"].as_str().unwrap());
    let body = json!({ "roles": ["reader"] });
    assert_eq!(
        b.call(Method::PUT, &path, None, Some(body.clone()))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        b.call(Method::PUT, &path, Some(&editor), Some(body.clone()))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let r = b
        .call(
            Method::PUT,
            &path,
            Some(&admin),
            Some(json!({ "roles": ["root"] })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = b.call(Method::PUT, &path, Some(&admin), Some(body)).await;
    assert_eq!(r.json()["roles"], json!(["reader"]), "{}", r.text());
    // A new login carries the new roles: no more drafts.
    let demoted = b.login("editor").await;
    assert_eq!(b.titles(Some(&demoted)).await, ["Hello, world"]);
}

#[tokio::test]
async fn the_docs_describe_every_route() {
    let b = blog().await;
    b.app.openapi_agreement().await.assert_ok();
    let doc = b.app.get("/openapi.json").await.json();
    assert!(doc["paths"]["/api/v1/posts/{id}/publish"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/comments"]["get"].is_object());
}

/// A PNG signature, then `len - 8` bytes of `fill`.
fn png(len: usize, fill: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(len, fill);
    bytes
}

impl Blog {
    async fn put_cover(
        &self,
        id: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> TestResponse {
        let request = http::Request::put(format!("/api/v1/posts/{id}/cover"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", content_type)
            .body(flagstone::axum::body::Body::from(body))
            .unwrap();
        self.app.send(request).await
    }
}

#[tokio::test]
async fn authors_set_replace_and_remove_cover_images() {
    let b = blog().await;
    let (editor, reader, admin) = (
        b.login("editor").await,
        b.login("reader").await,
        b.login("admin").await,
    );
    let post = json!({ "title": "With a cover", "body": "Look." });
    let r = b
        .call(Method::POST, "/api/v1/posts", Some(&editor), Some(post))
        .await;
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let cover_path = format!("/api/v1/posts/{id}/cover");

    // Readers may not, and a refused upload is never read.
    let r = b.put_cover(&id, &reader, "image/png", png(100, 1)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "{}", r.text());
    // Covers are images, checked by content.
    let r = b
        .put_cover(&id, &editor, "application/pdf", b"%PDF-1.7\n".to_vec())
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        r.text()
    );
    let r = b
        .put_cover(&id, &editor, "image/png", b"<svg onload=alert(1)>".to_vec())
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        r.text()
    );

    let first = png(2_000, 1);
    let r = b.put_cover(&id, &editor, "image/png", first.clone()).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    let cover = r.json()["cover"].clone();
    assert_eq!(cover["size"], 2_000);
    assert_eq!(cover["content_type"], "image/png");
    assert_eq!(cover["sha256"].as_str().unwrap().len(), 64);

    // A draft's cover is hidden like the draft.
    let r = b.call(Method::GET, &cover_path, None, None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = b.call(Method::GET, &cover_path, Some(&editor), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().as_ref(), first.as_slice());

    b.call(
        Method::POST,
        &format!("/api/v1/posts/{id}/publish"),
        Some(&editor),
        None,
    )
    .await;
    let r = b.call(Method::GET, &cover_path, None, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("image/png"));

    // An admin replaces it; the post shows the new one.
    let second = png(3_000, 2);
    let r = b.put_cover(&id, &admin, "image/png", second.clone()).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    assert_ne!(r.json()["cover"]["key"], cover["key"]);
    let r = b
        .call(Method::GET, &format!("/api/v1/posts/{id}"), None, None)
        .await;
    assert_eq!(r.json()["cover"]["size"], 3_000);
    let r = b.call(Method::GET, &cover_path, None, None).await;
    assert_eq!(r.bytes().as_ref(), second.as_slice());

    // Removed by its author; then there is none.
    let r = b
        .call(Method::DELETE, &cover_path, Some(&reader), None)
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = b
        .call(Method::DELETE, &cover_path, Some(&editor), None)
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    assert!(r.json()["cover"].is_null());
    let r = b.call(Method::GET, &cover_path, None, None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json()["code"], "no_cover");
    let r = b
        .call(Method::DELETE, &cover_path, Some(&editor), None)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
