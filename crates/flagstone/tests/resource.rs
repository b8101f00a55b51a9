//! The generic resource runtime over HTTP, on hand-written `Model`, `Listable` and
//! `Resource` impls: the CRUD lifecycle, lists, ETags, ownership, hooks, scope, `?expand=`,
//! disabled operations and the OpenAPI operations.
#![allow(clippy::unwrap_used)]

use std::{
    collections::HashMap,
    sync::{
        Arc, LazyLock, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use bson::{Document, doc, oid::ObjectId};
use flagstone::{
    App,
    auth::{Access, User},
    config::{ConfigLoader, Profile},
    mail::Mailer,
    model::{FieldDef, FieldType, Model, Reference, Visibility, WriteContext},
    prelude::*,
    query::{FieldKind, ListField, ListSpec, Listable},
    resource::{Hooks, Operation, RequestContext, Resource},
    store::Timestamp,
    testing::{TestApp, TestResponse},
};
use futures_util::future::BoxFuture;
use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const SECRET: &str = "a-test-secret-that-is-long-enough-123";
const PASSWORD: &str = "correct horse battery";

// ---- the model, by hand ----------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Note {
    #[serde(rename = "_id")]
    id: Id<Note>,
    title: String,
    done: bool,
    tags: Vec<String>,
    owner: Id<User>,
    secret: String,
    created_at: Timestamp,
    updated_at: Timestamp,
}

/// A note, as answered.
#[derive(Serialize, ToSchema)]
struct NoteView {
    #[schema(value_type = String, pattern = "^[0-9a-fA-F]{24}$")]
    id: Id<Note>,
    title: String,
    done: bool,
    tags: Vec<String>,
    #[schema(value_type = String, pattern = "^[0-9a-fA-F]{24}$")]
    owner: Id<User>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

/// A new note.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
struct NoteCreate {
    #[validate(len(min = 1, max = 120))]
    title: String,
    #[serde(default)]
    done: bool,
    #[serde(default)]
    tags: Vec<String>,
}

/// Changes to a note.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
struct NotePatch {
    #[validate(len(min = 1, max = 120))]
    title: Option<String>,
    done: Option<bool>,
    tags: Option<Vec<String>>,
}

static LOADS: AtomicUsize = AtomicUsize::new(0);

/// The users' loader, counting its calls.
fn load_users(
    store: Store,
    ids: Vec<ObjectId>,
) -> BoxFuture<'static, flagstone::Result<HashMap<ObjectId, Value>>> {
    LOADS.fetch_add(1, Ordering::SeqCst);
    (Reference::to::<User>().load)(store, ids)
}

const fn with(mut field: FieldDef, filter: bool, sort: bool) -> FieldDef {
    field.filter = filter;
    field.sort = sort;
    field.select = true;
    field
}

static FIELDS: LazyLock<Vec<FieldDef>> = LazyLock::new(|| {
    let mut tags = with(
        FieldDef::new("tags", "tags", FieldType::String),
        true,
        false,
    );
    tags.array = true;
    let mut owner = with(FieldDef::new("owner", "owner", FieldType::Id), false, false);
    owner.owner = true;
    owner.visibility = Visibility::ReadOnly;
    owner.reference = Some(Reference {
        collection: "users",
        load: load_users,
    });
    let mut secret = FieldDef::new("secret", "secret", FieldType::String);
    secret.visibility = Visibility::Hidden;
    vec![
        FieldDef::new("_id", "id", FieldType::Id),
        with(
            FieldDef::new("title", "title", FieldType::String),
            true,
            true,
        ),
        with(FieldDef::new("done", "done", FieldType::Bool), true, false),
        tags,
        owner,
        secret,
        with(
            FieldDef::new("created_at", "created_at", FieldType::DateTime),
            false,
            true,
        ),
        with(
            FieldDef::new("updated_at", "updated_at", FieldType::DateTime),
            false,
            true,
        ),
    ]
});

impl Listable for Note {
    fn list_spec() -> &'static ListSpec {
        static SPEC: LazyLock<ListSpec> = LazyLock::new(|| {
            ListSpec::new()
                .field(
                    ListField::new("title", FieldKind::String)
                        .filter()
                        .sort()
                        .select(),
                )
                .field(ListField::new("done", FieldKind::Boolean).filter().select())
                .field(
                    ListField::new("tags", FieldKind::String)
                        .array()
                        .filter()
                        .select(),
                )
                .field(ListField::new("owner", FieldKind::Id).select())
                .field(ListField::new("created_at", FieldKind::DateTime).sort())
        });
        &SPEC
    }
}

