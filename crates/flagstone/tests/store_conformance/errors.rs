//! Errors: invalid shapes are 400, operators outside the embedded subset are 501 naming
//! the operator, an unreachable server is 503.

use std::time::Duration;

use flagstone::{
    ErrorKind,
    config::DatabaseConfig,
    store::{Document, Index, Store, doc},
};

use crate::support::{Ctx, Feature, Gap, conformance, raw, seeded};

conformance!(
    invalid_filters,
    invalid_field_operators,
    invalid_updates,
    malformed_updates_fail_without_a_match,
    updates_without_operators,
    invalid_replacements,
    invalid_sort,
    invalid_regex,
);

conformance!(embedded: operators_outside_the_subset, writes_that_change_nothing_create_nothing);

async fn collection(store: &Store) -> flagstone::store::Collection<Document> {
    seeded(store, "e", vec![doc! { "_id": 1, "a": 1, "t": [1] }]).await
}

async fn invalid_filters(store: &Store, ctx: &Ctx) {
    let c = collection(store).await;
    for bad in [
        doc! { "$and": { "a": 1 } },
        doc! { "$and": [] },
        doc! { "$or": [1] },
        doc! { "$nor": "x" },
        doc! { "a": { "$in": 5 } },
        doc! { "a": { "$nin": "x" } },
        doc! { "a": { "$size": -1 } },
        doc! { "a": { "$size": "2" } },
        doc! { "a": { "$all": 1 } },
        doc! { "a": { "$elemMatch": 5 } },
        doc! { "a": { "$regex": 5 } },
        doc! { "a": { "$not": 5 } },
    ] {
        let r = c.find(bad.clone()).await;
        let e = ctx.refuses(&bad, r, ErrorKind::BadRequest);
        assert!(e.detail().is_some(), "{bad}: a 400 says why");
        ctx.refuses(&bad, c.count(bad.clone()).await, ErrorKind::BadRequest);
        ctx.refuses(
            &bad,
            c.update_many(bad.clone(), doc! { "$set": { "x": 1 } })
                .await,
            ErrorKind::BadRequest,
        );
        ctx.refuses(
            &bad,
            c.delete_many(bad.clone()).await,
            ErrorKind::BadRequest,
        );
    }
    assert_eq!(c.count(doc! {}).await.unwrap(), 1);
}

async fn invalid_field_operators(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::StrictOperatorDocuments) {
        return;
    }
    let c = collection(store).await;
    for bad in [
        doc! { "a": { "$gt": 1, "b": 2 } },
        doc! { "a": { "$options": "i" } },
    ] {
        ctx.refuses(&bad, c.find(bad.clone()).await, ErrorKind::BadRequest);
    }
}

async fn invalid_updates(store: &Store, ctx: &Ctx) {
    let before = doc! { "_id": 1, "a": 1, "t": [1] };
    let c = collection(store).await;
    for bad in malformed_updates() {
        let r = c.update_one(doc! { "_id": 1 }, bad.clone()).await;
        ctx.refuses(&bad, r, ErrorKind::BadRequest);
    }
    // Refused because of the document it meets.
    let r = c
        .update_one(doc! { "_id": 1 }, doc! { "$push": { "a": 1 } })
        .await;
    ctx.fails_with(r, ErrorKind::BadRequest);
    assert_eq!(crate::support::get(&c, 1).await, before);
}

/// Updates no document could make valid.
fn malformed_updates() -> [Document; 9] {
    [
        doc! { "$set": 5 },
        doc! { "$inc": { "a": "x" } },
        doc! { "$mul": { "a": null } },
        doc! { "$set": { "": 1 } },
        doc! { "$unset": { "a..b": 1 } },
        doc! { "$rename": { "a": 5 } },
        doc! { "$currentDate": { "d": "yes" } },
        doc! { "$push": { "t": { "$each": 5 } } },
        doc! { "$addToSet": { "t": { "$each": { "x": 1 } } } },
    ]
}

