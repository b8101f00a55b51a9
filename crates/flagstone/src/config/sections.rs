//! Flagstone's own configuration sections, their defaults, and how they are read and checked.

use std::{fmt, time::Duration};

use figment::Figment;
use http::{HeaderValue, StatusCode};
use schemars::JsonSchema;

use super::{
    Config, ConfigError, Profile, Secret,
    read::{self, Reader},
};

/// Minimum length in bytes of the token signing secret.
pub const MIN_SECRET_BYTES: usize = 32;

/// `[server]`: where and how the server listens.
#[derive(Clone, Debug, JsonSchema)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Interface to bind: `127.0.0.1` in development and test, `0.0.0.0` in production.
    pub host: String,
    /// TCP port (default 3000).
    pub port: u16,
    /// A request that takes longer gets 408 (default `30s`; `0` turns the timeout off).
    #[schemars(with = "String")]
    pub request_timeout: Duration,
    /// Largest accepted request body, after decompression (default `1MiB`).
    pub body_limit: u64,
    /// How long in-flight requests may run on after SIGTERM (default `30s`).
    #[schemars(with = "String")]
    pub shutdown_grace: Duration,
    /// Requests handled at once; more are shed with 503 (default 1024; `0` = no limit).
    pub max_concurrency: u64,
}

impl ServerConfig {
    pub(super) fn defaults(profile: Profile) -> Self {
        let host = if profile == Profile::Production {
            "0.0.0.0"
        } else {
            "127.0.0.1"
        };
        Self {
            host: host.to_owned(),
            port: 3000,
            request_timeout: Duration::from_secs(30),
            body_limit: 1 << 20,
            shutdown_grace: Duration::from_secs(30),
            max_concurrency: 1024,
        }
    }
}

/// `[api]`: the API's URL prefix and error conventions.
#[derive(Clone, Debug, JsonSchema)]
#[non_exhaustive]
pub struct ApiConfig {
    /// Prefix of every API route (default `/api/v1`; empty for none).
    pub prefix: String,
    /// Status of validation failures: 400 (default) or 422.
    #[schemars(with = "u16")]
    pub validation_status: StatusCode,
    /// Deepest nesting of arrays and objects accepted in a JSON body (default 32).
    pub max_json_depth: u64,
    /// Longest string accepted in a JSON body, in bytes (default `256KiB`).
    pub max_string_length: u64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            prefix: "/api/v1".to_owned(),
            validation_status: StatusCode::BAD_REQUEST,
            max_json_depth: 32,
            max_string_length: 256 * 1024,
        }
    }
}

/// `[database]`: the database connection.
#[derive(Clone, JsonSchema)]
#[non_exhaustive]
pub struct DatabaseConfig {
    /// Connection URL: `mongodb://...` or `mongodb+srv://...` for MongoDB, `file://PATH`
    /// for the embedded store persisted to one file, `memory://` for an in-memory one.
    /// Defaults: `file://data/flagstone.redb` in development, `memory://` in test;
    /// required in production.
    pub url: Option<String>,
    /// MongoDB database name; defaults to the URL's path, else `flagstone`.
    pub name: Option<String>,
    /// Most connections the MongoDB pool opens (default 10).
    pub max_pool_size: u32,
    /// Connections the MongoDB pool keeps open when idle (default 0).
    pub min_pool_size: u32,
    /// How long opening a connection may take (default `10s`).
    #[schemars(with = "String")]
    pub connect_timeout: Duration,
    /// How long an operation waits for a reachable server before failing with 503
    /// (default `5s`).
    #[schemars(with = "String")]
    pub server_selection_timeout: Duration,
    /// How often the embedded store deletes documents expired by TTL indexes (default `60s`).
    #[schemars(with = "String")]
    pub ttl_interval: Duration,
}

