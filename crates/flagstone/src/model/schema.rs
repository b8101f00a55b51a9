//! What the database itself knows about a model: its MongoDB `$jsonSchema` collection
//! validator, its indexes, and the list fields no index serves.
//!
//! [`prepare`] runs at start-up for every model: it syncs [`Model::indexes`], applies the
//! validator [`json_schema`] builds (when `database.schema_validation` is on, the
//! default), and reports filterable or sortable fields that no index serves — a warning
//! in development and test, a start-up error in production unless
//! `database.allow_unindexed = true`.
//!
//! ```
//! use flagstone::{config::{Config, Profile}, model::schema, store::Store};
//! # use flagstone::model::Model;
//! # async fn demo<Post: Model>() -> flagstone::Result<()> {
//! let store = Store::memory();
//! schema::prepare::<Post>(&store, &Config::defaults(Profile::Test)).await?;
//! let validator = schema::json_schema::<Post>();
//! assert_eq!(validator.get_str("bsonType").ok(), Some("object"));
//! # Ok(()) }
//! ```
//!
//! The validator states the stored shape of a document: the BSON type of every field
//! the model declares, which fields must be present, and the rules of the create body
//! (`len`, `range`, `pattern`, `one_of`, ...) on the same fields. It is a second line of
//! defence behind the API's own validation, for writes that do not go through it: a
//! script, another service, a hand-written handler using the driver.

#[cfg(feature = "mongodb")]
use std::sync::atomic::{AtomicBool, Ordering};

use bson::{Bson, Document, doc};

use super::{FieldDef, FieldType, Model};
use crate::{
    Error, Result,
    config::{Config, Profile},
    store::{Index, Store},
    validation::{Constraint, Validate},
};

/// The names of the timestamp fields a model with `timestamps` stores.
const TIMESTAMP_FIELDS: [&str; 2] = ["created_at", "updated_at"];

/// The `$jsonSchema` validator of `T`.
///
/// - `bsonType: "object"`, `title`: the model's name;
/// - `required`: every stored field that is not an `Option` (the `_id` and, with
///   `timestamps`, `created_at` and `updated_at` included);
/// - `properties`: one per field, typed from its [`FieldType`] — `string`; `int` or
///   `long` for [`FieldType::Int`]; `double`, `int` or `long` for [`FieldType::Float`];
///   `bool`; `date`; `objectId`; `object`; a `string` with an `enum` list for
///   [`FieldType::Enum`]; `array` with `items` for a `Vec`; `null` allowed too for an
///   `Option`;
/// - the rules of `T::Create` ([`Validate::constraints`]) on the same properties:
///   `minLength`/`maxLength` (`minItems`/`maxItems` for arrays), `minimum`/`maximum`,
///   `pattern`, `enum`, and the element rules of `each(...)` in `items`. `format`
///   (`email`, `url`) has no `$jsonSchema` keyword and is left to the API.
///
/// `additionalProperties` is left open (MongoDB's default, `true`): the validator checks
/// what the model declares and nothing more, so fields written by other tools, by
/// migrations or by a later version of the app, are not refused.
pub fn json_schema<T: Model>() -> Document {
    let fields = T::fields();
    let constraints = <T::Create as Validate>::constraints();
    let mut required = Vec::new();
    let mut properties = Document::new();
    for field in fields {
        if !field.optional {
            required.push(Bson::String(field.name.to_owned()));
        }
        let mut property = property(field);
        if let Some(constraint) = constraints.iter().find(|c| c.field == field.name) {
            apply_constraint(&mut property, field, constraint);
        }
        properties.insert(field.name, property);
    }
    if T::TIMESTAMPS {
        for name in TIMESTAMP_FIELDS {
            if !fields.iter().any(|f| f.name == name) {
                required.push(Bson::String(name.to_owned()));
                properties.insert(name, doc! { "bsonType": "date" });
            }
        }
    }
    doc! {
        "bsonType": "object",
        "title": T::NAME,
        "required": required,
        "properties": properties,
    }
}

/// The BSON type names of a value of `ty`.
fn bson_types(ty: FieldType) -> &'static [&'static str] {
    match ty {
        FieldType::String | FieldType::Enum(_) => &["string"],
        FieldType::Int => &["int", "long"],
        FieldType::Float => &["double", "int", "long"],
        FieldType::Bool => &["bool"],
        FieldType::DateTime => &["date"],
        FieldType::Id => &["objectId"],
        FieldType::Object => &["object"],
    }
}

/// `bsonType`: one name as a string, several as an array.
fn bson_type(names: &[&str]) -> Bson {
    match names {
        [one] => Bson::String((*one).to_owned()),
        many => Bson::Array(many.iter().map(|n| Bson::String((*n).to_owned())).collect()),
    }
}

