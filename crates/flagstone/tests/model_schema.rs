//! `model::schema`: the `$jsonSchema` validator of a model, unindexed list fields, and the
//! start-up preparation of a collection, with a hand-written `impl Model`.
#![allow(clippy::unwrap_used)]

use std::{cell::RefCell, sync::LazyLock};

use flagstone::{
    bson::{self, Bson, Document, doc, oid::ObjectId},
    config::{Config, ConfigLoader, DatabaseConfig, Profile},
    model::{FieldDef, FieldType, Model, Visibility, WriteContext, schema},
    prelude::*,
    query::{FieldKind, ListField, ListSpec, Listable},
    store::Timestamp,
};
use serde::{Deserialize, Serialize};

/// A stored item, covering every field type.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Item {
    #[serde(rename = "_id")]
    id: Id<Item>,
    name: String,
    qty: i64,
    price: f64,
    active: bool,
    due: Option<Timestamp>,
    maker: Id<Item>,
    status: String,
    meta: Document,
    tags: Vec<String>,
    code: Option<String>,
    color: Option<String>,
    secret: String,
    created_at: Timestamp,
    updated_at: Timestamp,
}

/// The create body, with the rules the validator takes over.
#[derive(Deserialize, Validate, ToSchema)]
struct ItemCreate {
    #[validate(len(min = 3, max = 40))]
    name: String,
    #[validate(range(min = 0, max = 1000))]
    qty: i64,
    #[validate(range(min = 0.5))]
    price: f64,
    active: bool,
    status: String,
    #[validate(len(max = 5), each(len(min = 1, max = 20)))]
    tags: Vec<String>,
    #[validate(pattern = "[A-Z]{3}")]
    code: Option<String>,
    #[validate(one_of("red", "blue"))]
    color: Option<String>,
}

/// A body with no rules.
#[derive(Deserialize, Validate, ToSchema)]
struct Rename {
    name: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct ItemView {
    id: String,
    name: String,
}

fn field(name: &'static str, ty: FieldType, edit: impl FnOnce(&mut FieldDef)) -> FieldDef {
    let mut def = FieldDef::new(name, name, ty);
    edit(&mut def);
    def
}

static FIELDS: LazyLock<Vec<FieldDef>> = LazyLock::new(|| {
    vec![
        field("_id", FieldType::Id, |f| {
            f.visibility = Visibility::ReadOnly
        }),
        field("name", FieldType::String, |f| {
            f.filter = true;
            f.sort = true;
            f.unique = true;
        }),
        field("qty", FieldType::Int, |f| f.sort = true),
        field("price", FieldType::Float, |f| f.filter = true),
        field("active", FieldType::Bool, |f| f.filter = true),
        field("due", FieldType::DateTime, |f| f.optional = true),
        field("maker", FieldType::Id, |_| {}),
        field("status", FieldType::Enum(&["draft", "live"]), |_| {}),
        field("meta", FieldType::Object, |_| {}),
        field("tags", FieldType::String, |f| f.array = true),
        field("code", FieldType::String, |f| f.optional = true),
        field("color", FieldType::String, |f| f.optional = true),
        field("secret", FieldType::String, |f| {
            f.visibility = Visibility::Hidden
        }),
    ]
});

impl Listable for Item {
    fn list_spec() -> &'static ListSpec {
        static SPEC: LazyLock<ListSpec> = LazyLock::new(|| {
            ListSpec::new()
                .field(ListField::new("name", FieldKind::String).filter().sort())
                .field(ListField::new("qty", FieldKind::Integer).sort())
                .field(ListField::new("price", FieldKind::Number).filter())
                .field(ListField::new("active", FieldKind::Boolean).filter())
                .field(ListField::new("meta.kind", FieldKind::String).filter())
        });
        &SPEC
    }
}

impl Model for Item {
    const COLLECTION: &'static str = "items";
    const NAME: &'static str = "Item";
    const TIMESTAMPS: bool = true;
    type Create = ItemCreate;
    type Patch = Rename;
    type View = ItemView;

