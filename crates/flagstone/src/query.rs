//! List queries: `?status=open&price[gte]=10&sort=-created_at&fields=title&limit=20`
//! parsed against what a model allows, into a BSON filter, sort and projection that both
//! store backends execute.
//!
//! ```text
//! GET /api/v1/posts?status=published&tags[in]=rust,web&title[prefix]=Intro
//!                  &created_at[gte]=2026-01-01T00:00:00Z&sort=-created_at,title
//!                  &fields=title,author&limit=20&offset=40
//! ```
//!
//! | parameter | meaning |
//! | --- | --- |
//! | `field=value` | equals (`field[eq]=value`) |
//! | `field[op]=value` | an operator: `eq` `ne` `gt` `gte` `lt` `lte` `in` `nin` (comma-separated lists), `prefix`, `contains` (strings), `all` (arrays) |
//! | `sort=a,-b` | ascending `a`, then descending `b`; `_id` is always the last tie-breaker |
//! | `fields=a,b` | return only these fields (and `_id`) |
//! | `limit=n` | page size: default 20, at most 100 (per model) |
//! | `offset=n` or `cursor=token` | which page (see [`crate::pagination`]) |
//! | `total=false` | skip counting the matches |
//!
//! Only fields the model declares filterable, sortable or selectable are accepted;
//! anything else is a 400 naming the parameter and listing the allowed ones. Values are
//! parsed to the field's type (a date takes RFC 3339) and operators are allowed per type.
//! Users never write regular expressions: `prefix` and `contains` escape their value.

use std::marker::PhantomData;

use axum::{extract::FromRequestParts, http::request::Parts};
use bson::{Bson, Document, doc, oid::ObjectId};

use crate::{Error, FieldError, pagination::CursorKey};

/// The type of a listable field, which decides how values parse and which operators apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldKind {
    /// Text.
    String,
    /// A whole number (stored as a 64-bit integer).
    Integer,
    /// Any number.
    Number,
    /// `true` / `false`.
    Boolean,
    /// An RFC 3339 date-time.
    DateTime,
    /// An ObjectId (24 hex characters).
    Id,
}

impl FieldKind {
    fn operators(self, array: bool) -> &'static [&'static str] {
        match (self, array) {
            (Self::String, false) => &["eq", "ne", "in", "nin", "prefix", "contains"],
            (Self::String | Self::Id, true) => &["eq", "ne", "in", "nin", "all"],
            (Self::Integer | Self::Number | Self::DateTime, _) => {
                &["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
            }
            (Self::Boolean, _) => &["eq", "ne"],
            (Self::Id, false) => &["eq", "ne", "in", "nin"],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::String => "a string",
            Self::Integer => "an integer",
            Self::Number => "a number",
            Self::Boolean => "true or false",
            Self::DateTime => "an RFC 3339 date-time",
            Self::Id => "an id of 24 hexadecimal characters",
        }
    }

    fn parse(self, raw: &str) -> Option<Bson> {
        Some(match self {
            Self::String => Bson::String(raw.to_owned()),
            Self::Integer => Bson::Int64(raw.parse().ok()?),
            Self::Number => {
                let n: f64 = raw.parse().ok()?;
                if !n.is_finite() {
                    return None;
                }
                Bson::Double(n)
            }
            Self::Boolean => Bson::Boolean(match raw {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return None,
            }),
            Self::DateTime => Bson::DateTime(bson::DateTime::parse_rfc3339_str(raw).ok()?),
            Self::Id if raw.len() == 24 => Bson::ObjectId(ObjectId::parse_str(raw).ok()?),
            Self::Id => return None,
        })
    }
}

/// One field a list may filter, sort or select on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListField {
    /// The name in queries and in stored documents (dotted for subdocuments).
    pub name: &'static str,
    /// Its type.
    pub kind: FieldKind,
    /// An array of `kind` (filters then match elements).
    pub array: bool,
    /// Usable in filters.
    pub filter: bool,
    /// Usable in `sort`.
    pub sort: bool,
    /// Usable in `fields`.
    pub select: bool,
}

impl ListField {
    /// A field of `kind`, allowing nothing yet.
    pub const fn new(name: &'static str, kind: FieldKind) -> Self {
        Self {
            name,
            kind,
            array: false,
            filter: false,
            sort: false,
            select: false,
        }
    }

