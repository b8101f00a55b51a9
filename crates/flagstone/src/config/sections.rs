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
    /// Apply each model's `$jsonSchema` validator to its MongoDB collection at start-up
    /// (default `true`; see [`crate::model::schema`]).
    pub schema_validation: bool,
    /// Accept, in production, filterable or sortable model fields that no index serves
    /// (default `false`: such a field is a start-up error there, a warning elsewhere).
    pub allow_unindexed: bool,
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
            schema_validation: true,
            allow_unindexed: false,
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
            .field("schema_validation", &self.schema_validation)
            .field("allow_unindexed", &self.allow_unindexed)
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

/// `[auth]`: passwords, tokens, cookies and the account flows (see [`crate::auth`]).
#[derive(Clone, Debug, JsonSchema)]
#[non_exhaustive]
pub struct AuthConfig {
    /// HMAC secret for HS256 access tokens (and signed cursors), at least 32 bytes;
    /// required in production. In development and test a random one is made at start-up.
    pub secret: Option<Secret>,
    /// Earlier secrets still accepted for verification, for key rotation.
    pub previous_secrets: Vec<Secret>,
    /// Access token signing algorithm: `HS256` (default, with `secret`), `EdDSA` or `RS256`
    /// (with `private_key_file` and `public_key_file`).
    pub algorithm: JwtAlgorithm,
    /// PEM private key that signs access tokens (EdDSA: PKCS#8 Ed25519; RS256: RSA).
    pub private_key_file: Option<String>,
    /// PEM public key matching `private_key_file`.
    pub public_key_file: Option<String>,
    /// PEM public keys of earlier key pairs, still accepted for verification.
    pub previous_public_key_files: Vec<String>,
    /// Lifetime of access tokens (default `15m`).
    #[schemars(with = "String")]
    pub access_token_ttl: Duration,
    /// Lifetime of refresh tokens (default `30d`).
    #[schemars(with = "String")]
    pub refresh_token_ttl: Duration,
    /// Clock skew allowed when checking `exp` and `nbf` (default `30s`).
    #[schemars(with = "String")]
    pub leeway: Duration,
    /// The `iss` claim written and required (default `flagstone`).
    pub issuer: String,
    /// The `aud` claim written and required (default `flagstone`).
    pub audience: String,
    /// How tokens travel: `bearer` (default; JSON bodies and `Authorization: Bearer`),
    /// `cookie` (HTTP-only cookies, CSRF-checked) or `both`.
    pub transport: TokenTransport,
    /// Schemes accepted in `Authorization: <scheme> <token>`, compared case-insensitively
    /// (default `["Bearer"]`; RealWorld clients send `Token`).
    pub header_schemes: Vec<String>,
    /// Name of the access token cookie (default `access_token`).
    pub access_cookie: String,
    /// Name of the refresh token cookie (default `refresh_token`), scoped to the refresh path.
    pub refresh_cookie: String,
    /// `SameSite` of the cookies: `lax` (default), `strict` or `none`.
    pub cookie_same_site: SameSite,
    /// Mark cookies `Secure` (HTTPS only); default true in production, false elsewhere.
    pub cookie_secure: bool,
    /// `Domain` of the cookies; unset (the default) means host-only cookies.
    pub cookie_domain: Option<String>,
    /// argon2id memory cost (default `19MiB`, OWASP's recommendation).
    pub argon2_memory: u64,
    /// argon2id iterations (default 2).
    pub argon2_iterations: u32,
    /// argon2id lanes (default 1).
    pub argon2_parallelism: u32,
    /// Hashing threads: hashes computed at once (default 0: the number of cores).
    pub hash_concurrency: u64,
    /// Shortest password accepted, in characters (default 8).
    pub password_min_length: u64,
    /// Longest password accepted, in characters (default 128; bounds hashing cost).
    pub password_max_length: u64,
    /// Failed logins per account within `login_window` before it is throttled (default 5).
    pub login_max_failures: u64,
    /// Failed logins per client IP within `login_window` before it is throttled (default 20).
    pub login_max_failures_per_ip: u64,
    /// Requests per minute per client IP to the credential routes (register, login, refresh,
    /// verification and reset requests), on top of the global limit (default 30; 0 = off).
    pub rate_limit: u64,
    /// The window failed logins are counted over, and how long throttling lasts (default `15m`).
    #[schemars(with = "String")]
    pub login_window: Duration,
    /// Lifetime of email verification tokens (default `24h`).
    #[schemars(with = "String")]
    pub verification_token_ttl: Duration,
    /// Lifetime of password reset tokens (default `30m`).
    #[schemars(with = "String")]
    pub reset_token_ttl: Duration,
    /// Roles given to newly registered users (default `["user"]`).
    pub default_roles: Vec<String>,
    /// Refuse to log in users whose email is not verified (default false).
    pub require_verified_email: bool,
    /// Base URL of the front end that mails link to, such as `https://app.example.com`:
    /// `{app_url}/verify-email?token=...` and `{app_url}/reset-password?token=...`.
    /// Default: `http://localhost:{server.port}`.
    pub app_url: Option<String>,
}

