//! The RealWorld contract over HTTP, endpoint by endpoint, error case by error case
//! (../shared/REALWORLD.md). Each scenario runs on the embedded store, and again on the live
//! MongoDB-compatible server when `FLAGSTONE_TEST_MONGODB_URI` is set (CI sets it).
#![allow(clippy::unwrap_used)]

use flagstone::{
    App,
    config::Profile,
    testing::{TestApp, TestResponse},
};
use http::{Method, StatusCode};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

async fn app_with(extra: &[(&str, &str)]) -> TestApp {
    // An empty directory, so no stray `flagstone.toml` or `.env` is read.
    let dir = tempfile::tempdir().unwrap();
    let mut env = vec![
        (
            "FLAGSTONE_AUTH__SECRET".to_owned(),
            "a-test-secret-that-is-long-enough-123".to_owned(),
        ),
        (
            "FLAGSTONE_AUTH__ARGON2_MEMORY".to_owned(),
            "64KiB".to_owned(),
        ),
        (
            "FLAGSTONE_AUTH__ARGON2_ITERATIONS".to_owned(),
            "1".to_owned(),
        ),
        ("FLAGSTONE_AUTH__RATE_LIMIT".to_owned(), "0".to_owned()),
        (
            "FLAGSTONE_RATE_LIMIT__ENABLED".to_owned(),
            "false".to_owned(),
        ),
    ];
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let config = realworld::config::loader_with(env)
        .profile(Profile::Test)
        .dir(dir.path())
        .load()
        .unwrap();
    TestApp::new(realworld::build(App::new(config)).await.unwrap())
}

/// The app on the embedded store (in memory, the test profile's default).
async fn embedded() -> TestApp {
    app_with(&[]).await
}

/// The live server, in a database of its own, or `None` (with a note) when there is none.
async fn live(name: &str) -> Option<(TestApp, String)> {
    let Ok(uri) = std::env::var("FLAGSTONE_TEST_MONGODB_URI") else {
        println!("skipped: FLAGSTONE_TEST_MONGODB_URI is not set (scripts/test-mongo.sh start)");
        return None;
    };
    let db = format!("realworld_{name}_{}", std::process::id());
    let app = app_with(&[
        ("FLAGSTONE_DATABASE__URL", uri.as_str()),
        ("FLAGSTONE_DATABASE__NAME", db.as_str()),
    ])
    .await;
    Some((app, db))
}

async fn drop_live(db: &str) {
    let uri = std::env::var("FLAGSTONE_TEST_MONGODB_URI").unwrap();
    let store = flagstone::Store::connect(&uri).await.unwrap();
    if let Some(mongo) = store.mongo() {
        let _ = mongo.client().database(db).drop().await;
    }
}

/// Runs a scenario on the embedded store and then on the live server.
macro_rules! on_both_stores {
    ($($name:ident => $scenario:ident;)*) => {$(
        #[tokio::test]
        async fn $name() {
            $scenario(&embedded().await).await;
            if let Some((app, db)) = live(stringify!($name)).await {
                $scenario(&app).await;
                drop_live(&db).await;
            }
        }
    )*};
}