impl DatabaseConfig {
    pub(super) fn defaults(profile: Profile) -> Self {
        let url = match profile {
            Profile::Development => Some("file://data/flagstone.redb".to_owned()),
            Profile::Test => Some("memory://".to_owned()),
            Profile::Production => None,
        };
        Self {
            url,
            name: None,
            max_pool_size: 10,
            min_pool_size: 0,
            connect_timeout: Duration::from_secs(10),
            server_selection_timeout: Duration::from_secs(5),
            ttl_interval: Duration::from_secs(60),
        }
    }
}

impl Default for DatabaseConfig {
    /// An in-memory embedded store.
    fn default() -> Self {
        Self::defaults(Profile::Test)
    }
}

impl fmt::Debug for DatabaseConfig {
    /// Hides the credentials of the URL, if it has any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.url.as_deref().map(redact_credentials);
        f.debug_struct("DatabaseConfig")
            .field("url", &url)
            .field("name", &self.name)
            .field("max_pool_size", &self.max_pool_size)
            .field("min_pool_size", &self.min_pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("server_selection_timeout", &self.server_selection_timeout)
            .field("ttl_interval", &self.ttl_interval)
            .finish()
    }
}

/// `scheme://user:password@host` → `scheme://[redacted]@host`.
fn redact_credentials(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}[redacted]{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// `[auth]`: token signing and lifetimes.
#[derive(Clone, Debug, JsonSchema)]
#[non_exhaustive]
pub struct AuthConfig {
    /// HMAC secret for access tokens, at least 32 bytes; required in production.
    pub secret: Option<Secret>,
    /// Earlier secrets still accepted for verification, for key rotation.
    pub previous_secrets: Vec<Secret>,
    /// Lifetime of access tokens (default `15m`).
    #[schemars(with = "String")]
    pub access_token_ttl: Duration,
    /// Lifetime of refresh tokens (default `30d`).
    #[schemars(with = "String")]
    pub refresh_token_ttl: Duration,
    /// The `iss` claim written and required.
    pub issuer: Option<String>,
    /// The `aud` claim written and required.
    pub audience: Option<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            secret: None,
            previous_secrets: Vec::new(),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 86_400),
            issuer: None,
            audience: None,
        }
    }
}

/// `[cors]`: cross-origin resource sharing.
#[derive(Clone, Debug, JsonSchema)]
#[non_exhaustive]
pub struct CorsConfig {
    /// Origins allowed to call the API, such as `https://app.example.com`; `*` allows any.
    /// Empty (the default) allows none: no CORS headers are sent.
    pub allowed_origins: Vec<String>,
    /// Whether browsers may send cookies and credentials cross-origin.
    pub allow_credentials: bool,
    /// How long browsers may cache a preflight answer (default `1h`).
    #[schemars(with = "String")]
    pub max_age: Duration,
}

impl Default for CorsConfig {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            allow_credentials: false,
            max_age: Duration::from_secs(3600),
        }
    }
}

/// `[rate_limit]`: the global budget per client IP (GCRA).
#[derive(Clone, Debug, JsonSchema)]
#[non_exhaustive]
pub struct RateLimitConfig {
    /// Whether the global limit applies (default true).
    pub enabled: bool,
    /// Requests allowed per period (default 600).
    pub requests: u64,
    /// The period (default `1m`).
    #[schemars(with = "String")]
    pub period: Duration,
    /// Largest burst; defaults to `requests`.
    pub burst: Option<u64>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            requests: 600,
            period: Duration::from_secs(60),
            burst: None,
        }
    }
}

/// How log lines look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One line per event, coloured on a terminal (development and test default).
    Text,
    /// Several lines per event with every field, for close reading.
    Pretty,
    /// JSON lines, for machines (production default).
    Json,
}

/// `[logging]`: log level and format.
#[derive(Clone, Debug, JsonSchema)]
#[non_exhaustive]
pub struct LoggingConfig {
    /// A `tracing` filter such as `info` or `info,my_app=debug`. `RUST_LOG` overrides it.
    pub level: String,
    /// `text`, `pretty` or `json`.
    pub format: LogFormat,
}

