//! Reading: sort (mixed types, arrays, dotted paths), skip and limit, streams,
//! projections, count, exists, distinct, typed results.

use flagstone::{
    ErrorKind,
    bson::{Binary, DateTime, spec::BinarySubtype},
    store::{Bson, Document, ObjectId, Store, doc},
};
use futures_util::TryStreamExt;
use serde::Deserialize;

use crate::support::{Ctx, Feature, conformance, get, int_ids, raw, seeded, sorted_ids};

conformance!(
    sort_by_several_keys,
    sort_across_types,
    sort_arrays_by_their_elements,
    sort_nested_arrays,
    sort_dotted_paths,
    sort_through_arrays,
    skip_and_limit,
    count_and_exists,
    stream,
    projection,
    projection_collision,
    distinct_unwinds_arrays,
    documents_that_do_not_fit_the_type,
);

/// Ten documents `_id: i, n: i, even: i % 2 == 0`.
async fn ten(store: &Store) -> flagstone::store::Collection<Document> {
    let docs = (0..10)
        .map(|i| doc! { "_id": i, "n": i, "even": i % 2 == 0 })
        .collect();
    seeded(store, "ten", docs).await
}

async fn sort_by_several_keys(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "s",
        vec![
            doc! { "_id": 1, "a": 1, "b": "x" },
            doc! { "_id": 2, "a": 2, "b": "y" },
            doc! { "_id": 3, "a": 1, "b": "z" },
            doc! { "_id": 4, "a": 2, "b": "a" },
            doc! { "_id": 5, "a": 1, "b": "x" },
        ],
    )
    .await;
    assert_eq!(
        sorted_ids(&c, doc! { "a": 1, "b": -1, "_id": 1 }).await,
        int_ids(&[3, 1, 5, 2, 4])
    );
    assert_eq!(
        sorted_ids(&c, doc! { "a": -1, "b": 1, "_id": -1 }).await,
        int_ids(&[4, 2, 5, 1, 3])
    );
    assert_eq!(
        sorted_ids(&c, doc! { "b": 1, "_id": -1 }).await,
        int_ids(&[4, 5, 1, 2, 3])
    );
}

async fn sort_across_types(store: &Store, _: &Ctx) {
    let binary = Binary {
        subtype: BinarySubtype::Generic,
        bytes: vec![1, 2],
    };
    let c = seeded(
        store,
        "s",
        vec![
            doc! { "_id": 1 },
            doc! { "_id": 2, "v": null },
            doc! { "_id": 3, "v": 1 },
            doc! { "_id": 4, "v": 2.5 },
            doc! { "_id": 5, "v": "a" },
            doc! { "_id": 6, "v": "b" },
            doc! { "_id": 7, "v": { "x": 1 } },
            doc! { "_id": 8, "v": binary },
            doc! { "_id": 9, "v": ObjectId::from_bytes([7; 12]) },
            doc! { "_id": 10, "v": false },
            doc! { "_id": 11, "v": true },
            doc! { "_id": 12, "v": DateTime::from_millis(0) },
            doc! { "_id": 13, "v": [] },
            doc! { "_id": 14, "v": 2i64 },
        ],
    )
    .await;
    // An empty array sorts before null and missing, which sort alike.
    let ascending = [13, 1, 2, 3, 14, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    assert_eq!(
        sorted_ids(&c, doc! { "v": 1, "_id": 1 }).await,
        int_ids(&ascending)
    );
    let descending = [12, 11, 10, 9, 8, 7, 6, 5, 4, 14, 3, 1, 2, 13];
    assert_eq!(
        sorted_ids(&c, doc! { "v": -1, "_id": 1 }).await,
        int_ids(&descending)
    );
}

async fn sort_arrays_by_their_elements(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "s",
        vec![
            doc! { "_id": 1, "a": [5, 1] },
            doc! { "_id": 2, "a": 2 },
            doc! { "_id": 3, "a": [3, "x"] },
            doc! { "_id": 4, "a": [] },
            doc! { "_id": 5, "a": null },
            doc! { "_id": 6, "a": [4] },
        ],
    )
    .await;
    // Ascending by the smallest element, descending by the largest.
    assert_eq!(
        sorted_ids(&c, doc! { "a": 1 }).await,
        int_ids(&[4, 5, 1, 2, 3, 6])
    );
    assert_eq!(
        sorted_ids(&c, doc! { "a": -1 }).await,
        int_ids(&[3, 1, 6, 2, 5, 4])
    );
}

