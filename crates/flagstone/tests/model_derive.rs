//! `#[derive(Model)]` and `#[derive(Resource)]` end to end: the stored form, the bodies,
//! the view, the static description and the OpenAPI schemas.

#![allow(clippy::unwrap_used)]

use flagstone::{
    auth::Access,
    model::{FieldType, Visibility, WriteContext},
    prelude::*,
    query::{FieldKind, Listable},
    resource::Operation,
    store::Timestamp,
    validation::Validate,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// An author, referred to by posts.
#[derive(Model)]
pub struct Writer {
    /// The id.
    pub id: Id<Writer>,
    /// The name.
    #[field(len(min = 1))]
    pub name: String,
}

/// An embedded document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
pub struct Seo {
    /// The slug.
    #[validate(pattern = "[a-z-]+")]
    pub slug: String,
}

/// A blog post.
#[derive(Model, Resource)]
#[model(collection = "articles", timestamps)]
#[index(fields(owner = 1, created_at = -1))]
#[index(text(title, body))]
#[resource(path = "/articles", list = public, get = public, create = authenticated,
           update = owner_or("admin"), delete = owner, hooks = ArticleHooks)]
pub struct Article {
    /// The id.
    pub id: Id<Article>,
    /// The title.
    #[field(len(min = 3, max = 120), filter, sort)]
    pub title: String,
    /// The body.
    #[field(len(max = 20_000))]
    pub body: String,
    /// How many times it was read.
    #[field(read_only, sort, filter)]
    pub reads: i64,
    /// Its rank.
    #[field(range(min = 0, max = 10), default = 5)]
    pub rank: i32,
    /// A score.
    #[field(range(min = 0.0, max = 1.0), filter)]
    pub score: f64,
    /// Published or not.
    #[field(filter)]
    pub published: bool,
    /// When it goes out.
    #[field(filter, sort)]
    pub publish_at: Timestamp,
    /// A subtitle.
    #[field(len(max = 50))]
    pub subtitle: Option<String>,
    /// Its tags.
    #[field(each(len(max = 20)), filter)]
    pub tags: Vec<String>,
    /// Search settings.
    #[field(nested)]
    pub seo: Seo,
    /// Who wrote it.
    #[field(filter)]
    pub writer: Id<Writer>,
    /// The state.
    #[field(one_of("draft", "published"), default = "draft".to_owned(), filter)]
    pub status: String,
    /// A moderation note, never shown.
    #[field(hidden)]
    pub note: String,
    /// A secret given on input, never shown.
    #[field(write_only, len(min = 4))]
    pub passcode: String,
    /// A unique slug.
    #[field(unique, select)]
    pub slug: String,
    /// The owner.
    #[field(owner)]
    pub owner: Id<Writer>,
    /// Created.
    pub created_at: Timestamp,
    /// Updated.
    pub updated_at: Timestamp,
}

/// The business rules of articles.
#[derive(Default)]
pub struct ArticleHooks;

impl flagstone::resource::Hooks<Article> for ArticleHooks {}

/// A model with the default collection name.
#[derive(Model, Resource)]
#[resource(default = authenticated, delete = disabled, list = role("reader"))]
pub struct Category {
    /// The id.
    pub id: Id<Self>,
    /// The name.
    #[field(unique)]
    pub name: Option<String>,
}

fn article() -> Article {
    let now = Timestamp::now();
    Article {
        id: Id::new(),
        title: "Hello".into(),
        body: "Body".into(),
        reads: 3,
        rank: 5,
        score: 0.5,
        published: true,
        publish_at: now,
        subtitle: Some("Sub".into()),
        tags: vec!["rust".into()],
        seo: Seo {
            slug: "hello".into(),
        },
        writer: Id::new(),
        status: "draft".into(),
        note: "secret".into(),
        passcode: "1234".into(),
        slug: "hello".into(),
        owner: Id::new(),
        created_at: now,
        updated_at: now,
    }
}

/// `value` as the store writes it.
fn to_doc<T: Serialize>(value: &T) -> bson::Document {
    let bytes = bson::serialize_to_vec(value).unwrap();
    bson::Document::from_reader(bytes.as_slice()).unwrap()
}

/// A stored document read back.
fn from_doc<T: serde::de::DeserializeOwned>(doc: &bson::Document) -> T {
    bson::deserialize_from_slice(&doc.to_vec().unwrap()).unwrap()
}

fn create_body() -> serde_json::Value {
    json!({
        "title": "Hello",
        "body": "Body",
        "score": 0.5,
        "published": false,
        "publish_at": "2026-01-01T00:00:00Z",
        "subtitle": null,
        "tags": ["a"],
        "seo": { "slug": "hello" },
        "writer": "65f1c0ffee0000000000beef",
        "passcode": "abcd",
        "slug": "hello",
    })
}

