//! The app's own settings: `[app]` in `flagstone.toml`, or `FLAGSTONE_APP__...` variables.
//! Flagstone's own sections (`[server]`, `[database]`, `[auth]`, ...) are read by
//! `flagstone::Config`.

use flagstone::{Config, Error, Result};
use serde::Deserialize;

/// `[app]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppSettings {
    /// The name `GET /api/v1/info` answers with.
    pub name: String,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            name: env!("CARGO_PKG_NAME").to_owned(),
        }
    }
}

impl AppSettings {
    /// Reads `[app]` from the configuration (the defaults when it is absent).
    pub fn from(config: &Config) -> Result<Self> {
        config
            .section_or_default("app")
            .map_err(|e| Error::internal(std::io::Error::other(e.to_string())))
    }
}
