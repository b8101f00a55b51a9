//! MongoDB's order over BSON values: the canonical type brackets first, then values
//! within a bracket. Numbers of every type compare by value (`1 == 1.0`), exactly (a
//! long is not rounded to a double first).

use std::cmp::Ordering;

use bson::{Bson, Document};

/// The canonical type bracket of a value, in MongoDB's comparison order. `undefined`
/// (what an empty array contributes to sort and index keys) sorts below `null`.
pub(crate) fn rank(value: &Bson) -> u8 {
    match value {
        Bson::MinKey => 0,
        Bson::Undefined => 1,
        Bson::Null => 2,
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => NUMBER_RANK,
        Bson::String(_) | Bson::Symbol(_) => 4,
        Bson::Document(_) => 5,
        Bson::Array(_) => 6,
        Bson::Binary(_) => 7,
        Bson::ObjectId(_) => 8,
        Bson::Boolean(_) => 9,
        Bson::DateTime(_) => 10,
        Bson::Timestamp(_) => 11,
        Bson::RegularExpression(_) => 12,
        Bson::DbPointer(_) => 13,
        Bson::JavaScriptCode(_) | Bson::JavaScriptCodeWithScope(_) => 14,
        Bson::MaxKey => 15,
    }
}

/// The rank every number shares.
pub(crate) const NUMBER_RANK: u8 = 3;

/// A number as `f64` (Decimal128 through its decimal string).
pub(crate) fn as_f64(value: &Bson) -> Option<f64> {
    match value {
        Bson::Int32(v) => Some(f64::from(*v)),
        #[allow(clippy::cast_precision_loss)]
        Bson::Int64(v) => Some(*v as f64),
        Bson::Double(v) => Some(*v),
        Bson::Decimal128(v) => v.to_string().parse().ok(),
        _ => None,
    }
}

fn as_i64(value: &Bson) -> Option<i64> {
    match value {
        Bson::Int32(v) => Some(i64::from(*v)),
        Bson::Int64(v) => Some(*v),
        _ => None,
    }
}

fn compare_numbers(a: &Bson, b: &Bson) -> Ordering {
    match (as_i64(a), as_i64(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(x), None) => compare_long_double(x, as_f64(b).unwrap_or(f64::NAN)),
        (None, Some(y)) => compare_long_double(y, as_f64(a).unwrap_or(f64::NAN)).reverse(),
        (None, None) => {
            compare_doubles(as_f64(a).unwrap_or(f64::NAN), as_f64(b).unwrap_or(f64::NAN))
        }
    }
}

/// NaN sorts below every other number, and equals itself.
fn compare_doubles(x: f64, y: f64) -> Ordering {
    match (x.is_nan(), y.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
    }
}

/// A long against a double, exactly: `2^53 + 1` is greater than the double `2^53`, which
/// converting the long to a double would make equal.
fn compare_long_double(long: i64, double: f64) -> Ordering {
    /// 2^63, the first double above every long.
    const LONG_END: f64 = 9_223_372_036_854_775_808.0;
    if double.is_nan() {
        return Ordering::Greater;
    }
    if double >= LONG_END {
        return Ordering::Less;
    }
    if double < -LONG_END {
        return Ordering::Greater;
    }
    let whole = double.trunc();
    // In range and integral, so the conversion is exact.
    #[allow(clippy::cast_possible_truncation)]
    let whole_long = whole as i64;
    long.cmp(&whole_long)
        .then_with(|| compare_doubles(0.0, double - whole))
}

