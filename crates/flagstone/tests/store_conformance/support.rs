//! The machinery shared by every case: opening a backend, telling servers apart,
//! declaring what a case needs, printing (and counting) skips, and small helpers.

use std::{
    fmt::Debug,
    future::Future,
    io::Write,
    panic::AssertUnwindSafe,
    sync::{
        Once,
        atomic::{AtomicUsize, Ordering},
    },
};

use flagstone::{
    Error, ErrorKind, Result,
    config::DatabaseConfig,
    store::{BackendKind, Bson, Collection, Document, ObjectId, Store, doc},
};
use futures_util::FutureExt;
use tempfile::TempDir;

/// The variable naming the live server.
pub(crate) const URI_VAR: &str = "FLAGSTONE_TEST_MONGODB_URI";

/// Skips printed by this process so far.
static SKIPS: AtomicUsize = AtomicUsize::new(0);

/// Says once, outside the test harness's capture, that the server variants are skipped.
static NO_URI: Once = Once::new();

/// Where a generated test runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// `Store::memory()`.
    Memory,
    /// The embedded store in a `file://` of a fresh temporary directory.
    File,
    /// The server `FLAGSTONE_TEST_MONGODB_URI` names, in a database of its own.
    Mongo,
}

impl Target {
    /// The target a generated test function is named after.
    pub(crate) fn named(name: &str) -> Self {
        match name {
            "memory" => Self::Memory,
            "file" => Self::File,
            "mongo" => Self::Mongo,
            other => panic!("no target named {other}"),
        }
    }
}

/// The server behind a `mongo` store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Server {
    /// MongoDB itself.
    MongoDb(String),
    /// FerretDB, which answers `buildInfo` with a `ferretdbVersion` field.
    FerretDb(String),
}

impl std::fmt::Display for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MongoDb(version) => write!(f, "MongoDB {version}"),
            Self::FerretDb(version) => write!(f, "FerretDB {version}"),
        }
    }
}

/// What a case may need beyond the common ground. Each variant is something FerretDB
/// (1.24.2, the server `scripts/test-mongo.sh` runs) lacks or gets wrong, as measured by
/// `scripts/probe-mongo-compat.py` (docs/src/store-server-compat.md) and by this suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Feature {
    /// `$regex` option `x` (FerretDB: 238).
    RegexExtended,
    /// Text indexes and `$text`.
    TextIndex,
    /// TTL indexes (`expireAfterSeconds`; FerretDB: 238).
    TtlIndex,
    /// Partial indexes (`partialFilterExpression`; FerretDB: 238).
    PartialIndex,
    /// `find_one_and_update` with a projection (FerretDB: 238).
    FindAndModifyProjection,
    /// `$elemMatch` on scalars with several conditions met by one element.
    ElemMatchSeveralConditions,
    /// `$elemMatch` on subdocuments.
    ElemMatchDocuments,
    /// `$push` with `$slice`.
    PushSlice,
    /// `$pull` with a condition.
    PullCondition,
    /// Upserts seeding equalities from a top-level `$and`.
    UpsertSeedsAnd,
    /// A unique index counting a missing field as null.
    UniqueMissingIsNull,
    /// Duplicate-key errors naming the fields.
    DuplicateKeyFields,
    /// `list_indexes` reporting `sparse`.
    SparseListed,
    /// Re-creating an index name with other options failing.
    IndexOptionsConflict,
    /// Arrays nested in arrays (FerretDB refuses to store them).
    NestedArrays,
    /// `$all` met by different elements of an array of subdocuments (`$all` is an `$and`
    /// of equalities).
    AllAcrossElements,
    /// `{ "a.b": null }` matching an array of subdocuments where one lacks `b`.
    NullInArrayOfDocuments,
    /// Sorting on a dotted path through an array of subdocuments.
    SortThroughArrays,
    /// Refusing a projection whose paths collide (`a` and `a.b`).
    ProjectionCollision,
    /// Refusing an update or replacement that makes a document larger than 16 MiB.
    UpdateSizeLimit,
    /// Refusing malformed operator documents (`$options` without `$regex`, a plain field
    /// among operators).
    StrictOperatorDocuments,
    /// Refusing a malformed update (`$inc` by a string) that matches no document.
    UpdateValidatedWithoutMatch,
    /// Unique indexes over the elements of arrays.
    UniqueArrayElements,
    /// `$exists` with a number (`1`, `0`).
    ExistsWithNumbers,
    /// Updating fields with numeric names in numeric order.
    NumericFieldOrder,
    /// `$unset` of an array element leaving null in its place.
    UnsetArrayElement,
    /// Counting `$inc` by 0 as no change.
    NoOpIncrement,
    /// Upserts leaving a filter's regular expressions out of the new document.
    UpsertSkipsRegex,
    /// Atomic updates of one document under concurrent writers.
    AtomicUpdates,
    /// Refusing a `$rename` onto a path another operator updates.
    RenameConflicts,
    /// Equality with a subdocument matching an element of an array.
    DocumentElementEquality,
    /// `$ne`, `$nin` and `$not` negating the whole condition on a dotted path through an
    /// array of subdocuments.
    NegationThroughArrays,
    /// `$push` / `$addToSet` with an empty `$each` creating the missing array.
    EmptyEachCreatesArray,
    /// Several conditions on a dotted path through an array, each met by any element.
    RangesThroughArrays,
    /// Refusing, as an error, an upsert whose operator does not suit the type its filter
    /// seeds (`$push` onto a scalar, `$inc` of a subdocument).
    UpsertPushOntoSeededScalar,
    /// `$setOnInsert` of null or of an empty array storing it.
    SetOnInsertNull,
    /// An int32 `$inc` that overflows becoming a long, whichever operand is large.
    IncrementOverflow,
    /// Upserts whose filter has several operators on one field (`{ $gte: 1, $lt: 5 }`).
    UpsertRangeFilter,
}

