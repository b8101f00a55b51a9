#!/usr/bin/env python3
"""Probe which MongoDB features a MongoDB-compatible server implements correctly.

    python3 scripts/probe-mongo-compat.py URI [--ttl-wait SECONDS]

Needs pymongo (`pip install pymongo`, e.g. in a throwaway venv). Each check runs on a fresh
collection of the database `flagstone_compat_probe` (dropped at the end) and compares the
server's answer with MongoDB's documented semantics. Prints Markdown tables on stdout:

    feature | result | notes

where result is `supported`, `unsupported` (the server rejects something MongoDB accepts;
the notes give its error code and message) or `wrong result` (the server answers, but not
as MongoDB does; the notes say what came back and what MongoDB returns).

The TTL check waits up to --ttl-wait seconds (default 75; MongoDB's TTL monitor runs every
60 s) for an expired document to be deleted; --ttl-wait 0 skips the wait.
"""

import argparse
import datetime
import re
import sys
import time

try:
    import pymongo
    from bson import Decimal128, Int64, ObjectId, Regex
    from pymongo import ASCENDING, DESCENDING, MongoClient, ReturnDocument
    from pymongo.errors import AutoReconnect, BulkWriteError, DuplicateKeyError, OperationFailure
except ImportError:  # pragma: no cover
    sys.exit("pymongo is needed: pip install pymongo")

DB_NAME = "flagstone_compat_probe"

SUPPORTED = "supported"
UNSUPPORTED = "unsupported"
WRONG = "wrong result"


class Wrong(Exception):
    """The server answered differently from MongoDB."""


CHECKS = []  # (section, feature, function)
SECTION = None


def section(name):
    global SECTION
    SECTION = name


def check(feature):
    def register(fn):
        CHECKS.append((SECTION, feature, fn))
        return fn

    return register


# --- helpers ------------------------------------------------------------------------------


def seed(c, docs):
    c.insert_many(docs)
    return c


def ids(cursor):
    return [d["_id"] for d in cursor]


def sorted_ids(c, filt):
    return sorted(ids(c.find(filt, {"_id": 1})), key=repr)


def code(text):
    """A Markdown code span holding text."""
    text = str(text)
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def expect(actual, expected, what=""):
    if actual != expected:
        prefix = f"{what}: " if what else ""
        raise Wrong(f"{prefix}got {code(short(actual))}, MongoDB gives {code(short(expected))}")


def expect_ids(c, filt, expected):
    expect(sorted_ids(c, filt), sorted(expected, key=repr), code(f"find({short(filt)})"))


def short(v, limit=160):
    s = repr(v)
    s = re.sub(r"datetime\.datetime\(([^)]*)\)", r"datetime(\1)", s)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def strip_id(doc):
    return {k: v for k, v in doc.items() if k != "_id"}


def op_error(fn):
    """Run fn, return the OperationFailure it raises (or None)."""
    try:
        fn()
    except OperationFailure as e:
        return e
    return None


def describe(e):
    details = e.details or {}
    name = details.get("codeName")
    msg = details.get("errmsg") or str(e)
    number = f"code {e.code}" + (f" ({name})" if name else "")
    return f"{number}: {code(msg.strip())}"


def expect_error(fn, code_, what, mongo_msg):
    """MongoDB answers fn() with error `code_`; check the server does too."""
    e = op_error(fn)
    if e is None:
        raise Wrong(f"{what} succeeded; MongoDB fails with code {code_} ({mongo_msg})")
    if e.code != code_:
        raise Wrong(f"{describe(e)}; MongoDB gives code {code_} ({mongo_msg})")
    return describe(e)


# --- query operators ----------------------------------------------------------------------

section("Query operators")

Q = [
    {"_id": 1, "a": 1},
    {"_id": 2, "a": 2},
    {"_id": 3, "a": 3},
    {"_id": 4},
    {"_id": 5, "a": "x"},
    {"_id": 6, "a": None},
]


@check("$eq")
def _(c):
    seed(c, Q)
    expect_ids(c, {"a": {"$eq": 2}}, [2])
    expect_ids(c, {"a": 2}, [2])


@check("$ne (also matches missing and null)")
def _(c):
    seed(c, Q)
    expect_ids(c, {"a": {"$ne": 2}}, [1, 3, 4, 5, 6])


@check("$gt $gte $lt $lte (type-bracketed: a string never matches a number bound)")
def _(c):
    seed(c, Q)
    expect_ids(c, {"a": {"$gt": 1}}, [2, 3])
    expect_ids(c, {"a": {"$gte": 2}}, [2, 3])
    expect_ids(c, {"a": {"$lt": 2}}, [1])
    expect_ids(c, {"a": {"$lte": 2}}, [1, 2])
    expect_ids(c, {"a": {"$gt": 1, "$lt": 3}}, [2])


@check("$in")
def _(c):
    seed(c, Q)
    expect_ids(c, {"a": {"$in": [1, 3]}}, [1, 3])
    expect_ids(c, {"a": {"$in": []}}, [])


@check("$in [null] matches null and missing")
def _(c):
    seed(c, Q)
    expect_ids(c, {"a": {"$in": [None]}}, [4, 6])


@check("$in with a regex member")
def _(c):
    seed(c, Q)
    expect_ids(c, {"a": {"$in": [Regex("^x"), 1]}}, [1, 5])


@check("$nin (also matches missing)")
def _(c):
    seed(c, Q)
    expect_ids(c, {"a": {"$nin": [1, 3]}}, [2, 4, 5, 6])


@check("$exists true / false (null counts as existing)")
def _(c):
    seed(c, Q)
    expect_ids(c, {"a": {"$exists": True}}, [1, 2, 3, 5, 6])
    expect_ids(c, {"a": {"$exists": False}}, [4])


@check("{a: null} matches null and missing; {a: {$ne: null}}")
def _(c):
    seed(c, Q)
    expect_ids(c, {"a": None}, [4, 6])
    expect_ids(c, {"a": {"$ne": None}}, [1, 2, 3, 5])


S = [
    {"_id": 1, "s": "apple"},
    {"_id": 2, "s": "Apple pie"},
    {"_id": 3, "s": "pine\napple"},
    {"_id": 4, "s": "a\nb"},
    {"_id": 5, "s": "abc"},
]


@check("$regex")
def _(c):
    seed(c, S)
    expect_ids(c, {"s": {"$regex": "^app"}}, [1])
    expect_ids(c, {"s": {"$regex": "pie$"}}, [2])


@check("$regex BSON regex value ({s: /^app/i})")
def _(c):
    seed(c, S)
    expect_ids(c, {"s": Regex("^app", "i")}, [1, 2])
    expect_ids(c, {"s": {"$regex": Regex("^app", "i")}}, [1, 2])


