//! A derived resource served by `App::resource`, over HTTP: the whole lifecycle with every
//! supported field type, the access matrix, list queries with expansion, and the
//! OpenAPI agreement — on the embedded store, and on the live server when CI provides one.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use flagstone::{
    App,
    auth::User,
    config::{ConfigLoader, Profile},
    mail::Mailer,
    prelude::*,
    store::{Document, Timestamp},
    testing::{TestApp, TestResponse},
};
use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// An embedded document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Size {
    /// Width in mm.
    #[validate(range(min = 0.0))]
    pub width: f64,
    /// Height in mm.
    #[validate(range(min = 0.0))]
    pub height: f64,
}

/// A gadget: every supported field type.
#[derive(Model, Resource)]
#[model(timestamps)]
#[index(fields(price = 1))]
#[index(fields(stock = 1))]
#[index(fields(released = 1))]
#[index(fields(color = 1))]
#[index(fields(tags = 1))]
#[index(fields(active = 1))]
#[resource(path = "/gadgets", list = public, get = public, create = authenticated,
           update = owner_or("admin"), delete = owner)]
pub struct Gadget {
    /// The id.
    pub id: Id<Gadget>,
    /// A unique name.
    #[field(len(min = 2, max = 40), filter, sort, select, unique)]
    pub name: String,
    /// Units in stock.
    #[field(range(min = 0, max = 1000), filter, sort)]
    pub stock: i64,
    /// The price.
    #[field(range(min = 0.0), filter, sort)]
    pub price: f64,
    /// On sale.
    #[field(filter)]
    pub active: bool,
    /// When it came out.
    #[field(filter, sort)]
    pub released: Timestamp,
    /// Its colour.
    #[field(one_of("red", "green", "blue"), filter)]
    pub color: String,
    /// A remark.
    #[field(len(max = 200))]
    pub note: Option<String>,
    /// Labels.
    #[field(each(len(min = 1, max = 10)), filter)]
    pub tags: Vec<String>,
    /// Outer size.
    #[field(nested)]
    pub size: Size,
    /// Its parts' sizes.
    #[field(nested)]
    pub parts: Vec<Size>,
    /// Who listed it.
    #[field(owner)]
    pub owner: Id<User>,
    /// Never shown.
    #[field(hidden)]
    pub internal: String,
    /// Created.
    pub created_at: Timestamp,
    /// Updated.
    pub updated_at: Timestamp,
}

/// A memo: editors only, except the public list; never deleted.
#[derive(Model, Resource)]
#[resource(path = "/memos", default = role("editor"), list = public, delete = disabled)]
pub struct Memo {
    /// The id.
    pub id: Id<Memo>,
    /// The text.
    #[field(len(min = 1, max = 50))]
    pub text: String,
}

const SECRET: &str = "a-test-secret-that-is-long-enough-123";

struct Harness {
    app: TestApp,
    store: Store,
}

async fn harness(store: Store) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigLoader::new()
        .profile(Profile::Test)
        .dir(dir.path())
        .env([
            ("FLAGSTONE_AUTH__SECRET", SECRET),
            ("FLAGSTONE_AUTH__ARGON2_MEMORY", "64KiB"),
            ("FLAGSTONE_AUTH__ARGON2_ITERATIONS", "1"),
            ("FLAGSTONE_AUTH__RATE_LIMIT", "0"),
            ("FLAGSTONE_RATE_LIMIT__ENABLED", "false"),
        ])
        .load()
        .unwrap();
    let app = App::new(config)
        .store(store.clone())
        .mailer(Mailer::memory().0)
        .auth()
        .await
        .unwrap()
        .resource::<Gadget>()
        .await
        .unwrap()
        .resource::<Memo>()
        .await
        .unwrap();
    Harness {
        app: TestApp::new(app),
        store,
    }
}

