//! Update documents (`$set`, `$inc`, `$push`, ...) applied to a document in place, with
//! MongoDB's rules: dotted paths create subdocuments, numeric parts index arrays, two
//! operators may not touch overlapping paths, `_id` never changes, and fields are
//! updated in field-name order (so new fields are appended in that order).

use bson::{Bson, Document};

use super::{filter::Filter, value};
use crate::{Error, Result, store::unsupported};

/// A parsed update: operator, path, operand, in the order MongoDB applies them.
#[derive(Debug)]
pub(crate) struct Update {
    ops: Vec<(Op, Vec<String>, Bson)>,
    /// `$pull` conditions compiled once, by position in `ops`.
    pulls: Vec<Option<Pull>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Set,
    SetOnInsert,
    Unset,
    Inc,
    Mul,
    Min,
    Max,
    Push,
    Pull,
    AddToSet,
    Rename,
    CurrentDate,
}

#[derive(Debug)]
enum Pull {
    Value(Bson),
    Cond(super::filter::Cond),
    Filter(Filter),
}

impl Update {
    /// Parses an update document; a document without operators is refused (use
    /// `replace_one`), an operator outside the subset is `Error::Unsupported`.
    pub(crate) fn parse(update: &Document) -> Result<Self> {
        if update.is_empty() {
            return Err(Error::bad_request("the update document is empty"));
        }
        let mut ops = Vec::new();
        for (name, fields) in update {
            let op = match name.as_str() {
                "$set" => Op::Set,
                "$setOnInsert" => Op::SetOnInsert,
                "$unset" => Op::Unset,
                "$inc" => Op::Inc,
                "$mul" => Op::Mul,
                "$min" => Op::Min,
                "$max" => Op::Max,
                "$push" => Op::Push,
                "$pull" => Op::Pull,
                "$addToSet" => Op::AddToSet,
                "$rename" => Op::Rename,
                "$currentDate" => Op::CurrentDate,
                op if op.starts_with('$') => return Err(unsupported(op)),
                _ => {
                    return Err(Error::bad_request(
                        "an update document needs operators ($set, $inc, ...); use replace_one to replace a document",
                    ));
                }
            };
            let Bson::Document(fields) = fields else {
                return Err(Error::bad_request(format!("{name} needs a document")));
            };
            for (path, operand) in fields {
                if path.is_empty() || path.split('.').any(str::is_empty) {
                    return Err(Error::bad_request(format!(
                        "{name}: empty field name in {path:?}"
                    )));
                }
                ops.push((op, super::path::split(path), operand.clone()));
            }
        }
        check_conflicts(&ops)?;
        for (op, path, operand) in &ops {
            validate(*op, path, operand)?;
        }
        // MongoDB (5.0 on) applies an update's fields in field-name order, whichever the
        // operator; a `$rename` counts at its new name.
        ops.sort_by(|a, b| field_order(&applied_at(a), &applied_at(b)));
        let pulls = ops
            .iter()
            .map(|(op, _, operand)| match op {
                Op::Pull => compile_pull(operand).map(Some),
                _ => Ok(None),
            })
            .collect::<Result<_>>()?;
        Ok(Self { ops, pulls })
    }

