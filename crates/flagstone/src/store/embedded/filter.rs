//! Query filters: compiled once from MongoDB's filter language, then matched against
//! documents with MongoDB's semantics (null matches missing, arrays match by element,
//! comparisons stay within a type bracket).

use std::cmp::Ordering;

use bson::{Bson, Document};
use regex::Regex;

use super::{path, value};
use crate::{Error, Result, store::unsupported};

/// A compiled filter.
#[derive(Debug)]
pub(crate) enum Filter {
    /// Every clause matches (a filter document, or `$and`).
    And(Vec<Filter>),
    /// Some clause matches.
    Or(Vec<Filter>),
    /// No clause matches.
    Nor(Vec<Filter>),
    /// A condition on the values at a path.
    Field { path: Vec<String>, cond: Cond },
}

/// A condition on the values found at a path.
#[derive(Debug)]
pub(crate) enum Cond {
    Eq(Bson),
    Ne(Bson),
    Cmp(Ordering, bool, Bson),
    In(Vec<Member>),
    Nin(Vec<Member>),
    Exists(bool),
    Regex(Regex),
    Not(Box<Cond>),
    ElemMatch(ElemMatch),
    Size(usize),
    All(Vec<Bson>),
    /// Several operators on one field: `{ $gte: 1, $lt: 5 }`.
    All2(Vec<Cond>),
}

/// An element of `$in` / `$nin`: a value, or a regular expression.
#[derive(Debug)]
pub(crate) enum Member {
    Value(Bson),
    Regex(Regex),
}

/// `$elemMatch` on scalars (`{ $gte: 80 }`) or on subdocuments (`{ qty: { $gt: 5 } }`).
#[derive(Debug)]
pub(crate) enum ElemMatch {
    Value(Box<Cond>),
    Document(Box<Filter>),
}

impl Filter {
    /// Compiles a filter document; anything outside the supported subset is
    /// `Error::Unsupported` naming the operator.
    pub(crate) fn compile(filter: &Document) -> Result<Self> {
        let mut clauses = Vec::with_capacity(filter.len());
        for (key, value) in filter {
            clauses.push(match key.as_str() {
                "$and" => Self::And(compile_list(key, value)?),
                "$or" => Self::Or(compile_list(key, value)?),
                "$nor" => Self::Nor(compile_list(key, value)?),
                op if op.starts_with('$') => return Err(unsupported(op)),
                field => Self::Field {
                    path: path::split(field),
                    cond: compile_value(value)?,
                },
            });
        }
        Ok(match clauses.len() {
            1 => clauses.pop().unwrap_or(Self::And(Vec::new())),
            _ => Self::And(clauses),
        })
    }

    /// Whether `doc` matches.
    pub(crate) fn matches(&self, doc: &Document) -> bool {
        match self {
            Self::And(all) => all.iter().all(|f| f.matches(doc)),
            Self::Or(any) => any.iter().any(|f| f.matches(doc)),
            Self::Nor(none) => !none.iter().any(|f| f.matches(doc)),
            // A top-level field needs no fan-out, and no allocation.
            Self::Field { path, cond } if path.len() == 1 => cond.matches(&[doc.get(&path[0])]),
            Self::Field { path, cond } => cond.matches(&path::lookup(doc, path)),
        }
    }

    /// True for the empty filter.
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Self::And(all) if all.is_empty())
    }
}

fn compile_list(op: &str, value: &Bson) -> Result<Vec<Filter>> {
    let Bson::Array(items) = value else {
        return Err(Error::bad_request(format!("{op} needs an array")));
    };
    if items.is_empty() {
        return Err(Error::bad_request(format!("{op} needs a non-empty array")));
    }
    items
        .iter()
        .map(|item| match item {
            Bson::Document(doc) => Filter::compile(doc),
            _ => Err(Error::bad_request(format!(
                "{op} entries must be documents"
            ))),
        })
        .collect()
}