impl Harness {
    /// Registers `name` (also its username) and returns (token, id).
    async fn user(&self, name: &str, roles: &[&str]) -> (String, String) {
        let email = format!("{name}@example.com");
        let body = json!({ "email": email, "password": "correct horse battery", "username": name });
        let r = self.app.post_json("/api/v1/auth/register", &body).await;
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text());
        let id = r.json()["user"]["id"].as_str().unwrap().to_owned();
        if !roles.is_empty() {
            let oid = bson::oid::ObjectId::parse_str(&id).unwrap();
            self.store
                .collection::<Document>("users")
                .update_one(doc! { "_id": oid }, doc! { "$set": { "roles": roles } })
                .await
                .unwrap();
        }
        let login = json!({ "email": email, "password": "correct horse battery" });
        let r = self.app.post_json("/api/v1/auth/login", &login).await;
        (r.json()["access_token"].as_str().unwrap().to_owned(), id)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> TestResponse {
        let mut req = self.app.request(method, path);
        if let Some(token) = token {
            req = req.bearer(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        req.send().await
    }
}

fn gadget(name: &str) -> Value {
    json!({
        "name": name,
        "stock": 12,
        "price": 19.5,
        "active": true,
        "released": "2026-03-01T10:00:00.000Z",
        "color": "red",
        "note": "fragile",
        "tags": ["tool", "steel"],
        "size": { "width": 10.0, "height": 4.5 },
        "parts": [{ "width": 1.0, "height": 2.0 }],
    })
}

/// Every field type through create, get, list, patch, put and delete.
async fn lifecycle(h: &Harness) {
    let (alice, alice_id) = h.user("alice", &[]).await;
    let (bob, _) = h.user("bob", &[]).await;
    let (admin, _) = h.user("root", &["admin"]).await;

    // Create.
    let r = h
        .call(
            Method::POST,
            "/api/v1/gadgets",
            Some(&alice),
            Some(&gadget("Wrench")),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text());
    let created = r.json();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/gadgets/{id}").as_str())
    );
    assert_eq!(created["owner"], alice_id.as_str());
    assert_eq!(created["released"], "2026-03-01T10:00:00.000Z");
    assert_eq!(created["size"], json!({ "width": 10.0, "height": 4.5 }));
    assert_eq!(created["tags"], json!(["tool", "steel"]));
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(
        created.get("internal").is_none(),
        "hidden fields never show"
    );
    // Stored with BSON types: an ObjectId id and owner, a date, an int64, a double.
    let stored = h
        .store
        .collection::<Document>("gadgets")
        .find_one(doc! { "name": "Wrench" })
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(stored.get("_id"), Some(bson::Bson::ObjectId(_))));
    assert!(matches!(stored.get("owner"), Some(bson::Bson::ObjectId(_))));
    assert!(matches!(
        stored.get("released"),
        Some(bson::Bson::DateTime(_))
    ));
    assert!(matches!(stored.get("stock"), Some(bson::Bson::Int64(12))));
    assert!(matches!(stored.get("price"), Some(bson::Bson::Double(_))));