impl Model for Note {
    const COLLECTION: &'static str = "notes";
    const NAME: &'static str = "Note";
    const TIMESTAMPS: bool = true;
    type Create = NoteCreate;
    type Patch = NotePatch;
    type View = NoteView;

    fn fields() -> &'static [FieldDef] {
        &FIELDS
    }

    fn indexes() -> Vec<Index> {
        vec![Index::new(doc! { "title": 1 }).unique()]
    }

    fn id(&self) -> Id<Self> {
        self.id
    }

    fn owner(&self) -> Option<ObjectId> {
        Some(self.owner.object_id())
    }

    fn create(input: NoteCreate, ctx: &WriteContext) -> flagstone::Result<Self> {
        Ok(Self {
            id: Id::from_object_id(ctx.id),
            title: input.title,
            done: input.done,
            tags: input.tags,
            owner: Id::from_object_id(ctx.owner_id()?),
            secret: "never shown".into(),
            created_at: ctx.now,
            updated_at: ctx.now,
        })
    }

    fn replace(current: Self, input: NoteCreate, ctx: &WriteContext) -> flagstone::Result<Self> {
        Ok(Self {
            title: input.title,
            done: input.done,
            tags: input.tags,
            updated_at: ctx.now,
            ..current
        })
    }

    fn patch(patch: NotePatch) -> flagstone::Result<Document> {
        let mut set = Document::new();
        if let Some(title) = patch.title {
            set.insert("title", title);
        }
        if let Some(done) = patch.done {
            set.insert("done", done);
        }
        if let Some(tags) = patch.tags {
            set.insert("tags", tags);
        }
        Ok(match set.is_empty() {
            true => Document::new(),
            false => doc! { "$set": set },
        })
    }

    fn view(&self) -> NoteView {
        NoteView {
            id: self.id,
            title: self.title.clone(),
            done: self.done,
            tags: self.tags.clone(),
            owner: self.owner,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Records the order of the hooks; refuses creations titled "refused"; hides notes tagged
/// "private" when `scoped`.
#[derive(Clone, Default)]
struct NoteHooks {
    log: Arc<Mutex<Vec<String>>>,
    scoped: bool,
}

impl NoteHooks {
    fn record(&self, event: &str) {
        self.log.lock().unwrap().push(event.to_owned());
    }
}

impl Hooks<Note> for NoteHooks {
    async fn scope(&self, _: &RequestContext) -> flagstone::Result<Document> {
        Ok(match self.scoped {
            true => doc! { "tags": { "$ne": "private" } },
            false => Document::new(),
        })
    }

    async fn before_create(&self, doc: &mut Note, _: &RequestContext) -> flagstone::Result<()> {
        self.record("before_create");
        if doc.title == "refused" {
            return Err(Error::conflict("refused by a hook").with_code("refused"));
        }
        doc.tags.push("hooked".into());
        Ok(())
    }

    async fn after_create(&self, _: &Note, _: &RequestContext) -> flagstone::Result<()> {
        self.record("after_create");
        Ok(())
    }

    async fn before_update(
        &self,
        _: &Note,
        update: &mut Document,
        _: &RequestContext,
    ) -> flagstone::Result<()> {
        self.record("before_update");
        assert!(update.contains_key("$set"), "{update}");
        Ok(())
    }

    async fn after_update(&self, _: &Note, _: &RequestContext) -> flagstone::Result<()> {
        self.record("after_update");
        Ok(())
    }

    async fn before_delete(&self, _: &Note, _: &RequestContext) -> flagstone::Result<()> {
        self.record("before_delete");
        Ok(())
    }

    async fn after_delete(&self, _: &Note, _: &RequestContext) -> flagstone::Result<()> {
        self.record("after_delete");
        Ok(())
    }
}

impl Resource for Note {
    const PATH: &'static str = "/notes";
    const TAG: &'static str = "notes";
    type Hooks = NoteHooks;

    fn access(operation: Operation) -> Option<Access> {
        Some(match operation {
            Operation::List => Access::owner(),
            Operation::Get => Access::owner_or("admin"),
            Operation::Create => Access::authenticated(),
            Operation::Update | Operation::Delete => Access::owner(),
        })
    }
}

// ---- a read-mostly model: public reads, no updates or deletes ---------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Motto {
    #[serde(rename = "_id")]
    id: Id<Motto>,
    text: String,
}

/// A motto.
#[derive(Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
struct MottoBody {
    #[validate(len(min = 1, max = 50))]
    text: String,
}

/// A motto, as answered.
#[derive(Serialize, ToSchema)]
struct MottoView {
    #[schema(value_type = String, pattern = "^[0-9a-fA-F]{24}$")]
    id: Id<Motto>,
    text: String,
}

static MOTTO_FIELDS: [FieldDef; 2] = [
    FieldDef::new("_id", "id", FieldType::Id),
    FieldDef::new("text", "text", FieldType::String),
];

impl Listable for Motto {
    fn list_spec() -> &'static ListSpec {
        static SPEC: LazyLock<ListSpec> = LazyLock::new(ListSpec::new);
        &SPEC
    }
}

