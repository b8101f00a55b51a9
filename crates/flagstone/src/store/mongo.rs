//! The MongoDB backend: the official driver, with its errors mapped to Flagstone's.

use std::future::IntoFuture;

use bson::{Bson, Document, doc};
use futures_util::{Stream, TryFutureExt, TryStreamExt};
use mongodb::{
    Client, Cursor, Database, IndexModel,
    error::{ErrorKind as DriverError, WriteFailure},
    options::{ClientOptions, FindOneOptions, IndexOptions},
};
use serde::{Serialize, de::DeserializeOwned};

use super::{FindOptions, Index, ReturnDocument, UpdateResult, embedded};
use crate::{Error, Result, config::DatabaseConfig};

/// Seconds a client should wait before retrying after the database was unreachable.
const RETRY_AFTER: u64 = 5;

/// A collection of the driver, kept by each [`Collection`](super::Collection) so that an
/// operation does not build a new one (the driver allocates and copies its options for it).
pub(crate) type Coll = mongodb::Collection<Document>;

/// A connected MongoDB database.
#[derive(Clone, Debug)]
pub(crate) struct Mongo {
    db: Database,
}

impl Mongo {
    /// The driver's handle for collection `name`.
    pub(crate) fn collection(&self, name: &str) -> Coll {
        self.db.collection(name)
    }

    /// Parses the URL (resolving `mongodb+srv` records), applies the pool and timeout
    /// settings and picks the database. Does not wait for the server: the first
    /// operation does, up to `server_selection_timeout`.
    pub(crate) async fn connect(url: &str, config: &DatabaseConfig) -> Result<Self> {
        let mut options = ClientOptions::parse(url).await.map_err(|e| {
            Error::internal(std::io::Error::other(format!("invalid database.url: {e}")))
        })?;
        options.max_pool_size = Some(config.max_pool_size.max(1));
        options.min_pool_size = Some(config.min_pool_size);
        options.connect_timeout = Some(config.connect_timeout);
        options.server_selection_timeout = Some(config.server_selection_timeout);
        options
            .app_name
            .get_or_insert_with(|| "flagstone".to_owned());
        let name = config
            .name
            .clone()
            .or_else(|| options.default_database.clone())
            .unwrap_or_else(|| "flagstone".to_owned());
        let client = Client::with_options(options).map_err(map_error)?;
        Ok(Self {
            db: client.database(&name),
        })
    }

    pub(crate) fn database(&self) -> &Database {
        &self.db
    }

    pub(crate) async fn ping(&self) -> Result<()> {
        self.db
            .run_command(doc! { "ping": 1 })
            .await
            .map(drop)
            .map_err(map_error)
    }

    pub(crate) async fn list_collections(&self) -> Result<Vec<String>> {
        let mut names = self.db.list_collection_names().await.map_err(map_error)?;
        names.sort();
        Ok(names)
    }

    pub(crate) async fn drop_database(&self) -> Result<()> {
        self.db.drop().await.map_err(map_error)
    }

    pub(crate) async fn drop_collection(&self, coll: &Coll) -> Result<()> {
        coll.drop().await.map_err(map_error)
    }

    pub(crate) async fn insert_one<T: Serialize + Send + Sync>(
        &self,
        coll: &Coll,
        value: &T,
    ) -> Result<Bson> {
        let result = coll
            .clone_with_type::<T>()
            .insert_one(value)
            .await
            .map_err(map_error)?;
        Ok(result.inserted_id)
    }

    pub(crate) async fn insert_many<'a, T: Serialize + Send + Sync + 'a>(
        &self,
        coll: &Coll,
        values: impl IntoIterator<Item = &'a T>,
    ) -> Result<Vec<Bson>> {
        let values: Vec<&T> = values.into_iter().collect();
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let result = coll
            .clone_with_type::<T>()
            .insert_many(values)
            .await
            .map_err(map_error)?;
        let mut ids: Vec<(usize, Bson)> = result.inserted_ids.into_iter().collect();
        ids.sort_by_key(|(i, _)| *i);
        Ok(ids.into_iter().map(|(_, id)| id).collect())
    }