/// The condition for `field: value`: an operator document, a regular expression, or a
/// literal to compare for equality.
fn compile_value(value: &Bson) -> Result<Cond> {
    match value {
        Bson::Document(doc) if is_operator_document(doc) => compile_operators(doc),
        Bson::RegularExpression(re) => Ok(Cond::Regex(build_regex(
            re.pattern.as_str(),
            re.options.as_str(),
        )?)),
        literal => Ok(Cond::Eq(literal.clone())),
    }
}

fn is_operator_document(doc: &Document) -> bool {
    doc.keys().next().is_some_and(|k| k.starts_with('$'))
}

fn compile_operators(doc: &Document) -> Result<Cond> {
    let mut conds = Vec::with_capacity(doc.len());
    let options = match doc.get("$options") {
        None => None,
        Some(Bson::String(options)) => Some(options.as_str()),
        Some(_) => return Err(Error::bad_request("$options must be a string")),
    };
    for (op, operand) in doc {
        conds.push(match op.as_str() {
            "$eq" => Cond::Eq(operand.clone()),
            "$ne" => Cond::Ne(operand.clone()),
            "$gt" => Cond::Cmp(Ordering::Greater, false, operand.clone()),
            "$gte" => Cond::Cmp(Ordering::Greater, true, operand.clone()),
            "$lt" => Cond::Cmp(Ordering::Less, false, operand.clone()),
            "$lte" => Cond::Cmp(Ordering::Less, true, operand.clone()),
            "$in" => Cond::In(members(op, operand)?),
            "$nin" => Cond::Nin(members(op, operand)?),
            "$exists" => Cond::Exists(truthy(operand)),
            "$regex" => Cond::Regex(match operand {
                Bson::String(pattern) => build_regex(pattern, options.unwrap_or(""))?,
                Bson::RegularExpression(re) => {
                    build_regex(re.pattern.as_str(), options.unwrap_or(re.options.as_str()))?
                }
                _ => return Err(Error::bad_request("$regex needs a string")),
            }),
            "$options" if doc.contains_key("$regex") => continue,
            "$options" => return Err(Error::bad_request("$options needs $regex")),
            "$not" => Cond::Not(Box::new(match operand {
                Bson::Document(inner) if is_operator_document(inner) => compile_operators(inner)?,
                Bson::RegularExpression(re) => {
                    Cond::Regex(build_regex(re.pattern.as_str(), re.options.as_str())?)
                }
                _ => {
                    return Err(Error::bad_request(
                        "$not needs an operator document or a regex",
                    ));
                }
            })),
            "$elemMatch" => {
                let Bson::Document(inner) = operand else {
                    return Err(Error::bad_request("$elemMatch needs a document"));
                };
                let scalar = is_operator_document(inner)
                    && inner
                        .keys()
                        .all(|k| !matches!(k.as_str(), "$and" | "$or" | "$nor"));
                Cond::ElemMatch(match scalar {
                    true => ElemMatch::Value(Box::new(compile_operators(inner)?)),
                    false => ElemMatch::Document(Box::new(Filter::compile(inner)?)),
                })
            }
            "$size" => Cond::Size(match operand {
                Bson::Int32(n) if *n >= 0 => *n as usize,
                Bson::Int64(n) if *n >= 0 => *n as usize,
                Bson::Double(n) if *n >= 0.0 && n.fract() == 0.0 => *n as usize,
                _ => return Err(Error::bad_request("$size needs a non-negative integer")),
            }),
            "$all" => match operand {
                Bson::Array(items) => {
                    if let Some(bad) = items
                        .iter()
                        .find(|i| matches!(i, Bson::Document(d) if is_operator_document(d)))
                    {
                        return Err(unsupported(&format!("$all with {bad}")));
                    }
                    Cond::All(items.clone())
                }
                _ => return Err(Error::bad_request("$all needs an array")),
            },
            other if other.starts_with('$') => return Err(unsupported(other)),
            other => {
                return Err(Error::bad_request(format!(
                    "unknown operator {other:?}: a document of operators holds only operators"
                )));
            }
        });
    }
    Ok(match conds.len() {
        1 => conds.pop().unwrap_or(Cond::All2(Vec::new())),
        _ => Cond::All2(conds),
    })
}