@check("$regex option i")
def _(c):
    seed(c, S)
    expect_ids(c, {"s": {"$regex": "^app", "$options": "i"}}, [1, 2])


@check("$regex option m")
def _(c):
    seed(c, S)
    expect_ids(c, {"s": {"$regex": "^apple$", "$options": "m"}}, [1, 3])
    expect_ids(c, {"s": {"$regex": "^apple$"}}, [1])


@check("$regex option s")
def _(c):
    seed(c, S)
    expect_ids(c, {"s": {"$regex": "a.b", "$options": "s"}}, [4])
    expect_ids(c, {"s": {"$regex": "a.b"}}, [])


@check("$regex option x")
def _(c):
    seed(c, S)
    expect_ids(c, {"s": {"$regex": "a b c  # comment", "$options": "x"}}, [5])


@check("$regex option u (pymongo sends it for every re.compile pattern)")
def _(c):
    seed(c, S)
    expect_ids(c, {"s": Regex("^app", "u")}, [1])
    expect_ids(c, {"s": re.compile("^app")}, [1])


@check("$regex on array elements")
def _(c):
    seed(c, [{"_id": 1, "t": ["xa", "yb"]}, {"_id": 2, "t": ["zc"]}])
    expect_ids(c, {"t": {"$regex": "^y"}}, [1])


@check("$and")
def _(c):
    seed(c, Q)
    expect_ids(c, {"$and": [{"a": {"$gt": 1}}, {"a": {"$lt": 3}}]}, [2])


@check("$or")
def _(c):
    seed(c, Q)
    expect_ids(c, {"$or": [{"a": 1}, {"a": 3}]}, [1, 3])


@check("$nor")
def _(c):
    seed(c, Q)
    expect_ids(c, {"$nor": [{"a": 1}, {"a": 3}]}, [2, 4, 5, 6])


@check("$not with an operator document (matches missing)")
def _(c):
    seed(c, Q)
    expect_ids(c, {"a": {"$not": {"$gt": 1}}}, [1, 4, 5, 6])


@check("$not with a regex")
def _(c):
    seed(c, S)
    expect_ids(c, {"s": {"$not": Regex("^app")}}, [2, 3, 4, 5])


E = [
    {"_id": 1, "scores": [82, 90]},
    {"_id": 2, "scores": [75, 88]},
    {"_id": 3, "scores": [95]},
    {"_id": 4, "scores": 82},
]


@check("$elemMatch on scalars with one operator condition")
def _(c):
    seed(c, E)
    expect_ids(c, {"scores": {"$elemMatch": {"$gt": 91}}}, [3])
    expect_ids(c, {"scores": {"$elemMatch": {"$in": [88]}}}, [2])


@check("$elemMatch on scalars with several operator conditions (one element must satisfy all)")
def _(c):
    seed(c, E)
    expect_ids(c, {"scores": {"$elemMatch": {"$gte": 80, "$lt": 85}}}, [1])


@check("range on an array without $elemMatch (conditions may match different elements)")
def _(c):
    seed(c, E)
    expect_ids(c, {"scores": {"$gte": 80, "$lt": 85}}, [1, 2, 4])