impl Feature {
    /// What the feature is, for the skip line.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::RegexExtended => "the $regex option x",
            Self::TextIndex => "text indexes",
            Self::TtlIndex => "TTL indexes (expireAfterSeconds)",
            Self::PartialIndex => "partial indexes (partialFilterExpression)",
            Self::FindAndModifyProjection => "find_one_and_update with a projection",
            Self::ElemMatchSeveralConditions => "$elemMatch with several conditions on one element",
            Self::ElemMatchDocuments => "$elemMatch on subdocuments",
            Self::PushSlice => "$push with $slice",
            Self::PullCondition => "$pull with a condition",
            Self::UpsertSeedsAnd => "upserts seeding equalities from a top-level $and",
            Self::UniqueMissingIsNull => "unique indexes counting a missing field as null",
            Self::DuplicateKeyFields => "duplicate-key errors naming the fields",
            Self::SparseListed => "list_indexes reporting sparse indexes",
            Self::IndexOptionsConflict => "refusing an index name re-created with other options",
            Self::NestedArrays => "arrays nested in arrays",
            Self::AllAcrossElements => "$all met by different elements of an array of subdocuments",
            Self::NullInArrayOfDocuments => "null matching an array element that lacks the field",
            Self::SortThroughArrays => "sorting on a dotted path through an array of subdocuments",
            Self::ProjectionCollision => "refusing projections with colliding paths",
            Self::UpdateSizeLimit => "the 16 MiB limit on updated and replaced documents",
            Self::StrictOperatorDocuments => "refusing malformed operator documents",
            Self::UpdateValidatedWithoutMatch => {
                "refusing a malformed update that matches no document"
            }
            Self::UniqueArrayElements => "unique indexes over array elements",
            Self::ExistsWithNumbers => "$exists with a number",
            Self::NumericFieldOrder => "updating numeric field names in numeric order",
            Self::UnsetArrayElement => "$unset of an array element leaving null",
            Self::NoOpIncrement => "counting $inc by 0 as no change",
            Self::UpsertSkipsRegex => "upserts leaving regular expressions out of the new document",
            Self::AtomicUpdates => "atomic updates of one document under concurrent writers",
            Self::RenameConflicts => "refusing a $rename onto a path another operator updates",
            Self::DocumentElementEquality => "equality with a subdocument matching array elements",
            Self::NegationThroughArrays => "$ne, $nin and $not on dotted paths through arrays",
            Self::EmptyEachCreatesArray => {
                "$push / $addToSet with an empty $each creating the array"
            }
            Self::RangesThroughArrays => "several conditions on a dotted path through an array",
            Self::SetOnInsertNull => "$setOnInsert storing null and empty arrays",
            Self::IncrementOverflow => "int32 overflow in $inc becoming a long (it wraps around)",
            Self::UpsertRangeFilter => "upserts whose filter has several operators on one field",
            Self::UpsertPushOntoSeededScalar => {
                "an error (not a dropped connection) for an upsert whose operator does not suit what its filter seeds"
            }
        }
    }
}