    /// The first document matching `filter`, in one round trip and without a cursor: the
    /// driver's future, made here rather than awaited here. A builder awaited in place
    /// (the driver's run to a kilobyte) stays in the awaiting future, which every layer
    /// above then holds and copies; the driver's future is one pointer.
    pub(crate) fn find_one<'a, T>(
        coll: &'a mongodb::Collection<T>,
        filter: Document,
        options: FindOptions,
    ) -> impl Future<Output = Result<Option<T>>> + Send + 'a
    where
        T: DeserializeOwned + Send + Sync,
    {
        let mut action = coll.find_one(filter);
        // Each builder call moves the whole action; a plain find by filter makes none.
        if options.sort.is_some() || options.skip.is_some() || options.projection.is_some() {
            let mut set = FindOneOptions::default();
            set.sort = options.sort;
            set.skip = options.skip;
            set.projection = options.projection;
            action = action.with_options(set);
        }
        action.into_future().map_err(map_error)
    }

    /// The documents matching `filter`, as the driver's cursor: like [`Mongo::find_one`],
    /// the driver's future, with the options set in one move of its builder.
    pub(crate) fn find<'a, T>(
        coll: &'a mongodb::Collection<T>,
        filter: Document,
        options: FindOptions,
    ) -> impl Future<Output = Result<impl Stream<Item = Result<T>> + Send + Unpin + use<T>>> + Send + 'a
    where
        T: DeserializeOwned + Send + Sync + Unpin,
    {
        let mut action = coll.find(filter);
        let limit = options.limit.filter(|l| *l != 0).map(|l| l.abs());
        if options.sort.is_some()
            || options.skip.is_some()
            || limit.is_some()
            || options.projection.is_some()
        {
            let mut set = mongodb::options::FindOptions::default();
            set.sort = options.sort;
            set.skip = options.skip;
            set.limit = limit;
            set.projection = options.projection;
            action = action.with_options(set);
        }
        action
            .into_future()
            .map_ok(|cursor: Cursor<T>| cursor.map_err(map_error))
            .map_err(map_error)
    }

    pub(crate) async fn count(&self, coll: &Coll, filter: Document) -> Result<u64> {
        coll.count_documents(filter).await.map_err(map_error)
    }

    pub(crate) async fn distinct(
        &self,
        coll: &Coll,
        field: &str,
        filter: Document,
    ) -> Result<Vec<Bson>> {
        coll.distinct(field, filter).await.map_err(map_error)
    }

    /// `update` applied to the first (or, `multi`, every) match: the driver's future, made
    /// like [`Mongo::find_one`]'s.
    pub(crate) fn update<'a>(
        coll: &'a Coll,
        filter: Document,
        update: Document,
        multi: bool,
        upsert: bool,
    ) -> impl Future<Output = Result<UpdateResult>> + Send + 'a {
        let mut action = match multi {
            true => coll.update_many(filter, update),
            false => coll.update_one(filter, update),
        };
        if upsert {
            action = action.upsert(true);
        }
        let pending = action.into_future();
        async move {
            let result = pending.await.map_err(map_error)?;
            Ok(UpdateResult {
                matched: result.matched_count,
                modified: result.modified_count,
                upserted_id: result.upserted_id,
            })
        }
    }

    pub(crate) async fn replace(
        &self,
        coll: &Coll,
        filter: Document,
        replacement: Document,
        upsert: bool,
    ) -> Result<UpdateResult> {
        let result = coll
            .replace_one(filter, replacement)
            .upsert(upsert)
            .await
            .map_err(map_error)?;
        Ok(UpdateResult {
            matched: result.matched_count,
            modified: result.modified_count,
            upserted_id: result.upserted_id,
        })
    }

    pub(crate) async fn find_one_and_update(
        &self,
        coll: &Coll,
        filter: Document,
        update: Document,
        options: FindOptions,
        returning: ReturnDocument,
        upsert: bool,
    ) -> Result<Option<Document>> {
        let returning = match returning {
            ReturnDocument::Before => mongodb::options::ReturnDocument::Before,
            ReturnDocument::After => mongodb::options::ReturnDocument::After,
        };
        coll.find_one_and_update(filter, update)
            .return_document(returning)
            .upsert(upsert)
            .optional(options.sort, |a, s| a.sort(s))
            .optional(options.projection, |a, p| a.projection(p))
            .await
            .map_err(map_error)
    }

    pub(crate) async fn find_one_and_delete(
        &self,
        coll: &Coll,
        filter: Document,
        options: FindOptions,
    ) -> Result<Option<Document>> {
        coll.find_one_and_delete(filter)
            .optional(options.sort, |a, s| a.sort(s))
            .await
            .map_err(map_error)
    }

    pub(crate) async fn delete(&self, coll: &Coll, filter: Document, multi: bool) -> Result<u64> {
        let result = match multi {
            true => coll.delete_many(filter).await,
            false => coll.delete_one(filter).await,
        }
        .map_err(map_error)?;
        Ok(result.deleted_count)
    }

    pub(crate) async fn create_index(&self, coll: &Coll, index: Index) -> Result<String> {
        let options = IndexOptions::builder()
            .name(index.resolved_name())
            .unique(index.unique.then_some(true))
            .sparse(index.sparse.then_some(true))
            .expire_after(index.expire_after)
            .partial_filter_expression(index.partial)
            .build();
        let model = IndexModel::builder()
            .keys(index.keys)
            .options(options)
            .build();
        let result = coll.create_index(model).await.map_err(map_error)?;
        Ok(result.index_name)
    }

    pub(crate) async fn list_indexes(&self, coll: &Coll) -> Result<Vec<Index>> {
        let cursor = match coll.list_indexes().await {
            Ok(cursor) => cursor,
            // A collection that does not exist has only its implicit `_id` index.
            Err(e) if matches!(*e.kind, DriverError::Command(ref c) if c.code == 26) => {
                return Ok(vec![Index::new(doc! { "_id": 1 }).name("_id_")]);
            }
            Err(e) => return Err(map_error(e)),
        };
        let models: Vec<IndexModel> = cursor.try_collect().await.map_err(map_error)?;
        Ok(models
            .into_iter()
            .map(|m| {
                let options = m.options.unwrap_or_default();
                Index {
                    keys: m.keys,
                    name: options.name,
                    unique: options.unique.unwrap_or(false),
                    sparse: options.sparse.unwrap_or(false),
                    expire_after: options.expire_after,
                    partial: options.partial_filter_expression,
                }
            })
            .collect())
    }

    pub(crate) async fn drop_index(&self, coll: &Coll, index: &str) -> Result<()> {
        match coll.drop_index(index).await {
            Ok(()) => Ok(()),
            Err(e) if matches!(*e.kind, DriverError::Command(ref c) if c.code == 27 || c.code == 26) => {
                Err(Error::not_found(format!("no index named {index:?}")))
            }
            Err(e) => Err(map_error(e)),
        }
    }
}