    /// Marks it an array of `kind`.
    pub const fn array(mut self) -> Self {
        self.array = true;
        self
    }

    /// Allows filtering on it.
    pub const fn filter(mut self) -> Self {
        self.filter = true;
        self
    }

    /// Allows sorting by it.
    pub const fn sort(mut self) -> Self {
        self.sort = true;
        self
    }

    /// Allows selecting it with `fields`.
    pub const fn select(mut self) -> Self {
        self.select = true;
        self
    }
}

/// What a list endpoint accepts.
#[derive(Clone, Debug)]
pub struct ListSpec {
    fields: Vec<ListField>,
    default_sort: Document,
    default_limit: u32,
    max_limit: u32,
    cursor_by_default: bool,
}

impl Default for ListSpec {
    fn default() -> Self {
        Self::new()
    }
}

impl ListSpec {
    /// Nothing filterable, sorted by `_id`, 20 per page, at most 100.
    pub fn new() -> Self {
        Self {
            fields: Vec::new(),
            default_sort: doc! { "_id": 1 },
            default_limit: 20,
            max_limit: 100,
            cursor_by_default: false,
        }
    }

    /// Adds a field.
    pub fn field(mut self, field: ListField) -> Self {
        self.fields.push(field);
        self
    }

    /// The order when the query gives no `sort` (`{ created_at: -1 }`, say).
    pub fn default_sort(mut self, sort: Document) -> Self {
        self.default_sort = sort;
        self
    }

    /// Page size without `limit`, and the most `limit` may ask for.
    pub fn limits(mut self, default: u32, max: u32) -> Self {
        self.default_limit = default.clamp(1, max.max(1));
        self.max_limit = max.max(1);
        self
    }

    /// Pages by cursor when the query names neither `offset` nor `cursor`.
    pub fn cursor_by_default(mut self) -> Self {
        self.cursor_by_default = true;
        self
    }

    /// The declared fields.
    pub fn fields(&self) -> &[ListField] {
        &self.fields
    }

    fn allowed(&self, pick: impl Fn(&ListField) -> bool) -> String {
        let names: Vec<&str> = self
            .fields
            .iter()
            .filter(|f| pick(f))
            .map(|f| f.name)
            .collect();
        match names.is_empty() {
            true => "none".to_owned(),
            false => names.join(", "),
        }
    }

