//! Indexes: unique (single, compound, sparse, partial), TTL, text, listing, dropping,
//! syncing, and queries that an index serves.

use std::time::Duration;

use flagstone::{
    ErrorKind,
    bson::DateTime,
    store::{Bson, Collection, Document, Index, Store, doc},
};

use crate::support::{
    Ctx, Feature, Gap, assert_matches, conformance, get, ids, int_ids, raw, seeded,
};

conformance!(
    unique_index_refuses_duplicates,
    duplicate_key_names_the_fields,
    compound_unique_index,
    unique_index_over_duplicates_fails,
    unique_index_on_array_elements,
    unique_missing_field_counts_as_null,
    sparse_unique_index,
    sparse_listed,
    partial_unique_index,
    ttl_index,
    ttl_index_with_partial_filter,
    text_index,
    list_and_drop_indexes,
    index_names,
    create_index_is_idempotent,
    index_name_with_other_options,
    same_keys_under_another_name,
    sync_indexes,
    indexed_queries_match_like_scans,
    indexed_range_on_arrays,
    index_ordered_sorts_match_full_sorts,
);

fn names(indexes: &[Index]) -> Vec<String> {
    indexes.iter().map(Index::resolved_name).collect()
}

async fn unique_index_refuses_duplicates(store: &Store, ctx: &Ctx) {
    let c = raw(store, "users");
    assert_eq!(
        c.create_index(Index::new(doc! { "email": 1 }).unique())
            .await
            .unwrap(),
        "email_1"
    );
    c.insert_one(&doc! { "_id": 1, "email": "a@x.io" })
        .await
        .unwrap();
    c.insert_one(&doc! { "_id": 2, "email": "b@x.io" })
        .await
        .unwrap();
    ctx.fails_with(
        c.insert_one(&doc! { "_id": 3, "email": "a@x.io" }).await,
        ErrorKind::Conflict,
    );
    // By update, by upsert, by replace.
    let r = c
        .update_one(doc! { "_id": 2 }, doc! { "$set": { "email": "a@x.io" } })
        .await;
    ctx.fails_with(r, ErrorKind::Conflict);
    let r = c
        .upsert(doc! { "_id": 4 }, doc! { "$set": { "email": "b@x.io" } })
        .await;
    ctx.fails_with(r, ErrorKind::Conflict);
    let r = c
        .replace_one(doc! { "_id": 2 }, &doc! { "email": "a@x.io" })
        .await;
    ctx.fails_with(r, ErrorKind::Conflict);
    assert_eq!(ids(&c, doc! {}).await, int_ids(&[1, 2]));
    assert_eq!(
        get(&c, 2).await,
        doc! { "_id": 2, "email": "b@x.io" },
        "a refused write changes nothing"
    );
    // Freeing the value lets another document take it.
    c.update_one(doc! { "_id": 1 }, doc! { "$set": { "email": "c@x.io" } })
        .await
        .unwrap();
    c.update_one(doc! { "_id": 2 }, doc! { "$set": { "email": "a@x.io" } })
        .await
        .unwrap();
    c.delete_one(doc! { "_id": 2 }).await.unwrap();
    c.insert_one(&doc! { "_id": 3, "email": "a@x.io" })
        .await
        .unwrap();
    // Numbers of different types are the same key.
    c.create_index(Index::new(doc! { "n": 1 }).unique().sparse())
        .await
        .unwrap();
    c.update_one(doc! { "_id": 1 }, doc! { "$set": { "n": 1 } })
        .await
        .unwrap();
    ctx.fails_with(
        c.update_one(doc! { "_id": 3 }, doc! { "$set": { "n": 1.0 } })
            .await,
        ErrorKind::Conflict,
    );
}

async fn duplicate_key_names_the_fields(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::DuplicateKeyFields) {
        return;
    }
    let c = raw(store, "users");
    c.create_index(Index::new(doc! { "org": 1, "email": 1 }).unique())
        .await
        .unwrap();
    c.insert_one(&doc! { "org": 1, "email": "a@x.io" })
        .await
        .unwrap();
    let e = ctx.fails_with(
        c.insert_one(&doc! { "org": 1, "email": "a@x.io" }).await,
        ErrorKind::Conflict,
    );
    let fields: Vec<&str> = e.field_errors().iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["org", "email"]);
}

