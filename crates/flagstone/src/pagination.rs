//! Pages of results: offset pages and cursor pages, one response envelope, and RFC 8288
//! `Link` headers.
//!
//! ```json
//! {
//!   "items": [ ... ],
//!   "meta": { "limit": 20, "offset": 40, "total": 123 }
//! }
//! ```
//!
//! In cursor mode `meta` carries `next_cursor` (absent on the last page) instead of
//! `offset`. `total` is left out when the query says `total=false` — counting is the
//! expensive part on a big collection. `Link` holds `first`, `prev` (offset mode) and
//! `next`, each repeating the query's filters, sort, fields and limit.
//!
//! Cursors are opaque: the sort-key values and `_id` of the page's last item, with the
//! sort they belong to, signed with HMAC-SHA256. The next page starts right after that
//! item with a range condition on the sort keys — an index seek, not a skip — so it stays
//! correct while documents are inserted. A cursor that was altered, forged, or made for
//! another sort is a 400. The signing key comes from `auth.secret`; without one it is
//! random per process, and cursors stop working across restarts.
//!
//! ```no_run
//! use flagstone::prelude::*;
//! use flagstone::{pagination::{Page, paginate}, query::{ListQuery, Listable, ListSpec, ListField, FieldKind}};
//! use std::sync::LazyLock;
//!
//! struct Post;
//! impl Listable for Post {
//!     fn list_spec() -> &'static ListSpec {
//!         static SPEC: LazyLock<ListSpec> = LazyLock::new(|| {
//!             ListSpec::new().field(ListField::new("title", FieldKind::String).filter().sort())
//!         });
//!         &SPEC
//!     }
//! }
//!
//! async fn list(
//!     Extension(store): Extension<Store>,
//!     query: ListQuery<Post>,
//! ) -> flagstone::Result<Page<flagstone::bson::Document>> {
//!     paginate(&store.collection("posts"), &query, doc! {}).await
//! }
//! ```
//!
//! Sort keys should hold one type each and rarely be null: MongoDB compares within a type,
//! so a cursor positioned on a number does not range over strings.

use std::sync::{Arc, OnceLock};

use axum::{
    Json,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use bson::{Bson, Document, doc};
use ring::hmac;
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    Error, Result,
    query::{ListQuery, PageRequest, ParsedList},
    store::Collection,
};

/// The key that signs cursors. The app derives it from `auth.secret` and shares it with
/// every request.
#[derive(Clone)]
pub struct CursorKey(Arc<hmac::Key>);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey([redacted])")
    }
}

impl CursorKey {
    /// A key derived from a secret (never the secret itself).
    pub fn from_secret(secret: &[u8]) -> Self {
        let derived = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, secret),
            b"flagstone pagination cursor key",
        );
        Self(Arc::new(hmac::Key::new(
            hmac::HMAC_SHA256,
            derived.as_ref(),
        )))
    }

    /// The process-wide random key used when no secret is configured.
    pub fn ephemeral() -> Self {
        static KEY: OnceLock<CursorKey> = OnceLock::new();
        KEY.get_or_init(|| {
            let mut seed = [0u8; 32];
            if getrandom::fill(&mut seed).is_err() {
                // No OS generator: fall back to what differs per process and instant.
                let fallback = format!(
                    "{:?}{}",
                    std::time::SystemTime::now(),
                    bson::oid::ObjectId::new()
                );
                return Self::from_secret(fallback.as_bytes());
            }
            Self::from_secret(&seed)
        })
        .clone()
    }

    /// Signs a cursor payload: `base64url(payload).base64url(tag)`.
    fn seal(&self, payload: &Document) -> Result<String> {
        let bytes = payload.to_vec().map_err(Error::internal)?;
        let tag = hmac::sign(&self.0, &bytes);
        Ok(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&bytes),
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        ))
    }

    /// Checks a cursor's signature and returns its payload.
    fn open(&self, token: &str) -> Result<Document> {
        let invalid = || {
            Error::validation(vec![crate::FieldError::new(
                "cursor",
                "invalid",
                "is not a valid cursor",
            )])
        };
        let (body, tag) = token.split_once('.').ok_or_else(invalid)?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| invalid())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
        hmac::verify(&self.0, &bytes, &tag).map_err(|_| invalid())?;
        Document::from_reader(bytes.as_slice()).map_err(|_| invalid())
    }
}