async fn malformed_updates_fail_without_a_match(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::UpdateValidatedWithoutMatch) {
        return;
    }
    let c = collection(store).await;
    for bad in malformed_updates() {
        let r = c.update_one(doc! { "_id": 99 }, bad.clone()).await;
        ctx.refuses(&bad, r, ErrorKind::BadRequest);
        let r = c.upsert(doc! { "_id": 99 }, bad.clone()).await;
        ctx.refuses(&bad, r, ErrorKind::BadRequest);
    }
    assert_eq!(c.count(doc! {}).await.unwrap(), 1);
}

async fn updates_without_operators(store: &Store, ctx: &Ctx) {
    let c = collection(store).await;
    let r = c.update_one(doc! { "_id": 1 }, doc! { "a": 2 }).await;
    ctx.fails_with_gap(r, ErrorKind::BadRequest, Gap::DriverInvalidArgument);
    let r = c.update_many(doc! {}, doc! {}).await;
    ctx.fails_with_gap(r, ErrorKind::BadRequest, Gap::DriverInvalidArgument);
    let r = c
        .find_one_and_update(doc! { "_id": 1 }, doc! { "a": 2 })
        .await;
    ctx.fails_with_gap(r, ErrorKind::BadRequest, Gap::DriverInvalidArgument);
    assert_eq!(crate::support::get(&c, 1).await.get_i32("a").unwrap(), 1);
}

async fn invalid_replacements(store: &Store, ctx: &Ctx) {
    let c = collection(store).await;
    let r = c
        .replace_one(doc! { "_id": 1 }, &doc! { "$set": { "a": 2 } })
        .await;
    ctx.fails_with_gap(r, ErrorKind::BadRequest, Gap::DriverInvalidArgument);
    assert_eq!(crate::support::get(&c, 1).await.get_i32("a").unwrap(), 1);
}

async fn invalid_sort(store: &Store, ctx: &Ctx) {
    let c = collection(store).await;
    let r = c.find(doc! {}).sort(doc! { "a": 2 }).await;
    ctx.fails_with_gap(r, ErrorKind::BadRequest, Gap::UnmappedInvalidCode);
    let r = c.find(doc! {}).sort(doc! { "a": "up" }).await;
    ctx.fails_with_gap(r, ErrorKind::BadRequest, Gap::UnmappedInvalidCode);
}

async fn invalid_regex(store: &Store, ctx: &Ctx) {
    let c = collection(store).await;
    for pattern in ["(", "a[", "*a", "a{2,1}"] {
        let r = c.find(doc! { "a": { "$regex": pattern } }).await;
        ctx.fails_with_gap(r, ErrorKind::BadRequest, Gap::UnmappedInvalidCode);
    }
}

async fn operators_outside_the_subset(store: &Store, ctx: &Ctx) {
    let c = collection(store).await;
    let unsupported = |e: flagstone::Error, what: &str| {
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{what}: {e}");
        assert!(
            e.detail().unwrap_or_default().contains(what),
            "the error names {what}: {e}"
        );
    };
    let filters = [
        ("$where", doc! { "$where": "this.a == 1" }),
        ("$expr", doc! { "$expr": { "$eq": ["$a", 1] } }),
        ("$text", doc! { "$text": { "$search": "x" } }),
        ("$jsonSchema", doc! { "$jsonSchema": {} }),
        ("$comment", doc! { "$comment": "x" }),
        ("$type", doc! { "a": { "$type": "string" } }),
        ("$mod", doc! { "a": { "$mod": [2, 0] } }),
        ("$bitsAllSet", doc! { "a": { "$bitsAllSet": 1 } }),
        ("$geoWithin", doc! { "a": { "$geoWithin": {} } }),
        (
            "$elemMatch",
            doc! { "t": { "$all": [{ "$elemMatch": { "$gt": 0 } }] } },
        ),
    ];
    for (what, filter) in filters {
        unsupported(c.find(filter.clone()).await.expect_err(what), what);
        unsupported(c.count(filter.clone()).await.expect_err(what), what);
        unsupported(c.delete_many(filter).await.expect_err(what), what);
    }
    let updates = [
        ("$pop", doc! { "$pop": { "t": 1 } }),
        ("$pullAll", doc! { "$pullAll": { "t": [1] } }),
        ("$bit", doc! { "$bit": { "a": { "and": 1 } } }),
        (
            "$position",
            doc! { "$push": { "t": { "$each": [2], "$position": 0 } } },
        ),
        (
            "$sort",
            doc! { "$push": { "t": { "$each": [2], "$sort": 1 } } },
        ),
    ];
    for (what, update) in updates {
        unsupported(
            c.update_one(doc! { "_id": 1 }, update)
                .await
                .expect_err(what),
            what,
        );
    }
    let r = c
        .find(doc! {})
        .sort(doc! { "score": { "$meta": "textScore" } })
        .await;
    unsupported(r.expect_err("$meta"), "$meta");
    let r = c
        .find(doc! {})
        .projection(doc! { "t": { "$slice": 1 } })
        .await;
    unsupported(r.expect_err("$slice"), "$slice");
    let r = c.create_index(Index::new(doc! { "a": "hashed" })).await;
    unsupported(r.expect_err("hashed"), "hashed");
    let r = c.create_index(Index::new(doc! { "a": "2dsphere" })).await;
    unsupported(r.expect_err("2dsphere"), "2dsphere");
    let r = c.find(doc! { "a": { "$regex": "(?<=x)a" } }).await;
    unsupported(r.expect_err("look-behind"), "$regex");
    let r = c
        .find(doc! { "a": { "$regex": "a", "$options": "q" } })
        .await;
    assert!(r.is_err(), "an unknown regex option is refused");
    assert_eq!(
        crate::support::get(&c, 1).await,
        doc! { "_id": 1, "a": 1, "t": [1] }
    );
    let _ = ctx;
}