impl Model for Motto {
    const COLLECTION: &'static str = "mottos";
    const NAME: &'static str = "Motto";
    const TIMESTAMPS: bool = false;
    type Create = MottoBody;
    type Patch = MottoBody;
    type View = MottoView;

    fn fields() -> &'static [FieldDef] {
        &MOTTO_FIELDS
    }
    fn indexes() -> Vec<Index> {
        Vec::new()
    }
    fn id(&self) -> Id<Self> {
        self.id
    }
    fn owner(&self) -> Option<ObjectId> {
        None
    }
    fn create(input: MottoBody, ctx: &WriteContext) -> flagstone::Result<Self> {
        Ok(Self {
            id: Id::from_object_id(ctx.id),
            text: input.text,
        })
    }
    fn replace(current: Self, input: MottoBody, _: &WriteContext) -> flagstone::Result<Self> {
        Ok(Self {
            text: input.text,
            ..current
        })
    }
    fn patch(patch: MottoBody) -> flagstone::Result<Document> {
        Ok(doc! { "$set": { "text": patch.text } })
    }
    fn view(&self) -> MottoView {
        MottoView {
            id: self.id,
            text: self.text.clone(),
        }
    }
}

impl Resource for Motto {
    const PATH: &'static str = "/mottos";
    const TAG: &'static str = "mottos";
    type Hooks = ();

    fn access(operation: Operation) -> Option<Access> {
        match operation {
            Operation::List | Operation::Get => Some(Access::public()),
            Operation::Create => Some(Access::authenticated()),
            Operation::Update | Operation::Delete => None,
        }
    }
}

// ---- the harness -----------------------------------------------------------------------------

struct Harness {
    app: TestApp,
    hooks: NoteHooks,
}

async fn harness(scoped: bool) -> Harness {
    harness_on(Store::memory(), scoped).await
}

