//! Models: a struct stored in a collection, with the input and output types its API needs.
//!
//! `#[derive(Model)]` implements [`Model`] (and [`Listable`]) from one declaration:
//!
//! ```text
//! #[derive(Model)]
//! #[model(collection = "posts", timestamps)]          collection: default snake_case plural
//! #[index(fields(author = 1, created_at = -1))]       also unique, ttl = "30d", text, name = ".."
//! pub struct Post {
//!     pub id: Id<Post>,                               stored as `_id`
//!     #[field(len(min = 3, max = 120), filter, sort)] validation rules + list permissions
//!     pub title: String,
//!     #[field(owner, read_only)]                      set from the caller, never from input
//!     pub author: Id<User>,
//!     #[field(hidden)]                                never in a response
//!     pub secret_note: Option<String>,
//! }
//! ```
//!
//! The derive generates, next to the struct:
//!
//! | type | what | rules |
//! | --- | --- | --- |
//! | `PostCreate` | the body of POST and PUT | writable fields (not `read_only`, `owner`, the id or timestamps), unknown fields refused, the field rules |
//! | `PostPatch` | the body of PATCH | every writable field optional; an `Option` field tells absent (unchanged) from `null` (cleared) |
//! | `PostView` | what responses show | every field but `hidden` and `write_only` ones; `id` for `_id` |
//!
//! and implements `Serialize` / `Deserialize` for the struct itself (the stored form, with
//! `_id`), so a model needs no serde derive of its own.
//!
//! Everything else — handlers, the `$jsonSchema` validator, index checks — is generic code
//! in this crate over [`Model`]'s static description ([`Model::fields`]), so a model
//! expands to little code and an edit rebuilds fast.

pub mod schema;

use std::collections::HashMap;

use bson::{Document, oid::ObjectId};
use futures_util::future::BoxFuture;
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    Result,
    auth::AuthUser,
    query::Listable,
    store::{Id, Index, Store, Timestamp},
    validation::Validate,
};

/// A type stored in a collection; implemented by `#[derive(Model)]`.
pub trait Model: Serialize + DeserializeOwned + Listable + Send + Sync + Unpin + 'static {
    /// The collection it lives in.
    const COLLECTION: &'static str;
    /// The type's name, as OpenAPI schema names and messages use it (`Post`).
    const NAME: &'static str;
    /// Whether `created_at` / `updated_at` are kept by the framework.
    const TIMESTAMPS: bool;

    /// The body of POST and PUT.
    type Create: DeserializeOwned + Validate + ToSchemaIfOpenApi + Send + 'static;
    /// The body of PATCH.
    type Patch: DeserializeOwned + Validate + ToSchemaIfOpenApi + Send + 'static;
    /// What responses show.
    type View: Serialize + ToSchemaIfOpenApi + Send + Sync + 'static;

    /// Every stored field, in declaration order (the id first as `_id`).
    fn fields() -> &'static [FieldDef];
    /// The indexes: each `#[index(...)]`, and one per `unique` field.
    fn indexes() -> Vec<Index>;
    /// The document's id.
    fn id(&self) -> Id<Self>;
    /// The owner's id, for a model with an `owner` field.
    fn owner(&self) -> Option<ObjectId>;
    /// A new document from a create body. Sets the id, the owner (the caller) and the
    /// timestamps from `ctx`; fields without input take their declared default.
    fn create(input: Self::Create, ctx: &WriteContext) -> Result<Self>;
    /// `current` replaced by a create body (PUT): the id, the owner, `created_at` and
    /// read-only fields are kept; `updated_at` becomes `ctx.now`.
    fn replace(current: Self, input: Self::Create, ctx: &WriteContext) -> Result<Self>;
    /// The update document (`$set` and `$unset`) for a patch body, without `updated_at`
    /// (the caller adds it); empty when the patch changes nothing.
    fn patch(patch: Self::Patch) -> Result<Document>;
    /// The response view.
    fn view(&self) -> Self::View;
}

/// `utoipa::ToSchema` with the `openapi` feature, nothing without it.
#[cfg(feature = "openapi")]
pub trait ToSchemaIfOpenApi: utoipa::ToSchema {}
#[cfg(feature = "openapi")]
impl<T: utoipa::ToSchema> ToSchemaIfOpenApi for T {}
/// `utoipa::ToSchema` with the `openapi` feature, nothing without it.
#[cfg(not(feature = "openapi"))]
pub trait ToSchemaIfOpenApi {}
#[cfg(not(feature = "openapi"))]
impl<T> ToSchemaIfOpenApi for T {}

/// What a write knows besides its body.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WriteContext {
    /// The id of a new document.
    pub id: ObjectId,
    /// The caller, if authenticated.
    pub user: Option<AuthUser>,
    /// The time of the write (for timestamps).
    pub now: Timestamp,
}

impl WriteContext {
    /// A context for a write by `user` now, with a fresh id.
    pub fn new(user: Option<AuthUser>) -> Self {
        Self {
            id: ObjectId::new(),
            user,
            now: Timestamp::now(),
        }
    }

