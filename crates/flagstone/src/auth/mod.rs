//! Authentication and authorization: argon2id passwords, JWT access tokens, rotating
//! refresh tokens, cookies with CSRF checks, extractors, role and ownership guards, and the
//! account flows.
//!
//! # Shape
//!
//! ```text
//! password   Passwords      argon2id PHC hashing on a fixed pool of hashing threads, policy, rehash
//! jwt        JwtKeys        sign (HS256 | EdDSA | RS256, with kid) and verify (pinned alg,
//!                           signature, exp, nbf, iss, aud) access tokens; Claims
//! sessions   Sessions       refresh tokens: 256-bit random, stored as SHA-256, rotated on
//!                           use, reuse revokes the family, TTL-indexed (`auth_sessions`)
//! throttle   LoginThrottle  failed-login counters per account and per client IP (429)
//! extract    AuthUser, MaybeAuthUser, RequireRole, Access (owner / owner_or), csrf check
//! account    the /auth routes over a UserModel (the default `User`, or the app's own type)
//! ```
//!
//! [`Auth`] holds the first four and is shared with every handler as `Extension<Auth>`;
//! [`App::auth`](crate::App::auth) builds it from `[auth]`, mounts the account routes and
//! adds it. Hand-written routes use the extractors; apps with account endpoints of their own
//! shape use [`Auth`]'s parts directly (`Auth::new`, then `App::state(auth)`).
//!
//! # Requests
//!
//! The access token is read from `Authorization: Bearer` (transport `bearer` or `both`)
//! or from the access cookie (`cookie` or `both`). A token from a cookie on a
//! state-changing request (anything but GET, HEAD, OPTIONS) must come with an `Origin` (or,
//! failing that, `Referer`) that is the API's own origin or one of `cors.allowed_origins`;
//! otherwise 403 `csrf`. A missing or bad token is 401 with `WWW-Authenticate: Bearer`;
//! a valid token without the needed role or ownership is 403.

#[cfg(feature = "openapi")]
pub mod account;
pub mod jwt;
pub mod password;
pub mod sessions;
pub mod throttle;

mod extract;

use std::{net::IpAddr, sync::Arc, time::Duration};

use http::{HeaderMap, HeaderValue, Method};

#[cfg(feature = "openapi")]
pub use self::account::{Account, Registration, User, UserModel};
pub use self::{
    extract::{
        Access, Admin, AuthUser, MaybeAuthUser, RequireRole, RequireRoleLayer, RequireRoleService,
        Role,
    },
    jwt::{Claims, JwtKeys, TokenError},
    password::{Passwords, Verification},
    sessions::{OneTimeTokens, Purpose, RefreshError, Session, Sessions},
    throttle::LoginThrottle,
};
use crate::{Config, Error, Result, config::AuthConfig, store::Store};
pub(crate) use extract::challenge;

/// Everything authentication needs at request time, built once from `[auth]`; cheap to
/// clone. Handlers take it as `Extension<Auth>`.
#[derive(Clone)]
pub struct Auth(Arc<Inner>);

struct Inner {
    config: AuthConfig,
    keys: JwtKeys,
    passwords: Passwords,
    sessions: Sessions,
    one_time: OneTimeTokens,
    throttle: LoginThrottle,
    allowed_origins: Vec<String>,
    refresh_path: String,
    app_url: String,
}

/// A new access token and refresh token, as login and refresh hand them out.
#[derive(Clone, serde::Serialize)]
#[non_exhaustive]
pub struct Tokens {
    /// The JWT access token.
    pub access_token: String,
    /// The opaque refresh token.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The session (the `sid` claim).
    #[serde(skip)]
    pub session_id: String,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("session_id", &self.session_id)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// Builds the keys, the hasher, the session stores and the throttle from `config`.
    pub fn new(config: &Config, store: &Store) -> Result<Self> {
        let auth = &config.auth;
        let app_url = auth
            .app_url
            .clone()
            .unwrap_or_else(|| format!("http://localhost:{}", config.server.port));
        Ok(Self(Arc::new(Inner {
            keys: JwtKeys::from_config(auth, config.profile)?,
            passwords: Passwords::from_config(auth)?,
            sessions: Sessions::new(store, auth.refresh_token_ttl),
            one_time: OneTimeTokens::new(store),
            throttle: LoginThrottle::new(
                auth.login_max_failures,
                auth.login_max_failures_per_ip,
                auth.login_window,
            ),
            allowed_origins: config.cors.allowed_origins.clone(),
            refresh_path: format!("{}/auth/refresh", config.api.prefix),
            app_url: app_url.trim_end_matches('/').to_owned(),
            config: auth.clone(),
        })))
    }

    /// Creates the session and token collections' indexes (idempotent).
    pub async fn sync_indexes(&self) -> Result<()> {
        self.0.sessions.sync_indexes().await?;
        self.0.one_time.sync_indexes().await
    }

    /// The `[auth]` settings.
    pub fn config(&self) -> &AuthConfig {
        &self.0.config
    }

    /// The access-token keys.
    pub fn keys(&self) -> &JwtKeys {
        &self.0.keys
    }

    /// The password hasher.
    pub fn passwords(&self) -> &Passwords {
        &self.0.passwords
    }