/// Chains an optional builder call.
trait Optional: Sized {
    fn optional<V>(self, value: Option<V>, apply: impl FnOnce(Self, V) -> Self) -> Self {
        match value {
            Some(v) => apply(self, v),
            None => self,
        }
    }
}

impl<T> Optional for T {}

/// Server codes of operations refused as invalid: a bad filter, update, sort or regex,
/// `$inc` on a string, a path that cannot be created, `_id` changed or an array,
/// conflicting paths, a document grown past 16 MiB, ...
const INVALID: &[i32] = &[
    2, 9, 10, 14, 16, 17, 28, 40, 52, 53, 56, 66, 72, 171, 10334, 15974, 15975, 17419, 31249,
    31250, 31253, 31254, 51091, 51108,
];

/// Index conflicts: the same name with other options (86), the same keys under another
/// name (85).
const INDEX_CONFLICT: &[i32] = &[85, 86];

/// Maps a driver error: duplicate key → 409 naming the fields; unreachable → 503 with
/// Retry-After; refused as invalid → 400; everything else → 500 (logged, not shown).
pub(crate) fn map_error(e: mongodb::error::Error) -> Error {
    let (code, message) = match e.kind.as_ref() {
        DriverError::Write(WriteFailure::WriteError(w)) => (Some(w.code), w.message.clone()),
        DriverError::InsertMany(m) => match m.write_errors.as_ref().and_then(|w| w.first()) {
            Some(w) => (Some(w.code), w.message.clone()),
            None => (None, String::new()),
        },
        DriverError::Command(c) => (Some(c.code), c.message.clone()),
        // Refused by the driver before sending: an update without operators, a
        // replacement with them, a document over the size limit.
        DriverError::InvalidArgument { message, .. } => {
            return Error::bad_request(format!("invalid operation: {message}")).with_source(e);
        }
        DriverError::ServerSelection { .. }
        | DriverError::Io(_)
        | DriverError::ConnectionPoolCleared { .. }
        | DriverError::DnsResolve { .. } => {
            tracing::warn!(error = %e, "database unreachable");
            return Error::unavailable(
                "the database is unavailable, try again shortly",
                RETRY_AFTER,
            )
            .with_source(e);
        }
        _ => (None, String::new()),
    };
    match code {
        Some(11000 | 11001) => duplicate_key(&message).with_source(e),
        // FerretDB reports some duplicates as an internal error from its SQLite backend.
        Some(1) if message.contains("UNIQUE constraint failed") => {
            duplicate_key(&message).with_source(e)
        }
        Some(238) => Error::unsupported(format!(
            "the database server does not implement this: {message}"
        ))
        .with_source(e),
        Some(code) if INDEX_CONFLICT.contains(&code) => Error::conflict(format!(
            "an index conflicts with an existing one: {message}"
        ))
        .with_source(e),
        Some(code) if INVALID.contains(&code) => {
            Error::bad_request(format!("the database refused the operation: {message}"))
                .with_source(e)
        }
        _ if e.contains_label("RetryableWriteError")
            || e.contains_label("TransientTransactionError") =>
        {
            Error::unavailable(
                "the database is unavailable, try again shortly",
                RETRY_AFTER,
            )
            .with_source(e)
        }
        _ => Error::internal(e),
    }
}

