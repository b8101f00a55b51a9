//! The blog's own settings: `[blog]` in `flagstone.toml`, or `FLAGSTONE_BLOG__...`.

use flagstone::{Config, Error, Result};
use serde::Deserialize;

/// `[blog]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlogSettings {
    /// How many of the newest comments each post embeds (default 3).
    pub embedded_comments: usize,
}

impl Default for BlogSettings {
    fn default() -> Self {
        Self {
            embedded_comments: 3,
        }
    }
}

impl BlogSettings {
    /// Reads `[blog]` from the app's configuration (the defaults when it is absent).
    pub fn from(config: &Config) -> Result<Self> {
        config
            .section_or_default("blog")
            .map_err(|e| Error::internal(std::io::Error::other(e.to_string())))
    }
}
