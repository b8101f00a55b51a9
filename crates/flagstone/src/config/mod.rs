//! Layered, typed configuration that fails fast and says exactly what is wrong.
//!
//! Sources, later ones winning:
//!
//! 1. built-in defaults, which depend on the profile;
//! 2. `flagstone.toml`;
//! 3. `flagstone.<profile>.toml`;
//! 4. a `.env` file (only its `FLAGSTONE_*` lines; it never changes the process environment);
//! 5. `FLAGSTONE_*` environment variables, nested keys joined by `__`
//!    (`FLAGSTONE_SERVER__PORT=8080` sets `server.port`).
//!
//! The profile — `development` (default), `test` or `production` — comes from
//! `FLAGSTONE_PROFILE`. Loading checks every setting and reports every problem at once,
//! each with its key and where the value came from:
//!
//! ```text
//! invalid configuration (2 problems):
//!   - server.port: expected an integer 1-65535, got "abc" (from FLAGSTONE_SERVER__PORT)
//!   - auth.secret: must be at least 32 bytes in production, got 9 (from flagstone.production.toml)
//! ```
//!
//! An app reads its own sections with [`Config::section`]:
//!
//! ```
//! use flagstone::config::{ConfigLoader, Profile};
//!
//! #[derive(serde::Deserialize)]
//! struct Payments {
//!     currency: String,
//!     max_cents: u64,
//! }
//!
//! let config = ConfigLoader::new()
//!     .profile(Profile::Test)
//!     .env([("FLAGSTONE_PAYMENTS__CURRENCY", "EUR"), ("FLAGSTONE_PAYMENTS__MAX_CENTS", "5000")])
//!     .load()
//!     .unwrap();
//! let payments: Payments = config.section("payments").unwrap();
//! assert_eq!((payments.currency.as_str(), payments.max_cents), ("EUR", 5000));
//! ```

pub(crate) mod read;
mod secret;
mod sections;
mod sources;

use std::{
    fmt,
    path::{Path, PathBuf},
};

use figment::{
    Figment,
    providers::{Format, Toml},
};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

pub use secret::Secret;
pub use sections::{
    ApiConfig, AuthConfig, CorsConfig, DEFAULT_CSP, DEFAULT_DOCS_SCRIPT_URL, DatabaseConfig,
    HttpConfig, JwtAlgorithm, LogFormat, LoggingConfig, MIN_SECRET_BYTES, MailConfig,
    MailTransportKind, MetricsConfig, OpenApiConfig, RateLimitConfig, SameSite, ServerConfig,
    TokenTransport,
};
use sources::EnvVars;

/// Which set of defaults and files applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Local work: readable logs, loopback only.
    #[default]
    Development,
    /// Automated tests: quiet logs, in-memory stores.
    Test,
    /// Deployed: JSON logs, HSTS, and strict checks on secrets, CORS and the database.
    Production,
}

