//! The embedded backend: every collection held in memory as ordered maps, persisted
//! (in file mode) to one `redb` file, which is committed before a write is acknowledged.
//!
//! Shape:
//! - Reads take a collection's read lock and never touch the disk.
//! - Writes are serialized by one writer gate (redb has a single writer anyway). A write
//!   applies its changes in memory under the collection's write lock, recording each
//!   document's before and after; then, with the lock released so readers go on, it
//!   commits those changes to redb. If the commit fails the changes are undone in memory
//!   and the write fails: nothing unacknowledged stays visible for long, nothing
//!   acknowledged is lost.
//! - A batch that fails half-way (a duplicate key in `insert_many`, say) keeps what it
//!   did before the failure, as MongoDB's ordered writes do.
//! - Indexes live only in memory and are rebuilt from the documents on open; their
//!   definitions are stored in the file.

mod filter;
mod index;
mod path;
mod shape;
mod update;
pub(crate) mod value;

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError, RwLock},
};

use bson::{Bson, Document, oid::ObjectId};
use redb::{ReadableDatabase, ReadableTable, TableDefinition, TableHandle};

use self::{
    filter::Filter,
    index::IndexState,
    shape::{Projection, Sort},
    update::Update,
    value::Key,
};
use crate::{
    Error, Result,
    store::{FindOptions, Index, ReturnDocument, UpdateResult},
};

pub(crate) use self::index::duplicate_error as index_duplicate;

/// redb's page cache: enough for the pages a commit rewrites.
const REDB_CACHE_BYTES: usize = 16 * 1024 * 1024;

const INDEXES: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("meta/indexes");
const DOCS_PREFIX: &str = "docs/";

/// MongoDB's largest document, in bytes of BSON.
const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// The embedded engine. Every method is synchronous; the store runs file-mode writes
/// on the blocking pool.
#[derive(Debug)]
pub(crate) struct Engine {
    collections: RwLock<HashMap<String, Arc<RwLock<Coll>>>>,
    writer: Mutex<()>,
    file: Option<redb::Database>,
    path: Option<PathBuf>,
}

/// One collection: documents by `_id`, and its secondary indexes.
#[derive(Debug, Default)]
struct Coll {
    docs: BTreeMap<Key, Document>,
    indexes: Vec<IndexState>,
}

/// One document's change within a write: before and after.
struct Change {
    id: Key,
    old: Option<Document>,
    new: Option<Document>,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

fn storage(e: impl Into<redb::Error>) -> Error {
    let e: redb::Error = e.into();
    Error::internal(e)
}

fn encode(doc: &Document) -> Result<Vec<u8>> {
    doc.to_vec().map_err(Error::internal)
}

/// Refuses a document larger than MongoDB allows, so that what works here works there.
fn check_size(doc: &Document) -> Result<()> {
    let size = encode(doc)?.len();
    match size > MAX_DOCUMENT_BYTES {
        true => Err(Error::bad_request(format!(
            "the document is {size} bytes of BSON, more than the {MAX_DOCUMENT_BYTES} allowed"
        ))),
        false => Ok(()),
    }
}

/// The document's `_id`, generated when missing, and the document with `_id` as its first
/// field (where MongoDB stores it).
fn with_id_first(mut doc: Document) -> Result<(Bson, Document)> {
    let id = match doc.remove("_id") {
        Some(Bson::Array(_)) => return Err(Error::bad_request("_id cannot be an array")),
        Some(id) => id,
        None => Bson::ObjectId(ObjectId::new()),
    };
    let mut first = Document::new();
    first.insert("_id", id.clone());
    first.extend(doc);
    Ok((id, first))
}

fn id_bytes(id: &Key) -> Result<Vec<u8>> {
    let mut doc = Document::new();
    doc.insert("_id", id.0.clone());
    encode(&doc)
}

impl Engine {
    /// An empty in-memory engine.
    pub(crate) fn memory() -> Self {
        Self {
            collections: RwLock::default(),
            writer: Mutex::new(()),
            file: None,
            path: None,
        }
    }