async fn compound_unique_index(store: &Store, ctx: &Ctx) {
    let c = raw(store, "members");
    let name = c
        .create_index(Index::new(doc! { "org": 1, "user": -1 }).unique())
        .await
        .unwrap();
    assert_eq!(name, "org_1_user_-1");
    c.insert_one(&doc! { "org": 1, "user": 1 }).await.unwrap();
    c.insert_one(&doc! { "org": 1, "user": 2 }).await.unwrap();
    c.insert_one(&doc! { "org": 2, "user": 1 }).await.unwrap();
    ctx.fails_with(
        c.insert_one(&doc! { "org": 1, "user": 1, "extra": true })
            .await,
        ErrorKind::Conflict,
    );
    ctx.fails_with(
        c.insert_one(&doc! { "user": 2.0, "org": 1i64 }).await,
        ErrorKind::Conflict,
    );
    assert_eq!(c.count(doc! {}).await.unwrap(), 3);
}

async fn unique_index_over_duplicates_fails(store: &Store, ctx: &Ctx) {
    let c = seeded(
        store,
        "dups",
        vec![doc! { "_id": 1, "k": "a" }, doc! { "_id": 2, "k": "a" }],
    )
    .await;
    ctx.fails_with(
        c.create_index(Index::new(doc! { "k": 1 }).unique()).await,
        ErrorKind::Conflict,
    );
    assert!(
        !names(&c.list_indexes().await.unwrap()).contains(&"k_1".to_owned()),
        "the index was not created"
    );
    // Without the duplicate it builds, and then enforces.
    c.delete_one(doc! { "_id": 2 }).await.unwrap();
    c.create_index(Index::new(doc! { "k": 1 }).unique())
        .await
        .unwrap();
    ctx.fails_with(c.insert_one(&doc! { "k": "a" }).await, ErrorKind::Conflict);
}

async fn unique_index_on_array_elements(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::UniqueArrayElements) {
        return;
    }
    let c = raw(store, "tags");
    c.create_index(Index::new(doc! { "tags": 1 }).unique())
        .await
        .unwrap();
    // One document may repeat a value in its own array.
    c.insert_one(&doc! { "_id": 1, "tags": ["a", "b", "a"] })
        .await
        .unwrap();
    ctx.fails_with(
        c.insert_one(&doc! { "_id": 2, "tags": ["c", "b"] }).await,
        ErrorKind::Conflict,
    );
    ctx.fails_with(
        c.insert_one(&doc! { "_id": 3, "tags": "a" }).await,
        ErrorKind::Conflict,
    );
    c.insert_one(&doc! { "_id": 4, "tags": ["c"] })
        .await
        .unwrap();
    assert_eq!(ids(&c, doc! {}).await, int_ids(&[1, 4]));
}

async fn unique_missing_field_counts_as_null(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::UniqueMissingIsNull) {
        return;
    }
    let c = raw(store, "users");
    c.create_index(Index::new(doc! { "email": 1 }).unique())
        .await
        .unwrap();
    c.insert_one(&doc! { "_id": 1 }).await.unwrap();
    ctx.fails_with(c.insert_one(&doc! { "_id": 2 }).await, ErrorKind::Conflict);
    ctx.fails_with(
        c.insert_one(&doc! { "_id": 3, "email": null }).await,
        ErrorKind::Conflict,
    );
    // An empty array is not null.
    c.insert_one(&doc! { "_id": 4, "email": [] }).await.unwrap();
}

async fn sparse_unique_index(store: &Store, ctx: &Ctx) {
    let c = raw(store, "users");
    c.create_index(Index::new(doc! { "handle": 1 }).unique().sparse())
        .await
        .unwrap();
    c.insert_many(&[
        doc! { "_id": 1 },
        doc! { "_id": 2 },
        doc! { "_id": 3, "handle": "h" },
    ])
    .await
    .unwrap();
    ctx.fails_with(
        c.insert_one(&doc! { "_id": 4, "handle": "h" }).await,
        ErrorKind::Conflict,
    );
    // Queries still see documents the index leaves out.
    assert_matches(&c, doc! { "handle": null }, &[1, 2]).await;
    assert_matches(&c, doc! { "handle": "h" }, &[3]).await;
}

