//! The update operators of the subset, upserts and update counts.

use flagstone::{
    ErrorKind,
    bson::{DateTime, Timestamp},
    store::{Bson, Document, Store, doc},
};

use crate::support::{Ctx, Feature, conformance, get, raw, re, seeded};

conformance!(
    set_and_unset,
    unchanged_documents_are_not_modified,
    inc_and_mul_keep_numeric_types,
    increment_overflow_becomes_a_long,
    arithmetic_on_non_numbers_is_refused,
    min_and_max,
    push_and_each,
    push_slice,
    empty_each_creates_the_array,
    pull_values,
    pull_condition,
    add_to_set,
    rename,
    current_date,
    set_on_insert,
    set_on_insert_null,
    update_counts,
    new_fields_in_field_name_order,
    numeric_field_names_in_numeric_order,
    unset_of_an_array_element,
    increment_by_zero_is_no_change,
    conflicting_paths_are_refused,
    rename_onto_an_updated_path,
    paths_through_scalars_are_refused,
    dotted_paths_into_arrays,
    upsert_seeds_equalities,
    upsert_leaves_regex_out,
    upsert_with_a_range_filter,
    upsert_seeds_from_and,
    upsert_cannot_push_onto_a_seeded_scalar,
    upsert_generates_an_id,
);

/// Updates the document `_id: 1` of `c` and returns it.
async fn update(c: &flagstone::store::Collection<Document>, update: Document) -> Document {
    c.update_one(doc! { "_id": 1 }, update.clone())
        .await
        .unwrap_or_else(|e| panic!("{update} failed: {e}"));
    get(c, 1).await
}

async fn set_and_unset(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "u",
        vec![doc! { "_id": 1, "a": 1, "s": { "x": 1, "y": 2 }, "arr": [1, 2] }],
    )
    .await;
    let d = update(
        &c,
        doc! { "$set": { "a": "one", "s.z": 3, "n.m.o": true, "arr.1": 20, "arr.4": 40 } },
    )
    .await;
    assert_eq!(
        d,
        doc! {
            "_id": 1, "a": "one", "s": { "x": 1, "y": 2, "z": 3 }, "arr": [1, 20, null, null, 40],
            "n": { "m": { "o": true } },
        }
    );
    let d = update(
        &c,
        doc! { "$unset": { "s.x": "", "a": 1, "missing": "", "s.q.r": "" } },
    )
    .await;
    assert_eq!(
        d,
        doc! { "_id": 1, "s": { "y": 2, "z": 3 }, "arr": [1, 20, null, null, 40], "n": { "m": { "o": true } } }
    );
    let r = c
        .update_one(doc! { "_id": 1 }, doc! { "$unset": { "nothing": "" } })
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified, r.upserted_id), (1, 0, None));
    let d = update(&c, doc! { "$set": { "s": [1, { "deep": null }] } }).await;
    assert_eq!(
        d.get_array("s").unwrap(),
        &vec![Bson::Int32(1), Bson::Document(doc! { "deep": null })]
    );
}

async fn unchanged_documents_are_not_modified(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "u",
        vec![doc! { "_id": 1, "a": 1, "t": [1, 2], "s": { "k": "v" } }],
    )
    .await;
    for noop in [
        doc! { "$set": { "a": 1 } },
        doc! { "$set": { "s": { "k": "v" }, "t": [1, 2] } },
        doc! { "$max": { "a": 0 } },
        doc! { "$min": { "a": 5 } },
        doc! { "$addToSet": { "t": 2 } },
        doc! { "$pull": { "t": 9 } },
    ] {
        let r = c.update_one(doc! { "_id": 1 }, noop.clone()).await.unwrap();
        assert_eq!((r.matched, r.modified), (1, 0), "{noop} changes nothing");
    }
    // A number of another type is a change, and the type is stored.
    let r = c
        .update_one(doc! { "_id": 1 }, doc! { "$set": { "a": 1.0 } })
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified), (1, 1));
    assert_eq!(get(&c, 1).await.get("a"), Some(&Bson::Double(1.0)));
}

