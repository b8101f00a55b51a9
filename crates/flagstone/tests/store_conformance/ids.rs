//! Inserts and `_id`s: generated ObjectIds, typed `Id<T>`, custom ids, duplicates.

use flagstone::{
    ErrorKind,
    store::{Bson, Id, ObjectId, Store, doc},
};
use serde::{Deserialize, Serialize};

use crate::support::{Ctx, Feature, Gap, conformance, get, ids, int_ids, raw, seeded};

conformance!(
    insert_generates_object_ids,
    insert_many_returns_ids_in_order,
    typed_id_round_trip,
    custom_ids,
    numeric_ids_compare_by_value,
    duplicate_id_is_conflict,
    duplicate_id_names_the_field,
    insert_many_stops_at_first_duplicate,
    id_is_stored_first,
    array_id_is_refused,
    id_is_immutable,
    empty_insert_many,
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Task {
    #[serde(rename = "_id")]
    id: Id<Task>,
    title: String,
    done: bool,
    owner: Option<Id<User>>,
}

#[derive(Debug)]
struct User;

async fn insert_generates_object_ids(store: &Store, _: &Ctx) {
    let c = raw(store, "things");
    let id = c.insert_one(&doc! { "name": "first" }).await.unwrap();
    let Bson::ObjectId(oid) = &id else {
        panic!("a generated ObjectId, got {id:?}")
    };
    let found = get(&c, *oid).await;
    assert_eq!(found, doc! { "_id": *oid, "name": "first" });
    assert_eq!(
        found.keys().next().map(String::as_str),
        Some("_id"),
        "_id comes first"
    );
    let other = c.insert_one(&doc! { "name": "second" }).await.unwrap();
    assert_ne!(id, other);
    assert_eq!(c.count(doc! {}).await.unwrap(), 2);
}

async fn insert_many_returns_ids_in_order(store: &Store, _: &Ctx) {
    let c = raw(store, "things");
    let returned = c
        .insert_many(&[
            doc! { "n": 0 },
            doc! { "_id": "custom", "n": 1 },
            doc! { "n": 2 },
            doc! { "_id": 7, "n": 3 },
        ])
        .await
        .unwrap();
    assert_eq!(returned.len(), 4);
    assert!(matches!(returned[0], Bson::ObjectId(_)));
    assert_eq!(returned[1], Bson::String("custom".into()));
    assert!(matches!(returned[2], Bson::ObjectId(_)));
    assert_eq!(returned[3], Bson::Int32(7));
    for (n, id) in returned.iter().enumerate() {
        let found = get(&c, id.clone()).await;
        assert_eq!(found.get_i32("n").unwrap(), n as i32);
    }
}

async fn typed_id_round_trip(store: &Store, _: &Ctx) {
    let tasks = store.collection::<Task>("tasks");
    let task = Task {
        id: Id::new(),
        title: "write docs".into(),
        done: false,
        owner: Some(Id::new()),
    };
    let inserted = tasks.insert_one(&task).await.unwrap();
    assert_eq!(
        inserted,
        Bson::ObjectId(task.id.object_id()),
        "the id is an ObjectId in BSON"
    );

    // Stored as ObjectIds, not strings.
    let stored = get(&raw(store, "tasks"), task.id).await;
    assert_eq!(
        stored.get("_id"),
        Some(&Bson::ObjectId(task.id.object_id()))
    );
    assert_eq!(
        stored.get("owner"),
        Some(&Bson::ObjectId(task.owner.unwrap().object_id()))
    );

    // Read back typed, by the typed id and by a filter.
    assert_eq!(tasks.find_by_id(task.id).await.unwrap(), Some(task.clone()));
    let by_owner = tasks
        .find_one(doc! { "owner": task.owner.unwrap() })
        .await
        .unwrap();
    assert_eq!(by_owner, Some(task.clone()));

    // A hex string in JSON, parsed back strictly.
    let json = serde_json::to_value(&task).unwrap();
    assert_eq!(json["_id"], serde_json::Value::String(task.id.to_string()));
    let back: Task = serde_json::from_value(json).unwrap();
    assert_eq!(back, task);
    assert_eq!(task.id.to_string().parse::<Id<Task>>().unwrap(), task.id);
    assert!("not-an-id".parse::<Id<Task>>().is_err());
    assert!(serde_json::from_str::<Id<Task>>("\"0123\"").is_err());

    // A hex string is not an ObjectId: it finds nothing.
    assert_eq!(tasks.find_by_id(task.id.to_string()).await.unwrap(), None);
}

async fn custom_ids(store: &Store, _: &Ctx) {
    let c = raw(store, "things");
    c.insert_one(&doc! { "_id": "alpha", "v": 1 })
        .await
        .unwrap();
    c.insert_one(&doc! { "_id": 42, "v": 2 }).await.unwrap();
    c.insert_one(&doc! { "_id": { "k": 1, "j": "x" }, "v": 3 })
        .await
        .unwrap();
    c.insert_one(&doc! { "_id": "日本", "v": 4 }).await.unwrap();
    c.insert_one(&doc! { "_id": ObjectId::from_bytes([0; 12]), "v": 5 })
        .await
        .unwrap();
    assert_eq!(get(&c, "alpha").await.get_i32("v").unwrap(), 1);
    assert_eq!(get(&c, 42).await.get_i32("v").unwrap(), 2);
    assert_eq!(
        get(&c, doc! { "k": 1, "j": "x" })
            .await
            .get_i32("v")
            .unwrap(),
        3
    );
    assert_eq!(get(&c, "日本").await.get_i32("v").unwrap(), 4);
    // A subdocument id matches exactly, field order included.
    assert_eq!(c.find_by_id(doc! { "j": "x", "k": 1 }).await.unwrap(), None);
    // `_id` order follows BSON: numbers < strings < objects < ObjectId.
    let order = crate::support::sorted_ids(&c, doc! { "_id": 1 }).await;
    assert_eq!(
        order,
        vec![
            Bson::Int32(42),
            Bson::String("alpha".into()),
            Bson::String("日本".into()),
            Bson::Document(doc! { "k": 1, "j": "x" }),
            Bson::ObjectId(ObjectId::from_bytes([0; 12])),
        ]
    );
    assert_eq!(c.delete_one(doc! { "_id": "alpha" }).await.unwrap(), 1);
    assert_eq!(c.find_by_id("alpha").await.unwrap(), None);
}

async fn numeric_ids_compare_by_value(store: &Store, ctx: &Ctx) {
    let c = seeded(store, "things", vec![doc! { "_id": 1, "v": "int" }]).await;
    // 1, 1i64 and 1.0 are the same `_id`.
    assert_eq!(get(&c, 1i64).await.get_str("v").unwrap(), "int");
    assert_eq!(get(&c, 1.0).await.get_str("v").unwrap(), "int");
    ctx.fails_with(
        c.insert_one(&doc! { "_id": 1.0, "v": "double" }).await,
        ErrorKind::Conflict,
    );
    ctx.fails_with(
        c.insert_one(&doc! { "_id": 1i64, "v": "long" }).await,
        ErrorKind::Conflict,
    );
    assert_eq!(c.count(doc! {}).await.unwrap(), 1);
}

async fn duplicate_id_is_conflict(store: &Store, ctx: &Ctx) {
    let c = seeded(store, "things", vec![doc! { "_id": "a" }]).await;
    ctx.fails_with(
        c.insert_one(&doc! { "_id": "a", "again": true }).await,
        ErrorKind::Conflict,
    );
    ctx.fails_with(
        c.insert_many(&[doc! { "_id": "b" }, doc! { "_id": "b" }])
            .await,
        ErrorKind::Conflict,
    );
    assert_eq!(
        ids(&c, doc! {}).await,
        vec![Bson::from("a"), Bson::from("b")]
    );
    assert_eq!(
        get(&c, "a").await,
        doc! { "_id": "a" },
        "the first document is untouched"
    );
}

async fn duplicate_id_names_the_field(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::DuplicateKeyFields) {
        return;
    }
    let c = seeded(store, "things", vec![doc! { "_id": 5 }]).await;
    let e = ctx.fails_with(c.insert_one(&doc! { "_id": 5 }).await, ErrorKind::Conflict);
    let fields: Vec<&str> = e.field_errors().iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["_id"]);
}