    /// The caller's id, for the owner field; 401 when nobody is logged in.
    pub fn owner_id(&self) -> Result<ObjectId> {
        match &self.user {
            Some(user) => Ok(user.id::<()>().object_id()),
            None => {
                Err(crate::Error::unauthorized("authentication required")
                    .with_code("unauthenticated"))
            }
        }
    }
}

/// One stored field of a model.
#[derive(Debug)]
#[non_exhaustive]
pub struct FieldDef {
    /// The name in stored documents and JSON (`_id` for the id).
    pub name: &'static str,
    /// The Rust field's name.
    pub rust_name: &'static str,
    /// What it holds (for arrays, what each element holds).
    pub ty: FieldType,
    /// A `Vec` of `ty`.
    pub array: bool,
    /// An `Option`: may be absent or null.
    pub optional: bool,
    /// Who sees and writes it.
    pub visibility: Visibility,
    /// Usable in list filters.
    pub filter: bool,
    /// Usable in `sort`.
    pub sort: bool,
    /// Usable in `fields`.
    pub select: bool,
    /// The owner of the document (an `Id<User>` set from the caller).
    pub owner: bool,
    /// Unique across the collection (an index is created for it).
    pub unique: bool,
    /// For an `Id<Other>` field: the referenced model, for `?expand=`.
    pub reference: Option<Reference>,
}

impl FieldDef {
    /// A plain, visible field of type `ty`, allowing nothing in lists: what the derive
    /// starts from.
    pub const fn new(name: &'static str, rust_name: &'static str, ty: FieldType) -> Self {
        Self {
            name,
            rust_name,
            ty,
            array: false,
            optional: false,
            visibility: Visibility::Normal,
            filter: false,
            sort: false,
            select: false,
            owner: false,
            unique: false,
            reference: None,
        }
    }
}

/// The type of a stored value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldType {
    /// Text.
    String,
    /// A whole number (`i32`, `i64`, `u32`: stored as BSON int32 or int64).
    Int,
    /// A floating-point number.
    Float,
    /// `true` / `false`.
    Bool,
    /// A [`Timestamp`].
    DateTime,
    /// An ObjectId ([`Id`]).
    Id,
    /// One of these strings (a unit-variant enum).
    Enum(&'static [&'static str]),
    /// An embedded document (a nested struct), or anything else serde stores as one.
    Object,
}

/// Who sees and writes a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Visibility {
    /// In input and output.
    Normal,
    /// Never in a response (a password hash); not accepted as input either.
    Hidden,
    /// Set by the server; in responses, never accepted as input.
    ReadOnly,
    /// Accepted as input, never in a response.
    WriteOnly,
}

/// Loads referenced documents by id and returns their expanded JSON by id.
pub type LoadViews =
    fn(Store, Vec<ObjectId>) -> BoxFuture<'static, Result<HashMap<ObjectId, serde_json::Value>>>;

/// The model an `Id<Other>` field refers to, and how to load a batch of them for
/// `?expand=`.
#[derive(Clone, Copy)]
pub struct Reference {
    /// The referenced collection.
    pub collection: &'static str,
    /// Loads the documents with these ids and returns their views as JSON, by id: one
    /// query per call.
    pub load: LoadViews,
}

impl std::fmt::Debug for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reference")
            .field("collection", &self.collection)
            .finish_non_exhaustive()
    }
}

impl Reference {
    /// The reference to `T`.
    pub const fn to<T: Referenced>() -> Self {
        Self {
            collection: T::COLLECTION,
            load: load_views::<T>,
        }
    }
}

/// A type `Id<T>` fields may refer to and expand: every [`Model`], and the account
/// module's `User`.
pub trait Referenced: DeserializeOwned + Send + Sync + Unpin + 'static {
    /// Its collection.
    const COLLECTION: &'static str;
    /// The JSON an expanded reference shows (its response view).
    fn expanded(&self) -> Result<serde_json::Value>;
}

impl<T: Model> Referenced for T {
    const COLLECTION: &'static str = T::COLLECTION;

    fn expanded(&self) -> Result<serde_json::Value> {
        serde_json::to_value(self.view()).map_err(crate::Error::internal)
    }
}

fn load_views<T: Referenced>(
    store: Store,
    ids: Vec<ObjectId>,
) -> BoxFuture<'static, Result<HashMap<ObjectId, serde_json::Value>>> {
    Box::pin(async move {
        let collection = store.collection::<Document>(T::COLLECTION);
        let docs = collection
            .find(bson::doc! { "_id": { "$in": ids } })
            .await?;
        let mut views = HashMap::with_capacity(docs.len());
        for doc in docs {
            let Ok(id) = doc.get_object_id("_id") else {
                continue;
            };
            let value: T = crate::store::from_document(T::COLLECTION, &doc)?;
            views.insert(id, value.expanded()?);
        }
        Ok(views)
    })
}