async fn sparse_listed(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::SparseListed) {
        return;
    }
    let c = raw(store, "users");
    c.create_index(Index::new(doc! { "handle": 1 }).sparse())
        .await
        .unwrap();
    let listed = c.list_indexes().await.unwrap();
    let index = listed
        .iter()
        .find(|i| i.resolved_name() == "handle_1")
        .expect("listed");
    assert!(index.sparse && !index.unique);
}

async fn partial_unique_index(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::PartialIndex) {
        return;
    }
    let c = raw(store, "users");
    let index = Index::new(doc! { "email": 1 })
        .unique()
        .partial(doc! { "active": true });
    c.create_index(index).await.unwrap();
    c.insert_many(&[
        doc! { "_id": 1, "email": "a", "active": true },
        doc! { "_id": 2, "email": "a", "active": false },
        doc! { "_id": 3, "email": "a" },
    ])
    .await
    .unwrap();
    ctx.fails_with(
        c.insert_one(&doc! { "_id": 4, "email": "a", "active": true })
            .await,
        ErrorKind::Conflict,
    );
    ctx.fails_with(
        c.update_one(doc! { "_id": 2 }, doc! { "$set": { "active": true } })
            .await,
        ErrorKind::Conflict,
    );
    let listed = c.list_indexes().await.unwrap();
    let index = listed
        .iter()
        .find(|i| i.resolved_name() == "email_1")
        .expect("listed");
    assert_eq!(index.partial, Some(doc! { "active": true }));
    assert_matches(&c, doc! { "email": "a" }, &[1, 2, 3]).await;
}

async fn ttl_index(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::TtlIndex) {
        return;
    }
    let c = raw(store, "sessions");
    c.create_index(Index::new(doc! { "at": 1 }).expire_after(Duration::from_secs(3600)))
        .await
        .unwrap();
    let listed = c.list_indexes().await.unwrap();
    let index = listed
        .iter()
        .find(|i| i.resolved_name() == "at_1")
        .expect("listed");
    assert_eq!(index.expire_after, Some(Duration::from_secs(3600)));
    let now = DateTime::now().timestamp_millis();
    c.insert_many(&[
        doc! { "_id": 1, "at": DateTime::from_millis(now - 7_200_000) },
        doc! { "_id": 2, "at": DateTime::from_millis(now) },
        doc! { "_id": 3, "at": "not a date" },
        doc! { "_id": 4 },
        doc! { "_id": 5, "at": [DateTime::from_millis(now), DateTime::from_millis(now - 7_200_000)] },
    ])
    .await
    .unwrap();
    if ctx.is_embedded() {
        // The earliest date of an array counts; values that are not dates never expire.
        assert_eq!(store.purge_expired().await.unwrap(), 2);
        assert_eq!(ids(&c, doc! {}).await, int_ids(&[2, 3, 4]));
        assert_eq!(store.purge_expired().await.unwrap(), 0);
    } else {
        ctx.skip_part("the server expires documents on its own schedule: purge_expired is the embedded store's");
        assert_eq!(store.purge_expired().await.unwrap(), 0);
    }
}

async fn ttl_index_with_partial_filter(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::TtlIndex) || !ctx.requires(Feature::PartialIndex) {
        return;
    }
    let c = raw(store, "sessions");
    let index = Index::new(doc! { "at": 1 })
        .expire_after(Duration::ZERO)
        .partial(doc! { "kind": "guest" });
    c.create_index(index).await.unwrap();
    let past = DateTime::from_millis(DateTime::now().timestamp_millis() - 1000);
    c.insert_many(&[
        doc! { "_id": 1, "at": past, "kind": "guest" },
        doc! { "_id": 2, "at": past, "kind": "member" },
    ])
    .await
    .unwrap();
    if ctx.is_embedded() {
        // Only the documents the index holds expire.
        assert_eq!(store.purge_expired().await.unwrap(), 1);
        assert_eq!(ids(&c, doc! {}).await, int_ids(&[2]));
    } else {
        ctx.skip_part("the server expires documents on its own schedule: purge_expired is the embedded store's");
    }
}