async fn writes_that_change_nothing_create_nothing(store: &Store, _: &Ctx) {
    let c = raw(store, "ghost");
    c.update_one(doc! { "a": 1 }, doc! { "$set": { "b": 1 } })
        .await
        .unwrap();
    c.update_many(doc! {}, doc! { "$set": { "b": 1 } })
        .await
        .unwrap();
    c.replace_one(doc! { "a": 1 }, &doc! { "b": 1 })
        .await
        .unwrap();
    c.delete_many(doc! {}).await.unwrap();
    assert_eq!(c.find_one_and_delete(doc! {}, None).await.unwrap(), None);
    assert_eq!(
        c.find_one_and_update(doc! {}, doc! { "$set": { "b": 1 } })
            .await
            .unwrap(),
        None
    );
    assert!(
        !store
            .list_collections()
            .await
            .unwrap()
            .contains(&"ghost".to_owned())
    );
    // A failed insert creates nothing either.
    assert!(c.insert_one(&doc! { "_id": [1] }).await.is_err());
    assert!(
        !store
            .list_collections()
            .await
            .unwrap()
            .contains(&"ghost".to_owned())
    );
    c.insert_one(&doc! { "_id": 1 }).await.unwrap();
    c.delete_many(doc! {}).await.unwrap();
    assert!(
        store
            .list_collections()
            .await
            .unwrap()
            .contains(&"ghost".to_owned()),
        "emptied is not dropped"
    );
}

/// An unreachable server is a 503 with Retry-After, within the selection timeout.
#[tokio::test]
async fn unreachable_server_is_unavailable() {
    let mut config = DatabaseConfig::default();
    config.url = Some("mongodb://127.0.0.1:9/".to_owned());
    config.name = Some("nowhere".to_owned());
    config.server_selection_timeout = Duration::from_millis(300);
    config.connect_timeout = Duration::from_millis(300);
    let store = Store::open(&config)
        .await
        .expect("opening does not wait for the server");
    let started = std::time::Instant::now();
    let e = store.ping().await.expect_err("nothing listens on port 9");
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(e.retry_after().is_some());
    let e = raw(&store, "c")
        .find(doc! {})
        .await
        .expect_err("unreachable");
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    let e = raw(&store, "c")
        .insert_one(&doc! { "a": 1 })
        .await
        .expect_err("unreachable");
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// A URL with an unknown scheme is refused at open.
#[tokio::test]
async fn unknown_url_scheme_is_refused() {
    let e = Store::connect("postgres://localhost/db")
        .await
        .expect_err("not a store URL");
    assert_eq!(e.kind(), ErrorKind::Internal);
}