/// The `meta` of a page.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct PageMeta {
    /// The page size asked for.
    pub limit: u32,
    /// Offset pages: how many items came before this page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Cursor pages: the cursor of the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// How many items match in all, unless `total=false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

/// One page: the items, their `meta`, and the `Link` header. With the `openapi` feature,
/// `Page<T>` for `T: ToSchema` has the schema `Page_T`.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(description = "One page of items, and where it is.")
)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where this page is.
    pub meta: PageMeta,
    #[serde(skip)]
    links: Vec<(&'static str, String)>,
}

impl<T> Page<T> {
    /// The `Link` header value (RFC 8288), if there are links.
    pub fn link_header(&self) -> Option<String> {
        (!self.links.is_empty()).then(|| {
            self.links
                .iter()
                .map(|(rel, url)| format!("<{url}>; rel=\"{rel}\""))
                .collect::<Vec<_>>()
                .join(", ")
        })
    }

    /// The same page with its items mapped (to response views, say).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            meta: self.meta,
            links: self.links,
        }
    }
}

impl<T: Serialize> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        let link = self
            .link_header()
            .and_then(|l| HeaderValue::from_str(&l).ok());
        let mut response = Json(&self).into_response();
        if let Some(link) = link {
            response.headers_mut().insert(header::LINK, link);
        }
        response
    }
}

/// Runs a list query on `collection`, within `scope` (an extra filter the handler adds,
/// such as the owner), and returns the page.
pub async fn paginate<T, M>(
    collection: &Collection<T>,
    query: &ListQuery<M>,
    scope: Document,
) -> Result<Page<T>>
where
    T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static,
{
    let list = &query.list;
    let filter = combine(scope, list.filter.clone());
    let raw = collection.typed::<Document>();
    let limit = i64::from(list.limit);
    let (mut docs, offset, keyset) = match &list.page {
        PageRequest::Offset(offset) => {
            let mut find = raw
                .find(filter.clone())
                .sort(list.sort.clone())
                .skip(*offset)
                .limit(limit + 1);
            if let Some(p) = &list.projection {
                find = find.projection(p.clone());
            }
            (find.await?, Some(*offset), None)
        }
        PageRequest::Cursor(cursor) => {
            let after = match cursor {
                Some(token) => Some(after_cursor(&query.key(), token, &list.sort)?),
                None => None,
            };
            let scoped = match &after {
                Some(after) => combine(filter.clone(), after.clone()),
                None => filter.clone(),
            };
            // The projection must keep the sort keys, which the next cursor needs.
            let mut find = raw.find(scoped).sort(list.sort.clone()).limit(limit + 1);
            if let Some(p) = &list.projection {
                let mut p = p.clone();
                for key in list.sort.keys() {
                    p.insert(key.clone(), 1);
                }
                find = find.projection(p);
            }
            (find.await?, None, Some(()))
        }
    };
    let has_next = docs.len() > list.limit as usize;
    docs.truncate(list.limit as usize);
    let next_cursor = match (keyset, has_next, docs.last()) {
        (Some(()), true, Some(last)) => Some(cursor_for(&query.key(), last, &list.sort)?),
        _ => None,
    };
    if keyset.is_some()
        && let Some(p) = &list.projection
    {
        for doc in &mut docs {
            let extra: Vec<String> = doc
                .keys()
                .filter(|k| *k != "_id" && !p.contains_key(k))
                .cloned()
                .collect();
            for key in extra {
                doc.remove(&key);
            }
        }
    }
    let total = match list.with_total {
        true => Some(raw.count(filter).await?),
        false => None,
    };
    let items = docs
        .iter()
        .map(|d| crate::store::from_document(collection.name(), d))
        .collect::<Result<Vec<T>>>()?;
    let meta = PageMeta {
        limit: list.limit,
        offset,
        next_cursor,
        total,
    };
    let links = links(&query.path, list, &meta, has_next);
    Ok(Page { items, meta, links })
}