async fn inc_and_mul_keep_numeric_types(store: &Store, ctx: &Ctx) {
    let c = seeded(
        store,
        "u",
        vec![doc! { "_id": 1, "i": 1, "l": 5i64, "d": 1.5, "big": i32::MAX, "neg": i32::MIN }],
    )
    .await;
    let d = update(
        &c,
        doc! { "$inc": { "i": 2, "l": 1, "d": 1, "big": 1, "neg": -1, "new": 5 } },
    )
    .await;
    assert_eq!(d.get("i"), Some(&Bson::Int32(3)));
    assert_eq!(d.get("l"), Some(&Bson::Int64(6)));
    assert_eq!(d.get("d"), Some(&Bson::Double(2.5)));
    assert_eq!(
        d.get("big"),
        Some(&Bson::Int64(i64::from(i32::MAX) + 1)),
        "int32 overflow becomes a long"
    );
    assert_eq!(d.get("neg"), Some(&Bson::Int64(i64::from(i32::MIN) - 1)));
    assert_eq!(
        d.get("new"),
        Some(&Bson::Int32(5)),
        "$inc creates the field"
    );
    let d = update(&c, doc! { "$inc": { "i": 1i64 } }).await;
    assert_eq!(d.get("i"), Some(&Bson::Int64(4)), "int + long is a long");
    let d = update(&c, doc! { "$inc": { "i": 0.5 } }).await;
    assert_eq!(
        d.get("i"),
        Some(&Bson::Double(4.5)),
        "anything + double is a double"
    );
    let d = update(
        &c,
        doc! { "$mul": { "l": 2, "d": 2, "m1": 3, "m2": 2.5, "m3": 2i64 } },
    )
    .await;
    assert_eq!(d.get("l"), Some(&Bson::Int64(12)));
    assert_eq!(d.get("d"), Some(&Bson::Double(5.0)));
    assert_eq!(
        d.get("m1"),
        Some(&Bson::Int32(0)),
        "$mul on a missing field stores a zero of the operand's type"
    );
    assert_eq!(d.get("m2"), Some(&Bson::Double(0.0)));
    assert_eq!(d.get("m3"), Some(&Bson::Int64(0)));
    let d = update(&c, doc! { "$mul": { "i": -2, "l": 0.5 } }).await;
    assert_eq!(d.get("i"), Some(&Bson::Double(-9.0)));
    assert_eq!(d.get("l"), Some(&Bson::Double(6.0)));
    // A long that overflows is refused.
    let r = c
        .update_one(doc! { "_id": 1 }, doc! { "$inc": { "big": i64::MAX } })
        .await;
    ctx.fails_with(r, ErrorKind::BadRequest);
    assert_eq!(
        get(&c, 1).await.get("big"),
        Some(&Bson::Int64(i64::from(i32::MAX) + 1))
    );
}

async fn increment_overflow_becomes_a_long(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::IncrementOverflow) {
        return;
    }
    let c = seeded(
        store,
        "u",
        vec![doc! { "_id": 1, "small": 1, "negative": -2, "m": 2 }],
    )
    .await;
    let d = update(
        &c,
        doc! { "$inc": { "small": i32::MAX, "negative": i32::MIN }, "$mul": { "m": i32::MAX } },
    )
    .await;
    assert_eq!(d.get("small"), Some(&Bson::Int64(i64::from(i32::MAX) + 1)));
    assert_eq!(
        d.get("negative"),
        Some(&Bson::Int64(i64::from(i32::MIN) - 2))
    );
    assert_eq!(d.get("m"), Some(&Bson::Int64(2 * i64::from(i32::MAX))));
}

