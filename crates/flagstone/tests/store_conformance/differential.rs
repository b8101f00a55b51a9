//! Differential property tests: random small documents, filters, sorts, projections and
//! updates drawn from the embedded subset, applied to the embedded store (in memory) and
//! to the live server, whose answers must be the same.
//!
//! They run only when `FLAGSTONE_TEST_MONGODB_URI` is set, with 64 cases per property
//! (`PROPTEST_CASES` changes that). Each property uses one database of its own on the
//! server, emptied before every case. Both sides carry the same secondary indexes (on
//! `a` and on `b.x`), so the embedded store's index planning is compared too.
//!
//! When the server is FerretDB, the generators leave out exactly what FerretDB gets
//! wrong (see [`Gen`]), each exclusion named where it is made; against MongoDB they draw
//! from the whole subset.

use std::{fmt::Debug, future::Future};

use flagstone::{
    Result as StoreResult,
    store::{Bson, Collection, Document, Index, ReturnDocument, Store, UpdateResult, doc},
};
use proptest::{
    prelude::*,
    test_runner::{Config, TestCaseError, TestError, TestRunner},
};

use crate::support::{self, Server};

/// The collection every property works in.
const COLLECTION: &str = "diff";

/// Cases per property: `PROPTEST_CASES`, else 64.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

/// What the generators may draw, given the server.
#[derive(Clone, Copy, Debug)]
struct Gen {
    /// Leave out what FerretDB 1.24.2 gets wrong:
    /// - arrays nested in arrays (FerretDB refuses to store them);
    /// - subdocuments as equality operands (FerretDB does not compare them with the
    ///   elements of an array);
    /// - `$elemMatch` with several conditions, and `$elemMatch` on subdocuments (wrong
    ///   results, or code 2);
    /// - `$push` with `$slice` (ignored) and `$pull` with a condition (removes nothing);
    /// - an empty `$each` (FerretDB does not create the missing array);
    /// - upserts whose filter has a top-level `$and` (not seeded) or a regular expression
    ///   (seeded, or refused) or several operators on one field (refused), and
    ///   `$setOnInsert` of null or of an empty array (dropped);
    /// - upserts whose operators (other than `$set` and `$unset`) meet a path their filter
    ///   seeds (FerretDB closes the connection when the seeded type does not suit them);
    /// - `$all` on dotted paths (FerretDB wants one element to hold every value);
    /// - `$ne`, `$nin` and `$not` on dotted paths (FerretDB negates element by element
    ///   through an array of subdocuments, not the whole condition);
    /// - several operators on one dotted path (FerretDB wants one element of an array of
    ///   subdocuments to meet them all);
    /// - null operands on dotted paths (FerretDB does not count an array element that
    ///   lacks the field as null);
    /// - sorts on dotted paths (FerretDB does not sort through arrays of subdocuments);
    /// - `$inc` by a large int32 (FerretDB wraps around instead of moving to a long when
    ///   the stored value is the small operand), and `$inc` by 0 or `$mul` by 1 (FerretDB
    ///   counts them as modifications).
    ferretdb: bool,
}

/// Runs `property` over `strategy` on a fresh memory store and the server, each case.
fn check<S, F, Fut>(name: &str, strategy: impl Fn(Gen) -> S, property: F)
where
    S: Strategy,
    S::Value: Clone + Debug,
    F: Fn(Pair, S::Value) -> Fut,
    Fut: Future<Output = std::result::Result<(), TestCaseError>>,
{
    let test = format!("differential::{name}");
    let Some(uri) = std::env::var(support::URI_VAR)
        .ok()
        .filter(|u| !u.is_empty())
    else {
        support::skip(&test, &format!("{} not set", support::URI_VAR));
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let database = support::database_name(&test);
    let server_store = runtime.block_on(support::open_mongo(&uri, &database));
    let server = runtime.block_on(support::server_of(&server_store));
    let generate = Gen {
        ferretdb: matches!(server, Server::FerretDb(_)),
    };
    let server_coll = server_store.collection::<Document>(COLLECTION);
    runtime.block_on(async {
        server_coll.drop().await.expect("the collection drops");
        create_indexes(&server_coll).await;
    });
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        max_shrink_time: 120_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy(generate), |input| {
        runtime.block_on(async {
            server_coll
                .delete_many(doc! {})
                .await
                .map_err(|e| fail("emptying the server collection", e))?;
            let memory = Store::memory();
            let embedded = memory.collection::<Document>(COLLECTION);
            create_indexes(&embedded).await;
            property(
                Pair {
                    embedded,
                    server: server_coll.clone(),
                },
                input,
            )
            .await
        })
    });
    runtime.block_on(async {
        let _ = server_store.drop_all().await;
    });
    drop(runtime);
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, input)) => {
            panic!("{test} against {server}: {why}\nminimal input: {input:#?}")
        }
        Err(TestError::Abort(why)) => panic!("{test} against {server} aborted: {why}"),
    }
}