fn error_fields(errors: &flagstone::Error) -> Vec<String> {
    let json = serde_json::to_value(errors.field_errors()).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_stored_form_has_id_and_bson_types() {
    let store = Store::memory();
    let articles = store.collection::<Article>(Article::COLLECTION);
    let value = article();
    articles.insert_one(&value).await.unwrap();
    let raw = store
        .collection::<bson::Document>("articles")
        .find_one(doc! {})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw.get_object_id("_id").unwrap(), value.id.object_id());
    assert!(raw.get("id").is_none());
    assert!(raw.get_datetime("created_at").is_ok());
    assert!(raw.get_datetime("publish_at").is_ok());
    assert!(raw.get_object_id("writer").is_ok());
    assert!(raw.get_object_id("owner").is_ok());
    assert_eq!(raw.get_i64("reads").unwrap(), 3);
    assert_eq!(raw.get_i32("rank").unwrap(), 5);
    assert_eq!(raw.get_str("note").unwrap(), "secret");
    assert_eq!(
        raw.get_document("seo").unwrap().get_str("slug").unwrap(),
        "hello"
    );
    assert_eq!(raw.get_array("tags").unwrap().len(), 1);

    let back = articles.find_by_id(value.id).await.unwrap().unwrap();
    assert_eq!(back.title, value.title);
    assert_eq!(back.seo, value.seo);
    assert_eq!(back.owner, value.owner);
    assert_eq!(back.subtitle.as_deref(), Some("Sub"));

    // None is left out of the document, and a missing Vec or defaulted field reads back.
    let mut bare = article();
    bare.subtitle = None;
    let mut doc = to_doc(&bare);
    assert!(!doc.contains_key("subtitle"));
    doc.remove("tags");
    doc.remove("status");
    let read: Article = from_doc(&doc);
    assert!(read.tags.is_empty());
    assert_eq!(read.status, "draft");
}

#[test]
fn create_bodies_are_strict_and_validated() {
    let body: ArticleCreate = serde_json::from_value(create_body()).unwrap();
    assert!(body.validate().is_ok());
    assert_eq!(body.rank, None);

    for extra in [
        "reads",
        "owner",
        "id",
        "_id",
        "note",
        "created_at",
        "unknown",
    ] {
        let mut json = create_body();
        json[extra] = json!(1);
        let error = serde_json::from_value::<ArticleCreate>(json).err().unwrap();
        assert!(
            error.to_string().contains("unknown field"),
            "{extra}: {error}"
        );
    }

    let mut json = create_body();
    json["title"] = json!("Hi");
    json["tags"] = json!(["ok", "x".repeat(21)]);
    json["seo"] = json!({ "slug": "NOT OK" });
    json["status"] = json!("gone");
    json["rank"] = json!(11);
    let body: ArticleCreate = serde_json::from_value(json).unwrap();
    let error = body.validate().unwrap_err();
    let fields = error_fields(&error);
    assert_eq!(
        fields,
        ["title", "rank", "tags[1]", "seo.slug", "status"],
        "{fields:?}"
    );
}

#[test]
fn create_sets_id_owner_timestamps_and_defaults() {
    let body: ArticleCreate = serde_json::from_value(create_body()).unwrap();
    // The owner is the caller: nobody logged in is a 401.
    let error = Article::create(body, &WriteContext::new(None))
        .err()
        .unwrap();
    assert_eq!(error.kind().status(), StatusCode::UNAUTHORIZED);

    let body: CategoryCreate = serde_json::from_value(json!({ "name": "x" })).unwrap();
    let ctx = WriteContext::new(None);
    let category = Category::create(body, &ctx).unwrap();
    assert_eq!(category.id.object_id(), ctx.id);
    assert_eq!(category.name.as_deref(), Some("x"));
}

#[test]
fn replace_keeps_what_input_cannot_change() {
    let current = article();
    let mut json = create_body();
    json["rank"] = json!(7);
    let body: ArticleCreate = serde_json::from_value(json).unwrap();
    let ctx = WriteContext::new(None);
    let replaced = Article::replace(current.clone_for_test(), body, &ctx).unwrap();
    assert_eq!(replaced.id, current.id);
    assert_eq!(replaced.owner, current.owner);
    assert_eq!(replaced.reads, current.reads);
    assert_eq!(replaced.note, current.note);
    assert_eq!(replaced.created_at, current.created_at);
    assert_eq!(replaced.updated_at, ctx.now);
    assert_eq!(replaced.rank, 7);
    assert_eq!(replaced.status, "draft");
    assert_eq!(replaced.subtitle, None);
}

trait CloneForTest {
    fn clone_for_test(&self) -> Self;
}

