//! Limits and shapes: documents near 16 MiB, deep nesting, unicode field names, many
//! documents; and the file store across a reopen.

use flagstone::{
    ErrorKind,
    store::{Document, Index, Store, doc},
};

use crate::support::{Ctx, Feature, Gap, conformance, get, raw};

conformance!(
    large_document_round_trip,
    document_size_limit,
    updates_respect_the_size_limit,
    deep_nesting,
    unicode_field_names,
    many_documents,
);

/// MongoDB's largest document: 16 MiB.
const MAX_BSON: usize = 16 * 1024 * 1024;

/// `{ _id: id, s: <n characters> }`, which takes `n + 22` bytes.
fn sized(id: i32, n: usize) -> Document {
    doc! { "_id": id, "s": "x".repeat(n) }
}

async fn large_document_round_trip(store: &Store, _: &Ctx) {
    let c = raw(store, "big");
    let text = "flagstone ✓ ".repeat(15 * 1024 * 1024 / "flagstone ✓ ".len());
    assert!(
        text.len() > 15 * 1024 * 1024 - 1024,
        "about 15 MiB: {}",
        text.len()
    );
    c.insert_one(&doc! { "_id": 1, "text": &text, "n": 0 })
        .await
        .unwrap();
    let found = get(&c, 1).await;
    assert_eq!(found.get_str("text").unwrap().len(), text.len());
    assert!(
        found.get_str("text").unwrap() == text,
        "the text reads back unchanged"
    );
    c.update_one(doc! { "_id": 1 }, doc! { "$inc": { "n": 1 } })
        .await
        .unwrap();
    let projected = c
        .find(doc! { "_id": 1 })
        .projection(doc! { "n": 1 })
        .await
        .unwrap();
    assert_eq!(projected, vec![doc! { "_id": 1, "n": 1 }]);
    assert_eq!(c.delete_one(doc! { "_id": 1 }).await.unwrap(), 1);
}

async fn document_size_limit(store: &Store, ctx: &Ctx) {
    let c = raw(store, "big");
    let largest = sized(1, MAX_BSON - 22);
    assert_eq!(largest.to_vec().unwrap().len(), MAX_BSON);
    c.insert_one(&largest).await.unwrap();
    let r = c.insert_one(&sized(2, MAX_BSON - 21)).await;
    ctx.fails_with_gap(r, ErrorKind::BadRequest, Gap::DriverInvalidArgument);
    assert_eq!(c.count(doc! {}).await.unwrap(), 1);
}

async fn updates_respect_the_size_limit(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::UpdateSizeLimit) {
        return;
    }
    let c = raw(store, "big");
    c.insert_one(&sized(1, MAX_BSON - 1024)).await.unwrap();
    let r = c
        .update_one(
            doc! { "_id": 1 },
            doc! { "$set": { "more": "y".repeat(2048) } },
        )
        .await;
    ctx.fails_with_gap(r, ErrorKind::BadRequest, Gap::UnmappedInvalidCode);
    assert!(!get(&c, 1).await.contains_key("more"));
    let r = c
        .replace_one(doc! { "_id": 1 }, &sized(1, MAX_BSON - 21))
        .await;
    ctx.fails_with_gap(r, ErrorKind::BadRequest, Gap::UnmappedInvalidCode);
    assert_eq!(
        get(&c, 1).await.get_str("s").unwrap().len(),
        MAX_BSON - 1024
    );
}

async fn deep_nesting(store: &Store, _: &Ctx) {
    let c = raw(store, "deep");
    let mut nested = doc! { "leaf": "here" };
    for _ in 0..50 {
        nested = doc! { "a": nested };
    }
    c.insert_one(&doc! { "_id": 1, "a": nested.clone() })
        .await
        .unwrap();
    assert_eq!(get(&c, 1).await, doc! { "_id": 1, "a": nested });
    let path = format!("{}leaf", "a.".repeat(51));
    assert_eq!(c.count(doc! { path.clone(): "here" }).await.unwrap(), 1);
    c.update_one(
        doc! { "_id": 1 },
        doc! { "$set": { path.clone(): "moved" } },
    )
    .await
    .unwrap();
    assert_eq!(c.count(doc! { path: "moved" }).await.unwrap(), 1);
}

