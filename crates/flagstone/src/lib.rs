//! Flagstone: production REST backends on axum, with every production concern built in.
//!
//! An app is assembled with [`App`]: configuration is loaded and validated at start-up
//! ([`config`]), every failure becomes an RFC 9457 problem ([`Error`]), and a default
//! middleware stack ([`http`]) adds request ids, tracing, timeouts, body limits,
//! compression, CORS, security headers, rate limiting, load shedding and panic catching.
//!
//! ```no_run
//! use flagstone::prelude::*;
//!
//! async fn hello() -> &'static str {
//!     "hello"
//! }
//!
//! #[tokio::main]
//! async fn main() -> flagstone::Result<()> {
//!     App::from_config()?
//!         .routes(Router::new().route("/hello", get(hello)))
//!         .run()
//!         .await
//! }
//! ```
//!
//! # Modules
//!
//! | module | owns |
//! | --- | --- |
//! | [`app`] | the [`App`] builder, router assembly, serving and graceful shutdown |
//! | [`config`] | layered, typed, validated configuration |
//! | [`cli`] | the app binary's commands: serve, `routes`, `openapi`, `config check`, `config schema` |
//! | [`error`] | the [`Error`] type and its `application/problem+json` rendering |
//! | [`http`] | the middleware stack |
//! | [`mail`] | the mailer: SMTP, log, memory and file transports, templates |
//! | [`telemetry`] | logging and Prometheus metrics |
//! | [`health`] | liveness and readiness checks |
//! | [`query`] / [`pagination`] | list query parsing, offset and cursor pages, `Link` headers |
//! | [`store`] | the storage API over MongoDB and the embedded store |
//! | [`validation`] | the `Validate` trait, its rules and field paths |
//! | [`openapi`] | the OpenAPI 3.1 document, `/openapi.json` and the docs page |
//! | [`testing`] | [`testing::TestApp`], the full stack in-process |
//!
//! # Cargo features
//!
//! | feature | default | adds |
//! | --- | --- | --- |
//! | `mongodb` | on | the MongoDB backend of the store |
//! | `openapi` | on | the OpenAPI document and docs page ([`App::api`], utoipa and utoipa-axum re-exported) |

extern crate self as flagstone;

pub mod app;
pub mod auth;
#[cfg(feature = "openapi")]
pub mod cli;
pub mod config;
pub mod error;
#[cfg(feature = "files")]
pub mod files;
pub mod health;
pub mod http;
#[cfg(feature = "http-client")]
pub mod http_client;
pub mod mail;
pub mod model;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod pagination;
pub mod query;
pub mod resource;
pub mod store;
pub mod telemetry;
pub mod testing;
pub mod validation;

#[doc(hidden)]
mod derive_support;
mod hex;

pub use app::App;
pub use config::Config;
pub use error::{Error, ErrorKind, FieldError, Result};
pub use store::{Id, Store};

/// `#[derive(Model)]`: see [`model`]. Shares its name with the [`model::Model`] trait, as
/// serde's derives do.
pub use flagstone_macros::Model;
/// `#[derive(Resource)]`: see [`resource`]. Shares its name with the
/// [`resource::Resource`] trait.
pub use flagstone_macros::Resource;

/// Re-exports of the crates a Flagstone app builds on, so versions always match.
pub use axum;
/// The BSON crate the store speaks.
pub use bson;
#[cfg(feature = "mongodb")]
/// The MongoDB driver behind [`Store::mongo`].
pub use mongodb;
#[cfg(feature = "openapi")]
/// utoipa, which writes the OpenAPI document: `#[utoipa::path]`, `ToSchema`, `IntoParams`.
pub use utoipa;
#[cfg(feature = "openapi")]
/// utoipa's axum integration: `OpenApiRouter` and `routes!`.
pub use utoipa_axum;

/// What generated code reaches through `::flagstone`; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use bson;
    #[cfg(feature = "openapi")]
    pub use inventory;
    pub use regex;
    pub use serde;
    #[cfg(feature = "openapi")]
    pub use utoipa;

    #[cfg(feature = "openapi")]
    pub use crate::derive_support::schema;
    pub use crate::derive_support::{Patch, present, to_bson, update};
    pub use crate::{__if_openapi as if_openapi, __register_constraints as register_constraints};
}

/// Expands to its input with the `openapi` feature, to nothing without it: the schema
/// impls a derive writes into the user's crate follow this crate's features.
#[cfg(feature = "openapi")]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_openapi {
    ($($tokens:tt)*) => { $($tokens)* };
}

/// Expands to its input with the `openapi` feature, to nothing without it.
#[cfg(not(feature = "openapi"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_openapi {
    ($($tokens:tt)*) => {};
}

/// Registers a `Validate` type's constraints for the OpenAPI document (see
/// `openapi::apply_constraints`); expands to nothing without the `openapi` feature.
#[cfg(feature = "openapi")]
#[doc(hidden)]
#[macro_export]
macro_rules! __register_constraints {
    ($ty:ty) => {
        $crate::__private::inventory::submit! {
            $crate::openapi::__private::Registration::new(
                || {
                    #[allow(unused_imports)]
                    use $crate::openapi::__private::{WithSchema as _, WithoutSchema as _};
                    (&&$crate::openapi::__private::Probe::<$ty>::new()).named_schema()
                },
                <$ty as $crate::validation::Validate>::constraints,
            )
        }
    };
}

/// Registers a `Validate` type's constraints for the OpenAPI document; expands to nothing
/// without the `openapi` feature.
#[cfg(not(feature = "openapi"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __register_constraints {
    ($ty:ty) => {};
}

/// The names most apps need, in one import.
pub mod prelude {
    #[cfg(feature = "openapi")]
    pub use crate::auth::User;
    pub use crate::{
        App, Config, Error, Result,
        auth::{Access, AuthUser, MaybeAuthUser},
        error::FieldError,
        health::Readiness,
        model::Model,
        resource::Resource,
        store::{Collection, Id, Index, Store, Timestamp, doc},
        validation::Validate,
    };
    #[cfg(feature = "openapi")]
    pub use crate::{
        axum,
        utoipa::{self, IntoParams, ToSchema},
        utoipa_axum::{router::OpenApiRouter, routes},
    };
    pub use axum::{
        Extension, Json, Router,
        extract::{Path, Query, State},
        http::StatusCode,
        response::IntoResponse,
        routing::{delete, get, patch, post, put},
    };
    pub use flagstone_macros::{Model, Resource};
}
