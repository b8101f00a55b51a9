//! The store: one storage API over MongoDB and an embedded store.
//!
//! ```no_run
//! use flagstone::store::{Id, Index, Store};
//! use bson::doc;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Task {
//!     #[serde(rename = "_id")]
//!     id: Id<Task>,
//!     title: String,
//!     done: bool,
//! }
//!
//! # async fn demo() -> flagstone::Result<()> {
//! let store = Store::connect("memory://").await?;
//! let tasks = store.collection::<Task>("tasks");
//! tasks.create_index(Index::new(doc! { "title": 1 }).unique()).await?;
//! tasks.insert_one(&Task { id: Id::new(), title: "write docs".into(), done: false }).await?;
//! let open: Vec<Task> = tasks.find(doc! { "done": false }).sort(doc! { "title": 1 }).limit(20).await?;
//! tasks.update_many(doc! { "done": false }, doc! { "$set": { "done": true } }).await?;
//! # Ok(()) }
//! ```
//!
//! ## Backends
//!
//! [`Store::open`] picks the backend from `database.url`:
//!
//! | URL | backend |
//! | --- | --- |
//! | `mongodb://...`, `mongodb+srv://...` | MongoDB through the official driver (cargo feature `mongodb`, on by default) |
//! | `file://PATH` | the embedded store, persisted to one `redb` file (created on first use) |
//! | `memory://` | the embedded store, in memory only |
//!
//! Filters, updates, sorts and projections are MongoDB's own documents. The MongoDB
//! backend passes them to the server untouched; the embedded store evaluates a
//! documented subset of the language with MongoDB's semantics and answers anything
//! outside it with [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) naming the
//! operator — never a silently different result. One conformance suite runs against
//! both.
//!
//! ## Errors
//!
//! Every operation returns [`crate::Error`]: a unique-index violation is a 409 conflict
//! naming the fields; a MongoDB server that cannot be reached within
//! `database.server_selection_timeout` is a 503 with `Retry-After`; an invalid filter or
//! update (an unknown shape, `$inc` on a string) is a 400; a stored document that does
//! not fit the collection's type is a 500 (the cause is logged).
//!
//! ## Ids
//!
//! [`Id<T>`] is a typed ObjectId: a 24-hex string in JSON, an ObjectId in BSON. A
//! malformed id in a path is a 400 (the extractor rejects it) — Flagstone does not pretend
//! a malformed id names a missing document.

mod embedded;
mod id;
pub(crate) use id::parse_object_id;
#[cfg(feature = "mongodb")]
mod mongo;
mod timestamp;

use std::{
    future::{Future, IntoFuture},
    marker::PhantomData,
    pin::Pin,
    sync::Arc,
    time::Duration,
};

pub use bson::{Bson, Document, doc, oid::ObjectId};
use futures_util::{
    TryFutureExt, TryStreamExt,
    stream::{self, BoxStream, StreamExt},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use self::embedded::Engine;
pub use self::{
    id::{Id, InvalidId},
    timestamp::Timestamp,
};
use crate::{Error, Result, config::DatabaseConfig};

/// A handle on the database: cheap to clone, shared by every collection.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Embedded(Arc<Engine>),
    #[cfg(feature = "mongodb")]
    Mongo(mongo::Mongo),
}

/// Which backend a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendKind {
    /// The embedded store, in memory.
    Memory,
    /// The embedded store, persisted to a file.
    File,
    /// A MongoDB server (or a compatible one).
    Mongo,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("Store");
        s.field("backend", &self.kind());
        if let Backend::Embedded(engine) = &self.backend
            && let Some(path) = engine.path()
        {
            s.field("path", &path);
        }
        s.finish()
    }
}

/// The 501 for something outside the embedded store's subset.
pub(crate) fn unsupported(what: &str) -> Error {
    Error::unsupported(format!("{what} is not supported by the embedded store"))
}