async fn arithmetic_on_non_numbers_is_refused(store: &Store, ctx: &Ctx) {
    let before = doc! { "_id": 1, "s": "x", "n": 1, "a": [1] };
    let c = seeded(store, "u", vec![before.clone()]).await;
    for bad in [
        doc! { "$inc": { "s": 1 } },
        doc! { "$inc": { "a": 1 } },
        doc! { "$inc": { "n": "1" } },
        doc! { "$inc": { "n": null } },
        doc! { "$mul": { "s": 2 } },
        doc! { "$mul": { "n": "2" } },
    ] {
        let r = c.update_one(doc! { "_id": 1 }, bad.clone()).await;
        ctx.refuses(&bad, r, ErrorKind::BadRequest);
    }
    assert_eq!(get(&c, 1).await, before, "a refused update changes nothing");
}

async fn min_and_max(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "u",
        vec![doc! { "_id": 1, "lo": 10, "hi": 10, "d": DateTime::from_millis(1000), "mixed": 5 }],
    )
    .await;
    let d = update(
        &c,
        doc! { "$min": { "lo": 5, "fresh": 3 }, "$max": { "hi": 20.5 } },
    )
    .await;
    assert_eq!(d.get("lo"), Some(&Bson::Int32(5)));
    assert_eq!(
        d.get("fresh"),
        Some(&Bson::Int32(3)),
        "$min creates a missing field"
    );
    assert_eq!(d.get("hi"), Some(&Bson::Double(20.5)));
    let d = update(&c, doc! { "$min": { "lo": 7 }, "$max": { "hi": 20 } }).await;
    assert_eq!(
        (d.get("lo"), d.get("hi")),
        (Some(&Bson::Int32(5)), Some(&Bson::Double(20.5)))
    );
    let d = update(&c, doc! { "$max": { "d": DateTime::from_millis(2000) } }).await;
    assert_eq!(
        d.get("d"),
        Some(&Bson::DateTime(DateTime::from_millis(2000)))
    );
    // Across types, BSON order decides: null < numbers < strings.
    let d = update(&c, doc! { "$min": { "mixed": "a" } }).await;
    assert_eq!(d.get("mixed"), Some(&Bson::Int32(5)));
    let d = update(&c, doc! { "$max": { "mixed": "a" } }).await;
    assert_eq!(d.get("mixed"), Some(&Bson::String("a".into())));
    let d = update(&c, doc! { "$min": { "mixed": null } }).await;
    assert_eq!(d.get("mixed"), Some(&Bson::Null));
}

async fn push_and_each(store: &Store, ctx: &Ctx) {
    let c = seeded(store, "u", vec![doc! { "_id": 1, "t": [1], "s": "str" }]).await;
    let d = update(&c, doc! { "$push": { "t": 2, "new": "x" } }).await;
    assert_eq!(
        d.get_array("t").unwrap(),
        &vec![Bson::Int32(1), Bson::Int32(2)]
    );
    assert_eq!(d.get_array("new").unwrap(), &vec![Bson::String("x".into())]);
    let d = update(&c, doc! { "$push": { "t": { "$each": [3, 2] } } }).await;
    assert_eq!(d.get_array("t").unwrap().len(), 4, "$push keeps duplicates");
    let d = update(&c, doc! { "$push": { "t": { "k": 1 } } }).await;
    assert_eq!(
        d.get_array("t").unwrap().last(),
        Some(&Bson::Document(doc! { "k": 1 }))
    );
    let r = c
        .update_one(
            doc! { "_id": 1 },
            doc! { "$push": { "t": { "$each": [] } } },
        )
        .await
        .unwrap();
    assert_eq!(r.modified, 0);
    ctx.fails_with(
        c.update_one(doc! { "_id": 1 }, doc! { "$push": { "s": 1 } })
            .await,
        ErrorKind::BadRequest,
    );
}