async fn create_indexes(c: &Collection<Document>) {
    c.create_index(Index::new(doc! { "a": 1 }))
        .await
        .expect("index a");
    c.create_index(Index::new(doc! { "b.x": -1 }))
        .await
        .expect("index b.x");
}

fn fail(what: &str, e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(format!("{what}: {e}"))
}

/// The same collection on both backends.
struct Pair {
    embedded: Collection<Document>,
    server: Collection<Document>,
}

impl Pair {
    /// Inserts `docs` on both sides.
    async fn seed(&self, docs: &[Document]) -> std::result::Result<(), TestCaseError> {
        if docs.is_empty() {
            return Ok(());
        }
        self.embedded
            .insert_many(docs)
            .await
            .map_err(|e| fail("embedded insert", e))?;
        self.server
            .insert_many(docs)
            .await
            .map_err(|e| fail("server insert", e))?;
        Ok(())
    }

    /// Every document of both sides, by `_id`; they must be the same.
    async fn same_contents(&self, context: &str) -> std::result::Result<(), TestCaseError> {
        let all =
            |c: Collection<Document>| async move { c.find(doc! {}).sort(doc! { "_id": 1 }).await };
        let embedded = all(self.embedded.clone())
            .await
            .map_err(|e| fail("embedded read", e))?;
        let server = all(self.server.clone())
            .await
            .map_err(|e| fail("server read", e))?;
        same(context, &embedded, &server)
    }
}

/// Compares two answers, failing the case with both.
fn same<T: PartialEq + Debug>(
    context: &str,
    embedded: &T,
    server: &T,
) -> std::result::Result<(), TestCaseError> {
    if embedded == server {
        Ok(())
    } else {
        Err(TestCaseError::fail(format!(
            "{context}\n  embedded: {embedded:?}\n  server:   {server:?}"
        )))
    }
}

/// Compares two results: the same value, or both an error of the same kind.
fn same_outcome<T: PartialEq + Debug>(
    context: &str,
    embedded: &StoreResult<T>,
    server: &StoreResult<T>,
) -> std::result::Result<(), TestCaseError> {
    match (embedded, server) {
        (Ok(a), Ok(b)) => same(context, a, b),
        (Err(a), Err(b)) if a.kind() == b.kind() => Ok(()),
        _ => Err(TestCaseError::fail(format!(
            "{context}\n  embedded: {embedded:?}\n  server:   {server:?}"
        ))),
    }
}

// --- generators ---------------------------------------------------------------------

fn scalar() -> BoxedStrategy<Bson> {
    prop_oneof![
        3 => (-3i32..=3).prop_map(Bson::Int32),
        1 => (-3i64..=3).prop_map(Bson::Int64),
        2 => prop::sample::select(vec![-1.5, 0.0, 0.5, 1.0, 2.0, 2.5]).prop_map(Bson::Double),
        3 => prop::sample::select(vec!["", "a", "b", "ab", "B", "é", "Ä"]).prop_map(|s| Bson::String(s.into())),
        1 => Just(Bson::Null),
        1 => any::<bool>().prop_map(Bson::Boolean),
    ]
    .boxed()
}