impl Store {
    /// Opens the store `config.url` names (see the module docs), with the pool and
    /// timeout settings of `config`. Creates the directory of a `file://` store.
    pub async fn open(config: &DatabaseConfig) -> Result<Self> {
        let Some(url) = config.url.as_deref() else {
            return Err(Error::internal(std::io::Error::other(
                "database.url is not set",
            )));
        };
        let store = if url == "memory://" {
            Self::embedded(Engine::memory())
        } else if let Some(path) = url.strip_prefix("file://") {
            let path = std::path::PathBuf::from(path);
            let engine = tokio::task::spawn_blocking(move || Engine::open(&path))
                .await
                .map_err(Error::internal)??;
            Self::embedded(engine)
        } else if url.starts_with("mongodb://") || url.starts_with("mongodb+srv://") {
            #[cfg(feature = "mongodb")]
            {
                Self {
                    backend: Backend::Mongo(mongo::Mongo::connect(url, config).await?),
                }
            }
            #[cfg(not(feature = "mongodb"))]
            {
                return Err(Error::internal(std::io::Error::other(
                    "this build has no MongoDB support: enable flagstone's `mongodb` feature",
                )));
            }
        } else {
            return Err(Error::internal(std::io::Error::other(format!(
                "unsupported database.url scheme in {url:?}"
            ))));
        };
        if let Backend::Embedded(engine) = &store.backend {
            spawn_ttl_sweeper(engine, config.ttl_interval);
        }
        Ok(store)
    }

    /// Opens `url` with default settings.
    pub async fn connect(url: &str) -> Result<Self> {
        let config = DatabaseConfig {
            url: Some(url.to_owned()),
            ..DatabaseConfig::default()
        };
        Self::open(&config).await
    }

    /// A fresh in-memory store (tests use one each).
    pub fn memory() -> Self {
        Self::embedded(Engine::memory())
    }

    fn embedded(engine: Engine) -> Self {
        Self {
            backend: Backend::Embedded(Arc::new(engine)),
        }
    }

    /// Which backend this is.
    pub fn kind(&self) -> BackendKind {
        match &self.backend {
            Backend::Embedded(e) if e.is_file() => BackendKind::File,
            Backend::Embedded(_) => BackendKind::Memory,
            #[cfg(feature = "mongodb")]
            Backend::Mongo(_) => BackendKind::Mongo,
        }
    }

    /// The collection `name`, typed as `T`. Nothing is created until the first write.
    pub fn collection<T>(&self, name: &str) -> Collection<T> {
        Collection {
            store: self.clone(),
            name: Arc::from(name),
            #[cfg(feature = "mongodb")]
            driver: match &self.backend {
                Backend::Mongo(m) => Some(m.collection(name)),
                Backend::Embedded(_) => None,
            },
            _of: PhantomData,
        }
    }

    /// The MongoDB database behind this store, for what the store API does not cover
    /// (aggregation pipelines, transactions, change streams). `None` on the embedded store.
    #[cfg(feature = "mongodb")]
    pub fn mongo(&self) -> Option<&mongodb::Database> {
        match &self.backend {
            Backend::Mongo(m) => Some(m.database()),
            Backend::Embedded(_) => None,
        }
    }

    /// Checks that the database answers: a `ping` on MongoDB (503 when unreachable),
    /// always fine on the embedded store.
    pub async fn ping(&self) -> Result<()> {
        match &self.backend {
            Backend::Embedded(_) => Ok(()),
            #[cfg(feature = "mongodb")]
            Backend::Mongo(m) => m.ping().await,
        }
    }

    /// Names of the collections, sorted.
    pub async fn list_collections(&self) -> Result<Vec<String>> {
        match &self.backend {
            Backend::Embedded(e) => Ok(e.list_collections()),
            #[cfg(feature = "mongodb")]
            Backend::Mongo(m) => m.list_collections().await,
        }
    }

    /// Deletes every collection (the whole database on MongoDB). For tests and tools.
    pub async fn drop_all(&self) -> Result<()> {
        match &self.backend {
            Backend::Embedded(e) => {
                for name in e.list_collections() {
                    self.run_write(e, move |e| e.drop_collection(&name)).await?;
                }
                Ok(())
            }
            #[cfg(feature = "mongodb")]
            Backend::Mongo(m) => m.drop_database().await,
        }
    }

    /// Deletes the documents that TTL indexes say have expired, now. The embedded store
    /// also does this every `database.ttl_interval`; MongoDB does it on its own schedule
    /// (about once a minute), so this returns 0 there.
    pub async fn purge_expired(&self) -> Result<u64> {
        match &self.backend {
            Backend::Embedded(e) => self.run_write(e, |e| e.purge_expired()).await,
            #[cfg(feature = "mongodb")]
            Backend::Mongo(_) => Ok(0),
        }
    }