fn truthy(value: &Bson) -> bool {
    match value {
        Bson::Boolean(b) => *b,
        Bson::Null | Bson::Undefined => false,
        other => value::as_f64(other).is_none_or(|n| n != 0.0),
    }
}

fn members(op: &str, operand: &Bson) -> Result<Vec<Member>> {
    let Bson::Array(items) = operand else {
        return Err(Error::bad_request(format!("{op} needs an array")));
    };
    items
        .iter()
        .map(|item| match item {
            Bson::RegularExpression(re) => Ok(Member::Regex(build_regex(
                re.pattern.as_str(),
                re.options.as_str(),
            )?)),
            Bson::Document(d) if is_operator_document(d) => {
                Err(Error::bad_request(format!("{op} cannot hold operators")))
            }
            other => Ok(Member::Value(other.clone())),
        })
        .collect()
}

/// Compiles a MongoDB regular expression with options `i`, `m`, `s`, `x`. Patterns the
/// `regex` crate cannot express (look-around, back-references) are unsupported.
pub(crate) fn build_regex(pattern: &str, options: &str) -> Result<Regex> {
    let mut builder = regex::RegexBuilder::new(pattern);
    for option in options.chars() {
        match option {
            'i' => builder.case_insensitive(true),
            'm' => builder.multi_line(true),
            's' => builder.dot_matches_new_line(true),
            'x' => builder.ignore_whitespace(true),
            'u' => &mut builder,
            other => return Err(unsupported(&format!("$regex option {other:?}"))),
        };
    }
    builder.build().map_err(|e| regex_error(pattern, &e))
}

/// A pattern no regular-expression dialect accepts is a 400; one that PCRE (MongoDB's
/// dialect) accepts but the `regex` crate cannot express (look-around,
/// back-references, ...) is outside the subset.
fn regex_error(pattern: &str, e: &regex::Error) -> Error {
    const INVALID_EVERYWHERE: &[&str] = &[
        "unclosed group",
        "unopened group",
        "unclosed character class",
        "invalid character class range",
        "invalid repetition count range",
        "repetition operator missing expression",
    ];
    let message = e.to_string();
    let why = message
        .lines()
        .last()
        .unwrap_or_default()
        .trim_start_matches("error: ");
    match INVALID_EVERYWHERE.iter().any(|m| message.contains(m)) {
        true => Error::bad_request(format!("invalid $regex pattern {pattern:?}: {why}")),
        false => unsupported(&format!("$regex pattern {pattern:?} ({why})")),
    }
}

impl Cond {
    /// Whether the values found at a path satisfy this condition.
    pub(crate) fn matches(&self, found: &[Option<&Bson>]) -> bool {
        match self {
            Self::Ne(v) => !Self::eq_any(found, v),
            Self::Nin(members) => !found.iter().any(|f| in_members(*f, members)),
            Self::Exists(want) => found.iter().any(Option::is_some) == *want,
            Self::Not(inner) => !inner.matches(found),
            Self::All2(all) => all.iter().all(|c| c.matches(found)),
            Self::Eq(v) => Self::eq_any(found, v),
            // An `$and` of equalities: each value may be met by a different element.
            Self::All(values) => {
                !values.is_empty() && values.iter().all(|v| Self::eq_any(found, v))
            }
            _ => found.iter().any(|f| self.matches_one(*f)),
        }
    }