async fn push_slice(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::PushSlice) {
        return;
    }
    let c = seeded(store, "u", vec![doc! { "_id": 1, "t": [1, 2] }]).await;
    let d = update(
        &c,
        doc! { "$push": { "t": { "$each": [3, 4, 5], "$slice": -3 } } },
    )
    .await;
    assert_eq!(
        d.get_array("t").unwrap(),
        &vec![Bson::Int32(3), Bson::Int32(4), Bson::Int32(5)]
    );
    let d = update(&c, doc! { "$push": { "t": { "$each": [6], "$slice": 2 } } }).await;
    assert_eq!(
        d.get_array("t").unwrap(),
        &vec![Bson::Int32(3), Bson::Int32(4)]
    );
    let d = update(&c, doc! { "$push": { "t": { "$each": [], "$slice": 0 } } }).await;
    assert!(d.get_array("t").unwrap().is_empty());
}

async fn empty_each_creates_the_array(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::EmptyEachCreatesArray) {
        return;
    }
    let c = seeded(store, "u", vec![doc! { "_id": 1 }]).await;
    let update = doc! { "$push": { "p": { "$each": [] } }, "$addToSet": { "s": { "$each": [] } } };
    let r = c.update_one(doc! { "_id": 1 }, update).await.unwrap();
    assert_eq!((r.matched, r.modified), (1, 1));
    assert_eq!(get(&c, 1).await, doc! { "_id": 1, "p": [], "s": [] });
}

async fn pull_values(store: &Store, ctx: &Ctx) {
    let c = seeded(
        store,
        "u",
        vec![doc! { "_id": 1, "t": [1, 2, 1, 3, "1", 1.0], "s": "x" }],
    )
    .await;
    let d = update(&c, doc! { "$pull": { "t": 1 } }).await;
    assert_eq!(
        d.get_array("t").unwrap(),
        &vec![Bson::Int32(2), Bson::Int32(3), Bson::String("1".into())]
    );
    let d = update(&c, doc! { "$pull": { "t": "1", "missing": 1 } }).await;
    assert_eq!(
        d.get_array("t").unwrap(),
        &vec![Bson::Int32(2), Bson::Int32(3)]
    );
    assert!(!d.contains_key("missing"));
    ctx.fails_with(
        c.update_one(doc! { "_id": 1 }, doc! { "$pull": { "s": "x" } })
            .await,
        ErrorKind::BadRequest,
    );
    // A path through a scalar cannot hold an array: refused, not ignored.
    ctx.fails_with(
        c.update_one(doc! { "_id": 1 }, doc! { "$pull": { "s.k": "x" } })
            .await,
        ErrorKind::BadRequest,
    );
    let r = c
        .update_one(doc! { "_id": 1 }, doc! { "$pull": { "nothing.here": 1 } })
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified), (1, 0));
}

async fn pull_condition(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::PullCondition) {
        return;
    }
    let c = seeded(
        store,
        "u",
        vec![doc! {
            "_id": 1, "t": [1, 5, 6, 7, 9],
            "items": [{ "sku": "a", "qty": 5 }, { "sku": "b", "qty": 1 }, { "sku": "c", "qty": 2, "x": 0 }],
        }],
    )
    .await;
    let d = update(&c, doc! { "$pull": { "t": { "$gte": 6 } } }).await;
    assert_eq!(
        d.get_array("t").unwrap(),
        &vec![Bson::Int32(1), Bson::Int32(5)]
    );
    let d = update(&c, doc! { "$pull": { "items": { "qty": { "$lt": 3 } } } }).await;
    assert_eq!(
        d.get_array("items").unwrap(),
        &vec![Bson::Document(doc! { "sku": "a", "qty": 5 })]
    );
    let d = update(
        &c,
        doc! { "$pull": { "t": { "$in": [1, 5] }, "items": { "sku": "a" } } },
    )
    .await;
    assert!(d.get_array("t").unwrap().is_empty());
    assert!(d.get_array("items").unwrap().is_empty());
}