/// The schema of one value of `ty` (an element, for arrays).
fn value_schema(ty: FieldType, nullable: bool) -> Document {
    let mut names = bson_types(ty).to_vec();
    if nullable {
        names.push("null");
    }
    let mut schema = doc! { "bsonType": bson_type(&names) };
    if let FieldType::Enum(values) = ty {
        schema.insert("enum", enum_values(values, nullable));
    }
    schema
}

/// The schema of a field, before its rules.
fn property(field: &FieldDef) -> Document {
    if !field.array {
        return value_schema(field.ty, field.optional);
    }
    let names: &[&str] = match field.optional {
        true => &["array", "null"],
        false => &["array"],
    };
    doc! {
        "bsonType": bson_type(names),
        "items": value_schema(field.ty, false),
    }
}

/// An `enum` list; `null` joins it for a nullable value, since `enum` is checked on its
/// own and would refuse it otherwise.
fn enum_values(values: &[&str], nullable: bool) -> Vec<Bson> {
    let mut list: Vec<Bson> = values
        .iter()
        .map(|v| Bson::String((*v).to_owned()))
        .collect();
    if nullable {
        list.push(Bson::Null);
    }
    list
}

/// States the rules of `constraint` on the property of `field`.
fn apply_constraint(property: &mut Document, field: &FieldDef, constraint: &Constraint) {
    if !field.array {
        apply_value_constraint(property, constraint, field.optional);
        return;
    }
    if constraint.counts_items {
        if let Some(min) = constraint.min_length {
            property.insert("minItems", count(min));
        }
        if let Some(max) = constraint.max_length {
            property.insert("maxItems", count(max));
        }
    }
    if let (Some(items), Ok(schema)) = (&constraint.items, property.get_document_mut("items")) {
        apply_value_constraint(schema, items, false);
    }
}

/// The rules of one value: lengths in characters, bounds, pattern, allowed values.
fn apply_value_constraint(schema: &mut Document, c: &Constraint, nullable: bool) {
    if !c.counts_items {
        if let Some(min) = c.min_length {
            schema.insert("minLength", count(min));
        }
        if let Some(max) = c.max_length {
            schema.insert("maxLength", count(max));
        }
    }
    if let Some(minimum) = c.minimum {
        schema.insert("minimum", number(minimum));
    }
    if let Some(maximum) = c.maximum {
        schema.insert("maximum", number(maximum));
    }
    // Already anchored (`^...$`) by the derive, as the API checks it: the whole value.
    if let Some(pattern) = c.pattern {
        schema.insert("pattern", pattern);
    }
    if let Some(values) = c.one_of {
        schema.insert("enum", enum_values(values, nullable));
    }
}

fn count(n: u64) -> Bson {
    i64::try_from(n).map_or(Bson::Int64(i64::MAX), Bson::Int64)
}

/// Whole numbers as integers (`3`, not `3.0`), the others as doubles.
fn number(n: f64) -> Bson {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Bson::Int64(n as i64)
    } else {
        Bson::Double(n)
    }
}

/// Server error codes meaning "this server does not do that": CommandNotFound (59),
/// CommandNotSupported (115), NotImplemented (238).
#[cfg(feature = "mongodb")]
const NOT_IMPLEMENTED: &[i32] = &[59, 115, 238];

/// Whether the "validators are not supported" warning was logged.
#[cfg(feature = "mongodb")]
static WARNED: AtomicBool = AtomicBool::new(false);

/// Applies [`json_schema`] as the validator of `T`'s collection on MongoDB: `collMod`
/// with `validator: { $jsonSchema: ... }`, `validationLevel: "moderate"` (documents
/// already stored that do not fit are not checked until they are fixed) and
/// `validationAction: "error"`; a collection that does not exist yet is created with it.
///
/// The embedded store does nothing here: every write to it goes through the typed API.
/// A server that does not implement validators (FerretDB 1.x answers `NotImplemented`)
/// gets one warning per process and the app goes on without them.
pub async fn apply_validator<T: Model>(store: &Store) -> Result<()> {
    #[cfg(feature = "mongodb")]
    if let Some(db) = store.mongo() {
        return apply_on_mongo::<T>(db).await;
    }
    let _ = store;
    Ok(())
}