    /// Applies the update to `doc`. `inserting` enables `$setOnInsert`.
    pub(crate) fn apply(&self, doc: &mut Document, inserting: bool) -> Result<()> {
        let id = doc.get("_id").cloned();
        for (i, (op, path, operand)) in self.ops.iter().enumerate() {
            let field = path.join(".");
            let fail = |why: &str| {
                Error::bad_request(format!("cannot apply {} to {field:?}: {why}", op.name()))
            };
            match op {
                Op::Set => set(doc, path, operand.clone()).map_err(|e| fail(&e))?,
                Op::SetOnInsert if inserting => {
                    set(doc, path, operand.clone()).map_err(|e| fail(&e))?
                }
                Op::SetOnInsert => {}
                Op::Unset => unset(doc, path),
                Op::Inc | Op::Mul => {
                    if value::rank(operand) != value::NUMBER_RANK {
                        return Err(fail("the operand is not a number"));
                    }
                    let current = get(doc, path);
                    let next = match current {
                        None if *op == Op::Inc => operand.clone(),
                        None => zero_like(operand),
                        Some(v) if value::rank(v) == value::NUMBER_RANK => match op {
                            Op::Inc => add(v, operand),
                            _ => multiply(v, operand),
                        }
                        .ok_or_else(|| fail("the result overflows"))?,
                        Some(_) => return Err(fail("the field is not a number")),
                    };
                    set(doc, path, next).map_err(|e| fail(&e))?;
                }
                Op::Min | Op::Max => {
                    let replace = match get(doc, path) {
                        None => true,
                        Some(v) => {
                            let order = value::compare(operand, v);
                            if *op == Op::Min {
                                order.is_lt()
                            } else {
                                order.is_gt()
                            }
                        }
                    };
                    if replace {
                        set(doc, path, operand.clone()).map_err(|e| fail(&e))?;
                    }
                }
                Op::Push | Op::AddToSet => {
                    let (items, slice) = push_items(*op, operand)?;
                    let mut array = match get(doc, path) {
                        None => Vec::new(),
                        Some(Bson::Array(a)) => a.clone(),
                        Some(_) => return Err(fail("the field is not an array")),
                    };
                    for item in items {
                        if *op == Op::Push || !array.iter().any(|a| value::equals(a, &item)) {
                            array.push(item);
                        }
                    }
                    if let Some(n) = slice {
                        slice_array(&mut array, n);
                    }
                    set(doc, path, Bson::Array(array)).map_err(|e| fail(&e))?;
                }
                Op::Pull => match get(doc, path) {
                    None if !viable(doc, path) => {
                        return Err(fail("the path goes through a value that is not a document"));
                    }
                    None => {}
                    Some(Bson::Array(items)) => {
                        let pull = self.pulls[i].as_ref().ok_or_else(|| fail("no condition"))?;
                        let kept: Vec<Bson> = items
                            .iter()
                            .filter(|item| !pull.removes(item))
                            .cloned()
                            .collect();
                        set(doc, path, Bson::Array(kept)).map_err(|e| fail(&e))?;
                    }
                    Some(_) => return Err(fail("the field is not an array")),
                },
                Op::Rename => {
                    let Bson::String(target) = operand else {
                        return Err(fail("the new name must be a string"));
                    };
                    if get(doc, path).is_none() && !viable(doc, path) {
                        return Err(fail("the path goes through a value that is not a document"));
                    }
                    if let Some(v) = get(doc, path).cloned() {
                        let target = super::path::split(target);
                        if crosses_array(doc, path) || crosses_array(doc, &target) {
                            return Err(fail("a field cannot be renamed into or out of an array"));
                        }
                        unset(doc, path);
                        set(doc, &target, v).map_err(|e| fail(&e))?;
                    }
                }
                Op::CurrentDate => {
                    let v = current_date(operand).map_err(fail)?;
                    set(doc, path, v).map_err(|e| fail(&e))?;
                }
            }
        }
        if let Some(id) = id
            && doc
                .get("_id")
                .is_none_or(|now| !value::equals(now, &id) || value::rank(now) != value::rank(&id))
        {
            return Err(Error::bad_request(
                "the update would change the immutable field _id",
            ));
        }
        Ok(())
    }
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Self::Set => "$set",
            Self::SetOnInsert => "$setOnInsert",
            Self::Unset => "$unset",
            Self::Inc => "$inc",
            Self::Mul => "$mul",
            Self::Min => "$min",
            Self::Max => "$max",
            Self::Push => "$push",
            Self::Pull => "$pull",
            Self::AddToSet => "$addToSet",
            Self::Rename => "$rename",
            Self::CurrentDate => "$currentDate",
        }
    }
}

/// Refuses an operand that no document could make valid, before any document is read:
/// MongoDB refuses such an update even when nothing matches.
fn validate(op: Op, path: &[String], operand: &Bson) -> Result<()> {
    let fail = |why: &str| {
        Err(Error::bad_request(format!(
            "{} of {:?}: {why}",
            op.name(),
            path.join(".")
        )))
    };
    match op {
        Op::Inc | Op::Mul if value::rank(operand) != value::NUMBER_RANK => {
            fail("the operand is not a number")
        }
        Op::Rename => match operand {
            Bson::String(to) if !to.is_empty() && !to.split('.').any(str::is_empty) => Ok(()),
            _ => fail("the new name must be a non-empty field path"),
        },
        Op::CurrentDate => current_date(operand).map(drop).or_else(fail),
        Op::Push | Op::AddToSet => push_items(op, operand).map(drop),
        _ => Ok(()),
    }
}