async fn add_to_set(store: &Store, ctx: &Ctx) {
    let c = seeded(store, "u", vec![doc! { "_id": 1, "t": [1, "a"], "s": 1 }]).await;
    let r = c
        .update_one(doc! { "_id": 1 }, doc! { "$addToSet": { "t": 1.0 } })
        .await
        .unwrap();
    assert_eq!(r.modified, 0, "1.0 equals 1");
    let d = update(
        &c,
        doc! { "$addToSet": { "t": { "$each": [2, 3, 3, "b", "a"] } } },
    )
    .await;
    let want: Vec<Bson> = vec![1.into(), "a".into(), 2.into(), 3.into(), "b".into()];
    assert_eq!(d.get_array("t").unwrap(), &want);
    let d = update(
        &c,
        doc! { "$addToSet": { "d": { "x": 1, "y": 2 }, "new": "z" } },
    )
    .await;
    assert_eq!(d.get_array("new").unwrap(), &vec![Bson::String("z".into())]);
    // Documents are the same only with the same fields in the same order.
    let d = update(&c, doc! { "$addToSet": { "d": { "y": 2, "x": 1 } } }).await;
    assert_eq!(d.get_array("d").unwrap().len(), 2);
    let r = c
        .update_one(
            doc! { "_id": 1 },
            doc! { "$addToSet": { "d": { "x": 1, "y": 2 } } },
        )
        .await
        .unwrap();
    assert_eq!(r.modified, 0);
    ctx.fails_with(
        c.update_one(doc! { "_id": 1 }, doc! { "$addToSet": { "s": 2 } })
            .await,
        ErrorKind::BadRequest,
    );
}

async fn rename(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "u",
        vec![doc! { "_id": 1, "a": 1, "b": { "c": 2 }, "z": 0 }],
    )
    .await;
    let d = update(&c, doc! { "$rename": { "a": "x" } }).await;
    assert_eq!(d, doc! { "_id": 1, "b": { "c": 2 }, "z": 0, "x": 1 });
    let d = update(&c, doc! { "$rename": { "b.c": "b.d" } }).await;
    assert_eq!(d, doc! { "_id": 1, "b": { "d": 2 }, "z": 0, "x": 1 });
    let r = c
        .update_one(doc! { "_id": 1 }, doc! { "$rename": { "missing": "y" } })
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified), (1, 0));
    let d = update(&c, doc! { "$rename": { "z": "x" } }).await;
    assert_eq!(
        d,
        doc! { "_id": 1, "b": { "d": 2 }, "x": 0 },
        "renaming onto a field replaces it"
    );
    let d = update(&c, doc! { "$rename": { "x": "n.m" } }).await;
    assert_eq!(d, doc! { "_id": 1, "b": { "d": 2 }, "n": { "m": 0 } });
}

async fn current_date(store: &Store, _: &Ctx) {
    let c = seeded(store, "u", vec![doc! { "_id": 1 }]).await;
    let before = DateTime::now().timestamp_millis();
    let d = update(&c, doc! { "$currentDate": { "d": true, "e": { "$type": "date" }, "t": { "$type": "timestamp" } } })
        .await;
    let after = DateTime::now().timestamp_millis();
    for field in ["d", "e"] {
        let Some(Bson::DateTime(at)) = d.get(field) else {
            panic!("{field} is a date: {d}")
        };
        let at = at.timestamp_millis();
        assert!(
            at >= before - 5_000 && at <= after + 5_000,
            "{field} is now"
        );
    }
    let Some(Bson::Timestamp(Timestamp { time, .. })) = d.get("t") else {
        panic!("t is a timestamp: {d}")
    };
    let seconds = i64::from(*time);
    assert!(
        seconds >= before / 1000 - 5 && seconds <= after / 1000 + 5,
        "t is now"
    );
}

async fn set_on_insert(store: &Store, _: &Ctx) {
    let c = raw(store, "u");
    let r = c
        .upsert(
            doc! { "_id": "k" },
            doc! { "$set": { "a": 1 }, "$setOnInsert": { "created": true } },
        )
        .await
        .unwrap();
    assert_eq!(
        (r.matched, r.modified, r.upserted_id),
        (0, 0, Some(Bson::String("k".into())))
    );
    assert_eq!(
        get(&c, "k").await,
        doc! { "_id": "k", "a": 1, "created": true }
    );
    let r = c
        .upsert(
            doc! { "_id": "k" },
            doc! { "$set": { "a": 2 }, "$setOnInsert": { "created": false } },
        )
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified, r.upserted_id), (1, 1, None));
    assert_eq!(
        get(&c, "k").await,
        doc! { "_id": "k", "a": 2, "created": true }
    );
    let r = c
        .update_one(
            doc! { "_id": "k" },
            doc! { "$setOnInsert": { "created": 0 } },
        )
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified), (1, 0));
}