async fn sort_nested_arrays(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::NestedArrays) {
        return;
    }
    let c = seeded(
        store,
        "s",
        vec![
            doc! { "_id": 1, "a": [[0]] },
            doc! { "_id": 2, "a": { "x": 1 } },
            doc! { "_id": 3, "a": "s" },
            doc! { "_id": 4, "a": ObjectId::from_bytes([1; 12]) },
        ],
    )
    .await;
    // The element [0] is an array: after subdocuments, before ObjectIds.
    assert_eq!(
        sorted_ids(&c, doc! { "a": 1 }).await,
        int_ids(&[3, 2, 1, 4])
    );
}

async fn sort_dotted_paths(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "s",
        vec![
            doc! { "_id": 1, "s": { "k": 2 } },
            doc! { "_id": 2, "s": { "k": 1 } },
            doc! { "_id": 3, "s": { "k": "a" } },
            doc! { "_id": 4, "s": {} },
            doc! { "_id": 5 },
        ],
    )
    .await;
    assert_eq!(
        sorted_ids(&c, doc! { "s.k": 1, "_id": 1 }).await,
        int_ids(&[4, 5, 2, 1, 3])
    );
    assert_eq!(
        sorted_ids(&c, doc! { "s.k": -1, "_id": 1 }).await,
        int_ids(&[3, 1, 2, 4, 5])
    );
}

async fn sort_through_arrays(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::SortThroughArrays) {
        return;
    }
    let c = seeded(
        store,
        "s",
        vec![
            doc! { "_id": 1, "items": [{ "q": 3 }, { "q": 1 }] },
            doc! { "_id": 2, "items": [{ "q": 2 }] },
            doc! { "_id": 3, "items": [{ "q": 0 }, { "q": 2.5 }] },
        ],
    )
    .await;
    assert_eq!(
        sorted_ids(&c, doc! { "items.q": 1 }).await,
        int_ids(&[3, 1, 2])
    );
    assert_eq!(
        sorted_ids(&c, doc! { "items.q": -1 }).await,
        int_ids(&[1, 3, 2])
    );
}