/// A small subdocument with fields `x` and `y`, each maybe missing.
fn subdocument() -> BoxedStrategy<Bson> {
    (
        prop::option::of(scalar()),
        prop::option::of(prop_oneof![
            scalar(),
            prop::collection::vec(scalar(), 0..3).prop_map(Bson::Array)
        ]),
    )
        .prop_map(|(x, y)| {
            let mut d = Document::new();
            if let Some(x) = x {
                d.insert("x", x);
            }
            if let Some(y) = y {
                d.insert("y", y);
            }
            Bson::Document(d)
        })
        .boxed()
}

fn value(g: Gen) -> BoxedStrategy<Bson> {
    let arrays = prop::collection::vec(scalar(), 0..4).prop_map(Bson::Array);
    let documents = prop::collection::vec(subdocument(), 1..3).prop_map(Bson::Array);
    if g.ferretdb {
        prop_oneof![6 => scalar(), 3 => arrays, 2 => subdocument(), 2 => documents].boxed()
    } else {
        let nested = prop::collection::vec(
            prop::collection::vec(scalar(), 0..3).prop_map(Bson::Array),
            1..3,
        )
        .prop_map(Bson::Array);
        prop_oneof![6 => scalar(), 3 => arrays, 2 => subdocument(), 2 => documents, 1 => nested]
            .boxed()
    }
}

/// Up to 10 documents with `_id` 0, 1, ... and fields `a`, `b`, `c`, each maybe missing.
fn documents(g: Gen) -> BoxedStrategy<Vec<Document>> {
    let field = || prop::option::weighted(0.8, value(g));
    prop::collection::vec((field(), field(), field()), 0..10)
        .prop_map(|fields| {
            fields
                .into_iter()
                .enumerate()
                .map(|(i, (a, b, c))| {
                    let mut d = doc! { "_id": i as i32 };
                    for (name, v) in [("a", a), ("b", b), ("c", c)] {
                        if let Some(v) = v {
                            d.insert(name, v);
                        }
                    }
                    d
                })
                .collect()
        })
        .boxed()
}

fn path() -> BoxedStrategy<&'static str> {
    prop::sample::select(vec![
        "a", "a", "a", "b", "b", "b", "c", "c", "a.x", "a.y", "b.x", "a.0", "c.1",
    ])
    .boxed()
}

/// An operand for comparisons: mostly scalars, sometimes an array or a subdocument
/// (FerretDB: no subdocument, whose equality it does not test against array elements).
fn operand(g: Gen) -> BoxedStrategy<Bson> {
    let array = prop::collection::vec(scalar(), 0..3).prop_map(Bson::Array);
    match g.ferretdb {
        true => prop_oneof![8 => scalar(), 1 => array].boxed(),
        false => prop_oneof![8 => scalar(), 1 => array, 1 => subdocument()].boxed(),
    }
}

fn mentions_regex(filter: &Document) -> bool {
    fn inside(v: &Bson) -> bool {
        match v {
            Bson::RegularExpression(_) => true,
            Bson::Document(d) => d.contains_key("$regex") || d.values().any(inside),
            Bson::Array(items) => items.iter().any(inside),
            _ => false,
        }
    }
    filter.values().any(inside)
}

fn mentions_null(v: &Bson) -> bool {
    match v {
        Bson::Null => true,
        Bson::Array(items) => items.iter().any(mentions_null),
        Bson::Document(d) => d.values().any(mentions_null),
        _ => false,
    }
}

