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
//! | [`error`] | the [`Error`] type and its `application/problem+json` rendering |
//! | [`http`] | the middleware stack |
//! | [`telemetry`] | logging and Prometheus metrics |
//! | [`health`] | liveness and readiness checks |
//! | [`query`] / [`pagination`] | list query parsing, offset and cursor pages, `Link` headers |
//! | [`store`] | the storage API over MongoDB and the embedded store |
//! | [`validation`] | the `Validate` trait, its rules and field paths |
//! | [`testing`] | [`testing::TestApp`], the full stack in-process |

extern crate self as flagstone;

pub mod app;
pub mod config;
pub mod error;
pub mod health;
pub mod http;
pub mod pagination;
pub mod query;
pub mod store;
pub mod telemetry;
pub mod testing;
pub mod validation;

pub use app::App;
pub use config::Config;
pub use error::{Error, ErrorKind, FieldError, Result};
pub use store::{Id, Store};

/// Re-exports of the crates a Flagstone app builds on, so versions always match.
pub use axum;
/// The BSON crate the store speaks.
pub use bson;
#[cfg(feature = "mongodb")]
/// The MongoDB driver behind [`Store::mongo`].
pub use mongodb;

/// What generated code reaches through `::flagstone`; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use regex;
}

/// The names most apps need, in one import.
pub mod prelude {
    pub use crate::{
        App, Config, Error, Result,
        error::FieldError,
        health::Readiness,
        store::{Collection, Id, Index, Store, doc},
        validation::Validate,
    };
    pub use axum::{
        Extension, Json, Router,
        extract::{Path, Query, State},
        http::StatusCode,
        response::IntoResponse,
        routing::{delete, get, patch, post, put},
    };
}