    /// Parses a query string.
    pub fn parse(&self, query: &str) -> Result<ParsedList, Error> {
        let mut errors = Vec::new();
        let mut clauses: Vec<(String, Document)> = Vec::new();
        let mut parsed = ParsedList {
            filter: Document::new(),
            sort: self.default_sort.clone(),
            projection: None,
            limit: self.default_limit,
            page: match self.cursor_by_default {
                true => PageRequest::Cursor(None),
                false => PageRequest::Offset(0),
            },
            with_total: true,
            params: Vec::new(),
        };
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let (key, value) = (key.into_owned(), value.into_owned());
            match key.as_str() {
                "limit" => match value.parse::<u32>() {
                    Ok(n) if (1..=self.max_limit).contains(&n) => parsed.limit = n,
                    _ => errors.push(FieldError::new(
                        "limit",
                        "range",
                        format!("must be an integer from 1 to {}", self.max_limit),
                    )),
                },
                "offset" => match value.parse::<u64>() {
                    Ok(n) => parsed.page = PageRequest::Offset(n),
                    Err(_) => errors.push(FieldError::new(
                        "offset",
                        "type",
                        "must be a non-negative integer",
                    )),
                },
                "cursor" if value.is_empty() => parsed.page = PageRequest::Cursor(None),
                "cursor" => parsed.page = PageRequest::Cursor(Some(value.clone())),
                "total" => match value.as_str() {
                    "true" => parsed.with_total = true,
                    "false" => parsed.with_total = false,
                    _ => errors.push(FieldError::new("total", "type", "must be true or false")),
                },
                "sort" => match self.parse_sort(&value) {
                    Ok(sort) => parsed.sort = sort,
                    Err(e) => errors.push(e),
                },
                "fields" => match self.parse_fields(&value) {
                    Ok(projection) => parsed.projection = Some(projection),
                    Err(e) => errors.push(e),
                },
                _ => match self.parse_filter(&key, &value) {
                    Ok((field, condition)) => {
                        parsed.params.push((key.clone(), value.clone()));
                        match clauses.iter_mut().find(|(f, _)| *f == field) {
                            Some((_, existing)) => existing.extend(condition),
                            None => clauses.push((field, condition)),
                        }
                    }
                    Err(e) => errors.push(e),
                },
            }
            if matches!(key.as_str(), "limit" | "sort" | "fields" | "total") {
                parsed.params.push((key, value));
            }
        }
        if !parsed.sort.contains_key("_id") {
            parsed.sort.insert("_id", 1);
        }
        if !errors.is_empty() {
            return Err(
                Error::validation(errors).with_detail("the list query has invalid parameters")
            );
        }
        for (field, condition) in clauses {
            parsed.filter.insert(field, condition);
        }
        Ok(parsed)
    }

    fn parse_sort(&self, value: &str) -> Result<Document, FieldError> {
        let mut sort = Document::new();
        for part in value.split(',').filter(|p| !p.is_empty()) {
            let (name, direction) = match part.strip_prefix('-') {
                Some(name) => (name, -1),
                None => (part.strip_prefix('+').unwrap_or(part), 1),
            };
            if name != "_id" && !self.fields.iter().any(|f| f.sort && f.name == name) {
                return Err(FieldError::new(
                    "sort",
                    "not_allowed",
                    format!(
                        "cannot sort by {name:?}; sortable fields: {}",
                        self.allowed(|f| f.sort)
                    ),
                ));
            }
            sort.insert(name, direction);
        }
        Ok(sort)
    }

    fn parse_fields(&self, value: &str) -> Result<Document, FieldError> {
        let mut projection = Document::new();
        for name in value.split(',').filter(|p| !p.is_empty()) {
            if name != "_id" && !self.fields.iter().any(|f| f.select && f.name == name) {
                return Err(FieldError::new(
                    "fields",
                    "not_allowed",
                    format!(
                        "cannot select {name:?}; selectable fields: {}",
                        self.allowed(|f| f.select)
                    ),
                ));
            }
            projection.insert(name, 1);
        }
        Ok(projection)
    }

    /// `name=value` or `name[op]=value` → the field and its condition document.
    fn parse_filter(&self, key: &str, value: &str) -> Result<(String, Document), FieldError> {
        let (name, op) = match key.split_once('[') {
            Some((name, rest)) => match rest.strip_suffix(']') {
                Some(op) if !op.contains(['[', ']']) => (name, op),
                _ => {
                    return Err(FieldError::new(
                        key,
                        "invalid",
                        "expected name[operator]=value",
                    ));
                }
            },
            None => (key, "eq"),
        };
        let Some(field) = self.fields.iter().find(|f| f.filter && f.name == name) else {
            return Err(FieldError::new(
                name,
                "not_allowed",
                format!(
                    "is not a filter; filterable fields: {}",
                    self.allowed(|f| f.filter)
                ),
            ));
        };
        let operators = field.kind.operators(field.array);
        if !operators.contains(&op) {
            return Err(FieldError::new(
                key,
                "operator",
                format!(
                    "operator {op:?} is not allowed on {name}; allowed: {}",
                    operators.join(", ")
                ),
            ));
        }
        let parse = |raw: &str| {
            field.kind.parse(raw).ok_or_else(|| {
                FieldError::new(key, "type", format!("must be {}", field.kind.describe()))
            })
        };
        let list =
            |raw: &str| -> Result<Vec<Bson>, FieldError> { raw.split(',').map(parse).collect() };
        let condition = match op {
            "eq" => doc! { "$eq": parse(value)? },
            "in" | "nin" | "all" => doc! { format!("${op}"): list(value)? },
            "prefix" => doc! { "$regex": format!("^{}", regex::escape(value)) },
            "contains" => doc! { "$regex": regex::escape(value), "$options": "i" },
            other => doc! { format!("${other}"): parse(value)? },
        };
        Ok((field.name.to_owned(), condition))
    }
}

/// Which page a request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageRequest {
    /// Skip this many.
    Offset(u64),
    /// After the item this cursor names; `None` for the first page.
    Cursor(Option<String>),
}