async fn skip_and_limit(store: &Store, _: &Ctx) {
    let c = ten(store).await;
    let page = |skip: u64, limit: i64| {
        let c = c.clone();
        async move {
            let found = c
                .find(doc! {})
                .sort(doc! { "n": 1 })
                .skip(skip)
                .limit(limit)
                .await
                .unwrap();
            found
                .iter()
                .map(|d| d.get_i32("n").unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(page(3, 4).await, [3, 4, 5, 6]);
    assert_eq!(page(8, 5).await, [8, 9]);
    assert_eq!(page(20, 5).await, Vec::<i32>::new());
    assert_eq!(
        page(0, 0).await,
        (0..10).collect::<Vec<_>>(),
        "limit 0 means no limit"
    );
    assert_eq!(
        page(0, -3).await,
        [0, 1, 2],
        "a negative limit counts as positive"
    );
    let found = c
        .find(doc! { "even": true })
        .sort(doc! { "n": -1 })
        .skip(1)
        .limit(2)
        .await
        .unwrap();
    assert_eq!(
        found
            .iter()
            .map(|d| d.get_i32("n").unwrap())
            .collect::<Vec<_>>(),
        [6, 4]
    );
    assert_eq!(c.find(doc! {}).limit(3).await.unwrap().len(), 3);
    assert_eq!(c.find(doc! {}).skip(7).await.unwrap().len(), 3);
}

async fn count_and_exists(store: &Store, _: &Ctx) {
    let c = ten(store).await;
    assert_eq!(c.count(doc! {}).await.unwrap(), 10);
    assert_eq!(c.count(doc! { "n": { "$gte": 5 } }).await.unwrap(), 5);
    assert_eq!(
        c.count(doc! { "even": true, "n": { "$lt": 5 } })
            .await
            .unwrap(),
        3
    );
    assert_eq!(c.count(doc! { "n": 99 }).await.unwrap(), 0);
    assert!(c.exists(doc! { "n": 3 }).await.unwrap());
    assert!(!c.exists(doc! { "n": 99 }).await.unwrap());
    assert_eq!(
        c.find_one(doc! { "n": { "$gt": 7 } })
            .await
            .unwrap()
            .map(|d| d.get_i32("n").unwrap() > 7),
        Some(true)
    );
}

async fn stream(store: &Store, _: &Ctx) {
    let c = ten(store).await;
    let s = c
        .find(doc! {})
        .sort(doc! { "n": -1 })
        .limit(5)
        .stream()
        .await
        .unwrap();
    let docs: Vec<Document> = s.try_collect().await.unwrap();
    assert_eq!(
        docs.iter()
            .map(|d| d.get_i32("n").unwrap())
            .collect::<Vec<_>>(),
        [9, 8, 7, 6, 5]
    );
    let s = c.find(doc! { "n": 99 }).stream().await.unwrap();
    assert!(s.try_collect::<Vec<Document>>().await.unwrap().is_empty());
    let s = c
        .find(doc! { "even": true })
        .sort(doc! { "n": 1 })
        .projection(doc! { "_id": 0, "n": 1 })
        .stream();
    let docs: Vec<Document> = s.await.unwrap().try_collect().await.unwrap();
    assert_eq!(docs, [0, 2, 4, 6, 8].map(|n| doc! { "n": n }));
}

async fn projection(store: &Store, ctx: &Ctx) {
    let full = doc! {
        "_id": 1, "a": 1, "b": { "c": 1, "d": 2 }, "e": [{ "f": 1, "g": 2 }, { "f": 3 }, 5], "h": "x",
    };
    let c = seeded(store, "p", vec![full.clone()]).await;
    let project = |p: Document| {
        let c = c.clone();
        async move {
            c.find(doc! {})
                .projection(p.clone())
                .await
                .unwrap_or_else(|e| panic!("{p}: {e}"))
                .remove(0)
        }
    };
    assert_eq!(project(doc! { "a": 1 }).await, doc! { "_id": 1, "a": 1 });
    assert_eq!(project(doc! { "a": true }).await, doc! { "_id": 1, "a": 1 });
    assert_eq!(
        project(doc! { "h": 1, "a": 1 }).await,
        doc! { "_id": 1, "a": 1, "h": "x" },
        "document order"
    );
    assert_eq!(project(doc! { "a": 1, "_id": 0 }).await, doc! { "a": 1 });
    assert_eq!(project(doc! { "_id": 1 }).await, doc! { "_id": 1 });
    let mut no_id = full.clone();
    no_id.remove("_id");
    assert_eq!(project(doc! { "_id": 0 }).await, no_id);
    assert_eq!(project(doc! {}).await, full);
    assert_eq!(
        project(doc! { "a": 0, "b.c": 0 }).await,
        doc! { "_id": 1, "b": { "d": 2 }, "e": [{ "f": 1, "g": 2 }, { "f": 3 }, 5], "h": "x" }
    );
    assert_eq!(
        project(doc! { "b.c": 1, "h": 1 }).await,
        doc! { "_id": 1, "b": { "c": 1 }, "h": "x" }
    );
    assert_eq!(
        project(doc! { "e.f": 1 }).await,
        doc! { "_id": 1, "e": [{ "f": 1 }, { "f": 3 }] }
    );
    assert_eq!(
        project(doc! { "e.f": 0 }).await,
        doc! { "_id": 1, "a": 1, "b": { "c": 1, "d": 2 }, "e": [{ "g": 2 }, {}, 5], "h": "x" }
    );
    assert_eq!(project(doc! { "missing": 1 }).await, doc! { "_id": 1 });
    assert_eq!(
        project(doc! { "a.z": 1 }).await,
        doc! { "_id": 1 },
        "a path through a scalar finds nothing"
    );
    let r = c.find(doc! {}).projection(doc! { "a": 1, "b": 0 }).await;
    ctx.fails_with(r, ErrorKind::BadRequest);
    let one = c.find_one(doc! { "h": "x" }).await.unwrap();
    assert_eq!(one, Some(full));
}

async fn projection_collision(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::ProjectionCollision) {
        return;
    }
    let c = seeded(store, "p", vec![doc! { "_id": 1, "a": { "b": 1 } }]).await;
    for bad in [doc! { "a": 1, "a.b": 1 }, doc! { "a.b": 0, "a": 0 }] {
        let r = c.find(doc! {}).projection(bad).await;
        ctx.fails_with(r, ErrorKind::BadRequest);
    }
}

/// Numbers as doubles, so that `1` and `1.0` compare equal.
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

async fn distinct_unwinds_arrays(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "d",
        vec![
            doc! { "_id": 1, "v": 1, "s": { "t": "a" } },
            doc! { "_id": 2, "v": [2, 3, 1], "s": [{ "t": "b" }, { "t": "a" }] },
            doc! { "_id": 3, "v": "x", "s": { "t": ["c"] } },
            doc! { "_id": 4, "v": null },
            doc! { "_id": 5 },
            doc! { "_id": 6, "v": { "k": 1 } },
            doc! { "_id": 7, "v": 1.0 },
            doc! { "_id": 8, "v": [] },
        ],
    )
    .await;
    let all = c.distinct("v", doc! {}).await.unwrap();
    let want = vec![
        Bson::Null,
        1.0.into(),
        2.0.into(),
        3.0.into(),
        "x".into(),
        doc! { "k": 1 }.into(),
    ];
    assert_eq!(
        loose(all),
        want,
        "distinct values in BSON order, arrays unwound, 1 == 1.0"
    );
    let some = c.distinct("v", doc! { "_id": { "$lt": 3 } }).await.unwrap();
    assert_eq!(loose(some), vec![Bson::Double(1.0), 2.0.into(), 3.0.into()]);
    let dotted = c.distinct("s.t", doc! {}).await.unwrap();
    assert_eq!(dotted, vec![Bson::from("a"), "b".into(), "c".into()]);
    assert!(c.distinct("nothing", doc! {}).await.unwrap().is_empty());
}

async fn documents_that_do_not_fit_the_type(store: &Store, ctx: &Ctx) {
    #[derive(Debug, Deserialize, serde::Serialize)]
    struct Named {
        name: String,
    }
    raw(store, "typed")
        .insert_many(&[
            doc! { "_id": 1, "name": "ok" },
            doc! { "_id": 2, "name": 5 },
        ])
        .await
        .unwrap();
    let typed = store.collection::<Named>("typed");
    let ok = typed.find_by_id(1).await.unwrap().unwrap();
    assert_eq!(ok.name, "ok");
    ctx.fails_with(typed.find_by_id(2).await, ErrorKind::Internal);
    ctx.fails_with(
        typed.find(doc! {}).sort(doc! { "_id": 1 }).await,
        ErrorKind::Internal,
    );
    assert_eq!(
        get(&raw(store, "typed"), 2).await.get_i32("name").unwrap(),
        5
    );
}
