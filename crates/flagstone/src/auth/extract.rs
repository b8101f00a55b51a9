//! Extractors and guards: [`AuthUser`], [`MaybeAuthUser`], [`RequireRole`],
//! [`RequireRoleLayer`] and the [`Access`] rules generated routes check.

use std::{
    convert::Infallible,
    marker::PhantomData,
    sync::Arc,
    task::{Context, Poll},
};

use axum::{
    extract::{FromRequestParts, Request},
    response::{IntoResponse, Response},
};
use futures_util::future::BoxFuture;
use http::{HeaderMap, HeaderValue, Method, header, request::Parts};
use tower::{Layer, Service};

use super::{Auth, jwt::Claims};
use crate::{Error, Id, Result};

/// The authenticated caller, from a verified access token. Rejects with 401 when there is
/// no token or it is invalid.
///
/// ```
/// use flagstone::{auth::AuthUser, prelude::*};
///
/// async fn me(user: AuthUser) -> String {
///     format!("you are {} with roles {:?}", user.id::<()>(), user.roles())
/// }
/// # let _ = Router::<()>::new().route("/me", get(me));
/// ```
#[derive(Clone, Debug)]
pub struct AuthUser {
    id: bson::oid::ObjectId,
    presented: Arc<Presented>,
}

/// What a request presented: the verified token and its claims.
#[derive(Debug)]
struct Presented {
    claims: Claims,
    token: Box<str>,
}

impl AuthUser {
    /// The user's id, typed as the app's user model.
    pub fn id<T>(&self) -> Id<T> {
        Id::from_object_id(self.id)
    }

    /// The user's id as 24 hex characters (the `sub` claim).
    pub fn sub(&self) -> &str {
        &self.presented.claims.sub
    }

    /// The user's roles when the token was issued.
    pub fn roles(&self) -> &[String] {
        &self.presented.claims.roles
    }

    /// Whether the user has `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.presented.claims.roles.iter().any(|r| r == role)
    }

    /// The login session the token belongs to (the `sid` claim), if any.
    pub fn session_id(&self) -> Option<&str> {
        self.presented.claims.sid.as_deref()
    }

    /// All the token's claims.
    pub fn claims(&self) -> &Claims {
        &self.presented.claims
    }

    /// The access token the request presented (from the `Authorization` header or the
    /// access cookie), for APIs that hand it back.
    pub fn token(&self) -> &str {
        &self.presented.token
    }

    pub(crate) fn from_claims(claims: Claims, token: &str) -> Result<Self> {
        let id = crate::store::parse_object_id(&claims.sub)
            .ok_or_else(|| invalid_token("the token's subject is not a user id", "token_claims"))?;
        Ok(Self {
            id,
            presented: Arc::new(Presented {
                claims,
                token: token.into(),
            }),
        })
    }
}

/// 401 for a presented token that does not verify, with the RFC 6750 challenge.
pub(crate) fn invalid_token(detail: &'static str, code: &'static str) -> Error {
    Error::unauthorized(detail).with_code(code)
}

/// What [`Auth::authenticate`] found: the caller, or no credentials at all.
type Outcome = Result<Option<AuthUser>, Error>;

/// Reads and verifies the access token of a request, once: the result is kept in the
/// request's extensions for the next extractor.
fn authenticate(parts: &mut Parts) -> Outcome {
    if let Some(user) = parts.extensions.get::<AuthUser>() {
        return Ok(Some(user.clone()));
    }
    let Some(auth) = parts.extensions.get::<Auth>() else {
        return Err(Error::internal(std::io::Error::other(
            "AuthUser needs App::auth (or App::state(Auth)) to be configured",
        )));
    };
    let user = auth.authenticate(&parts.method, &parts.headers)?;
    if let Some(user) = &user {
        parts.extensions.insert(user.clone());
    }
    Ok(user)
}

/// The token a request carries, and whether it came in a cookie.
pub(crate) fn find_token<'h>(
    auth: &Auth,
    headers: &'h HeaderMap,
) -> Result<Option<(&'h str, bool)>> {
    let transport = auth.config().transport;
    if transport.bearer()
        && let Some(value) = headers.get(header::AUTHORIZATION)
    {
        let value = value.to_str().unwrap_or_default();
        let schemes = &auth.config().header_schemes;
        let token = value
            .split_once(' ')
            .filter(|(scheme, _)| schemes.iter().any(|s| scheme.eq_ignore_ascii_case(s)))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty());
        return match token {
            Some(token) => Ok(Some((token, false))),
            None => Err(invalid_token(
                "the Authorization header must be `Bearer <token>` (or a scheme in auth.header_schemes)",
                "token_malformed",
            )),
        };
    }
    if transport.cookies()
        && let Some(token) = cookie(headers, &auth.config().access_cookie)
    {
        return Ok(Some((token, true)));
    }
    Ok(None)
}