/// A known shortcoming of Flagstone's MongoDB backend (`store/mongo.rs`): the server
/// refuses the operation as it should, but the error comes back with the wrong kind. The
/// check still runs; while the gap lasts it is reported instead of failing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gap {
    /// The driver refuses an update without operators, an empty update, a replacement
    /// with operators or an oversized document before sending it (`InvalidArgument`),
    /// which maps to 500.
    DriverInvalidArgument,
    /// Server codes missing from the 400 list: 53 (array `_id`), 15974 and 15975 (sort
    /// specification), 51091 (invalid regex), 17419 (document too large after an update).
    UnmappedInvalidCode,
    /// Index conflicts (85 IndexOptionsConflict, 86 IndexKeySpecsConflict) map to 500,
    /// not 409.
    IndexConflictCode,
}

impl Gap {
    fn describe(self) -> &'static str {
        match self {
            Self::DriverInvalidArgument => {
                "store/mongo.rs maps the driver's InvalidArgument (refused before sending) to 500"
            }
            Self::UnmappedInvalidCode => {
                "store/mongo.rs does not map this server error code (53, 15974, 15975, 51091, 17419) to 400"
            }
            Self::IndexConflictCode => {
                "store/mongo.rs maps index conflicts (codes 85, 86) to 500 instead of 409"
            }
        }
    }
}

/// What a case knows about where it runs.
pub(crate) struct Ctx {
    test: String,
    kind: BackendKind,
    server: Option<Server>,
    _dir: Option<TempDir>,
}

impl Ctx {
    /// True on the embedded store (memory or file).
    pub(crate) fn is_embedded(&self) -> bool {
        self.kind != BackendKind::Mongo
    }

    /// Whether the backend has `feature`; when it has not, prints
    /// `skipped: <server> lacks <feature>` and counts the skip. The embedded store and
    /// MongoDB have every feature.
    pub(crate) fn requires(&self, feature: Feature) -> bool {
        match &self.server {
            Some(server @ Server::FerretDb(_)) => {
                skip(
                    &self.test,
                    &format!("{server} lacks {}", feature.describe()),
                );
                false
            }
            _ => true,
        }
    }

    /// Prints a skip for a part of a case that only makes sense elsewhere.
    pub(crate) fn skip_part(&self, reason: &str) {
        skip(&self.test, reason);
    }

    /// Expects `result` to fail with `want`, and returns the error.
    #[track_caller]
    pub(crate) fn fails_with<T: Debug>(&self, result: Result<T>, want: ErrorKind) -> Error {
        self.refuses(&"the operation", result, want)
    }

    /// Like [`Ctx::fails_with`], naming what was refused when it was not.
    #[track_caller]
    pub(crate) fn refuses<T: Debug>(
        &self,
        what: &dyn std::fmt::Display,
        result: Result<T>,
        want: ErrorKind,
    ) -> Error {
        match result {
            Ok(value) => panic!("{what}: expected a {want:?} error, got Ok({value:?})"),
            Err(e) if e.kind() == want => e,
            Err(e) => panic!("{what}: expected a {want:?} error, got {:?}: {e}", e.kind()),
        }
    }