async fn set_on_insert_null(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::SetOnInsertNull) {
        return;
    }
    let c = raw(store, "u");
    let update =
        doc! { "$setOnInsert": { "gone": null, "empty": [], "sub.none": null, "kept": 1 } };
    c.upsert(doc! { "_id": 1 }, update).await.unwrap();
    assert_eq!(
        get(&c, 1).await,
        doc! { "_id": 1, "empty": [], "gone": null, "kept": 1, "sub": { "none": null } }
    );
}

async fn update_counts(store: &Store, _: &Ctx) {
    let docs = [1, 1, 1, 2, 2]
        .iter()
        .enumerate()
        .map(|(i, g)| doc! { "_id": i as i32, "g": *g, "v": 0 });
    let c = seeded(store, "u", docs.collect()).await;
    c.update_one(doc! { "_id": 0 }, doc! { "$set": { "v": 1 } })
        .await
        .unwrap();
    let r = c
        .update_many(doc! { "g": 1 }, doc! { "$set": { "v": 1 } })
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified, r.upserted_id), (3, 2, None));
    let r = c
        .update_one(doc! { "g": 2 }, doc! { "$inc": { "v": 1 } })
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified), (1, 1));
    assert_eq!(
        c.count(doc! { "g": 2, "v": 1 }).await.unwrap(),
        1,
        "update_one changes one document"
    );
    let r = c
        .update_many(doc! { "g": 9 }, doc! { "$set": { "v": 1 } })
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified, r.upserted_id), (0, 0, None));
    let r = c
        .update_many(doc! {}, doc! { "$inc": { "v": 10 } })
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified), (5, 5));
    assert_eq!(c.count(doc! { "v": { "$gte": 10 } }).await.unwrap(), 5);
}

async fn new_fields_in_field_name_order(store: &Store, _: &Ctx) {
    let c = seeded(store, "u", vec![doc! { "_id": 1, "x": 1, "s": {} }]).await;
    // MongoDB (5.0 on) applies an update's fields in field-name order, whatever the
    // operator: new fields are appended in that order.
    let d = update(
        &c,
        doc! { "$set": { "z": 1, "b": 1, "s.b": 1, "s.a": 1 }, "$inc": { "a": 1, "x": 1 } },
    )
    .await;
    let keys: Vec<&str> = d.keys().map(String::as_str).collect();
    assert_eq!(keys, ["_id", "x", "s", "a", "b", "z"]);
    let sub: Vec<&str> = d
        .get_document("s")
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(sub, ["a", "b"]);
}

async fn numeric_field_names_in_numeric_order(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::NumericFieldOrder) {
        return;
    }
    let c = seeded(store, "u", vec![doc! { "_id": 1 }]).await;
    let d = update(&c, doc! { "$set": { "n.10": 1, "n.9": 1, "n.a": 1 } }).await;
    let sub: Vec<&str> = d
        .get_document("n")
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(sub, ["9", "10", "a"]);
}

async fn unset_of_an_array_element(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::UnsetArrayElement) {
        return;
    }
    let c = seeded(
        store,
        "u",
        vec![doc! { "_id": 1, "arr": [1, 2, 3], "items": [{ "q": 1 }] }],
    )
    .await;
    let d = update(
        &c,
        doc! { "$unset": { "arr.0": "", "items.0": "", "arr.7": "" } },
    )
    .await;
    assert_eq!(
        d,
        doc! { "_id": 1, "arr": [null, 2, 3], "items": [null] },
        "the element becomes null"
    );
}