/// The path an operation writes to: a `$rename`'s new name, else its own path.
fn applied_at(op: &(Op, Vec<String>, Bson)) -> Vec<String> {
    match op {
        (Op::Rename, _, Bson::String(to)) => super::path::split(to),
        (_, path, _) => path.clone(),
    }
}

/// MongoDB's order of update paths, part by part (its `cmpPathsAndArrayIndexes`): parts
/// that start with a digit (and no leading zero) by length then bytes, so that `9` comes
/// before `10`; any other pair by bytes.
fn field_order(a: &[String], b: &[String]) -> std::cmp::Ordering {
    let numeric = |s: &str| {
        s.as_bytes().first().is_some_and(u8::is_ascii_digit) && !(s.len() > 1 && s.starts_with('0'))
    };
    for (x, y) in a.iter().zip(b) {
        let order = match numeric(x) && numeric(y) {
            true => x
                .len()
                .cmp(&y.len())
                .then_with(|| x.as_bytes().cmp(y.as_bytes())),
            false => x.as_bytes().cmp(y.as_bytes()),
        };
        if order.is_ne() {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

/// A path part that can index an array: digits, without a leading zero.
fn array_index(part: &str) -> Option<usize> {
    let canonical =
        part == "0" || (!part.starts_with('0') && part.bytes().all(|b| b.is_ascii_digit()));
    canonical.then(|| part.parse().ok()).flatten()
}

/// The value `$currentDate` stores for `operand` (`true`, or `{ $type: "date" |
/// "timestamp" }`).
fn current_date(operand: &Bson) -> std::result::Result<Bson, &'static str> {
    let now = bson::DateTime::now();
    let timestamp = || {
        Bson::Timestamp(bson::Timestamp {
            time: u32::try_from(now.timestamp_millis() / 1000).unwrap_or(0),
            increment: 1,
        })
    };
    match operand {
        Bson::Boolean(_) => Ok(Bson::DateTime(now)),
        Bson::Document(spec) => match spec.get_str("$type") {
            Ok("date") if spec.len() == 1 => Ok(Bson::DateTime(now)),
            Ok("timestamp") if spec.len() == 1 => Ok(timestamp()),
            _ => Err("expected { $type: \"date\" } or { $type: \"timestamp\" }"),
        },
        _ => Err("expected true or { $type: ... }"),
    }
}

/// Whether `path` could be created in `doc`: it does not go through a scalar, nor into an
/// array by a part that is not an index. Operators that never create a path (`$pull`)
/// still refuse one that could not be created.
fn viable(doc: &Document, path: &[String]) -> bool {
    let Some(mut current) = doc.get(&path[0]) else {
        return true;
    };
    for part in &path[1..] {
        current = match current {
            Bson::Document(d) => match d.get(part) {
                Some(v) => v,
                None => return true,
            },
            Bson::Array(items) => match array_index(part) {
                Some(i) => match items.get(i) {
                    Some(v) => v,
                    None => return true,
                },
                None => return false,
            },
            _ => return false,
        };
    }
    true
}

/// Whether a part of `path` before its last one is an array in `doc`: `$rename` does not
/// reach into arrays.
fn crosses_array(doc: &Document, path: &[String]) -> bool {
    let Some(mut current) = doc.get(&path[0]) else {
        return false;
    };
    for part in &path[1..] {
        current = match current {
            Bson::Array(_) => return true,
            Bson::Document(d) => match d.get(part) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    false
}

/// Two operations may not touch the same path, or one inside the other.
fn check_conflicts(ops: &[(Op, Vec<String>, Bson)]) -> Result<()> {
    let mut paths: Vec<Vec<String>> = Vec::with_capacity(ops.len());
    for (op, path, operand) in ops {
        paths.push(path.clone());
        if *op == Op::Rename
            && let Bson::String(target) = operand
        {
            paths.push(super::path::split(target));
        }
    }
    for (i, a) in paths.iter().enumerate() {
        for b in &paths[i + 1..] {
            let shared = a.len().min(b.len());
            if a[..shared] == b[..shared] {
                return Err(Error::bad_request(format!(
                    "updating the path {:?} would create a conflict at {:?}",
                    b.join("."),
                    a[..shared].join(".")
                )));
            }
        }
    }
    Ok(())
}

fn compile_pull(operand: &Bson) -> Result<Pull> {
    Ok(match operand {
        Bson::Document(d) if d.keys().next().is_some_and(|k| k.starts_with('$')) => {
            let Filter::Field { cond, .. } = Filter::compile(&bson::doc! { "v": d.clone() })?
            else {
                return Err(Error::bad_request("invalid $pull condition"));
            };
            Pull::Cond(cond)
        }
        Bson::Document(d) => Pull::Filter(Filter::compile(d)?),
        other => Pull::Value(other.clone()),
    })
}

impl Pull {
    fn removes(&self, item: &Bson) -> bool {
        match self {
            Self::Value(v) => value::equals(item, v),
            Self::Cond(cond) => cond.matches(&[Some(item)]),
            Self::Filter(filter) => matches!(item, Bson::Document(d) if filter.matches(d)),
        }
    }
}

/// The values `$push` / `$addToSet` add, and `$slice` if given.
fn push_items(op: Op, operand: &Bson) -> Result<(Vec<Bson>, Option<i64>)> {
    let Bson::Document(spec) = operand else {
        return Ok((vec![operand.clone()], None));
    };
    if !spec.contains_key("$each") {
        return Ok((vec![operand.clone()], None));
    }
    let mut items = Vec::new();
    let mut slice = None;
    for (key, v) in spec {
        match (key.as_str(), v) {
            ("$each", Bson::Array(each)) => items.clone_from(each),
            ("$each", _) => return Err(Error::bad_request("$each needs an array")),
            ("$slice", n) if op == Op::Push => {
                slice = Some(match n {
                    Bson::Int32(n) => i64::from(*n),
                    Bson::Int64(n) => *n,
                    _ => return Err(Error::bad_request("$slice needs an integer")),
                });
            }
            (other, _) => return Err(unsupported(&format!("{} with {other}", op.name()))),
        }
    }
    Ok((items, slice))
}

fn slice_array(array: &mut Vec<Bson>, n: i64) {
    let len = array.len();
    let keep = usize::try_from(n.unsigned_abs())
        .unwrap_or(usize::MAX)
        .min(len);
    if n >= 0 {
        array.truncate(keep);
    } else {
        array.drain(..len - keep);
    }
}

fn zero_like(v: &Bson) -> Bson {
    match v {
        Bson::Int32(_) => Bson::Int32(0),
        Bson::Int64(_) => Bson::Int64(0),
        _ => Bson::Double(0.0),
    }
}

/// MongoDB's numeric promotion: int32 overflows into int64, anything with a double is
/// a double; int64 overflow is an error.
fn add(a: &Bson, b: &Bson) -> Option<Bson> {
    arith(a, b, i32::checked_add, i64::checked_add, |x, y| x + y)
}

fn multiply(a: &Bson, b: &Bson) -> Option<Bson> {
    arith(a, b, i32::checked_mul, i64::checked_mul, |x, y| x * y)
}

fn arith(
    a: &Bson,
    b: &Bson,
    int: fn(i32, i32) -> Option<i32>,
    long: fn(i64, i64) -> Option<i64>,
    double: fn(f64, f64) -> f64,
) -> Option<Bson> {
    match (a, b) {
        (Bson::Int32(x), Bson::Int32(y)) => Some(match int(*x, *y) {
            Some(v) => Bson::Int32(v),
            None => Bson::Int64(long(i64::from(*x), i64::from(*y))?),
        }),
        (Bson::Int32(_) | Bson::Int64(_), Bson::Int32(_) | Bson::Int64(_)) => {
            let as_long = |v: &Bson| match v {
                Bson::Int32(v) => i64::from(*v),
                Bson::Int64(v) => *v,
                _ => 0,
            };
            long(as_long(a), as_long(b)).map(Bson::Int64)
        }
        _ => Some(Bson::Double(double(value::as_f64(a)?, value::as_f64(b)?))),
    }
}

/// The value at an exact path (no fan-out through arrays; numeric parts index them).
fn get<'a>(doc: &'a Document, path: &[String]) -> Option<&'a Bson> {
    let mut current = doc.get(&path[0])?;
    for part in &path[1..] {
        current = match current {
            Bson::Document(d) => d.get(part)?,
            Bson::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Sets the value at a path, creating subdocuments and padding arrays with nulls.
fn set(doc: &mut Document, path: &[String], v: Bson) -> std::result::Result<(), String> {
    if path.len() == 1 {
        doc.insert(path[0].clone(), v);
        return Ok(());
    }
    let child = doc
        .entry(path[0].clone())
        .or_insert_with(|| Bson::Document(Document::new()));
    set_in(child, &path[1..], v, &path[0])
}

fn set_in(
    target: &mut Bson,
    path: &[String],
    v: Bson,
    parent: &str,
) -> std::result::Result<(), String> {
    match target {
        Bson::Document(d) => set(d, path, v),
        Bson::Array(items) => {
            let index: usize = path[0]
                .parse()
                .map_err(|_| format!("cannot create field {:?} in array {parent:?}", path[0]))?;
            if items.len() <= index {
                items.resize(index + 1, Bson::Null);
            }
            if path.len() == 1 {
                items[index] = v;
                Ok(())
            } else {
                if matches!(items[index], Bson::Null) {
                    items[index] = Bson::Document(Document::new());
                }
                set_in(&mut items[index], &path[1..], v, &path[0])
            }
        }
        other => Err(format!(
            "cannot create field {:?} in element {{{parent}: {other}}}",
            path[0]
        )),
    }
}

/// Removes the value at a path; inside an array the element becomes null.
fn unset(doc: &mut Document, path: &[String]) {
    if path.len() == 1 {
        doc.remove(&path[0]);
        return;
    }
    let mut current = match doc.get_mut(&path[0]) {
        Some(v) => v,
        None => return,
    };
    for (i, part) in path[1..].iter().enumerate() {
        let last = i == path.len() - 2;
        current = match current {
            Bson::Document(d) if last => {
                d.remove(part);
                return;
            }
            Bson::Document(d) => match d.get_mut(part) {
                Some(v) => v,
                None => return,
            },
            Bson::Array(items) => match part.parse::<usize>().ok().and_then(|n| items.get_mut(n)) {
                Some(item) if last => {
                    *item = Bson::Null;
                    return;
                }
                Some(item) => item,
                None => return,
            },
            _ => return,
        };
    }
}

/// The document an upsert starts from: the equality conditions of the filter (top
/// level, or in a top-level `$and`), set in the order of their paths as MongoDB does.
/// Two equalities on the same path, or one inside the other, cannot both hold.
pub(crate) fn seed_from_filter(filter: &Document) -> Result<Document> {
    let mut equalities = Vec::new();
    collect_equalities(filter, &mut equalities);
    equalities.sort_by(|(a, _), (b, _)| a.as_bytes().cmp(b.as_bytes()));
    for pair in equalities.windows(2) {
        let (a, b) = (pair[0].0, pair[1].0);
        if a == b || b.strip_prefix(a).is_some_and(|rest| rest.starts_with('.')) {
            return Err(Error::bad_request(format!(
                "the filter's equalities on {a:?} and {b:?} cannot seed one document"
            )));
        }
    }
    let mut seed = Document::new();
    for (path, v) in equalities {
        set(&mut seed, &super::path::split(path), v.clone()).map_err(|why| {
            Error::bad_request(format!("cannot seed {path:?} from the filter: {why}"))
        })?;
    }
    Ok(seed)
}

/// The `_id` a filter's equalities give, for a replacement that upserts.
pub(crate) fn id_from_filter(filter: &Document) -> Option<Bson> {
    let mut equalities = Vec::new();
    collect_equalities(filter, &mut equalities);
    equalities
        .into_iter()
        .find(|(path, _)| *path == "_id")
        .map(|(_, v)| v.clone())
}

fn collect_equalities<'a>(filter: &'a Document, out: &mut Vec<(&'a str, &'a Bson)>) {
    for (key, v) in filter {
        match (key.as_str(), v) {
            ("$and", Bson::Array(items)) => {
                for item in items {
                    if let Bson::Document(d) = item {
                        collect_equalities(d, out);
                    }
                }
            }
            (k, _) if k.starts_with('$') => {}
            (k, Bson::Document(d)) if d.keys().next().is_some_and(|op| op.starts_with('$')) => {
                if let Some(eq) = d.get("$eq") {
                    out.push((k, eq));
                }
            }
            (_, Bson::RegularExpression(_)) => {}
            (k, literal) => out.push((k, literal)),
        }
    }
}

#[cfg(test)]
mod tests {
    use bson::doc;

    use super::*;

    fn apply(mut d: Document, update: Document) -> Result<Document> {
        Update::parse(&update)?.apply(&mut d, false)?;
        Ok(d)
    }

    #[test]
    fn set_creates_paths_and_pads_arrays() {
        let d = apply(doc! { "a": [1] }, doc! { "$set": { "b.c": 1, "a.2": 3 } }).expect("applies");
        assert_eq!(d, doc! { "a": [1, null, 3], "b": { "c": 1 } });
        let err = apply(doc! { "a": 1 }, doc! { "$set": { "a.b": 1 } }).expect_err("not viable");
        assert_eq!(err.kind(), crate::ErrorKind::BadRequest);
    }

    #[test]
    fn numeric_promotion() {
        let d = apply(doc! { "n": i32::MAX }, doc! { "$inc": { "n": 1 } }).expect("applies");
        assert_eq!(d, doc! { "n": i64::from(i32::MAX) + 1 });
        let d = apply(
            doc! { "n": 2 },
            doc! { "$mul": { "n": 1.5 }, "$inc": { "m": 1 } },
        )
        .expect("applies");
        assert_eq!(d, doc! { "n": 3.0, "m": 1 });
    }

    #[test]
    fn conflicts_and_id_are_refused() {
        assert!(Update::parse(&doc! { "$set": { "a": 1 }, "$inc": { "a.b": 1 } }).is_err());
        assert!(apply(doc! { "_id": 1 }, doc! { "$set": { "_id": 2 } }).is_err());
        assert!(apply(doc! { "_id": 1 }, doc! { "$set": { "_id": 1.0 } }).is_ok());
    }

    #[test]
    fn fields_apply_in_field_name_order() {
        let d = apply(
            doc! { "_id": 1, "x": 1 },
            doc! { "$set": { "z": 1, "b": 1 }, "$inc": { "a": 1 } },
        )
        .expect("applies");
        assert_eq!(d, doc! { "_id": 1, "x": 1, "a": 1, "b": 1, "z": 1 });
        let d = apply(
            doc! {},
            doc! { "$set": { "n.10": 1, "n.9": 1 }, "$rename": { "m": "c" } },
        )
        .expect("applies");
        assert_eq!(d, doc! { "n": { "9": 1, "10": 1 } });
    }

    #[test]
    fn malformed_operands_are_refused_before_any_document() {
        for bad in [
            doc! { "$inc": { "a": "1" } },
            doc! { "$rename": { "a": "" } },
            doc! { "$currentDate": { "a": 1 } },
            doc! { "$push": { "a": { "$each": 1 } } },
        ] {
            assert_eq!(
                Update::parse(&bad).expect_err("refused").kind(),
                crate::ErrorKind::BadRequest
            );
        }
        let err = apply(doc! { "a": [1, 2] }, doc! { "$rename": { "a.0": "b" } })
            .expect_err("array element");
        assert_eq!(err.kind(), crate::ErrorKind::BadRequest);
    }

    #[test]
    fn upserts_seed_equalities_in_path_order() {
        let seed = seed_from_filter(
            &doc! { "k": 1, "e": { "$eq": "x" }, "$and": [{ "b.c": 2 }], "n": { "$gt": 1 } },
        );
        assert_eq!(
            seed.expect("seeds"),
            doc! { "b": { "c": 2 }, "e": "x", "k": 1 }
        );
        assert!(seed_from_filter(&doc! { "a": 1, "$and": [{ "a.b": 2 }] }).is_err());
        assert!(seed_from_filter(&doc! { "a": 1, "$and": [{ "a": 1 }] }).is_err());
    }

    #[test]
    fn push_slice_pull_add_to_set() {
        let d = apply(
            doc! { "a": [1, 2], "s": ["x"] },
            doc! {
                "$push": { "a": { "$each": [3, 4, 5], "$slice": -3 } },
                "$addToSet": { "s": { "$each": ["x", "y"] } },
            },
        )
        .expect("applies");
        assert_eq!(d, doc! { "a": [3, 4, 5], "s": ["x", "y"] });
        let d = apply(d, doc! { "$pull": { "a": { "$gte": 4 } } }).expect("applies");
        assert_eq!(d, doc! { "a": [3], "s": ["x", "y"] });
    }
}