    fn fields() -> &'static [FieldDef] {
        &FIELDS
    }

    fn indexes() -> Vec<Index> {
        vec![
            Index::new(doc! { "name": 1 }).unique(),
            Index::new(doc! { "price": 1, "qty": -1 }),
        ]
    }

    fn id(&self) -> Id<Self> {
        self.id
    }

    fn owner(&self) -> Option<ObjectId> {
        None
    }

    fn create(input: ItemCreate, ctx: &WriteContext) -> flagstone::Result<Self> {
        Ok(Self {
            id: Id::from_object_id(ctx.id),
            name: input.name,
            qty: input.qty,
            price: input.price,
            active: input.active,
            due: None,
            maker: Id::new(),
            status: input.status,
            meta: doc! { "kind": "box" },
            tags: input.tags,
            code: input.code,
            color: input.color,
            secret: "s".into(),
            created_at: ctx.now,
            updated_at: ctx.now,
        })
    }

    fn replace(current: Self, input: ItemCreate, ctx: &WriteContext) -> flagstone::Result<Self> {
        let mut next = Self::create(input, ctx)?;
        next.id = current.id;
        next.created_at = current.created_at;
        Ok(next)
    }

    fn patch(patch: Rename) -> flagstone::Result<Document> {
        Ok(match patch.name {
            Some(name) => doc! { "$set": { "name": name } },
            None => Document::new(),
        })
    }

    fn view(&self) -> ItemView {
        ItemView {
            id: self.id.to_string(),
            name: self.name.clone(),
        }
    }
}

/// A model with a few fields and no rules; `fields()` is [`FIELDS_OF`] of the current
/// thread, so one impl describes several shapes.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Shape {
    #[serde(rename = "_id")]
    id: Id<Shape>,
}

thread_local! {
    static FIELDS_OF: RefCell<&'static [FieldDef]> = const { RefCell::new(&[]) };
    static INDEXES_OF: RefCell<Vec<Index>> = const { RefCell::new(Vec::new()) };
}

impl Listable for Shape {
    fn list_spec() -> &'static ListSpec {
        static SPEC: LazyLock<ListSpec> = LazyLock::new(ListSpec::new);
        &SPEC
    }
}

impl Model for Shape {
    const COLLECTION: &'static str = "shapes";
    const NAME: &'static str = "Shape";
    const TIMESTAMPS: bool = false;
    type Create = Rename;
    type Patch = Rename;
    type View = ItemView;

    fn fields() -> &'static [FieldDef] {
        FIELDS_OF.with(|f| *f.borrow())
    }

    fn indexes() -> Vec<Index> {
        INDEXES_OF.with(|i| i.borrow().clone())
    }

    fn id(&self) -> Id<Self> {
        self.id
    }

    fn owner(&self) -> Option<ObjectId> {
        None
    }

    fn create(_: Rename, ctx: &WriteContext) -> flagstone::Result<Self> {
        Ok(Self {
            id: Id::from_object_id(ctx.id),
        })
    }

    fn replace(current: Self, _: Rename, _: &WriteContext) -> flagstone::Result<Self> {
        Ok(current)
    }

    fn patch(_: Rename) -> flagstone::Result<Document> {
        Ok(Document::new())
    }

    fn view(&self) -> ItemView {
        ItemView {
            id: self.id.to_string(),
            name: String::new(),
        }
    }
}

fn shape(fields: &'static [FieldDef], indexes: Vec<Index>) {
    FIELDS_OF.with(|f| *f.borrow_mut() = fields);
    INDEXES_OF.with(|i| *i.borrow_mut() = indexes);
}

fn strings(list: &[&str]) -> Vec<Bson> {
    list.iter().map(|s| Bson::String((*s).to_owned())).collect()
}

// ---- the validator --------------------------------------------------------------------------

#[test]
fn the_schema_types_every_field_and_states_the_create_rules() {
    let expected = doc! {
        "bsonType": "object",
        "title": "Item",
        "required": strings(&[
            "_id", "name", "qty", "price", "active", "maker", "status", "meta", "tags",
            "secret", "created_at", "updated_at",
        ]),
        "properties": {
            "_id": { "bsonType": "objectId" },
            "name": { "bsonType": "string", "minLength": 3_i64, "maxLength": 40_i64 },
            "qty": { "bsonType": ["int", "long"], "minimum": 0_i64, "maximum": 1000_i64 },
            "price": { "bsonType": ["double", "int", "long"], "minimum": 0.5 },
            "active": { "bsonType": "bool" },
            "due": { "bsonType": ["date", "null"] },
            "maker": { "bsonType": "objectId" },
            "status": { "bsonType": "string", "enum": ["draft", "live"] },
            "meta": { "bsonType": "object" },
            "tags": {
                "bsonType": "array",
                "items": { "bsonType": "string", "minLength": 1_i64, "maxLength": 20_i64 },
                "maxItems": 5_i64,
            },
            "code": { "bsonType": ["string", "null"], "pattern": "^(?:[A-Z]{3})$" },
            "color": { "bsonType": ["string", "null"], "enum": ["red", "blue", Bson::Null] },
            "secret": { "bsonType": "string" },
            "created_at": { "bsonType": "date" },
            "updated_at": { "bsonType": "date" },
        },
    };
    let schema = schema::json_schema::<Item>();
    assert_eq!(schema, expected, "\n got: {schema}\nwant: {expected}");
    assert!(
        !schema.contains_key("additionalProperties"),
        "fields the model does not declare stay allowed"
    );
}