async fn increment_by_zero_is_no_change(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::NoOpIncrement) {
        return;
    }
    let c = seeded(store, "u", vec![doc! { "_id": 1, "a": 1 }]).await;
    for noop in [doc! { "$inc": { "a": 0 } }, doc! { "$mul": { "a": 1 } }] {
        let r = c.update_one(doc! { "_id": 1 }, noop.clone()).await.unwrap();
        assert_eq!((r.matched, r.modified), (1, 0), "{noop}");
    }
}

async fn conflicting_paths_are_refused(store: &Store, ctx: &Ctx) {
    let before = doc! { "_id": 1, "a": { "b": 1 }, "c": 1 };
    let c = seeded(store, "u", vec![before.clone()]).await;
    for bad in [
        doc! { "$set": { "c": 1 }, "$inc": { "c": 1 } },
        doc! { "$set": { "a": 1, "a.b": 2 } },
        doc! { "$set": { "a.b": 1 }, "$unset": { "a": "" } },
    ] {
        let r = c.update_one(doc! { "_id": 1 }, bad.clone()).await;
        ctx.refuses(&bad, r, ErrorKind::BadRequest);
    }
    assert_eq!(get(&c, 1).await, before);
}

async fn rename_onto_an_updated_path(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::RenameConflicts) {
        return;
    }
    let c = seeded(store, "u", vec![doc! { "_id": 1, "c": 1 }]).await;
    for bad in [
        doc! { "$rename": { "c": "d" }, "$set": { "d": 1 } },
        doc! { "$rename": { "c": "c.b" } },
    ] {
        ctx.refuses(
            &bad,
            c.update_one(doc! { "_id": 1 }, bad.clone()).await,
            ErrorKind::BadRequest,
        );
    }
    assert_eq!(get(&c, 1).await, doc! { "_id": 1, "c": 1 });
}

async fn paths_through_scalars_are_refused(store: &Store, ctx: &Ctx) {
    let before = doc! { "_id": 1, "a": 5, "arr": [1, 2] };
    let c = seeded(store, "u", vec![before.clone()]).await;
    for bad in [
        doc! { "$set": { "a.b": 1 } },
        doc! { "$inc": { "a.b": 1 } },
        doc! { "$set": { "arr.x": 1 } },
        doc! { "$push": { "a.b": 1 } },
    ] {
        let r = c.update_one(doc! { "_id": 1 }, bad.clone()).await;
        ctx.refuses(&bad, r, ErrorKind::BadRequest);
    }
    assert_eq!(get(&c, 1).await, before);
}

async fn dotted_paths_into_arrays(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "u",
        vec![doc! { "_id": 1, "items": [{ "q": 1 }, { "q": 2 }] }],
    )
    .await;
    let d = update(&c, doc! { "$inc": { "items.1.q": 5 } }).await;
    assert_eq!(d, doc! { "_id": 1, "items": [{ "q": 1 }, { "q": 7 }] });
    let d = update(&c, doc! { "$set": { "items.0.r": "x" } }).await;
    assert_eq!(
        d,
        doc! { "_id": 1, "items": [{ "q": 1, "r": "x" }, { "q": 7 }] }
    );
    let d = update(&c, doc! { "$unset": { "items.0.q": "" } }).await;
    assert_eq!(d, doc! { "_id": 1, "items": [{ "r": "x" }, { "q": 7 }] });
    let d = update(&c, doc! { "$set": { "items.3.q": 0 } }).await;
    assert_eq!(
        d,
        doc! { "_id": 1, "items": [{ "r": "x" }, { "q": 7 }, null, { "q": 0 }] }
    );
}