    /// Whether one array element, taken whole, satisfies the condition: inside
    /// `$elemMatch`, MongoDB does not look into an element that is itself an array.
    fn matches_element(&self, item: &Bson) -> bool {
        match self {
            Self::Eq(v) => value::equals(item, v),
            Self::Ne(v) => !value::equals(item, v),
            Self::Cmp(direction, inclusive, operand) => {
                compare_match(item, *direction, *inclusive, operand)
            }
            Self::In(members) => members.iter().any(|m| member_matches(m, item)),
            Self::Nin(members) => !members.iter().any(|m| member_matches(m, item)),
            Self::Exists(want) => *want,
            Self::Regex(re) => regex_match(re, item),
            Self::Not(inner) => !inner.matches_element(item),
            Self::All(values) => {
                !values.is_empty() && values.iter().all(|v| value::equals(item, v))
            }
            Self::All2(all) => all.iter().all(|c| c.matches_element(item)),
            Self::ElemMatch(_) | Self::Size(_) => self.matches_one(Some(item)),
        }
    }

    fn eq_any(found: &[Option<&Bson>], v: &Bson) -> bool {
        found.iter().any(|f| eq_match(*f, v))
    }

    /// The positive, per-value conditions.
    fn matches_one(&self, found: Option<&Bson>) -> bool {
        match self {
            Self::Cmp(direction, inclusive, operand) => {
                each(found, |v| compare_match(v, *direction, *inclusive, operand))
            }
            Self::In(members) => in_members(found, members),
            Self::Regex(re) => each(found, |v| regex_match(re, v)),
            Self::ElemMatch(elem) => match found {
                Some(Bson::Array(items)) => items.iter().any(|item| match elem {
                    ElemMatch::Value(cond) => cond.matches_element(item),
                    ElemMatch::Document(filter) => {
                        matches!(item, Bson::Document(d) if filter.matches(d))
                    }
                }),
                _ => false,
            },
            Self::Size(n) => matches!(found, Some(Bson::Array(items)) if items.len() == *n),
            _ => self.matches(&[found]),
        }
    }
}

/// Applies `test` to a value and, when it is an array, to each element.
fn each(found: Option<&Bson>, test: impl Fn(&Bson) -> bool) -> bool {
    let value = found.unwrap_or(&Bson::Null);
    test(value) || matches!(value, Bson::Array(items) if items.iter().any(&test))
}

/// `field: v` — equal, or an element of an array equal, or null matching missing.
fn eq_match(found: Option<&Bson>, v: &Bson) -> bool {
    match found {
        None => matches!(v, Bson::Null),
        Some(found) => {
            value::equals(found, v)
                || matches!(found, Bson::Array(items) if items.iter().any(|i| value::equals(i, v)))
        }
    }
}

fn in_members(found: Option<&Bson>, members: &[Member]) -> bool {
    members.iter().any(|m| match m {
        Member::Value(v) => eq_match(found, v),
        Member::Regex(re) => found.is_some_and(|f| each(Some(f), |v| regex_match(re, v))),
    })
}

/// Whether a value, taken whole, is a member.
fn member_matches(member: &Member, item: &Bson) -> bool {
    match member {
        Member::Value(v) => value::equals(item, v),
        Member::Regex(re) => regex_match(re, item),
    }
}

fn regex_match(re: &Regex, value: &Bson) -> bool {
    match value {
        Bson::String(s) | Bson::Symbol(s) => re.is_match(s),
        _ => false,
    }
}

/// `$gt`/`$gte`/`$lt`/`$lte`: only within the operand's type bracket (MinKey and MaxKey
/// compare with everything).
fn compare_match(v: &Bson, direction: Ordering, inclusive: bool, operand: &Bson) -> bool {
    let cross = matches!(operand, Bson::MinKey | Bson::MaxKey);
    if !cross && value::rank(v) != value::rank(operand) {
        return false;
    }
    match value::compare(v, operand) {
        Ordering::Equal => inclusive,
        order => order == direction,
    }
}

#[cfg(test)]
mod tests {
    use bson::doc;

    use super::*;

    fn m(filter: Document, doc: Document) -> bool {
        Filter::compile(&filter)
            .expect("filter compiles")
            .matches(&doc)
    }