async fn text_index(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::TextIndex) {
        return;
    }
    let c = seeded(
        store,
        "posts",
        vec![
            doc! { "_id": 1, "body": "hello world" },
            doc! { "_id": 2, "body": "bye" },
        ],
    )
    .await;
    assert_eq!(
        c.create_index(Index::new(doc! { "body": "text" }))
            .await
            .unwrap(),
        "body_text"
    );
    assert!(names(&c.list_indexes().await.unwrap()).contains(&"body_text".to_owned()));
    let search = c.find(doc! { "$text": { "$search": "hello" } }).await;
    if ctx.is_embedded() {
        // Recorded, so that the same index list works on both backends; not searchable.
        let e = ctx.fails_with(search, ErrorKind::Unsupported);
        assert!(e.detail().unwrap_or_default().contains("$text"), "{e}");
    } else {
        assert_eq!(search.unwrap().len(), 1);
    }
}

async fn list_and_drop_indexes(store: &Store, ctx: &Ctx) {
    let c = seeded(store, "things", vec![doc! { "_id": 1, "a": 1, "b": 1 }]).await;
    assert_eq!(names(&c.list_indexes().await.unwrap()), ["_id_"]);
    c.create_index(Index::new(doc! { "a": 1 })).await.unwrap();
    c.create_index(Index::new(doc! { "b": -1 }).unique())
        .await
        .unwrap();
    let listed = c.list_indexes().await.unwrap();
    assert_eq!(names(&listed)[0], "_id_", "_id_ first");
    let mut rest = names(&listed)[1..].to_vec();
    rest.sort();
    assert_eq!(rest, ["a_1", "b_-1"]);
    let b = listed.iter().find(|i| i.resolved_name() == "b_-1").unwrap();
    assert!(b.unique);
    assert_eq!(
        b.keys.get("b").and_then(flagstone::store::Bson::as_i32),
        Some(-1)
    );
    c.drop_index("a_1").await.unwrap();
    assert_eq!(names(&c.list_indexes().await.unwrap()), ["_id_", "b_-1"]);
    ctx.fails_with(c.drop_index("a_1").await, ErrorKind::NotFound);
    ctx.fails_with(c.drop_index("_id_").await, ErrorKind::BadRequest);
    ctx.fails_with(
        raw(store, "never_written").drop_index("x_1").await,
        ErrorKind::NotFound,
    );
    // The dropped unique index no longer refuses anything once dropped.
    ctx.fails_with(c.insert_one(&doc! { "b": 1 }).await, ErrorKind::Conflict);
    c.drop_index("b_-1").await.unwrap();
    c.insert_one(&doc! { "b": 1 }).await.unwrap();
    // Dropping the collection drops its indexes.
    c.drop().await.unwrap();
    assert_eq!(names(&c.list_indexes().await.unwrap()), ["_id_"]);
    assert!(
        !store
            .list_collections()
            .await
            .unwrap()
            .contains(&"things".to_owned())
    );
}

async fn index_names(store: &Store, _: &Ctx) {
    let c = raw(store, "things");
    assert_eq!(
        c.create_index(Index::new(doc! { "a": 1, "b.c": -1 }))
            .await
            .unwrap(),
        "a_1_b.c_-1"
    );
    assert_eq!(
        c.create_index(Index::new(doc! { "d": 1 }).name("by_d"))
            .await
            .unwrap(),
        "by_d"
    );
    let listed = names(&c.list_indexes().await.unwrap());
    assert!(
        listed.contains(&"a_1_b.c_-1".to_owned()) && listed.contains(&"by_d".to_owned()),
        "{listed:?}"
    );
}

async fn create_index_is_idempotent(store: &Store, _: &Ctx) {
    let c = raw(store, "things");
    for _ in 0..2 {
        assert_eq!(
            c.create_index(Index::new(doc! { "a": 1 }).unique())
                .await
                .unwrap(),
            "a_1"
        );
    }
    assert_eq!(names(&c.list_indexes().await.unwrap()), ["_id_", "a_1"]);
}

