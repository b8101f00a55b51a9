//! The query operators of the subset, with MongoDB's semantics: BSON type brackets, null
//! matching missing, dotted paths into subdocuments and arrays, element matching.

use flagstone::store::{Bson, ObjectId, Store, doc};

use crate::support::{Ctx, Feature, assert_matches, conformance, re, seeded};

conformance!(
    equality,
    subdocument_equality_on_arrays,
    numeric_types_are_equal,
    long_and_double_compare_exactly,
    null_and_missing,
    comparisons_stay_in_their_bracket,
    in_and_nin,
    exists,
    exists_with_numbers,
    regex_basics,
    regex_options,
    regex_extended_option,
    unicode_strings,
    and_or_nor,
    not,
    negation_through_arrays,
    elem_match_one_condition,
    elem_match_several_conditions,
    elem_match_documents,
    size,
    all,
    all_across_elements,
    dotted_paths,
    ranges_through_arrays,
    null_in_array_of_documents,
    arrays_of_arrays,
    empty_filter_and_missing_collection,
);

async fn equality(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "eq",
        vec![
            doc! { "_id": 1, "a": 1, "s": { "x": 1, "y": 2 } },
            doc! { "_id": 2, "a": [1, 2], "s": { "y": 2, "x": 1 } },
            doc! { "_id": 3, "a": [1, 3], "s": { "x": 1 } },
            doc! { "_id": 4, "a": "1", "s": null },
            doc! { "_id": 5, "a": true },
        ],
    )
    .await;
    assert_matches(&c, doc! { "a": 1 }, &[1, 2, 3]).await;
    assert_matches(&c, doc! { "a": { "$eq": 1 } }, &[1, 2, 3]).await;
    assert_matches(&c, doc! { "a": [1, 2] }, &[2]).await;
    assert_matches(&c, doc! { "a": [2, 1] }, &[]).await;
    assert_matches(&c, doc! { "a": "1" }, &[4]).await;
    assert_matches(&c, doc! { "a": true }, &[5]).await;
    // Subdocuments compare whole, field order included.
    assert_matches(&c, doc! { "s": { "x": 1, "y": 2 } }, &[1]).await;
    assert_matches(&c, doc! { "s": { "y": 2, "x": 1 } }, &[2]).await;
    assert_matches(&c, doc! { "s.x": 1 }, &[1, 2, 3]).await;
    assert_matches(&c, doc! { "s.x": 1, "s.y": 2 }, &[1, 2]).await;
    assert_matches(&c, doc! { "a": 1, "_id": 2 }, &[2]).await;
    assert_matches(&c, doc! { "a": 3 }, &[3]).await;
}

async fn subdocument_equality_on_arrays(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::DocumentElementEquality) {
        return;
    }
    let c = seeded(
        store,
        "eq",
        vec![
            doc! { "_id": 1, "stock": [{ "w": "A", "q": 5 }, { "w": "B", "q": 1 }] },
            doc! { "_id": 2, "stock": { "w": "A", "q": 5 } },
            doc! { "_id": 3, "stock": [{ "q": 5, "w": "A" }] },
            doc! { "_id": 4, "stock": [{}] },
        ],
    )
    .await;
    assert_matches(&c, doc! { "stock": { "w": "A", "q": 5 } }, &[1, 2]).await;
    assert_matches(
        &c,
        doc! { "stock": { "$eq": { "w": "A", "q": 5 } } },
        &[1, 2],
    )
    .await;
    assert_matches(
        &c,
        doc! { "stock": { "$in": [{ "w": "B", "q": 1 }, {}] } },
        &[1, 4],
    )
    .await;
    assert_matches(
        &c,
        doc! { "stock": { "$ne": { "w": "A", "q": 5 } } },
        &[3, 4],
    )
    .await;
    assert_matches(&c, doc! { "stock": { "$nin": [{}] } }, &[1, 2, 3]).await;
}