async fn insert_many_stops_at_first_duplicate(store: &Store, ctx: &Ctx) {
    let c = raw(store, "things");
    let docs = [1, 2, 2, 3].map(|i| doc! { "_id": i });
    ctx.fails_with(c.insert_many(&docs).await, ErrorKind::Conflict);
    assert_eq!(
        ids(&c, doc! {}).await,
        int_ids(&[1, 2]),
        "ordered: the documents before the duplicate stay"
    );
}

async fn id_is_stored_first(store: &Store, _: &Ctx) {
    let c = raw(store, "things");
    c.insert_one(&doc! { "b": 1, "a": 2, "_id": 9 })
        .await
        .unwrap();
    let found = get(&c, 9).await;
    let keys: Vec<&str> = found.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["_id", "b", "a"],
        "_id moves first, the other fields keep their order"
    );
}

async fn array_id_is_refused(store: &Store, ctx: &Ctx) {
    let c = raw(store, "things");
    ctx.fails_with_gap(
        c.insert_one(&doc! { "_id": [1, 2] }).await,
        ErrorKind::BadRequest,
        Gap::UnmappedInvalidCode,
    );
    assert_eq!(c.count(doc! {}).await.unwrap(), 0);
}

async fn id_is_immutable(store: &Store, ctx: &Ctx) {
    let c = seeded(store, "things", vec![doc! { "_id": 1, "v": 1 }]).await;
    ctx.fails_with(
        c.update_one(doc! { "_id": 1 }, doc! { "$set": { "_id": 2 } })
            .await,
        ErrorKind::BadRequest,
    );
    ctx.fails_with(
        c.update_one(doc! { "_id": 1 }, doc! { "$unset": { "_id": "" } })
            .await,
        ErrorKind::BadRequest,
    );
    ctx.fails_with(
        c.update_one(doc! { "_id": 1 }, doc! { "$rename": { "_id": "id" } })
            .await,
        ErrorKind::BadRequest,
    );
    ctx.fails_with(
        c.replace_one(doc! { "_id": 1 }, &doc! { "_id": 2, "v": 2 })
            .await,
        ErrorKind::BadRequest,
    );
    // Setting it to the value it has is allowed.
    let same = c
        .update_one(doc! { "_id": 1 }, doc! { "$set": { "_id": 1, "v": 3 } })
        .await
        .unwrap();
    assert_eq!((same.matched, same.modified), (1, 1));
    c.replace_one(doc! { "_id": 1 }, &doc! { "_id": 1, "v": 4 })
        .await
        .unwrap();
    assert_eq!(get(&c, 1).await, doc! { "_id": 1, "v": 4 });
}

async fn empty_insert_many(store: &Store, _: &Ctx) {
    let c = raw(store, "things");
    let none: [flagstone::store::Document; 0] = [];
    assert!(c.insert_many(&none).await.unwrap().is_empty());
    assert_eq!(c.count(doc! {}).await.unwrap(), 0);
}