/// The value of cookie `name`, if the request has it.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}

/// Whether `method` can change state, and so needs a CSRF check when cookies authenticate.
pub(crate) fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The CSRF check for cookie-authenticated, state-changing requests: the request must
/// come from the API's own origin (`Sec-Fetch-Site: same-origin`, or an `Origin` /
/// `Referer` whose host is the `Host`) or from one of the allowed origins.
pub(crate) fn csrf_check(headers: &HeaderMap, allowed: &[String], https: bool) -> Result<()> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site") == Some("same-origin") {
        return Ok(());
    }
    let origin = header(header::ORIGIN.as_str())
        .filter(|o| *o != "null")
        .map(str::to_owned)
        .or_else(|| header(header::REFERER.as_str()).and_then(origin_of));
    let Some(origin) = origin else {
        return Err(csrf_error(
            "a cookie-authenticated request that changes state needs an Origin or Referer header",
        ));
    };
    // With Secure cookies the API is served over HTTPS: a same-host origin must be too.
    let host = origin
        .split_once("://")
        .filter(|(scheme, _)| !https || scheme.eq_ignore_ascii_case("https"))
        .map(|(_, rest)| rest);
    let same_host = host.is_some() && host == header(header::HOST.as_str());
    if same_host || allowed.iter().any(|a| a.eq_ignore_ascii_case(&origin)) {
        Ok(())
    } else {
        Err(csrf_error("the request's origin is not allowed"))
    }
}

fn csrf_error(detail: &'static str) -> Error {
    Error::forbidden(detail).with_code("csrf")
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        authenticate(parts)?.ok_or_else(|| {
            Error::unauthorized("authentication required").with_code("unauthenticated")
        })
    }
}

/// `Option<AuthUser>`: like [`MaybeAuthUser`].
impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for AuthUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Error> {
        authenticate(parts)
    }
}

/// The caller if the request carries an access token, `None` if it carries none. A token
/// that is present but invalid is still a 401: a tampered or expired token never passes
/// as anonymous.
#[derive(Clone, Debug)]
pub struct MaybeAuthUser(pub Option<AuthUser>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeAuthUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        authenticate(parts).map(MaybeAuthUser)
    }
}

/// A role name for [`RequireRole`]; declare one with [`role!`](crate::role).
pub trait Role: Send + Sync + 'static {
    /// The role as it appears in the token's `roles` claim.
    const NAME: &'static str;
}

/// Declares a [`Role`] type for [`RequireRole`]: `role!(pub Editor = "editor");`.
#[macro_export]
macro_rules! role {
    ($(#[$meta:meta])* $vis:vis $name:ident = $role:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug)]
        $vis struct $name;
        impl $crate::auth::Role for $name {
            const NAME: &'static str = $role;
        }
    };
}

role!(
    /// The `admin` role.
    pub Admin = "admin"
);

/// The caller, who must have role `R`: 401 without a valid token, 403 without the role.
///
/// ```
/// use flagstone::{auth::{Admin, RequireRole}, prelude::*};
///
/// async fn purge(RequireRole(admin, ..): RequireRole<Admin>) -> String {
///     format!("purged by {}", admin.sub())
/// }
/// # let _ = Router::<()>::new().route("/purge", post(purge));
/// ```
#[derive(Clone, Debug)]
pub struct RequireRole<R: Role>(pub AuthUser, pub PhantomData<R>);

impl<R: Role, S: Send + Sync> FromRequestParts<S> for RequireRole<R> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        match user.has_role(R::NAME) {
            true => Ok(Self(user, PhantomData)),
            false => Err(missing_role(&[R::NAME])),
        }
    }
}

fn missing_role(roles: &[&str]) -> Error {
    Error::forbidden(format!("requires the role {}", roles.join(" or "))).with_code("missing_role")
}

/// A layer that admits only callers with one of its roles, for a whole route group:
/// `Router::new().route(...).layer(RequireRoleLayer::any(["admin"]))`.
#[derive(Clone, Debug)]
pub struct RequireRoleLayer {
    roles: Arc<[Box<str>]>,
}

impl RequireRoleLayer {
    /// Admits callers with at least one of `roles`.
    pub fn any<I: IntoIterator<Item = impl Into<Box<str>>>>(roles: I) -> Self {
        Self {
            roles: roles.into_iter().map(Into::into).collect(),
        }
    }