async fn numeric_types_are_equal(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "num",
        vec![
            doc! { "_id": 1, "n": 1 },
            doc! { "_id": 2, "n": 1i64 },
            doc! { "_id": 3, "n": 1.0 },
            doc! { "_id": 4, "n": 1.5 },
            doc! { "_id": 5, "n": "1" },
            doc! { "_id": 6, "n": [1i64, 7] },
            doc! { "_id": 7, "n": -0.0 },
            doc! { "_id": 8, "n": 0 },
        ],
    )
    .await;
    for one in [Bson::Int32(1), Bson::Int64(1), Bson::Double(1.0)] {
        assert_matches(&c, doc! { "n": one.clone() }, &[1, 2, 3, 6]).await;
        assert_matches(&c, doc! { "n": { "$in": [one.clone()] } }, &[1, 2, 3, 6]).await;
        // Different elements of an array may meet the two bounds.
        assert_matches(&c, doc! { "n": { "$gt": one.clone(), "$lt": 2 } }, &[4, 6]).await;
        assert_matches(&c, doc! { "n": { "$gte": one.clone() } }, &[1, 2, 3, 4, 6]).await;
    }
    assert_matches(&c, doc! { "n": 0 }, &[7, 8]).await;
    assert_matches(&c, doc! { "n": 7.0 }, &[6]).await;
}

async fn long_and_double_compare_exactly(store: &Store, _: &Ctx) {
    // 2^53 + 1 has no double; the double 2^53 is smaller.
    let big = 9_007_199_254_740_993i64;
    let c = seeded(
        store,
        "num",
        vec![
            doc! { "_id": 1, "n": big },
            doc! { "_id": 2, "n": 9_007_199_254_740_992.0 },
            doc! { "_id": 3, "n": i64::MAX },
            doc! { "_id": 4, "n": 9.3e18 },
        ],
    )
    .await;
    assert_matches(&c, doc! { "n": big }, &[1]).await;
    assert_matches(&c, doc! { "n": 9_007_199_254_740_992.0 }, &[2]).await;
    assert_matches(
        &c,
        doc! { "n": { "$gt": 9_007_199_254_740_992.0 } },
        &[1, 3, 4],
    )
    .await;
    assert_matches(&c, doc! { "n": { "$lt": big } }, &[2]).await;
    assert_matches(&c, doc! { "n": { "$gt": i64::MAX } }, &[4]).await;
    let order = crate::support::sorted_ids(&c, doc! { "n": 1 }).await;
    assert_eq!(order, crate::support::int_ids(&[2, 1, 3, 4]));
}

async fn null_and_missing(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "nulls",
        vec![
            doc! { "_id": 1, "a": null },
            doc! { "_id": 2 },
            doc! { "_id": 3, "a": 0 },
            doc! { "_id": 4, "a": [null, 1] },
            doc! { "_id": 5, "a": [] },
            doc! { "_id": 6, "a": false },
            doc! { "_id": 7, "a": "" },
            doc! { "_id": 8, "a": { "b": null } },
        ],
    )
    .await;
    assert_matches(&c, doc! { "a": null }, &[1, 2, 4]).await;
    assert_matches(&c, doc! { "a": { "$eq": null } }, &[1, 2, 4]).await;
    assert_matches(&c, doc! { "a": { "$ne": null } }, &[3, 5, 6, 7, 8]).await;
    assert_matches(&c, doc! { "a": { "$in": [null] } }, &[1, 2, 4]).await;
    assert_matches(&c, doc! { "a": { "$nin": [null] } }, &[3, 5, 6, 7, 8]).await;
    assert_matches(&c, doc! { "a": { "$in": [null, 0] } }, &[1, 2, 3, 4]).await;
    assert_matches(&c, doc! { "a": { "$gte": null } }, &[1, 2, 4]).await;
    assert_matches(&c, doc! { "a": { "$lte": null } }, &[1, 2, 4]).await;
    assert_matches(&c, doc! { "a": { "$gt": null } }, &[]).await;
    assert_matches(
        &c,
        doc! { "a": { "$exists": true } },
        &[1, 3, 4, 5, 6, 7, 8],
    )
    .await;
    assert_matches(&c, doc! { "a": { "$exists": false } }, &[2]).await;
    // A path through a scalar or a missing parent is missing.
    assert_matches(
        &c,
        doc! { "a.b": null, "_id": { "$nin": [4, 5] } },
        &[1, 2, 3, 6, 7, 8],
    )
    .await;
    assert_matches(&c, doc! { "a.b": { "$exists": true } }, &[8]).await;
    assert_matches(&c, doc! { "a": [] }, &[5]).await;
    assert_matches(&c, doc! { "a": false }, &[6]).await;
    assert_matches(&c, doc! { "a": 0 }, &[3]).await;
}