    /// The refresh-token sessions.
    pub fn sessions(&self) -> &Sessions {
        &self.0.sessions
    }

    /// The email-verification and password-reset tokens.
    pub fn one_time_tokens(&self) -> &OneTimeTokens {
        &self.0.one_time
    }

    /// The failed-login throttle.
    pub fn throttle(&self) -> &LoginThrottle {
        &self.0.throttle
    }

    /// The front end's base URL, which mailed links point to.
    pub fn app_url(&self) -> &str {
        &self.0.app_url
    }

    /// Starts a session for `user_id` and issues its first tokens.
    pub async fn start_session(&self, user_id: &str, roles: &[String]) -> Result<Tokens> {
        let session = self.0.sessions.start(user_id).await?;
        self.tokens(session, roles)
    }

    /// Rotates `refresh_token` (401 when it is invalid, expired or reused) and returns the
    /// session it continues; issue the access token with [`Auth::tokens`] once the user's
    /// current roles are known.
    pub async fn rotate(&self, refresh_token: &str) -> Result<Session> {
        self.0
            .sessions
            .rotate(refresh_token)
            .await?
            .map_err(RefreshError::into_error)
    }

    /// An access token for `session` with `roles`, paired with the session's refresh token.
    pub fn tokens(&self, session: Session, roles: &[String]) -> Result<Tokens> {
        let (access_token, _) = self
            .0
            .keys
            .issue(&session.user_id, roles, Some(&session.id))?;
        Ok(Tokens {
            access_token,
            refresh_token: session.refresh_token,
            token_type: "Bearer",
            expires_in: self.0.config.access_token_ttl.as_secs(),
            session_id: session.id,
        })
    }

    /// The caller of a request: `Ok(None)` without credentials, 401 for a bad token, 403
    /// when a cookie-authenticated, state-changing request fails the CSRF check.
    pub fn authenticate(&self, method: &Method, headers: &HeaderMap) -> Result<Option<AuthUser>> {
        let Some((token, from_cookie)) = extract::find_token(self, headers)? else {
            return Ok(None);
        };
        let claims = self.0.keys.verify(token).map_err(|e| {
            tracing::debug!(reason = %e, "access token refused");
            Error::unauthorized(e.to_string()).with_code(e.code())
        })?;
        if from_cookie && extract::is_unsafe(method) {
            self.csrf_check(headers)?;
        }
        AuthUser::from_claims(claims, token).map(Some)
    }

    /// The CSRF check for a cookie-authenticated, state-changing request (see the module
    /// docs); 403 `csrf` when it fails.
    pub fn csrf_check(&self, headers: &HeaderMap) -> Result<()> {
        extract::csrf_check(
            headers,
            &self.0.allowed_origins,
            self.0.config.cookie_secure,
        )
    }

    /// The refresh token a request carries in its refresh cookie, when cookies are on.
    pub fn refresh_cookie<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        match self.0.config.transport.cookies() {
            true => extract::cookie(headers, &self.0.config.refresh_cookie),
            false => None,
        }
    }

    /// `Set-Cookie` values carrying `tokens`: the access cookie on `/`, the refresh cookie
    /// on the refresh path only. Empty when the transport is `bearer`.
    pub fn set_cookies(&self, tokens: &Tokens) -> Vec<HeaderValue> {
        if !self.0.config.transport.cookies() {
            return Vec::new();
        }
        let c = &self.0.config;
        [
            self.cookie(
                &c.access_cookie,
                &tokens.access_token,
                "/",
                c.access_token_ttl,
            ),
            self.cookie(
                &c.refresh_cookie,
                &tokens.refresh_token,
                &self.0.refresh_path,
                c.refresh_token_ttl,
            ),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// `Set-Cookie` values that delete both cookies (logout).
    pub fn clear_cookies(&self) -> Vec<HeaderValue> {
        if !self.0.config.transport.cookies() {
            return Vec::new();
        }
        let c = &self.0.config;
        [
            self.cookie(&c.access_cookie, "", "/", Duration::ZERO),
            self.cookie(&c.refresh_cookie, "", &self.0.refresh_path, Duration::ZERO),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn cookie(
        &self,
        name: &str,
        value: &str,
        path: &str,
        max_age: Duration,
    ) -> Option<HeaderValue> {
        let c = &self.0.config;
        let mut cookie = format!(
            "{name}={value}; Path={path}; Max-Age={}; HttpOnly; SameSite={}",
            max_age.as_secs(),
            c.cookie_same_site.as_str()
        );
        if c.cookie_secure {
            cookie.push_str("; Secure");
        }
        if let Some(domain) = &c.cookie_domain {
            cookie.push_str("; Domain=");
            cookie.push_str(domain);
        }
        HeaderValue::from_str(&cookie).ok()
    }

    /// 429 when `account` or `ip` has used up its failed logins (see [`LoginThrottle`]).
    pub fn check_throttle(&self, account: &str, ip: Option<IpAddr>) -> Result<()> {
        self.0.throttle.check(account, ip).map_err(|seconds| {
            Error::too_many_requests(seconds)
                .with_detail("too many failed attempts; try again later")
                .with_code("login_throttled")
        })
    }
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("keys", &self.0.keys)
            .field("transport", &self.0.config.transport)
            .finish_non_exhaustive()
    }
}