    /// Runs an embedded write: inline in memory mode, on the blocking pool in file mode
    /// (it waits for the disk).
    async fn run_write<R: Send + 'static>(
        &self,
        engine: &Arc<Engine>,
        work: impl FnOnce(&Engine) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        if !engine.is_file() {
            return work(engine);
        }
        let engine = engine.clone();
        tokio::task::spawn_blocking(move || work(&engine))
            .await
            .map_err(Error::internal)?
    }
}

fn spawn_ttl_sweeper(engine: &Arc<Engine>, every: Duration) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if every.is_zero() {
        return;
    }
    let weak = Arc::downgrade(engine);
    runtime.spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let Some(engine) = weak.upgrade() else { return };
            let result = match engine.is_file() {
                true => tokio::task::spawn_blocking(move || engine.purge_expired())
                    .await
                    .unwrap_or(Ok(0)),
                false => engine.purge_expired(),
            };
            match result {
                Ok(0) => {}
                Ok(n) => tracing::debug!(deleted = n, "TTL indexes expired documents"),
                Err(e) => tracing::warn!(error = ?e, "TTL sweep failed"),
            }
        }
    });
}

/// The direction of a sort key: 1 or -1 (anything negative counts as -1).
pub(crate) fn sort_direction(value: &Bson) -> i32 {
    match embedded::value::as_f64(value) {
        Some(d) if d < 0.0 => -1,
        _ => 1,
    }
}

/// Options of a find: sort, skip, limit, projection.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct FindOptions {
    /// `{ field: 1 | -1, ... }`.
    pub sort: Option<Document>,
    /// Documents to skip.
    pub skip: Option<u64>,
    /// Most documents to return (0 or none: no limit).
    pub limit: Option<i64>,
    /// `{ field: 1, ... }` to include or `{ field: 0, ... }` to exclude.
    pub projection: Option<Document>,
}

/// What an update did.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct UpdateResult {
    /// Documents the filter matched.
    pub matched: u64,
    /// Documents actually changed.
    pub modified: u64,
    /// The `_id` of the document an upsert inserted.
    pub upserted_id: Option<Bson>,
}

/// Whether `find_one_and_update` returns the document as it was, or as it became.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReturnDocument {
    /// As it was before the update.
    Before,
    /// As it is after the update.
    #[default]
    After,
}

/// An index definition.
///
/// ```
/// use flagstone::store::{Index, doc};
/// use std::time::Duration;
///
/// let unique_email = Index::new(doc! { "email": 1 }).unique();
/// let recent_first = Index::new(doc! { "author": 1, "created_at": -1 });
/// let sessions = Index::new(doc! { "expires_at": 1 }).expire_after(Duration::ZERO);
/// assert_eq!(recent_first.resolved_name(), "author_1_created_at_-1");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Index {
    /// `{ field: 1 | -1, ... }`, or `{ field: "text" }` for a text index.
    pub keys: Document,
    /// The name; defaults to MongoDB's `field_1_other_-1` form.
    pub name: Option<String>,
    /// Refuse two documents with the same key.
    pub unique: bool,
    /// Leave out documents that lack every indexed field.
    pub sparse: bool,
    /// A TTL index: delete documents once the (date) field is older than this.
    pub expire_after: Option<Duration>,
    /// Index only documents matching this filter.
    pub partial: Option<Document>,
}

impl Index {
    /// An index on `keys`.
    pub fn new(keys: Document) -> Self {
        Self {
            keys,
            name: None,
            unique: false,
            sparse: false,
            expire_after: None,
            partial: None,
        }
    }

    /// Makes it unique.
    pub fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    /// Makes it sparse.
    pub fn sparse(mut self) -> Self {
        self.sparse = true;
        self
    }

    /// Names it.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Makes it a TTL index.
    pub fn expire_after(mut self, ttl: Duration) -> Self {
        self.expire_after = Some(ttl);
        self
    }

    /// Restricts it to documents matching `filter`.
    pub fn partial(mut self, filter: Document) -> Self {
        self.partial = Some(filter);
        self
    }

    /// The name, given or derived (`field_1_other_-1`).
    pub fn resolved_name(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        let parts: Vec<String> = self
            .keys
            .iter()
            .map(|(field, kind)| match kind {
                Bson::String(s) => format!("{field}_{s}"),
                Bson::Double(d) if d.fract() == 0.0 => format!("{field}_{}", *d as i64),
                other => format!("{field}_{other}"),
            })
            .collect();
        parts.join("_")
    }