async fn comparisons_stay_in_their_bracket(store: &Store, _: &Ctx) {
    let oid = ObjectId::from_bytes([1; 12]);
    let date = flagstone::bson::DateTime::from_millis(1_700_000_000_000);
    let c = seeded(
        store,
        "cmp",
        vec![
            doc! { "_id": 1, "v": 5 },
            doc! { "_id": 2, "v": "5" },
            doc! { "_id": 3, "v": 10.5 },
            doc! { "_id": 4, "v": "abc" },
            doc! { "_id": 5, "v": true },
            doc! { "_id": 6, "v": date },
            doc! { "_id": 7, "v": oid },
            doc! { "_id": 8, "v": { "x": 1 } },
            doc! { "_id": 9, "v": [1, "z"] },
            doc! { "_id": 10 },
            doc! { "_id": 11, "v": false },
        ],
    )
    .await;
    assert_matches(&c, doc! { "v": { "$gt": 4 } }, &[1, 3]).await;
    assert_matches(&c, doc! { "v": { "$lt": 6 } }, &[1, 9]).await;
    assert_matches(&c, doc! { "v": { "$lte": 5 } }, &[1, 9]).await;
    assert_matches(&c, doc! { "v": { "$gte": "a" } }, &[4, 9]).await;
    assert_matches(&c, doc! { "v": { "$lt": "a" } }, &[2]).await;
    assert_matches(&c, doc! { "v": { "$gt": false } }, &[5]).await;
    assert_matches(&c, doc! { "v": { "$gte": false } }, &[5, 11]).await;
    assert_matches(&c, doc! { "v": { "$gte": date } }, &[6]).await;
    assert_matches(
        &c,
        doc! { "v": { "$lt": flagstone::bson::DateTime::from_millis(1) } },
        &[],
    )
    .await;
    assert_matches(
        &c,
        doc! { "v": { "$gte": ObjectId::from_bytes([0; 12]) } },
        &[7],
    )
    .await;
    assert_matches(&c, doc! { "v": { "$gt": { "x": 0 } } }, &[8]).await;
    assert_matches(&c, doc! { "v": { "$gt": 4, "$lt": 6 } }, &[1]).await;
    assert_matches(
        &c,
        doc! { "v": { "$ne": 5 } },
        &[2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    )
    .await;
}

async fn in_and_nin(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "in",
        vec![
            doc! { "_id": 1, "t": "apple" },
            doc! { "_id": 2, "t": ["banana", "cherry"] },
            doc! { "_id": 3, "t": 3 },
            doc! { "_id": 4 },
            doc! { "_id": 5, "t": "Avocado" },
        ],
    )
    .await;
    assert_matches(&c, doc! { "t": { "$in": ["apple", "cherry"] } }, &[1, 2]).await;
    assert_matches(&c, doc! { "t": { "$in": [3.0] } }, &[3]).await;
    assert_matches(&c, doc! { "t": { "$in": [] } }, &[]).await;
    assert_matches(&c, doc! { "t": { "$in": [re("^a", "i")] } }, &[1, 5]).await;
    assert_matches(&c, doc! { "t": { "$in": [re("rr", ""), 3] } }, &[2, 3]).await;
    assert_matches(
        &c,
        doc! { "t": { "$nin": ["apple", "cherry"] } },
        &[3, 4, 5],
    )
    .await;
    assert_matches(&c, doc! { "t": { "$nin": [] } }, &[1, 2, 3, 4, 5]).await;
    assert_matches(&c, doc! { "t": { "$nin": [re("^a", "i")] } }, &[2, 3, 4]).await;
    assert_matches(&c, doc! { "t": { "$in": [["banana", "cherry"]] } }, &[2]).await;
}

async fn exists(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "exists",
        vec![
            doc! { "_id": 1, "a": { "b": 1 } },
            doc! { "_id": 2, "a": { "c": 1 } },
            doc! { "_id": 3, "a": [{ "c": 1 }, { "b": null }] },
            doc! { "_id": 4, "a": 1 },
            doc! { "_id": 5 },
        ],
    )
    .await;
    assert_matches(&c, doc! { "a": { "$exists": true } }, &[1, 2, 3, 4]).await;
    assert_matches(&c, doc! { "a": { "$exists": false } }, &[5]).await;
    assert_matches(&c, doc! { "a.b": { "$exists": true } }, &[1, 3]).await;
    assert_matches(&c, doc! { "a.b": { "$exists": false } }, &[2, 4, 5]).await;
}