    #[test]
    fn null_matches_missing_and_null() {
        assert!(m(doc! { "a": null }, doc! {}));
        assert!(m(doc! { "a": null }, doc! { "a": null }));
        assert!(!m(doc! { "a": null }, doc! { "a": 0 }));
        assert!(!m(doc! { "a": { "$ne": null } }, doc! {}));
        assert!(m(doc! { "a": { "$exists": false } }, doc! {}));
        assert!(!m(doc! { "a": { "$exists": false } }, doc! { "a": null }));
    }

    #[test]
    fn arrays_match_by_element_and_whole() {
        let d = doc! { "tags": ["a", "b"], "n": [1, 5] };
        assert!(m(doc! { "tags": "a" }, d.clone()));
        assert!(m(doc! { "tags": ["a", "b"] }, d.clone()));
        assert!(!m(doc! { "tags": ["b", "a"] }, d.clone()));
        assert!(m(doc! { "n": { "$gt": 4, "$lt": 2 } }, d.clone()));
        assert!(!m(
            doc! { "n": { "$elemMatch": { "$gt": 4, "$lt": 2 } } },
            d.clone()
        ));
        assert!(m(doc! { "tags": { "$all": ["b", "a"] } }, d.clone()));
        assert!(m(doc! { "tags": { "$size": 2 } }, d));
    }

    #[test]
    fn comparisons_stay_in_their_bracket() {
        assert!(!m(doc! { "a": { "$gt": 1 } }, doc! { "a": "x" }));
        assert!(m(doc! { "a": { "$gte": 1 } }, doc! { "a": 1.0 }));
        assert!(!m(doc! { "a": { "$lt": 1 } }, doc! {}));
    }

    #[test]
    fn all_is_an_and_of_equalities() {
        let d = doc! { "items": [{ "t": "a" }, { "t": "b" }] };
        assert!(m(doc! { "items.t": { "$all": ["a", "b"] } }, d.clone()));
        assert!(!m(doc! { "items.t": { "$all": ["a", "c"] } }, d));
    }

    #[test]
    fn elem_match_takes_elements_whole() {
        let d = doc! { "a": [[1, 2], 3] };
        assert!(!m(doc! { "a": { "$elemMatch": { "$lt": 2 } } }, d.clone()));
        assert!(m(doc! { "a": { "$elemMatch": { "$gt": 2 } } }, d.clone()));
        assert!(m(
            doc! { "a": { "$elemMatch": { "$eq": [1, 2] } } },
            d.clone()
        ));
        assert!(m(doc! { "a": { "$elemMatch": { "$size": 2 } } }, d.clone()));
        assert!(!m(
            doc! { "a": { "$elemMatch": { "$in": [1] } } },
            d.clone()
        ));
        assert!(m(doc! { "a": { "$elemMatch": { "$nin": [1, 3] } } }, d));
    }

    #[test]
    fn malformed_input_is_a_bad_request() {
        let err =
            Filter::compile(&doc! { "a": { "$gt": 1, "b": 2 } }).expect_err("not an operator");
        assert_eq!(err.kind(), crate::ErrorKind::BadRequest);
        let err = Filter::compile(&doc! { "a": { "$regex": "(" } }).expect_err("unclosed group");
        assert_eq!(err.kind(), crate::ErrorKind::BadRequest);
        let err = Filter::compile(&doc! { "a": { "$regex": "(?<=x)a" } }).expect_err("look-behind");
        assert_eq!(err.kind(), crate::ErrorKind::Unsupported);
    }

    #[test]
    fn unknown_operators_are_unsupported() {
        let err = Filter::compile(&doc! { "$where": "1" }).expect_err("unsupported");
        assert_eq!(err.kind(), crate::ErrorKind::Unsupported);
        let err = Filter::compile(&doc! { "a": { "$type": "string" } }).expect_err("unsupported");
        assert!(err.detail().unwrap_or_default().contains("$type"));
    }
}