    /// Opens (or creates) the file at `path`, loading every collection into memory.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::internal(std::io::Error::new(
                    e.kind(),
                    format!("cannot create {}: {e}", dir.display()),
                ))
            })?;
        }
        // Every document is held in memory already; redb's page cache (1 GiB by default)
        // would only duplicate them.
        let db = redb::Builder::new()
            .set_cache_size(REDB_CACHE_BYTES)
            .create(path)
            .map_err(|e| {
                Error::internal(std::io::Error::other(format!(
                    "cannot open the store file {}: {e}",
                    path.display()
                )))
            })?;
        let mut collections = HashMap::new();
        let txn = db.begin_read().map_err(storage)?;
        for table in txn.list_tables().map_err(storage)? {
            let Some(name) = table.name().strip_prefix(DOCS_PREFIX) else {
                continue;
            };
            let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(table.name());
            let mut coll = Coll::default();
            for row in txn
                .open_table(def)
                .map_err(storage)?
                .iter()
                .map_err(storage)?
            {
                let (_, doc) = row.map_err(storage)?;
                let doc = Document::from_reader(doc.value()).map_err(Error::internal)?;
                let id = Key(doc.get("_id").cloned().unwrap_or(Bson::Null));
                coll.docs.insert(id, doc);
            }
            collections.insert(name.to_owned(), coll);
        }
        match txn.open_table(INDEXES) {
            Ok(table) => {
                for row in table.iter().map_err(storage)? {
                    let (key, spec) = row.map_err(storage)?;
                    let Some((name, _)) = key.value().split_once('\0') else {
                        continue;
                    };
                    let spec: Index =
                        bson::deserialize_from_slice(spec.value()).map_err(Error::internal)?;
                    let coll = collections.entry(name.to_owned()).or_default();
                    let mut state = IndexState::new(spec)?;
                    for (id, doc) in &coll.docs {
                        let keys = state.keys_for(doc)?;
                        state.check_unique(&keys, id)?;
                        state.insert(keys, id);
                    }
                    coll.indexes.push(state);
                }
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(storage(e)),
        }
        drop(txn);
        Ok(Self {
            collections: RwLock::new(
                collections
                    .into_iter()
                    .map(|(k, v)| (k, Arc::new(RwLock::new(v))))
                    .collect(),
            ),
            writer: Mutex::new(()),
            file: Some(db),
            path: Some(path.to_owned()),
        })
    }

    /// True in file mode.
    pub(crate) fn is_file(&self) -> bool {
        self.file.is_some()
    }

    /// The file, in file mode.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn get(&self, name: &str) -> Option<Arc<RwLock<Coll>>> {
        read(&self.collections).get(name).cloned()
    }

    fn get_or_create(&self, name: &str) -> Arc<RwLock<Coll>> {
        if let Some(c) = self.get(name) {
            return c;
        }
        write(&self.collections)
            .entry(name.to_owned())
            .or_default()
            .clone()
    }

    /// Runs a write: `apply` changes the collection in memory and records its changes,
    /// which are then committed to the file. On a failed commit the changes are undone.
    /// A write that changes nothing does not create the collection.
    fn write<R>(
        &self,
        name: &str,
        apply: impl FnOnce(&mut Coll, &mut Vec<Change>) -> Result<R>,
    ) -> Result<R> {
        let _gate = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let existed = self.get(name).is_some();
        let coll = self.get_or_create(name);
        let mut changes = Vec::new();
        let result = apply(&mut write(&coll), &mut changes);
        if !existed && changes.is_empty() {
            write(&self.collections).remove(name);
        }
        if !changes.is_empty()
            && let Err(e) = self.persist(name, &changes)
        {
            let mut guard = write(&coll);
            for change in changes.into_iter().rev() {
                // Undoing restores a state that was valid a moment ago, so it cannot fail.
                let _ = guard.put(change.id, change.old);
            }
            return Err(e);
        }
        result
    }

    fn persist(&self, name: &str, changes: &[Change]) -> Result<()> {
        let Some(db) = &self.file else { return Ok(()) };
        let table_name = format!("{DOCS_PREFIX}{name}");
        let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(&table_name);
        let txn = db.begin_write().map_err(storage)?;
        {
            let mut table = txn.open_table(def).map_err(storage)?;
            for change in changes {
                let key = id_bytes(&change.id)?;
                match &change.new {
                    Some(doc) => {
                        table
                            .insert(key.as_slice(), encode(doc)?.as_slice())
                            .map_err(storage)?;
                    }
                    None => {
                        table.remove(key.as_slice()).map_err(storage)?;
                    }
                }
            }
        }
        txn.commit().map_err(storage)
    }

    /// Inserts documents in order, giving each an ObjectId `_id` if it has none. Stops at
    /// the first failure, keeping the documents before it.
    pub(crate) fn insert(&self, name: &str, docs: Vec<Document>) -> Result<Vec<Bson>> {
        self.write(name, |coll, changes| {
            let mut ids = Vec::with_capacity(docs.len());
            for doc in docs {
                ids.push(coll.insert_new(doc, changes)?);
            }
            Ok(ids)
        })
    }

    /// Documents matching `filter`, sorted, skipped, limited and projected.
    pub(crate) fn find(
        &self,
        name: &str,
        filter: &Document,
        options: &FindOptions,
    ) -> Result<Vec<Document>> {
        let filter = Filter::compile(filter)?;
        let sort = Sort::parse(options.sort.as_ref())?;
        let projection = options
            .projection
            .as_ref()
            .map(Projection::parse)
            .transpose()?
            .flatten();
        let Some(coll) = self.get(name) else {
            return Ok(Vec::new());
        };
        let coll = read(&coll);
        let skip = usize::try_from(options.skip.unwrap_or(0)).unwrap_or(usize::MAX);
        let limit = options
            .limit
            .and_then(|l| usize::try_from(l.unsigned_abs()).ok())
            .filter(|l| *l > 0);
        let mut found: Vec<&Document> = Vec::new();
        if sort.is_empty() {
            // Natural order: stop as soon as the page is full.
            let wanted = limit.map_or(usize::MAX, |l| l.saturating_add(skip));
            coll.scan(&filter, |doc| {
                found.push(doc);
                found.len() < wanted
            });
        } else {
            let plan = coll.plan(&filter);
            match plan.is_none().then(|| coll.ordered_ids(&sort)).flatten() {
                // An index gives the sort order: walk it and stop when the page is full.
                Some(ids) => {
                    let wanted = limit.map_or(usize::MAX, |l| l.saturating_add(skip));
                    for id in ids {
                        if found.len() >= wanted {
                            break;
                        }
                        if let Some(doc) = coll.docs.get(id)
                            && filter.matches(doc)
                        {
                            found.push(doc);
                        }
                    }
                }
                None => {
                    coll.scan_planned(plan, &filter, |doc| {
                        found.push(doc);
                        true
                    });
                    found = sorted(found, &sort, limit.map(|l| l.saturating_add(skip)));
                }
            }
        }
        let page = found
            .into_iter()
            .skip(skip)
            .take(limit.unwrap_or(usize::MAX));
        Ok(match &projection {
            Some(p) => page.map(|d| p.apply(d)).collect(),
            None => page.cloned().collect(),
        })
    }

    /// How many documents match.
    pub(crate) fn count(&self, name: &str, filter: &Document) -> Result<u64> {
        let filter = Filter::compile(filter)?;
        let Some(coll) = self.get(name) else {
            return Ok(0);
        };
        let coll = read(&coll);
        if filter.is_empty() {
            return Ok(coll.docs.len() as u64);
        }
        let mut n = 0u64;
        coll.scan(&filter, |_| {
            n += 1;
            true
        });
        Ok(n)
    }

    /// The distinct values of `field` among matching documents (arrays unwound), in
    /// BSON order.
    pub(crate) fn distinct(&self, name: &str, field: &str, filter: &Document) -> Result<Vec<Bson>> {
        let filter = Filter::compile(filter)?;
        let Some(coll) = self.get(name) else {
            return Ok(Vec::new());
        };
        let coll = read(&coll);
        let parts = path::split(field);
        let mut values = std::collections::BTreeSet::new();
        coll.scan(&filter, |doc| {
            for found in path::lookup(doc, &parts).into_iter().flatten() {
                match found {
                    Bson::Array(items) => values.extend(items.iter().cloned().map(Key)),
                    other => {
                        values.insert(Key(other.clone()));
                    }
                }
            }
            true
        });
        Ok(values.into_iter().map(|k| k.0).collect())
    }

    /// `update_one` / `update_many`, with optional upsert.
    pub(crate) fn update(
        &self,
        name: &str,
        filter: &Document,
        update: &Document,
        multi: bool,
        upsert: bool,
    ) -> Result<UpdateResult> {
        let compiled = Filter::compile(filter)?;
        let update = Update::parse(update)?;
        self.write(name, |coll, changes| {
            let targets = coll.matching_ids(&compiled, if multi { usize::MAX } else { 1 });
            let mut result = UpdateResult {
                matched: targets.len() as u64,
                ..UpdateResult::default()
            };
            if targets.is_empty() && upsert {
                let mut doc = update::seed_from_filter(filter)?;
                update.apply(&mut doc, true)?;
                result.upserted_id = Some(coll.insert_new(doc, changes)?);
                return Ok(result);
            }
            for id in targets {
                if coll.modify(&id, |doc| update.apply(doc, false), changes)? {
                    result.modified += 1;
                }
            }
            Ok(result)
        })
    }

    /// Replaces the first matching document, keeping its `_id`.
    pub(crate) fn replace(
        &self,
        name: &str,
        filter: &Document,
        replacement: Document,
        upsert: bool,
    ) -> Result<UpdateResult> {
        if replacement.keys().any(|k| k.starts_with('$')) {
            return Err(Error::bad_request(
                "a replacement document cannot contain update operators",
            ));
        }
        let compiled = Filter::compile(filter)?;
        self.write(name, |coll, changes| {
            let targets = coll.matching_ids(&compiled, 1);
            let Some(id) = targets.into_iter().next() else {
                if !upsert {
                    return Ok(UpdateResult::default());
                }
                let mut doc = replacement;
                if !doc.contains_key("_id")
                    && let Some(id) = update::id_from_filter(filter)
                {
                    doc.insert("_id", id);
                }
                let upserted = coll.insert_new(doc, changes)?;
                return Ok(UpdateResult {
                    upserted_id: Some(upserted),
                    ..UpdateResult::default()
                });
            };
            let modified = coll.modify(
                &id,
                |doc| {
                    if let Some(new_id) = replacement.get("_id")
                        && !value::equals(new_id, &id.0)
                    {
                        return Err(Error::bad_request(
                            "the replacement would change the immutable field _id",
                        ));
                    }
                    let mut next = Document::new();
                    next.insert("_id", id.0.clone());
                    next.extend(replacement.into_iter().filter(|(k, _)| k != "_id"));
                    *doc = next;
                    Ok(())
                },
                changes,
            )?;
            Ok(UpdateResult {
                matched: 1,
                modified: u64::from(modified),
                upserted_id: None,
            })
        })
    }

    /// Atomically finds one document (first in `sort` order), updates it and returns it
    /// as it was before or after. Upserts when asked.
    pub(crate) fn find_one_and_update(
        &self,
        name: &str,
        filter: &Document,
        update: &Document,
        options: &FindOptions,
        returning: ReturnDocument,
        upsert: bool,
    ) -> Result<Option<Document>> {
        let compiled = Filter::compile(filter)?;
        let sort = Sort::parse(options.sort.as_ref())?;
        let projection = options
            .projection
            .as_ref()
            .map(Projection::parse)
            .transpose()?
            .flatten();
        let update = Update::parse(update)?;
        self.write(name, |coll, changes| {
            let target = coll.first_sorted(&compiled, &sort);
            let (before, after) = match target {
                Some(id) => {
                    let before = coll.docs.get(&id).cloned();
                    coll.modify(&id, |doc| update.apply(doc, false), changes)?;
                    (before, coll.docs.get(&id).cloned())
                }
                None if upsert => {
                    let mut doc = update::seed_from_filter(filter)?;
                    update.apply(&mut doc, true)?;
                    let id = coll.insert_new(doc, changes)?;
                    (None, coll.docs.get(&Key(id)).cloned())
                }
                None => (None, None),
            };
            let chosen = match returning {
                ReturnDocument::Before => before,
                ReturnDocument::After => after,
            };
            Ok(match (&projection, chosen) {
                (Some(p), Some(doc)) => Some(p.apply(&doc)),
                (_, chosen) => chosen,
            })
        })
    }

    /// Atomically finds one document (first in `sort` order) and deletes it.
    pub(crate) fn find_one_and_delete(
        &self,
        name: &str,
        filter: &Document,
        options: &FindOptions,
    ) -> Result<Option<Document>> {
        let compiled = Filter::compile(filter)?;
        let sort = Sort::parse(options.sort.as_ref())?;
        self.write(name, |coll, changes| {
            let Some(id) = coll.first_sorted(&compiled, &sort) else {
                return Ok(None);
            };
            let old = coll.docs.get(&id).cloned();
            coll.put(id.clone(), None)?;
            changes.push(Change {
                id,
                old: old.clone(),
                new: None,
            });
            Ok(old)
        })
    }

    /// Deletes the first (or every) matching document.
    pub(crate) fn delete(&self, name: &str, filter: &Document, multi: bool) -> Result<u64> {
        let compiled = Filter::compile(filter)?;
        if self.get(name).is_none() {
            return Ok(0);
        }
        self.write(name, |coll, changes| {
            let targets = coll.matching_ids(&compiled, if multi { usize::MAX } else { 1 });
            for id in &targets {
                let old = coll.docs.get(id).cloned();
                coll.put(id.clone(), None)?;
                changes.push(Change {
                    id: id.clone(),
                    old,
                    new: None,
                });
            }
            Ok(targets.len() as u64)
        })
    }

    /// Creates an index (idempotent for an identical definition); fails if existing
    /// documents violate a unique one.
    pub(crate) fn create_index(&self, name: &str, spec: Index) -> Result<String> {
        let _gate = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let coll = self.get_or_create(name);
        let mut coll = write(&coll);
        let mut state = IndexState::new(spec)?;
        if let Some(existing) = coll.indexes.iter().find(|i| i.name == state.name) {
            return match existing.spec.same_definition(&state.spec) {
                true => Ok(state.name),
                false => Err(Error::conflict(format!(
                    "an index named {:?} already exists with different options",
                    state.name
                ))),
            };
        }
        if let Some(existing) = coll.indexes.iter().find(|i| i.same_keys(&state)) {
            return Err(Error::conflict(format!(
                "the index {:?} already exists on these keys",
                existing.name
            )));
        }
        for (id, doc) in &coll.docs {
            let keys = state.keys_for(doc)?;
            state.check_unique(&keys, id)?;
            state.insert(keys, id);
        }
        if let Some(db) = &self.file {
            let txn = db.begin_write().map_err(storage)?;
            {
                // Make sure the collection exists in the file even while empty.
                let table_name = format!("{DOCS_PREFIX}{name}");
                let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(&table_name);
                txn.open_table(def).map_err(storage)?;
                let mut table = txn.open_table(INDEXES).map_err(storage)?;
                let bytes = bson::serialize_to_vec(&state.spec).map_err(Error::internal)?;
                table
                    .insert(format!("{name}\0{}", state.name).as_str(), bytes.as_slice())
                    .map_err(storage)?;
            }
            txn.commit().map_err(storage)?;
        }
        let index_name = state.name.clone();
        coll.indexes.push(state);
        Ok(index_name)
    }

    /// The indexes of a collection, `_id` first.
    pub(crate) fn list_indexes(&self, name: &str) -> Vec<Index> {
        let mut out = vec![Index::new(bson::doc! { "_id": 1 }).name("_id_")];
        if let Some(coll) = self.get(name) {
            out.extend(
                read(&coll)
                    .indexes
                    .iter()
                    .map(|i| i.spec.clone().name(i.name.clone())),
            );
        }
        out
    }

    /// Drops an index by name; the `_id_` index cannot be dropped.
    pub(crate) fn drop_index(&self, name: &str, index: &str) -> Result<()> {
        if index == "_id_" {
            return Err(Error::bad_request("the _id index cannot be dropped"));
        }
        let _gate = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(coll) = self.get(name) else {
            return Err(Error::not_found(format!("no index named {index:?}")));
        };
        let mut coll = write(&coll);
        let Some(position) = coll.indexes.iter().position(|i| i.name == index) else {
            return Err(Error::not_found(format!("no index named {index:?}")));
        };
        if let Some(db) = &self.file {
            let txn = db.begin_write().map_err(storage)?;
            txn.open_table(INDEXES)
                .map_err(storage)?
                .remove(format!("{name}\0{index}").as_str())
                .map_err(storage)?;
            txn.commit().map_err(storage)?;
        }
        coll.indexes.remove(position);
        Ok(())
    }

    /// Names of the collections, sorted.
    pub(crate) fn list_collections(&self) -> Vec<String> {
        let mut names: Vec<String> = read(&self.collections).keys().cloned().collect();
        names.sort();
        names
    }

    /// Drops a collection with its indexes.
    pub(crate) fn drop_collection(&self, name: &str) -> Result<()> {
        let _gate = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(db) = &self.file {
            let txn = db.begin_write().map_err(storage)?;
            let table_name = format!("{DOCS_PREFIX}{name}");
            let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(&table_name);
            txn.delete_table(def).map_err(storage)?;
            {
                let mut indexes = txn.open_table(INDEXES).map_err(storage)?;
                let prefix = format!("{name}\0");
                let names: Vec<String> = indexes
                    .iter()
                    .map_err(storage)?
                    .filter_map(|row| row.ok().map(|(k, _)| k.value().to_owned()))
                    .filter(|k| k.starts_with(&prefix))
                    .collect();
                for key in names {
                    indexes.remove(key.as_str()).map_err(storage)?;
                }
            }
            txn.commit().map_err(storage)?;
        }
        write(&self.collections).remove(name);
        Ok(())
    }

    /// Deletes documents whose TTL-indexed date is older than the index allows (only
    /// those a partial TTL index holds).
    pub(crate) fn purge_expired(&self) -> Result<u64> {
        let now = bson::DateTime::now().timestamp_millis();
        let mut purged = 0;
        for name in self.list_collections() {
            let Some(coll) = self.get(&name) else {
                continue;
            };
            let filters: Vec<Document> = read(&coll)
                .indexes
                .iter()
                .filter_map(|i| {
                    let ttl = i.spec.expire_after?;
                    let (field, _) = i.spec.keys.iter().next()?;
                    let cutoff =
                        now.saturating_sub(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
                    let expired =
                        bson::doc! { field: { "$lte": bson::DateTime::from_millis(cutoff) } };
                    Some(match &i.spec.partial {
                        Some(partial) => bson::doc! { "$and": [expired, partial.clone()] },
                        None => expired,
                    })
                })
                .collect();
            for filter in filters {
                purged += self.delete(&name, &filter, true)?;
            }
        }
        Ok(purged)
    }
}