impl CloneForTest for Article {
    fn clone_for_test(&self) -> Self {
        from_doc(&to_doc(self))
    }
}

#[test]
fn patches_set_unset_and_skip() {
    let patch: ArticlePatch = serde_json::from_value(json!({
        "title": "New title",
        "subtitle": null,
        "publish_at": "2026-01-01T00:00:00Z",
        "writer": "65f1c0ffee0000000000beef",
    }))
    .unwrap();
    assert!(patch.validate().is_ok());
    let update = Article::patch(patch).unwrap();
    let set = update.get_document("$set").unwrap();
    assert_eq!(set.get_str("title").unwrap(), "New title");
    assert!(set.get_datetime("publish_at").is_ok());
    assert!(set.get_object_id("writer").is_ok());
    assert_eq!(set.len(), 3);
    assert_eq!(
        update.get_document("$unset").unwrap(),
        &doc! { "subtitle": "" }
    );

    let patch: ArticlePatch = serde_json::from_value(json!({ "subtitle": "Again" })).unwrap();
    let update = Article::patch(patch).unwrap();
    assert_eq!(update, doc! { "$set": { "subtitle": "Again" } });

    let patch: ArticlePatch = serde_json::from_value(json!({})).unwrap();
    assert!(Article::patch(patch).unwrap().is_empty());

    let patch: ArticlePatch =
        serde_json::from_value(json!({ "title": "x", "subtitle": "y".repeat(51) })).unwrap();
    assert_eq!(
        error_fields(&patch.validate().unwrap_err()),
        ["title", "subtitle"]
    );

    for refused in [
        json!({ "reads": 1 }),
        json!({ "owner": "65f1c0ffee0000000000beef" }),
    ] {
        assert!(serde_json::from_value::<ArticlePatch>(refused).is_err());
    }
}

#[test]
fn views_hide_hidden_and_write_only_fields() {
    let value = article();
    let json = serde_json::to_value(value.view()).unwrap();
    assert_eq!(json["id"], value.id.to_string());
    assert!(json.get("_id").is_none());
    assert!(json.get("note").is_none());
    assert!(json.get("passcode").is_none());
    assert_eq!(json["reads"], 3);
    assert_eq!(json["owner"], value.owner.to_string());
    assert!(json["created_at"].is_string());
}

#[test]
fn the_static_description() {
    assert_eq!(Article::COLLECTION, "articles");
    assert_eq!(Article::NAME, "Article");
    const { assert!(Article::TIMESTAMPS) };
    assert_eq!(Category::COLLECTION, "categories");
    assert_eq!(Writer::COLLECTION, "writers");

    let fields = Article::fields();
    assert_eq!(fields.len(), 19);
    assert_eq!(fields[0].name, "_id");
    assert_eq!(fields[0].rust_name, "id");
    let find = |name: &str| fields.iter().find(|f| f.name == name).unwrap();
    assert_eq!(find("title").ty, FieldType::String);
    assert!(find("title").filter && find("title").sort && !find("title").select);
    assert_eq!(find("reads").ty, FieldType::Int);
    assert_eq!(find("reads").visibility, Visibility::ReadOnly);
    assert_eq!(find("score").ty, FieldType::Float);
    assert_eq!(find("published").ty, FieldType::Bool);
    assert_eq!(find("publish_at").ty, FieldType::DateTime);
    assert!(find("subtitle").optional);
    assert!(find("tags").array);
    assert_eq!(find("tags").ty, FieldType::String);
    assert_eq!(find("seo").ty, FieldType::Object);
    assert_eq!(find("writer").ty, FieldType::Id);
    assert_eq!(find("writer").reference.unwrap().collection, "writers");
    assert!(find("_id").reference.is_none());
    assert_eq!(find("note").visibility, Visibility::Hidden);
    assert_eq!(find("passcode").visibility, Visibility::WriteOnly);
    assert!(find("slug").unique && find("slug").select);
    assert!(find("owner").owner);
    assert_eq!(find("owner").visibility, Visibility::ReadOnly);
    assert_eq!(find("created_at").visibility, Visibility::ReadOnly);

    let indexes = Article::indexes();
    let keys: Vec<_> = indexes.iter().map(|i| (i.keys.clone(), i.unique)).collect();
    assert_eq!(
        keys,
        [
            (doc! { "owner": 1, "created_at": -1 }, false),
            (doc! { "title": "text", "body": "text" }, false),
            (doc! { "slug": 1 }, true),
        ]
    );
    let category = Category::indexes();
    assert_eq!(category.len(), 1);
    assert!(category[0].unique && category[0].sparse);

    let value = article();
    assert_eq!(value.owner(), Some(value.owner.object_id()));
    assert_eq!(Model::id(&value), value.id);

    let spec = Article::list_spec();
    let names: Vec<_> = spec.fields().iter().map(|f| (f.name, f.kind)).collect();
    assert_eq!(
        names,
        [
            ("title", FieldKind::String),
            ("reads", FieldKind::Integer),
            ("score", FieldKind::Number),
            ("published", FieldKind::Boolean),
            ("publish_at", FieldKind::DateTime),
            ("tags", FieldKind::String),
            ("writer", FieldKind::Id),
            ("status", FieldKind::String),
            ("slug", FieldKind::String),
        ]
    );
    assert!(spec.fields()[5].array);
    assert!(spec.parse("title[prefix]=He&sort=-reads").is_ok());
    assert!(spec.parse("note=x").is_err());
}