    /// Whether two definitions describe the same index (names aside).
    pub(crate) fn same_definition(&self, other: &Self) -> bool {
        let normal = |i: &Self| {
            let keys: Vec<(String, Option<f64>)> = i
                .keys
                .iter()
                .map(|(k, v)| (k.clone(), embedded::value::as_f64(v)))
                .collect();
            (
                keys,
                i.unique,
                i.sparse,
                i.expire_after.map(|d| d.as_secs()),
                i.partial.clone(),
            )
        };
        normal(self) == normal(other)
    }
}

/// A collection of `T`s. Cheap to clone.
pub struct Collection<T> {
    store: Store,
    name: Arc<str>,
    /// On MongoDB, the driver's handle, made once with the collection.
    #[cfg(feature = "mongodb")]
    driver: Option<mongo::Coll>,
    _of: PhantomData<fn() -> T>,
}

impl<T> Clone for Collection<T> {
    fn clone(&self) -> Self {
        self.typed()
    }
}

impl<T> Collection<T> {
    /// The same collection, typed differently (`Document` to see it raw).
    pub fn typed<U>(&self) -> Collection<U> {
        Collection {
            store: self.store.clone(),
            name: self.name.clone(),
            #[cfg(feature = "mongodb")]
            driver: self.driver.clone(),
            _of: PhantomData,
        }
    }

    /// The driver's handle for this collection on `m`. [`Store::collection`] makes it for
    /// every collection of a MongoDB store; building one here only keeps this total.
    #[cfg(feature = "mongodb")]
    fn driver<'a>(&'a self, m: &mongo::Mongo) -> std::borrow::Cow<'a, mongo::Coll> {
        match &self.driver {
            Some(driver) => std::borrow::Cow::Borrowed(driver),
            None => std::borrow::Cow::Owned(m.collection(&self.name)),
        }
    }
}

impl<T> std::fmt::Debug for Collection<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collection")
            .field("name", &self.name)
            .finish()
    }
}

/// `value` as the store writes it — ids as ObjectIds, [`Timestamp`]s as BSON dates — for
/// update documents built by hand: `doc! { "$push": { "items": to_bson(&item)? } }`.
/// (`bson::serialize_to_bson` is human-readable, so it would write ids and timestamps as
/// strings.)
pub fn to_bson<T: Serialize + ?Sized>(value: &T) -> Result<Bson> {
    let mut wrapper = std::collections::BTreeMap::new();
    wrapper.insert("v", value);
    let bytes = bson::serialize_to_vec(&wrapper).map_err(Error::internal)?;
    let mut doc = Document::from_reader(bytes.as_slice()).map_err(Error::internal)?;
    doc.remove("v")
        .ok_or_else(|| Error::internal(std::io::Error::other("a value serialized to nothing")))
}

/// Converts a value to a BSON document (ids as ObjectIds).
pub(crate) fn to_document<T: Serialize>(value: &T) -> Result<Document> {
    let bytes = bson::serialize_to_vec(value).map_err(Error::internal)?;
    Document::from_reader(bytes.as_slice()).map_err(Error::internal)
}

/// Converts a stored document to `T` (ids from ObjectIds).
pub(crate) fn from_document<T: DeserializeOwned>(collection: &str, doc: &Document) -> Result<T> {
    let bytes = doc.to_vec().map_err(Error::internal)?;
    bson::deserialize_from_slice(&bytes).map_err(|e| {
        Error::internal(std::io::Error::other(format!(
            "a document in {collection:?} does not fit {}: {e}",
            std::any::type_name::<T>()
        )))
    })
}