async fn exists_with_numbers(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::ExistsWithNumbers) {
        return;
    }
    let c = seeded(
        store,
        "exists",
        vec![doc! { "_id": 1, "a": 0 }, doc! { "_id": 2 }],
    )
    .await;
    assert_matches(&c, doc! { "a": { "$exists": 1 } }, &[1]).await;
    assert_matches(&c, doc! { "a": { "$exists": 0 } }, &[2]).await;
}

async fn regex_basics(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "re",
        vec![
            doc! { "_id": 1, "s": "apple pie" },
            doc! { "_id": 2, "s": ["cherry", "grape"] },
            doc! { "_id": 3, "s": 42 },
            doc! { "_id": 4 },
            doc! { "_id": 5, "s": "Apple" },
        ],
    )
    .await;
    assert_matches(&c, doc! { "s": { "$regex": "^app" } }, &[1]).await;
    assert_matches(&c, doc! { "s": re("^app", "") }, &[1]).await;
    assert_matches(&c, doc! { "s": { "$regex": "ape$" } }, &[2]).await;
    assert_matches(&c, doc! { "s": { "$regex": "4" } }, &[]).await;
    assert_matches(&c, doc! { "s": { "$regex": "" } }, &[1, 2, 5]).await;
    assert_matches(
        &c,
        doc! { "s": { "$regex": "^app", "$options": "i" } },
        &[1, 5],
    )
    .await;
    assert_matches(&c, doc! { "s": { "$regex": re("^APP", "i") } }, &[1, 5]).await;
    assert_matches(&c, doc! { "s": { "$not": re("^a", "i") } }, &[2, 3, 4]).await;
}

async fn regex_options(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "re",
        vec![
            doc! { "_id": 1, "s": "first line\nsecond line" },
            doc! { "_id": 2, "s": "one line" },
        ],
    )
    .await;
    assert_matches(&c, doc! { "s": { "$regex": "^second" } }, &[]).await;
    assert_matches(
        &c,
        doc! { "s": { "$regex": "^second", "$options": "m" } },
        &[1],
    )
    .await;
    assert_matches(
        &c,
        doc! { "s": { "$regex": "line$", "$options": "m" } },
        &[1, 2],
    )
    .await;
    assert_matches(&c, doc! { "s": { "$regex": "first.*second" } }, &[]).await;
    assert_matches(
        &c,
        doc! { "s": { "$regex": "first.*second", "$options": "s" } },
        &[1],
    )
    .await;
    assert_matches(
        &c,
        doc! { "s": { "$regex": "FIRST.*SECOND", "$options": "si" } },
        &[1],
    )
    .await;
}

async fn regex_extended_option(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::RegexExtended) {
        return;
    }
    let c = seeded(
        store,
        "re",
        vec![
            doc! { "_id": 1, "s": "abc" },
            doc! { "_id": 2, "s": "a b c" },
        ],
    )
    .await;
    assert_matches(
        &c,
        doc! { "s": { "$regex": "a b c # spaces and comments are ignored", "$options": "x" } },
        &[1],
    )
    .await;
}