impl Coll {
    /// Replaces (or removes, with `None`) the document at `id`, keeping every index in
    /// step. Checks unique indexes before changing anything.
    fn put(&mut self, id: Key, new: Option<Document>) -> Result<()> {
        if let Some(doc) = &new {
            check_size(doc)?;
        }
        let new_keys = match &new {
            Some(doc) => self
                .indexes
                .iter()
                .map(|i| {
                    let keys = i.keys_for(doc)?;
                    i.check_unique(&keys, &id)?;
                    Ok(keys)
                })
                .collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        let old = match new {
            Some(doc) => self.docs.insert(id.clone(), doc),
            None => self.docs.remove(&id),
        };
        if let Some(old) = &old {
            for index in &mut self.indexes {
                let keys = index.keys_for(old).unwrap_or_default();
                index.remove(keys, &id);
            }
        }
        for (index, keys) in self.indexes.iter_mut().zip(new_keys) {
            index.insert(keys, &id);
        }
        Ok(())
    }

    /// Inserts a new document (given, or built by an upsert), adding an `_id` if it has
    /// none and putting `_id` first.
    fn insert_new(&mut self, doc: Document, changes: &mut Vec<Change>) -> Result<Bson> {
        let (id, doc) = with_id_first(doc)?;
        let key = Key(id.clone());
        if self.docs.contains_key(&key) {
            return Err(index::duplicate_error(&["_id"], Some(&id.to_string())));
        }
        self.put(key.clone(), Some(doc.clone()))?;
        changes.push(Change {
            id: key,
            old: None,
            new: Some(doc),
        });
        Ok(id)
    }

    /// Applies `change` to a copy of the document at `id`; stores it if it changed.
    /// Returns whether it changed.
    fn modify(
        &mut self,
        id: &Key,
        change: impl FnOnce(&mut Document) -> Result<()>,
        changes: &mut Vec<Change>,
    ) -> Result<bool> {
        let Some(old) = self.docs.get(id) else {
            return Ok(false);
        };
        let mut doc = old.clone();
        change(&mut doc)?;
        if &doc == old {
            return Ok(false);
        }
        let old = old.clone();
        self.put(id.clone(), Some(doc.clone()))?;
        changes.push(Change {
            id: id.clone(),
            old: Some(old),
            new: Some(doc),
        });
        Ok(true)
    }

    /// Visits matching documents in `_id` order until `visit` returns false, using an
    /// index when the filter allows.
    fn scan<'a>(&'a self, filter: &Filter, visit: impl FnMut(&'a Document) -> bool) {
        self.scan_planned(self.plan(filter), filter, visit);
    }

    /// [`Coll::scan`] with the candidates of [`Coll::plan`] already worked out.
    fn scan_planned<'a>(
        &'a self,
        plan: Option<Vec<Key>>,
        filter: &Filter,
        mut visit: impl FnMut(&'a Document) -> bool,
    ) {
        if let Some(ids) = plan {
            for id in ids {
                if let Some(doc) = self.docs.get(&id)
                    && filter.matches(doc)
                    && !visit(doc)
                {
                    return;
                }
            }
            return;
        }
        for doc in self.docs.values() {
            if filter.matches(doc) && !visit(doc) {
                return;
            }
        }
    }

    /// Every document's id in `sort`'s order, from `_id` or an index. Used when no index
    /// narrows the filter (a narrow candidate set sorted is cheaper than a full walk).
    fn ordered_ids(&self, sort: &Sort) -> Option<Box<dyn Iterator<Item = &Key> + '_>> {
        if let [(path, ascending)] = sort.keys()
            && path.len() == 1
            && path[0] == "_id"
        {
            let ids = self.docs.keys();
            return Some(match ascending {
                true => Box::new(ids),
                false => Box::new(ids.rev()),
            });
        }
        self.indexes.iter().find_map(|i| i.ordered(sort.keys()))
    }