on_both_stores! {
    users_register_log_in_and_change_their_settings => users;
    profiles_and_follows => profiles;
    articles_lists_and_the_feed => articles;
    authors_alone_change_their_articles => article_changes;
    favorites_are_idempotent_and_counted => favorites;
    comments_have_integer_ids_and_authors => comments;
    tags_are_every_tag_in_use => tags;
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> TestResponse {
    let mut request = app.request(method, &format!("/api{path}"));
    if let Some(token) = token {
        request = request.header("authorization", &format!("Token {token}"));
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> TestResponse {
    call(app, Method::GET, path, token, None).await
}

/// Asserts the status, and that an error body has RealWorld's shape.
#[track_caller]
fn expect(response: &TestResponse, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "{}", response.text());
    if status.is_client_error() {
        let body = response.json();
        let errors = body["errors"].as_object().expect("an errors object");
        assert!(!errors.is_empty(), "{body}");
        for messages in errors.values() {
            assert!(
                messages
                    .as_array()
                    .is_some_and(|m| !m.is_empty() && m.iter().all(Value::is_string)),
                "{body}"
            );
        }
        assert_eq!(response.header("content-type"), Some("application/json"));
        return body;
    }
    if status == StatusCode::NO_CONTENT {
        return Value::Null;
    }
    response.json()
}

/// Registers `name` and returns their token.
async fn register(app: &TestApp, name: &str) -> String {
    let body = json!({ "user": { "username": name, "email": format!("{name}@example.com"), "password": PASSWORD } });
    let r = call(app, Method::POST, "/users", None, Some(body)).await;
    let user = expect(&r, StatusCode::CREATED);
    user["user"]["token"].as_str().unwrap().to_owned()
}

async fn publish(app: &TestApp, token: &str, title: &str, tags: &[&str]) -> Value {
    let body = json!({ "article": {
        "title": title, "description": format!("about {title}"), "body": format!("all of {title}"), "tagList": tags,
    }});
    let r = call(app, Method::POST, "/articles", Some(token), Some(body)).await;
    expect(&r, StatusCode::CREATED)["article"].clone()
}

/// ISO 8601 in UTC with milliseconds, such as `2026-11-26T14:03:20.905Z`.
#[track_caller]
fn assert_timestamp(value: &Value) {
    let s = value.as_str().unwrap_or_default();
    let b = s.as_bytes();
    let ok = s.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    assert!(ok, "not a millisecond UTC timestamp: {value}");
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

async fn users(app: &TestApp) {
    // Register: 201, the User shape, no password anywhere.
    let body = json!({ "user": { "username": "jake", "email": "Jake@Example.com", "password": PASSWORD } });
    let r = call(app, Method::POST, "/users", None, Some(body)).await;
    let user = expect(&r, StatusCode::CREATED)["user"].clone();
    assert_eq!(keys(&user), ["bio", "email", "image", "token", "username"]);
    assert_eq!(user["username"], "jake");
    assert_eq!(user["email"], "Jake@Example.com");
    assert_eq!(user["bio"], Value::Null);
    assert_eq!(user["image"], Value::Null);
    assert!(!r.text().contains(PASSWORD) && !r.text().contains("password"));
    let token = user["token"].as_str().unwrap().to_owned();

    // Missing and empty required fields: 422, by field.
    for (body, field) in [
        (
            json!({ "user": { "email": "a@example.com", "password": PASSWORD } }),
            "username",
        ),
        (
            json!({ "user": { "username": "a", "password": PASSWORD } }),
            "email",
        ),
        (
            json!({ "user": { "username": "a", "email": "a@example.com" } }),
            "password",
        ),
        (
            json!({ "user": { "username": "", "email": "a@example.com", "password": PASSWORD } }),
            "username",
        ),
        (
            json!({ "user": { "username": "a", "email": " ", "password": PASSWORD } }),
            "email",
        ),
        (
            json!({ "user": { "username": "a", "email": "a@example.com", "password": "" } }),
            "password",
        ),
        (
            json!({ "user": { "username": "a", "email": "not-an-email", "password": PASSWORD } }),
            "email",
        ),
        (
            json!({ "user": { "username": "a", "email": "a@example.com", "password": "short" } }),
            "password",
        ),
    ] {
        let r = call(app, Method::POST, "/users", None, Some(body.clone())).await;
        let errors = expect(&r, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(errors["errors"][field].is_array(), "{body} → {errors}");
    }
    let r = call(app, Method::POST, "/users", None, Some(json!({}))).await;
    expect(&r, StatusCode::UNPROCESSABLE_ENTITY);

    // Taken email (whatever its case) and username: 422 naming each.
    let body = json!({ "user": { "username": "jake", "email": "JAKE@example.COM", "password": PASSWORD } });
    let r = call(app, Method::POST, "/users", None, Some(body)).await;
    let errors = expect(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(errors["errors"]["email"], json!(["has already been taken"]));
    assert_eq!(
        errors["errors"]["username"],
        json!(["has already been taken"])
    );

    // Login: 200 with a token that works; wrong credentials 401.
    let login =
        |email: &str, password: &str| json!({ "user": { "email": email, "password": password } });
    let r = call(
        app,
        Method::POST,
        "/users/login",
        None,
        Some(login("jake@example.com", PASSWORD)),
    )
    .await;
    let logged_in = expect(&r, StatusCode::OK)["user"].clone();
    assert_eq!(logged_in["username"], "jake");
    let fresh = logged_in["token"].as_str().unwrap();
    expect(&get(app, "/user", Some(fresh)).await, StatusCode::OK);
    let r = call(
        app,
        Method::POST,
        "/users/login",
        None,
        Some(login("jake@example.com", "wrong password")),
    )
    .await;
    let errors = expect(&r, StatusCode::UNAUTHORIZED);
    assert!(errors["errors"]["body"].is_array());
    let r = call(
        app,
        Method::POST,
        "/users/login",
        None,
        Some(login("nobody@example.com", PASSWORD)),
    )
    .await;
    expect(&r, StatusCode::UNAUTHORIZED);
    let r = call(
        app,
        Method::POST,
        "/users/login",
        None,
        Some(json!({ "user": { "email": "" } })),
    )
    .await;
    expect(&r, StatusCode::UNPROCESSABLE_ENTITY);

    // Current user: Token or Bearer; nothing, garbage or another scheme is a 401.
    let me = expect(&get(app, "/user", Some(&token)).await, StatusCode::OK)["user"].clone();
    assert_eq!(me["token"], token.as_str());
    assert_eq!(me["email"], "Jake@Example.com");
    let r = app
        .request(Method::GET, "/api/user")
        .bearer(&token)
        .send()
        .await;
    expect(&r, StatusCode::OK);
    expect(&get(app, "/user", None).await, StatusCode::UNAUTHORIZED);
    expect(
        &get(app, "/user", Some("not.a.jwt")).await,
        StatusCode::UNAUTHORIZED,
    );
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    expect(
        &get(app, "/user", Some(&tampered)).await,
        StatusCode::UNAUTHORIZED,
    );
    let r = app
        .request(Method::GET, "/api/user")
        .header("authorization", &format!("Basic {token}"))
        .send()
        .await;
    let r401 = expect(&r, StatusCode::UNAUTHORIZED);
    assert!(r401["errors"]["body"].is_array());
    assert!(r.header("www-authenticate").is_some());

    // Update: any of the fields; the new password and email work, the old ones do not.
    let other = register(app, "other").await;
    let changes = json!({ "user": {
        "email": "jacob@example.com", "username": "jacob", "password": "a new long password",
        "bio": "I work at statefarm", "image": "https://example.com/jacob.png",
    }});
    let r = call(app, Method::PUT, "/user", Some(&token), Some(changes)).await;
    let updated = expect(&r, StatusCode::OK)["user"].clone();
    assert_eq!(updated["email"], "jacob@example.com");
    assert_eq!(updated["username"], "jacob");
    assert_eq!(updated["bio"], "I work at statefarm");
    assert_eq!(updated["image"], "https://example.com/jacob.png");
    assert_eq!(updated["token"], token.as_str());
    let r = call(
        app,
        Method::POST,
        "/users/login",
        None,
        Some(login("jacob@example.com", "a new long password")),
    )
    .await;
    expect(&r, StatusCode::OK);
    let r = call(
        app,
        Method::POST,
        "/users/login",
        None,
        Some(login("jake@example.com", PASSWORD)),
    )
    .await;
    expect(&r, StatusCode::UNAUTHORIZED);
    // An empty bio clears it; absent fields stay.
    let r = call(
        app,
        Method::PUT,
        "/user",
        Some(&token),
        Some(json!({ "user": { "bio": "" } })),
    )
    .await;
    let cleared = expect(&r, StatusCode::OK)["user"].clone();
    assert_eq!(cleared["bio"], Value::Null);
    assert_eq!(cleared["image"], "https://example.com/jacob.png");
    // Taken values, empty values, bad types and unknown fields: 422; no token: 401.
    let r = call(
        app,
        Method::PUT,
        "/user",
        Some(&other),
        Some(json!({ "user": { "email": "JACOB@example.com" } })),
    )
    .await;
    assert_eq!(
        expect(&r, StatusCode::UNPROCESSABLE_ENTITY)["errors"]["email"],
        json!(["has already been taken"])
    );
    let r = call(
        app,
        Method::PUT,
        "/user",
        Some(&other),
        Some(json!({ "user": { "username": "jacob" } })),
    )
    .await;
    assert_eq!(
        expect(&r, StatusCode::UNPROCESSABLE_ENTITY)["errors"]["username"],
        json!(["has already been taken"])
    );
    for body in [
        json!({ "user": { "username": "" } }),
        json!({ "user": { "email": "" } }),
        json!({ "user": { "password": "" } }),
        json!({ "user": { "bio": 5 } }),
        json!({ "user": { "admin": true } }),
    ] {
        let r = call(app, Method::PUT, "/user", Some(&other), Some(body)).await;
        expect(&r, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Keeping one's own email is not "taken".
    let r = call(
        app,
        Method::PUT,
        "/user",
        Some(&other),
        Some(json!({ "user": { "email": "other@example.com" } })),
    )
    .await;
    expect(&r, StatusCode::OK);
    let r = call(
        app,
        Method::PUT,
        "/user",
        None,
        Some(json!({ "user": { "bio": "x" } })),
    )
    .await;
    expect(&r, StatusCode::UNAUTHORIZED);
}

async fn profiles(app: &TestApp) {
    let celeb = register(app, "celeb").await;
    let fan = register(app, "fan").await;
    let r = call(
        app,
        Method::PUT,
        "/user",
        Some(&celeb),
        Some(json!({ "user": { "bio": "famous" } })),
    )
    .await;
    expect(&r, StatusCode::OK);

    let profile =
        expect(&get(app, "/profiles/celeb", None).await, StatusCode::OK)["profile"].clone();
    assert_eq!(
        profile,
        json!({ "username": "celeb", "bio": "famous", "image": null, "following": false })
    );
    expect(
        &get(app, "/profiles/nobody", None).await,
        StatusCode::NOT_FOUND,
    );

    // Following twice changes nothing.
    for _ in 0..2 {
        let r = call(
            app,
            Method::POST,
            "/profiles/celeb/follow",
            Some(&fan),
            None,
        )
        .await;
        assert_eq!(expect(&r, StatusCode::OK)["profile"]["following"], true);
    }
    let seen = expect(
        &get(app, "/profiles/celeb", Some(&fan)).await,
        StatusCode::OK,
    );
    assert_eq!(seen["profile"]["following"], true);
    let seen = expect(
        &get(app, "/profiles/celeb", Some(&celeb)).await,
        StatusCode::OK,
    );
    assert_eq!(seen["profile"]["following"], false);
    let seen = expect(&get(app, "/profiles/celeb", None).await, StatusCode::OK);
    assert_eq!(seen["profile"]["following"], false);

    // So does unfollowing twice.
    for _ in 0..2 {
        let r = call(
            app,
            Method::DELETE,
            "/profiles/celeb/follow",
            Some(&fan),
            None,
        )
        .await;
        assert_eq!(expect(&r, StatusCode::OK)["profile"]["following"], false);
    }
    let seen = expect(
        &get(app, "/profiles/celeb", Some(&fan)).await,
        StatusCode::OK,
    );
    assert_eq!(seen["profile"]["following"], false);

    let r = call(app, Method::POST, "/profiles/celeb/follow", None, None).await;
    expect(&r, StatusCode::UNAUTHORIZED);
    let r = call(app, Method::DELETE, "/profiles/celeb/follow", None, None).await;
    expect(&r, StatusCode::UNAUTHORIZED);
    let r = call(
        app,
        Method::POST,
        "/profiles/nobody/follow",
        Some(&fan),
        None,
    )
    .await;
    expect(&r, StatusCode::NOT_FOUND);
    let r = call(
        app,
        Method::DELETE,
        "/profiles/nobody/follow",
        Some(&fan),
        None,
    )
    .await;
    expect(&r, StatusCode::NOT_FOUND);
    let r = call(app, Method::POST, "/profiles/fan/follow", Some(&fan), None).await;
    expect(&r, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn articles(app: &TestApp) {
    let alice = register(app, "alice").await;
    let bob = register(app, "bob").await;
    let carol = register(app, "carol").await;

    // Create: 201, the Article shape, a slug from the title, tags sorted.
    let first = publish(
        app,
        &alice,
        "How to Train Your Dragon",
        &["training", "dragons", "dragons"],
    )
    .await;
    assert_eq!(
        keys(&first),
        [
            "author",
            "body",
            "createdAt",
            "description",
            "favorited",
            "favoritesCount",
            "slug",
            "tagList",
            "title",
            "updatedAt"
        ]
    );
    assert_eq!(first["slug"], "how-to-train-your-dragon");
    assert_eq!(first["tagList"], json!(["dragons", "training"]));
    assert_eq!(first["body"], "all of How to Train Your Dragon");
    assert_eq!(first["favorited"], false);
    assert_eq!(first["favoritesCount"], 0);
    assert_eq!(
        first["author"],
        json!({ "username": "alice", "bio": null, "image": null, "following": false })
    );
    assert_timestamp(&first["createdAt"]);
    assert_timestamp(&first["updatedAt"]);

    // The same title again: another, still unique slug.
    let again = publish(app, &bob, "How to Train Your Dragon", &[]).await;
    let slug2 = again["slug"].as_str().unwrap();
    assert_ne!(slug2, "how-to-train-your-dragon");
    assert!(slug2.starts_with("how-to-train-your-dragon-"), "{slug2}");
    assert_eq!(again["tagList"], json!([]));
    let third = publish(app, &carol, "Dragons, Again!", &["dragons"]).await;
    assert_eq!(third["slug"], "dragons-again");

    // Required fields and auth.
    for body in [
        json!({ "article": { "description": "d", "body": "b" } }),
        json!({ "article": { "title": "t", "body": "b" } }),
        json!({ "article": { "title": "t", "description": "d" } }),
        json!({ "article": { "title": "", "description": "d", "body": "b" } }),
        json!({ "article": { "title": "t", "description": "  ", "body": "b" } }),
        json!({ "article": { "title": "t", "description": "d", "body": "b", "tagList": "dragons" } }),
        json!({ "article": { "title": "t", "description": "d", "body": "b", "tagList": [""] } }),
        json!({ "title": "t", "description": "d", "body": "b" }),
    ] {
        let r = call(
            app,
            Method::POST,
            "/articles",
            Some(&alice),
            Some(body.clone()),
        )
        .await;
        expect(&r, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let body = json!({ "article": { "title": "t", "description": "d", "body": "b" } });
    let r = call(app, Method::POST, "/articles", None, Some(body.clone())).await;
    expect(&r, StatusCode::UNAUTHORIZED);

    // Single article: with body; unknown slug 404.
    let one = expect(
        &get(app, "/articles/how-to-train-your-dragon", None).await,
        StatusCode::OK,
    );
    assert_eq!(one["article"]["body"], "all of How to Train Your Dragon");
    assert_eq!(one["article"]["author"]["username"], "alice");
    expect(
        &get(app, "/articles/no-such-article", None).await,
        StatusCode::NOT_FOUND,
    );

    // List: newest first, without bodies, articlesCount the total.
    let all = expect(&get(app, "/articles", None).await, StatusCode::OK);
    assert_eq!(keys(&all), ["articles", "articlesCount"]);
    assert_eq!(all["articlesCount"], 3);
    let slugs: Vec<&str> = all["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["dragons-again", slug2, "how-to-train-your-dragon"]);
    assert!(all["articles"][0].get("body").is_none());
    assert_timestamp(&all["articles"][0]["createdAt"]);
    let page = expect(
        &get(app, "/articles?limit=1&offset=1", None).await,
        StatusCode::OK,
    );
    assert_eq!(page["articlesCount"], 3);
    assert_eq!(page["articles"].as_array().unwrap().len(), 1);
    assert_eq!(page["articles"][0]["slug"], slug2);
    let past = expect(&get(app, "/articles?offset=10", None).await, StatusCode::OK);
    assert_eq!(past["articlesCount"], 3);
    assert_eq!(past["articles"], json!([]));

    // Filters: tag, author, favorited (by username); unknown names match nothing.
    let tagged = expect(
        &get(app, "/articles?tag=dragons", None).await,
        StatusCode::OK,
    );
    assert_eq!(tagged["articlesCount"], 2);
    let by_bob = expect(
        &get(app, "/articles?author=bob", None).await,
        StatusCode::OK,
    );
    assert_eq!(by_bob["articlesCount"], 1);
    assert_eq!(by_bob["articles"][0]["author"]["username"], "bob");
    let both = expect(
        &get(app, "/articles?author=alice&tag=training", None).await,
        StatusCode::OK,
    );
    assert_eq!(both["articlesCount"], 1);
    let none = expect(
        &get(app, "/articles?author=nobody", None).await,
        StatusCode::OK,
    );
    assert_eq!(none, json!({ "articles": [], "articlesCount": 0 }));
    let none = expect(
        &get(app, "/articles?favorited=nobody", None).await,
        StatusCode::OK,
    );
    assert_eq!(none["articlesCount"], 0);
    let r = call(
        app,
        Method::POST,
        "/articles/dragons-again/favorite",
        Some(&bob),
        None,
    )
    .await;
    expect(&r, StatusCode::OK);
    let faved = expect(
        &get(app, "/articles?favorited=bob", None).await,
        StatusCode::OK,
    );
    assert_eq!(faved["articlesCount"], 1);
    assert_eq!(faved["articles"][0]["slug"], "dragons-again");
    assert_eq!(
        faved["articles"][0]["favorited"], false,
        "anonymous callers favorite nothing"
    );
    let as_bob = expect(
        &get(app, "/articles?favorited=bob", Some(&bob)).await,
        StatusCode::OK,
    );
    assert_eq!(as_bob["articles"][0]["favorited"], true);
    assert_eq!(as_bob["articles"][0]["favoritesCount"], 1);

    // Bad paging: 422.
    for query in ["limit=0", "limit=101", "limit=-1", "limit=ten", "offset=-1"] {
        expect(
            &get(app, &format!("/articles?{query}"), None).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }

    // Feed: only followed authors, newest first; 401 anonymous.
    let empty = expect(
        &get(app, "/articles/feed", Some(&alice)).await,
        StatusCode::OK,
    );
    assert_eq!(empty, json!({ "articles": [], "articlesCount": 0 }));
    for author in ["bob", "carol"] {
        let r = call(
            app,
            Method::POST,
            &format!("/profiles/{author}/follow"),
            Some(&alice),
            None,
        )
        .await;
        expect(&r, StatusCode::OK);
    }
    let feed = expect(
        &get(app, "/articles/feed", Some(&alice)).await,
        StatusCode::OK,
    );
    assert_eq!(feed["articlesCount"], 2);
    assert_eq!(feed["articles"][0]["slug"], "dragons-again");
    assert_eq!(feed["articles"][0]["author"]["following"], true);
    assert!(feed["articles"][0].get("body").is_none());
    let feed = expect(
        &get(app, "/articles/feed?limit=1&offset=1", Some(&alice)).await,
        StatusCode::OK,
    );
    assert_eq!(feed["articlesCount"], 2);
    assert_eq!(feed["articles"][0]["slug"], slug2);
    expect(
        &get(app, "/articles/feed", None).await,
        StatusCode::UNAUTHORIZED,
    );
    expect(
        &get(app, "/articles/feed?limit=0", Some(&alice)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    // Following shows in the single view and lists too.
    let seen = expect(
        &get(app, "/articles/dragons-again", Some(&alice)).await,
        StatusCode::OK,
    );
    assert_eq!(seen["article"]["author"]["following"], true);
}

async fn article_changes(app: &TestApp) {
    let author = register(app, "writer").await;
    let stranger = register(app, "stranger").await;
    let article = publish(app, &author, "First Draft", &["drafts"]).await;
    assert_eq!(article["slug"], "first-draft");

    // Only the author edits; a new title gives a new slug, and the old one is gone.
    let edit = json!({ "article": { "title": "Final Version", "body": "polished" } });
    let r = call(
        app,
        Method::PUT,
        "/articles/first-draft",
        Some(&stranger),
        Some(edit.clone()),
    )
    .await;
    expect(&r, StatusCode::FORBIDDEN);
    let r = call(
        app,
        Method::PUT,
        "/articles/first-draft",
        None,
        Some(edit.clone()),
    )
    .await;
    expect(&r, StatusCode::UNAUTHORIZED);
    let r = call(
        app,
        Method::PUT,
        "/articles/no-such",
        Some(&author),
        Some(edit.clone()),
    )
    .await;
    expect(&r, StatusCode::NOT_FOUND);
    let r = call(
        app,
        Method::PUT,
        "/articles/first-draft",
        Some(&author),
        Some(edit),
    )
    .await;
    let edited = expect(&r, StatusCode::OK)["article"].clone();
    assert_eq!(edited["slug"], "final-version");
    assert_eq!(edited["title"], "Final Version");
    assert_eq!(edited["body"], "polished");
    assert_eq!(edited["description"], "about First Draft");
    assert_eq!(edited["tagList"], json!(["drafts"]));
    assert_eq!(edited["createdAt"], article["createdAt"]);
    assert_timestamp(&edited["updatedAt"]);
    assert!(edited["updatedAt"].as_str() >= article["updatedAt"].as_str());
    expect(
        &get(app, "/articles/first-draft", None).await,
        StatusCode::NOT_FOUND,
    );
    expect(
        &get(app, "/articles/final-version", None).await,
        StatusCode::OK,
    );

    // The description alone keeps the slug; empty fields and unknown fields are 422.
    let r = call(
        app,
        Method::PUT,
        "/articles/final-version",
        Some(&author),
        Some(json!({ "article": { "description": "new" } })),
    )
    .await;
    assert_eq!(
        expect(&r, StatusCode::OK)["article"]["slug"],
        "final-version"
    );
    for body in [
        json!({ "article": { "title": "" } }),
        json!({ "article": { "body": " " } }),
        json!({ "article": { "slug": "mine" } }),
        json!({ "article": { "title": 7 } }),
    ] {
        let r = call(
            app,
            Method::PUT,
            "/articles/final-version",
            Some(&author),
            Some(body),
        )
        .await;
        expect(&r, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Retitling onto another article's slug still gives a unique one.
    publish(app, &author, "Taken Title", &[]).await;
    let r = call(
        app,
        Method::PUT,
        "/articles/final-version",
        Some(&author),
        Some(json!({ "article": { "title": "Taken Title" } })),
    )
    .await;
    let moved = expect(&r, StatusCode::OK)["article"].clone();
    assert!(
        moved["slug"].as_str().unwrap().starts_with("taken-title-"),
        "{moved}"
    );
    let slug = moved["slug"].as_str().unwrap().to_owned();

    // Only the author deletes: 204, then 404; comments and favorites go with it.
    let r = call(
        app,
        Method::POST,
        &format!("/articles/{slug}/comments"),
        Some(&stranger),
        Some(json!({ "comment": { "body": "hi" } })),
    )
    .await;
    expect(&r, StatusCode::CREATED);
    let r = call(
        app,
        Method::DELETE,
        &format!("/articles/{slug}"),
        Some(&stranger),
        None,
    )
    .await;
    expect(&r, StatusCode::FORBIDDEN);
    let r = call(
        app,
        Method::DELETE,
        &format!("/articles/{slug}"),
        None,
        None,
    )
    .await;
    expect(&r, StatusCode::UNAUTHORIZED);
    let r = call(
        app,
        Method::DELETE,
        &format!("/articles/{slug}"),
        Some(&author),
        None,
    )
    .await;
    expect(&r, StatusCode::NO_CONTENT);
    assert!(r.bytes().is_empty());
    expect(
        &get(app, &format!("/articles/{slug}"), None).await,
        StatusCode::NOT_FOUND,
    );
    expect(
        &get(app, &format!("/articles/{slug}/comments"), None).await,
        StatusCode::NOT_FOUND,
    );
    let r = call(
        app,
        Method::DELETE,
        &format!("/articles/{slug}"),
        Some(&author),
        None,
    )
    .await;
    expect(&r, StatusCode::NOT_FOUND);
    let left = expect(
        &get(app, "/articles?author=writer", None).await,
        StatusCode::OK,
    );
    assert_eq!(left["articlesCount"], 1);
}

async fn favorites(app: &TestApp) {
    let author = register(app, "poet").await;
    let reader = register(app, "reader").await;
    let other = register(app, "critic").await;
    publish(app, &author, "Ode", &[]).await;

    let favorite = |token: String, method: Method| async move {
        let r = call(app, method, "/articles/ode/favorite", Some(&token), None).await;
        expect(&r, StatusCode::OK)["article"].clone()
    };
    let a = favorite(reader.clone(), Method::POST).await;
    assert_eq!(
        (a["favorited"].clone(), a["favoritesCount"].clone()),
        (json!(true), json!(1))
    );
    assert_eq!(a["body"], "all of Ode");
    // Idempotent: favoriting twice counts once.
    let a = favorite(reader.clone(), Method::POST).await;
    assert_eq!(
        (a["favorited"].clone(), a["favoritesCount"].clone()),
        (json!(true), json!(1))
    );
    let a = favorite(other.clone(), Method::POST).await;
    assert_eq!(a["favoritesCount"], 2);
    let seen = expect(
        &get(app, "/articles/ode", Some(&reader)).await,
        StatusCode::OK,
    );
    assert_eq!(seen["article"]["favorited"], true);
    let seen = expect(
        &get(app, "/articles/ode", Some(&author)).await,
        StatusCode::OK,
    );
    assert_eq!(seen["article"]["favorited"], false);
    assert_eq!(seen["article"]["favoritesCount"], 2);

    let a = favorite(reader.clone(), Method::DELETE).await;
    assert_eq!(
        (a["favorited"].clone(), a["favoritesCount"].clone()),
        (json!(false), json!(1))
    );
    let a = favorite(reader.clone(), Method::DELETE).await;
    assert_eq!(
        (a["favorited"].clone(), a["favoritesCount"].clone()),
        (json!(false), json!(1))
    );
    let a = favorite(other.clone(), Method::DELETE).await;
    assert_eq!(a["favoritesCount"], 0);
    // Never below zero.
    let a = favorite(author.clone(), Method::DELETE).await;
    assert_eq!(a["favoritesCount"], 0);

    let r = call(app, Method::POST, "/articles/ode/favorite", None, None).await;
    expect(&r, StatusCode::UNAUTHORIZED);
    let r = call(app, Method::DELETE, "/articles/ode/favorite", None, None).await;
    expect(&r, StatusCode::UNAUTHORIZED);
    let r = call(
        app,
        Method::POST,
        "/articles/no-such/favorite",
        Some(&reader),
        None,
    )
    .await;
    expect(&r, StatusCode::NOT_FOUND);
    let r = call(
        app,
        Method::DELETE,
        "/articles/no-such/favorite",
        Some(&reader),
        None,
    )
    .await;
    expect(&r, StatusCode::NOT_FOUND);
}

async fn comments(app: &TestApp) {
    let author = register(app, "host").await;
    let guest = register(app, "guest").await;
    publish(app, &author, "Open Thread", &[]).await;
    let path = "/articles/open-thread/comments";

    let post = |token: String, body: &'static str| async move {
        let r = call(
            app,
            Method::POST,
            path,
            Some(&token),
            Some(json!({ "comment": { "body": body } })),
        )
        .await;
        expect(&r, StatusCode::CREATED)["comment"].clone()
    };
    let first = post(guest.clone(), "first!").await;
    assert_eq!(
        keys(&first),
        ["author", "body", "createdAt", "id", "updatedAt"]
    );
    assert!(first["id"].is_i64(), "{first}");
    assert_eq!(first["body"], "first!");
    assert_eq!(
        first["author"],
        json!({ "username": "guest", "bio": null, "image": null, "following": false })
    );
    assert_timestamp(&first["createdAt"]);
    let second = post(author.clone(), "thanks").await;
    assert_ne!(first["id"], second["id"]);

    let list = expect(&get(app, path, None).await, StatusCode::OK);
    assert_eq!(keys(&list), ["comments"]);
    let bodies: Vec<&str> = list["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["thanks", "first!"]);
    let r = call(
        app,
        Method::POST,
        "/profiles/host/follow",
        Some(&guest),
        None,
    )
    .await;
    expect(&r, StatusCode::OK);
    let list = expect(&get(app, path, Some(&guest)).await, StatusCode::OK);
    assert_eq!(list["comments"][0]["author"]["following"], true);

    for body in [
        json!({ "comment": { "body": "" } }),
        json!({ "comment": {} }),
        json!({ "body": "x" }),
    ] {
        let r = call(app, Method::POST, path, Some(&guest), Some(body)).await;
        expect(&r, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let r = call(
        app,
        Method::POST,
        path,
        None,
        Some(json!({ "comment": { "body": "x" } })),
    )
    .await;
    expect(&r, StatusCode::UNAUTHORIZED);
    let r = call(
        app,
        Method::POST,
        "/articles/no-such/comments",
        Some(&guest),
        Some(json!({ "comment": { "body": "x" } })),
    )
    .await;
    expect(&r, StatusCode::NOT_FOUND);
    expect(
        &get(app, "/articles/no-such/comments", None).await,
        StatusCode::NOT_FOUND,
    );

    // Deleting: the comment's author only; unknown ids are 404.
    let id = first["id"].as_i64().unwrap();
    let one = format!("{path}/{id}");
    expect(
        &call(app, Method::DELETE, &one, Some(&author), None).await,
        StatusCode::FORBIDDEN,
    );
    expect(
        &call(app, Method::DELETE, &one, None, None).await,
        StatusCode::UNAUTHORIZED,
    );
    expect(
        &call(
            app,
            Method::DELETE,
            &format!("{path}/999999"),
            Some(&guest),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    expect(
        &call(
            app,
            Method::DELETE,
            &format!("{path}/abc"),
            Some(&guest),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    let r = call(app, Method::DELETE, &one, Some(&guest), None).await;
    expect(&r, StatusCode::NO_CONTENT);
    expect(
        &call(app, Method::DELETE, &one, Some(&guest), None).await,
        StatusCode::NOT_FOUND,
    );
    // A comment id only counts on its own article.
    publish(app, &author, "Elsewhere", &[]).await;
    let second_id = second["id"].as_i64().unwrap();
    let r = call(
        app,
        Method::DELETE,
        &format!("/articles/elsewhere/comments/{second_id}"),
        Some(&author),
        None,
    )
    .await;
    expect(&r, StatusCode::NOT_FOUND);
    let list = expect(&get(app, path, None).await, StatusCode::OK);
    assert_eq!(list["comments"].as_array().unwrap().len(), 1);
}

async fn tags(app: &TestApp) {
    assert_eq!(
        expect(&get(app, "/tags", None).await, StatusCode::OK),
        json!({ "tags": [] })
    );
    let token = register(app, "tagger").await;
    publish(app, &token, "One", &["rust", "axum"]).await;
    publish(app, &token, "Two", &["mongodb", "rust"]).await;
    let tags = expect(&get(app, "/tags", None).await, StatusCode::OK);
    assert_eq!(tags, json!({ "tags": ["axum", "mongodb", "rust"] }));
}

#[tokio::test]
async fn every_error_has_the_realworld_shape() {
    let app = embedded().await;
    let r = get(&app, "/no/such/route", None).await;
    let body = expect(&r, StatusCode::NOT_FOUND);
    assert!(
        body["errors"]["body"][0]
            .as_str()
            .unwrap()
            .contains("no route")
    );
    // Malformed JSON is a 400, a wrong content type a 415, both in the same shape.
    let r = app
        .request(Method::POST, "/api/users")
        .header("content-type", "application/json")
        .send()
        .await;
    expect(&r, StatusCode::BAD_REQUEST);
    let r = app
        .request(Method::POST, "/api/users")
        .header("content-type", "text/plain")
        .send()
        .await;
    expect(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Operator injection in a login is refused before it reaches the store.
    let r = call(
        &app,
        Method::POST,
        "/users/login",
        None,
        Some(json!({ "user": { "email": { "$gt": "" }, "password": PASSWORD } })),
    )
    .await;
    assert!(r.status().is_client_error(), "{}", r.text());
    expect(&r, r.status());
    let r = call(&app, Method::DELETE, "/tags", None, None).await;
    expect(&r, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled() {
    let app = embedded().await;
    register(&app, "target").await;
    let wrong =
        json!({ "user": { "email": "target@example.com", "password": "not the password" } });
    for _ in 0..5 {
        let r = call(
            &app,
            Method::POST,
            "/users/login",
            None,
            Some(wrong.clone()),
        )
        .await;
        expect(&r, StatusCode::UNAUTHORIZED);
    }
    let r = call(&app, Method::POST, "/users/login", None, Some(wrong)).await;
    expect(&r, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn credential_routes_are_rate_limited_per_client() {
    let app = app_with(&[("FLAGSTONE_AUTH__RATE_LIMIT", "2")]).await;
    let body = json!({ "user": { "email": "a@example.com", "password": PASSWORD } });
    for _ in 0..2 {
        let r = call(&app, Method::POST, "/users/login", None, Some(body.clone())).await;
        expect(&r, StatusCode::UNAUTHORIZED);
    }
    let r = call(&app, Method::POST, "/users/login", None, Some(body)).await;
    expect(&r, StatusCode::TOO_MANY_REQUESTS);
    // Reading is not a credential route.
    expect(&get(&app, "/tags", None).await, StatusCode::OK);
}

#[tokio::test]
async fn the_openapi_document_covers_every_route_and_the_error_shape() {
    let app = embedded().await;
    app.openapi_agreement().await.assert_ok();
    let r = app.get("/openapi.json").await;
    assert_eq!(r.status(), StatusCode::OK);
    let doc = r.json();
    let paths = doc["paths"].as_object().unwrap();
    let operations: usize = paths
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(operations, 19, "{:?}", paths.keys().collect::<Vec<_>>());
    assert!(paths.contains_key("/api/articles/{slug}/comments/{id}"));
    let errors = &doc["components"]["schemas"]["Problem"];
    assert_eq!(errors["required"], json!(["errors"]));
    // An error status declared with a description only gets the error body.
    let login_401 = &doc["paths"]["/api/users/login"]["post"]["responses"]["401"]["content"];
    assert_eq!(
        login_401["application/json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
    let unauthorized = &doc["components"]["responses"]["Unauthorized"]["content"];
    assert!(
        unauthorized.get("application/json").is_some(),
        "{unauthorized}"
    );
    let r = app.get("/docs").await;
    assert_eq!(r.status(), StatusCode::OK);

    // openapi-spec-validator (installed by `.ci/run`) accepts it.
    flagstone::testing::openapi_spec_validator(&doc);
}

#[test]
fn port_is_an_alias_of_server_port_and_the_host_is_loopback() {
    let load = |vars: &[(&str, &str)]| {
        realworld::config::loader_with(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())))
            .dir(tempfile::tempdir().unwrap().path())
            .load()
            .unwrap()
    };
    let config = load(&[("PORT", "4321")]);
    assert_eq!(config.server.port, 4321);
    assert_eq!(config.server.host, "127.0.0.1");
    assert_eq!(config.api.prefix, "/api");
    let config = load(&[("PORT", "4321"), ("FLAGSTONE_SERVER__PORT", "5000")]);
    assert_eq!(config.server.port, 5000);
    assert_eq!(load(&[]).server.port, 3000);
}