async fn unicode_strings(store: &Store, _: &Ctx) {
    let words = [
        "école",
        "ÉCOLE",
        "日本語",
        "naïve",
        "zebra",
        "😀 smile",
        "Straße",
        "ÄBC",
    ];
    let docs = words
        .iter()
        .enumerate()
        .map(|(i, w)| doc! { "_id": i as i32 + 1, "w": *w })
        .collect();
    let c = seeded(store, "unicode", docs).await;
    for (i, w) in words.iter().enumerate() {
        let found = crate::support::get(&c, i as i32 + 1).await;
        assert_eq!(found.get_str("w").unwrap(), *w, "round trip of {w}");
    }
    assert_matches(&c, doc! { "w": "日本語" }, &[3]).await;
    assert_matches(&c, doc! { "w": { "$regex": "^日" } }, &[3]).await;
    // `.` is one character (code point), not one byte.
    assert_matches(&c, doc! { "w": { "$regex": "^.{3}$" } }, &[3, 8]).await;
    assert_matches(&c, doc! { "w": { "$regex": "^.{5}$" } }, &[1, 2, 4, 5]).await;
    assert_matches(&c, doc! { "w": { "$regex": "^😀" } }, &[6]).await;
    // Case-insensitive matching folds non-ASCII letters too.
    assert_matches(
        &c,
        doc! { "w": { "$regex": "^école$", "$options": "i" } },
        &[1, 2],
    )
    .await;
    assert_matches(
        &c,
        doc! { "w": { "$regex": "^äbc$", "$options": "i" } },
        &[8],
    )
    .await;
    assert_matches(
        &c,
        doc! { "w": { "$regex": "straße", "$options": "i" } },
        &[7],
    )
    .await;
    // Strings compare by code point (binary UTF-8): ASCII capitals < lower case < accents.
    let order = crate::support::sorted_ids(&c, doc! { "w": 1 }).await;
    assert_eq!(order, crate::support::int_ids(&[7, 4, 5, 8, 2, 1, 3, 6]));
    assert_matches(&c, doc! { "w": { "$gt": "z" } }, &[1, 2, 3, 5, 6, 8]).await;
}

async fn and_or_nor(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "logic",
        vec![
            doc! { "_id": 1, "a": 1, "b": 1 },
            doc! { "_id": 2, "a": 1, "b": 2 },
            doc! { "_id": 3, "a": 2, "b": 2 },
            doc! { "_id": 4, "a": 3 },
        ],
    )
    .await;
    assert_matches(&c, doc! { "$and": [{ "a": 1 }, { "b": 2 }] }, &[2]).await;
    assert_matches(
        &c,
        doc! { "$and": [{ "a": { "$gte": 1 } }, { "a": { "$lt": 3 } }] },
        &[1, 2, 3],
    )
    .await;
    assert_matches(&c, doc! { "$or": [{ "a": 2 }, { "b": 1 }] }, &[1, 3]).await;
    assert_matches(
        &c,
        doc! { "$or": [{ "b": { "$exists": false } }, { "a": 99 }] },
        &[4],
    )
    .await;
    assert_matches(&c, doc! { "$nor": [{ "a": 1 }, { "b": 2 }] }, &[4]).await;
    assert_matches(&c, doc! { "$nor": [{ "b": 1 }] }, &[2, 3, 4]).await;
    assert_matches(&c, doc! { "a": 1, "$or": [{ "b": 1 }, { "b": 3 }] }, &[1]).await;
    assert_matches(
        &c,
        doc! { "$or": [{ "$and": [{ "a": 1 }, { "b": 2 }] }, { "$nor": [{ "a": { "$lt": 3 } }] }] },
        &[2, 4],
    )
    .await;
    assert_matches(
        &c,
        doc! { "$and": [{ "$or": [{ "a": 1 }, { "a": 2 }] }, { "$or": [{ "b": 2 }] }] },
        &[2, 3],
    )
    .await;
}

async fn not(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "not",
        vec![
            doc! { "_id": 1, "p": 1.99 },
            doc! { "_id": 2, "p": 2.5 },
            doc! { "_id": 3, "p": "cheap" },
            doc! { "_id": 4 },
            doc! { "_id": 5, "p": [1, 3] },
        ],
    )
    .await;
    assert_matches(&c, doc! { "p": { "$not": { "$gt": 2 } } }, &[1, 3, 4]).await;
    assert_matches(
        &c,
        doc! { "p": { "$not": { "$gt": 2, "$lt": 2.6 } } },
        &[1, 3, 4],
    )
    .await;
    assert_matches(
        &c,
        doc! { "p": { "$not": { "$in": [1, 2.5] } } },
        &[1, 3, 4],
    )
    .await;
    assert_matches(&c, doc! { "p": { "$not": { "$exists": true } } }, &[4]).await;
    assert_matches(&c, doc! { "p": { "$not": { "$size": 2 } } }, &[1, 2, 3, 4]).await;
}

