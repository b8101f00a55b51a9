//! Where the configuration comes from: the embedded `flagstone.toml`, then the usual
//! files, `.env` and `FLAGSTONE_*` variables, with `PORT` as an alias of `server.port`.

use flagstone::config::ConfigLoader;

/// The example's defaults (`/api`, 422 for validation, `Token` auth, 7-day tokens).
pub const DEFAULTS: &str = include_str!("../flagstone.toml");

/// A loader with the embedded defaults and the process environment, where `PORT` sets
/// `server.port` unless `FLAGSTONE_SERVER__PORT` is set too.
pub fn loader() -> ConfigLoader {
    loader_with(std::env::vars())
}

/// Like [`loader`], with `vars` as the environment (for tests).
pub fn loader_with(vars: impl IntoIterator<Item = (String, String)>) -> ConfigLoader {
    let mut vars: Vec<(String, String)> = vars.into_iter().collect();
    let has_port = vars.iter().any(|(k, _)| k == "FLAGSTONE_SERVER__PORT");
    if !has_port && let Some((_, port)) = vars.iter().find(|(k, _)| k == "PORT") {
        let port = port.clone();
        vars.push(("FLAGSTONE_SERVER__PORT".to_owned(), port));
    }
    ConfigLoader::new().defaults(DEFAULTS).env(vars)
}
