//! The blog: users with roles, posts, comments, and a publishing service shared by the HTTP
//! API and the command line.
//!
//! Each folder is a layer, and each layer uses only the ones below it:
//!
//! ```text
//! main.rs       the binary: serve, or run a service from the command line
//! routes/       which URL goes where: generated resources and hand-written controllers
//! controllers/  HTTP only: extract, call a service, answer
//! middleware/   guards and layers for route groups
//! services/     business rules; no HTTP types, so the CLI reuses them
//! models/       what is stored, its validation and its access rules
//! config/       the app's own settings (`[blog]` in flagstone.toml)
//! utils/        small helpers with no dependencies of their own
//! ```

pub mod config;
pub mod controllers;
pub mod middleware;
pub mod models;
pub mod routes;
pub mod services;
pub mod utils;

use flagstone::{App, Result, Store, files::FileStore};

/// The whole API on `app` over `store`: accounts, the post and comment resources (indexes
/// created), the file store for cover images (`[files]`), and the hand-written routes.
pub async fn build(app: App, store: Store) -> Result<App> {
    let settings = config::BlogSettings::from(app.config())?;
    let files = FileStore::from_config(app.config()).await?;
    let app = app
        .files(files)
        .store(store)
        .auth()
        .await?
        .resource_with::<models::Post>(models::PostHooks)
        .await?
        .resource_with::<models::Comment>(models::CommentHooks::new(settings.embedded_comments))
        .await?;
    Ok(app.api(routes::routes()))
}