/// A parsed list query.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ParsedList {
    /// The filter, ready for the store.
    pub filter: Document,
    /// The sort, ending with `_id`.
    pub sort: Document,
    /// The projection of `fields`, if given.
    pub projection: Option<Document>,
    /// The page size.
    pub limit: u32,
    /// Which page.
    pub page: PageRequest,
    /// Whether to count the matches.
    pub with_total: bool,
    /// The parameters to repeat in page links (filters, sort, fields, limit, total).
    pub params: Vec<(String, String)>,
}

/// A type whose lists can be queried: `#[derive(Model)]` implements it from the
/// `filter` / `sort` / `select` marks on its fields.
pub trait Listable {
    /// What its lists accept.
    fn list_spec() -> &'static ListSpec;
}

/// The extractor: a list query parsed against `M`'s [`ListSpec`], and the request path
/// for page links.
#[derive(Debug)]
pub struct ListQuery<M> {
    /// The parsed query.
    pub list: ParsedList,
    /// The request path, for `Link` headers.
    pub path: String,
    key: CursorKey,
    _of: PhantomData<fn() -> M>,
}

impl<M> ListQuery<M> {
    /// Parses `query` for the route at `path` (what the extractor does).
    pub fn new(spec: &ListSpec, path: &str, query: &str) -> Result<Self, Error> {
        Ok(Self {
            list: spec.parse(query)?,
            path: path.to_owned(),
            key: CursorKey::ephemeral(),
            _of: PhantomData,
        })
    }

    /// Signs and checks cursors with `key` instead of the process-wide random key.
    pub fn with_key(mut self, key: CursorKey) -> Self {
        self.key = key;
        self
    }

    /// The key that signs this query's cursors.
    pub(crate) fn key(&self) -> CursorKey {
        self.key.clone()
    }
}

impl<M: Listable, S: Send + Sync> FromRequestParts<S> for ListQuery<M> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| parts.uri.path().to_owned(), |u| u.path().to_owned());
        let query = Self::new(M::list_spec(), &path, parts.uri.query().unwrap_or_default())?;
        Ok(match parts.extensions.get::<CursorKey>() {
            Some(key) => query.with_key(key.clone()),
            None => query,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ListSpec {
        ListSpec::new()
            .field(ListField::new("status", FieldKind::String).filter())
            .field(
                ListField::new("title", FieldKind::String)
                    .filter()
                    .sort()
                    .select(),
            )
            .field(ListField::new("price", FieldKind::Number).filter().sort())
            .field(ListField::new("tags", FieldKind::String).array().filter())
            .field(
                ListField::new("created_at", FieldKind::DateTime)
                    .filter()
                    .sort(),
            )
    }

    #[test]
    fn builds_filters_sorts_and_projections() {
        let q = spec()
            .parse("status=open&price[gte]=10&price[lt]=50&tags[in]=a,b&title[prefix]=fo.o&sort=-created_at,title&fields=title&limit=5")
            .expect("valid");
        assert_eq!(
            q.filter,
            doc! {
                "status": { "$eq": "open" },
                "price": { "$gte": 10.0, "$lt": 50.0 },
                "tags": { "$in": ["a", "b"] },
                "title": { "$regex": "^fo\\.o" },
            }
        );
        assert_eq!(q.sort, doc! { "created_at": -1, "title": 1, "_id": 1 });
        assert_eq!(q.projection, Some(doc! { "title": 1 }));
        assert_eq!(q.limit, 5);
    }

    #[test]
    fn refuses_what_the_model_does_not_allow() {
        let err = spec()
            .parse("secret=1&price[regex]=x&price=abc&sort=status&limit=1000")
            .expect_err("invalid");
        let fields: Vec<(&str, &str)> = err
            .field_errors()
            .iter()
            .map(|e| (e.field.as_str(), &*e.code))
            .collect();
        assert_eq!(
            fields,
            [
                ("secret", "not_allowed"),
                ("price[regex]", "operator"),
                ("price", "type"),
                ("sort", "not_allowed"),
                ("limit", "range")
            ]
        );
        assert!(
            err.field_errors()[0]
                .message
                .contains("status, title, price, tags, created_at")
        );
        let err = spec()
            .parse("created_at[gt]=yesterday")
            .expect_err("not a date");
        assert!(err.field_errors()[0].message.contains("RFC 3339"));
    }
}
