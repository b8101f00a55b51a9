//! `GET /info`.

use flagstone::prelude::*;
use serde::Serialize;

use crate::config::AppSettings;

/// What the app is.
#[derive(Serialize, ToSchema)]
pub struct Info {
    /// The app's name (`app.name`).
    pub name: String,
    /// The app's version.
    pub version: String,
}

/// The app's name and version.
#[utoipa::path(get, path = "/info", tag = "info", responses((status = 200, body = Info)))]
pub async fn info(Extension(settings): Extension<AppSettings>) -> Json<Info> {
    Json(Info {
        name: settings.name,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}
