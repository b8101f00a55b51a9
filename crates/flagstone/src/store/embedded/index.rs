//! Secondary indexes of the embedded store: ordered sets of (key, id) kept in step with
//! every write, enforcing uniqueness and answering equality and range lookups.

use std::{cmp::Ordering, collections::BTreeSet, ops::Bound};

use bson::{Bson, Document};

use super::{
    filter::{Cond, Filter, Member},
    path,
    value::{self, Key},
};
use crate::{Error, FieldError, Result, store::Index};

/// One index and its entries.
#[derive(Debug)]
pub(crate) struct IndexState {
    pub(crate) spec: Index,
    pub(crate) name: String,
    /// The indexed paths; empty for a text index, which the embedded store only records.
    fields: Vec<Vec<String>>,
    partial: Option<Filter>,
    entries: BTreeSet<(Vec<Key>, Key)>,
    /// Whether some document gave several keys (an array field). The bounds of a range
    /// cannot then be intersected: different elements may meet each bound. Never reset,
    /// which only costs a wider scan.
    multikey: bool,
}

impl IndexState {
    pub(crate) fn new(spec: Index) -> Result<Self> {
        let text = spec
            .keys
            .values()
            .any(|v| matches!(v, Bson::String(s) if s == "text"));
        if !text
            && let Some((field, kind)) = spec
                .keys
                .iter()
                .find(|(_, v)| value::as_f64(v).is_none_or(|d| d != 1.0 && d != -1.0))
        {
            return Err(crate::store::unsupported(&format!(
                "index kind {kind} on {field:?}"
            )));
        }
        let fields = match text {
            true => Vec::new(),
            false => spec.keys.keys().map(|k| path::split(k)).collect(),
        };
        let partial = spec.partial.as_ref().map(Filter::compile).transpose()?;
        Ok(Self {
            name: spec.resolved_name(),
            spec,
            fields,
            partial,
            entries: BTreeSet::new(),
            multikey: false,
        })
    }

    /// The key tuples of `doc` in this index (several for an array field, none when a
    /// sparse or partial index leaves the document out).
    pub(crate) fn keys_for(&self, doc: &Document) -> Result<Vec<Vec<Key>>> {
        if self.fields.is_empty() || self.partial.as_ref().is_some_and(|p| !p.matches(doc)) {
            return Ok(Vec::new());
        }
        let mut per_field: Vec<Vec<Key>> = Vec::with_capacity(self.fields.len());
        let mut any_present = false;
        for parts in &self.fields {
            let mut values = Vec::new();
            for found in path::lookup(doc, parts) {
                match found {
                    None => values.push(Key(Bson::Null)),
                    Some(Bson::Array(items)) if items.is_empty() => {
                        any_present = true;
                        values.push(Key(Bson::Undefined));
                    }
                    Some(Bson::Array(items)) => {
                        any_present = true;
                        values.extend(items.iter().cloned().map(Key));
                    }
                    Some(v) => {
                        any_present = true;
                        values.push(Key(v.clone()));
                    }
                }
            }
            values.sort();
            values.dedup();
            per_field.push(values);
        }
        if self.spec.sparse && !any_present {
            return Ok(Vec::new());
        }
        if per_field.iter().filter(|v| v.len() > 1).count() > 1 {
            return Err(Error::bad_request(format!(
                "cannot index parallel arrays in index {:?}",
                self.name
            )));
        }
        let mut tuples: Vec<Vec<Key>> = vec![Vec::with_capacity(per_field.len())];
        for values in per_field {
            tuples = tuples
                .into_iter()
                .flat_map(|t| {
                    values.iter().map(move |v| {
                        let mut t = t.clone();
                        t.push(v.clone());
                        t
                    })
                })
                .collect();
        }
        Ok(tuples)
    }