impl Profile {
    /// The profile's name, as used in `flagstone.<profile>.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Test => "test",
            Self::Production => "production",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "development" | "dev" => Some(Self::Development),
            "test" => Some(Self::Test),
            "production" | "prod" => Some(Self::Production),
            _ => None,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The whole configuration of an app, validated.
#[derive(Clone, JsonSchema)]
#[non_exhaustive]
pub struct Config {
    /// The active profile.
    pub profile: Profile,
    /// Where and how the server listens.
    pub server: ServerConfig,
    /// The API's URL prefix and error conventions.
    pub api: ApiConfig,
    /// The database connection.
    pub database: DatabaseConfig,
    /// Passwords, tokens, cookies and the account flows.
    pub auth: AuthConfig,
    /// How mails are sent.
    pub mail: MailConfig,
    /// Where uploaded files are stored and what is accepted.
    #[cfg(feature = "files")]
    pub files: crate::files::FilesConfig,
    /// Cross-origin resource sharing.
    pub cors: CorsConfig,
    /// The global per-client-IP request budget.
    pub rate_limit: RateLimitConfig,
    /// Log level and format.
    pub logging: LoggingConfig,
    /// Switches for the default middleware.
    pub http: HttpConfig,
    /// The Prometheus endpoint.
    pub metrics: MetricsConfig,
    /// The OpenAPI document and the docs page.
    pub openapi: OpenApiConfig,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` headers are believed, as IP addresses
    /// or CIDR ranges. Empty (the default) means the socket's peer is the client.
    #[schemars(with = "Vec<String>")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    #[schemars(skip)]
    figment: Figment,
}

impl Config {
    /// Loads the configuration from the current directory and the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        ConfigLoader::new().load()
    }

    /// The built-in defaults of `profile`, with no files or environment read.
    pub fn defaults(profile: Profile) -> Self {
        Self {
            profile,
            server: ServerConfig::defaults(profile),
            api: ApiConfig::default(),
            database: DatabaseConfig::defaults(profile),
            auth: AuthConfig::defaults(profile),
            mail: MailConfig::defaults(profile),
            #[cfg(feature = "files")]
            files: crate::files::FilesConfig::defaults(profile),
            cors: CorsConfig::default(),
            rate_limit: RateLimitConfig::default(),
            logging: LoggingConfig::defaults(profile),
            http: HttpConfig::defaults(profile),
            metrics: MetricsConfig::default(),
            openapi: OpenApiConfig::default(),
            trusted_proxies: Vec::new(),
            figment: Figment::new(),
        }
    }

    /// An app-defined section, e.g. `[payments]` in `flagstone.toml` or
    /// `FLAGSTONE_PAYMENTS__CURRENCY`, deserialized into `T`. Strings from the environment
    /// convert to numbers and booleans where `T` asks for them.
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> Result<T, ConfigError> {
        self.figment.extract_inner_lossy(name).map_err(|error| {
            // figment appends `name` after the path inside the section: [max_cents, payments].
            let suffix: Vec<String> = name.split('.').map(str::to_owned).collect();
            let inner = error
                .path
                .strip_suffix(suffix.as_slice())
                .unwrap_or(&error.path);
            let key = std::iter::once(name).chain(inner.iter().map(String::as_str));
            let key = key.collect::<Vec<_>>().join(".");
            let source = sources::describe(error.metadata.as_ref(), &key);
            ConfigError::single(ConfigProblem {
                key,
                message: error.kind.to_string(),
                source,
            })
        })
    }

    /// Like [`Config::section`], but an absent section gives `T::default()` (a present one
    /// must still fit `T`).
    pub fn section_or_default<T: DeserializeOwned + Default>(
        &self,
        name: &str,
    ) -> Result<T, ConfigError> {
        match self.figment.find_value(name) {
            Ok(_) => self.section(name),
            Err(_) => Ok(T::default()),
        }
    }

    /// The JSON Schema of Flagstone's configuration (the sections it defines).
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Config)).unwrap_or_default()
    }
}

impl fmt::Debug for Config {
    /// Leaves out the merged sources: they hold every raw value, secrets included.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("Config");
        let f = f
            .field("profile", &self.profile)
            .field("server", &self.server)
            .field("api", &self.api)
            .field("database", &self.database)
            .field("auth", &self.auth)
            .field("mail", &self.mail);
        #[cfg(feature = "files")]
        let f = f.field("files", &self.files);
        f.field("cors", &self.cors)
            .field("rate_limit", &self.rate_limit)
            .field("logging", &self.logging)
            .field("http", &self.http)
            .field("metrics", &self.metrics)
            .field("openapi", &self.openapi)
            .field("trusted_proxies", &self.trusted_proxies)
            .finish_non_exhaustive()
    }
}

/// Loads a [`Config`], with every source overridable — mostly for tests and tools.
#[derive(Debug, Default)]
pub struct ConfigLoader {
    defaults: Option<String>,
    dir: Option<PathBuf>,
    profile: Option<Profile>,
    env: Option<Vec<(String, String)>>,
}

impl ConfigLoader {
    /// Reads from the current directory and the process environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// The app's own defaults, as TOML: the lowest layer, below `flagstone.toml`. An app
    /// that must run from any directory embeds its settings this way:
    /// `ConfigLoader::new().defaults(include_str!("../flagstone.toml"))`.
    pub fn defaults(mut self, toml: impl Into<String>) -> Self {
        self.defaults = Some(toml.into());
        self
    }

    /// Reads `flagstone.toml`, `flagstone.<profile>.toml` and `.env` from `dir`.
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_owned());
        self
    }

    /// Forces the profile, whatever `FLAGSTONE_PROFILE` says.
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = Some(profile);
        self
    }

    /// Uses these variables instead of the process environment.
    pub fn env<K: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.env = Some(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Merges the sources, reads every setting and validates the result.
    pub fn load(self) -> Result<Config, ConfigError> {
        let dir = self.dir.unwrap_or_else(|| PathBuf::from("."));
        let env = EnvVars::environment(self.env.unwrap_or_else(|| std::env::vars().collect()));
        let dotenv_path = dir.join(".env");
        let dotenv = match dotenvy::from_path_iter(&dotenv_path) {
            Ok(lines) => {
                let vars: Result<Vec<_>, _> = lines.collect();
                let vars = vars.map_err(|error| {
                    ConfigError::single(ConfigProblem {
                        key: ".env".to_owned(),
                        message: dotenv_parse_message(&error),
                        source: dotenv_path.display().to_string(),
                    })
                })?;
                Some(EnvVars::dotenv(&dotenv_path, vars))
            }
            Err(error) if error.not_found() => None,
            Err(error) => {
                return Err(ConfigError::single(ConfigProblem {
                    key: ".env".to_owned(),
                    message: format!("cannot read: {error}"),
                    source: dotenv_path.display().to_string(),
                }));
            }
        };

        let named = env
            .get("PROFILE")
            .map(|name| (name, "FLAGSTONE_PROFILE"))
            .or_else(|| {
                let name = dotenv.as_ref()?.get("PROFILE")?;
                Some((name, "FLAGSTONE_PROFILE in .env"))
            });
        let profile = match (self.profile, named) {
            (Some(profile), _) => profile,
            (None, None) => Profile::default(),
            (None, Some((name, source))) => Profile::parse(name).ok_or_else(|| {
                ConfigError::single(ConfigProblem {
                    key: "profile".to_owned(),
                    message: format!(
                        "expected one of \"development\", \"test\", \"production\", got {name:?}"
                    ),
                    source: source.to_owned(),
                })
            })?,
        };

        let mut figment = Figment::new();
        if let Some(defaults) = &self.defaults {
            figment = figment.merge(Toml::string(defaults));
        }
        let mut figment = figment
            .merge(Toml::file(dir.join("flagstone.toml")))
            .merge(Toml::file(dir.join(format!("flagstone.{profile}.toml"))));
        if let Some(dotenv) = dotenv {
            figment = figment.merge(dotenv);
        }
        let figment = figment.merge(env);
        // A syntax error in a file stops everything: nothing else can be trusted.
        if let Err(error) = figment.extract::<figment::value::Value>() {
            let source = sources::describe(error.metadata.as_ref(), "");
            let key = match error.path.is_empty() {
                true => source.clone(),
                false => error.path.join("."),
            };
            return Err(ConfigError::single(ConfigProblem {
                key,
                message: error.kind.to_string(),
                source,
            }));
        }
        sections::read(figment, profile)
    }
}

/// Why `.env` cannot be parsed, naming the variable but never echoing the line: it may
/// hold a secret.
fn dotenv_parse_message(error: &dotenvy::Error) -> String {
    match error {
        dotenvy::Error::LineParse(line, index) => match line.split_once('=') {
            Some((name, _)) => format!("cannot parse the line of {} (at {index})", name.trim()),
            None => format!("cannot parse a line (at {index})"),
        },
        other => format!("cannot parse: {other}"),
    }
}

/// One thing wrong with the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The dotted key, e.g. `server.port`.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// Where the value came from: an environment variable, a file, or `default`.
    pub source: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (from {})", self.key, self.message, self.source)
    }
}

/// Every problem found while loading the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The problems, in the order the settings are read.
    pub problems: Vec<ConfigProblem>,
}

impl ConfigError {
    fn single(problem: ConfigProblem) -> Self {
        Self {
            problems: vec![problem],
        }
    }

    /// The problem about `key`, if any.
    pub fn get(&self, key: &str) -> Option<&ConfigProblem> {
        self.problems.iter().find(|p| p.key == key)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "invalid configuration ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}