    /// Candidate ids from `_id` or a secondary index, for the top-level conditions of the
    /// filter; `None` means scan everything.
    fn plan(&self, filter: &Filter) -> Option<Vec<Key>> {
        let clauses: &[Filter] = match filter {
            Filter::And(all) => all,
            single => std::slice::from_ref(single),
        };
        let mut best: Option<Vec<Key>> = None;
        for clause in clauses {
            let Filter::Field { path, cond } = clause else {
                continue;
            };
            let ids = if path.len() == 1 && path[0] == "_id" {
                id_candidates(cond, &self.docs)
            } else {
                self.indexes.iter().find_map(|i| i.candidates(path, cond))
            };
            if let Some(ids) = ids
                && best.as_ref().is_none_or(|b| ids.len() < b.len())
            {
                best = Some(ids);
            }
        }
        best
    }

    fn matching_ids(&self, filter: &Filter, limit: usize) -> Vec<Key> {
        let mut ids = Vec::new();
        self.scan(filter, |doc| {
            ids.push(Key(doc.get("_id").cloned().unwrap_or(Bson::Null)));
            ids.len() < limit
        });
        ids
    }

    fn first_sorted(&self, filter: &Filter, sort: &Sort) -> Option<Key> {
        let id = |doc: &Document| Key(doc.get("_id").cloned().unwrap_or(Bson::Null));
        if sort.is_empty() {
            return self.matching_ids(filter, 1).into_iter().next();
        }
        let mut best: Option<(Vec<Bson>, &Document)> = None;
        self.scan(filter, |doc| {
            let key = sort.key(doc);
            if best
                .as_ref()
                .is_none_or(|(b, _)| sort.compare(&key, b).is_lt())
            {
                best = Some((key, doc));
            }
            true
        });
        best.map(|(_, doc)| id(doc))
    }
}

