//! Resources: a [`Model`] served as a documented, authorized CRUD API.
//!
//! `#[derive(Resource)]` implements [`Resource`]:
//!
//! ```text
//! #[derive(Model, Resource)]
//! #[resource(path = "/posts", list = public, get = public, create = authenticated,
//!            update = owner_or("admin"), delete = owner_or("admin"), hooks = PostHooks)]
//! pub struct Post { ... }
//! ```
//!
//! and `App::resource::<Post>()` mounts, under the API prefix:
//!
//! | route | operation | answers |
//! | --- | --- | --- |
//! | `GET /posts` | list | 200 a [`Page`](crate::pagination::Page) of views; filters, sort, fields, offset or cursor, `?expand=` |
//! | `GET /posts/{id}` | get | 200 the view with an `ETag`; 304 for a matching `If-None-Match`; 404 |
//! | `POST /posts` | create | 201 the view, `Location` |
//! | `PUT /posts/{id}` | update | 200 the view; the body replaces the writable fields; 412 for a stale `If-Match` |
//! | `PATCH /posts/{id}` | update | 200 the view; only the fields given change |
//! | `DELETE /posts/{id}` | delete | 204 |
//!
//! Every operation checks its [`Access`] rule first (401 / 403), owner rules against the
//! stored document, and for lists the owner rule becomes a filter ("only mine"). A disabled
//! operation has no route. Unique violations are 409 naming the field, malformed ids 400,
//! unknown ids 404, invalid bodies 400 with every field error.
//!
//! Business rules plug in through [`Hooks`]: a scope added to every query (row-level
//! rules), and before/after hooks on create, update and delete that can change the
//! document or refuse with an error.

use std::future::Future;

use bson::Document;

use crate::{
    Result,
    auth::{Access, AuthUser},
    model::Model,
    store::Store,
};

/// An operation of a resource, each with its own access rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `GET /posts`
    List,
    /// `GET /posts/{id}`
    Get,
    /// `POST /posts`
    Create,
    /// `PUT` and `PATCH /posts/{id}`
    Update,
    /// `DELETE /posts/{id}`
    Delete,
}

/// A model served over HTTP; implemented by `#[derive(Resource)]`.
pub trait Resource: Model {
    /// The path under the API prefix (`/posts`).
    const PATH: &'static str;
    /// The OpenAPI tag of its operations (default: the path without its slash).
    const TAG: &'static str;
    /// The business rules; `()` has none.
    type Hooks: Hooks<Self> + Default;

    /// Who may perform `operation`; `None` when the operation is disabled.
    fn access(operation: Operation) -> Option<Access>;
}

/// What a hook knows about the request.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RequestContext {
    /// The caller, if authenticated.
    pub user: Option<AuthUser>,
    /// The store.
    pub store: Store,
}

/// Business rules around a resource's operations. Every method has a default that does
/// nothing; return an [`Error`](crate::Error) to refuse the operation (the client gets
/// that error, nothing is written).
///
/// Order: `scope` before any read; `before_create` → insert → `after_create`;
/// `before_update` → write → `after_update`; `before_delete` → delete → `after_delete`.
pub trait Hooks<T: Model>: Send + Sync + 'static {
    /// An extra filter for every list, get, update and delete: row-level rules such as
    /// `{ "tenant": .. }`. Documents outside it are 404.
    fn scope(&self, ctx: &RequestContext) -> impl Future<Output = Result<Document>> + Send {
        let _ = ctx;
        std::future::ready(Ok(Document::new()))
    }

    /// Before a new document is stored; it may be changed.
    fn before_create(
        &self,
        doc: &mut T,
        ctx: &RequestContext,
    ) -> impl Future<Output = Result<()>> + Send {
        let _ = (doc, ctx);
        std::future::ready(Ok(()))
    }

    /// After a new document was stored.
    fn after_create(
        &self,
        doc: &T,
        ctx: &RequestContext,
    ) -> impl Future<Output = Result<()>> + Send {
        let _ = (doc, ctx);
        std::future::ready(Ok(()))
    }

    /// Before `current` is updated with `update` (a `$set` / `$unset` document, which
    /// may be changed; for PUT it sets every writable field).
    fn before_update(
        &self,
        current: &T,
        update: &mut Document,
        ctx: &RequestContext,
    ) -> impl Future<Output = Result<()>> + Send {
        let _ = (current, update, ctx);
        std::future::ready(Ok(()))
    }

    /// After a document was updated; `doc` is the new version.
    fn after_update(
        &self,
        doc: &T,
        ctx: &RequestContext,
    ) -> impl Future<Output = Result<()>> + Send {
        let _ = (doc, ctx);
        std::future::ready(Ok(()))
    }

    /// Before `doc` is deleted.
    fn before_delete(
        &self,
        doc: &T,
        ctx: &RequestContext,
    ) -> impl Future<Output = Result<()>> + Send {
        let _ = (doc, ctx);
        std::future::ready(Ok(()))
    }

    /// After `doc` was deleted.
    fn after_delete(
        &self,
        doc: &T,
        ctx: &RequestContext,
    ) -> impl Future<Output = Result<()>> + Send {
        let _ = (doc, ctx);
        std::future::ready(Ok(()))
    }
}

/// No business rules.
impl<T: Model> Hooks<T> for () {}

mod handlers;
#[cfg(feature = "openapi")]
mod openapi;
mod router;

#[cfg(feature = "openapi")]
pub use self::openapi::operations;
pub use self::router::{router, routes};