impl<T> Collection<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static,
{
    /// The collection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The store it belongs to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    async fn embedded_write<R: Send + 'static>(
        &self,
        engine: &Arc<Engine>,
        work: impl FnOnce(&Engine, &str) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let name = self.name.clone();
        self.store.run_write(engine, move |e| work(e, &name)).await
    }

    /// Inserts a document and returns its `_id` (generated when it has none).
    pub async fn insert_one(&self, value: &T) -> Result<Bson> {
        match &self.store.backend {
            Backend::Embedded(e) => {
                let doc = to_document(value)?;
                let mut ids = self
                    .embedded_write(e, move |e, n| e.insert(n, vec![doc]))
                    .await?;
                ids.pop()
                    .ok_or_else(|| Error::internal(std::io::Error::other("no id returned")))
            }
            #[cfg(feature = "mongodb")]
            Backend::Mongo(m) => m.insert_one(&self.driver(m), value).await,
        }
    }

    /// Inserts documents in order and returns their `_id`s. Stops at the first failure
    /// (a duplicate key, say); the documents before it stay inserted.
    pub async fn insert_many<'a>(
        &self,
        values: impl IntoIterator<Item = &'a T>,
    ) -> Result<Vec<Bson>> {
        match &self.store.backend {
            Backend::Embedded(e) => {
                let docs = values
                    .into_iter()
                    .map(to_document)
                    .collect::<Result<Vec<_>>>()?;
                self.embedded_write(e, move |e, n| e.insert(n, docs)).await
            }
            #[cfg(feature = "mongodb")]
            Backend::Mongo(m) => m.insert_many(&self.driver(m), values).await,
        }
    }

    /// The document with this `_id`.
    pub fn find_by_id(
        &self,
        id: impl Into<Bson>,
    ) -> impl Future<Output = Result<Option<T>>> + Send + 'static {
        self.find_one(doc! { "_id": id.into() })
    }

    /// The first document matching `filter`. Like [`Find::one`], which it is, the future
    /// owns what it needs: it does not borrow the collection.
    pub fn find_one(
        &self,
        filter: Document,
    ) -> impl Future<Output = Result<Option<T>>> + Send + 'static {
        self.find(filter).one()
    }

    /// Documents matching `filter`: chain `sort`, `skip`, `limit`, `projection`, then
    /// `.await` for a `Vec` or call [`Find::stream`].
    pub fn find(&self, filter: Document) -> Find<T> {
        Find {
            collection: self.clone(),
            filter,
            options: FindOptions::default(),
        }
    }

    /// How many documents match `filter`.
    pub async fn count(&self, filter: Document) -> Result<u64> {
        match &self.store.backend {
            Backend::Embedded(e) => e.count(&self.name, &filter),
            #[cfg(feature = "mongodb")]
            Backend::Mongo(m) => m.count(&self.driver(m), filter).await,
        }
    }

    /// Whether any document matches `filter` (reading only the first one's `_id`).
    pub fn exists(&self, filter: Document) -> impl Future<Output = Result<bool>> + Send + 'static {
        self.typed::<Document>()
            .find(filter)
            .projection(doc! { "_id": 1 })
            .one()
            .map_ok(|first| first.is_some())
    }

    /// Applies `update` (`$set`, `$inc`, ...) to the first matching document.
    pub fn update_one(
        &self,
        filter: Document,
        update: Document,
    ) -> impl Future<Output = Result<UpdateResult>> + Send + '_ {
        self.update(filter, update, false, false)
    }

    /// Applies `update` to every matching document.
    pub fn update_many(
        &self,
        filter: Document,
        update: Document,
    ) -> impl Future<Output = Result<UpdateResult>> + Send + '_ {
        self.update(filter, update, true, false)
    }

    /// Applies `update` to the first matching document, or inserts one built from the
    /// filter's equality conditions plus the update (`$setOnInsert` included).
    pub fn upsert(
        &self,
        filter: Document,
        update: Document,
    ) -> impl Future<Output = Result<UpdateResult>> + Send + '_ {
        self.update(filter, update, false, true)
    }

    /// The three above, as one `async` block (see [`Find::one`]).
    #[allow(
        clippy::manual_async_fn,
        reason = "an `async fn` keeps its arguments twice in its future"
    )]
    fn update(
        &self,
        filter: Document,
        update: Document,
        multi: bool,
        upsert: bool,
    ) -> impl Future<Output = Result<UpdateResult>> + Send + '_ {
        async move {
            match &self.store.backend {
                Backend::Embedded(e) => {
                    self.embedded_write(e, move |e, n| e.update(n, &filter, &update, multi, upsert))
                        .await
                }
                #[cfg(feature = "mongodb")]
                Backend::Mongo(m) => {
                    let driver = self.driver(m);
                    let updated = mongo::Mongo::update(&driver, filter, update, multi, upsert);
                    updated.await
                }
            }
        }
    }

    /// Atomically updates the first matching document and returns it as it was or as it
    /// became. Chain `sort`, `projection`, `upsert`, `returning`, then `.await`.
    pub fn find_one_and_update(&self, filter: Document, update: Document) -> FindOneAndUpdate<T> {
        FindOneAndUpdate {
            collection: self.clone(),
            filter,
            update,
            options: FindOptions::default(),
            returning: ReturnDocument::After,
            upsert: false,
        }
    }

    /// Atomically deletes the first matching document (in `sort` order) and returns it.
    pub async fn find_one_and_delete(
        &self,
        filter: Document,
        sort: Option<Document>,
    ) -> Result<Option<T>> {
        let options = FindOptions {
            sort,
            ..FindOptions::default()
        };
        let doc = match &self.store.backend {
            Backend::Embedded(e) => {
                self.embedded_write(e, move |e, n| e.find_one_and_delete(n, &filter, &options))
                    .await?
            }
            #[cfg(feature = "mongodb")]
            Backend::Mongo(m) => {
                m.find_one_and_delete(&self.driver(m), filter, options)
                    .await?
            }
        };
        doc.map(|d| from_document(&self.name, &d)).transpose()
    }

    /// Replaces the first matching document with `value`, keeping its `_id`.
    pub async fn replace_one(&self, filter: Document, value: &T) -> Result<UpdateResult> {
        self.replace(filter, value, false).await
    }

    /// Replaces the first matching document, or inserts `value` when none matches.
    pub async fn replace_or_insert(&self, filter: Document, value: &T) -> Result<UpdateResult> {
        self.replace(filter, value, true).await
    }

    async fn replace(&self, filter: Document, value: &T, upsert: bool) -> Result<UpdateResult> {
        let replacement = to_document(value)?;
        match &self.store.backend {
            Backend::Embedded(e) => {
                self.embedded_write(e, move |e, n| e.replace(n, &filter, replacement, upsert))
                    .await
            }
            #[cfg(feature = "mongodb")]
            Backend::Mongo(m) => {
                m.replace(&self.driver(m), filter, replacement, upsert)
                    .await
            }
        }
    }

    /// Deletes the first matching document; returns how many were deleted (0 or 1).
    pub async fn delete_one(&self, filter: Document) -> Result<u64> {
        self.delete(filter, false).await
    }

    /// Deletes every matching document; returns how many.
    pub async fn delete_many(&self, filter: Document) -> Result<u64> {
        self.delete(filter, true).await
    }

    async fn delete(&self, filter: Document, multi: bool) -> Result<u64> {
        match &self.store.backend {
            Backend::Embedded(e) => {
                self.embedded_write(e, move |e, n| e.delete(n, &filter, multi))
                    .await
            }
            #[cfg(feature = "mongodb")]
            Backend::Mongo(m) => m.delete(&self.driver(m), filter, multi).await,
        }
    }

    /// The distinct values of `field` (arrays unwound) among matching documents, in
    /// BSON order.
    pub async fn distinct(&self, field: &str, filter: Document) -> Result<Vec<Bson>> {
        match &self.store.backend {
            Backend::Embedded(e) => e.distinct(&self.name, field, &filter),
            #[cfg(feature = "mongodb")]
            Backend::Mongo(m) => {
                let mut values = m.distinct(&self.driver(m), field, filter).await?;
                values.sort_by(embedded::value::compare);
                Ok(values)
            }
        }
    }

    /// Creates an index unless it exists; returns its name. An index of the same name
    /// with a different definition is a 409. A unique index over existing duplicates
    /// fails with a 409 too.
    pub async fn create_index(&self, index: Index) -> Result<String> {
        match &self.store.backend {
            Backend::Embedded(e) => {
                self.embedded_write(e, move |e, n| e.create_index(n, index))
                    .await
            }
            #[cfg(feature = "mongodb")]
            Backend::Mongo(m) => m.create_index(&self.driver(m), index).await,
        }
    }

    /// Makes sure every index in `indexes` exists; one whose definition changed is
    /// dropped and created again. Indexes not listed are left alone. Apps call this at
    /// start-up.
    pub async fn sync_indexes(&self, indexes: impl IntoIterator<Item = Index>) -> Result<()> {
        let existing = self.list_indexes().await?;
        for index in indexes {
            let name = index.resolved_name();
            if let Some(current) = existing.iter().find(|i| i.resolved_name() == name) {
                if current.same_definition(&index) {
                    continue;
                }
                tracing::info!(collection = %self.name, index = %name, "index definition changed: rebuilding it");
                self.drop_index(&name).await?;
            }
            self.create_index(index).await?;
        }
        Ok(())
    }

    /// The collection's indexes, `_id_` first.
    pub async fn list_indexes(&self) -> Result<Vec<Index>> {
        match &self.store.backend {
            Backend::Embedded(e) => Ok(e.list_indexes(&self.name)),
            #[cfg(feature = "mongodb")]
            Backend::Mongo(m) => m.list_indexes(&self.driver(m)).await,
        }
    }

    /// Drops the index `name`; 404 if there is none.
    pub async fn drop_index(&self, name: &str) -> Result<()> {
        let index = name.to_owned();
        match &self.store.backend {
            Backend::Embedded(e) => {
                self.embedded_write(e, move |e, n| e.drop_index(n, &index))
                    .await
            }
            #[cfg(feature = "mongodb")]
            Backend::Mongo(m) => m.drop_index(&self.driver(m), &index).await,
        }
    }

    /// Drops the collection, its documents and its indexes.
    pub async fn drop(&self) -> Result<()> {
        match &self.store.backend {
            Backend::Embedded(e) => self.embedded_write(e, |e, n| e.drop_collection(n)).await,
            #[cfg(feature = "mongodb")]
            Backend::Mongo(m) => m.drop_collection(&self.driver(m)).await,
        }
    }
}

