//! Sorting and projection of query results.

use std::cmp::Ordering;

use bson::{Bson, Document};

use super::{path, value};
use crate::{Error, Result, store::unsupported};

/// A compiled sort: paths with their direction.
#[derive(Debug, Default)]
pub(crate) struct Sort(Vec<(Vec<String>, bool)>);

impl Sort {
    /// Parses `{ field: 1 | -1, ... }`.
    pub(crate) fn parse(spec: Option<&Document>) -> Result<Self> {
        let Some(spec) = spec else {
            return Ok(Self::default());
        };
        let mut keys = Vec::with_capacity(spec.len());
        for (field, direction) in spec {
            let ascending = match value::as_f64(direction) {
                Some(1.0) => true,
                Some(-1.0) => false,
                _ if matches!(direction, Bson::Document(_)) => {
                    return Err(unsupported(&format!("sort by {direction}")));
                }
                _ => {
                    return Err(Error::bad_request(format!(
                        "sort direction of {field:?} must be 1 or -1"
                    )));
                }
            };
            keys.push((path::split(field), ascending));
        }
        Ok(Self(keys))
    }

    /// True when there is nothing to sort by.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The sort keys: each field's path and whether it is ascending.
    pub(crate) fn keys(&self) -> &[(Vec<String>, bool)] {
        &self.0
    }

    /// The sort key of a document: per field, the smallest value (ascending) or the
    /// largest (descending), arrays contributing their elements; missing sorts as null.
    pub(crate) fn key(&self, doc: &Document) -> Vec<Bson> {
        self.key_ref(doc).into_iter().cloned().collect()
    }

    /// [`Sort::key`] without copying: the values borrowed from `doc`.
    pub(crate) fn key_ref<'a>(&self, doc: &'a Document) -> Vec<&'a Bson> {
        static NULL: Bson = Bson::Null;
        static EMPTY_ARRAY: Bson = Bson::Undefined;
        self.0
            .iter()
            .map(|(parts, ascending)| {
                let mut best: Option<&'a Bson> = None;
                let mut consider = |c: &'a Bson| {
                    let better = best.is_none_or(|b| {
                        let order = value::compare(c, b);
                        if *ascending {
                            order.is_lt()
                        } else {
                            order.is_gt()
                        }
                    });
                    if better {
                        best = Some(c);
                    }
                };
                let single;
                let found = match parts.len() {
                    1 => {
                        single = [doc.get(&parts[0])];
                        &single[..]
                    }
                    _ => &path::lookup(doc, parts)[..],
                };
                for found in found {
                    match found.unwrap_or(&NULL) {
                        Bson::Array(items) if items.is_empty() => consider(&EMPTY_ARRAY),
                        Bson::Array(items) => items.iter().for_each(&mut consider),
                        other => consider(other),
                    }
                }
                best.unwrap_or(&NULL)
            })
            .collect()
    }

    /// Compares two borrowed sort keys built by [`Sort::key_ref`].
    pub(crate) fn compare_ref(&self, a: &[&Bson], b: &[&Bson]) -> Ordering {
        for ((x, y), (_, ascending)) in a.iter().zip(b).zip(&self.0) {
            let order = value::compare(x, y);
            if order != Ordering::Equal {
                return if *ascending { order } else { order.reverse() };
            }
        }
        Ordering::Equal
    }

    /// Compares two sort keys built by [`Sort::key`].
    pub(crate) fn compare(&self, a: &[Bson], b: &[Bson]) -> Ordering {
        for ((x, y), (_, ascending)) in a.iter().zip(b).zip(&self.0) {
            let order = value::compare(x, y);
            if order != Ordering::Equal {
                return if *ascending { order } else { order.reverse() };
            }
        }
        Ordering::Equal
    }
}

/// A compiled projection.
#[derive(Debug)]
pub(crate) struct Projection {
    include: bool,
    tree: Tree,
    id: bool,
}

#[derive(Debug, Default)]
struct Tree(Vec<(String, Option<Tree>)>);

impl Tree {
    /// Adds a path; one that is a prefix of another (`a` and `a.b`) is a collision.
    fn insert(&mut self, parts: &[String]) -> std::result::Result<(), ()> {
        let position = self.0.iter().position(|(name, _)| *name == parts[0]);
        match (position, parts.len()) {
            (Some(i), 1) => match self.0[i].1 {
                Some(_) => Err(()),
                None => Ok(()),
            },
            (Some(i), _) => match &mut self.0[i].1 {
                Some(sub) => sub.insert(&parts[1..]),
                None => Err(()),
            },
            (None, 1) => {
                self.0.push((parts[0].clone(), None));
                Ok(())
            }
            (None, _) => {
                let mut sub = Tree::default();
                sub.insert(&parts[1..])?;
                self.0.push((parts[0].clone(), Some(sub)));
                Ok(())
            }
        }
    }

    fn get(&self, name: &str) -> Option<&Option<Tree>> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, sub)| sub)
    }
}

