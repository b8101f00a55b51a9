//! Assembles the app. `main.rs` serves what [`build`] returns; the tests build the same.

use flagstone::{App, Result};

use crate::{config::AppSettings, routes};

/// Adds to `app` the store (embedded unless `database.url` says `mongodb://`), the account
/// routes under `/api/v1/auth`, every generated resource and the hand-written routes.
pub async fn build(app: App) -> Result<App> {
    let settings = AppSettings::from(app.config())?;
    let app = app.open_store().await?.auth().await?.state(settings);
    let app = routes::resources::mount(app).await?;
    Ok(app.api(routes::routes()))
}