impl LoggingConfig {
    pub(super) fn defaults(profile: Profile) -> Self {
        let (level, format) = match profile {
            Profile::Development => ("info", LogFormat::Text),
            Profile::Test => ("warn", LogFormat::Text),
            Profile::Production => ("info", LogFormat::Json),
        };
        Self {
            level: level.to_owned(),
            format,
        }
    }
}

/// `[http]`: switches for the default middleware, all on by default.
#[derive(Clone, Debug, JsonSchema)]
#[non_exhaustive]
pub struct HttpConfig {
    /// Accept or generate `x-request-id` and echo it.
    pub request_id: bool,
    /// One tracing span and log line per request.
    pub trace: bool,
    /// gzip and brotli response compression.
    pub compression: bool,
    /// Accept gzip and brotli request bodies.
    pub decompression: bool,
    /// helmet's default security headers.
    pub security_headers: bool,
    /// `Strict-Transport-Security` (default on in production only).
    pub hsts: bool,
    /// The `Content-Security-Policy` sent when a response sets none.
    pub content_security_policy: String,
    /// Turn a panic in a handler into a 500 problem.
    pub catch_panic: bool,
}

/// helmet's default Content-Security-Policy.
pub const DEFAULT_CSP: &str = "default-src 'self';base-uri 'self';font-src 'self' https: data:;\
form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';\
script-src 'self';script-src-attr 'none';style-src 'self' https: 'unsafe-inline';\
upgrade-insecure-requests";

impl HttpConfig {
    pub(super) fn defaults(profile: Profile) -> Self {
        Self {
            request_id: true,
            trace: true,
            compression: true,
            decompression: true,
            security_headers: true,
            hsts: profile == Profile::Production,
            content_security_policy: DEFAULT_CSP.to_owned(),
            catch_panic: true,
        }
    }
}

/// `[metrics]`: the Prometheus endpoint.
#[derive(Clone, Debug, JsonSchema)]
#[non_exhaustive]
pub struct MetricsConfig {
    /// Whether requests are measured and `/metrics` is served (default true).
    pub enabled: bool,
    /// Where the metrics are served, outside the API prefix (default `/metrics`).
    pub path: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            path: "/metrics".to_owned(),
        }
    }
}

/// The default of `openapi.docs_script_url`: the Scalar API reference, from a CDN.
pub const DEFAULT_DOCS_SCRIPT_URL: &str = "https://cdn.jsdelivr.net/npm/@scalar/api-reference";

/// `[openapi]`: the OpenAPI document and the docs page.
#[derive(Clone, Debug, JsonSchema)]
#[non_exhaustive]
pub struct OpenApiConfig {
    /// Whether the document and the docs page are served (default true).
    pub enabled: bool,
    /// `info.title` (default "Flagstone API").
    pub title: String,
    /// `info.version`, the API's own version (default "0.1.0").
    pub version: String,
    /// `info.description`, Markdown (default none).
    pub description: Option<String>,
    /// Where the JSON document is served, outside the API prefix (default `/openapi.json`).
    pub json_path: String,
    /// Where the docs page is served, outside the API prefix (default `/docs`).
    pub docs_path: String,
    /// The script the docs page loads, in the browser, at run time: the Scalar API
    /// reference from a CDN by default; point it at a self-hosted copy to keep the page
    /// off the internet.
    pub docs_script_url: String,
}

impl Default for OpenApiConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            title: "Flagstone API".to_owned(),
            version: "0.1.0".to_owned(),
            description: None,
            json_path: "/openapi.json".to_owned(),
            docs_path: "/docs".to_owned(),
            docs_script_url: DEFAULT_DOCS_SCRIPT_URL.to_owned(),
        }
    }
}

/// The sections read here; keys inside them that nothing reads are reported as typos.
const SECTIONS: &[&str] = &[
    "server",
    "api",
    "database",
    "auth",
    "cors",
    "rate_limit",
    "logging",
    "http",
    "metrics",
    "openapi",
];

