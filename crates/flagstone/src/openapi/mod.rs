//! OpenAPI 3.1: one document for the whole app, served with a docs page.
//!
//! Handlers are documented with utoipa's `#[utoipa::path]` and added with [`App::api`];
//! the app assembles the document when it builds its router:
//!
//! ```
//! use flagstone::{config::{Config, Profile}, prelude::*, testing::TestApp};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize, Validate, ToSchema)]
//! struct NewTag {
//!     /// The tag, lower case.
//!     #[validate(len(min = 1, max = 20), pattern = "[a-z]+")]
//!     name: String,
//! }
//!
//! #[derive(Serialize, ToSchema)]
//! struct Tag {
//!     name: String,
//! }
//!
//! /// Creates a tag.
//! #[utoipa::path(post, path = "/tags", request_body = NewTag,
//!                responses((status = 201, body = Tag)))]
//! async fn create_tag(Json(body): Json<NewTag>) -> flagstone::Result<(StatusCode, Json<Tag>)> {
//!     body.validate()?;
//!     Ok((StatusCode::CREATED, Json(Tag { name: body.name })))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = App::new(Config::defaults(Profile::Test))
//!     .api(OpenApiRouter::new().routes(routes!(create_tag)));
//! let app = TestApp::new(app);
//! let doc = app.get("/openapi.json").await.json();
//! assert_eq!(doc["openapi"], "3.1.0");
//! // The rules of `#[derive(Validate)]` are in the schema of `#[derive(ToSchema)]`.
//! assert_eq!(doc["components"]["schemas"]["NewTag"]["properties"]["name"]["maxLength"], 20);
//! // Every operation lists the problems Flagstone may answer.
//! let responses = &doc["paths"]["/api/v1/tags"]["post"]["responses"];
//! assert_eq!(responses["429"]["$ref"], "#/components/responses/TooManyRequests");
//! # }
//! ```
//!
//! The document holds:
//!
//! - `info` from `[openapi]` (`title`, `version`, `description`);
//! - every operation added with [`App::api`], its path under the API prefix;
//! - the security schemes `bearer` (an HTTP bearer JWT) and `cookie` (the `access_token`
//!   cookie), for `security(("bearer" = []))` on an operation;
//! - the `Problem` and `FieldError` schemas of every error body, and on every operation the
//!   problem responses it does not declare itself: 400, 422 and 415 (with a request body),
//!   429 and 500; 409 on `POST`, `PUT`, `PATCH` and `DELETE`; 404 when the path has
//!   parameters; 401 and 403 when it declares security;
//! - the pagination parameters `limit`, `offset`, `cursor`, `sort`, `fields` and `total`
//!   as reusable components, referenced by every operation that returns a
//!   [`Page`](crate::pagination::Page) (whose schema is `Page_<T>`, with `PageMeta`);
//! - the rules of each `#[derive(Validate)]` type, in the schema of the same type: see
//!   [`apply_constraints`].
//!
//! It is served at `openapi.json_path` (`/openapi.json`) and read by the docs page at
//! `openapi.docs_path` (`/docs`), whose script comes from `openapi.docs_script_url` — a
//! CDN by default, a self-hosted copy when configured. [`TestApp::openapi_agreement`]
//! checks that document and router agree.
//!
//! [`App::api`]: crate::App::api
//! [`TestApp::openapi_agreement`]: crate::testing::TestApp::openapi_agreement

mod agreement;
mod constraints;
mod document;
mod serve;

pub use agreement::Agreement;
pub use constraints::apply_constraints;
pub use document::{BEARER, COOKIE, PAGINATION_PARAMETERS};
pub use utoipa_axum::router::OpenApiRouter;

pub(crate) use document::build;
pub(crate) use serve::routes;

/// What the `Validate` derive reaches for; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use super::constraints::{Probe, Registration, WithSchema, WithoutSchema};
}
