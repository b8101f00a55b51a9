//! The generic handlers behind a resource's routes: controllers that check access, read the
//! request, call the model and the hooks, and answer.
//!
//! Each handler takes the whole request and extracts in a fixed order, so the answers are
//! predictable: the store (500 without it), the caller (401 for a bad token), the access
//! rule (401 / 403), the path id (400), the body (400), the document within the hooks'
//! scope (404) and its owner (403), then the preconditions (412).

use std::{collections::HashMap, sync::Arc};

use axum::{
    Json,
    body::Body,
    extract::{
        FromRequest, FromRequestParts, OptionalFromRequestParts, OriginalUri, Path, Request, State,
    },
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use bson::{Bson, Document, doc, oid::ObjectId};
use serde_json::Value;

use super::{Hooks, Operation, RequestContext, Resource};
use crate::{
    Error, FieldError, Result,
    auth::{Access, Auth, AuthUser},
    error::ErrorKind,
    model::{Model, Visibility, WriteContext},
    pagination::{CursorKey, Page, paginate},
    query::{ListQuery, Listable},
    store::{Collection, Id, ReturnDocument, Store, Timestamp},
    validation::Valid,
};

/// The state every handler of `T` shares: its hooks.
pub(super) type Shared<T> = State<Arc<<T as Resource>::Hooks>>;

/// A request that passed its access rule.
struct Call<T: Resource> {
    hooks: Arc<T::Hooks>,
    access: Access,
    ctx: RequestContext,
    /// The request path as the client sent it (with the API prefix).
    path: String,
}

impl<T: Resource> Call<T> {
    /// Reads the store and the caller and checks `operation`'s rule (without the owner).
    async fn begin(hooks: Arc<T::Hooks>, operation: Operation, parts: &mut Parts) -> Result<Self> {
        let access = T::access(operation).ok_or_else(|| {
            Error::not_found(format!("{operation:?} is not enabled for {}", T::NAME))
        })?;
        let store = parts.extensions.get::<Store>().cloned().ok_or_else(|| {
            Error::internal(std::io::Error::other(format!(
                "the routes of {} need the store: call App::store or App::open_store",
                T::NAME
            )))
        })?;
        let user = caller::<T>(parts, &access).await?;
        access.check(user.as_ref())?;
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.path().to_owned(), |u| u.path().to_owned());
        Ok(Self {
            hooks,
            access,
            ctx: RequestContext { user, store },
            path,
        })
    }

    fn collection(&self) -> Collection<T> {
        self.ctx.store.collection(T::COLLECTION)
    }

    /// `{_id: id}` within the hooks' scope.
    async fn by_id(&self, id: ObjectId) -> Result<Document> {
        let scope = self.hooks.scope(&self.ctx).await?;
        Ok(and(doc! { "_id": id }, scope))
    }

    /// The document `id` within the scope, checked against an owner rule; and the filter
    /// that found it.
    async fn load(&self, id: ObjectId) -> Result<(T, Document)> {
        let filter = self.by_id(id).await?;
        let doc = self
            .collection()
            .find_one(filter.clone())
            .await?
            .ok_or_else(|| not_found::<T>(id))?;
        if self.access.needs_owner() {
            let owner = doc.owner().map(|o| o.to_hex()).unwrap_or_default();
            self.access.check_owner(self.ctx.user.as_ref(), &owner)?;
        }
        Ok((doc, filter))
    }
}

/// The caller: `None` without credentials. Without `App::auth` nobody can authenticate,
/// which is fine for public operations and a configuration mistake for the others.
async fn caller<T: Resource>(parts: &mut Parts, access: &Access) -> Result<Option<AuthUser>> {
    let configured =
        parts.extensions.get::<Auth>().is_some() || parts.extensions.get::<AuthUser>().is_some();
    if !configured {
        return match access.requires_user() {
            true => Err(Error::internal(std::io::Error::other(format!(
                "the routes of {} have access rules that need App::auth",
                T::NAME
            )))),
            false => Ok(None),
        };
    }
    <AuthUser as OptionalFromRequestParts<()>>::from_request_parts(parts, &()).await
}