/// JWT signing algorithms Flagstone issues and accepts (one per app: verification is pinned).
#[derive(Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with `auth.secret`.
    HS256,
    /// Ed25519 signatures from a key pair.
    EdDSA,
    /// RSASSA-PKCS1-v1_5 with SHA-256 from a key pair.
    RS256,
}

/// How tokens travel between client and server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenTransport {
    /// Tokens in JSON bodies; the access token in `Authorization: Bearer`.
    Bearer,
    /// Tokens in HTTP-only cookies only; state-changing requests are CSRF-checked.
    Cookie,
    /// Both: tokens in bodies and cookies; either is accepted.
    Both,
}

impl TokenTransport {
    /// Whether tokens are sent and accepted as cookies.
    pub fn cookies(self) -> bool {
        matches!(self, Self::Cookie | Self::Both)
    }

    /// Whether tokens are returned in bodies and accepted as `Authorization: Bearer`.
    pub fn bearer(self) -> bool {
        matches!(self, Self::Bearer | Self::Both)
    }
}

/// The `SameSite` attribute of auth cookies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SameSite {
    /// Sent on top-level navigations from other sites, not on their subrequests.
    Lax,
    /// Never sent from other sites.
    Strict,
    /// Always sent (requires `Secure`).
    None,
}

impl SameSite {
    /// The attribute's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lax => "Lax",
            Self::Strict => "Strict",
            Self::None => "None",
        }
    }
}

impl AuthConfig {
    pub(super) fn defaults(profile: Profile) -> Self {
        Self {
            secret: None,
            previous_secrets: Vec::new(),
            algorithm: JwtAlgorithm::HS256,
            private_key_file: None,
            public_key_file: None,
            previous_public_key_files: Vec::new(),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 86_400),
            leeway: Duration::from_secs(30),
            issuer: "flagstone".to_owned(),
            audience: "flagstone".to_owned(),
            transport: TokenTransport::Bearer,
            header_schemes: vec!["Bearer".to_owned()],
            access_cookie: "access_token".to_owned(),
            refresh_cookie: "refresh_token".to_owned(),
            cookie_same_site: SameSite::Lax,
            cookie_secure: profile == Profile::Production,
            cookie_domain: None,
            argon2_memory: 19 * 1024 * 1024,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            hash_concurrency: 0,
            password_min_length: 8,
            password_max_length: 128,
            login_max_failures: 5,
            login_max_failures_per_ip: 20,
            rate_limit: 30,
            login_window: Duration::from_secs(15 * 60),
            verification_token_ttl: Duration::from_secs(86_400),
            reset_token_ttl: Duration::from_secs(30 * 60),
            default_roles: vec!["user".to_owned()],
            require_verified_email: false,
            app_url: None,
        }
    }
}