#[cfg(feature = "mongodb")]
async fn apply_on_mongo<T: Model>(db: &mongodb::Database) -> Result<()> {
    let validator = doc! { "$jsonSchema": json_schema::<T>() };
    let coll_mod = doc! {
        "collMod": T::COLLECTION,
        "validator": validator.clone(),
        "validationLevel": "moderate",
        "validationAction": "error",
    };
    let create = doc! {
        "create": T::COLLECTION,
        "validator": validator,
        "validationLevel": "moderate",
        "validationAction": "error",
    };
    let mut result = db.run_command(coll_mod.clone()).await;
    // NamespaceNotFound: create it with the validator. NamespaceExists: created meanwhile
    // by another instance; modify it after all.
    if result.as_ref().err().and_then(command_code) == Some(26) {
        result = db.run_command(create).await;
        if result.as_ref().err().and_then(command_code) == Some(48) {
            result = db.run_command(coll_mod).await;
        }
    }
    match result {
        Ok(_) => {
            tracing::debug!(collection = T::COLLECTION, "$jsonSchema validator applied");
            Ok(())
        }
        Err(e) if command_code(&e).is_some_and(|c| NOT_IMPLEMENTED.contains(&c)) => {
            if !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    collection = T::COLLECTION,
                    error = %e,
                    "the database server does not implement collection validators; models \
                     are checked by the API only (set database.schema_validation = false to \
                     skip this)"
                );
            }
            Ok(())
        }
        Err(e) => Err(Error::internal(std::io::Error::other(format!(
            "applying the $jsonSchema validator of {} to the collection {:?} failed: {e}",
            T::NAME,
            T::COLLECTION
        )))),
    }
}

/// The server's error code, for a command error.
#[cfg(feature = "mongodb")]
fn command_code(e: &mongodb::error::Error) -> Option<i32> {
    match e.kind.as_ref() {
        mongodb::error::ErrorKind::Command(c) => Some(c.code),
        _ => None,
    }
}

/// The filterable or sortable fields of `T` that no index of [`Model::indexes`] serves,
/// in declaration order.
///
/// An index serves a field when the field is its first key with a direction (`1` or
/// `-1`): MongoDB can then use it for a filter on the field alone and for a sort that
/// starts with it. Text indexes and partial indexes do not count; `_id` is always served.
/// The fields are those marked `filter` or `sort` in [`Model::fields`] and in the list
/// specification ([`Listable::list_spec`](crate::query::Listable::list_spec)).
pub fn unindexed_list_fields<T: Model>() -> Vec<&'static str> {
    let indexes = T::indexes();
    let served = |name: &str| name == "_id" || indexes.iter().any(|i| serves(i, name));
    let declared = T::fields()
        .iter()
        .filter(|f| f.filter || f.sort)
        .map(|f| f.name);
    let listed = T::list_spec()
        .fields()
        .iter()
        .filter(|f| f.filter || f.sort)
        .map(|f| f.name);
    let mut unindexed: Vec<&'static str> = Vec::new();
    for name in declared.chain(listed) {
        if !served(name) && !unindexed.contains(&name) {
            unindexed.push(name);
        }
    }
    unindexed
}

fn serves(index: &Index, field: &str) -> bool {
    if index.partial.is_some() {
        return false;
    }
    match index.keys.iter().next() {
        Some((first, direction)) => {
            first == field && matches!(direction, Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_))
        }
        None => false,
    }
}

/// Gets the database ready for `T`, at start-up: syncs [`Model::indexes`], applies the
/// validator ([`apply_validator`]) when `database.schema_validation` is on, and checks
/// the list fields ([`unindexed_list_fields`]).
///
/// A filterable or sortable field that no index serves makes every list using it scan
/// the whole collection. In development and test that is a warning naming the fields and
/// the `#[index(...)]` to add; in production it is an error, before anything is written,
/// unless `database.allow_unindexed = true`.
pub async fn prepare<T: Model>(store: &Store, config: &Config) -> Result<()> {
    let unindexed = unindexed_list_fields::<T>();
    let refuse = config.profile == Profile::Production && !config.database.allow_unindexed;
    if refuse && !unindexed.is_empty() {
        return Err(Error::internal(std::io::Error::other(format!(
            "{} (collection {:?}) allows filtering or sorting on fields that no index \
             serves: {}; add {}, or set database.allow_unindexed = true",
            T::NAME,
            T::COLLECTION,
            unindexed.join(", "),
            suggestions(&unindexed)
        )))
        .with_code("unindexed_fields"));
    }
    store
        .collection::<Document>(T::COLLECTION)
        .sync_indexes(T::indexes())
        .await?;
    if config.database.schema_validation {
        apply_validator::<T>(store).await?;
    }
    if !unindexed.is_empty() {
        let fields = unindexed.join(", ");
        let add = suggestions(&unindexed);
        match config.profile {
            Profile::Production => tracing::info!(
                model = T::NAME,
                fields = %fields,
                "list fields without an index (allowed by database.allow_unindexed)"
            ),
            _ => tracing::warn!(
                model = T::NAME,
                fields = %fields,
                "lists filtering or sorting on these fields scan the whole collection; add {add} \
                 (production refuses to start without them unless database.allow_unindexed = true)"
            ),
        }
    }
    Ok(())
}

/// `#[index(fields(a = 1))], #[index(fields(b = 1))]`.
fn suggestions(fields: &[&str]) -> String {
    let each: Vec<String> = fields
        .iter()
        .map(|f| format!("#[index(fields({f} = 1))]"))
        .collect();
    each.join(", ")
}