    /// Like [`Ctx::fails_with`], but on the MongoDB backend a 500 that `gap` explains is
    /// reported as a known gap instead of failing. Returns the error when it has `want`.
    #[track_caller]
    pub(crate) fn fails_with_gap<T: Debug>(
        &self,
        result: Result<T>,
        want: ErrorKind,
        gap: Gap,
    ) -> Option<Error> {
        match result {
            Err(e) if e.kind() == ErrorKind::Internal && !self.is_embedded() => {
                let shown = e.to_string();
                let shown: String = shown
                    .split(", labels:")
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(160)
                    .collect();
                skip(
                    &self.test,
                    &format!("known gap: {} ({shown})", gap.describe()),
                );
                None
            }
            other => Some(self.fails_with(other, want)),
        }
    }
}

/// Prints a skip: the `skipped:` line through the harness (shown with `--nocapture`),
/// and a counted summary line straight to stderr, which the harness does not capture.
pub(crate) fn skip(test: &str, reason: &str) {
    eprintln!("skipped: {reason}");
    let n = SKIPS.fetch_add(1, Ordering::Relaxed) + 1;
    let _ = writeln!(
        std::io::stderr().lock(),
        "conformance skip #{n}: {test}: skipped: {reason}"
    );
}

/// Opens the store for one generated test; `None` (after printing the skip) when the
/// target is `mongo` and no server is configured.
pub(crate) async fn open(target: Target, test: &str) -> Option<(Store, Ctx)> {
    let test = test.trim_start_matches("store_conformance::").to_owned();
    match target {
        Target::Memory => {
            let store = Store::memory();
            Some((
                store,
                Ctx {
                    test,
                    kind: BackendKind::Memory,
                    server: None,
                    _dir: None,
                },
            ))
        }
        Target::File => {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let url = format!("file://{}", dir.path().join("db.redb").display());
            let store = Store::connect(&url).await.expect("the file store opens");
            assert_eq!(store.kind(), BackendKind::File);
            Some((
                store,
                Ctx {
                    test,
                    kind: BackendKind::File,
                    server: None,
                    _dir: Some(dir),
                },
            ))
        }
        Target::Mongo => {
            let Some(uri) = std::env::var(URI_VAR).ok().filter(|u| !u.is_empty()) else {
                eprintln!("skipped: {URI_VAR} not set");
                let n = SKIPS.fetch_add(1, Ordering::Relaxed) + 1;
                NO_URI.call_once(|| {
                    let _ = writeln!(
                        std::io::stderr().lock(),
                        "conformance skip #{n}: {test}: skipped: {URI_VAR} not set (every mongo variant skips)"
                    );
                });
                return None;
            };
            let store = open_mongo(&uri, &database_name(&test)).await;
            let server = server_of(&store).await;
            Some((
                store,
                Ctx {
                    test,
                    kind: BackendKind::Mongo,
                    server: Some(server),
                    _dir: None,
                },
            ))
        }
    }
}

/// Connects to `uri`, using the database `name`.
pub(crate) async fn open_mongo(uri: &str, name: &str) -> Store {
    let mut config = DatabaseConfig::default();
    config.url = Some(uri.to_owned());
    config.name = Some(name.to_owned());
    let store = Store::open(&config).await.expect("the server URL parses");
    assert_eq!(store.kind(), BackendKind::Mongo);
    store
}

/// A database name of its own for `test`: readable, unique, at most 63 bytes.
pub(crate) fn database_name(test: &str) -> String {
    let readable: String = test
        .replace("::", "_")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(35)
        .collect();
    format!("fc_{readable}_{}", ObjectId::new().to_hex())
}

/// Tells MongoDB from FerretDB by `buildInfo`.
pub(crate) async fn server_of(store: &Store) -> Server {
    let db = store.mongo().expect("a MongoDB store");
    let info = db
        .run_command(doc! { "buildInfo": 1 })
        .await
        .unwrap_or_else(|e| panic!("the server at {URI_VAR} does not answer buildInfo: {e}"));
    let version = info.get_str("version").unwrap_or("?").to_owned();
    match info.get_str("ferretdbVersion") {
        Ok(ferret) => Server::FerretDb(ferret.trim_start_matches('v').to_owned()),
        Err(_) => Server::MongoDb(version),
    }
}