async fn negation_through_arrays(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::NegationThroughArrays) {
        return;
    }
    let c = seeded(
        store,
        "not",
        vec![
            doc! { "_id": 1, "a": [{ "x": 2 }, { "x": 0 }] },
            doc! { "_id": 2, "a": [2, 0] },
            doc! { "_id": 3, "a": { "x": [2, 0] } },
            doc! { "_id": 4, "a": [{ "x": 0 }] },
        ],
    )
    .await;
    // The negation applies to the condition on all the values, not to each value.
    assert_matches(&c, doc! { "a.x": { "$ne": 2 } }, &[2, 4]).await;
    assert_matches(&c, doc! { "a.x": { "$nin": [2, 5] } }, &[2, 4]).await;
    assert_matches(&c, doc! { "a.x": { "$not": { "$gt": 0 } } }, &[2, 4]).await;
    assert_matches(&c, doc! { "$nor": [{ "a.x": { "$gt": 0 } }] }, &[2, 4]).await;
}

async fn elem_match_one_condition(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "em",
        vec![
            doc! { "_id": 1, "s": [82, 85, 88] },
            doc! { "_id": 2, "s": [75, 88, 89] },
            doc! { "_id": 3, "s": 90 },
            doc! { "_id": 4, "s": [] },
            doc! { "_id": 5, "s": ["a", 70] },
        ],
    )
    .await;
    assert_matches(&c, doc! { "s": { "$elemMatch": { "$gte": 89 } } }, &[2]).await;
    assert_matches(&c, doc! { "s": { "$elemMatch": { "$lt": 80 } } }, &[2, 5]).await;
    assert_matches(&c, doc! { "s": { "$elemMatch": { "$eq": "a" } } }, &[5]).await;
    assert_matches(
        &c,
        doc! { "s": { "$elemMatch": { "$in": [85, 70] } } },
        &[1, 5],
    )
    .await;
    // Only arrays: a scalar never matches $elemMatch.
    assert_matches(&c, doc! { "s": { "$elemMatch": { "$gte": 90 } } }, &[]).await;
}

async fn elem_match_several_conditions(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::ElemMatchSeveralConditions) {
        return;
    }
    let c = seeded(
        store,
        "em",
        vec![
            doc! { "_id": 1, "s": [82, 85, 88] },
            doc! { "_id": 2, "s": [75, 88, 89] },
            doc! { "_id": 3, "s": 83 },
        ],
    )
    .await;
    // One element must satisfy every condition ...
    assert_matches(
        &c,
        doc! { "s": { "$elemMatch": { "$gte": 80, "$lt": 85 } } },
        &[1],
    )
    .await;
    assert_matches(
        &c,
        doc! { "s": { "$elemMatch": { "$gt": 85, "$lt": 88 } } },
        &[],
    )
    .await;
    // ... while without $elemMatch different elements may.
    assert_matches(&c, doc! { "s": { "$gt": 85, "$lt": 88 } }, &[1, 2]).await;
}

async fn elem_match_documents(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::ElemMatchDocuments) {
        return;
    }
    let c = seeded(
        store,
        "em",
        vec![
            doc! { "_id": 1, "items": [{ "sku": "a", "qty": 1 }, { "sku": "b", "qty": 10 }] },
            doc! { "_id": 2, "items": [{ "sku": "a", "qty": 10 }] },
            doc! { "_id": 3, "items": { "sku": "a", "qty": 10 } },
            doc! { "_id": 4, "items": [1, "a"] },
        ],
    )
    .await;
    assert_matches(
        &c,
        doc! { "items": { "$elemMatch": { "sku": "a" } } },
        &[1, 2],
    )
    .await;
    assert_matches(
        &c,
        doc! { "items": { "$elemMatch": { "sku": "a", "qty": { "$gte": 5 } } } },
        &[2],
    )
    .await;
    // Without $elemMatch the conditions may hold in different elements.
    assert_matches(
        &c,
        doc! { "items.sku": "a", "items.qty": { "$gte": 5 } },
        &[1, 2, 3],
    )
    .await;
    assert_matches(
        &c,
        doc! { "items": { "$elemMatch": { "$or": [{ "sku": "b" }, { "qty": { "$gt": 5 } }] } } },
        &[1, 2],
    )
    .await;
}