/// Compares two values the way MongoDB sorts them.
pub(crate) fn compare(a: &Bson, b: &Bson) -> Ordering {
    let by_rank = rank(a).cmp(&rank(b));
    if by_rank != Ordering::Equal {
        return by_rank;
    }
    match (a, b) {
        (Bson::String(x) | Bson::Symbol(x), Bson::String(y) | Bson::Symbol(y)) => x.cmp(y),
        (Bson::Document(x), Bson::Document(y)) => compare_documents(x, y),
        (Bson::Array(x), Bson::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                let order = compare(p, q);
                if order != Ordering::Equal {
                    return order;
                }
            }
            x.len().cmp(&y.len())
        }
        (Bson::Binary(x), Bson::Binary(y)) => x
            .bytes
            .len()
            .cmp(&y.bytes.len())
            .then_with(|| u8::from(x.subtype).cmp(&u8::from(y.subtype)))
            .then_with(|| x.bytes.cmp(&y.bytes)),
        (Bson::ObjectId(x), Bson::ObjectId(y)) => x.bytes().cmp(&y.bytes()),
        (Bson::Boolean(x), Bson::Boolean(y)) => x.cmp(y),
        (Bson::DateTime(x), Bson::DateTime(y)) => x.cmp(y),
        (Bson::Timestamp(x), Bson::Timestamp(y)) => {
            (x.time, x.increment).cmp(&(y.time, y.increment))
        }
        (Bson::RegularExpression(x), Bson::RegularExpression(y)) => x
            .pattern
            .as_str()
            .cmp(y.pattern.as_str())
            .then_with(|| x.options.as_str().cmp(y.options.as_str())),
        (Bson::JavaScriptCode(x), Bson::JavaScriptCode(y)) => x.cmp(y),
        _ if rank(a) == NUMBER_RANK => compare_numbers(a, b),
        // MinKey, MaxKey, null and the rest: equal within their bracket.
        _ => Ordering::Equal,
    }
}

/// Subdocuments compare pair by pair: the value's type, then the key, then the value.
fn compare_documents(x: &Document, y: &Document) -> Ordering {
    for ((xk, xv), (yk, yv)) in x.iter().zip(y) {
        let order = rank(xv)
            .cmp(&rank(yv))
            .then_with(|| xk.as_str().cmp(yk.as_str()))
            .then_with(|| compare(xv, yv));
        if order != Ordering::Equal {
            return order;
        }
    }
    x.len().cmp(&y.len())
}

/// MongoDB equality: by value, across numeric types.
pub(crate) fn equals(a: &Bson, b: &Bson) -> bool {
    compare(a, b) == Ordering::Equal
}

/// A value ordered the MongoDB way, usable as a `BTreeMap` key.
#[derive(Clone, Debug)]
pub(crate) struct Key(pub(crate) Bson);

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        equals(&self.0, &other.0)
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        compare(&self.0, &other.0)
    }
}

#[cfg(test)]
mod tests {
    use bson::{doc, oid::ObjectId};

    use super::*;

    #[test]
    fn brackets_follow_mongodb_order() {
        let ascending = [
            Bson::MinKey,
            Bson::Undefined,
            Bson::Null,
            Bson::Double(f64::NAN),
            Bson::Int32(-3),
            Bson::Double(2.5),
            Bson::Int64(3),
            Bson::String(String::new()),
            Bson::String("a".into()),
            Bson::Document(doc! {}),
            Bson::Array(vec![]),
            Bson::ObjectId(ObjectId::new()),
            Bson::Boolean(false),
            Bson::Boolean(true),
            Bson::DateTime(bson::DateTime::from_millis(0)),
            Bson::MaxKey,
        ];
        for pair in ascending.windows(2) {
            assert_eq!(compare(&pair[0], &pair[1]), Ordering::Less, "{pair:?}");
        }
    }

    #[test]
    fn numbers_compare_across_types() {
        assert!(equals(&Bson::Int32(1), &Bson::Double(1.0)));
        assert!(equals(&Bson::Int64(7), &Bson::Int32(7)));
        assert_eq!(
            compare(&Bson::Int64(i64::MAX), &Bson::Int64(i64::MAX - 1)),
            Ordering::Greater
        );
    }

    #[test]
    fn longs_and_doubles_compare_exactly() {
        let above = Bson::Int64(9_007_199_254_740_993);
        let double = Bson::Double(9_007_199_254_740_992.0);
        assert_eq!(compare(&above, &double), Ordering::Greater);
        assert_eq!(compare(&double, &above), Ordering::Less);
        assert_eq!(
            compare(&Bson::Int64(i64::MAX), &Bson::Double(9.3e18)),
            Ordering::Less
        );
        assert_eq!(
            compare(&Bson::Int64(i64::MIN), &Bson::Double(-9.3e18)),
            Ordering::Greater
        );
        assert_eq!(compare(&Bson::Int32(2), &Bson::Double(2.5)), Ordering::Less);
        assert_eq!(
            compare(&Bson::Int32(-2), &Bson::Double(-2.5)),
            Ordering::Greater
        );
        assert_eq!(
            compare(&Bson::Int32(0), &Bson::Double(-0.0)),
            Ordering::Equal
        );
        assert_eq!(
            compare(&Bson::Int32(0), &Bson::Double(f64::NAN)),
            Ordering::Greater
        );
    }
}