/// Reads every setting from `figment`, then checks the settings against each other and
/// against the profile's rules.
pub(super) fn read(figment: Figment, profile: Profile) -> Result<Config, ConfigError> {
    let d = Config::defaults(profile);
    let mut r = Reader::new(&figment);
    let server = ServerConfig {
        host: r.get("server.host", d.server.host, &read::STRING),
        port: r.get("server.port", d.server.port, &read::PORT),
        request_timeout: r.get(
            "server.request_timeout",
            d.server.request_timeout,
            &read::DURATION,
        ),
        body_limit: r.get("server.body_limit", d.server.body_limit, &read::SIZE),
        shutdown_grace: r.get(
            "server.shutdown_grace",
            d.server.shutdown_grace,
            &read::DURATION,
        ),
        max_concurrency: r.get(
            "server.max_concurrency",
            d.server.max_concurrency,
            &read::COUNT,
        ),
    };
    let api = ApiConfig {
        prefix: r.get("api.prefix", d.api.prefix, &read::STRING),
        validation_status: StatusCode::from_u16(r.get(
            "api.validation_status",
            d.api.validation_status.as_u16(),
            &read::VALIDATION_STATUS,
        ))
        .unwrap_or(StatusCode::BAD_REQUEST),
        max_json_depth: r.get("api.max_json_depth", d.api.max_json_depth, &read::COUNT),
        max_string_length: r.get(
            "api.max_string_length",
            d.api.max_string_length,
            &read::SIZE,
        ),
    };
    let database = DatabaseConfig {
        url: r.get("database.url", d.database.url, &read::OPTIONAL_STRING),
        name: r.get("database.name", d.database.name, &read::OPTIONAL_STRING),
        max_pool_size: r.get(
            "database.max_pool_size",
            d.database.max_pool_size,
            &read::POOL_SIZE,
        ),
        min_pool_size: r.get(
            "database.min_pool_size",
            d.database.min_pool_size,
            &read::POOL_SIZE,
        ),
        connect_timeout: r.get(
            "database.connect_timeout",
            d.database.connect_timeout,
            &read::DURATION,
        ),
        server_selection_timeout: r.get(
            "database.server_selection_timeout",
            d.database.server_selection_timeout,
            &read::DURATION,
        ),
        ttl_interval: r.get(
            "database.ttl_interval",
            d.database.ttl_interval,
            &read::DURATION,
        ),
    };
    let auth = AuthConfig {
        secret: r.get("auth.secret", d.auth.secret, &read::SECRET),
        previous_secrets: r.get(
            "auth.previous_secrets",
            d.auth.previous_secrets,
            &read::SECRETS,
        ),
        access_token_ttl: r.get(
            "auth.access_token_ttl",
            d.auth.access_token_ttl,
            &read::DURATION,
        ),
        refresh_token_ttl: r.get(
            "auth.refresh_token_ttl",
            d.auth.refresh_token_ttl,
            &read::DURATION,
        ),
        issuer: r.get("auth.issuer", d.auth.issuer, &read::OPTIONAL_STRING),
        audience: r.get("auth.audience", d.auth.audience, &read::OPTIONAL_STRING),
    };
    let cors = CorsConfig {
        allowed_origins: r.get(
            "cors.allowed_origins",
            d.cors.allowed_origins,
            &read::STRINGS,
        ),
        allow_credentials: r.get(
            "cors.allow_credentials",
            d.cors.allow_credentials,
            &read::BOOL,
        ),
        max_age: r.get("cors.max_age", d.cors.max_age, &read::DURATION),
    };
    let rate_limit = RateLimitConfig {
        enabled: r.get("rate_limit.enabled", d.rate_limit.enabled, &read::BOOL),
        requests: r.get("rate_limit.requests", d.rate_limit.requests, &read::COUNT),
        period: r.get("rate_limit.period", d.rate_limit.period, &read::DURATION),
        burst: Some(r.get(
            "rate_limit.burst",
            d.rate_limit.burst.unwrap_or(0),
            &read::COUNT,
        )),
    }
    .normalized();
    let logging = LoggingConfig {
        level: r.get("logging.level", d.logging.level, &read::STRING),
        format: r.get("logging.format", d.logging.format, &read::LOG_FORMAT),
    };
    let http = HttpConfig {
        request_id: r.get("http.request_id", d.http.request_id, &read::BOOL),
        trace: r.get("http.trace", d.http.trace, &read::BOOL),
        compression: r.get("http.compression", d.http.compression, &read::BOOL),
        decompression: r.get("http.decompression", d.http.decompression, &read::BOOL),
        security_headers: r.get(
            "http.security_headers",
            d.http.security_headers,
            &read::BOOL,
        ),
        hsts: r.get("http.hsts", d.http.hsts, &read::BOOL),
        content_security_policy: r.get(
            "http.content_security_policy",
            d.http.content_security_policy,
            &read::STRING,
        ),
        catch_panic: r.get("http.catch_panic", d.http.catch_panic, &read::BOOL),
    };
    let metrics = MetricsConfig {
        enabled: r.get("metrics.enabled", d.metrics.enabled, &read::BOOL),
        path: r.get("metrics.path", d.metrics.path, &read::STRING),
    };
    let openapi = OpenApiConfig {
        enabled: r.get("openapi.enabled", d.openapi.enabled, &read::BOOL),
        title: r.get("openapi.title", d.openapi.title, &read::STRING),
        version: r.get("openapi.version", d.openapi.version, &read::STRING),
        description: r.get(
            "openapi.description",
            d.openapi.description,
            &read::OPTIONAL_STRING,
        ),
        json_path: r.get("openapi.json_path", d.openapi.json_path, &read::STRING),
        docs_path: r.get("openapi.docs_path", d.openapi.docs_path, &read::STRING),
        docs_script_url: r.get(
            "openapi.docs_script_url",
            d.openapi.docs_script_url,
            &read::STRING,
        ),
    };
    let trusted_proxies = r.get("trusted_proxies", d.trusted_proxies, &read::NETWORKS);
    r.check_unknown(SECTIONS);

    let config = Config {
        profile,
        server,
        api,
        database,
        auth,
        cors,
        rate_limit,
        logging,
        http,
        metrics,
        openapi,
        trusted_proxies,
        figment: figment.clone(),
    };
    check(&config, &mut r);
    match r.problems.is_empty() {
        true => Ok(config),
        false => Err(ConfigError {
            problems: r.problems,
        }),
    }
}