fn and(a: Document, b: Document) -> Document {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b,
        (_, true) => a,
        _ => doc! { "$and": [a, b] },
    }
}

fn not_found<T: Resource>(id: ObjectId) -> Error {
    Error::not_found(format!("no {} with id {id}", T::NAME))
}

/// The `{id}` of the path; 400 `invalid_id` unless it is 24 hex digits.
async fn path_id<T: Resource>(parts: &mut Parts) -> Result<ObjectId> {
    let Path(raw) = <Path<String> as FromRequestParts<()>>::from_request_parts(parts, &())
        .await
        .map_err(|e| Error::bad_request(e.body_text()))?;
    raw.parse::<Id<T>>().map(|id| id.object_id()).map_err(|_| {
        Error::bad_request(format!(
            "the path does not name a {}: an id is 24 hexadecimal characters",
            T::NAME
        ))
        .with_field_errors(vec![FieldError::new(
            "id",
            "invalid_id",
            "must be 24 hexadecimal characters",
        )])
        .with_code("invalid_id")
    })
}

/// The body, validated: `Valid<Json<B>>` on what is left of the request.
async fn body<B>(parts: Parts, body: Body) -> Result<B>
where
    B: serde::de::DeserializeOwned + crate::validation::Validate,
{
    let Valid(Json(value)) =
        Valid::<Json<B>>::from_request(Request::from_parts(parts, body), &()).await?;
    Ok(value)
}

// ---- ETags ---------------------------------------------------------------------------------

/// `W/"<hex of the first 16 bytes of SHA-256(body)>"`.
pub(crate) fn etag(body: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, body);
    format!("W/\"{}\"", crate::hex::encode(&digest.as_ref()[..16]))
}

/// Whether an `If-Match` / `If-None-Match` value names `etag` (or is `*`). Tags compare by
/// their opaque part: every tag this module issues is weak.
fn etag_matches(header: &str, etag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    header
        .split(',')
        .any(|t| t.trim() == "*" || opaque(t) == opaque(etag))
}

fn header_value(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The view of `doc` as JSON bytes and its ETag.
fn view_bytes<T: Resource>(doc: &T) -> Result<(Vec<u8>, String)> {
    let bytes = serde_json::to_vec(&doc.view())?;
    let tag = etag(&bytes);
    Ok((bytes, tag))
}

/// 412 when `if_match` does not name the current version.
fn check_if_match<T: Resource>(if_match: Option<&str>, current: &T) -> Result<()> {
    let Some(if_match) = if_match else {
        return Ok(());
    };
    let (_, tag) = view_bytes(current)?;
    match etag_matches(if_match, &tag) {
        true => Ok(()),
        false => Err(Error::new(
            ErrorKind::PreconditionFailed,
            "the document changed since the version If-Match names; fetch it again",
        )),
    }
}

fn json_response(status: StatusCode, bytes: Vec<u8>, tag: Option<&str>) -> Response {
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response();
    if let Some(tag) = tag.and_then(|t| HeaderValue::from_str(t).ok()) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    response
}

// ---- expand and fields ---------------------------------------------------------------------

/// The fields `?expand=` may name: visible references.
fn expandable<T: Model>() -> impl Iterator<Item = &'static crate::model::FieldDef> {
    T::fields().iter().filter(|f| {
        f.reference.is_some() && matches!(f.visibility, Visibility::Normal | Visibility::ReadOnly)
    })
}

/// The `expand` parameters of a query string (comma-separated, may repeat), checked
/// against the model; 400 listing the expandable fields for anything else.
fn parse_expand<T: Model>(query: &str) -> Result<Vec<&'static crate::model::FieldDef>> {
    let mut fields: Vec<&'static crate::model::FieldDef> = Vec::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key != "expand" {
            continue;
        }
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let Some(field) = expandable::<T>().find(|f| f.name == name) else {
                let names: Vec<&str> = expandable::<T>().map(|f| f.name).collect();
                let allowed = match names.is_empty() {
                    true => "none".to_owned(),
                    false => names.join(", "),
                };
                return Err(Error::validation(vec![FieldError::new(
                    "expand",
                    "not_allowed",
                    format!("cannot expand {name:?}; expandable fields: {allowed}"),
                )])
                .with_detail("the query has invalid parameters"));
            };
            if !fields.iter().any(|f| f.name == field.name) {
                fields.push(field);
            }
        }
    }
    Ok(fields)
}