async fn size(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "size",
        vec![
            doc! { "_id": 1, "t": [] },
            doc! { "_id": 2, "t": [1] },
            doc! { "_id": 3, "t": [1, "two"] },
            doc! { "_id": 4, "t": "ab" },
            doc! { "_id": 5 },
        ],
    )
    .await;
    assert_matches(&c, doc! { "t": { "$size": 0 } }, &[1]).await;
    assert_matches(&c, doc! { "t": { "$size": 1 } }, &[2]).await;
    assert_matches(&c, doc! { "t": { "$size": 2 } }, &[3]).await;
    assert_matches(&c, doc! { "t": { "$size": 2.0 } }, &[3]).await;
}

async fn all(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "all",
        vec![
            doc! { "_id": 1, "t": ["ssl", "security", "web"] },
            doc! { "_id": 2, "t": ["ssl"] },
            doc! { "_id": 3, "t": "ssl" },
            doc! { "_id": 4, "t": [] },
            doc! { "_id": 5 },
        ],
    )
    .await;
    assert_matches(&c, doc! { "t": { "$all": ["ssl", "security"] } }, &[1]).await;
    assert_matches(&c, doc! { "t": { "$all": ["security", "ssl"] } }, &[1]).await;
    assert_matches(&c, doc! { "t": { "$all": ["ssl"] } }, &[1, 2, 3]).await;
    assert_matches(&c, doc! { "t": { "$all": ["ssl", "ssl"] } }, &[1, 2, 3]).await;
    assert_matches(&c, doc! { "t": { "$all": [] } }, &[]).await;
}

async fn all_across_elements(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::AllAcrossElements) {
        return;
    }
    let c = seeded(
        store,
        "all",
        vec![
            doc! { "_id": 1, "items": [{ "t": "a" }, { "t": "b" }] },
            doc! { "_id": 2, "items": [{ "t": ["a", "b"] }] },
            doc! { "_id": 3, "items": [{ "t": "a" }] },
        ],
    )
    .await;
    // $all is an $and of equalities, each of which any element may satisfy.
    assert_matches(&c, doc! { "items.t": { "$all": ["a", "b"] } }, &[1, 2]).await;
    assert_matches(
        &c,
        doc! { "$and": [{ "items.t": "a" }, { "items.t": "b" }] },
        &[1, 2],
    )
    .await;
}

async fn dotted_paths(store: &Store, _: &Ctx) {
    let c = seeded(
        store,
        "paths",
        vec![
            doc! { "_id": 1, "a": { "b": { "c": 1 } } },
            doc! { "_id": 2, "a": [{ "b": { "c": 2 } }, { "b": { "c": 3 } }] },
            doc! { "_id": 3, "a": { "b": [{ "c": 4 }, { "c": 5 }] } },
            doc! { "_id": 4, "tags": ["x", "y"], "items": [{ "q": 1 }, { "q": 7 }] },
            doc! { "_id": 5, "a": { "0": "zero" }, "tags": { "0": "x" } },
            doc! { "_id": 6, "a": 1 },
        ],
    )
    .await;
    assert_matches(&c, doc! { "a.b.c": 1 }, &[1]).await;
    assert_matches(&c, doc! { "a.b.c": 3 }, &[2]).await;
    assert_matches(&c, doc! { "a.b.c": { "$gte": 4 } }, &[3]).await;
    assert_matches(&c, doc! { "a.b.c": { "$in": [2, 5] } }, &[2, 3]).await;
    assert_matches(&c, doc! { "a.1.b.c": 3 }, &[2]).await;
    assert_matches(&c, doc! { "a.0.b.c": 3 }, &[]).await;
    assert_matches(&c, doc! { "tags.0": "x" }, &[4, 5]).await;
    assert_matches(&c, doc! { "tags.1": "y" }, &[4]).await;
    assert_matches(&c, doc! { "items.1.q": 7 }, &[4]).await;
    assert_matches(&c, doc! { "items.q": { "$gt": 5 } }, &[4]).await;
    assert_matches(&c, doc! { "a.0": "zero" }, &[5]).await;
    assert_matches(&c, doc! { "a.b": { "$exists": true } }, &[1, 2, 3]).await;
    assert_matches(&c, doc! { "a.b.c.d": { "$exists": true } }, &[]).await;
}

