//! Atomic find-and-modify, replace, delete, and concurrent writes.

use std::sync::Arc;

use flagstone::store::{Bson, Document, ReturnDocument, Store, doc};

use crate::support::{Ctx, Feature, conformance, get, ids, int_ids, raw, seeded};

conformance!(
    find_one_and_update_before_and_after,
    find_one_and_update_upserts,
    find_one_and_update_projection,
    find_one_and_delete,
    replace_one_keeps_the_id,
    replace_or_insert,
    delete_counts,
    concurrent_increments,
    concurrent_upserts_of_one_key,
);

async fn queue(store: &Store) -> flagstone::store::Collection<Document> {
    seeded(
        store,
        "q",
        vec![
            doc! { "_id": 1, "state": "ready", "priority": 2, "tries": 0 },
            doc! { "_id": 2, "state": "ready", "priority": 5, "tries": 0 },
            doc! { "_id": 3, "state": "done", "priority": 9, "tries": 1 },
            doc! { "_id": 4, "state": "ready", "priority": 1, "tries": 0 },
        ],
    )
    .await
}

async fn find_one_and_update_before_and_after(store: &Store, _: &Ctx) {
    let c = queue(store).await;
    let claim = doc! { "$set": { "state": "running" }, "$inc": { "tries": 1 } };
    // The highest-priority ready job, as it became.
    let after = c
        .find_one_and_update(doc! { "state": "ready" }, claim.clone())
        .sort(doc! { "priority": -1 })
        .await
        .unwrap();
    assert_eq!(
        after,
        Some(doc! { "_id": 2, "state": "running", "priority": 5, "tries": 1 })
    );
    // The next one, as it was.
    let before = c
        .find_one_and_update(doc! { "state": "ready" }, claim.clone())
        .sort(doc! { "priority": -1 })
        .returning(ReturnDocument::Before)
        .await
        .unwrap();
    assert_eq!(
        before,
        Some(doc! { "_id": 1, "state": "ready", "priority": 2, "tries": 0 })
    );
    assert_eq!(
        get(&c, 1).await,
        doc! { "_id": 1, "state": "running", "priority": 2, "tries": 1 }
    );
    let none = c
        .find_one_and_update(doc! { "state": "missing" }, claim)
        .await
        .unwrap();
    assert_eq!(none, None);
    assert_eq!(c.count(doc! { "state": "running" }).await.unwrap(), 2);
}

async fn find_one_and_update_upserts(store: &Store, _: &Ctx) {
    let c = raw(store, "counters");
    let next = |name: &'static str| {
        let c = c.clone();
        async move {
            let d = c
                .find_one_and_update(doc! { "_id": name }, doc! { "$inc": { "seq": 1 } })
                .upsert()
                .returning(ReturnDocument::After)
                .await
                .unwrap()
                .expect("an upsert returns the new document");
            d.get_i32("seq").unwrap()
        }
    };
    assert_eq!(next("orders").await, 1);
    assert_eq!(next("orders").await, 2);
    assert_eq!(next("users").await, 1);
    let before = c
        .find_one_and_update(doc! { "_id": "fresh" }, doc! { "$set": { "seq": 0 } })
        .upsert()
        .returning(ReturnDocument::Before)
        .await
        .unwrap();
    assert_eq!(before, None, "nothing was there before the upsert");
    assert_eq!(get(&c, "fresh").await, doc! { "_id": "fresh", "seq": 0 });
}

async fn find_one_and_update_projection(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::FindAndModifyProjection) {
        return;
    }
    let c = queue(store).await;
    let d = c
        .find_one_and_update(doc! { "_id": 3 }, doc! { "$set": { "state": "archived" } })
        .projection(doc! { "state": 1, "_id": 0 })
        .await
        .unwrap();
    assert_eq!(d, Some(doc! { "state": "archived" }));
}

async fn find_one_and_delete(store: &Store, _: &Ctx) {
    let c = queue(store).await;
    let first = c
        .find_one_and_delete(doc! { "state": "ready" }, Some(doc! { "priority": 1 }))
        .await
        .unwrap();
    assert_eq!(
        first,
        Some(doc! { "_id": 4, "state": "ready", "priority": 1, "tries": 0 })
    );
    let top = c
        .find_one_and_delete(doc! {}, Some(doc! { "priority": -1 }))
        .await
        .unwrap();
    assert_eq!(
        top.and_then(|d| d.get("_id").cloned()),
        Some(Bson::Int32(3))
    );
    assert_eq!(
        c.find_one_and_delete(doc! { "state": "nope" }, None)
            .await
            .unwrap(),
        None
    );
    assert_eq!(ids(&c, doc! {}).await, int_ids(&[1, 2]));
    let any = c
        .find_one_and_delete(doc! { "_id": 2 }, None)
        .await
        .unwrap();
    assert_eq!(any.map(|d| d.get_i32("priority").unwrap()), Some(5));
    assert_eq!(c.count(doc! {}).await.unwrap(), 1);
}