/// The ids a stored value holds: one id, or an array of them.
fn ids_in(value: Option<&Bson>) -> Vec<ObjectId> {
    match value {
        Some(Bson::ObjectId(id)) => vec![*id],
        Some(Bson::Array(items)) => items
            .iter()
            .filter_map(|b| match b {
                Bson::ObjectId(id) => Some(*id),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Replaces, in each view, the references named by `fields` with the loaded objects
/// (`null` when missing): one load per relation for the whole batch.
async fn expand<T: Model>(
    store: &Store,
    docs: &[T],
    views: &mut [Value],
    fields: &[&'static crate::model::FieldDef],
) -> Result<()> {
    if fields.is_empty() {
        return Ok(());
    }
    let stored: Vec<Document> = docs
        .iter()
        .map(crate::store::to_document)
        .collect::<Result<_>>()?;
    for field in fields {
        let Some(reference) = field.reference else {
            continue;
        };
        let mut ids: Vec<ObjectId> = stored
            .iter()
            .flat_map(|d| ids_in(d.get(field.name)))
            .collect();
        ids.sort_unstable_by_key(|id| id.bytes());
        ids.dedup();
        let loaded: HashMap<ObjectId, Value> = match ids.is_empty() {
            true => HashMap::new(),
            false => (reference.load)(store.clone(), ids).await?,
        };
        let lookup = |value: &Value| -> Value {
            value
                .as_str()
                .and_then(|hex| ObjectId::parse_str(hex).ok())
                .and_then(|id| loaded.get(&id).cloned())
                .unwrap_or(Value::Null)
        };
        for view in views.iter_mut() {
            let Some(slot) = view.as_object_mut().and_then(|o| o.get_mut(field.name)) else {
                continue;
            };
            let expanded = match &*slot {
                Value::Array(items) => Value::Array(items.iter().map(lookup).collect()),
                Value::Null => Value::Null,
                other => lookup(other),
            };
            *slot = expanded;
        }
    }
    Ok(())
}

/// Keeps only the selected keys of a view (and `id`); a dotted name keeps its top-level
/// object.
fn project(view: &mut Value, selected: &Document) {
    if let Some(object) = view.as_object_mut() {
        object.retain(|key, _| {
            key == "id"
                || selected.keys().any(|s| {
                    s.split('.').next() == Some(key.as_str()) || (s == "_id" && key == "id")
                })
        });
    }
}

// ---- handlers ------------------------------------------------------------------------------

/// `GET /posts`
pub(super) async fn list<T: Resource>(
    State(hooks): Shared<T>,
    request: Request,
) -> Result<Response> {
    let (mut parts, _) = request.into_parts();
    let call = Call::<T>::begin(hooks, Operation::List, &mut parts).await?;
    let raw_query = parts.uri.query().unwrap_or_default().to_owned();
    let expands = parse_expand::<T>(&raw_query)?;
    // `expand` is ours; the rest is the list query.
    let list_query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form_urlencoded::parse(raw_query.as_bytes()).filter(|(k, _)| k != "expand"))
        .finish();
    let mut query = ListQuery::<T>::new(<T as Listable>::list_spec(), &call.path, &list_query)?;
    if let Some(key) = parts.extensions.get::<CursorKey>() {
        query = query.with_key(key.clone());
    }
    // The projection is applied to the views: a projected document would not fit `T`.
    let projection = query.list.projection.take();
    for (key, value) in form_urlencoded::parse(raw_query.as_bytes()) {
        if key == "expand" {
            query
                .list
                .params
                .push((key.into_owned(), value.into_owned()));
        }
    }
    let mut scope = call.hooks.scope(&call.ctx).await?;
    if let Some(user) = call.access.owner_filter(call.ctx.user.as_ref()) {
        let owner = T::fields().iter().find(|f| f.owner).ok_or_else(|| {
            Error::internal(std::io::Error::other(format!(
                "{} has an owner rule on lists but no owner field",
                T::NAME
            )))
        })?;
        let id = ObjectId::parse_str(user).map_err(Error::internal)?;
        scope = and(scope, doc! { owner.name: id });
    }
    let page = paginate(&call.collection(), &query, scope).await?;
    if projection.is_none() && expands.is_empty() {
        return Ok(page.map(|doc| doc.view()).into_response());
    }
    let mut views: Vec<Value> = page
        .items
        .iter()
        .map(|doc| serde_json::to_value(doc.view()))
        .collect::<std::result::Result<_, _>>()?;
    let expands: Vec<_> = expands
        .into_iter()
        .filter(|f| projection.as_ref().is_none_or(|p| p.contains_key(f.name)))
        .collect();
    expand(&call.ctx.store, &page.items, &mut views, &expands).await?;
    if let Some(selected) = &projection {
        for view in &mut views {
            project(view, selected);
        }
    }
    let mut views = views.into_iter();
    let page: Page<Value> = page.map(|_| views.next().unwrap_or(Value::Null));
    Ok(page.into_response())
}

/// `GET /posts/{id}`
pub(super) async fn get<T: Resource>(
    State(hooks): Shared<T>,
    request: Request,
) -> Result<Response> {
    let (mut parts, _) = request.into_parts();
    let call = Call::<T>::begin(hooks, Operation::Get, &mut parts).await?;
    let id = path_id::<T>(&mut parts).await?;
    let expands = parse_expand::<T>(parts.uri.query().unwrap_or_default())?;
    let (doc, _) = call.load(id).await?;
    let bytes = match expands.is_empty() {
        true => serde_json::to_vec(&doc.view())?,
        false => {
            let mut views = [serde_json::to_value(doc.view())?];
            expand(
                &call.ctx.store,
                std::slice::from_ref(&doc),
                &mut views,
                &expands,
            )
            .await?;
            serde_json::to_vec(&views[0])?
        }
    };
    let tag = etag(&bytes);
    if let Some(if_none_match) = header_value(&parts.headers, header::IF_NONE_MATCH)
        && etag_matches(&if_none_match, &tag)
    {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(tag) = HeaderValue::from_str(&tag) {
            response.headers_mut().insert(header::ETAG, tag);
        }
        return Ok(response);
    }
    Ok(json_response(StatusCode::OK, bytes, Some(&tag)))
}

/// `POST /posts`
pub(super) async fn create<T: Resource>(
    State(hooks): Shared<T>,
    request: Request,
) -> Result<Response> {
    let (mut parts, body_stream) = request.into_parts();
    let call = Call::<T>::begin(hooks, Operation::Create, &mut parts).await?;
    let input: T::Create = body(parts, body_stream).await?;
    let write = WriteContext::new(call.ctx.user.clone());
    let mut doc = T::create(input, &write)?;
    call.hooks.before_create(&mut doc, &call.ctx).await?;
    call.collection().insert_one(&doc).await?;
    call.hooks.after_create(&doc, &call.ctx).await?;
    let (bytes, tag) = view_bytes(&doc)?;
    let mut response = json_response(StatusCode::CREATED, bytes, Some(&tag));
    let location = format!("{}/{}", call.path.trim_end_matches('/'), doc.id());
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `PUT /posts/{id}`: the body replaces the writable fields.
pub(super) async fn replace<T: Resource>(
    State(hooks): Shared<T>,
    request: Request,
) -> Result<Response> {
    let (mut parts, body_stream) = request.into_parts();
    let call = Call::<T>::begin(hooks, Operation::Update, &mut parts).await?;
    let id = path_id::<T>(&mut parts).await?;
    let if_match = header_value(&parts.headers, header::IF_MATCH);
    let input: T::Create = body(parts, body_stream).await?;
    let (current, filter) = call.load(id).await?;
    check_if_match(if_match.as_deref(), &current)?;
    let before = crate::store::to_document(&current)?;
    let replaced = T::replace(
        crate::store::from_document(T::COLLECTION, &before)?,
        input,
        &WriteContext::new(call.ctx.user.clone()),
    )?;
    let mut set = crate::store::to_document(&replaced)?;
    set.remove("_id");
    let mut update = Document::new();
    let gone: Document = before
        .keys()
        .filter(|k| *k != "_id" && !set.contains_key(k.as_str()))
        .map(|k| (k.clone(), Bson::String(String::new())))
        .collect();
    update.insert("$set", set);
    if !gone.is_empty() {
        update.insert("$unset", gone);
    }
    write_update(&call, id, current, filter, update).await
}

/// `PATCH /posts/{id}`: only the fields given change.
pub(super) async fn patch<T: Resource>(
    State(hooks): Shared<T>,
    request: Request,
) -> Result<Response> {
    let (mut parts, body_stream) = request.into_parts();
    let call = Call::<T>::begin(hooks, Operation::Update, &mut parts).await?;
    let id = path_id::<T>(&mut parts).await?;
    let if_match = header_value(&parts.headers, header::IF_MATCH);
    let input: T::Patch = body(parts, body_stream).await?;
    let (current, filter) = call.load(id).await?;
    check_if_match(if_match.as_deref(), &current)?;
    let mut update = T::patch(input)?;
    if is_empty_update(&update) {
        let (bytes, tag) = view_bytes(&current)?;
        return Ok(json_response(StatusCode::OK, bytes, Some(&tag)));
    }
    if T::TIMESTAMPS {
        let now = Bson::from(Timestamp::now());
        match update.get_mut("$set") {
            Some(Bson::Document(set)) => {
                set.insert("updated_at", now);
            }
            _ => {
                update.insert("$set", doc! { "updated_at": now });
            }
        }
    }
    write_update(&call, id, current, filter, update).await
}

/// No operator with anything in it.
fn is_empty_update(update: &Document) -> bool {
    update.values().all(|v| match v {
        Bson::Document(d) => d.is_empty(),
        _ => false,
    })
}

/// `before_update` → write → `after_update` → 200 with the new view.
async fn write_update<T: Resource>(
    call: &Call<T>,
    id: ObjectId,
    current: T,
    filter: Document,
    mut update: Document,
) -> Result<Response> {
    call.hooks
        .before_update(&current, &mut update, &call.ctx)
        .await?;
    let updated = match is_empty_update(&update) {
        true => current,
        false => call
            .collection()
            .find_one_and_update(filter, update)
            .returning(ReturnDocument::After)
            .await?
            .ok_or_else(|| not_found::<T>(id))?,
    };
    call.hooks.after_update(&updated, &call.ctx).await?;
    let (bytes, tag) = view_bytes(&updated)?;
    Ok(json_response(StatusCode::OK, bytes, Some(&tag)))
}

/// `DELETE /posts/{id}`
pub(super) async fn delete<T: Resource>(
    State(hooks): Shared<T>,
    request: Request,
) -> Result<Response> {
    let (mut parts, _) = request.into_parts();
    let call = Call::<T>::begin(hooks, Operation::Delete, &mut parts).await?;
    let id = path_id::<T>(&mut parts).await?;
    let (current, filter) = call.load(id).await?;
    let if_match = header_value(&parts.headers, header::IF_MATCH);
    check_if_match(if_match.as_deref(), &current)?;
    call.hooks.before_delete(&current, &call.ctx).await?;
    call.collection().delete_one(filter).await?;
    call.hooks.after_delete(&current, &call.ctx).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_are_weak_and_compare_by_their_opaque_part() {
        let tag = etag(b"{}");
        assert!(tag.starts_with("W/\"") && tag.len() == 3 + 32 + 1, "{tag}");
        assert!(etag_matches(&tag, &tag));
        assert!(etag_matches(tag.trim_start_matches("W/"), &tag));
        assert!(etag_matches(&format!("\"x\", {tag}"), &tag));
        assert!(etag_matches("*", &tag));
        assert!(!etag_matches("W/\"00\"", &tag));
    }

    #[test]
    fn projection_keeps_the_id_and_the_selected_keys() {
        let mut view =
            serde_json::json!({ "id": "1", "title": "t", "done": true, "meta": { "a": 1 } });
        project(&mut view, &doc! { "title": 1, "meta.a": 1 });
        assert_eq!(
            view,
            serde_json::json!({ "id": "1", "title": "t", "meta": { "a": 1 } })
        );
    }
}