/// A find in the making; `.await` it for a `Vec`, or call [`Find::stream`].
#[must_use = "a find does nothing until awaited"]
pub struct Find<T> {
    collection: Collection<T>,
    filter: Document,
    options: FindOptions,
}

impl<T> std::fmt::Debug for Find<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Find")
            .field("collection", &self.collection.name)
            .field("filter", &self.filter)
            .field("options", &self.options)
            .finish()
    }
}

impl<T> Find<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static,
{
    /// Sorts by `{ field: 1 | -1, ... }`.
    pub fn sort(mut self, sort: Document) -> Self {
        self.options.sort = Some(sort);
        self
    }

    /// Skips the first `n` documents.
    pub fn skip(mut self, n: u64) -> Self {
        self.options.skip = Some(n);
        self
    }

    /// Returns at most `n` documents.
    pub fn limit(mut self, n: i64) -> Self {
        self.options.limit = Some(n);
        self
    }

    /// Returns only (or all but) the listed fields. `T` must be able to deserialize the
    /// reduced documents; use `Collection<Document>` for free-form results.
    pub fn projection(mut self, projection: Document) -> Self {
        self.options.projection = Some(projection);
        self
    }

    /// The first matching document (after `sort` and `skip`; `limit` is ignored). On
    /// MongoDB it is one round trip and leaves no cursor open.
    ///
    /// One `async` block, which holds the find and the driver's future: every layer of
    /// futures between a handler and the driver is memory each request writes and copies.
    #[allow(
        clippy::manual_async_fn,
        reason = "an `async fn` keeps its arguments twice in its future"
    )]
    pub fn one(mut self) -> impl Future<Output = Result<Option<T>>> + Send + 'static {
        async move {
            match &self.collection.store.backend {
                Backend::Embedded(e) => {
                    self.options.limit = Some(1);
                    Ok(self.embedded(e)?.pop())
                }
                #[cfg(feature = "mongodb")]
                Backend::Mongo(m) => {
                    let driver = self.collection.driver(m).clone_with_type::<T>();
                    let found = mongo::Mongo::find_one(&driver, self.filter, self.options);
                    found.await
                }
            }
        }
    }

    /// Every matching document.
    #[allow(
        clippy::manual_async_fn,
        reason = "an `async fn` keeps its arguments twice in its future"
    )]
    pub fn all(self) -> impl Future<Output = Result<Vec<T>>> + Send + 'static {
        async move {
            match &self.collection.store.backend {
                Backend::Embedded(e) => self.embedded(e),
                #[cfg(feature = "mongodb")]
                Backend::Mongo(m) => {
                    let driver = self.collection.driver(m).clone_with_type::<T>();
                    let cursor = mongo::Mongo::find(&driver, self.filter, self.options);
                    let all = cursor.await?.try_collect();
                    all.await
                }
            }
        }
    }

    /// Every matching document of the embedded store, which answers at once. Not an `async`
    /// step of [`Find::one`] and [`Find::all`], so that their futures stay the size the
    /// MongoDB path needs.
    fn embedded(&self, e: &Engine) -> Result<Vec<T>> {
        let docs = e.find(&self.collection.name, &self.filter, &self.options)?;
        docs.iter()
            .map(|d| from_document(&self.collection.name, d))
            .collect()
    }

    /// The matching documents one by one, without holding them all (on MongoDB, batches
    /// come from a server cursor).
    pub async fn stream(self) -> Result<BoxStream<'static, Result<T>>> {
        match &self.collection.store.backend {
            Backend::Embedded(e) => {
                let docs = e.find(&self.collection.name, &self.filter, &self.options)?;
                let name = self.collection.name.clone();
                Ok(stream::iter(docs)
                    .map(move |d| from_document(&name, &d))
                    .boxed())
            }
            #[cfg(feature = "mongodb")]
            Backend::Mongo(m) => {
                let driver = self.collection.driver(m).clone_with_type::<T>();
                let cursor = mongo::Mongo::find(&driver, self.filter, self.options).await?;
                Ok(cursor.boxed())
            }
        }
    }
}