async fn harness_on(store: Store, scoped: bool) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigLoader::new()
        .profile(Profile::Test)
        .dir(dir.path())
        .env(
            [
                ("FLAGSTONE_AUTH__SECRET", SECRET),
                ("FLAGSTONE_AUTH__ARGON2_MEMORY", "64KiB"),
                ("FLAGSTONE_AUTH__ARGON2_ITERATIONS", "1"),
                ("FLAGSTONE_AUTH__RATE_LIMIT", "0"),
                ("FLAGSTONE_RATE_LIMIT__ENABLED", "false"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
        .load()
        .unwrap();
    store
        .collection::<Note>(Note::COLLECTION)
        .sync_indexes(Note::indexes())
        .await
        .unwrap();
    let hooks = NoteHooks {
        scoped,
        ..NoteHooks::default()
    };
    let (notes, notes_doc) = flagstone::resource::router::<Note>(hooks.clone());
    let (mottos, mottos_doc) = flagstone::resource::router::<Motto>(());
    let app = App::new(config)
        .store(store)
        .mailer(Mailer::memory().0)
        .auth()
        .await
        .unwrap()
        .api(OpenApiRouter::with_openapi(notes_doc).merge(notes.into()))
        .api(OpenApiRouter::with_openapi(mottos_doc).merge(mottos.into()));
    Harness {
        app: TestApp::new(app),
        hooks,
    }
}

impl Harness {
    /// Registers a user: (access token, id).
    async fn user(&self, email: &str) -> (String, String) {
        let r = self
            .app
            .post_json(
                "/api/v1/auth/register",
                &json!({ "email": email, "password": PASSWORD }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text());
        let body = r.json();
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["user"]["id"].as_str().unwrap().to_owned(),
        )
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut request = self.app.request(method, path);
        if let Some(token) = token {
            request = request.bearer(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send().await
    }

    async fn create(&self, token: &str, body: Value) -> TestResponse {
        self.send(Method::POST, "/api/v1/notes", Some(token), Some(body), &[])
            .await
    }

    async fn get(&self, path: &str, token: &str) -> TestResponse {
        self.send(Method::GET, path, Some(token), None, &[]).await
    }

    fn events(&self) -> Vec<String> {
        std::mem::take(&mut *self.hooks.log.lock().unwrap())
    }
}

fn problem(r: &TestResponse) -> (u16, String) {
    let body = r.json();
    (
        r.status().as_u16(),
        body["code"].as_str().unwrap_or_default().to_owned(),
    )
}

fn no_secret(r: &TestResponse) {
    assert!(
        !r.text().contains("secret"),
        "a hidden field leaked: {}",
        r.text()
    );
}

// ---- the lifecycle ---------------------------------------------------------------------------

/// Create, read, list, change and delete, as the owner; what others and anonymous callers get.
async fn lifecycle(h: &Harness) {
    let (ada, ada_id) = h.user("ada@x.io").await;
    let (bob, _) = h.user("bob@x.io").await;

    // create: 201, Location, the view without the hidden field
    let r = h
        .create(&ada, json!({ "title": "first", "tags": ["a", "b"] }))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text());
    no_secret(&r);
    let note = r.json();
    let id = note["id"].as_str().unwrap().to_owned();
    let location = r.header("location").unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/notes/{id}"));
    assert_eq!(note["owner"], ada_id.as_str());
    assert_eq!(note["done"], false);
    assert_eq!(note["tags"], json!(["a", "b", "hooked"]));
    for title in ["second", "third"] {
        let r = h
            .create(&ada, json!({ "title": title, "done": true }))
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text());
    }
    let r = h.create(&bob, json!({ "title": "bob's" })).await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text());
    let bobs = r.json()["id"].as_str().unwrap().to_owned();

    // invalid bodies, unique titles, no token
    let r = h
        .create(&ada, json!({ "title": "", "colour": "red" }))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{}", r.text());
    let fields: Vec<String> = r.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert!(fields.contains(&"colour".to_owned()), "{fields:?}");
    let r = h.create(&ada, json!({ "title": "first" })).await;
    assert_eq!(r.status(), StatusCode::CONFLICT, "{}", r.text());
    let r = h
        .send(
            Method::POST,
            "/api/v1/notes",
            None,
            Some(json!({ "title": "x" })),
            &[],
        )
        .await;
    assert_eq!(problem(&r), (401, "unauthenticated".into()));

    // get: 200 with an ETag, 304 for it, 400 / 404 for bad ids, 403 for others
    let r = h.get(&location, &ada).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    no_secret(&r);
    assert_eq!(r.json()["title"], "first");
    let tag = r.header("etag").unwrap().to_owned();
    assert!(tag.starts_with("W/\"") && tag.len() == 36, "{tag}");
    let r = h
        .send(
            Method::GET,
            &location,
            Some(&ada),
            None,
            &[("if-none-match", &tag)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(r.header("etag"), Some(tag.as_str()));
    assert!(r.bytes().is_empty());
    let r = h
        .send(
            Method::GET,
            &location,
            Some(&ada),
            None,
            &[("if-none-match", "W/\"0\"")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = h.get("/api/v1/notes/not-an-id", &ada).await;
    assert_eq!(problem(&r), (400, "invalid_id".into()));
    let missing = ObjectId::new().to_hex();
    let r = h.get(&format!("/api/v1/notes/{missing}"), &ada).await;
    assert_eq!(problem(&r), (404, "not_found".into()));
    assert_eq!(r.json()["detail"], format!("no Note with id {missing}"));
    let r = h.get(&location, &bob).await;
    assert_eq!(problem(&r), (403, "not_owner".into()));
    let r = h.send(Method::GET, &location, None, None, &[]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // list: only one's own, filters, sort, pages, fields
    let r = h.get("/api/v1/notes", &ada).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    no_secret(&r);
    let page = r.json();
    assert_eq!(page["meta"]["total"], 3, "{page}");
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["owner"] == ada_id.as_str())
    );
    let r = h.get("/api/v1/notes", &bob).await;
    assert_eq!(r.json()["meta"]["total"], 1);
    assert_eq!(r.json()["items"][0]["id"], bobs.as_str());
    let r = h.get("/api/v1/notes?done=true&sort=-title", &ada).await;
    let titles: Vec<String> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(titles, ["third", "second"]);
    let r = h.get("/api/v1/notes?tags=a", &ada).await;
    assert_eq!(r.json()["meta"]["total"], 1);
    let r = h.get("/api/v1/notes?sort=title&limit=2", &ada).await;
    let page = r.json();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let link = r.header("link").unwrap().to_owned();
    assert!(
        link.contains("rel=\"next\"") && link.contains("offset=2"),
        "{link}"
    );
    let r = h
        .get("/api/v1/notes?sort=title&limit=2&offset=2", &ada)
        .await;
    assert_eq!(r.json()["items"][0]["title"], "third");
    let r = h.get("/api/v1/notes?fields=title", &ada).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    for item in r.json()["items"].as_array().unwrap() {
        let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "title"], "{item}");
    }
    let r = h.get("/api/v1/notes?secret=x", &ada).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = h.get("/api/v1/notes?sort=secret", &ada).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = h.get("/api/v1/notes?expand=title", &ada).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        r.text().contains("expandable fields: owner"),
        "{}",
        r.text()
    );

    // patch: absent fields stay, given ones change; an empty patch changes nothing
    let r = h
        .send(
            Method::PATCH,
            &location,
            Some(&ada),
            Some(json!({ "done": true })),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    no_secret(&r);
    let patched = r.json();
    assert_eq!(patched["done"], true);
    assert_eq!(patched["title"], "first");
    assert_eq!(patched["tags"], json!(["a", "b", "hooked"]));
    assert_ne!(patched["updated_at"], note["updated_at"]);
    assert_eq!(patched["created_at"], note["created_at"]);
    let r = h
        .send(Method::PATCH, &location, Some(&ada), Some(json!({})), &[])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json()["updated_at"], patched["updated_at"]);
    let r = h
        .send(
            Method::PATCH,
            &location,
            Some(&ada),
            Some(json!({ "owner": bobs })),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{}", r.text());
    let r = h
        .send(
            Method::PATCH,
            &location,
            Some(&bob),
            Some(json!({ "done": false })),
            &[],
        )
        .await;
    assert_eq!(problem(&r), (403, "not_owner".into()));

    // put: the writable fields are replaced, the rest kept; If-Match
    let current = h.get(&location, &ada).await;
    let tag = current.header("etag").unwrap().to_owned();
    let r = h
        .send(
            Method::PUT,
            &location,
            Some(&ada),
            Some(json!({ "title": "first, again" })),
            &[("if-match", &tag)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    let put = r.json();
    assert_eq!(put["title"], "first, again");
    assert_eq!(put["done"], false);
    assert_eq!(put["tags"], json!([]));
    assert_eq!(put["owner"], ada_id.as_str());
    assert_eq!(put["created_at"], note["created_at"]);
    for method in [Method::PUT, Method::PATCH] {
        let r = h
            .send(
                method,
                &location,
                Some(&ada),
                Some(json!({ "title": "stale" })),
                &[("if-match", &tag)],
            )
            .await;
        assert_eq!(problem(&r), (412, "precondition_failed".into()));
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }
    let r = h
        .send(
            Method::DELETE,
            &location,
            Some(&ada),
            None,
            &[("if-match", &tag)],
        )
        .await;
    assert_eq!(problem(&r), (412, "precondition_failed".into()));
    assert_eq!(h.get(&location, &ada).await.json()["title"], "first, again");

    // delete: others 403, the owner 204, then 404
    let r = h
        .send(Method::DELETE, &location, Some(&bob), None, &[])
        .await;
    assert_eq!(problem(&r), (403, "not_owner".into()));
    let fresh = h
        .get(&location, &ada)
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let r = h
        .send(
            Method::DELETE,
            &location,
            Some(&ada),
            None,
            &[("if-match", &fresh)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "{}", r.text());
    assert_eq!(
        problem(&h.get(&location, &ada).await),
        (404, "not_found".into())
    );
    let r = h
        .send(Method::DELETE, &location, Some(&ada), None, &[])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_lifecycle_over_http() {
    let h = harness(false).await;
    lifecycle(&h).await;
}

#[tokio::test]
async fn hooks_run_in_order_and_a_refusing_hook_writes_nothing() {
    let h = harness(false).await;
    let (ada, _) = h.user("ada@x.io").await;
    let r = h.create(&ada, json!({ "title": "kept" })).await;
    let location = r.header("location").unwrap().to_owned();
    let r = h
        .send(
            Method::PATCH,
            &location,
            Some(&ada),
            Some(json!({ "done": true })),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = h
        .send(Method::DELETE, &location, Some(&ada), None, &[])
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        h.events(),
        [
            "before_create",
            "after_create",
            "before_update",
            "after_update",
            "before_delete",
            "after_delete"
        ]
    );

    let r = h.create(&ada, json!({ "title": "refused" })).await;
    assert_eq!(problem(&r), (409, "refused".into()));
    assert_eq!(h.events(), ["before_create"]);
    let r = h.get("/api/v1/notes?title=refused", &ada).await;
    assert_eq!(r.json()["meta"]["total"], 0, "nothing was stored");
}

#[tokio::test]
async fn the_scope_hides_documents() {
    let h = harness(true).await;
    let (ada, _) = h.user("ada@x.io").await;
    let open = h.create(&ada, json!({ "title": "open" })).await;
    let hidden = h
        .create(&ada, json!({ "title": "hidden", "tags": ["private"] }))
        .await;
    assert_eq!(hidden.status(), StatusCode::CREATED);
    let hidden = hidden.header("location").unwrap().to_owned();
    let r = h.get("/api/v1/notes", &ada).await;
    assert_eq!(r.json()["meta"]["total"], 1);
    assert_eq!(r.json()["items"][0]["title"], "open");
    assert_eq!(h.get(&hidden, &ada).await.status(), StatusCode::NOT_FOUND);
    for method in [Method::PATCH, Method::DELETE] {
        let body = (method == Method::PATCH).then(|| json!({ "done": true }));
        let r = h.send(method, &hidden, Some(&ada), body, &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    let open = open.header("location").unwrap().to_owned();
    assert_eq!(h.get(&open, &ada).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn expand_loads_each_relation_once() {
    let h = harness(false).await;
    let (ada, ada_id) = h.user("ada@x.io").await;
    for title in ["a", "b", "c"] {
        h.create(&ada, json!({ "title": title })).await;
    }
    let before = LOADS.load(Ordering::SeqCst);
    let r = h.get("/api/v1/notes?expand=owner", &ada).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    assert_eq!(
        LOADS.load(Ordering::SeqCst) - before,
        1,
        "one load for the page"
    );
    let page = r.json();
    for item in page["items"].as_array().unwrap() {
        assert_eq!(item["owner"]["id"], ada_id.as_str(), "{item}");
        assert!(item["owner"].get("password_hash").is_none());
    }
    assert!(r.header("link").unwrap().contains("expand=owner"));
    let r = h.get("/api/v1/notes?expand=owner&fields=title", &ada).await;
    let item = &r.json()["items"][0];
    assert!(item.get("owner").is_none(), "{item}");

    let id = page["items"][0]["id"].as_str().unwrap();
    let r = h
        .get(&format!("/api/v1/notes/{id}?expand=owner"), &ada)
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["owner"]["id"], ada_id.as_str());
    let plain = h.get(&format!("/api/v1/notes/{id}"), &ada).await;
    assert_ne!(plain.header("etag"), r.header("etag"));
}

#[tokio::test]
async fn disabled_operations_have_no_route_and_public_ones_need_no_token() {
    let h = harness(false).await;
    let (ada, _) = h.user("ada@x.io").await;
    let r = h
        .send(
            Method::POST,
            "/api/v1/mottos",
            Some(&ada),
            Some(json!({ "text": "less is more" })),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text());
    let location = r.header("location").unwrap().to_owned();
    let r = h.send(Method::GET, &location, None, None, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = h.send(Method::GET, "/api/v1/mottos", None, None, &[]).await;
    assert_eq!(r.json()["meta"]["total"], 1);
    for method in [Method::PUT, Method::PATCH, Method::DELETE] {
        let r = h
            .send(
                method.clone(),
                &location,
                Some(&ada),
                Some(json!({ "text": "x" })),
                &[],
            )
            .await;
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
    }
    let r = h.get("/api/v1/mottos?expand=author", &ada).await;
    assert!(r.text().contains("expandable fields: none"), "{}", r.text());
}

#[tokio::test]
async fn the_document_describes_the_routes() {
    let h = harness(false).await;
    h.app.openapi_agreement().await.assert_ok();
    let doc = h.app.get("/openapi.json").await.json();
    let paths = &doc["paths"];
    let list = &paths["/api/v1/notes"]["get"];
    assert_eq!(list["operationId"], "list_notes");
    assert_eq!(list["tags"], json!(["notes"]));
    let params: Vec<String> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["name"]
                .as_str()
                .or_else(|| p["$ref"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect();
    for expected in [
        "title",
        "done",
        "tags",
        "expand",
        "#/components/parameters/limit",
    ] {
        assert!(
            params.iter().any(|p| p == expected),
            "{expected} in {params:?}"
        );
    }
    assert_eq!(
        list["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Page_NoteViewSelected"
    );
    assert!(list["security"].as_array().is_some());
    let item = &paths["/api/v1/notes/{id}"];
    for (method, id) in [
        ("get", "get_note"),
        ("put", "replace_note"),
        ("patch", "patch_note"),
        ("delete", "delete_note"),
    ] {
        assert_eq!(item[method]["operationId"], id);
    }
    assert_eq!(paths["/api/v1/notes"]["post"]["operationId"], "create_note");
    assert!(item["get"]["responses"]["304"].is_object());
    assert!(item["put"]["responses"]["412"].is_object());
    assert_eq!(
        item["patch"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/NotePatch"
    );
    let schemas = &doc["components"]["schemas"];
    for name in [
        "NoteView",
        "NoteCreate",
        "NotePatch",
        "Page_NoteViewSelected",
    ] {
        assert!(schemas[name].is_object(), "{name}");
    }
    assert!(schemas["NoteView"]["properties"].get("secret").is_none());
    let mottos = &paths["/api/v1/mottos/{id}"];
    assert!(mottos["get"].is_object() && mottos.get("put").is_none());
    assert!(mottos["get"].get("security").is_none());
}

/// The lifecycle on the MongoDB-compatible server CI starts (`FLAGSTONE_TEST_MONGODB_URI`).
#[tokio::test]
async fn the_lifecycle_on_the_live_server() {
    let Ok(uri) = std::env::var("FLAGSTONE_TEST_MONGODB_URI") else {
        println!("skipped: FLAGSTONE_TEST_MONGODB_URI is not set (scripts/test-mongo.sh start)");
        return;
    };
    let mut config = flagstone::config::DatabaseConfig::default();
    config.url = Some(uri);
    config.name = Some(format!("resource_{}", ObjectId::new().to_hex()));
    let store = Store::open(&config).await.unwrap();
    let h = harness_on(store.clone(), false).await;
    let result =
        futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(lifecycle(&h))).await;
    if let Some(db) = store.mongo() {
        let _ = db.drop().await;
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