/// `[mail]`: how mails leave the app (see [`crate::mail`]).
#[derive(Clone, Debug, JsonSchema)]
#[non_exhaustive]
pub struct MailConfig {
    /// `log` (development default: the mail is logged), `memory` (test default: kept for
    /// tests to read), `file` (`.eml` files in `dir`) or `smtp` (`smtp_url`).
    pub transport: MailTransportKind,
    /// The `From` address, such as `Example <no-reply@example.com>`.
    pub from: String,
    /// `smtp://user:password@host:587` (STARTTLS required), `smtps://...:465` (implicit TLS)
    /// or `smtp://host:25?tls=none` for a relay on a trusted network.
    pub smtp_url: Option<Secret>,
    /// Where the `file` transport writes (default `data/mail`).
    pub dir: String,
    /// Time allowed for one delivery attempt (default `10s`).
    #[schemars(with = "String")]
    pub timeout: Duration,
    /// Further attempts after a failed delivery, with backoff (default 3).
    pub retries: u32,
}

/// Where mails go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MailTransportKind {
    /// Logged at info level, body included: development only.
    Log,
    /// Kept in memory for tests to read.
    Memory,
    /// Written as `.eml` files.
    File,
    /// Sent through an SMTP server.
    Smtp,
}

impl MailConfig {
    pub(super) fn defaults(profile: Profile) -> Self {
        Self {
            transport: match profile {
                Profile::Test => MailTransportKind::Memory,
                _ => MailTransportKind::Log,
            },
            from: "Flagstone <no-reply@localhost>".to_owned(),
            smtp_url: None,
            dir: "data/mail".to_owned(),
            timeout: Duration::from_secs(10),
            retries: 3,
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
    /// Security headers: helmet's defaults on documents, OWASP's REST set on JSON.
    pub security_headers: bool,
    /// `Strict-Transport-Security` (default on in production only).
    pub hsts: bool,
    /// The `Content-Security-Policy` of documents (responses that are not JSON) that set
    /// none; JSON responses get [`API_CSP`](crate::http::API_CSP).
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
    "mail",
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
        schema_validation: r.get(
            "database.schema_validation",
            d.database.schema_validation,
            &read::BOOL,
        ),
        allow_unindexed: r.get(
            "database.allow_unindexed",
            d.database.allow_unindexed,
            &read::BOOL,
        ),
    };
    let auth = AuthConfig {
        secret: r.get("auth.secret", d.auth.secret, &read::SECRET),
        previous_secrets: r.get(
            "auth.previous_secrets",
            d.auth.previous_secrets,
            &read::SECRETS,
        ),
        algorithm: r.get("auth.algorithm", d.auth.algorithm, &read::JWT_ALGORITHM),
        private_key_file: r.get(
            "auth.private_key_file",
            d.auth.private_key_file,
            &read::OPTIONAL_STRING,
        ),
        public_key_file: r.get(
            "auth.public_key_file",
            d.auth.public_key_file,
            &read::OPTIONAL_STRING,
        ),
        previous_public_key_files: r.get(
            "auth.previous_public_key_files",
            d.auth.previous_public_key_files,
            &read::STRINGS,
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
        leeway: r.get("auth.leeway", d.auth.leeway, &read::DURATION),
        issuer: r.get("auth.issuer", d.auth.issuer, &read::STRING),
        audience: r.get("auth.audience", d.auth.audience, &read::STRING),
        transport: r.get("auth.transport", d.auth.transport, &read::TOKEN_TRANSPORT),
        header_schemes: r.get("auth.header_schemes", d.auth.header_schemes, &read::STRINGS),
        access_cookie: r.get("auth.access_cookie", d.auth.access_cookie, &read::STRING),
        refresh_cookie: r.get("auth.refresh_cookie", d.auth.refresh_cookie, &read::STRING),
        cookie_same_site: r.get(
            "auth.cookie_same_site",
            d.auth.cookie_same_site,
            &read::SAME_SITE,
        ),
        cookie_secure: r.get("auth.cookie_secure", d.auth.cookie_secure, &read::BOOL),
        cookie_domain: r.get(
            "auth.cookie_domain",
            d.auth.cookie_domain,
            &read::OPTIONAL_STRING,
        ),
        argon2_memory: r.get("auth.argon2_memory", d.auth.argon2_memory, &read::SIZE),
        argon2_iterations: r.get(
            "auth.argon2_iterations",
            d.auth.argon2_iterations,
            &read::SMALL_COUNT,
        ),
        argon2_parallelism: r.get(
            "auth.argon2_parallelism",
            d.auth.argon2_parallelism,
            &read::SMALL_COUNT,
        ),
        hash_concurrency: r.get(
            "auth.hash_concurrency",
            d.auth.hash_concurrency,
            &read::COUNT,
        ),
        password_min_length: r.get(
            "auth.password_min_length",
            d.auth.password_min_length,
            &read::COUNT,
        ),
        password_max_length: r.get(
            "auth.password_max_length",
            d.auth.password_max_length,
            &read::COUNT,
        ),
        login_max_failures: r.get(
            "auth.login_max_failures",
            d.auth.login_max_failures,
            &read::COUNT,
        ),
        login_max_failures_per_ip: r.get(
            "auth.login_max_failures_per_ip",
            d.auth.login_max_failures_per_ip,
            &read::COUNT,
        ),
        rate_limit: r.get("auth.rate_limit", d.auth.rate_limit, &read::COUNT),
        login_window: r.get("auth.login_window", d.auth.login_window, &read::DURATION),
        verification_token_ttl: r.get(
            "auth.verification_token_ttl",
            d.auth.verification_token_ttl,
            &read::DURATION,
        ),
        reset_token_ttl: r.get(
            "auth.reset_token_ttl",
            d.auth.reset_token_ttl,
            &read::DURATION,
        ),
        default_roles: r.get("auth.default_roles", d.auth.default_roles, &read::STRINGS),
        require_verified_email: r.get(
            "auth.require_verified_email",
            d.auth.require_verified_email,
            &read::BOOL,
        ),
        app_url: r.get("auth.app_url", d.auth.app_url, &read::OPTIONAL_STRING),
    };
    let mail = MailConfig {
        transport: r.get("mail.transport", d.mail.transport, &read::MAIL_TRANSPORT),
        from: r.get("mail.from", d.mail.from, &read::STRING),
        smtp_url: r.get("mail.smtp_url", d.mail.smtp_url, &read::SECRET),
        dir: r.get("mail.dir", d.mail.dir, &read::STRING),
        timeout: r.get("mail.timeout", d.mail.timeout, &read::DURATION),
        retries: r.get("mail.retries", d.mail.retries, &read::SMALL_COUNT),
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
    #[cfg(feature = "files")]
    let files = crate::files::read(&mut r, d.files);
    r.check_unknown(SECTIONS);
    #[cfg(feature = "files")]
    r.check_unknown(&["files"]);

    let config = Config {
        profile,
        server,
        api,
        database,
        auth,
        mail,
        #[cfg(feature = "files")]
        files,
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
    check_auth(c, r);
    #[cfg(feature = "files")]
    crate::files::check(&c.files, r);
    if c.mail.transport == MailTransportKind::Smtp && c.mail.smtp_url.is_none() {
        r.problem(
            "mail.smtp_url",
            "is required when mail.transport = \"smtp\"",
        );
    }
    if let Some(url) = &c.mail.smtp_url
        && !["smtp://", "smtps://"]
            .iter()
            .any(|scheme| url.expose().starts_with(scheme))
    {
        r.problem("mail.smtp_url", "must start with smtp:// or smtps://");
    }
    if c.mail.timeout.is_zero() {
        r.problem("mail.timeout", "must be greater than 0");
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

/// The `[auth]` rules between settings.
fn check_auth(c: &Config, r: &mut Reader<'_>) {
    let a = &c.auth;
    if a.algorithm != JwtAlgorithm::HS256 {
        for (key, value) in [
            ("auth.private_key_file", &a.private_key_file),
            ("auth.public_key_file", &a.public_key_file),
        ] {
            if value.is_none() {
                r.problem(
                    key,
                    format!("is required with auth.algorithm = {:?}", a.algorithm),
                );
            }
        }
    }
    if a.access_token_ttl.is_zero() || a.refresh_token_ttl.is_zero() {
        r.problem(
            "auth.access_token_ttl",
            "token lifetimes must be greater than 0",
        );
    }
    if a.access_token_ttl >= a.refresh_token_ttl {
        r.problem(
            "auth.access_token_ttl",
            "must be shorter than auth.refresh_token_ttl",
        );
    }
    if a.issuer.is_empty() || a.audience.is_empty() {
        r.problem(
            "auth.issuer",
            "auth.issuer and auth.audience must not be empty",
        );
    }
    for (key, name) in [
        ("auth.access_cookie", &a.access_cookie),
        ("auth.refresh_cookie", &a.refresh_cookie),
    ] {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        if !valid {
            r.problem(
                key,
                "must be a cookie name of letters, digits, `_`, `-` and `.`",
            );
        }
    }
    if a.header_schemes.is_empty()
        || !a.header_schemes.iter().all(|scheme| {
            !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~+!#$%&'*^`|".contains(&b))
        })
    {
        r.problem(
            "auth.header_schemes",
            "must list at least one scheme, each a token such as \"Bearer\" or \"Token\"",
        );
    }
    if a.access_cookie == a.refresh_cookie {
        r.problem("auth.refresh_cookie", "must differ from auth.access_cookie");
    }
    if a.cookie_same_site == SameSite::None && !a.cookie_secure {
        r.problem(
            "auth.cookie_same_site",
            "\"none\" needs auth.cookie_secure = true (browsers drop such cookies otherwise)",
        );
    }
    if c.profile == Profile::Production && a.transport.cookies() && !a.cookie_secure {
        r.problem("auth.cookie_secure", "must be true in production");
    }
    // argon2's own limits: at least 8 KiB per lane, 1..=2^24-1 lanes, at least one pass.
    if a.argon2_memory < 8 * 1024 * u64::from(a.argon2_parallelism.max(1))
        || a.argon2_memory > 4 * 1024 * 1024 * 1024
    {
        r.problem(
            "auth.argon2_memory",
            "must be between 8KiB per lane and 4GiB (OWASP: \"19MiB\")",
        );
    }
    if a.argon2_iterations == 0 || a.argon2_parallelism == 0 || a.argon2_parallelism > 255 {
        r.problem(
            "auth.argon2_iterations",
            "argon2_iterations must be at least 1 and argon2_parallelism 1-255",
        );
    }
    if a.password_min_length == 0 || a.password_min_length > a.password_max_length {
        r.problem(
            "auth.password_min_length",
            "must be at least 1 and not more than auth.password_max_length",
        );
    }
    if a.password_max_length > 4096 {
        r.problem(
            "auth.password_max_length",
            "must be at most 4096 (it bounds the cost of hashing)",
        );
    }
    if a.verification_token_ttl.is_zero() || a.reset_token_ttl.is_zero() {
        r.problem(
            "auth.reset_token_ttl",
            "auth.verification_token_ttl and auth.reset_token_ttl must be greater than 0",
        );
    }
    if let Some(domain) = &a.cookie_domain
        && (domain.is_empty()
            || !domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'))
    {
        r.problem(
            "auth.cookie_domain",
            "must be a host name such as \"example.com\" (letters, digits, `.` and `-`)",
        );
    }
    if c.profile == Profile::Production
        && a.previous_secrets
            .iter()
            .any(|s| s.len() < MIN_SECRET_BYTES)
    {
        r.problem(
            "auth.previous_secrets",
            format!("each must be at least {MIN_SECRET_BYTES} bytes in production"),
        );
    }
    if a.login_window.is_zero() {
        r.problem("auth.login_window", "must be greater than 0");
    }
    if let Some(url) = &a.app_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        r.problem("auth.app_url", "must be an http:// or https:// URL");
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
