//! The account flows and guards over HTTP, happy and hostile: registration, login and its
//! throttling, refresh rotation and reuse detection, logout, the profile, password change,
//! email verification, password reset, cookies with CSRF, roles and ownership, and what
//! never reaches a response body or a log line.

#![allow(clippy::unwrap_used)]

use std::{net::SocketAddr, time::Duration};

use flagstone::{
    App,
    auth::{Access, Admin, AuthUser, MaybeAuthUser, RequireRole, RequireRoleLayer},
    config::{ConfigLoader, Profile},
    mail::{Mailer, Outbox},
    prelude::*,
    store::Document,
    testing::{TestApp, TestResponse},
};
use http::Method;
use serde_json::{Value, json};

const SECRET: &str = "a-test-secret-that-is-long-enough-123";
const PASSWORD: &str = "correct horse battery";

struct Harness {
    app: TestApp,
    outbox: Outbox,
    store: Store,
}

/// An app with the account routes, cheap argon2 parameters, no global rate limit, and the
/// extra settings in `env`.
async fn harness(env: &[(&str, &str)]) -> Harness {
    harness_on(Store::memory(), env).await
}

async fn harness_on(store: Store, env: &[(&str, &str)]) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let mut vars: Vec<(String, String)> = [
        ("FLAGSTONE_AUTH__SECRET", SECRET),
        ("FLAGSTONE_AUTH__ARGON2_MEMORY", "64KiB"),
        ("FLAGSTONE_AUTH__ARGON2_ITERATIONS", "1"),
        ("FLAGSTONE_AUTH__RATE_LIMIT", "0"),
        ("FLAGSTONE_RATE_LIMIT__ENABLED", "false"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    vars.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let config = ConfigLoader::new()
        .profile(Profile::Test)
        .dir(dir.path())
        .env(vars)
        .load()
        .unwrap();
    let (mailer, outbox) = Mailer::memory();
    let app = App::new(config)
        .store(store.clone())
        .mailer(mailer)
        .auth()
        .await
        .unwrap()
        .api(
            OpenApiRouter::new()
                .routes(routes!(admin_only))
                .routes(routes!(whoami))
                .routes(routes!(note, delete_note)),
        )
        .api(
            OpenApiRouter::new()
                .routes(routes!(editors))
                .layer(RequireRoleLayer::any(["editor", "admin"])),
        );
    Harness {
        app: TestApp::new(app),
        outbox,
        store,
    }
}

/// Admins only.
#[utoipa::path(get, path = "/admin", responses((status = 200, body = String)),
               security(("bearer" = [])))]
async fn admin_only(RequireRole(admin, ..): RequireRole<Admin>) -> String {
    format!("hello admin {}", admin.sub())
}

/// Editors and admins, guarded by a layer on the group.
#[utoipa::path(get, path = "/editors", responses((status = 200, body = String)),
               security(("bearer" = [])))]
async fn editors() -> &'static str {
    "editors' corner"
}

/// Anyone; says who is asking, and with which token.
#[utoipa::path(get, path = "/whoami", responses((status = 200, body = String)))]
async fn whoami(MaybeAuthUser(user): MaybeAuthUser) -> String {
    user.map_or_else(
        || "anonymous".to_owned(),
        |u| format!("{} {}", u.sub(), u.token()),
    )
}

/// A note, readable by its owner or an admin.
#[utoipa::path(get, path = "/notes/{owner}", params(("owner" = String, Path)),
               responses((status = 200, body = String)), security(("bearer" = [])))]
async fn note(user: Option<AuthUser>, Path(owner): Path<String>) -> flagstone::Result<String> {
    Access::owner_or("admin").check_owner(user.as_ref(), &owner)?;
    Ok(format!("note of {owner}"))
}

/// Deletes a note: its owner only.
#[utoipa::path(delete, path = "/notes/{owner}", params(("owner" = String, Path)),
               responses((status = 204)), security(("bearer" = [])))]
async fn delete_note(
    user: MaybeAuthUser,
    Path(owner): Path<String>,
) -> flagstone::Result<StatusCode> {
    Access::owner().check_owner(user.0.as_ref(), &owner)?;
    Ok(StatusCode::NO_CONTENT)
}

impl Harness {
    async fn register(&self, email: &str) -> TestResponse {
        self.app
            .post_json(
                "/api/v1/auth/register",
                &json!({ "email": email, "password": PASSWORD }),
            )
            .await
    }

    async fn login(&self, email: &str, password: &str) -> TestResponse {
        self.app
            .post_json(
                "/api/v1/auth/login",
                &json!({ "email": email, "password": password }),
            )
            .await
    }