    /// Admits any authenticated caller.
    pub fn authenticated() -> Self {
        Self {
            roles: Arc::new([]),
        }
    }

    fn admit(&self, parts: &mut Parts) -> Result<()> {
        let user = authenticate(parts)?.ok_or_else(|| {
            Error::unauthorized("authentication required").with_code("unauthenticated")
        })?;
        if self.roles.is_empty() || self.roles.iter().any(|r| user.has_role(r)) {
            return Ok(());
        }
        let roles: Vec<&str> = self.roles.iter().map(AsRef::as_ref).collect();
        Err(missing_role(&roles))
    }
}

impl<S> Layer<S> for RequireRoleLayer {
    type Service = RequireRoleService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireRoleService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`RequireRoleLayer`].
#[derive(Clone, Debug)]
pub struct RequireRoleService<S> {
    inner: S,
    layer: RequireRoleLayer,
}

impl<S> Service<Request> for RequireRoleService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        match self.layer.admit(&mut parts) {
            Err(error) => Box::pin(std::future::ready(Ok(error.into_response()))),
            Ok(()) => {
                // The clone is the one that was not polled ready; swap so the ready one runs.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                Box::pin(inner.call(Request::from_parts(parts, body)))
            }
        }
    }
}

/// Who may perform an operation on a document, as handlers check it (and as generated
/// resource routes will).
///
/// | rule | no token | token, not allowed | allowed |
/// | --- | --- | --- | --- |
/// | `public` | yes | — | everyone |
/// | `authenticated` | 401 | — | any user |
/// | `role("editor")` | 401 | 403 | users with the role |
/// | `owner` | 401 | 403 | the document's owner |
/// | `owner_or("admin")` | 401 | 403 | the owner, or users with the role |
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// Anyone, with or without a token.
    Public,
    /// Any authenticated user.
    Authenticated,
    /// Users with at least one of these roles.
    Roles(Vec<String>),
    /// The owner of the document.
    Owner,
    /// The owner of the document, or users with at least one of these roles.
    OwnerOr(Vec<String>),
}

impl Access {
    /// Anyone.
    pub fn public() -> Self {
        Self::Public
    }

    /// Any authenticated user.
    pub fn authenticated() -> Self {
        Self::Authenticated
    }

    /// Users with `role`.
    pub fn role(role: impl Into<String>) -> Self {
        Self::Roles(vec![role.into()])
    }

    /// The document's owner.
    pub fn owner() -> Self {
        Self::Owner
    }

    /// The document's owner, or users with `role`.
    pub fn owner_or(role: impl Into<String>) -> Self {
        Self::OwnerOr(vec![role.into()])
    }

    /// Whether the rule needs a caller at all.
    pub fn requires_user(&self) -> bool {
        !matches!(self, Self::Public)
    }

    /// Whether the answer depends on the document's owner.
    pub fn needs_owner(&self) -> bool {
        matches!(self, Self::Owner | Self::OwnerOr(_))
    }

    /// The check that needs no document: 401 if a caller is required and absent, 403 if
    /// a role is required and missing. Owner rules pass here; check them with
    /// [`Access::check_owner`] once the document is loaded.
    pub fn check(&self, user: Option<&AuthUser>) -> Result<()> {
        let user = match (self, user) {
            (Self::Public, _) => return Ok(()),
            (_, None) => {
                return Err(
                    Error::unauthorized("authentication required").with_code("unauthenticated")
                );
            }
            (_, Some(user)) => user,
        };
        match self {
            Self::Roles(roles) if !roles.iter().any(|r| user.has_role(r)) => {
                let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
                Err(missing_role(&roles))
            }
            _ => Ok(()),
        }
    }

    /// The full check against a loaded document owned by `owner` (a user id).
    pub fn check_owner(&self, user: Option<&AuthUser>, owner: &str) -> Result<()> {
        self.check(user)?;
        let allowed = match (self, user) {
            (Self::Owner, Some(user)) => user.sub() == owner,
            (Self::OwnerOr(roles), Some(user)) => {
                user.sub() == owner || roles.iter().any(|r| user.has_role(r))
            }
            _ => true,
        };
        match allowed {
            true => Ok(()),
            false => Err(Error::forbidden("only the owner may do this").with_code("not_owner")),
        }
    }

    /// For lists under an owner rule: `Some(user id)` when the caller may see only their
    /// own documents (filter on the owner field), `None` when no such filter applies.
    /// Call [`Access::check`] first.
    pub fn owner_filter<'u>(&self, user: Option<&'u AuthUser>) -> Option<&'u str> {
        match (self, user) {
            (Self::Owner, Some(user)) => Some(user.sub()),
            (Self::OwnerOr(roles), Some(user)) if !roles.iter().any(|r| user.has_role(r)) => {
                Some(user.sub())
            }
            _ => None,
        }
    }
}