    /// Whether `other` indexes the same keys, in the same order and directions, over the
    /// same documents (the same partial filter): MongoDB keeps one such index per name.
    pub(crate) fn same_keys(&self, other: &Self) -> bool {
        let (a, b) = (&self.spec.keys, &other.spec.keys);
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|((ka, va), (kb, vb))| ka == kb && same_kind(va, vb))
            && self.spec.partial == other.spec.partial
    }

    /// Fails with a conflict when a unique index already holds one of `keys` for
    /// another document.
    pub(crate) fn check_unique(&self, keys: &[Vec<Key>], id: &Key) -> Result<()> {
        if !self.spec.unique {
            return Ok(());
        }
        for key in keys {
            let from = (key.clone(), Key(Bson::MinKey));
            let taken = self
                .entries
                .range((Bound::Included(from), Bound::Unbounded))
                .take_while(|(k, _)| k == key)
                .any(|(_, other)| other != id);
            if taken {
                return Err(duplicate(&self.spec.keys, key));
            }
        }
        Ok(())
    }

    pub(crate) fn insert(&mut self, keys: Vec<Vec<Key>>, id: &Key) {
        self.multikey |= keys.len() > 1;
        for key in keys {
            self.entries.insert((key, id.clone()));
        }
    }

    pub(crate) fn remove(&mut self, keys: Vec<Vec<Key>>, id: &Key) {
        for key in keys {
            self.entries.remove(&(key, id.clone()));
        }
    }

    /// The ids this index offers for `cond` on its first field, or `None` when the
    /// condition cannot use it. The result is a superset; the filter still decides.
    pub(crate) fn candidates(&self, field: &[String], cond: &Cond) -> Option<Vec<Key>> {
        if self.partial.is_some() || self.fields.first().is_none_or(|f| f != field) {
            return None;
        }
        let usable = |v: &Bson| {
            !matches!(
                v,
                Bson::Null
                    | Bson::Undefined
                    | Bson::Array(_)
                    | Bson::Document(_)
                    | Bson::MinKey
                    | Bson::MaxKey
            )
        };
        let mut ids = Vec::new();
        match cond {
            Cond::Eq(v) if usable(v) => self.scan(v, true, Some((v, true)), &mut ids),
            Cond::In(members)
                if members
                    .iter()
                    .all(|m| matches!(m, Member::Value(v) if usable(v))) =>
            {
                for m in members {
                    if let Member::Value(v) = m {
                        self.scan(v, true, Some((v, true)), &mut ids);
                    }
                }
            }
            Cond::Cmp(Ordering::Greater, inclusive, v) if usable(v) => {
                self.scan(v, *inclusive, None, &mut ids);
            }
            Cond::Cmp(Ordering::Less, inclusive, v) if usable(v) => {
                self.scan(&bracket_floor(v)?, true, Some((v, *inclusive)), &mut ids);
            }
            Cond::All2(conds) => {
                let mut low = None;
                let mut high = None;
                for c in conds {
                    match c {
                        Cond::Cmp(Ordering::Greater, inc, v) if usable(v) => low = Some((v, *inc)),
                        Cond::Cmp(Ordering::Less, inc, v) if usable(v) => high = Some((v, *inc)),
                        Cond::Eq(v) if usable(v) => {
                            low = Some((v, true));
                            high = Some((v, true));
                        }
                        _ => {}
                    }
                }
                match (low, high) {
                    (Some((lo, inc)), _) if self.multikey => self.scan(lo, inc, None, &mut ids),
                    (Some((lo, inc)), high) => self.scan(lo, inc, high, &mut ids),
                    (None, Some((hi, inc))) => {
                        self.scan(&bracket_floor(hi)?, true, Some((hi, inc)), &mut ids)
                    }
                    (None, None) => return None,
                }
            }
            _ => return None,
        }
        ids.sort();
        ids.dedup();
        Some(ids)
    }

    /// The ids of every indexed document in the order of `sort`, when walking this index
    /// gives exactly the order a full sort would: the sort's fields are a prefix of the
    /// index's, all in one direction, and ties cannot differ — the sort ends with `_id`,
    /// or it is ascending on all the index's fields (ties then in `_id` order, like a full
    /// sort). `None` when the index cannot serve it: partial, sparse (documents missing)
    /// or multikey (one document, several positions).
    pub(crate) fn ordered(
        &self,
        sort: &[(Vec<String>, bool)],
    ) -> Option<Box<dyn Iterator<Item = &Key> + '_>> {
        let ((_, ascending), (last, _)) = (sort.first()?, sort.last()?);
        let usable = self.partial.is_none()
            && !self.spec.sparse
            && !self.multikey
            && sort.len() <= self.fields.len()
            && sort.iter().zip(&self.fields).all(|((p, _), f)| p == f)
            && sort.iter().all(|(_, a)| a == ascending);
        let no_ties = last.len() == 1 && last[0] == "_id";
        let ties_by_id = *ascending && sort.len() == self.fields.len();
        if !usable || !(no_ties || ties_by_id) {
            return None;
        }
        let ids = self.entries.iter().map(|(_, id)| id);
        Some(match ascending {
            true => Box::new(ids),
            false => Box::new(ids.rev()),
        })
    }

    /// Walks entries whose first component lies in `[from, to]` (bounds inclusive or
    /// not), within `from`'s type bracket.
    fn scan(
        &self,
        from: &Bson,
        from_inclusive: bool,
        to: Option<(&Bson, bool)>,
        ids: &mut Vec<Key>,
    ) {
        let start = (vec![Key(from.clone())], Key(Bson::MinKey));
        let bracket = value::rank(from);
        for (key, id) in self
            .entries
            .range((Bound::Included(start), Bound::Unbounded))
        {
            let first = &key[0].0;
            if value::rank(first) != bracket {
                break;
            }
            if !from_inclusive && value::equals(first, from) {
                continue;
            }
            if let Some((to, inclusive)) = to {
                match value::compare(first, to) {
                    Ordering::Greater => break,
                    Ordering::Equal if !inclusive => break,
                    _ => {}
                }
            }
            ids.push(id.clone());
        }
    }
}