#[test]
fn resources_state_their_rules() {
    use flagstone::resource::Resource;
    assert_eq!(<Article as Resource>::PATH, "/articles");
    assert_eq!(<Article as Resource>::TAG, "articles");
    assert_eq!(Article::access(Operation::List), Some(Access::public()));
    assert_eq!(
        Article::access(Operation::Create),
        Some(Access::authenticated())
    );
    assert_eq!(
        Article::access(Operation::Update),
        Some(Access::owner_or("admin"))
    );
    assert_eq!(Article::access(Operation::Delete), Some(Access::owner()));
    assert_eq!(<Category as Resource>::PATH, "/categories");
    assert_eq!(Category::access(Operation::Delete), None);
    assert_eq!(
        Category::access(Operation::List),
        Some(Access::role("reader"))
    );
    assert_eq!(
        Category::access(Operation::Get),
        Some(Access::authenticated())
    );
    let _: <Article as Resource>::Hooks = ArticleHooks;
}

#[test]
fn schemas_are_written_with_constraints() {
    use flagstone::utoipa::{PartialSchema, ToSchema};
    assert_eq!(ArticleCreate::name(), "ArticleCreate");
    let create = serde_json::to_value(ArticleCreate::schema()).unwrap();
    let props = &create["properties"];
    assert_eq!(props["title"]["type"], "string");
    assert_eq!(props["title"]["description"], "The title.");
    assert_eq!(props["seo"]["$ref"], "#/components/schemas/Seo");
    assert_eq!(props["tags"]["type"], "array");
    assert_eq!(props["subtitle"]["type"], json!(["string", "null"]));
    assert_eq!(create["additionalProperties"], false);
    let required = create["required"].as_array().unwrap();
    assert!(required.contains(&json!("title")) && !required.contains(&json!("rank")));
    assert!(props.get("reads").is_none() && props.get("owner").is_none());
    let mut schemas = Vec::new();
    ArticleCreate::schemas(&mut schemas);
    assert_eq!(schemas[0].0, "Seo");

    let patch = serde_json::to_value(ArticlePatch::schema()).unwrap();
    assert!(patch.get("required").is_none());
    assert_eq!(
        patch["properties"]["subtitle"]["type"],
        json!(["string", "null"])
    );

    let view = serde_json::to_value(ArticleView::schema()).unwrap();
    assert!(view["properties"].get("note").is_none());
    assert!(view["properties"].get("passcode").is_none());
    assert_eq!(view["properties"]["id"]["type"], "string");

    let constrained =
        flagstone::openapi::apply_constraints::<ArticleCreate>(ArticleCreate::schema());
    let json = serde_json::to_value(constrained).unwrap();
    assert_eq!(json["properties"]["title"]["maxLength"], 120);
    assert_eq!(
        json["properties"]["status"]["enum"],
        json!(["draft", "published"])
    );
    assert_eq!(json["properties"]["rank"]["maximum"], 10);
}

/// Creates an article.
#[utoipa::path(post, path = "/articles", request_body = ArticleCreate,
               responses((status = 201, body = ArticleView)))]
async fn create_article(Json(body): Json<ArticleCreate>) -> flagstone::Result<StatusCode> {
    body.validate()?;
    Ok(StatusCode::CREATED)
}

#[tokio::test]
async fn the_document_carries_the_constraints() {
    use flagstone::{
        config::{Config, Profile},
        testing::TestApp,
    };
    let app = App::new(Config::defaults(Profile::Test))
        .api(OpenApiRouter::new().routes(routes!(create_article)));
    let doc = TestApp::new(app).get("/openapi.json").await.json();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["ArticleCreate"]["properties"]["title"]["minLength"],
        3
    );
    assert_eq!(
        schemas["ArticleCreate"]["properties"]["passcode"]["minLength"],
        4
    );
    assert_eq!(
        schemas["Seo"]["properties"]["slug"]["pattern"],
        "^(?:[a-z-]+)$"
    );
    assert!(schemas["ArticleView"]["properties"]["title"].is_object());
}