/// A condition on one path.
fn condition(g: Gen) -> BoxedStrategy<Bson> {
    let comparison = prop::sample::select(vec!["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]);
    let pattern = || prop::sample::select(vec!["^a", "b", "^$", "A", "é", "^.$"]);
    let mut options = vec![
        operand(g),
        (comparison, operand(g))
            .prop_map(|(op, v)| Bson::Document(doc! { op: v }))
            .boxed(),
        prop::collection::vec(operand(g), 0..3)
            .prop_map(|v| Bson::Document(doc! { "$in": v }))
            .boxed(),
        prop::collection::vec(operand(g), 0..3)
            .prop_map(|v| Bson::Document(doc! { "$nin": v }))
            .boxed(),
        any::<bool>()
            .prop_map(|b| Bson::Document(doc! { "$exists": b }))
            .boxed(),
        (pattern(), any::<bool>())
            .prop_map(|(p, i)| {
                Bson::Document(doc! { "$regex": p, "$options": if i { "i" } else { "" } })
            })
            .boxed(),
        (pattern(), any::<bool>())
            .prop_map(|(p, i)| support::re(p, if i { "i" } else { "" }))
            .boxed(),
        (0i32..3)
            .prop_map(|n| Bson::Document(doc! { "$size": n }))
            .boxed(),
        prop::collection::vec(scalar(), 1..3)
            .prop_map(|v| Bson::Document(doc! { "$all": v }))
            .boxed(),
        (scalar())
            .prop_map(|v| Bson::Document(doc! { "$elemMatch": { "$gte": v } }))
            .boxed(),
        (scalar(), scalar())
            .prop_map(|(lo, hi)| Bson::Document(doc! { "$gt": lo, "$lt": hi }))
            .boxed(),
        (scalar())
            .prop_map(|v| Bson::Document(doc! { "$not": { "$gt": v } }))
            .boxed(),
        pattern()
            .prop_map(|p| Bson::Document(doc! { "$not": support::re(p, "") }))
            .boxed(),
    ];
    if !g.ferretdb {
        options.push(
            (scalar(), scalar())
                .prop_map(|(lo, hi)| {
                    Bson::Document(doc! { "$elemMatch": { "$gte": lo, "$lt": hi } })
                })
                .boxed(),
        );
        options.push(
            (scalar())
                .prop_map(|v| Bson::Document(doc! { "$elemMatch": { "x": v } }))
                .boxed(),
        );
        options.push(
            (scalar(), scalar())
                .prop_map(|(x, y)| {
                    Bson::Document(doc! { "$elemMatch": { "x": { "$gte": x }, "y": { "$ne": y } } })
                })
                .boxed(),
        );
    }
    prop::strategy::Union::new(options).boxed()
}

/// `{ path: condition }`, minus what FerretDB gets wrong on dotted paths.
fn field_filter(g: Gen) -> BoxedStrategy<Document> {
    (path(), condition(g))
        .prop_filter("FerretDB: $all, negations and null on dotted paths", move |(p, cond)| {
            let dotted = p.contains('.');
            let wrong = ["$all", "$ne", "$nin", "$not"];
            let listed = matches!(cond, Bson::Document(d) if wrong.iter().any(|op| d.contains_key(*op)));
            let several = matches!(cond, Bson::Document(d) if d.keys().filter(|k| *k != "$options").count() > 1);
            !(g.ferretdb && dotted && (listed || several || mentions_null(cond)))
        })
        .prop_map(|(p, cond)| doc! { p: cond })
        .boxed()
}

fn filter(g: Gen) -> BoxedStrategy<Document> {
    let leaf = prop_oneof![
        4 => field_filter(g),
        1 => (field_filter(g), field_filter(g)).prop_map(|(mut a, b)| {
            for (k, v) in b {
                a.entry(k).or_insert(v);
            }
            a
        }),
        1 => Just(doc! {}),
    ];
    leaf.prop_recursive(2, 6, 2, |inner| {
        let list = prop::collection::vec(inner.clone(), 1..3);
        let combined = (prop::sample::select(vec!["$and", "$or", "$nor"]), list).prop_map(
            |(op, items)| doc! { op: items.into_iter().map(Bson::Document).collect::<Vec<_>>() },
        );
        prop_oneof![2 => inner, 1 => combined]
    })
    .boxed()
}

fn sort(g: Gen) -> BoxedStrategy<Document> {
    let fields = if g.ferretdb {
        vec!["a", "b", "c"]
    } else {
        vec!["a", "b", "c", "a.x", "b.y"]
    };
    (
        prop::sample::subsequence(fields, 0..3).prop_shuffle(),
        prop::collection::vec(any::<bool>(), 2),
    )
        .prop_map(|(fields, up)| {
            let mut s = Document::new();
            for (f, ascending) in fields.into_iter().zip(up.into_iter().cycle()) {
                s.insert(f, if ascending { 1 } else { -1 });
            }
            s.insert("_id", 1);
            s
        })
        .boxed()
}

fn projection() -> BoxedStrategy<Option<Document>> {
    let fields = prop::sample::select(vec![
        vec!["a"],
        vec!["a", "c"],
        vec!["b.x"],
        vec!["a.x", "b"],
        vec!["a.y", "c"],
        vec!["c"],
    ]);
    prop::option::weighted(0.4, (fields, any::<bool>(), any::<bool>()))
        .prop_map(|p| {
            p.map(|(fields, include, no_id)| {
                let mut d = Document::new();
                for f in fields {
                    d.insert(f, i32::from(include));
                }
                if no_id {
                    d.insert("_id", 0);
                }
                d
            })
        })
        .boxed()
}

/// An update of one to three operations on paths that do not overlap.
fn update(g: Gen, upsert: bool) -> BoxedStrategy<Document> {
    // FerretDB: no `c.0`, where a `$set` of an array would nest arrays.
    let paths = match g.ferretdb {
        true => vec!["a", "b", "c", "d", "a.x", "b.y"],
        false => vec!["a", "b", "c", "d", "a.x", "b.y", "c.0"],
    };
    (
        prop::sample::subsequence(paths, 1..4).prop_shuffle(),
        prop::collection::vec(operation(g, upsert), 3),
    )
        .prop_map(|(paths, ops)| {
            let mut chosen: Vec<&str> = Vec::new();
            for p in paths {
                if !chosen.iter().any(|c| overlaps(c, p)) {
                    chosen.push(p);
                }
            }
            let mut update = Document::new();
            for (i, (p, (op, operand))) in chosen.into_iter().zip(ops).enumerate() {
                let operand = match (op, operand) {
                    ("$rename", _) => Bson::String(format!("r{i}")),
                    (_, v) => v,
                };
                let entry = update
                    .entry(op.to_owned())
                    .or_insert_with(|| Bson::Document(Document::new()));
                if let Bson::Document(fields) = entry {
                    fields.insert(p, operand);
                }
            }
            update
        })
        .boxed()
}

fn overlaps(a: &str, b: &str) -> bool {
    a == b || a.starts_with(&format!("{b}.")) || b.starts_with(&format!("{a}."))
}

fn number(g: Gen) -> BoxedStrategy<Bson> {
    let small = prop_oneof![
        (-2i32..=2).prop_map(Bson::Int32),
        (-2i64..=2).prop_map(Bson::Int64),
        prop::sample::select(vec![0.5, -1.0, 2.0]).prop_map(Bson::Double),
    ];
    match g.ferretdb {
        true => small.boxed(),
        false => prop_oneof![4 => small, 1 => Just(Bson::Int32(i32::MAX))].boxed(),
    }
}

/// A number's value.
fn value_of(n: &Bson) -> f64 {
    match n {
        Bson::Int32(v) => f64::from(*v),
        Bson::Int64(v) => *v as f64,
        Bson::Double(v) => *v,
        _ => f64::NAN,
    }
}

/// One update operator with its operand.
fn operation(g: Gen, upsert: bool) -> BoxedStrategy<(&'static str, Bson)> {
    // FerretDB: no arrays pushed into arrays.
    let element = move || match g.ferretdb {
        true => prop_oneof![4 => scalar(), 1 => subdocument()].boxed(),
        false => operand(g),
    };
    let each = move || prop::collection::vec(element(), if g.ferretdb { 1..3 } else { 0..3 });
    let mut options = vec![
        value(g).prop_map(|v| ("$set", v)).boxed(),
        Just(("$unset", Bson::String(String::new()))).boxed(),
        number(g)
            .prop_filter("FerretDB: $inc by 0", move |v| {
                !g.ferretdb || value_of(v) != 0.0
            })
            .prop_map(|v| ("$inc", v))
            .boxed(),
        number(g)
            .prop_filter("FerretDB: $mul by 1", move |v| {
                !g.ferretdb || value_of(v) != 1.0
            })
            .prop_map(|v| ("$mul", v))
            .boxed(),
        scalar().prop_map(|v| ("$min", v)).boxed(),
        scalar().prop_map(|v| ("$max", v)).boxed(),
        element().prop_map(|v| ("$push", v)).boxed(),
        each()
            .prop_map(|v| ("$push", Bson::Document(doc! { "$each": v })))
            .boxed(),
        scalar().prop_map(|v| ("$pull", v)).boxed(),
        element().prop_map(|v| ("$addToSet", v)).boxed(),
        each()
            .prop_map(|v| ("$addToSet", Bson::Document(doc! { "$each": v })))
            .boxed(),
        Just(("$rename", Bson::Null)).boxed(),
    ];
    if upsert {
        let dropped = |v: &Bson| *v == Bson::Null || matches!(v, Bson::Array(a) if a.is_empty());
        let inserted = value(g).prop_filter("FerretDB: $setOnInsert of null or []", move |v| {
            !g.ferretdb || !dropped(v)
        });
        options.push(inserted.prop_map(|v| ("$setOnInsert", v)).boxed());
    }
    if !g.ferretdb {
        options.push(
            (each(), -3i32..=3)
                .prop_map(|(v, n)| ("$push", Bson::Document(doc! { "$each": v, "$slice": n })))
                .boxed(),
        );
        options.push(
            scalar()
                .prop_map(|v| ("$pull", Bson::Document(doc! { "$gte": v })))
                .boxed(),
        );
        options.push(
            scalar()
                .prop_map(|v| ("$pull", Bson::Document(doc! { "x": v })))
                .boxed(),
        );
    }
    prop::strategy::Union::new(options).boxed()
}

/// A filter for upserts: equalities (which seed the new document) and some conditions.
fn upsert_filter(g: Gen) -> BoxedStrategy<Document> {
    // FerretDB: no null on a dotted path (see `field_filter`).
    let equality = (
        prop::sample::select(vec!["a", "b", "c", "a.x", "b.y"]),
        scalar(),
    )
        .prop_filter("FerretDB: null on dotted paths", move |(p, v)| {
            !(g.ferretdb && p.contains('.') && *v == Bson::Null)
        });
    let eq_op = any::<bool>();
    let id = prop::option::of(0i32..10);
    let extra = prop::option::weighted(0.3, field_filter(g)).prop_filter(
        "FerretDB: regular expressions and ranges in upserts",
        move |e| {
            let several = |f: &Document| {
                f.values()
                    .any(|v| matches!(v, Bson::Document(d) if d.len() > 1))
            };
            !g.ferretdb || !e.as_ref().is_some_and(|e| mentions_regex(e) || several(e))
        },
    );
    let and = if g.ferretdb {
        Just(false).boxed()
    } else {
        any::<bool>().boxed()
    };
    (
        prop::collection::vec((equality, eq_op), 0..3),
        id,
        extra,
        and,
    )
        .prop_map(|(equalities, id, extra, and)| {
            let mut clauses: Vec<Document> = Vec::new();
            let mut used: Vec<&str> = Vec::new();
            for ((p, v), eq_op) in equalities {
                if used.iter().any(|u| overlaps(u, p)) {
                    continue;
                }
                used.push(p);
                clauses.push(if eq_op {
                    doc! { p: { "$eq": v } }
                } else {
                    doc! { p: v }
                });
            }
            if let Some(id) = id {
                clauses.push(doc! { "_id": id });
            }
            if let Some(extra) =
                extra.filter(|e| e.keys().all(|k| !used.iter().any(|u| overlaps(u, k))))
            {
                clauses.push(extra);
            }
            if and && clauses.len() > 1 {
                let items: Vec<Bson> = clauses.into_iter().map(Bson::Document).collect();
                return doc! { "$and": items };
            }
            let mut filter = Document::new();
            for clause in clauses {
                for (k, v) in clause {
                    filter.entry(k).or_insert(v);
                }
            }
            filter
        })
        .boxed()
}

// --- properties ---------------------------------------------------------------------

#[test]
fn find_count_and_distinct() {
    let strategy = |g: Gen| {
        let skip = prop_oneof![3 => Just(0u64), 1 => 1u64..3];
        let limit = prop_oneof![2 => Just(0i64), 1 => 1i64..4];
        (
            documents(g),
            filter(g),
            sort(g),
            skip,
            limit,
            projection(),
            prop::sample::select(vec!["a", "b", "a.x", "b.y"]),
        )
    };
    check(
        "find_count_and_distinct",
        strategy,
        |pair, (docs, filter, sort, skip, limit, projection, field)| async move {
            pair.seed(&docs).await?;
            let find = |c: Collection<Document>| {
                let (filter, sort, projection) = (filter.clone(), sort.clone(), projection.clone());
                async move {
                    let mut find = c.find(filter).sort(sort).skip(skip).limit(limit);
                    if let Some(p) = projection {
                        find = find.projection(p);
                    }
                    find.await
                }
            };
            let context = format!("find {filter} sort {sort}");
            let all = |c: Collection<Document>| c.find(filter.clone()).sort(sort.clone());
            let (embedded, server) = (
                all(pair.embedded.clone()).await,
                all(pair.server.clone()).await,
            );
            same_outcome(&context, &embedded, &server)?;
            let context = format!(
                "find {filter} sort {sort} skip {skip} limit {limit} projection {projection:?}"
            );
            same_outcome(
                &context,
                &find(pair.embedded.clone()).await,
                &find(pair.server.clone()).await,
            )?;
            let one = |c: Collection<Document>| {
                let (filter, sort, projection) = (filter.clone(), sort.clone(), projection.clone());
                async move {
                    let mut find = c.find(filter).sort(sort).skip(skip);
                    if let Some(p) = projection {
                        find = find.projection(p);
                    }
                    find.one().await
                }
            };
            let context = format!("one {filter} sort {sort} skip {skip} projection {projection:?}");
            same_outcome(
                &context,
                &one(pair.embedded.clone()).await,
                &one(pair.server.clone()).await,
            )?;
            let context = format!("count {filter}");
            same_outcome(
                &context,
                &pair.embedded.count(filter.clone()).await,
                &pair.server.count(filter.clone()).await,
            )?;
            let context = format!("distinct {field} {filter}");
            let distinct = |c: Collection<Document>| {
                let filter = filter.clone();
                async move { c.distinct(field, filter).await.map(loose) }
            };
            same_outcome(
                &context,
                &distinct(pair.embedded.clone()).await,
                &distinct(pair.server.clone()).await,
            )
        },
    );
}

/// Numbers as doubles: `distinct` keeps one of `1` and `1.0`, not always the same one.
fn loose(values: Vec<Bson>) -> Vec<Bson> {
    values
        .into_iter()
        .map(|v| match v {
            Bson::Int32(n) => Bson::Double(f64::from(n)),
            Bson::Int64(n) => Bson::Double(n as f64),
            other => other,
        })
        .collect()
}

#[test]
fn update_many() {
    let strategy = |g: Gen| (documents(g), filter(g), update(g, false));
    check(
        "update_many",
        strategy,
        |pair, (docs, filter, update)| async move {
            pair.seed(&docs).await?;
            let context = format!("update_many {filter} {update}");
            let embedded = pair
                .embedded
                .update_many(filter.clone(), update.clone())
                .await;
            let server = pair
                .server
                .update_many(filter.clone(), update.clone())
                .await;
            same_outcome(&context, &embedded.map(counts), &server.map(counts))?;
            pair.same_contents(&format!("after {context}")).await
        },
    );
}

fn counts(r: UpdateResult) -> (u64, u64) {
    (r.matched, r.modified)
}

#[test]
fn upsert() {
    let strategy = |g: Gen| {
        (documents(g), upsert_filter(g), update(g, true)).prop_filter(
            "FerretDB: operators on a seeded path",
            move |(_, filter, update)| !g.ferretdb || !touches_seeded(filter, update),
        )
    };
    check(
        "upsert",
        strategy,
        |pair, (docs, filter, update)| async move {
            pair.seed(&docs).await?;
            let context = format!("upsert {filter} {update}");
            let embedded = pair.embedded.upsert(filter.clone(), update.clone()).await;
            let server = pair.server.upsert(filter.clone(), update.clone()).await;
            let shape = |r: &UpdateResult| {
                (
                    r.matched,
                    r.modified,
                    r.upserted_id.as_ref().map(generated_or_given),
                )
            };
            same_outcome(
                &context,
                &embedded.as_ref().map(shape).map_err(clone_kind),
                &server.as_ref().map(shape).map_err(clone_kind),
            )?;
            // A generated id differs between the sides: compare the upserted document without it.
            match (embedded, server) {
                (
                    Ok(UpdateResult {
                        upserted_id: Some(a),
                        ..
                    }),
                    Ok(UpdateResult {
                        upserted_id: Some(b),
                        ..
                    }),
                ) if matches!(a, Bson::ObjectId(_)) => {
                    let embedded = pair
                        .embedded
                        .find_by_id(a)
                        .await
                        .map_err(|e| fail("embedded read", e))?;
                    let server = pair
                        .server
                        .find_by_id(b)
                        .await
                        .map_err(|e| fail("server read", e))?;
                    let strip = |d: Option<Document>| {
                        d.map(|mut d| {
                            d.remove("_id");
                            d
                        })
                    };
                    same(
                        &format!("inserted by {context}"),
                        &strip(embedded),
                        &strip(server),
                    )?;
                    Ok(())
                }
                _ => pair.same_contents(&format!("after {context}")).await,
            }
        },
    );
}

/// Whether an operator of `update` other than `$set` and `$unset` writes where an
/// equality of `filter` seeds.
fn touches_seeded(filter: &Document, update: &Document) -> bool {
    let seeded: Vec<&str> = filter
        .keys()
        .filter(|k| !k.starts_with('$'))
        .map(String::as_str)
        .collect();
    update.iter().filter(|(op, _)| !matches!(op.as_str(), "$set" | "$unset")).any(|(_, fields)| {
        matches!(fields, Bson::Document(fields) if fields.keys().any(|p| seeded.iter().any(|s| overlaps(s, p))))
    })
}

/// A generated ObjectId stands for itself only as "generated".
fn generated_or_given(id: &Bson) -> Bson {
    match id {
        Bson::ObjectId(_) => Bson::String("<generated>".into()),
        other => other.clone(),
    }
}

fn clone_kind(e: &flagstone::Error) -> flagstone::Error {
    flagstone::Error::new(e.kind(), "")
}

#[test]
fn find_one_and_modify() {
    let strategy = |g: Gen| {
        (
            documents(g),
            filter(g),
            sort(g),
            update(g, false),
            any::<bool>(),
            any::<bool>(),
        )
    };
    check(
        "find_one_and_modify",
        strategy,
        |pair, (docs, filter, sort, update, after, delete)| async move {
            pair.seed(&docs).await?;
            let returning = if after {
                ReturnDocument::After
            } else {
                ReturnDocument::Before
            };
            let run = |c: Collection<Document>| {
                let (filter, sort, update) = (filter.clone(), sort.clone(), update.clone());
                async move {
                    if delete {
                        c.find_one_and_delete(filter, Some(sort)).await
                    } else {
                        c.find_one_and_update(filter, update)
                            .sort(sort)
                            .returning(returning)
                            .await
                    }
                }
            };
            let context = match delete {
                true => format!("find_one_and_delete {filter} sort {sort}"),
                false => format!("find_one_and_update {filter} {update} sort {sort} {returning:?}"),
            };
            same_outcome(
                &context,
                &run(pair.embedded.clone()).await,
                &run(pair.server.clone()).await,
            )?;
            pair.same_contents(&format!("after {context}")).await
        },
    );
}