/// Reads the field names out of `... dup key: { email: "a@b.c" }` (or the index name
/// when the server gives no key).
fn duplicate_key(message: &str) -> Error {
    if let Some(start) = message.find("dup key: {") {
        let body = &message[start + "dup key: {".len()..];
        let body = body.rsplit_once('}').map_or(body, |(b, _)| b);
        let fields: Vec<&str> = split_top_level(body)
            .filter_map(|pair| {
                pair.split_once(':')
                    .map(|(k, _)| k.trim().trim_matches('"'))
            })
            .filter(|k| !k.is_empty())
            .collect();
        if !fields.is_empty() {
            let value: Vec<&str> = split_top_level(body)
                .filter_map(|pair| pair.split_once(':').map(|(_, v)| v.trim()))
                .collect();
            return embedded::index_duplicate(&fields, Some(&value.join(", ")));
        }
    }
    if let Some(start) = message.find("index: ") {
        let index = message[start + 7..]
            .split_whitespace()
            .next()
            .unwrap_or_default();
        let fields: Vec<&str> = index
            .split('_')
            .collect::<Vec<_>>()
            .chunks(2)
            .filter_map(|c| c.first().copied())
            .filter(|f| !f.is_empty())
            .collect();
        if !fields.is_empty() {
            return embedded::index_duplicate(&fields, None);
        }
    }
    Error::conflict("a document with the same unique key already exists")
}

/// Splits `a: 1, b: { c: 2 }` on the commas outside braces, brackets and quotes.
fn split_top_level(s: &str) -> impl Iterator<Item = &str> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    for (i, ch) in s.char_indices() {
        match ch {
            '"' => quoted = !quoted,
            '{' | '[' if !quoted => depth += 1,
            '}' | ']' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_key_messages_name_the_fields() {
        let e = duplicate_key(
            r#"E11000 duplicate key error collection: db.users index: email_1 dup key: { email: "a@b.c" }"#,
        );
        assert_eq!(e.kind(), crate::ErrorKind::Conflict);
        assert_eq!(e.field_errors()[0].field, "email");
        let e = duplicate_key(
            "E11000 duplicate key error collection: db.t index: a_1_b_-1 dup key: { a: 1, b: { c: 2 } }",
        );
        let fields: Vec<&str> = e.field_errors().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["a", "b"]);
        let e = duplicate_key("E11000 duplicate key error index: a_1_b_-1");
        let fields: Vec<&str> = e.field_errors().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["a", "b"]);
    }
}
