//! The RealWorld "Conduit" API on Flagstone: users, profiles, articles, favorites,
//! comments and tags under `/api`, with RealWorld's own error body.
//!
//! Each folder is a layer, and each layer uses only the ones below it:
//!
//! ```text
//! main.rs       the binary: load the configuration, build, serve
//! routes.rs     which URL goes where
//! controllers/  HTTP only: extract, call a service, wrap the answer in RealWorld's envelope
//! services/     the rules of the contract (slugs, follows, favorites, counts); no HTTP types
//! models.rs     what is stored, its indexes, and the shapes the API answers with
//! config.rs     the embedded defaults (`flagstone.toml`) and the `PORT` alias
//! errors.rs     `{"errors": {"field": ["message"]}}` instead of problem+json
//! ```

pub mod config;
pub mod controllers;
pub mod errors;
pub mod models;
pub mod routes;
pub mod services;

use flagstone::{App, Result, Store, auth::Auth};

/// The whole API on `app`: opens the store (embedded unless `database.url` says
/// `mongodb://`), creates the indexes, and mounts the routes under `/api`.
pub async fn build(app: App) -> Result<App> {
    let store = Store::open(&app.config().database).await?;
    let auth = Auth::new(app.config(), &store)?;
    let conduit = services::Conduit::new(&store, auth.clone());
    conduit.sync_indexes().await?;
    let routes = routes::routes(auth.config().rate_limit);
    Ok(app
        .store(store)
        .problem_renderer(errors::RealWorldErrors)
        .state(auth)
        .state(conduit)
        .api(routes))
}