/// `docs` in `sort`'s order, ties in their given (`_id`) order; with `wanted`, only that
/// many first ones are put in order and returned.
fn sorted<'a>(docs: Vec<&'a Document>, sort: &Sort, wanted: Option<usize>) -> Vec<&'a Document> {
    // Keys borrow from the documents.
    let mut keyed: Vec<(Vec<&Bson>, usize, &Document)> = docs
        .into_iter()
        .enumerate()
        .map(|(i, d)| (sort.key_ref(d), i, d))
        .collect();
    let order = |a: &(Vec<&Bson>, usize, &Document), b: &(Vec<&Bson>, usize, &Document)| {
        sort.compare_ref(&a.0, &b.0).then(a.1.cmp(&b.1))
    };
    if let Some(wanted) = wanted
        && wanted < keyed.len()
    {
        keyed.select_nth_unstable_by(wanted, order);
        keyed.truncate(wanted);
    }
    keyed.sort_unstable_by(order);
    keyed.into_iter().map(|(_, _, d)| d).collect()
}

/// Direct lookups for conditions on `_id`.
fn id_candidates(cond: &filter::Cond, docs: &BTreeMap<Key, Document>) -> Option<Vec<Key>> {
    use filter::{Cond, Member};
    let plain = |v: &Bson| !matches!(v, Bson::Null | Bson::Array(_) | Bson::Document(_));
    match cond {
        Cond::Eq(v) if plain(v) => Some(
            docs.get_key_value(&Key(v.clone()))
                .map(|(k, _)| k.clone())
                .into_iter()
                .collect(),
        ),
        Cond::In(members)
            if members
                .iter()
                .all(|m| matches!(m, Member::Value(v) if plain(v))) =>
        {
            let mut ids: Vec<Key> = members
                .iter()
                .filter_map(|m| match m {
                    Member::Value(v) => docs.get_key_value(&Key(v.clone())).map(|(k, _)| k.clone()),
                    Member::Regex(_) => None,
                })
                .collect();
            ids.sort();
            ids.dedup();
            Some(ids)
        }
        _ => None,
    }
}