impl Projection {
    /// Parses `{ field: 1, ... }` (inclusion) or `{ field: 0, ... }` (exclusion); `_id`
    /// may be excluded from an inclusion, and `{ _id: 1 }` alone keeps only `_id`.
    pub(crate) fn parse(spec: &Document) -> Result<Option<Self>> {
        let mut include = None;
        let mut id = None;
        let mut tree = Tree::default();
        for (field, flag) in spec {
            let on = match flag {
                Bson::Boolean(b) => *b,
                other => match value::as_f64(other) {
                    Some(n) => n != 0.0,
                    None => return Err(unsupported(&format!("projection {field}: {other}"))),
                },
            };
            if field == "_id" {
                id = Some(on);
                continue;
            }
            if *include.get_or_insert(on) != on {
                return Err(Error::bad_request(format!(
                    "cannot mix inclusion and exclusion in a projection (at {field:?})"
                )));
            }
            tree.insert(&path::split(field)).map_err(|()| {
                Error::bad_request(format!("the projection's paths collide at {field:?}"))
            })?;
        }
        Ok(match (include, id) {
            (Some(include), id) => Some(Self {
                include,
                tree,
                id: id.unwrap_or(true),
            }),
            (None, Some(false)) => Some(Self {
                include: false,
                tree: Tree(vec![("_id".into(), None)]),
                id: true,
            }),
            (None, Some(true)) => Some(Self {
                include: true,
                tree,
                id: true,
            }),
            (None, None) => None,
        })
    }

    /// The projected copy of `doc`.
    pub(crate) fn apply(&self, doc: &Document) -> Document {
        let mut out = match self.include {
            true => include(doc, &self.tree),
            false => exclude(doc, &self.tree),
        };
        if self.include && self.id {
            if let Some(id) = doc.get("_id")
                && !out.contains_key("_id")
            {
                let mut with_id = Document::new();
                with_id.insert("_id", id.clone());
                with_id.extend(out);
                out = with_id;
            }
        } else if !self.id {
            out.remove("_id");
        }
        out
    }
}

fn include(doc: &Document, tree: &Tree) -> Document {
    let mut out = Document::new();
    for (key, v) in doc {
        match tree.get(key) {
            Some(None) => {
                out.insert(key.clone(), v.clone());
            }
            Some(Some(sub)) => {
                if let Some(v) = include_value(v, sub) {
                    out.insert(key.clone(), v);
                }
            }
            None => {}
        }
    }
    out
}

fn include_value(v: &Bson, tree: &Tree) -> Option<Bson> {
    match v {
        Bson::Document(d) => Some(Bson::Document(include(d, tree))),
        Bson::Array(items) => Some(Bson::Array(
            items
                .iter()
                .filter_map(|item| include_value(item, tree))
                .collect(),
        )),
        _ => None,
    }
}

fn exclude(doc: &Document, tree: &Tree) -> Document {
    let mut out = Document::new();
    for (key, v) in doc {
        match tree.get(key) {
            Some(None) => {}
            Some(Some(sub)) => {
                out.insert(key.clone(), exclude_value(v, sub));
            }
            None => {
                out.insert(key.clone(), v.clone());
            }
        }
    }
    out
}

fn exclude_value(v: &Bson, tree: &Tree) -> Bson {
    match v {
        Bson::Document(d) => Bson::Document(exclude(d, tree)),
        Bson::Array(items) => {
            Bson::Array(items.iter().map(|item| exclude_value(item, tree)).collect())
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use bson::doc;

    use super::*;

    #[test]
    fn inclusion_keeps_document_order_and_id() {
        let p = Projection::parse(&doc! { "b": 1, "c.x": 1 })
            .expect("parses")
            .expect("some");
        let d = doc! { "_id": 1, "a": 1, "c": [{ "x": 1, "y": 2 }, 3], "b": 2 };
        assert_eq!(p.apply(&d), doc! { "_id": 1, "c": [{ "x": 1 }], "b": 2 });
    }

    #[test]
    fn exclusion_and_id() {
        let p = Projection::parse(&doc! { "_id": 0, "c.y": 0 })
            .expect("parses")
            .expect("some");
        let d = doc! { "_id": 1, "c": { "x": 1, "y": 2 } };
        assert_eq!(p.apply(&d), doc! { "c": { "x": 1 } });
        assert!(Projection::parse(&doc! { "a": 1, "b": 0 }).is_err());
    }

    #[test]
    fn id_alone_and_collisions() {
        let p = Projection::parse(&doc! { "_id": 1 })
            .expect("parses")
            .expect("some");
        assert_eq!(p.apply(&doc! { "_id": 1, "a": 2 }), doc! { "_id": 1 });
        assert!(Projection::parse(&doc! { "a": 1, "a.b": 1 }).is_err());
        assert!(Projection::parse(&doc! { "a.b": 0, "a": 0 }).is_err());
    }

    #[test]
    fn sort_uses_min_or_max_of_arrays() {
        let s = Sort::parse(Some(&doc! { "a": 1 })).expect("parses");
        let (x, y) = (doc! { "a": [5, 1] }, doc! { "a": 2 });
        assert_eq!(s.compare(&s.key(&x), &s.key(&y)), Ordering::Less);
        let s = Sort::parse(Some(&doc! { "a": -1 })).expect("parses");
        assert_eq!(s.compare(&s.key(&x), &s.key(&y)), Ordering::Less);
    }
}