async fn index_name_with_other_options(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::IndexOptionsConflict) {
        return;
    }
    let c = raw(store, "things");
    c.create_index(Index::new(doc! { "a": 1 })).await.unwrap();
    let r = c.create_index(Index::new(doc! { "a": 1 }).unique()).await;
    ctx.fails_with_gap(r, ErrorKind::Conflict, Gap::IndexConflictCode);
    let r = c
        .create_index(Index::new(doc! { "b": 1 }).name("a_1"))
        .await;
    ctx.fails_with_gap(r, ErrorKind::Conflict, Gap::IndexConflictCode);
}

async fn same_keys_under_another_name(store: &Store, ctx: &Ctx) {
    let c = raw(store, "things");
    c.create_index(Index::new(doc! { "a": 1 })).await.unwrap();
    let r = c
        .create_index(Index::new(doc! { "a": 1 }).name("another"))
        .await;
    ctx.fails_with_gap(r, ErrorKind::Conflict, Gap::IndexConflictCode);
    assert_eq!(names(&c.list_indexes().await.unwrap()), ["_id_", "a_1"]);
    // The other direction is another index.
    c.create_index(Index::new(doc! { "a": -1 })).await.unwrap();
}

async fn sync_indexes(store: &Store, ctx: &Ctx) {
    let c = seeded(
        store,
        "things",
        vec![
            doc! { "_id": 1, "a": 1, "b": 1 },
            doc! { "_id": 2, "a": 2, "b": 1 },
        ],
    )
    .await;
    let wanted = || {
        [
            Index::new(doc! { "a": 1 }).unique(),
            Index::new(doc! { "b": 1 }),
            Index::new(doc! { "c": -1 }),
        ]
    };
    c.sync_indexes(wanted()).await.unwrap();
    c.sync_indexes(wanted()).await.unwrap();
    let listed = c.list_indexes().await.unwrap();
    assert_eq!(names(&listed), ["_id_", "a_1", "b_1", "c_-1"]);
    ctx.fails_with(c.insert_one(&doc! { "a": 1 }).await, ErrorKind::Conflict);
    // A changed definition is rebuilt; indexes not listed stay.
    c.sync_indexes([Index::new(doc! { "a": 1 })]).await.unwrap();
    let listed = c.list_indexes().await.unwrap();
    let a = listed.iter().find(|i| i.resolved_name() == "a_1").unwrap();
    assert!(!a.unique, "a_1 was rebuilt without unique");
    assert_eq!(listed.len(), 4);
    c.insert_one(&doc! { "a": 1 }).await.unwrap();
    // A definition that cannot build (duplicates) fails and says so.
    let r = c.sync_indexes([Index::new(doc! { "b": 1 }).unique()]).await;
    ctx.fails_with(r, ErrorKind::Conflict);
}

async fn indexed_queries_match_like_scans(store: &Store, _: &Ctx) {
    let docs: Vec<Document> = (0..60)
        .map(|i| {
            let v: Bson = match i % 6 {
                0 => Bson::Int32(i),
                1 => Bson::Double(f64::from(i) + 0.5),
                2 => Bson::String(format!("s{}", i % 10)),
                3 => Bson::Array(vec![Bson::Int32(i), Bson::Int32(i % 7)]),
                4 => Bson::Null,
                _ => Bson::Int64(i64::from(i % 10)),
            };
            if i % 11 == 0 {
                doc! { "_id": i }
            } else {
                doc! { "_id": i, "v": v, "w": i % 3 }
            }
        })
        .collect();
    let plain = seeded(store, "plain", docs.clone()).await;
    let indexed = raw(store, "indexed");
    indexed
        .create_index(Index::new(doc! { "v": 1 }))
        .await
        .unwrap();
    indexed
        .create_index(Index::new(doc! { "w": 1, "v": -1 }))
        .await
        .unwrap();
    indexed.insert_many(&docs).await.unwrap();
    let filters = [
        doc! { "v": 5 },
        doc! { "v": 5.0 },
        doc! { "v": { "$gt": 10, "$lte": 40 } },
        doc! { "v": { "$lt": 3 } },
        doc! { "v": { "$gte": "s3" } },
        doc! { "v": { "$in": [1, 2, "s4", 33] } },
        doc! { "v": null },
        doc! { "v": { "$ne": 3 } },
        doc! { "v": { "$exists": false } },
        doc! { "w": 1, "v": { "$gt": 20 } },
        doc! { "w": { "$in": [0, 2] } },
        doc! { "_id": { "$in": [3, 5, 99] }, "v": { "$gte": 0 } },
        doc! { "v": { "$gt": 4, "$lt": 3 } },
    ];
    for filter in filters {
        assert_eq!(
            ids(&indexed, filter.clone()).await,
            ids(&plain, filter.clone()).await,
            "{filter}"
        );
    }
}