#[test]
fn optional_arrays_and_enums_allow_null() {
    static OPTIONALS: LazyLock<Vec<FieldDef>> = LazyLock::new(|| {
        vec![
            field("labels", FieldType::Enum(&["a", "b"]), |f| {
                f.array = true;
                f.optional = true;
            }),
            field("level", FieldType::Enum(&["low", "high"]), |f| {
                f.optional = true
            }),
            field("score", FieldType::Float, |f| f.optional = true),
            field("counts", FieldType::Int, |f| f.array = true),
        ]
    });
    shape(&OPTIONALS, Vec::new());
    let expected = doc! {
        "bsonType": "object",
        "title": "Shape",
        "required": ["counts"],
        "properties": {
            "labels": {
                "bsonType": ["array", "null"],
                "items": { "bsonType": "string", "enum": ["a", "b"] },
            },
            "level": { "bsonType": ["string", "null"], "enum": ["low", "high", Bson::Null] },
            "score": { "bsonType": ["double", "int", "long", "null"] },
            "counts": { "bsonType": "array", "items": { "bsonType": ["int", "long"] } },
        },
    };
    let schema = schema::json_schema::<Shape>();
    assert_eq!(schema, expected, "\n got: {schema}\nwant: {expected}");
}

// ---- unindexed list fields ---------------------------------------------------------------

#[test]
fn unindexed_fields_are_those_no_index_starts_with() {
    // `name` is served by its unique index, `price` by the compound index it starts;
    // `qty` is only the compound index's second key; `meta.kind` comes from the list spec.
    assert_eq!(
        schema::unindexed_list_fields::<Item>(),
        ["qty", "active", "meta.kind"]
    );

    static NOTE: LazyLock<Vec<FieldDef>> = LazyLock::new(|| {
        vec![
            field("_id", FieldType::Id, |f| f.sort = true),
            field("title", FieldType::String, |f| f.sort = true),
            field("body", FieldType::String, |f| f.filter = true),
        ]
    });
    // `_id` is always served; text and partial indexes serve nothing.
    shape(
        &NOTE,
        vec![
            Index::new(doc! { "body": "text" }),
            Index::new(doc! { "body": 1 }).partial(doc! { "title": { "$exists": true } }),
            Index::new(doc! { "title": -1, "body": 1 }),
        ],
    );
    assert_eq!(schema::unindexed_list_fields::<Shape>(), ["body"]);
    shape(&NOTE, vec![Index::new(doc! { "body": 1 })]);
    assert_eq!(schema::unindexed_list_fields::<Shape>(), ["title"]);
}

// ---- prepare ---------------------------------------------------------------------------

fn index_names(indexes: &[Index]) -> Vec<String> {
    indexes.iter().map(Index::resolved_name).collect()
}

#[tokio::test]
async fn prepare_creates_the_indexes_and_only_warns_outside_production() {
    let store = Store::memory();
    schema::prepare::<Item>(&store, &Config::defaults(Profile::Test))
        .await
        .unwrap();
    let items = store.collection::<Item>("items");
    let indexes = items.list_indexes().await.unwrap();
    assert_eq!(index_names(&indexes), ["_id_", "name_1", "price_1_qty_-1"]);
    assert!(indexes[1].unique);
    // A second start-up changes nothing.
    schema::prepare::<Item>(&store, &Config::defaults(Profile::Development))
        .await
        .unwrap();
    assert_eq!(items.list_indexes().await.unwrap(), indexes);
}

#[tokio::test]
async fn production_refuses_unindexed_list_fields_unless_allowed() {
    let store = Store::memory();
    let mut config = Config::defaults(Profile::Production);
    let error = schema::prepare::<Item>(&store, &config).await.unwrap_err();
    assert_eq!(error.code(), "unindexed_fields");
    let message = error.to_string();
    for part in [
        "qty, active, meta.kind",
        "#[index(fields(qty = 1))]",
        "database.allow_unindexed = true",
    ] {
        assert!(message.contains(part), "{message}");
    }
    // Refused before anything was written.
    let items = store.collection::<Item>("items");
    assert_eq!(index_names(&items.list_indexes().await.unwrap()), ["_id_"]);

    config.database.allow_unindexed = true;
    schema::prepare::<Item>(&store, &config).await.unwrap();
    assert_eq!(
        index_names(&items.list_indexes().await.unwrap()),
        ["_id_", "name_1", "price_1_qty_-1"]
    );
}