fn combine(a: Document, b: Document) -> Document {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b,
        (_, true) => a,
        _ => doc! { "$and": [a, b] },
    }
}

/// The value at a dotted path of a document, null when missing.
fn value_at(doc: &Document, path: &str) -> Bson {
    let mut parts = path.split('.');
    let Some(first) = parts.next() else {
        return Bson::Null;
    };
    let mut current = doc.get(first);
    for part in parts {
        current = match current {
            Some(Bson::Document(d)) => d.get(part),
            _ => None,
        };
    }
    current.cloned().unwrap_or(Bson::Null)
}

fn cursor_for(
    key: &crate::pagination::CursorKey,
    last: &Document,
    sort: &Document,
) -> Result<String> {
    let values: Vec<Bson> = sort.keys().map(|k| value_at(last, k)).collect();
    key.seal(&doc! { "s": sort.clone(), "v": values })
}

/// The filter for "after the cursor's item" in `sort` order.
fn after_cursor(key: &CursorKey, token: &str, sort: &Document) -> Result<Document> {
    let payload = key.open(token)?;
    let mismatch = || {
        Error::validation(vec![crate::FieldError::new(
            "cursor",
            "invalid",
            "belongs to another sort order; start again without a cursor",
        )])
    };
    if payload.get_document("s").ok() != Some(sort) {
        return Err(mismatch());
    }
    let values = payload.get_array("v").map_err(|_| mismatch())?;
    let keys: Vec<(&String, bool)> = sort
        .iter()
        .map(|(k, d)| (k, crate::store::sort_direction(d) > 0))
        .collect();
    if values.len() != keys.len() {
        return Err(mismatch());
    }
    let mut branches = Vec::new();
    for i in 0..keys.len() {
        let (field, ascending) = keys[i];
        let value = &values[i];
        let beyond = match (ascending, value) {
            // Everything sorts after null except null itself; nothing sorts before it.
            (true, Bson::Null) => doc! { "$ne": null },
            (false, Bson::Null) => continue,
            (true, v) => doc! { "$gt": v.clone() },
            (false, v) => doc! { "$lt": v.clone() },
        };
        let mut branch = Document::new();
        for j in 0..i {
            branch.insert(keys[j].0.clone(), doc! { "$eq": values[j].clone() });
        }
        branch.insert(field.clone(), beyond);
        branches.push(Bson::Document(branch));
    }
    let mut after = Document::new();
    let (first, ascending) = keys[0];
    if !matches!(values[0], Bson::Null) {
        // Redundant with the branches, but lets an index on the first key seek to it.
        let op = if ascending { "$gte" } else { "$lte" };
        after.insert(first.clone(), doc! { op: values[0].clone() });
    }
    after.insert("$or", branches);
    Ok(after)
}

fn links(
    path: &str,
    list: &ParsedList,
    meta: &PageMeta,
    has_next: bool,
) -> Vec<(&'static str, String)> {
    let url = |page: (&str, String)| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &list.params {
            query.append_pair(k, v);
        }
        if !list.params.iter().any(|(k, _)| k == "limit") {
            query.append_pair("limit", &list.limit.to_string());
        }
        query.append_pair(page.0, &page.1);
        format!("{path}?{}", query.finish())
    };
    let limit = u64::from(list.limit);
    let mut links = Vec::new();
    match (&meta.offset, &meta.next_cursor) {
        (Some(offset), _) => {
            links.push(("first", url(("offset", "0".into()))));
            if *offset > 0 {
                links.push((
                    "prev",
                    url(("offset", offset.saturating_sub(limit).to_string())),
                ));
            }
            if has_next {
                links.push(("next", url(("offset", (offset + limit).to_string()))));
            }
        }
        (None, next) => {
            links.push(("first", url(("cursor", String::new()))));
            if let Some(next) = next {
                links.push(("next", url(("cursor", next.clone()))));
            }
        }
    }
    links
}