async fn indexed_range_on_arrays(store: &Store, _: &Ctx) {
    let c = raw(store, "arrays");
    c.create_index(Index::new(doc! { "a": 1 })).await.unwrap();
    c.insert_many(&[
        doc! { "_id": 1, "a": [1, 6] },
        doc! { "_id": 2, "a": 4 },
        doc! { "_id": 3, "a": [7] },
    ])
    .await
    .unwrap();
    // Different elements may meet the two bounds: an index must not intersect them.
    assert_matches(&c, doc! { "a": { "$gt": 5, "$lt": 2 } }, &[1]).await;
    assert_matches(&c, doc! { "a": { "$gte": 4, "$lte": 4 } }, &[1, 2]).await;
    assert_matches(&c, doc! { "a": { "$gt": 6 } }, &[3]).await;
}

/// Sorts an index can serve in order (walked, stopping at the page) answer exactly what a
/// full sort of an unindexed copy does: every direction, skip and limit, with and without
/// a filter the index does not narrow, over duplicates, nulls, missing fields and mixed
/// types; a multikey index is not walked.
async fn index_ordered_sorts_match_full_sorts(store: &Store, _: &Ctx) {
    let docs: Vec<Document> = (0..50)
        .map(|i| {
            let t: Bson = match i % 5 {
                0 => Bson::Int32(i % 7),
                1 => Bson::Double(f64::from(i % 4) + 0.5),
                2 => Bson::String(format!("s{}", i % 3)),
                3 => Bson::Null,
                _ => Bson::Int64(i64::from(i % 6)),
            };
            let mut doc = doc! { "_id": i, "u": 100 - i, "w": i % 4, "tags": [i % 3, i % 5] };
            if i % 9 != 0 {
                doc.insert("t", t);
            }
            doc
        })
        .collect();
    let plain = seeded(store, "plain", docs.clone()).await;
    let indexed = raw(store, "indexed");
    for keys in [
        doc! { "t": -1, "_id": -1 },
        doc! { "u": 1 },
        doc! { "w": 1, "u": 1 },
        doc! { "tags": 1, "_id": 1 },
    ] {
        indexed.create_index(Index::new(keys)).await.unwrap();
    }
    indexed.insert_many(&docs).await.unwrap();
    let sorts = [
        doc! { "t": -1, "_id": -1 },
        doc! { "t": 1, "_id": 1 },
        doc! { "u": 1 },
        doc! { "u": -1 },
        doc! { "w": 1, "u": 1 },
        doc! { "w": -1, "u": -1 },
        doc! { "_id": -1 },
        doc! { "tags": 1, "_id": 1 },
    ];
    let filters = [
        doc! {},
        doc! { "u": { "$gt": 70 } },
        doc! { "_id": { "$lt": 20 } },
    ];
    let page = |c: &Collection<Document>, filter: &Document, sort: &Document, skip, limit| {
        let find = c
            .find(filter.clone())
            .sort(sort.clone())
            .skip(skip)
            .limit(limit);
        async move {
            let found = find.await.unwrap();
            found
                .iter()
                .map(|d| d.get("_id").cloned().unwrap_or(Bson::Null))
                .collect::<Vec<_>>()
        }
    };
    for sort in &sorts {
        for filter in &filters {
            for (skip, limit) in [(0, 0), (0, 5), (3, 7), (45, 10)] {
                assert_eq!(
                    page(&indexed, filter, sort, skip, limit).await,
                    page(&plain, filter, sort, skip, limit).await,
                    "sort {sort}, filter {filter}, skip {skip}, limit {limit}"
                );
            }
        }
    }
}