#[test]
fn the_database_keys_default_to_validating_and_refusing_unindexed_fields() {
    for profile in [Profile::Development, Profile::Test, Profile::Production] {
        let config = Config::defaults(profile);
        assert!(config.database.schema_validation);
        assert!(!config.database.allow_unindexed);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigLoader::new()
        .profile(Profile::Test)
        .dir(dir.path())
        .env([
            ("FLAGSTONE_DATABASE__SCHEMA_VALIDATION", "false"),
            ("FLAGSTONE_DATABASE__ALLOW_UNINDEXED", "true"),
        ])
        .load()
        .unwrap();
    assert!(!config.database.schema_validation);
    assert!(config.database.allow_unindexed);
}

#[tokio::test]
async fn the_embedded_store_needs_no_validator() {
    let store = Store::memory();
    schema::apply_validator::<Item>(&store).await.unwrap();
    assert!(store.list_collections().await.unwrap().is_empty());
}

// ---- the live server -----------------------------------------------------------------------

fn item(name: &str) -> Item {
    let input = ItemCreate {
        name: name.into(),
        qty: 3,
        price: 9.5,
        active: true,
        status: "live".into(),
        tags: vec!["wood".into()],
        code: Some("ABC".into()),
        color: None,
    };
    Item::create(input, &WriteContext::new(None)).unwrap()
}

/// On the MongoDB-compatible server CI starts (`FLAGSTONE_TEST_MONGODB_URI`): the validator
/// is applied and refuses a wrong-typed document, or — on a server without validators,
/// such as FerretDB 1.x — a warning is logged and start-up goes on.
#[tokio::test]
async fn the_validator_on_the_live_server() {
    let Ok(uri) = std::env::var("FLAGSTONE_TEST_MONGODB_URI") else {
        println!("skipped: FLAGSTONE_TEST_MONGODB_URI is not set (scripts/test-mongo.sh start)");
        return;
    };
    let mut database = DatabaseConfig::default();
    database.url = Some(uri);
    database.name = Some(format!("schema_{}", ObjectId::new().to_hex()));
    let store = Store::open(&database).await.unwrap();
    let logs = flagstone::testing::LogCapture::start();
    let outcome = async {
        let db = store.mongo().unwrap();
        let build = db.run_command(doc! { "buildInfo": 1 }).await.unwrap();
        let ferretdb = build.contains_key("ferretdbVersion");

        // Before the collection exists (`create`), then on start-up again (`collMod`).
        schema::apply_validator::<Item>(&store).await.unwrap();
        let mut config = Config::defaults(Profile::Production);
        config.database.allow_unindexed = true;
        schema::prepare::<Item>(&store, &config).await.unwrap();

        // A document written through the model fits its own validator.
        let items = store.collection::<Item>("items");
        items.insert_one(&item("crate")).await.unwrap();

        let raw = db.collection::<Document>("items");
        let mut wrong = bson::serialize_to_document(&item("wrong")).unwrap();
        wrong.insert("qty", "many");
        let refused = raw.insert_one(wrong).await;
        let specs = db
            .list_collections()
            .filter(doc! { "name": "items" })
            .await
            .unwrap();
        let specs: Vec<_> = futures_util::TryStreamExt::try_collect(specs)
            .await
            .unwrap();
        let validator = specs[0].options.validator.clone();
        if ferretdb {
            println!(
                "FerretDB: validator {validator:?}; a wrong-typed insert was {}",
                match &refused {
                    Ok(_) => "accepted".to_owned(),
                    Err(e) => format!("refused: {e}"),
                }
            );
            assert!(refused.is_ok(), "FerretDB 1.x applies no validator");
            let create = db
                .run_command(doc! {
                    "create": "probe",
                    "validator": { "$jsonSchema": schema::json_schema::<Item>() },
                })
                .await;
            let code = match create.unwrap_err().kind.as_ref() {
                flagstone::mongodb::error::ErrorKind::Command(c) => c.code,
                other => panic!("{other:?}"),
            };
            assert_eq!(code, 238, "NotImplemented");
            let logs = logs.contents();
            assert!(
                logs.contains("does not implement collection validators"),
                "{logs}"
            );
            return;
        }
        assert!(validator.is_some());
        let error = refused.unwrap_err();
        let code = match error.kind.as_ref() {
            flagstone::mongodb::error::ErrorKind::Write(
                flagstone::mongodb::error::WriteFailure::WriteError(w),
            ) => w.code,
            other => panic!("{other:?}"),
        };
        assert_eq!(code, 121, "DocumentValidationFailure");
        // Fields the model does not declare stay allowed.
        let mut extra = bson::serialize_to_document(&item("extra")).unwrap();
        extra.insert("added_by_a_script", 1);
        raw.insert_one(extra).await.unwrap();
    };
    let result = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(outcome)).await;
    if let Some(db) = store.mongo() {
        let _ = db.drop().await;
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