async fn upsert_seeds_equalities(store: &Store, _: &Ctx) {
    let c = raw(store, "u");
    let r = c
        .upsert(
            doc! { "_id": "u1", "e": { "$eq": "x" }, "k": 1, "s.t": 2 },
            doc! { "$set": { "v": 1 } },
        )
        .await
        .unwrap();
    assert_eq!(
        (r.matched, r.modified, r.upserted_id),
        (0, 0, Some(Bson::String("u1".into())))
    );
    assert_eq!(
        get(&c, "u1").await,
        doc! { "_id": "u1", "e": "x", "k": 1, "s": { "t": 2 }, "v": 1 }
    );
    // Ranges and $or say nothing about the new document.
    let filter = doc! { "_id": "u2", "n": { "$gt": 5 }, "$or": [{ "o": 1 }, { "o": 2 }] };
    c.upsert(filter, doc! { "$set": { "v": 2 } }).await.unwrap();
    assert_eq!(get(&c, "u2").await, doc! { "_id": "u2", "v": 2 });
    // The update wins over the filter's equality.
    c.upsert(doc! { "_id": "u3", "k": 1 }, doc! { "$set": { "k": 2 } })
        .await
        .unwrap();
    assert_eq!(get(&c, "u3").await, doc! { "_id": "u3", "k": 2 });
    // A second upsert with the first filter finds the document.
    let r = c
        .upsert(doc! { "_id": "u1", "k": 1 }, doc! { "$inc": { "v": 1 } })
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified, r.upserted_id), (1, 1, None));
    assert_eq!(c.count(doc! {}).await.unwrap(), 3);
}

async fn upsert_leaves_regex_out(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::UpsertSkipsRegex) {
        return;
    }
    let c = raw(store, "u");
    c.upsert(
        doc! { "_id": "r", "name": re("^a", "i") },
        doc! { "$set": { "v": 1 } },
    )
    .await
    .unwrap();
    assert_eq!(get(&c, "r").await, doc! { "_id": "r", "v": 1 });
}

async fn upsert_with_a_range_filter(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::UpsertRangeFilter) {
        return;
    }
    let c = raw(store, "u");
    c.upsert(
        doc! { "_id": "r", "n": { "$gte": 1, "$lt": 5 } },
        doc! { "$set": { "v": 1 } },
    )
    .await
    .unwrap();
    assert_eq!(get(&c, "r").await, doc! { "_id": "r", "v": 1 });
}

async fn upsert_seeds_from_and(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::UpsertSeedsAnd) {
        return;
    }
    let c = raw(store, "u");
    c.upsert(
        doc! { "$and": [{ "a": 1 }, { "b": 2 }], "_id": "c1" },
        doc! { "$set": { "n": 1 } },
    )
    .await
    .unwrap();
    assert_eq!(
        get(&c, "c1").await,
        doc! { "_id": "c1", "a": 1, "b": 2, "n": 1 }
    );
}

async fn upsert_cannot_push_onto_a_seeded_scalar(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::UpsertPushOntoSeededScalar) {
        return;
    }
    let c = raw(store, "u");
    for update in [
        doc! { "$push": { "c": 1 } },
        doc! { "$addToSet": { "c": 1 } },
    ] {
        ctx.refuses(
            &update,
            c.upsert(doc! { "c": 0 }, update.clone()).await,
            ErrorKind::BadRequest,
        );
    }
    let update = doc! { "$inc": { "c": 1 } };
    ctx.refuses(
        &update,
        c.upsert(doc! { "c.d": 0 }, update.clone()).await,
        ErrorKind::BadRequest,
    );
    assert_eq!(c.count(doc! {}).await.unwrap(), 0);
}

async fn upsert_generates_an_id(store: &Store, _: &Ctx) {
    let c = raw(store, "u");
    let r = c
        .upsert(doc! { "k": "new" }, doc! { "$set": { "v": 1 } })
        .await
        .unwrap();
    let Some(id @ Bson::ObjectId(_)) = r.upserted_id else {
        panic!("a generated ObjectId, got {r:?}")
    };
    assert_eq!(
        get(&c, id.clone()).await,
        doc! { "_id": id, "k": "new", "v": 1 }
    );
    let r = c
        .upsert(doc! { "k": "new" }, doc! { "$set": { "v": 2 } })
        .await
        .unwrap();
    assert_eq!((r.matched, r.upserted_id), (1, None));
}