async fn unicode_field_names(store: &Store, _: &Ctx) {
    let c = raw(store, "unicode");
    c.insert_one(&doc! { "_id": 1, "ключ": "значение", "名前": { "姓": "山田" }, "emoji😀": 1 })
        .await
        .unwrap();
    assert_eq!(c.count(doc! { "ключ": "значение" }).await.unwrap(), 1);
    assert_eq!(c.count(doc! { "名前.姓": "山田" }).await.unwrap(), 1);
    c.update_one(
        doc! { "_id": 1 },
        doc! { "$inc": { "emoji😀": 1 }, "$set": { "名前.名": "太郎" } },
    )
    .await
    .unwrap();
    let d = get(&c, 1).await;
    assert_eq!(d.get_i32("emoji😀").unwrap(), 2);
    assert_eq!(
        d.get_document("名前").unwrap(),
        &doc! { "姓": "山田", "名": "太郎" }
    );
    let projected = c
        .find(doc! {})
        .projection(doc! { "名前.名": 1, "_id": 0 })
        .await
        .unwrap();
    assert_eq!(projected, vec![doc! { "名前": { "名": "太郎" } }]);
}

async fn many_documents(store: &Store, _: &Ctx) {
    let c = raw(store, "many");
    c.create_index(Index::new(doc! { "bucket": 1 }))
        .await
        .unwrap();
    let docs: Vec<Document> = (0..2000)
        .map(|i| doc! { "_id": i, "bucket": i % 7, "v": i % 13 })
        .collect();
    assert_eq!(c.insert_many(&docs).await.unwrap().len(), 2000);
    assert_eq!(c.count(doc! {}).await.unwrap(), 2000);
    assert_eq!(c.count(doc! { "bucket": 3 }).await.unwrap(), 286);
    let mut seen = 0;
    for page in 0..5 {
        let found = c
            .find(doc! { "bucket": 3 })
            .sort(doc! { "_id": -1 })
            .skip(page * 60)
            .limit(60)
            .await
            .unwrap();
        seen += found.len();
        assert!(
            found
                .windows(2)
                .all(|w| w[0].get_i32("_id").unwrap() > w[1].get_i32("_id").unwrap())
        );
    }
    assert_eq!(seen, 286);
    assert_eq!(c.distinct("v", doc! {}).await.unwrap().len(), 13);
    assert_eq!(
        c.update_many(doc! { "v": 0 }, doc! { "$set": { "zero": true } })
            .await
            .unwrap()
            .modified,
        154
    );
    assert_eq!(
        c.delete_many(doc! { "bucket": { "$in": [0, 1] } })
            .await
            .unwrap(),
        572
    );
    assert_eq!(c.count(doc! {}).await.unwrap(), 1428);
    assert!(
        c.find(doc! { "zero": true })
            .await
            .unwrap()
            .iter()
            .all(|d| d.get_i32("v").unwrap() == 0)
    );
}

/// The file store keeps documents, indexes and unique constraints across a reopen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().join("nested/dir/db.redb").display());
    {
        let store = Store::connect(&url).await.unwrap();
        let c = raw(&store, "users");
        c.create_index(Index::new(doc! { "email": 1 }).unique())
            .await
            .unwrap();
        c.insert_many(&[
            doc! { "_id": 1, "email": "a" },
            doc! { "_id": 2, "email": "b" },
        ])
        .await
        .unwrap();
        c.update_one(doc! { "_id": 2 }, doc! { "$set": { "name": "Bee" } })
            .await
            .unwrap();
        c.delete_one(doc! { "_id": 1 }).await.unwrap();
        raw(&store, "empty_with_index")
            .create_index(Index::new(doc! { "k": 1 }))
            .await
            .unwrap();
        raw(&store, "dropped")
            .insert_one(&doc! { "x": 1 })
            .await
            .unwrap();
        raw(&store, "dropped").drop().await.unwrap();
        // A failed write leaves nothing behind.
        assert!(
            c.insert_one(&doc! { "_id": 3, "email": "b" })
                .await
                .is_err()
        );
    }
    let store = Store::connect(&url).await.unwrap();
    let c = raw(&store, "users");
    assert_eq!(
        c.find(doc! {}).await.unwrap(),
        vec![doc! { "_id": 2, "email": "b", "name": "Bee" }]
    );
    let err = c.insert_one(&doc! { "email": "b" }).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Conflict,
        "the unique index is rebuilt on open"
    );
    let names: Vec<String> = c
        .list_indexes()
        .await
        .unwrap()
        .iter()
        .map(Index::resolved_name)
        .collect();
    assert_eq!(names, ["_id_", "email_1"]);
    assert_eq!(
        store.list_collections().await.unwrap(),
        ["empty_with_index", "users"]
    );
    store.drop_all().await.unwrap();
    assert!(store.list_collections().await.unwrap().is_empty());
    drop((c, store));
    let store = Store::connect(&url).await.unwrap();
    assert!(
        store.list_collections().await.unwrap().is_empty(),
        "drop_all persists"
    );
}