/// Runs a case, catching a panic so the database can still be dropped.
pub(crate) async fn catch(case: impl Future<Output = ()>) -> std::thread::Result<()> {
    AssertUnwindSafe(case).catch_unwind().await
}

/// Drops the case's database on the server, then re-raises the case's panic if any.
pub(crate) async fn finish(store: Store, ctx: Ctx, outcome: std::thread::Result<()>) {
    if ctx.kind == BackendKind::Mongo {
        let dropped = store.drop_all().await;
        if outcome.is_ok() {
            dropped.expect("the test database drops");
        }
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Generates, for each case `name`, `name::memory`, `name::file` and `name::mongo`
/// (`embedded: ...` generates the first two only).
macro_rules! conformance {
    (embedded: $($case:ident),+ $(,)?) => {
        $( $crate::support::conformance!(@case $case, [memory, file]); )+
    };
    ($($case:ident),+ $(,)?) => {
        $( $crate::support::conformance!(@case $case, [memory, file, mongo]); )+
    };
    (@case $case:ident, [$($target:ident),+]) => {
        mod $case {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $target() {
                    let target = $crate::support::Target::named(stringify!($target));
                    let name = concat!(module_path!(), "::", stringify!($target));
                    let Some((store, ctx)) = $crate::support::open(target, name).await else { return };
                    let outcome = $crate::support::catch(super::$case(&store, &ctx)).await;
                    $crate::support::finish(store, ctx, outcome).await;
                }
            )+
        }
    };
}

pub(crate) use conformance;

/// The raw collection `name`.
pub(crate) fn raw(store: &Store, name: &str) -> Collection<Document> {
    store.collection::<Document>(name)
}

/// A raw collection filled with `docs`.
pub(crate) async fn seeded(store: &Store, name: &str, docs: Vec<Document>) -> Collection<Document> {
    let c = raw(store, name);
    c.insert_many(&docs).await.expect("the documents insert");
    c
}

/// The `_id`s of the documents matching `filter`, in `_id` order.
pub(crate) async fn ids(c: &Collection<Document>, filter: Document) -> Vec<Bson> {
    let found = c
        .find(filter.clone())
        .sort(doc! { "_id": 1 })
        .await
        .unwrap_or_else(|e| panic!("find {filter} failed: {e}"));
    found
        .iter()
        .map(|d| d.get("_id").cloned().unwrap_or(Bson::Null))
        .collect()
}

/// The `_id`s of every document in `sort` order.
pub(crate) async fn sorted_ids(c: &Collection<Document>, sort: Document) -> Vec<Bson> {
    let found = c
        .find(doc! {})
        .sort(sort.clone())
        .await
        .unwrap_or_else(|e| panic!("sort {sort} failed: {e}"));
    found
        .iter()
        .map(|d| d.get("_id").cloned().unwrap_or(Bson::Null))
        .collect()
}

/// Int32 ids, for comparing with [`ids`].
pub(crate) fn int_ids(ids: &[i32]) -> Vec<Bson> {
    ids.iter().map(|i| Bson::Int32(*i)).collect()
}

/// Asserts that `filter` matches exactly the documents with these int ids.
pub(crate) async fn assert_matches(c: &Collection<Document>, filter: Document, want: &[i32]) {
    let got = ids(c, filter.clone()).await;
    assert_eq!(got, int_ids(want), "filter {filter}");
}

/// The document with `_id`, which must exist.
pub(crate) async fn get(c: &Collection<Document>, id: impl Into<Bson>) -> Document {
    let id = id.into();
    c.find_by_id(id.clone())
        .await
        .expect("find_by_id works")
        .unwrap_or_else(|| panic!("no document with _id {id}"))
}

/// A BSON regular expression (options in alphabetical order).
pub(crate) fn re(pattern: &str, options: &str) -> Bson {
    let mut sorted: Vec<char> = options.chars().collect();
    sorted.sort_unstable();
    let options: String = sorted.into_iter().collect();
    Bson::RegularExpression(flagstone::bson::Regex {
        pattern: pattern.try_into().expect("a pattern without NUL"),
        options: options.as_str().try_into().expect("options without NUL"),
    })
}
