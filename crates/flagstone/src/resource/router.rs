//! The routes of a resource: only the enabled operations are mounted.

use std::sync::Arc;

use axum::{
    Router,
    routing::{MethodRouter, delete, get, patch, post, put},
};

use super::{Operation, Resource, handlers};

/// The routes of `T`, paths relative to the API prefix (`/posts`, `/posts/{id}`), each
/// enabled operation once; a disabled operation has no route (the app answers 404 or 405).
///
/// The handlers read the store (`Extension<Store>`, added by
/// [`App::store`](crate::App::store)) and, for rules other than `public`, the
/// [`Auth`](crate::auth::Auth) added by [`App::auth`](crate::App::auth) from the request;
/// without them they answer 500 and log why.
pub fn routes<T: Resource>(hooks: T::Hooks) -> Router {
    let hooks: Arc<T::Hooks> = Arc::new(hooks);
    let enabled = |operation| T::access(operation).is_some();
    let mut collection: Option<MethodRouter<Arc<T::Hooks>>> = None;
    let mut item: Option<MethodRouter<Arc<T::Hooks>>> = None;
    let add = |slot: &mut Option<MethodRouter<Arc<T::Hooks>>>,
               route: MethodRouter<Arc<T::Hooks>>| {
        *slot = Some(match slot.take() {
            Some(existing) => existing.merge(route),
            None => route,
        });
    };
    if enabled(Operation::List) {
        add(&mut collection, get(handlers::list::<T>));
    }
    if enabled(Operation::Create) {
        add(&mut collection, post(handlers::create::<T>));
    }
    if enabled(Operation::Get) {
        add(&mut item, get(handlers::get::<T>));
    }
    if enabled(Operation::Update) {
        add(&mut item, put(handlers::replace::<T>));
        add(&mut item, patch(handlers::patch::<T>));
    }
    if enabled(Operation::Delete) {
        add(&mut item, delete(handlers::delete::<T>));
    }
    let path = T::PATH.trim_end_matches('/');
    let mut router = Router::new();
    if let Some(collection) = collection {
        router = router.route(path, collection);
    }
    if let Some(item) = item {
        router = router.route(&format!("{path}/{{id}}"), item);
    }
    router.with_state(hooks)
}

/// The routes of `T` (see [`routes`]) and their OpenAPI operations (see
/// [`operations`](super::operations)), paths relative to the API prefix:
///
/// ```text
/// let (routes, doc) = flagstone::resource::router::<Post>(PostHooks::default());
/// let app = app.api(OpenApiRouter::with_openapi(doc).merge(routes.into()));
/// ```
#[cfg(feature = "openapi")]
pub fn router<T: Resource>(hooks: T::Hooks) -> (Router, utoipa::openapi::OpenApi) {
    (routes::<T>(hooks), super::operations::<T>())
}

/// The routes of `T` (see [`routes`]); without the `openapi` feature there is no document.
#[cfg(not(feature = "openapi"))]
pub fn router<T: Resource>(hooks: T::Hooks) -> Router {
    routes::<T>(hooks)
}