async fn replace_one_keeps_the_id(store: &Store, _: &Ctx) {
    let c = queue(store).await;
    let r = c
        .replace_one(
            doc! { "priority": 5 },
            &doc! { "replaced": true, "n": [1, 2] },
        )
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified, r.upserted_id), (1, 1, None));
    assert_eq!(
        get(&c, 2).await,
        doc! { "_id": 2, "replaced": true, "n": [1, 2] }
    );
    // Replacing with the same content modifies nothing; naming the same _id is fine.
    let r = c
        .replace_one(
            doc! { "_id": 2 },
            &doc! { "_id": 2, "replaced": true, "n": [1, 2] },
        )
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified), (1, 0));
    let r = c
        .replace_one(doc! { "_id": 99 }, &doc! { "x": 1 })
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified, r.upserted_id), (0, 0, None));
    assert_eq!(c.count(doc! {}).await.unwrap(), 4);
    // Only the first match is replaced.
    let r = c
        .replace_one(doc! { "state": "ready" }, &doc! { "state": "gone" })
        .await
        .unwrap();
    assert_eq!(r.matched, 1);
    assert_eq!(c.count(doc! { "state": "gone" }).await.unwrap(), 1);
}

async fn replace_or_insert(store: &Store, _: &Ctx) {
    let c = raw(store, "r");
    let r = c
        .replace_or_insert(doc! { "_id": "a", "ignored": 1 }, &doc! { "v": 1 })
        .await
        .unwrap();
    assert_eq!(
        (r.matched, r.upserted_id),
        (0, Some(Bson::String("a".into())))
    );
    assert_eq!(
        get(&c, "a").await,
        doc! { "_id": "a", "v": 1 },
        "only _id comes from the filter"
    );
    let r = c
        .replace_or_insert(doc! { "_id": "a" }, &doc! { "v": 2 })
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified, r.upserted_id), (1, 1, None));
    assert_eq!(get(&c, "a").await, doc! { "_id": "a", "v": 2 });
    let r = c
        .replace_or_insert(doc! { "k": "none" }, &doc! { "v": 3 })
        .await
        .unwrap();
    let Some(id @ Bson::ObjectId(_)) = r.upserted_id else {
        panic!("a generated id: {r:?}")
    };
    assert_eq!(get(&c, id.clone()).await, doc! { "_id": id, "v": 3 });
}

async fn delete_counts(store: &Store, _: &Ctx) {
    let c = queue(store).await;
    assert_eq!(c.delete_one(doc! { "state": "ready" }).await.unwrap(), 1);
    assert_eq!(c.count(doc! { "state": "ready" }).await.unwrap(), 2);
    assert_eq!(c.delete_one(doc! { "state": "nope" }).await.unwrap(), 0);
    assert_eq!(c.delete_many(doc! { "state": "ready" }).await.unwrap(), 2);
    assert_eq!(c.delete_many(doc! { "state": "ready" }).await.unwrap(), 0);
    assert_eq!(c.delete_many(doc! {}).await.unwrap(), 1);
    assert_eq!(c.count(doc! {}).await.unwrap(), 0);
    assert_eq!(
        raw(store, "never_written")
            .delete_many(doc! {})
            .await
            .unwrap(),
        0
    );
}

async fn concurrent_increments(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::AtomicUpdates) {
        return;
    }
    let c = seeded(store, "counter", vec![doc! { "_id": 1, "n": 0 }]).await;
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move {
                c.update_one(doc! { "_id": 1 }, doc! { "$inc": { "n": 1 } })
                    .await
            })
        })
        .collect();
    for task in tasks {
        let r = task
            .await
            .expect("the task runs")
            .expect("the increment applies");
        assert_eq!((r.matched, r.modified), (1, 1));
    }
    assert_eq!(get(&c, 1).await.get_i32("n").unwrap(), 100);
}

async fn concurrent_upserts_of_one_key(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::AtomicUpdates) {
        return;
    }
    let c = raw(store, "counter");
    let ok = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (c, ok) = (c.clone(), ok.clone());
            tokio::spawn(async move {
                // Two upserts racing on one _id: one inserts, the other may lose with a
                // conflict (MongoDB does not retry it for you).
                match c
                    .upsert(doc! { "_id": "k" }, doc! { "$inc": { "n": 1 } })
                    .await
                {
                    Ok(_) => {
                        ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Err(e) => assert_eq!(e.kind(), flagstone::ErrorKind::Conflict, "{e}"),
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("the task runs");
    }
    let n = get(&c, "k").await.get_i32("n").unwrap();
    assert_eq!(
        n as u32,
        ok.load(std::sync::atomic::Ordering::Relaxed),
        "every successful upsert counted once"
    );
    assert_eq!(c.count(doc! {}).await.unwrap(), 1);
}