/// The `WWW-Authenticate` challenge for a 401 (RFC 6750).
pub(crate) fn challenge(code: &str) -> HeaderValue {
    // `invalid_token` is about the access token presented (RFC 6750 §3.1); a wrong
    // password or refresh token gets the plain challenge.
    match code {
        "token_expired" => HeaderValue::from_static(
            "Bearer error=\"invalid_token\", error_description=\"the token has expired\"",
        ),
        c if c.starts_with("token_") => HeaderValue::from_static("Bearer error=\"invalid_token\""),
        _ => HeaderValue::from_static("Bearer"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(sub: &str, roles: &[&str]) -> AuthUser {
        let claims = Claims {
            sub: sub.to_owned(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            jti: "j".into(),
            iat: 0,
            nbf: None,
            exp: 0,
            iss: "i".into(),
            aud: "a".into(),
            sid: None,
        };
        AuthUser::from_claims(claims, "token").unwrap()
    }

    const ALICE: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";
    const BOB: &str = "bbbbbbbbbbbbbbbbbbbbbbbb";

    /// Every rule against every kind of caller, on a document Alice owns.
    #[test]
    fn role_and_ownership_matrix() {
        let alice = user(ALICE, &["user"]);
        let bob = user(BOB, &["user"]);
        let admin = user(BOB, &["admin"]);
        let editor = user(BOB, &["editor"]);
        let callers: [(&str, Option<&AuthUser>); 5] = [
            ("anonymous", None),
            ("owner", Some(&alice)),
            ("other", Some(&bob)),
            ("admin", Some(&admin)),
            ("editor", Some(&editor)),
        ];
        let rules = [
            (Access::public(), [200, 200, 200, 200, 200]),
            (Access::authenticated(), [401, 200, 200, 200, 200]),
            (Access::role("editor"), [401, 403, 403, 403, 200]),
            (Access::owner(), [401, 200, 403, 403, 403]),
            (Access::owner_or("admin"), [401, 200, 403, 200, 403]),
        ];
        for (rule, expected) in rules {
            for ((who, caller), want) in callers.iter().zip(expected) {
                let got = match rule.check_owner(*caller, ALICE) {
                    Ok(()) => 200,
                    Err(e) => e.kind().status().as_u16(),
                };
                assert_eq!(got, want, "{rule:?} for {who}");
            }
        }
        assert_eq!(Access::owner().owner_filter(Some(&bob)), Some(BOB));
        assert_eq!(Access::owner_or("admin").owner_filter(Some(&admin)), None);
        assert_eq!(
            Access::owner_or("admin").owner_filter(Some(&bob)),
            Some(BOB)
        );
        assert_eq!(Access::authenticated().owner_filter(Some(&bob)), None);
    }

    #[test]
    fn csrf_accepts_own_and_allowed_origins_only() {
        let allowed = vec!["https://app.example.com".to_owned()];
        let check = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (k, v) in pairs {
                headers.insert(*k, HeaderValue::from_static(v));
            }
            csrf_check(&headers, &allowed, false).is_ok()
        };
        assert!(check(&[
            ("host", "api.example.com"),
            ("origin", "https://api.example.com")
        ]));
        assert!(check(&[
            ("host", "api.example.com"),
            ("origin", "https://app.example.com")
        ]));
        assert!(check(&[("sec-fetch-site", "same-origin")]));
        assert!(check(&[
            ("host", "api.example.com"),
            ("referer", "https://app.example.com/page?x=1")
        ]));
        assert!(!check(&[
            ("host", "api.example.com"),
            ("origin", "https://evil.example")
        ]));
        assert!(!check(&[("host", "api.example.com"), ("origin", "null")]));
        assert!(!check(&[("host", "api.example.com")]));
        assert!(!check(&[
            ("host", "api.example.com"),
            ("referer", "https://evil.example/https://app.example.com")
        ]));
        let mut plain = HeaderMap::new();
        plain.insert("host", HeaderValue::from_static("api.example.com"));
        plain.insert("origin", HeaderValue::from_static("http://api.example.com"));
        assert!(csrf_check(&plain, &allowed, false).is_ok());
        assert!(
            csrf_check(&plain, &allowed, true).is_err(),
            "https APIs need https origins"
        );
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("x_access_token=no; access_token=yes; other=1"),
        );
        assert_eq!(cookie(&headers, "access_token"), Some("yes"));
        assert_eq!(cookie(&headers, "missing"), None);
    }
}