impl<T> IntoFuture for Find<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static,
{
    type Output = Result<Vec<T>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Vec<T>>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.all())
    }
}

/// A `find_one_and_update` in the making; `.await` it.
#[must_use = "an update does nothing until awaited"]
pub struct FindOneAndUpdate<T> {
    collection: Collection<T>,
    filter: Document,
    update: Document,
    options: FindOptions,
    returning: ReturnDocument,
    upsert: bool,
}

impl<T> std::fmt::Debug for FindOneAndUpdate<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FindOneAndUpdate")
            .field("collection", &self.collection.name)
            .field("filter", &self.filter)
            .field("update", &self.update)
            .finish_non_exhaustive()
    }
}

impl<T> FindOneAndUpdate<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static,
{
    /// Picks the first match in this order.
    pub fn sort(mut self, sort: Document) -> Self {
        self.options.sort = Some(sort);
        self
    }

    /// Returns only (or all but) these fields.
    pub fn projection(mut self, projection: Document) -> Self {
        self.options.projection = Some(projection);
        self
    }

    /// Inserts a document when none matches.
    pub fn upsert(mut self) -> Self {
        self.upsert = true;
        self
    }

    /// Returns the document as it was (`Before`) or became (`After`, the default).
    pub fn returning(mut self, which: ReturnDocument) -> Self {
        self.returning = which;
        self
    }