I = [
    {"_id": 1, "items": [{"sku": "a", "qty": 5}, {"sku": "b", "qty": 1}]},
    {"_id": 2, "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 10}]},
    {"_id": 3, "items": []},
]


@check("$elemMatch on subdocuments, one field condition")
def _(c):
    seed(c, I)
    expect_ids(c, {"items": {"$elemMatch": {"sku": "b"}}}, [1, 2])
    expect_ids(c, {"items": {"$elemMatch": {"qty": {"$gt": 5}}}}, [2])


@check("$elemMatch on subdocuments, several field conditions")
def _(c):
    seed(c, I)
    expect_ids(c, {"items": {"$elemMatch": {"sku": "a", "qty": {"$gte": 5}}}}, [1])


@check("$elemMatch with $or inside")
def _(c):
    seed(c, I)
    expect_ids(c, {"items": {"$elemMatch": {"$or": [{"qty": 5}, {"qty": 10}]}}}, [1, 2])


T = [
    {"_id": 1, "tags": ["x", "y"]},
    {"_id": 2, "tags": ["y"]},
    {"_id": 3, "tags": []},
    {"_id": 4, "tags": "x"},
    {"_id": 5, "tags": ["x", "z", "y"]},
]


@check("$size")
def _(c):
    seed(c, T)
    expect_ids(c, {"tags": {"$size": 2}}, [1])
    expect_ids(c, {"tags": {"$size": 0}}, [3])


@check("$all (a scalar field matches a one-element $all)")
def _(c):
    seed(c, T)
    expect_ids(c, {"tags": {"$all": ["x", "y"]}}, [1, 5])
    expect_ids(c, {"tags": {"$all": ["x"]}}, [1, 4, 5])


@check("$all with $elemMatch members")
def _(c):
    seed(c, I)
    expect_ids(
        c,
        {"items": {"$all": [{"$elemMatch": {"sku": "a"}}, {"$elemMatch": {"qty": 10}}]}},
        [2],
    )


@check("equality on an array field (element match and whole-array match)")
def _(c):
    seed(c, T)
    expect_ids(c, {"tags": "y"}, [1, 2, 5])
    expect_ids(c, {"tags": ["x", "y"]}, [1])
    expect_ids(c, {"tags": []}, [3])


@check("dotted path into subdocuments")
def _(c):
    seed(
        c,
        [
            {"_id": 1, "sub": {"k": 1, "deep": {"z": "q"}}},
            {"_id": 2, "sub": {"k": 2}},
            {"_id": 3, "sub": "str"},
            {"_id": 4},
        ],
    )
    expect_ids(c, {"sub.k": 2}, [2])
    expect_ids(c, {"sub.deep.z": "q"}, [1])
    expect_ids(c, {"sub.k": {"$exists": False}}, [3, 4])


@check("dotted path into arrays of subdocuments (items.qty)")
def _(c):
    seed(c, I)
    expect_ids(c, {"items.qty": {"$gt": 5}}, [2])
    expect_ids(c, {"items.sku": "b"}, [1, 2])
    expect_ids(c, {"items.sku": "a", "items.qty": {"$gte": 5}}, [1, 2])


@check("numeric path components (tags.0, items.1.qty)")
def _(c):
    seed(c, T)
    expect_ids(c, {"tags.0": "x"}, [1, 5])
    expect_ids(c, {"tags.1": {"$exists": True}}, [1, 5])
    c.drop()
    seed(c, I)
    expect_ids(c, {"items.1.qty": 10}, [2])
    expect_ids(c, {"items.0.sku": "a"}, [1, 2])


N = [
    {"_id": 1, "a": 1},
    {"_id": 2, "a": 1.0},
    {"_id": 3, "a": Int64(1)},
    {"_id": 4, "a": 1.5},
    {"_id": 5, "a": Int64(2)},
    {"_id": 6, "a": "1"},
]


@check("comparisons across numeric types (int32, int64, double)")
def _(c):
    seed(c, N)
    expect_ids(c, {"a": 1}, [1, 2, 3])
    expect_ids(c, {"a": 1.0}, [1, 2, 3])
    expect_ids(c, {"a": Int64(1)}, [1, 2, 3])
    expect_ids(c, {"a": {"$gt": 1}}, [4, 5])
    expect_ids(c, {"a": {"$lt": 2}}, [1, 2, 3, 4])
    expect_ids(c, {"a": {"$in": [2.0]}}, [5])


@check("Decimal128 values")
def _(c):
    seed(c, [{"_id": 1, "a": Decimal128("1.5")}, {"_id": 2, "a": 2}])
    expect_ids(c, {"a": {"$gt": 1}}, [1, 2])
    expect_ids(c, {"a": 1.5}, [1])


@check("$type")
def _(c):
    seed(c, N)
    expect_ids(c, {"a": {"$type": "string"}}, [6])
    expect_ids(c, {"a": {"$type": "long"}}, [3, 5])
    expect_ids(c, {"a": {"$type": "number"}}, [1, 2, 3, 4, 5])
    expect_ids(c, {"a": {"$type": 16}}, [1])


@check("$mod")
def _(c):
    seed(c, Q)
    expect_ids(c, {"a": {"$mod": [2, 1]}}, [1, 3])


@check("$expr")
def _(c):
    seed(c, [{"_id": 1, "a": 1, "b": 2}, {"_id": 2, "a": 3, "b": 2}])
    expect_ids(c, {"$expr": {"$gt": ["$a", "$b"]}}, [2])


@check("$where (server-side JavaScript)")
def _(c):
    seed(c, Q)
    expect_ids(c, {"$where": "this.a === 2"}, [2])


@check("$bitsAllSet")
def _(c):
    seed(c, [{"_id": 1, "f": 5}, {"_id": 2, "f": 4}])
    expect_ids(c, {"f": {"$bitsAllSet": [0, 2]}}, [1])


@check("$jsonSchema")
def _(c):
    seed(c, Q)
    expect_ids(c, {"$jsonSchema": {"required": ["a"], "properties": {"a": {"bsonType": "int"}}}}, [1, 2, 3])


# --- sort, skip, limit, count, distinct ---------------------------------------------------

section("Sort, skip, limit, count, distinct")

MIXED = [
    {"_id": 1, "v": "b"},
    {"_id": 2, "v": 2},
    {"_id": 3, "v": None},
    {"_id": 4, "v": True},
    {"_id": 5, "v": {"x": 1}},
    {"_id": 6, "v": datetime.datetime(2020, 1, 1)},
    {"_id": 7, "v": 1.5},
    {"_id": 8},
    {"_id": 9, "v": ObjectId("000000000000000000000001")},
    {"_id": 10, "v": "a"},
    {"_id": 11, "v": False},
]


@check("sort across mixed BSON types (null=missing < numbers < strings < objects < ObjectId < bool < date)")
def _(c):
    seed(c, MIXED)
    expect(ids(c.find().sort([("v", ASCENDING), ("_id", ASCENDING)])), [3, 8, 7, 2, 10, 1, 5, 9, 11, 4, 6], "ascending")
    expect(ids(c.find().sort([("v", DESCENDING), ("_id", ASCENDING)])), [6, 4, 11, 9, 5, 1, 10, 2, 7, 3, 8], "descending")


@check("sort on an array field (ascending by smallest element, descending by largest)")
def _(c):
    seed(c, [{"_id": 1, "v": [1, 5]}, {"_id": 2, "v": [3]}, {"_id": 3, "v": [0, 10]}, {"_id": 4, "v": 2}])
    expect(ids(c.find().sort("v", ASCENDING)), [3, 1, 4, 2], "ascending")
    expect(ids(c.find().sort("v", DESCENDING)), [3, 1, 2, 4], "descending")


@check("multi-key sort (a asc, b desc)")
def _(c):
    seed(c, [{"_id": 1, "a": 1, "b": 1}, {"_id": 2, "a": 1, "b": 2}, {"_id": 3, "a": 0, "b": 5}, {"_id": 4, "a": 2, "b": 0}])
    expect(ids(c.find().sort([("a", ASCENDING), ("b", DESCENDING)])), [3, 2, 1, 4])


@check("sort on a dotted path")
def _(c):
    seed(c, [{"_id": 1, "s": {"k": 2}}, {"_id": 2, "s": {"k": 1}}, {"_id": 3, "s": {"k": 3}}])
    expect(ids(c.find().sort("s.k", ASCENDING)), [2, 1, 3])


@check("skip / limit (with sort)")
def _(c):
    seed(c, [{"_id": i} for i in range(1, 8)])
    expect(ids(c.find().sort("_id", ASCENDING).skip(2).limit(3)), [3, 4, 5])
    expect(ids(c.find().sort("_id", DESCENDING).limit(2)), [7, 6])
    expect(ids(c.find().sort("_id", ASCENDING).skip(10)), [])


@check("count_documents with filter (and skip/limit)")
def _(c):
    seed(c, Q)
    expect(c.count_documents({}), 6, "count_documents({})")
    expect(c.count_documents({"a": {"$gte": 2}}), 2, "count_documents({a: {$gte: 2}})")
    expect(c.count_documents({}, skip=1, limit=3), 3, "count_documents with skip 1 limit 3")
    expect(c.estimated_document_count(), 6, "estimated_document_count")


@check("distinct (unwinds arrays; with filter; dotted path)")
def _(c):
    seed(c, T)
    expect(sorted(c.distinct("tags")), ["x", "y", "z"], "distinct('tags')")
    expect(sorted(c.distinct("tags", {"_id": {"$lte": 2}})), ["x", "y"], "distinct with filter")
    c.drop()
    seed(c, I)
    expect(sorted(c.distinct("items.sku")), ["a", "b"], "distinct('items.sku')")


# --- update operators ---------------------------------------------------------------------

section("Update operators")


def after(c, update, doc, **kw):
    """Apply `update` to `doc` (stored as _id 1) and return the stored result without _id."""
    c.insert_one(dict(doc, _id=1))
    c.update_one({"_id": 1}, update, **kw)
    return strip_id(c.find_one({"_id": 1}))


@check("$set")
def _(c):
    expect(after(c, {"$set": {"a": 2, "b": "x"}}, {"a": 1}), {"a": 2, "b": "x"})


@check("$set to the same value reports modified_count 0")
def _(c):
    c.insert_one({"_id": 1, "a": 1})
    r = c.update_one({"_id": 1}, {"$set": {"a": 1}})
    expect((r.matched_count, r.modified_count), (1, 0), "(matched, modified)")


@check("$unset")
def _(c):
    expect(after(c, {"$unset": {"a": "", "missing": ""}}, {"a": 1, "b": 2}), {"b": 2})


@check("$inc (int stays int, creates missing field, double increment)")
def _(c):
    got = after(c, {"$inc": {"a": 2, "n": 5, "f": 0.5}}, {"a": 1, "f": 1})
    expect(got, {"a": 3, "n": 5, "f": 1.5})
    expect(type(got["a"]), int, "type of a")


@check("$mul (missing field becomes 0)")
def _(c):
    expect(after(c, {"$mul": {"a": 2, "m": 5}}, {"a": 3}), {"a": 6, "m": 0})


@check("$min / $max")
def _(c):
    expect(after(c, {"$min": {"a": 3, "b": 10, "n": 7}}, {"a": 5, "b": 5}), {"a": 3, "b": 5, "n": 7})
    c.drop()
    expect(after(c, {"$max": {"a": 3, "b": 10}}, {"a": 5, "b": 5}), {"a": 5, "b": 10})


@check("$push (plain; creates the array when missing)")
def _(c):
    expect(after(c, {"$push": {"t": "b", "new": 1}}, {"t": ["a"]}), {"t": ["a", "b"], "new": [1]})


@check("$push with $each")
def _(c):
    expect(after(c, {"$push": {"t": {"$each": ["c", "d"]}}}, {"t": ["a"]}), {"t": ["a", "c", "d"]})


@check("$push with $each + $slice")
def _(c):
    expect(after(c, {"$push": {"t": {"$each": [4, 5], "$slice": -3}}}, {"t": [1, 2, 3]}), {"t": [3, 4, 5]})
    c.drop()
    expect(after(c, {"$push": {"t": {"$each": [4], "$slice": 2}}}, {"t": [1, 2, 3]}), {"t": [1, 2]})


@check("$push with $each + $sort + $slice")
def _(c):
    got = after(
        c,
        {"$push": {"t": {"$each": [{"s": 5}, {"s": 1}], "$sort": {"s": -1}, "$slice": 2}}},
        {"t": [{"s": 3}]},
    )
    expect(got, {"t": [{"s": 5}, {"s": 3}]})


@check("$push with $each + $position")
def _(c):
    expect(after(c, {"$push": {"t": {"$each": ["x"], "$position": 0}}}, {"t": ["a", "b"]}), {"t": ["x", "a", "b"]})


@check("$pull by value")
def _(c):
    expect(after(c, {"$pull": {"t": 2}}, {"t": [1, 2, 3, 2]}), {"t": [1, 3]})


@check("$pull by operator condition ({$gte: 6})")
def _(c):
    expect(after(c, {"$pull": {"t": {"$gte": 6}}}, {"t": [1, 5, 7, 9]}), {"t": [1, 5]})


@check("$pull by subdocument condition ({qty: {$lt: 3}})")
def _(c):
    got = after(c, {"$pull": {"items": {"qty": {"$lt": 3}}}}, {"items": [{"sku": "a", "qty": 5}, {"sku": "b", "qty": 1}]})
    expect(got, {"items": [{"sku": "a", "qty": 5}]})


@check("$pullAll")
def _(c):
    expect(after(c, {"$pullAll": {"t": [1, 3]}}, {"t": [1, 2, 3, 1]}), {"t": [2]})


@check("$pop")
def _(c):
    expect(after(c, {"$pop": {"t": 1, "u": -1}}, {"t": [1, 2, 3], "u": [1, 2, 3]}), {"t": [1, 2], "u": [2, 3]})


@check("$addToSet (plain)")
def _(c):
    expect(after(c, {"$addToSet": {"t": "a"}}, {"t": ["a", "b"]}), {"t": ["a", "b"]})
    c.drop()
    expect(after(c, {"$addToSet": {"t": "c", "n": 1}}, {"t": ["a", "b"]}), {"t": ["a", "b", "c"], "n": [1]})


@check("$addToSet with $each")
def _(c):
    expect(after(c, {"$addToSet": {"t": {"$each": ["a", "b", "b"]}}}, {"t": ["a"]}), {"t": ["a", "b"]})


@check("$rename (top-level and dotted)")
def _(c):
    expect(after(c, {"$rename": {"a": "c"}}, {"a": 1, "b": 2}), {"b": 2, "c": 1})
    c.drop()
    expect(after(c, {"$rename": {"s.k": "s.j"}}, {"s": {"k": 1}}), {"s": {"j": 1}})


@check("$currentDate (true and {$type: 'timestamp'})")
def _(c):
    got = after(c, {"$currentDate": {"d": True, "ts": {"$type": "timestamp"}, "dd": {"$type": "date"}}}, {})
    expect(type(got.get("d")).__name__, "datetime", "type of d")
    expect(type(got.get("dd")).__name__, "datetime", "type of dd")
    expect(type(got.get("ts")).__name__, "Timestamp", "type of ts")


@check("$setOnInsert (applied on upsert insert only)")
def _(c):
    c.update_one({"_id": 5}, {"$set": {"a": 1}, "$setOnInsert": {"created": 1}}, upsert=True)
    c.update_one({"_id": 5}, {"$set": {"a": 2}, "$setOnInsert": {"created": 2}}, upsert=True)
    expect(c.find_one({"_id": 5}), {"_id": 5, "a": 2, "created": 1})


@check("dotted paths in updates ($set sub.k, creating x.y.z, $inc sub.n)")
def _(c):
    got = after(c, {"$set": {"s.k": 5, "x.y.z": 1}, "$inc": {"s.n": 2}}, {"s": {"k": 1, "j": 2}})
    expect(got, {"s": {"k": 5, "j": 2, "n": 2}, "x": {"y": {"z": 1}}})


@check("numeric path components in updates (items.1.qty; arr.4 past the end pads with null)")
def _(c):
    got = after(c, {"$set": {"items.1.qty": 9}}, {"items": [{"qty": 1}, {"qty": 2}]})
    expect(got, {"items": [{"qty": 1}, {"qty": 9}]})
    c.drop()
    expect(after(c, {"$set": {"t.4": "e"}}, {"t": ["a", "b"]}), {"t": ["a", "b", None, None, "e"]})


@check("positional $ (items.$.qty)")
def _(c):
    c.insert_one({"_id": 1, "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]})
    c.update_one({"_id": 1, "items.sku": "b"}, {"$set": {"items.$.qty": 99}})
    expect(strip_id(c.find_one({"_id": 1})), {"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 99}]})


@check("all-positional $[] (items.$[].qty)")
def _(c):
    got = after(c, {"$inc": {"items.$[].qty": 1}}, {"items": [{"qty": 1}, {"qty": 2}]})
    expect(got, {"items": [{"qty": 2}, {"qty": 3}]})


@check("filtered positional $[e] with arrayFilters")
def _(c):
    got = after(
        c,
        {"$set": {"items.$[e].qty": 0}},
        {"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]},
        array_filters=[{"e.sku": "a"}],
    )
    expect(got, {"items": [{"sku": "a", "qty": 0}, {"sku": "b", "qty": 2}]})


@check("update with an aggregation pipeline")
def _(c):
    expect(after(c, [{"$set": {"b": {"$add": ["$a", 1]}}}], {"a": 1}), {"a": 1, "b": 2})


@check("update_many counts")
def _(c):
    seed(c, Q)
    r = c.update_many({"a": {"$gte": 2}}, {"$set": {"hit": True}})
    expect((r.matched_count, r.modified_count), (2, 2), "(matched, modified)")


@check("upsert via update_one(upsert=True) seeds fields from the equality filter (plain and dotted)")
def _(c):
    r = c.update_one({"name": "x", "age": {"$gt": 5}, "s.k": 7}, {"$set": {"v": 1}}, upsert=True)
    if r.upserted_id is None:
        raise Wrong("no upserted_id returned")
    expect(strip_id(c.find_one({"_id": r.upserted_id})), {"name": "x", "s": {"k": 7}, "v": 1}, "inserted doc")
    r = c.update_one({"_id": "c0"}, {"$inc": {"n": 1}}, upsert=True)
    expect(c.find_one({"_id": "c0"}), {"_id": "c0", "n": 1}, "inserted doc with _id from the filter")


@check("upsert seeds fields from equalities inside a top-level $and")
def _(c):
    r = c.update_one({"_id": "c1", "$and": [{"a": 1}, {"b": 2}]}, {"$inc": {"n": 1}}, upsert=True)
    expect(r.upserted_id, "c1", "upserted_id")
    expect(c.find_one({"_id": "c1"}), {"_id": "c1", "a": 1, "b": 2, "n": 1}, "inserted doc")


@check("find_one_and_update return_document BEFORE / AFTER")
def _(c):
    c.insert_one({"_id": 1, "n": 1})
    before = c.find_one_and_update({"_id": 1}, {"$inc": {"n": 1}}, return_document=ReturnDocument.BEFORE)
    expect(before, {"_id": 1, "n": 1}, "BEFORE")
    aft = c.find_one_and_update({"_id": 1}, {"$inc": {"n": 1}}, return_document=ReturnDocument.AFTER)
    expect(aft, {"_id": 1, "n": 3}, "AFTER")
    none = c.find_one_and_update({"_id": 2}, {"$inc": {"n": 1}})
    expect(none, None, "no match")


@check("find_one_and_update with sort")
def _(c):
    seed(c, [{"_id": 1, "p": 2, "x": 1}, {"_id": 2, "p": 1, "x": 1}])
    got = c.find_one_and_update({}, {"$set": {"x": 9}}, sort=[("p", ASCENDING)], return_document=ReturnDocument.AFTER)
    expect(got, {"_id": 2, "p": 1, "x": 9})


@check("find_one_and_update with projection")
def _(c):
    c.insert_one({"_id": 1, "p": 2, "x": 1})
    got = c.find_one_and_update({}, {"$set": {"x": 9}}, projection={"x": 1}, return_document=ReturnDocument.AFTER)
    expect(got, {"_id": 1, "x": 9})


@check("find_one_and_update with upsert")
def _(c):
    got = c.find_one_and_update({"_id": 3}, {"$set": {"x": 3}}, upsert=True, return_document=ReturnDocument.AFTER)
    expect(got, {"_id": 3, "x": 3}, "upsert AFTER")


@check("find_one_and_replace / find_one_and_delete")
def _(c):
    seed(c, [{"_id": 1, "a": 1}, {"_id": 2, "a": 2}])
    got = c.find_one_and_replace({"_id": 1}, {"b": 1}, return_document=ReturnDocument.AFTER)
    expect(got, {"_id": 1, "b": 1}, "find_one_and_replace")
    got = c.find_one_and_delete({"a": 2})
    expect(got, {"_id": 2, "a": 2}, "find_one_and_delete")
    expect(c.count_documents({}), 1, "count after delete")


@check("replace_one (and replace_one upsert)")
def _(c):
    c.insert_one({"_id": 1, "a": 1, "b": 2})
    r = c.replace_one({"_id": 1}, {"c": 3})
    expect((r.matched_count, r.modified_count), (1, 1), "(matched, modified)")
    expect(c.find_one({"_id": 1}), {"_id": 1, "c": 3})
    r = c.replace_one({"_id": 2}, {"d": 4}, upsert=True)
    expect(r.upserted_id, 2, "upserted_id")
    expect(c.find_one({"_id": 2}), {"_id": 2, "d": 4})


@check("delete_one / delete_many counts")
def _(c):
    seed(c, Q)
    expect(c.delete_one({"a": {"$gte": 2}}).deleted_count, 1, "delete_one")
    expect(c.delete_many({"a": {"$exists": True}}).deleted_count, 4, "delete_many")


# --- projection ---------------------------------------------------------------------------

section("Projection")

P = {
    "_id": 1,
    "a": 1,
    "b": 2,
    "sub": {"k": 1, "j": 2},
    "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}],
}


def project(c, proj, filt=None):
    c.insert_one(dict(P))
    return c.find_one(filt or {"_id": 1}, proj)


@check("inclusion")
def _(c):
    expect(project(c, {"a": 1}), {"_id": 1, "a": 1})


@check("exclusion")
def _(c):
    expect(project(c, {"a": 0, "items": 0}), {"_id": 1, "b": 2, "sub": {"k": 1, "j": 2}})


@check("_id excluded ({_id: 0, a: 1})")
def _(c):
    expect(project(c, {"_id": 0, "a": 1}), {"a": 1})


@check("dotted inclusion (sub.k)")
def _(c):
    expect(project(c, {"sub.k": 1}), {"_id": 1, "sub": {"k": 1}})


@check("dotted exclusion (sub.k: 0)")
def _(c):
    expect(project(c, {"sub.k": 0, "items": 0}), {"_id": 1, "a": 1, "b": 2, "sub": {"j": 2}})


@check("dotted inclusion into an array of subdocuments (items.qty)")
def _(c):
    expect(project(c, {"items.qty": 1}), {"_id": 1, "items": [{"qty": 1}, {"qty": 2}]})


@check("mixing inclusion and exclusion is rejected")
def _(c):
    c.insert_one(dict(P))
    return expect_error(lambda: c.find_one({}, {"a": 1, "b": 0}), 31254, "find with {a: 1, b: 0}", "Cannot do exclusion on field b in inclusion projection")


@check("$slice projection")
def _(c):
    expect(project(c, {"items": {"$slice": 1}, "_id": 0, "a": 1}), {"a": 1, "items": [{"sku": "a", "qty": 1}]})


@check("$elemMatch projection")
def _(c):
    expect(project(c, {"items": {"$elemMatch": {"sku": "b"}}}), {"_id": 1, "items": [{"sku": "b", "qty": 2}]})


@check("positional $ projection (items.$)")
def _(c):
    expect(project(c, {"items.$": 1}, {"items.sku": "b"}), {"_id": 1, "items": [{"sku": "b", "qty": 2}]})


@check("computed projection field ({x: '$a'})")
def _(c):
    expect(project(c, {"x": "$a", "_id": 0}), {"x": 1})


# --- indexes ------------------------------------------------------------------------------

section("Indexes")


def index_info(c):
    return {ix["name"]: ix for ix in c.list_indexes()}


@check("create single-field index")
def _(c):
    name = c.create_index("a")
    expect(name, "a_1", "name")
    expect(dict(index_info(c)["a_1"]["key"]), {"a": 1}, "key")


@check("create compound index")
def _(c):
    name = c.create_index([("a", ASCENDING), ("b", DESCENDING)])
    expect(name, "a_1_b_-1", "name")
    expect(list(index_info(c)[name]["key"].items()), [("a", 1), ("b", -1)], "key")


def duplicate_insert(c):
    """Return the DuplicateKeyError of a second insert under a unique index on email."""
    c.create_index("email", unique=True)
    expect(index_info(c)["email_1"].get("unique"), True, "list_indexes unique flag")
    c.insert_one({"_id": 1, "email": "x@example.com"})
    try:
        c.insert_one({"_id": 2, "email": "x@example.com"})
    except DuplicateKeyError as e:
        return e
    raise Wrong("duplicate insert succeeded")


def dup_details(e):
    d = e.details or {}
    return (
        f"code {e.code}; errmsg {code(d.get('errmsg'))}; "
        f"keyPattern {code(short(d['keyPattern'])) if 'keyPattern' in d else 'absent'}; "
        f"keyValue {code(short(d['keyValue'])) if 'keyValue' in d else 'absent'}"
    )


@check("unique index: duplicate insert fails with code 11000 (DuplicateKeyError)")
def _(c):
    e = duplicate_insert(c)
    expect(e.code, 11000, "code")
    return f"code {e.code}"


@check("duplicate-key error details: errmsg names index and dup key; keyPattern and keyValue present")
def _(c):
    e = duplicate_insert(c)
    d = e.details or {}
    notes = dup_details(e)
    problems = [k for k in ("keyPattern", "keyValue") if k not in d]
    if "index: email_1" not in str(d.get("errmsg")):
        problems.append("index name in errmsg")
    if "dup key:" not in str(d.get("errmsg")):
        problems.append("dup key in errmsg")
    if problems:
        raise Wrong(
            notes + f"; missing: {', '.join(problems)}. MongoDB: errmsg `E11000 duplicate key error collection: "
            f"{c.full_name} index: email_1 dup key: {{ email: \"x@example.com\" }}`, "
            "keyPattern `{email: 1}`, keyValue `{email: 'x@example.com'}`"
        )
    return notes


@check("duplicate _id fails with code 11000")
def _(c):
    c.insert_one({"_id": 1})
    try:
        c.insert_one({"_id": 1})
    except DuplicateKeyError as e:
        return dup_details(e)
    raise Wrong("duplicate _id insert succeeded")


def unique_ab(c):
    c.create_index("email", unique=True)
    seed(c, [{"_id": 1, "email": "a"}, {"_id": 2, "email": "b"}])


@check("unique index: update making a duplicate fails with 11000")
def _(c):
    unique_ab(c)
    return expect_error(lambda: c.update_one({"_id": 2}, {"$set": {"email": "a"}}), 11000, "update to a duplicate", "E11000 duplicate key error")


@check("unique index: upsert inserting a duplicate fails with 11000")
def _(c):
    unique_ab(c)
    return expect_error(lambda: c.update_one({"_id": 3}, {"$set": {"email": "a"}}, upsert=True), 11000, "upsert of a duplicate", "E11000 duplicate key error")


@check("unique index: insert_many(ordered=False) reports the duplicate and inserts the rest")
def _(c):
    unique_ab(c)
    try:
        c.insert_many([{"_id": 4, "email": "c"}, {"_id": 5, "email": "a"}, {"_id": 6, "email": "d"}], ordered=False)
    except BulkWriteError as bwe:
        errs = bwe.details.get("writeErrors", [])
        codes = [(w.get("index"), w.get("code")) for w in errs]
        expect(codes, [(1, 11000)], "writeErrors (index, code)")
        expect(bwe.details.get("nInserted"), 2, "nInserted")
        return f"writeErrors[0] keys {code(sorted(errs[0].keys()))}; errmsg {code(errs[0].get('errmsg'))}"
    raise Wrong("insert_many with a duplicate succeeded")


@check("unique index: two documents missing the field collide (null)")
def _(c):
    c.create_index("email", unique=True)
    c.insert_one({"_id": 1})
    e = op_error(lambda: c.insert_one({"_id": 2}))
    if e is None:
        raise Wrong("second document without the field was accepted; MongoDB fails with 11000 (dup key: { email: null })")
    expect(e.code, 11000, "code")
    return describe(e)


@check("unique index on existing duplicates fails")
def _(c):
    seed(c, [{"_id": 1, "a": 1}, {"_id": 2, "a": 1}])
    return expect_error(lambda: c.create_index("a", unique=True), 11000, "create_index(unique) over duplicates", "E11000 duplicate key error")


@check("unique compound index")
def _(c):
    c.create_index([("a", ASCENDING), ("b", ASCENDING)], unique=True)
    c.insert_one({"a": 1, "b": 1})
    c.insert_one({"a": 1, "b": 2})
    c.insert_one({"a": 2, "b": 1})
    try:
        c.insert_one({"a": 1, "b": 1})
    except DuplicateKeyError as e:
        d = e.details or {}
        return f"code {e.code}; errmsg `{d.get('errmsg')}`; keyValue {short(d.get('keyValue')) if 'keyValue' in d else 'absent'}"
    raise Wrong("duplicate (a, b) insert succeeded")


@check("TTL index (expireAfterSeconds)")
def _(c):
    name = c.create_index("at", expireAfterSeconds=1)
    info = index_info(c)[name]
    expect(info.get("expireAfterSeconds"), 1, "list_indexes expireAfterSeconds")
    if ARGS.ttl_wait <= 0:
        return "accepted and listed; deletion not checked (--ttl-wait 0)"
    old = datetime.datetime(2000, 1, 1)
    c.insert_many([{"_id": 1, "at": old}, {"_id": 2, "at": datetime.datetime(2999, 1, 1)}])
    deadline = time.time() + ARGS.ttl_wait
    while time.time() < deadline:
        if c.count_documents({"_id": 1}) == 0:
            left = sorted_ids(c, {})
            expect(left, [2], "documents left")
            return f"expired document deleted after {ARGS.ttl_wait - int(deadline - time.time())} s"
        time.sleep(2)
    raise Wrong(f"index accepted, but the expired document was still there after {ARGS.ttl_wait} s (MongoDB deletes within ~60 s)")


@check("create text index")
def _(c):
    expect(c.create_index([("s", "text")]), "s_text", "name")


@check("$text query (after trying to create a text index)")
def _(c):
    seed(c, [{"_id": 1, "s": "red apple"}, {"_id": 2, "s": "green pear"}])
    op_error(lambda: c.create_index([("s", "text")]))
    expect_ids(c, {"$text": {"$search": "apple"}}, [1])


@check("sparse index listed with sparse: true")
def _(c):
    name = c.create_index("x", sparse=True)
    expect(index_info(c)[name].get("sparse"), True, "list_indexes sparse flag")


@check("unique sparse index allows several documents without the field")
def _(c):
    c.create_index("x", sparse=True, unique=True)
    c.insert_many([{"_id": 1}, {"_id": 2}, {"_id": 3, "x": 1}])
    e = op_error(lambda: c.insert_one({"_id": 4, "x": 1}))
    if e is None or e.code != 11000:
        raise Wrong(f"duplicate x: {describe(e) if e else 'accepted'}")


@check("partialFilterExpression (unique only where the filter matches)")
def _(c):
    name = c.create_index("email", unique=True, partialFilterExpression={"active": True})
    expect(index_info(c)[name].get("partialFilterExpression"), {"active": True}, "list_indexes partialFilterExpression")
    c.insert_many([{"email": "a", "active": False}, {"email": "a", "active": False}, {"email": "a", "active": True}])
    e = op_error(lambda: c.insert_one({"email": "a", "active": True}))
    if e is None or e.code != 11000:
        raise Wrong(f"second active duplicate: {describe(e) if e else 'accepted'}")


@check("list_indexes")
def _(c):
    c.create_index("a")
    c.create_index([("b", DESCENDING)], name="custom")
    info = index_info(c)
    expect(sorted(info), ["_id_", "a_1", "custom"], "index names")
    expect(dict(info["custom"]["key"]), {"b": -1}, "custom key")
    expect(c.index_information().keys() >= {"_id_", "a_1", "custom"}, True, "index_information")


@check("drop_index (and dropping a missing index fails with code 27)")
def _(c):
    c.create_index("a")
    c.create_index("b")
    c.drop_index("a_1")
    c.drop_index([("b", ASCENDING)])
    expect(sorted(index_info(c)), ["_id_"], "indexes left")
    return expect_error(lambda: c.drop_index("nope_1"), 27, "drop_index('nope_1')", "IndexNotFound")


@check("creating the same index twice is a no-op")
def _(c):
    c.create_index("a")
    c.create_index("a")
    expect(sorted(index_info(c)), ["_id_", "a_1"], "indexes")


@check("same index name with other options fails with 86 IndexKeySpecsConflict")
def _(c):
    c.create_index("a")
    e = op_error(lambda: c.create_index("a", unique=True))
    if e is None:
        unique = index_info(c)["a_1"].get("unique")
        raise Wrong(f"`create_index('a', unique=True)` after `create_index('a')` succeeded (index unique afterwards: {unique}); MongoDB fails with code 86")
    expect(e.code, 86, "code")
    return describe(e)


# --- databases and collections ------------------------------------------------------------

section("Databases and collections")


@check("list_collection_names")
def _(c):
    db = c.database
    c.insert_one({})
    db.create_collection(c.name + "_explicit")
    names = db.list_collection_names()
    expect({c.name, c.name + "_explicit"} <= set(names), True, f"names {short(sorted(names))}")
    db.drop_collection(c.name + "_explicit")


@check("drop collection")
def _(c):
    c.insert_one({})
    c.create_index("a")
    c.drop()
    expect(c.name in c.database.list_collection_names(), False, "still listed")
    expect(c.count_documents({}), 0, "documents left")
    expect(sorted(index_info(c)), [], "indexes left")


@check("drop_database")
def _(c):
    client = c.database.client
    name = DB_NAME + "_drop"
    client[name]["x"].insert_one({})
    expect(name in client.list_database_names(), True, "created database listed")
    client.drop_database(name)
    expect(name in client.list_database_names(), False, "dropped database still listed")
    expect(client[name]["x"].count_documents({}), 0, "documents left")


@check("rename collection")
def _(c):
    c.insert_one({"_id": 1})
    c.rename(c.name + "_renamed")
    other = c.database[c.name + "_renamed"]
    expect(other.count_documents({}), 1, "documents in renamed collection")
    other.drop()


# --- errors -------------------------------------------------------------------------------

section("Error codes")


@check("$inc on a string field → 14 TypeMismatch")
def _(c):
    c.insert_one({"_id": 1, "s": "x"})
    return expect_error(lambda: c.update_one({"_id": 1}, {"$inc": {"s": 1}}), 14, "$inc on a string", "Cannot apply $inc to a value of non-numeric type")


@check("$set with conflicting paths (a and a.b) → 40 ConflictingUpdateOperators")
def _(c):
    c.insert_one({"_id": 1})
    return expect_error(lambda: c.update_one({"_id": 1}, {"$set": {"a": 1, "a.b": 2}}), 40, "$set a and a.b", "Updating the path 'a.b' would create a conflict at 'a'")


@check("same path in two operators ($set a, $inc a) → 40")
def _(c):
    c.insert_one({"_id": 1})
    return expect_error(lambda: c.update_one({"_id": 1}, {"$set": {"a": 1}, "$inc": {"a": 2}}), 40, "$set a + $inc a", "Updating the path 'a' would create a conflict at 'a'")


@check("update modifying _id → 66 ImmutableField")
def _(c):
    c.insert_one({"_id": 1})
    return expect_error(lambda: c.update_one({"_id": 1}, {"$set": {"_id": 2}}), 66, "$set _id", "Performing an update on the path '_id' would modify the immutable field '_id'")


@check("replace_one changing _id → 66 ImmutableField")
def _(c):
    c.insert_one({"_id": 1})
    return expect_error(lambda: c.replace_one({"_id": 1}, {"_id": 2}), 66, "replace with another _id", "The _id field cannot be changed")


@check("$push onto a non-array → 2 BadValue")
def _(c):
    c.insert_one({"_id": 1, "a": 1})
    return expect_error(lambda: c.update_one({"_id": 1}, {"$push": {"a": 2}}), 2, "$push onto an int", "The field 'a' must be an array but is of type int")


@check("unknown query operator ($foo) → 2 BadValue")
def _(c):
    c.insert_one({"_id": 1})
    return expect_error(lambda: c.find_one({"a": {"$foo": 1}}), 2, "find {a: {$foo: 1}}", "unknown operator: $foo")


@check("unknown top-level query operator ($foo) → 2 BadValue")
def _(c):
    c.insert_one({"_id": 1})
    return expect_error(lambda: c.find_one({"$foo": 1}), 2, "find {$foo: 1}", "unknown top level operator: $foo")


@check("unknown update operator ($foo) → 9 FailedToParse")
def _(c):
    c.insert_one({"_id": 1})
    return expect_error(lambda: c.update_one({"_id": 1}, {"$foo": {"a": 1}}), 9, "update {$foo: ...}", "Unknown modifier: $foo")


# --- aggregation, sessions, other ---------------------------------------------------------

section("Aggregation and other")


@check("aggregate $match + $group ($sum) + $sort")
def _(c):
    seed(c, [{"k": "a", "n": 1}, {"k": "b", "n": 2}, {"k": "a", "n": 3}])
    got = list(c.aggregate([{"$match": {"n": {"$gte": 1}}}, {"$group": {"_id": "$k", "t": {"$sum": "$n"}}}, {"$sort": {"_id": 1}}]))
    expect(got, [{"_id": "a", "t": 4}, {"_id": "b", "t": 2}])


@check("aggregate $project + $unwind + $skip + $limit + $count")
def _(c):
    seed(c, T)
    got = list(c.aggregate([{"$unwind": "$tags"}, {"$sort": {"_id": 1, "tags": 1}}, {"$skip": 1}, {"$limit": 3}, {"$project": {"_id": 0, "tags": 1}}]))
    expect(got, [{"tags": "y"}, {"tags": "y"}, {"tags": "x"}], "$unwind pipeline")
    got = list(c.aggregate([{"$match": {"tags": "x"}}, {"$count": "n"}]))
    expect(got, [{"n": 3}], "$count")


@check("aggregate $lookup")
def _(c):
    other = c.database[c.name + "_other"]
    other.drop()
    other.insert_many([{"_id": 10, "owner": 1}, {"_id": 11, "owner": 1}])
    c.insert_one({"_id": 1})
    try:
        got = list(c.aggregate([{"$lookup": {"from": other.name, "localField": "_id", "foreignField": "owner", "as": "o"}}]))
        expect(len(got[0]["o"]) if got else None, 2, "joined documents")
    finally:
        other.drop()


@check("aggregate $facet")
def _(c):
    seed(c, Q)
    got = list(c.aggregate([{"$facet": {"n": [{"$count": "n"}]}}]))
    expect(got, [{"n": [{"n": 6}]}])


@check("bulk_write with mixed operations")
def _(c):
    r = c.bulk_write([
        pymongo.InsertOne({"_id": 1, "a": 1}),
        pymongo.UpdateOne({"_id": 1}, {"$inc": {"a": 1}}),
        pymongo.UpdateOne({"_id": 2}, {"$set": {"a": 5}}, upsert=True),
        pymongo.DeleteOne({"_id": 1}),
    ])
    expect((r.inserted_count, r.modified_count, r.upserted_count, r.deleted_count), (1, 1, 1, 1), "(inserted, modified, upserted, deleted)")


@check("multi-document transaction (session.with_transaction)")
def _(c):
    c.insert_one({"_id": 0})
    client = c.database.client
    with client.start_session() as s:
        s.with_transaction(lambda s: c.insert_one({"_id": 1}, session=s))
    expect(sorted_ids(c, {}), [0, 1], "documents after commit")


@check("change streams (collection.watch)")
def _(c):
    c.insert_one({"_id": 0})
    with c.watch(max_await_time_ms=200) as stream:
        c.insert_one({"_id": 1})
        change = stream.try_next()
        expect(change is not None and change.get("operationType"), "insert", "first change")


@check("datetime round trip (millisecond precision, UTC)")
def _(c):
    t = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456)
    c.insert_one({"_id": 1, "t": t})
    expect(c.find_one({"_id": 1})["t"], t.replace(microsecond=123000))


@check("field names containing dots in inserted documents (MongoDB 5.0+)")
def _(c):
    c.insert_one({"_id": 1, "a.b": 1})
    expect(c.find_one({"_id": 1}), {"_id": 1, "a.b": 1})


# --- runner -------------------------------------------------------------------------------


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("uri")
    parser.add_argument("--ttl-wait", type=int, default=75)
    ARGS = parser.parse_args()

    client = MongoClient(ARGS.uri, serverSelectionTimeoutMS=10000, uuidRepresentation="standard")
    build = client.admin.command("buildInfo")
    client.drop_database(DB_NAME)
    db = client[DB_NAME]

    server = f"buildInfo version {build.get('version')}"
    if "ferretdbVersion" in build:
        server += f", ferretdbVersion {build['ferretdbVersion']}"
    print(f"Server: `{ARGS.uri}`; {server}; pymongo {pymongo.version}.")
    counts = {SUPPORTED: 0, UNSUPPORTED: 0, WRONG: 0, "probe error": 0}
    current = None
    for n, (sect, feature, fn) in enumerate(CHECKS):
        if sect != current:
            current = sect
            print(f"\n### {sect}\n\n| feature | result | notes |\n| --- | --- | --- |")
        c = db[f"c{n}"]
        c.drop()
        try:
            note = fn(c) or ""
            result = SUPPORTED
        except Wrong as e:
            result, note = WRONG, str(e)
        except OperationFailure as e:
            result, note = UNSUPPORTED, describe(e)
        except AutoReconnect as e:
            result, note = UNSUPPORTED, f"the server closed the connection ({type(e).__name__}: {code(e)})"
        except Exception as e:  # a client-side failure: report it, keep going
            result, note = "probe error", f"{type(e).__name__}: {code(e)}"
        finally:
            try:
                c.drop()
            except Exception:
                pass
        counts[result] += 1
        print(f"| {cell(feature)} | {cell(result)} | {cell(note)} |", flush=True)

    client.drop_database(DB_NAME)
    print("\n" + ", ".join(f"{v} {k}" for k, v in counts.items()))


ARGS = None

if __name__ == "__main__":
    main()