/// Whether two index key kinds are the same (`1` and `1.0` are).
fn same_kind(a: &Bson, b: &Bson) -> bool {
    match (value::as_f64(a), value::as_f64(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The smallest value of `v`'s type bracket, where a `$lt` scan starts.
fn bracket_floor(v: &Bson) -> Option<Bson> {
    Some(match v {
        _ if value::rank(v) == value::NUMBER_RANK => Bson::Double(f64::NAN),
        Bson::String(_) | Bson::Symbol(_) => Bson::String(String::new()),
        Bson::ObjectId(_) => Bson::ObjectId(bson::oid::ObjectId::from_bytes([0; 12])),
        Bson::Boolean(_) => Bson::Boolean(false),
        Bson::DateTime(_) => Bson::DateTime(bson::DateTime::MIN),
        _ => return None,
    })
}

/// The 409 for a duplicate key, naming the fields and the value.
pub(crate) fn duplicate(keys: &Document, values: &[Key]) -> Error {
    let fields: Vec<&str> = keys.keys().map(String::as_str).collect();
    let shown: Vec<String> = values.iter().map(|k| k.0.to_string()).collect();
    duplicate_error(&fields, Some(&shown.join(", ")))
}

/// A conflict naming the unique fields (shared with the MongoDB backend).
pub(crate) fn duplicate_error(fields: &[&str], value: Option<&str>) -> Error {
    let detail = match value {
        Some(v) => format!("a document with {} = {v} already exists", fields.join(", ")),
        None => format!(
            "a document with the same {} already exists",
            fields.join(", ")
        ),
    };
    let errors = fields
        .iter()
        .map(|f| FieldError::new(*f, "unique", "is already taken"))
        .collect();
    Error::conflict(detail).with_field_errors(errors)
}