    // Invalid bodies: every field error at once; unknown and server-set fields refused.
    let mut bad = gadget("W");
    bad["color"] = json!("purple");
    bad["stock"] = json!(5000);
    bad["tags"] = json!(["", "a-much-too-long-tag"]);
    bad["size"]["width"] = json!(-1.0);
    let r = h
        .call(Method::POST, "/api/v1/gadgets", Some(&alice), Some(&bad))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let fields: Vec<String> = r.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    for field in ["name", "color", "stock", "tags[0]", "tags[1]", "size.width"] {
        assert!(fields.iter().any(|f| f == field), "{field} in {fields:?}");
    }
    for extra in ["internal", "owner", "id", "_id", "created_at"] {
        let mut body = gadget("Spanner");
        body[extra] = json!("65f1c0ffee0000000000beef");
        let r = h
            .call(Method::POST, "/api/v1/gadgets", Some(&alice), Some(&body))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{extra}: {}", r.text());
    }
    let mut injected = gadget("Spanner");
    injected["name"] = json!({ "$gt": "" });
    let r = h
        .call(
            Method::POST,
            "/api/v1/gadgets",
            Some(&alice),
            Some(&injected),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Unique names: 409.
    let r = h
        .call(
            Method::POST,
            "/api/v1/gadgets",
            Some(&bob),
            Some(&gadget("Wrench")),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT, "{}", r.text());
    // Anonymous creation: 401.
    let r = h
        .call(
            Method::POST,
            "/api/v1/gadgets",
            None,
            Some(&gadget("Pliers")),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // More gadgets for lists.
    for (i, name) in ["Hammer", "Saw", "Drill"].iter().enumerate() {
        let mut body = gadget(name);
        body["price"] = json!(10.0 * (i as f64 + 1.0));
        body["color"] = json!(["green", "blue", "red"][i]);
        body["tags"] = json!([format!("t{i}")]);
        let r = h
            .call(Method::POST, "/api/v1/gadgets", Some(&bob), Some(&body))
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text());
    }

    // Get: ETag and 304.
    let path = format!("/api/v1/gadgets/{id}");
    let r = h.call(Method::GET, &path, None, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let etag = r.header("etag").unwrap().to_owned();
    let r = h
        .app
        .request(Method::GET, &path)
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        h.call(Method::GET, "/api/v1/gadgets/nope", None, None)
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    let missing = format!("/api/v1/gadgets/{}", bson::oid::ObjectId::new());
    assert_eq!(
        h.call(Method::GET, &missing, None, None).await.status(),
        StatusCode::NOT_FOUND
    );

    // Lists: filters of every type, sort, fields, pages, expansion.
    let names = |r: &TestResponse| -> Vec<String> {
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let list = |q: &str| {
        let path = format!("/api/v1/gadgets?{q}");
        async move { h.call(Method::GET, &path, None, None).await }
    };
    assert_eq!(
        names(&list("color=red&sort=name").await),
        ["Drill", "Wrench"]
    );
    assert_eq!(
        names(&list("price[gte]=19.5&sort=-price").await),
        ["Drill", "Saw", "Wrench"]
    );
    assert_eq!(
        names(&list("tags[in]=t0,t1&sort=name").await),
        ["Hammer", "Saw"]
    );
    assert_eq!(
        names(&list("active=true&stock[lt]=100&sort=name&limit=2").await),
        ["Drill", "Hammer"]
    );
    assert_eq!(
        names(&list("released[gte]=2026-01-01T00:00:00Z&sort=name&offset=3").await),
        ["Wrench"]
    );
    let r = list("sort=name&limit=2").await;
    assert_eq!(r.json()["meta"]["total"], 4);
    assert!(r.header("link").unwrap().contains("rel=\"next\""));
    let r = list("fields=name&sort=name&limit=1").await;
    assert_eq!(
        r.json()["items"][0].as_object().unwrap().len(),
        2,
        "{}",
        r.text()
    );
    let r = list("expand=owner&name=Wrench").await;
    let owner = &r.json()["items"][0]["owner"];
    assert_eq!(owner["username"], "alice", "{}", r.text());
    assert!(owner.get("email").is_none(), "expansion never shows emails");
    for bad in [
        "internal=x",
        "note=x",
        "price[prefix]=1",
        "sort=internal",
        "expand=size",
        "limit=1000",
    ] {
        assert_eq!(list(bad).await.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    assert!(!list("sort=name").await.text().contains("internal"));

    // Patch: absent stays, null clears, values change; owners and admins only.
    let r = h
        .call(
            Method::PATCH,
            &path,
            Some(&alice),
            Some(&json!({ "stock": 7, "note": null })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["stock"], 7);
    assert!(r.json()["note"].is_null());
    assert_eq!(r.json()["price"], 19.5);
    assert_eq!(
        h.call(
            Method::PATCH,
            &path,
            Some(&bob),
            Some(&json!({ "stock": 1 }))
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.call(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(&json!({ "stock": 8 }))
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        h.call(
            Method::PATCH,
            &path,
            Some(&alice),
            Some(&json!({ "owner": "65f1c0ffee0000000000beef" }))
        )
        .await
        .status(),
        StatusCode::BAD_REQUEST
    );
    let r = h
        .app
        .request(Method::PATCH, &path)
        .bearer(&alice)
        .header("if-match", &etag)
        .json(&json!({ "stock": 9 }))
        .send()
        .await;
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED, "a stale ETag");

    // Put replaces the writable fields and keeps id, owner and created_at.
    let mut replacement = gadget("Wrench");
    replacement["stock"] = json!(1);
    replacement["note"] = json!(null);
    let r = h
        .call(Method::PUT, &path, Some(&alice), Some(&replacement))
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["stock"], 1);
    assert_eq!(r.json()["owner"], alice_id.as_str());
    assert_eq!(r.json()["created_at"], created["created_at"]);

    // Delete: owner only (not even admins, by this resource's rule).
    assert_eq!(
        h.call(Method::DELETE, &path, Some(&admin), None)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.call(Method::DELETE, &path, Some(&bob), None)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.call(Method::DELETE, &path, None, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.call(Method::DELETE, &path, Some(&alice), None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.call(Method::GET, &path, None, None).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_lifecycle_on_the_embedded_store() {
    let h = harness(Store::memory()).await;
    lifecycle(&h).await;
}

#[tokio::test]
async fn the_lifecycle_on_the_live_server() {
    let Ok(uri) = std::env::var("FLAGSTONE_TEST_MONGODB_URI") else {
        println!("skipped: FLAGSTONE_TEST_MONGODB_URI is not set (scripts/test-mongo.sh start)");
        return;
    };
    let mut config = flagstone::config::DatabaseConfig::default();
    config.url = Some(uri);
    config.name = Some(format!("gadgets_{}", bson::oid::ObjectId::new().to_hex()));
    let store = Store::open(&config).await.unwrap();
    let h = harness(store.clone()).await;
    let outcome =
        futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(lifecycle(&h))).await;
    if let Some(db) = store.mongo() {
        let _ = db.drop().await;
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

#[tokio::test]
async fn the_document_agrees_with_the_router() {
    let h = harness(Store::memory()).await;
    h.app.openapi_agreement().await.assert_ok();
    let doc = h.app.get("/openapi.json").await.json();
    let paths = &doc["paths"];
    for (path, method) in [
        ("/api/v1/gadgets", "get"),
        ("/api/v1/gadgets", "post"),
        ("/api/v1/gadgets/{id}", "get"),
        ("/api/v1/gadgets/{id}", "put"),
        ("/api/v1/gadgets/{id}", "patch"),
        ("/api/v1/gadgets/{id}", "delete"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path}");
    }
    assert!(
        paths["/api/v1/gadgets"]["get"]["security"].is_null(),
        "public"
    );
    assert!(paths["/api/v1/gadgets"]["post"]["security"].is_array());
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["GadgetCreate"]["properties"]["name"]["maxLength"],
        40
    );
    assert!(
        schemas["GadgetView"]["properties"]
            .get("internal")
            .is_none()
    );
    assert!(schemas["GadgetCreate"]["properties"].get("owner").is_none());

    // Found by schemathesis: `?fields=` leaves fields out of list items and `?expand=`
    // puts objects where references were, so those answers have schemas of their own.
    assert_eq!(
        paths["/api/v1/gadgets"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/Page_GadgetViewSelected"
    );
    assert_eq!(schemas["GadgetViewSelected"]["required"], json!(["id"]));
    assert_eq!(
        paths["/api/v1/gadgets/{id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/GadgetViewExpanded"
    );
    let owner = &schemas["GadgetViewExpanded"]["properties"]["owner"]["anyOf"];
    assert_eq!(owner[1]["type"], json!(["object", "null"]), "{owner:#}");
    assert_eq!(
        schemas["GadgetViewExpanded"]["required"],
        schemas["GadgetView"]["required"]
    );
    // Creates and updates answer the plain view.
    assert_eq!(
        paths["/api/v1/gadgets/{id}"]["patch"]["responses"]["200"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/GadgetView"
    );
    let h2 = &h;
    let (token, _) = h2.user("shaper", &[]).await;
    let r = h2
        .call(
            Method::POST,
            "/api/v1/gadgets",
            Some(&token),
            Some(&gadget("Shaped")),
        )
        .await;
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let r = h2
        .call(
            Method::GET,
            &format!("/api/v1/gadgets/{id}?expand=owner"),
            Some(&token),
            None,
        )
        .await;
    assert!(r.json()["owner"].is_object(), "{}", r.text());
    let r = h2
        .call(
            Method::GET,
            "/api/v1/gadgets?fields=name",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        r.json()["items"][0].as_object().unwrap().len(),
        2,
        "{}",
        r.text()
    );
}

/// Found by schemathesis: `null` for a field that cannot be cleared (a required field in a
/// PATCH, a field with a default in a create) was taken as "left out"; it is refused.
#[tokio::test]
async fn null_is_refused_where_a_field_cannot_be_cleared() {
    let h = harness(Store::memory()).await;
    let (token, _) = h.user("nully", &[]).await;
    let r = h
        .call(
            Method::POST,
            "/api/v1/gadgets",
            Some(&token),
            Some(&gadget("Nulled")),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text());
    let path = format!("/api/v1/gadgets/{}", r.json()["id"].as_str().unwrap());
    for body in [
        json!({ "name": null }),
        json!({ "stock": null, "note": "x" }),
    ] {
        let r = h
            .call(Method::PATCH, &path, Some(&token), Some(&body))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}: {}", r.text());
        assert_eq!(
            r.json()["errors"][0]["code"],
            "type",
            "{body}: {}",
            r.text()
        );
    }
    let r = h.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(r.json()["name"], "Nulled");
    assert_eq!(
        r.json()["note"],
        "fragile",
        "a refused patch changes nothing"
    );
    // An optional field is still cleared by null, and an absent field left alone.
    let r = h
        .call(
            Method::PATCH,
            &path,
            Some(&token),
            Some(&json!({ "note": null })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["note"], Value::Null);
    assert_eq!(r.json()["name"], "Nulled");
}

/// Callers × operations, for this resource's rules.
#[tokio::test]
async fn the_access_matrix() {
    let h = harness(Store::memory()).await;
    let (alice, _) = h.user("alice", &[]).await;
    let (bob, _) = h.user("bob", &[]).await;
    let (admin, _) = h.user("root", &["admin"]).await;
    let callers = [
        ("anonymous", None),
        ("owner", Some(&alice)),
        ("other", Some(&bob)),
        ("admin", Some(&admin)),
    ];
    // [list, get, create, patch, delete]
    let expected = [
        ("anonymous", [200, 200, 401, 401, 401]),
        ("owner", [200, 200, 201, 200, 204]),
        ("other", [200, 200, 201, 403, 403]),
        ("admin", [200, 200, 201, 200, 403]),
    ];
    for ((who, token), (who2, want)) in callers.iter().zip(expected) {
        assert_eq!(*who, who2);
        // A fresh gadget of Alice's for each caller.
        let name = format!("G-{who}");
        let r = h
            .call(
                Method::POST,
                "/api/v1/gadgets",
                Some(&alice),
                Some(&gadget(&name)),
            )
            .await;
        let path = format!("/api/v1/gadgets/{}", r.json()["id"].as_str().unwrap());
        let mut got = [0u16; 5];
        got[0] = h
            .call(
                Method::GET,
                "/api/v1/gadgets",
                token.map(String::as_str),
                None,
            )
            .await
            .status()
            .as_u16();
        got[1] = h
            .call(Method::GET, &path, token.map(String::as_str), None)
            .await
            .status()
            .as_u16();
        got[2] = h
            .call(
                Method::POST,
                "/api/v1/gadgets",
                token.map(String::as_str),
                Some(&gadget(&format!("N-{who}"))),
            )
            .await
            .status()
            .as_u16();
        got[3] = h
            .call(
                Method::PATCH,
                &path,
                token.map(String::as_str),
                Some(&json!({ "stock": 2 })),
            )
            .await
            .status()
            .as_u16();
        got[4] = h
            .call(Method::DELETE, &path, token.map(String::as_str), None)
            .await
            .status()
            .as_u16();
        assert_eq!(got, want, "{who}");
    }
    tokio::time::sleep(Duration::from_millis(1)).await;
}

/// `role(..)`, `public` and `disabled` rules.
#[tokio::test]
async fn role_rules_and_disabled_operations() {
    let h = harness(Store::memory()).await;
    let (user, _) = h.user("sam", &[]).await;
    let (editor, _) = h.user("eddie", &["editor"]).await;
    let memo = json!({ "text": "ship it" });
    let hr = &h;
    let create = |token: Option<String>| {
        let memo = memo.clone();
        async move {
            hr.call(Method::POST, "/api/v1/memos", token.as_deref(), Some(&memo))
                .await
        }
    };
    assert_eq!(create(None).await.status(), StatusCode::UNAUTHORIZED);
    let r = create(Some(user.clone())).await;
    assert_eq!(
        (r.status(), r.json()["code"].clone()),
        (StatusCode::FORBIDDEN, json!("missing_role"))
    );
    let r = create(Some(editor.clone())).await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text());
    let path = format!("/api/v1/memos/{}", r.json()["id"].as_str().unwrap());
    assert_eq!(
        h.call(Method::GET, "/api/v1/memos", None, None)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        h.call(Method::GET, &path, None, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.call(Method::GET, &path, Some(&user), None).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.call(Method::GET, &path, Some(&editor), None)
            .await
            .status(),
        StatusCode::OK
    );
    let r = h
        .call(
            Method::PATCH,
            &path,
            Some(&editor),
            Some(&json!({ "text": "" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Disabled: no route for the method, and nothing in the document.
    let r = h.call(Method::DELETE, &path, Some(&editor), None).await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let doc = h.app.get("/openapi.json").await.json();
    assert!(doc["paths"]["/api/v1/memos/{id}"]["delete"].is_null());
    assert!(doc["paths"]["/api/v1/memos/{id}"]["get"].is_object());
}

/// A hidden field's value shows in no response, error or log line.
#[tokio::test(flavor = "current_thread")]
async fn hidden_fields_never_leave_the_server() {
    let logs = flagstone::testing::LogCapture::start();

    let h = harness(Store::memory()).await;
    let (alice, _) = h.user("alice", &[]).await;
    let r = h
        .call(
            Method::POST,
            "/api/v1/gadgets",
            Some(&alice),
            Some(&gadget("Vise")),
        )
        .await;
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let hidden = "HIDDEN-VALUE-7f3a";
    h.store
        .collection::<Document>("gadgets")
        .update_one(
            doc! { "_id": bson::oid::ObjectId::parse_str(&id).unwrap() },
            doc! { "$set": { "internal": hidden } },
        )
        .await
        .unwrap();
    let path = format!("/api/v1/gadgets/{id}");
    let mut bodies = vec![
        h.call(Method::GET, &path, None, None).await.text(),
        h.call(Method::GET, "/api/v1/gadgets?expand=owner", None, None)
            .await
            .text(),
        h.call(
            Method::PATCH,
            &path,
            Some(&alice),
            Some(&json!({ "stock": 3 })),
        )
        .await
        .text(),
        h.call(
            Method::PATCH,
            &path,
            Some(&alice),
            Some(&json!({ "internal": "x" })),
        )
        .await
        .text(),
        h.call(Method::PUT, &path, Some(&alice), Some(&gadget("Vise")))
            .await
            .text(),
    ];
    bodies.push(
        h.call(Method::DELETE, &path, Some(&alice), None)
            .await
            .text(),
    );
    let logs = logs.contents();
    assert!(logs.contains("/api/v1/gadgets"), "the requests were logged");
    assert!(!logs.contains(hidden), "{logs}");
    for body in bodies {
        assert!(!body.contains(hidden), "{body}");
    }
}

/// The whole document — account routes, generated resources — passes
/// openapi-spec-validator (installed by `.ci/run`; skipped where it is missing).
#[tokio::test]
async fn the_document_is_valid_openapi() {
    let h = harness(Store::memory()).await;
    let doc = h.app.get("/openapi.json").await.json();
    flagstone::testing::openapi_spec_validator(&doc);
}