impl RateLimitConfig {
    /// `burst = 0` read from config means "same as requests".
    fn normalized(mut self) -> Self {
        self.burst = self.burst.filter(|b| *b > 0);
        self
    }
}

/// Rules between settings, and the production refusals.
fn check(c: &Config, r: &mut Reader<'_>) {
    let production = c.profile == Profile::Production;
    if c.server.host.trim().is_empty() {
        r.problem("server.host", "must not be empty");
    }
    if c.server.body_limit == 0 {
        r.problem("server.body_limit", "must be greater than 0");
    }
    if !c.api.prefix.is_empty() && (!c.api.prefix.starts_with('/') || c.api.prefix.ends_with('/')) {
        r.problem(
            "api.prefix",
            format!(
                "must start with `/` and not end with one, got {:?}",
                c.api.prefix
            ),
        );
    }
    if !c.metrics.path.starts_with('/') || c.metrics.path.len() < 2 {
        r.problem(
            "metrics.path",
            format!("must start with `/`, got {:?}", c.metrics.path),
        );
    }
    for (key, path) in [
        ("openapi.json_path", &c.openapi.json_path),
        ("openapi.docs_path", &c.openapi.docs_path),
    ] {
        if !path.starts_with('/') || path.len() < 2 {
            r.problem(key, format!("must start with `/`, got {path:?}"));
        }
    }
    if c.openapi.enabled && c.openapi.json_path == c.openapi.docs_path {
        r.problem(
            "openapi.docs_path",
            "must differ from openapi.json_path: both are served",
        );
    }
    if c.openapi.docs_script_url.trim().is_empty()
        || c.openapi.docs_script_url.contains(['"', '<', '>', ' '])
    {
        r.problem(
            "openapi.docs_script_url",
            "must be a URL such as \"/assets/api-reference.js\" or \"https://cdn.example.com/api-reference.js\"",
        );
    }
    if c.rate_limit.enabled && (c.rate_limit.requests == 0 || c.rate_limit.period.is_zero()) {
        r.problem(
            "rate_limit",
            "requests and period must be greater than 0 (or set enabled = false)",
        );
    }
    if tracing_subscriber::EnvFilter::try_new(&c.logging.level).is_err() {
        r.problem(
            "logging.level",
            format!(
                "is not a valid filter such as \"info\" or \"info,my_app=debug\", got {:?}",
                c.logging.level
            ),
        );
    }
    if HeaderValue::from_str(&c.http.content_security_policy).is_err() {
        r.problem(
            "http.content_security_policy",
            "must be a valid header value",
        );
    }
    for origin in &c.cors.allowed_origins {
        if origin != "*" && !is_origin(origin) {
            r.problem(
                "cors.allowed_origins",
                format!("{origin:?} is not an origin such as \"https://app.example.com\" (scheme and host, no path)"),
            );
        }
    }
    let wildcard = c.cors.allowed_origins.iter().any(|o| o == "*");
    if wildcard && c.cors.allow_credentials {
        r.problem(
            "cors.allowed_origins",
            "`*` cannot be combined with allow_credentials = true; list the origins instead",
        );
    } else if wildcard && production {
        r.problem(
            "cors.allowed_origins",
            "`*` is not allowed in production; list the origins instead",
        );
    }
    match &c.auth.secret {
        Some(secret) if secret.len() < super::sections::MIN_SECRET_BYTES && production => r
            .problem(
                "auth.secret",
                format!(
                    "must be at least {MIN_SECRET_BYTES} bytes in production, got {}",
                    secret.len()
                ),
            ),
        None if production => r.problem(
            "auth.secret",
            format!("is required in production (at least {MIN_SECRET_BYTES} random bytes)"),
        ),
        _ => {}
    }
    match c.database.url.as_deref() {
        None if production => r.problem(
            "database.url",
            "is required in production (mongodb://..., or file://PATH for the embedded store)",
        ),
        Some(url)
            if !["memory://", "file://", "mongodb://", "mongodb+srv://"]
                .iter()
                .any(|scheme| url.starts_with(scheme)) =>
        {
            r.problem(
                "database.url",
                "must start with mongodb://, mongodb+srv://, file:// or memory://",
            );
        }
        Some("file://") => r.problem("database.url", "file:// needs a path"),
        _ => {}
    }
    if c.database.min_pool_size > c.database.max_pool_size {
        r.problem(
            "database.min_pool_size",
            "must not exceed database.max_pool_size",
        );
    }
}

/// `scheme://host[:port]` with nothing after it.
fn is_origin(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.contains(['/', '?', '#', '@', ' '])
        && HeaderValue::from_str(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_credentials_are_redacted() {
        assert_eq!(
            redact_credentials("mongodb://u:p@db:27017/x"),
            "mongodb://[redacted]@db:27017/x"
        );
        assert_eq!(
            redact_credentials("mongodb://db:27017/x"),
            "mongodb://db:27017/x"
        );
    }

    #[test]
    fn origins_are_scheme_and_host_only() {
        assert!(is_origin("https://app.example.com"));
        assert!(is_origin("http://localhost:5173"));
        for bad in [
            "app.example.com",
            "https://",
            "https://a.com/path",
            "ftp://a.com",
            "https://a b",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }
}