    /// Registers `email` and returns (access token, refresh token, user id).
    async fn user(&self, email: &str) -> (String, String, String) {
        let r = self.register(email).await;
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text());
        let body = r.json();
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
            body["user"]["id"].as_str().unwrap().to_owned(),
        )
    }

    async fn get(&self, path: &str, token: &str) -> TestResponse {
        self.app
            .request(Method::GET, path)
            .bearer(token)
            .send()
            .await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> TestResponse {
        self.app
            .request(Method::POST, path)
            .bearer(token)
            .json(&body)
            .send()
            .await
    }

    async fn refresh(&self, refresh_token: &str) -> TestResponse {
        self.app
            .post_json(
                "/api/v1/auth/refresh",
                &json!({ "refresh_token": refresh_token }),
            )
            .await
    }

    /// The token in the newest mail to `to` whose link goes to `page`.
    async fn mailed_token(&self, to: &str, page: &str) -> String {
        let marker = format!("/{page}?token=");
        for _ in 0..250 {
            let found = self
                .outbox
                .messages()
                .into_iter()
                .rev()
                .find(|m| m.to == to && m.text.contains(&marker));
            if let Some(mail) = found {
                let start = mail.text.find(&marker).unwrap() + marker.len();
                return mail.text[start..start + 43].to_owned();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no {page} mail to {to}");
    }

    async fn set_roles(&self, id: &str, roles: &[&str]) {
        let users = self.store.collection::<Document>("users");
        let id = bson::oid::ObjectId::parse_str(id).unwrap();
        users
            .update_one(doc! { "_id": id }, doc! { "$set": { "roles": roles } })
            .await
            .unwrap();
    }
}

fn problem(r: &TestResponse) -> (u16, String) {
    (
        r.status().as_u16(),
        r.json()["code"].as_str().unwrap_or_default().to_owned(),
    )
}

// ---- registration ------------------------------------------------------------------------

#[tokio::test]
async fn register_logs_in_and_mails_a_verification_link() {
    let h = harness(&[("FLAGSTONE_AUTH__APP_URL", "https://app.example.com")]).await;
    let r = h
        .app
        .post_json(
            "/api/v1/auth/register",
            &json!({ "email": "Ada@Example.com", "password": PASSWORD, "username": "ada" }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text());
    let body = r.json();
    assert_eq!(body["user"]["email"], "Ada@Example.com");
    assert_eq!(body["user"]["username"], "ada");
    assert_eq!(body["user"]["roles"], json!(["user"]));
    assert_eq!(body["user"]["email_verified"], false);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["user"].get("password_hash").is_none());
    assert!(!r.text().contains(PASSWORD));
    assert!(
        r.set_cookies().is_empty(),
        "bearer transport sets no cookies"
    );

    let me = h
        .get("/api/v1/auth/me", body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.json()["id"], body["user"]["id"]);

    let mail = h
        .outbox
        .wait_for("Ada@Example.com", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(
        mail.text
            .contains("https://app.example.com/verify-email?token="),
        "{}",
        mail.text
    );
}

#[tokio::test]
async fn registration_is_validated_and_strict() {
    let h = harness(&[]).await;
    let post = |body: Value| {
        let app = h.app.clone();
        async move { app.post_json("/api/v1/auth/register", &body).await }
    };
    let r = post(json!({ "email": "not-an-email", "password": "short" })).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["errors"][0]["field"], "email");
    // The password policy counts characters, not bytes: seven é are too few.
    let r = post(json!({ "email": "a@x.io", "password": "ééééééé" })).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["errors"][0]["field"], "password");
    assert_eq!(r.json()["errors"][0]["code"], "length");
    let long = "x".repeat(129);
    let r = post(json!({ "email": "a@x.io", "password": long })).await;
    assert_eq!(r.json()["errors"][0]["field"], "password");
    // Mass assignment: roles, verification and ids are not accepted.
    for extra in [
        json!({ "roles": ["admin"] }),
        json!({ "email_verified": true }),
        json!({ "_id": "65f1c0ffee0000000000beef" }),
        json!({ "id": "65f1c0ffee0000000000beef" }),
        json!({ "password_hash": "$argon2id$..." }),
    ] {
        let mut body = json!({ "email": "m@x.io", "password": PASSWORD });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let r = post(body).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{}", r.text());
        assert_eq!(r.json()["errors"][0]["code"], "unknown_field");
    }
    // Operator injection never reaches the store.
    let r = post(json!({ "email": { "$gt": "" }, "password": PASSWORD })).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Email addresses are unique regardless of case.
    assert_eq!(h.register("dup@x.io").await.status(), StatusCode::CREATED);
    let r = h.register("DUP@x.io").await;
    assert_eq!(problem(&r), (409, "email_taken".into()));
    // Usernames are unique too.
    let body = json!({ "email": "u1@x.io", "password": PASSWORD, "username": "sam" });
    assert_eq!(post(body).await.status(), StatusCode::CREATED);
    let body = json!({ "email": "u2@x.io", "password": PASSWORD, "username": "sam" });
    assert_eq!(post(body).await.status(), StatusCode::CONFLICT);
}

// ---- login -------------------------------------------------------------------------------

#[tokio::test]
async fn login_answers_alike_for_unknown_email_and_wrong_password() {
    let h = harness(&[]).await;
    h.user("ada@x.io").await;
    let ok = h.login("ADA@x.io", PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.json()["access_token"].is_string());

    let wrong = h.login("ada@x.io", "wrong password!").await;
    let unknown = h.login("nobody@x.io", "wrong password!").await;
    let strip = |r: &TestResponse| {
        let mut body = r.json();
        body.as_object_mut().unwrap().remove("request_id");
        body
    };
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(strip(&wrong), strip(&unknown));
    assert_eq!(wrong.json()["code"], "invalid_credentials");
    // A wrong password is not an invalid token (RFC 6750): the plain challenge.
    assert_eq!(wrong.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account_and_per_ip() {
    let h = harness(&[
        ("FLAGSTONE_AUTH__LOGIN_MAX_FAILURES", "3"),
        ("FLAGSTONE_AUTH__LOGIN_MAX_FAILURES_PER_IP", "5"),
    ])
    .await;
    h.user("ada@x.io").await;
    for _ in 0..3 {
        assert_eq!(
            h.login("ada@x.io", "nope nope").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Now even the right password is refused, without being checked.
    let r = h.login("ada@x.io", PASSWORD).await;
    assert_eq!(problem(&r), (429, "login_throttled".into()));
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry));

    // Per IP: guesses spread over accounts from one address run out too.
    let from = |ip: [u8; 4]| SocketAddr::from((ip, 5000));
    let attempt = |email: &'static str, ip: [u8; 4]| {
        let app = h.app.clone();
        async move {
            app.request(Method::POST, "/api/v1/auth/login")
                .json(&json!({ "email": email, "password": "guess guess" }))
                .from(from(ip))
                .send()
                .await
        }
    };
    for email in ["b@x.io", "c@x.io", "d@x.io", "e@x.io", "f@x.io"] {
        assert_eq!(
            attempt(email, [10, 0, 0, 9]).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        attempt("g@x.io", [10, 0, 0, 9]).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        attempt("g@x.io", [10, 0, 0, 10]).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn credential_routes_have_their_own_rate_limit() {
    let h = harness(&[("FLAGSTONE_AUTH__RATE_LIMIT", "3")]).await;
    for _ in 0..3 {
        assert_eq!(
            h.login("a@x.io", "whatever1").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let r = h.login("a@x.io", "whatever1").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.header("retry-after").is_some());
    // Routes that need a token are not in that budget.
    assert_eq!(
        h.app.get("/api/v1/auth/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn unverified_users_can_be_refused_at_login() {
    let h = harness(&[("FLAGSTONE_AUTH__REQUIRE_VERIFIED_EMAIL", "true")]).await;
    let r = h.register("ada@x.io").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(
        r.json().get("access_token").is_none(),
        "no session before verification"
    );
    assert_eq!(r.json()["user"]["email_verified"], false);
    assert_eq!(
        problem(&h.login("ada@x.io", PASSWORD).await),
        (403, "email_not_verified".into())
    );
    // A wrong password still says only "invalid": no hint that the account exists.
    assert_eq!(
        problem(&h.login("ada@x.io", "wrong wrong").await),
        (401, "invalid_credentials".into())
    );
    let token = h.mailed_token("ada@x.io", "verify-email").await;
    let r = h
        .app
        .post_json(
            "/api/v1/auth/verify-email/confirm",
            &json!({ "token": token }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(h.login("ada@x.io", PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn old_hashes_are_upgraded_at_the_next_login() {
    let store = Store::memory();
    let weak = harness_on(store.clone(), &[]).await;
    weak.user("ada@x.io").await;
    let stored = || async {
        let users = store.collection::<Document>("users");
        let user = users.find_one(doc! {}).await.unwrap().unwrap();
        user.get_str("password_hash").unwrap().to_owned()
    };
    assert!(stored().await.contains("m=64,t=1"), "{}", stored().await);
    let stronger = harness_on(
        store.clone(),
        &[
            ("FLAGSTONE_AUTH__ARGON2_MEMORY", "128KiB"),
            ("FLAGSTONE_AUTH__ARGON2_ITERATIONS", "2"),
        ],
    )
    .await;
    assert_eq!(
        stronger.login("ada@x.io", PASSWORD).await.status(),
        StatusCode::OK
    );
    for _ in 0..100 {
        if stored().await.contains("m=128,t=2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stored().await.contains("m=128,t=2"), "{}", stored().await);
    assert_eq!(
        stronger.login("ada@x.io", PASSWORD).await.status(),
        StatusCode::OK
    );
}

// ---- tokens ------------------------------------------------------------------------------

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    let h = harness(&[]).await;
    let (access, first, _) = h.user("ada@x.io").await;
    let r = h.refresh(&first).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    let second = r.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    let new_access = r.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        h.get("/api/v1/auth/me", &new_access).await.status(),
        StatusCode::OK
    );

    // The first token again: someone else has it. Everyone in the session is out.
    assert_eq!(
        problem(&h.refresh(&first).await),
        (401, "refresh_token_reused".into())
    );
    assert_eq!(
        problem(&h.refresh(&second).await),
        (401, "refresh_token_invalid".into())
    );
    // Access tokens are stateless and live out their 15 minutes.
    assert_eq!(
        h.get("/api/v1/auth/me", &access).await.status(),
        StatusCode::OK
    );

    for bad in ["", "garbage", &"A".repeat(43), &"A".repeat(5000)] {
        assert_eq!(
            h.refresh(bad).await.status(),
            StatusCode::UNAUTHORIZED,
            "{bad}"
        );
    }
    let r = h
        .app
        .request(Method::POST, "/api/v1/auth/refresh")
        .header("content-type", "application/json")
        .send()
        .await;
    assert_eq!(problem(&r), (401, "refresh_token_invalid".into()));
    let r = h
        .app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": first, "x": 1 }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn refreshed_tokens_carry_the_current_roles() {
    let h = harness(&[]).await;
    let (access, refresh, id) = h.user("ada@x.io").await;
    assert_eq!(
        h.get("/api/v1/admin", &access).await.status(),
        StatusCode::FORBIDDEN
    );
    h.set_roles(&id, &["admin"]).await;
    let access = h.refresh(&refresh).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = h.get("/api/v1/admin", &access).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text(), format!("hello admin {id}"));
}

#[tokio::test]
async fn logout_ends_one_session_and_logout_all_every_session() {
    let h = harness(&[]).await;
    let (access, refresh, _) = h.user("ada@x.io").await;
    let other = h.login("ada@x.io", PASSWORD).await.json();
    let third = h.login("ada@x.io", PASSWORD).await.json();

    assert_eq!(
        h.post("/api/v1/auth/logout", &access, json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(h.refresh(&refresh).await.status(), StatusCode::UNAUTHORIZED);
    let other_refresh = other["refresh_token"].as_str().unwrap();
    let r = h.refresh(other_refresh).await;
    assert_eq!(r.status(), StatusCode::OK, "other sessions live on");

    let third_access = third["access_token"].as_str().unwrap();
    assert_eq!(
        h.post("/api/v1/auth/logout-all", third_access, json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let next = r.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(h.refresh(&next).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        h.refresh(third["refresh_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // Without a token, logout is a 401 like any protected route.
    let r = h.app.post_json("/api/v1/auth/logout", &json!({})).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_access_tokens_are_401_with_a_challenge() {
    let h = harness(&[]).await;
    let (access, _, _) = h.user("ada@x.io").await;
    let r = h.app.get("/api/v1/auth/me").await;
    assert_eq!(problem(&r), (401, "unauthenticated".into()));
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));

    let (head, rest) = access.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let none_header = base64_url(br#"{"alg":"none","typ":"JWT"}"#);
    let forged_payload = {
        let claims: Value = serde_json::from_slice(&base64_decode(payload)).unwrap();
        let mut claims = claims.as_object().unwrap().clone();
        claims.insert("roles".into(), json!(["admin"]));
        base64_url(&serde_json::to_vec(&claims).unwrap())
    };
    let cases = [
        "garbage".to_owned(),
        format!("{none_header}.{payload}."),
        format!("{head}.{forged_payload}.{signature}"),
        format!("{head}.{payload}.{}", &signature[..signature.len() - 4]),
        access[..access.len() / 2].to_owned(),
        "a.b.c".to_owned(),
        format!("{access}x"),
    ];
    for token in &cases {
        let r = h.get("/api/v1/auth/me", token).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{token}");
        assert!(
            r.header("www-authenticate")
                .unwrap()
                .contains("invalid_token"),
            "{token}"
        );
        // The same token on an optional route is still refused: never anonymous.
        let r = h.get("/api/v1/whoami", token).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{token}");
    }
    let r = h
        .app
        .request(Method::GET, "/api/v1/auth/me")
        .header("authorization", "Basic YWRhOnB3")
        .send()
        .await;
    assert_eq!(problem(&r), (401, "token_malformed".into()));
    // Signed with another secret: a different app's token.
    let other = flagstone::auth::JwtKeys::from_secret(
        b"another-secret-that-is-long-enough-456",
        "flagstone",
        "flagstone",
        Duration::from_secs(60),
    );
    let (foreign, _) = other
        .issue("65f1c0ffee0000000000beef", &["admin".into()], None)
        .unwrap();
    assert_eq!(
        h.get("/api/v1/auth/me", &foreign).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(h.app.get("/api/v1/whoami").await.text(), "anonymous");
    // A good token: the caller, and the very token presented.
    let text = h.get("/api/v1/whoami", &access).await.text();
    let (sub, token) = text.split_once(' ').unwrap();
    assert_eq!((sub.len(), token), (24, access.as_str()));
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

// ---- profile and password ----------------------------------------------------------------

#[tokio::test]
async fn me_patch_changes_only_what_users_may_change() {
    let h = harness(&[]).await;
    let (access, _, _) = h.user("ada@x.io").await;
    let patch = |body: Value| {
        let app = h.app.clone();
        let access = access.clone();
        async move {
            app.request(Method::PATCH, "/api/v1/auth/me")
                .bearer(&access)
                .json(&body)
                .send()
                .await
        }
    };
    let r = patch(json!({ "username": "ada_l" })).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["username"], "ada_l");
    for body in [
        json!({ "roles": ["admin"] }),
        json!({ "email_verified": true }),
        json!({ "email": "x@y.io" }),
        json!({ "username": "no spaces" }),
        json!({ "username": { "$set": "x" } }),
    ] {
        let r = patch(body.clone()).await;
        assert_eq!(
            r.status(),
            StatusCode::BAD_REQUEST,
            "{body} -> {}",
            r.text()
        );
    }
    let me = h.get("/api/v1/auth/me", &access).await.json();
    assert_eq!(me["roles"], json!(["user"]));
    assert_eq!(me["email_verified"], false);
    assert_eq!(me["email"], "ada@x.io");
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let h = harness(&[]).await;
    let (access, refresh, _) = h.user("ada@x.io").await;
    let other = h.login("ada@x.io", PASSWORD).await.json();
    h.app
        .post_json(
            "/api/v1/auth/password-reset/request",
            &json!({ "email": "ada@x.io" }),
        )
        .await;
    let reset = h.mailed_token("ada@x.io", "reset-password").await;
    let change = |current: &str, new: &str| {
        let body = json!({ "current_password": current, "new_password": new });
        h.post("/api/v1/auth/change-password", &access, body)
    };
    let r = change("not my password", "a brand new password").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["errors"][0]["field"], "current_password");
    let r = change(PASSWORD, "short").await;
    assert_eq!(r.json()["errors"][0]["field"], "new_password");
    assert_eq!(
        change(PASSWORD, "a brand new password").await.status(),
        StatusCode::NO_CONTENT
    );

    assert_eq!(
        h.login("ada@x.io", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.login("ada@x.io", "a brand new password").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        h.refresh(other["refresh_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "the other session ended"
    );
    assert_eq!(
        h.refresh(&refresh).await.status(),
        StatusCode::OK,
        "this one lives on"
    );
    let mut notified = false;
    for _ in 0..250 {
        let mails = h.outbox.messages();
        notified = mails
            .iter()
            .any(|m| m.subject == "Your password was changed");
        if notified {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(notified, "a password change is notified by mail");
    // A reset link asked for before the change no longer works.
    let r = h
        .app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({ "token": reset, "new_password": "an attacker's password" }),
        )
        .await;
    assert_eq!(problem(&r), (400, "token_invalid".into()));
}

// ---- email verification and password reset -----------------------------------------------

#[tokio::test]
async fn email_verification_tokens_work_once() {
    let h = harness(&[]).await;
    let (access, _, _) = h.user("ada@x.io").await;
    let first = h.mailed_token("ada@x.io", "verify-email").await;
    // A new request replaces the first link.
    let r = h
        .post("/api/v1/auth/verify-email/request", &access, json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = h.mailed_token("ada@x.io", "verify-email").await;
    assert_ne!(first, second);
    let confirm = |token: String| {
        let app = h.app.clone();
        async move {
            app.post_json(
                "/api/v1/auth/verify-email/confirm",
                &json!({ "token": token }),
            )
            .await
        }
    };
    assert_eq!(
        problem(&confirm(first).await),
        (400, "token_invalid".into())
    );
    assert_eq!(
        confirm(second.clone()).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        problem(&confirm(second).await),
        (400, "token_invalid".into())
    );
    assert_eq!(
        problem(&confirm("garbage".into()).await),
        (400, "token_invalid".into())
    );
    let me = h.get("/api/v1/auth/me", &access).await.json();
    assert_eq!(me["email_verified"], true);
    let r = h
        .post("/api/v1/auth/verify-email/request", &access, json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::OK, "already verified: nothing sent");
}

#[tokio::test]
async fn password_reset_does_not_reveal_accounts_and_ends_every_session() {
    let h = harness(&[]).await;
    let (_, refresh, _) = h.user("ada@x.io").await;
    h.mailed_token("ada@x.io", "verify-email").await;
    h.outbox.clear();
    let request = |email: &'static str| {
        let app = h.app.clone();
        async move {
            app.post_json(
                "/api/v1/auth/password-reset/request",
                &json!({ "email": email }),
            )
            .await
        }
    };
    let known = request("ADA@x.io").await;
    let unknown = request("nobody@x.io").await;
    assert_eq!(known.status(), StatusCode::ACCEPTED);
    assert_eq!(known.status(), unknown.status());
    assert_eq!(known.text(), unknown.text());
    let token = h.mailed_token("ada@x.io", "reset-password").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(h.outbox.messages().iter().all(|m| m.to == "ada@x.io"));

    let confirm = |token: String, password: &'static str| {
        let app = h.app.clone();
        async move {
            app.post_json(
                "/api/v1/auth/password-reset/confirm",
                &json!({ "token": token, "new_password": password }),
            )
            .await
        }
    };
    assert_eq!(
        confirm(token.clone(), "short").await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        confirm(token.clone(), "the new password").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        problem(&confirm(token, "another new password").await),
        (400, "token_invalid".into())
    );
    assert_eq!(h.refresh(&refresh).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        h.login("ada@x.io", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let r = h.login("ada@x.io", "the new password").await;
    assert_eq!(r.json()["user"]["email_verified"], true);
}

// ---- cookies and CSRF --------------------------------------------------------------------

#[tokio::test]
async fn cookie_transport_sets_scoped_http_only_cookies_and_checks_csrf() {
    let h = harness(&[
        ("FLAGSTONE_AUTH__TRANSPORT", "cookie"),
        ("FLAGSTONE_CORS__ALLOWED_ORIGINS", "https://app.example.com"),
    ])
    .await;
    let r = h.register("ada@x.io").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(
        r.json().get("access_token").is_none(),
        "no tokens in bodies"
    );
    let cookies = r.set_cookies();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    let access = cookies
        .iter()
        .find(|c| c.starts_with("access_token="))
        .unwrap();
    let refresh = cookies
        .iter()
        .find(|c| c.starts_with("refresh_token="))
        .unwrap();
    for c in [access, refresh] {
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax"), "{c}");
        assert!(!c.contains("Secure"), "not Secure outside production: {c}");
    }
    assert!(access.contains("Path=/;"), "{access}");
    assert!(refresh.contains("Path=/api/v1/auth/refresh;"), "{refresh}");
    let value = |c: &str| c.split(';').next().unwrap().to_owned();
    let (access, refresh) = (value(access), value(refresh));

    // Reads need no CSRF check.
    let me = h
        .app
        .request(Method::GET, "/api/v1/auth/me")
        .header("cookie", &access)
        .send()
        .await;
    assert_eq!(me.status(), StatusCode::OK);
    // Bearer headers are not accepted with the cookie transport.
    let bearer = access.trim_start_matches("access_token=");
    assert_eq!(
        h.get("/api/v1/auth/me", bearer).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let refresh_with = |origin: Option<&'static str>| {
        let app = h.app.clone();
        let refresh = refresh.clone();
        async move {
            let mut req = app
                .request(Method::POST, "/api/v1/auth/refresh")
                .header("cookie", &refresh)
                .header("host", "api.example.com");
            if let Some(origin) = origin {
                req = req.header("origin", origin);
            }
            req.send().await
        }
    };
    assert_eq!(problem(&refresh_with(None).await), (403, "csrf".into()));
    assert_eq!(
        problem(&refresh_with(Some("https://evil.example")).await),
        (403, "csrf".into())
    );
    let r = refresh_with(Some("https://app.example.com")).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    assert_eq!(r.set_cookies().len(), 2);

    let logout = |origin: Option<&'static str>| {
        let app = h.app.clone();
        let access = access.clone();
        async move {
            let mut req = app
                .request(Method::POST, "/api/v1/auth/logout")
                .header("cookie", &access)
                .header("host", "api.example.com");
            if let Some(origin) = origin {
                req = req.header("origin", origin);
            }
            req.send().await
        }
    };
    assert_eq!(problem(&logout(None).await), (403, "csrf".into()));
    assert_eq!(
        problem(&logout(Some("https://evil.example")).await),
        (403, "csrf".into())
    );
    let r = logout(Some("https://api.example.com")).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(r.set_cookies().iter().all(|c| c.contains("Max-Age=0")));
}

#[tokio::test]
async fn production_cookies_are_secure() {
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigLoader::new()
        .profile(Profile::Production)
        .dir(dir.path())
        .env([
            ("FLAGSTONE_AUTH__SECRET", SECRET),
            ("FLAGSTONE_AUTH__TRANSPORT", "both"),
            ("FLAGSTONE_DATABASE__URL", "memory://"),
        ])
        .load()
        .unwrap();
    assert!(config.auth.cookie_secure);
    let insecure = ConfigLoader::new()
        .profile(Profile::Production)
        .dir(dir.path())
        .env([
            ("FLAGSTONE_AUTH__SECRET", SECRET),
            ("FLAGSTONE_AUTH__TRANSPORT", "cookie"),
            ("FLAGSTONE_AUTH__COOKIE_SECURE", "false"),
            ("FLAGSTONE_DATABASE__URL", "memory://"),
        ])
        .load()
        .unwrap_err();
    assert!(insecure.get("auth.cookie_secure").is_some(), "{insecure}");
    // Production refuses the log mail transport once auth is on: it would log reset links.
    let refused = App::new(config)
        .store(Store::memory())
        .auth()
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("mail.transport"), "{refused}");
}

// ---- roles and ownership -----------------------------------------------------------------

#[tokio::test]
async fn roles_and_ownership_over_http() {
    let h = harness(&[]).await;
    let (alice, _, alice_id) = h.user("alice@x.io").await;
    let (bob, _, _) = h.user("bob@x.io").await;
    let (_, admin_refresh, admin_id) = h.user("root@x.io").await;
    h.set_roles(&admin_id, &["admin"]).await;
    let admin = h.refresh(&admin_refresh).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, editor_refresh, editor_id) = h.user("ed@x.io").await;
    h.set_roles(&editor_id, &["editor"]).await;
    let editor = h.refresh(&editor_refresh).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let note = format!("/api/v1/notes/{alice_id}");
    let cases: [(&str, Option<&str>, [u16; 4]); 5] = [
        // caller, token, [GET note (owner_or admin), DELETE note (owner), GET /admin, GET /editors]
        ("anonymous", None, [401, 401, 401, 401]),
        ("owner", Some(&alice), [200, 204, 403, 403]),
        ("other user", Some(&bob), [403, 403, 403, 403]),
        ("admin", Some(&admin), [200, 403, 200, 200]),
        ("editor", Some(&editor), [403, 403, 403, 200]),
    ];
    for (who, token, expected) in cases {
        let mut got = [0u16; 4];
        for (i, (method, path)) in [
            (Method::GET, note.as_str()),
            (Method::DELETE, note.as_str()),
            (Method::GET, "/api/v1/admin"),
            (Method::GET, "/api/v1/editors"),
        ]
        .into_iter()
        .enumerate()
        {
            let mut req = h.app.request(method, path);
            if let Some(token) = token {
                req = req.bearer(token);
            }
            let r = req.send().await;
            if r.status() == StatusCode::UNAUTHORIZED {
                assert!(r.header("www-authenticate").is_some());
            }
            got[i] = r.status().as_u16();
        }
        assert_eq!(got, expected, "{who}");
    }
}

// ---- OpenAPI -----------------------------------------------------------------------------

#[tokio::test]
async fn the_account_routes_are_documented_with_their_security() {
    let h = harness(&[]).await;
    let doc = h.app.get("/openapi.json").await.json();
    let paths = &doc["paths"];
    for path in [
        "register",
        "login",
        "refresh",
        "logout",
        "logout-all",
        "me",
        "change-password",
        "verify-email/request",
        "verify-email/confirm",
        "password-reset/request",
        "password-reset/confirm",
    ] {
        assert!(paths[format!("/api/v1/auth/{path}")].is_object(), "{path}");
    }
    assert!(paths["/api/v1/auth/me"]["get"]["security"].is_array());
    assert!(paths["/api/v1/auth/me"]["patch"]["security"].is_array());
    assert!(paths["/api/v1/auth/login"]["post"]["security"].is_null());
    let schemas = &doc["components"]["schemas"];
    assert!(
        schemas["UserView"]["properties"]
            .get("password_hash")
            .is_none()
    );
    assert_eq!(
        schemas["RegisterUser"]["properties"]["username"]["maxLength"],
        32
    );
    h.app.openapi_agreement().await.assert_ok();
}

// ---- the live server ----------------------------------------------------------------------

/// The main flows on the MongoDB-compatible server CI starts (`FLAGSTONE_TEST_MONGODB_URI`).
#[tokio::test]
async fn account_flows_on_the_live_server() {
    let Ok(uri) = std::env::var("FLAGSTONE_TEST_MONGODB_URI") else {
        println!("skipped: FLAGSTONE_TEST_MONGODB_URI is not set (scripts/test-mongo.sh start)");
        return;
    };
    let mut config = flagstone::config::DatabaseConfig::default();
    config.url = Some(uri);
    config.name = Some(format!("auth_{}", bson::oid::ObjectId::new().to_hex()));
    let store = Store::open(&config).await.unwrap();
    let h = harness_on(store.clone(), &[]).await;
    let outcome = async {
        let (access, refresh, _) = h.user("ada@x.io").await;
        assert_eq!(
            problem(&h.register("ADA@x.io").await),
            (409, "email_taken".into())
        );
        let body = json!({ "email": "u1@x.io", "password": PASSWORD, "username": "sam" });
        let r = h.app.post_json("/api/v1/auth/register", &body).await;
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text());
        let body = json!({ "email": "u2@x.io", "password": PASSWORD, "username": "sam" });
        let r = h.app.post_json("/api/v1/auth/register", &body).await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "{}", r.text());
        assert_eq!(h.login("ada@x.io", PASSWORD).await.status(), StatusCode::OK);
        assert_eq!(
            h.login("ada@x.io", "wrong wrong").await.status(),
            StatusCode::UNAUTHORIZED
        );
        let r = h.refresh(&refresh).await;
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
        assert_eq!(
            problem(&h.refresh(&refresh).await),
            (401, "refresh_token_reused".into())
        );
        let token = h.mailed_token("ada@x.io", "verify-email").await;
        let r = h
            .app
            .post_json(
                "/api/v1/auth/verify-email/confirm",
                &json!({ "token": token }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{}", r.text());
        let me = h.get("/api/v1/auth/me", &access).await.json();
        assert_eq!(me["email_verified"], true);
        assert!(me["created_at"].as_str().unwrap().ends_with('Z'));
    };
    let result = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(outcome)).await;
    if let Some(db) = store.mongo() {
        let _ = db.drop().await;
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

// ---- what never leaks --------------------------------------------------------------------

#[tokio::test(flavor = "current_thread")]
async fn passwords_and_tokens_never_reach_logs_or_other_bodies() {
    let logs = flagstone::testing::LogCapture::start();

    let h = harness(&[("FLAGSTONE_HTTP__TRACE", "true")]).await;
    let mut bodies = Vec::new();
    let (access, refresh, _) = h.user("ada@x.io").await;
    let verify = h.mailed_token("ada@x.io", "verify-email").await;
    bodies.push(h.login("ada@x.io", "wrong password 1").await.text());
    bodies.push(h.get("/api/v1/auth/me", &access).await.text());
    let refreshed = h.refresh(&refresh).await;
    bodies.push(h.refresh(&refresh).await.text());
    let next_refresh = refreshed.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    bodies.push(
        h.app
            .post_json(
                "/api/v1/auth/verify-email/confirm",
                &json!({ "token": verify }),
            )
            .await
            .text(),
    );
    h.app
        .post_json(
            "/api/v1/auth/password-reset/request",
            &json!({ "email": "ada@x.io" }),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let reset = h.mailed_token("ada@x.io", "reset-password").await;
    bodies.push(
        h.app
            .post_json(
                "/api/v1/auth/password-reset/confirm",
                &json!({ "token": reset, "new_password": "the second password" }),
            )
            .await
            .text(),
    );
    bodies.push(
        h.post(
            "/api/v1/auth/change-password",
            &access,
            json!({ "current_password": "the second password", "new_password": "third one here" }),
        )
        .await
        .text(),
    );
    let logs = logs.contents();
    assert!(
        logs.contains("logged in") || logs.contains("login failed"),
        "{logs}"
    );
    for secret in [
        PASSWORD,
        "wrong password 1",
        "the second password",
        "third one here",
        &access,
        &refresh,
        &next_refresh,
        &verify,
        &reset,
    ] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
        for body in &bodies {
            assert!(!body.contains(secret), "{secret} leaked into {body}");
        }
    }
}