async fn ranges_through_arrays(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::RangesThroughArrays) {
        return;
    }
    let c = seeded(
        store,
        "paths",
        vec![
            doc! { "_id": 1, "a": [{ "y": 2 }, { "y": -1.5 }] },
            doc! { "_id": 2, "a": [{ "y": 0 }] },
            doc! { "_id": 3, "a": { "y": [5, -5] } },
        ],
    )
    .await;
    // As on a plain array, each condition may be met by a different element.
    assert_matches(&c, doc! { "a.y": { "$gt": 0, "$lt": 0 } }, &[1, 3]).await;
    assert_matches(&c, doc! { "a.y": { "$gte": 0, "$lte": 0 } }, &[1, 2, 3]).await;
    assert_matches(&c, doc! { "a.y": { "$gte": 3, "$lte": 4 } }, &[3]).await;
    assert_matches(&c, doc! { "a.y": { "$in": [2, 9], "$exists": true } }, &[1]).await;
}

async fn null_in_array_of_documents(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::NullInArrayOfDocuments) {
        return;
    }
    let c = seeded(
        store,
        "nulls",
        vec![
            doc! { "_id": 1, "a": [{ "b": 1 }, { "c": 1 }] },
            doc! { "_id": 2, "a": [{ "b": 1 }, { "b": 2 }] },
            doc! { "_id": 3, "a": [{ "b": null }] },
        ],
    )
    .await;
    assert_matches(&c, doc! { "a.b": null }, &[1, 3]).await;
    assert_matches(&c, doc! { "a.b": { "$ne": null } }, &[2]).await;
}

async fn arrays_of_arrays(store: &Store, ctx: &Ctx) {
    if !ctx.requires(Feature::NestedArrays) {
        return;
    }
    let c = seeded(
        store,
        "nested",
        vec![
            doc! { "_id": 1, "a": [[1, 2], [3]] },
            doc! { "_id": 2, "a": [1, [2]] },
            doc! { "_id": 3, "a": [[[1]]] },
            doc! { "_id": 4, "a": [] },
        ],
    )
    .await;
    // Equality looks one level into arrays, not two.
    assert_matches(&c, doc! { "a": [1, 2] }, &[1]).await;
    assert_matches(&c, doc! { "a": [3] }, &[1]).await;
    assert_matches(&c, doc! { "a": 1 }, &[2]).await;
    assert_matches(&c, doc! { "a": 2 }, &[]).await;
    assert_matches(&c, doc! { "a": [2] }, &[2]).await;
    assert_matches(&c, doc! { "a": [[1]] }, &[3]).await;
    // A numeric path picks the inner array, which then matches by element.
    assert_matches(&c, doc! { "a.0": 2 }, &[1]).await;
    assert_matches(&c, doc! { "a.1": 2 }, &[2]).await;
    assert_matches(&c, doc! { "a.0.1": 2 }, &[1]).await;
    // $elemMatch tests whole elements: an inner array is not searched.
    assert_matches(&c, doc! { "a": { "$elemMatch": { "$gt": 1 } } }, &[]).await;
    assert_matches(
        &c,
        doc! { "a": { "$elemMatch": { "$size": 1 } } },
        &[1, 2, 3],
    )
    .await;
    assert_matches(&c, doc! { "a": { "$elemMatch": { "$eq": [3] } } }, &[1]).await;
    assert_matches(&c, doc! { "a": { "$size": 2 } }, &[1, 2]).await;
    assert_matches(&c, doc! { "a": { "$all": [[1, 2], [3]] } }, &[1]).await;
    assert_matches(&c, doc! { "a": { "$in": [[2]] } }, &[2]).await;
    assert_matches(&c, doc! { "a": { "$gt": 2 } }, &[]).await;
}

async fn empty_filter_and_missing_collection(store: &Store, _: &Ctx) {
    let missing = crate::support::raw(store, "never_written");
    assert!(missing.find(doc! {}).await.unwrap().is_empty());
    assert_eq!(missing.count(doc! { "a": 1 }).await.unwrap(), 0);
    assert!(!missing.exists(doc! {}).await.unwrap());
    assert!(missing.distinct("a", doc! {}).await.unwrap().is_empty());
    assert_eq!(missing.find_one(doc! {}).await.unwrap(), None);
    let c = seeded(store, "some", vec![doc! { "_id": 1 }, doc! { "_id": 2 }]).await;
    assert_matches(&c, doc! {}, &[1, 2]).await;
}