    async fn run(self) -> Result<Option<T>> {
        let Self {
            collection,
            filter,
            update,
            options,
            returning,
            upsert,
        } = self;
        let doc = match &collection.store.backend {
            Backend::Embedded(e) => {
                collection
                    .embedded_write(e, move |e, n| {
                        e.find_one_and_update(n, &filter, &update, &options, returning, upsert)
                    })
                    .await?
            }
            #[cfg(feature = "mongodb")]
            Backend::Mongo(m) => {
                m.find_one_and_update(
                    &collection.driver(m),
                    filter,
                    update,
                    options,
                    returning,
                    upsert,
                )
                .await?
            }
        };
        doc.map(|d| from_document(&collection.name, &d)).transpose()
    }
}

impl<T> IntoFuture for FindOneAndUpdate<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static,
{
    type Output = Result<Option<T>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Option<T>>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request's futures hold the store's, and every layer above copies them; these
    /// were two to four times the size before the driver's builders stopped being awaited
    /// in place (see `Find::one`). The type, so the size, is the same on both backends.
    #[tokio::test]
    async fn the_futures_of_common_operations_stay_small() {
        // Parsing the URL opens no connection: nothing here reaches a server.
        let store = Store::connect("mongodb://127.0.0.1:1/sizes").await.unwrap();
        let c = store.collection::<Document>("c");
        let sizes = [
            ("find_one", std::mem::size_of_val(&c.find_one(doc! {})), 512),
            ("find_by_id", std::mem::size_of_val(&c.find_by_id(1)), 512),
            ("exists", std::mem::size_of_val(&c.exists(doc! {})), 512),
            (
                "find().all()",
                std::mem::size_of_val(&c.find(doc! {}).all()),
                1024,
            ),
            (
                "insert_one",
                std::mem::size_of_val(&c.insert_one(&doc! {})),
                512,
            ),
            (
                "update_one",
                std::mem::size_of_val(&c.update_one(doc! {}, doc! {})),
                768,
            ),
            ("count", std::mem::size_of_val(&c.count(doc! {})), 512),
        ];
        for (operation, size, most) in sizes {
            assert!(size <= most, "{operation}: {size} bytes, more than {most}");
        }
    }
}
