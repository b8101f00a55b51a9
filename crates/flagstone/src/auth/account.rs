//! The account routes, mounted under `{api.prefix}/auth` by [`App::auth`](crate::App::auth)
//! over a [`UserModel`]: the default [`User`], or the app's own type.
//!
//! | route | auth | does |
//! | --- | --- | --- |
//! | `POST /auth/register` | — | creates the account, logs it in, mails a verification link |
//! | `POST /auth/login` | — | checks email and password (throttled), starts a session |
//! | `POST /auth/refresh` | refresh token | rotates the refresh token, issues a new access token |
//! | `POST /auth/logout` | access token | ends this session |
//! | `POST /auth/logout-all` | access token | ends every session of the user |
//! | `GET /auth/me` | access token | the user |
//! | `PATCH /auth/me` | access token | changes the user's own profile fields |
//! | `POST /auth/change-password` | access token | needs the current password; ends the other sessions |
//! | `POST /auth/verify-email/request` | access token | mails a new verification link |
//! | `POST /auth/verify-email/confirm` | — | redeems a verification token |
//! | `POST /auth/password-reset/request` | — | mails a reset link if the address is registered; the answer is the same either way |
//! | `POST /auth/password-reset/confirm` | — | redeems a reset token, sets the password, ends every session |
//!
//! Bodies are strict: unknown fields are refused with 400 `unknown_field`, so `roles`,
//! `email_verified` or `id` in a register or `PATCH /auth/me` body never reach the
//! database (mass assignment). Roles are changed only by code (an admin route of the app).

use std::{net::IpAddr, sync::Arc, time::Duration};

use axum::{
    Extension, Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use bson::{Document, doc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use utoipa::{
    ToSchema,
    openapi::{
        ContentBuilder, OpenApi, PathItem, RefOr, Required, ResponseBuilder,
        path::{HttpMethod, OperationBuilder},
        request_body::RequestBodyBuilder,
        schema::Schema,
        security::SecurityRequirement,
    },
};

use super::{Auth, AuthUser, Purpose, Tokens};
use crate::{
    Error, Id, Result,
    error::FieldError,
    http::{ClientIp, RateLimitLayer},
    mail::Mailer,
    store::{Collection, Index, Store, Timestamp},
    validation::{Valid, Validate},
};

/// The fields Flagstone owns in every user document. A [`UserModel`] embeds them with
/// `#[serde(flatten)]`, so the account flows can update them in place.
#[derive(Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Account {
    /// The user's id.
    #[serde(rename = "_id")]
    pub id: Id<Account>,
    /// The address as the user typed it.
    pub email: String,
    /// The address, lower-cased: unique, what logins look up.
    pub email_key: String,
    /// The argon2id PHC string. Never in a response.
    pub password_hash: String,
    /// The user's roles, copied into access tokens.
    pub roles: Vec<String>,
    /// Whether the user has confirmed the address.
    pub email_verified: bool,
    /// When the account was created.
    pub created_at: Timestamp,
    /// When the account last changed.
    pub updated_at: Timestamp,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("roles", &self.roles)
            .field("email_verified", &self.email_verified)
            .finish_non_exhaustive()
    }
}

/// The body of `POST /auth/register`: validated by its own rules, then the password by the
/// configured policy.
pub trait Registration: DeserializeOwned + Validate + ToSchema + Send + 'static {
    /// The email address.
    fn email(&self) -> &str;
    /// The chosen password.
    fn password(&self) -> &str;
}

/// A user type the account routes can manage. The default is [`User`]; an app with more
/// profile fields writes its own:
///
/// ```
/// use flagstone::{auth::{Account, Registration, UserModel}, prelude::*};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Member {
///     #[serde(flatten)]
///     account: Account,
///     display_name: String,
/// }
///
/// #[derive(Deserialize, Validate, ToSchema)]
/// #[serde(deny_unknown_fields)]
/// struct Join {
///     #[validate(email)]
///     email: String,
///     password: String,
///     #[validate(len(min = 1, max = 60))]
///     display_name: String,
/// }
///
/// impl Registration for Join {
///     fn email(&self) -> &str { &self.email }
///     fn password(&self) -> &str { &self.password }
/// }
///
/// #[derive(Deserialize, Validate, ToSchema)]
/// #[serde(deny_unknown_fields)]
/// struct MemberChanges {
///     #[validate(len(min = 1, max = 60))]
///     display_name: Option<String>,
/// }
///
/// #[derive(Serialize, ToSchema)]
/// struct MemberView { id: String, email: String, display_name: String }
///
/// impl UserModel for Member {
///     type Registration = Join;
///     type Changes = MemberChanges;
///     type View = MemberView;
///     fn create(join: Join, account: Account) -> flagstone::Result<Self> {
///         Ok(Member { account, display_name: join.display_name })
///     }
///     fn account(&self) -> &Account { &self.account }
///     fn view(&self) -> MemberView {
///         MemberView {
///             id: self.account.id.to_string(),
///             email: self.account.email.clone(),
///             display_name: self.display_name.clone(),
///         }
///     }
///     fn changes(changes: MemberChanges) -> flagstone::Result<bson::Document> {
///         let mut set = bson::Document::new();
///         if let Some(name) = changes.display_name {
///             set.insert("display_name", name);
///         }
///         Ok(set)
///     }
/// }
/// ```
pub trait UserModel: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    /// The body of `POST /auth/register`.
    type Registration: Registration;
    /// The body of `PATCH /auth/me`: the fields users may change themselves.
    type Changes: DeserializeOwned + Validate + ToSchema + Send + 'static;
    /// What responses show of a user: never the password hash.
    type View: Serialize + ToSchema + Send + 'static;
    /// The collection users live in.
    const COLLECTION: &'static str = "users";

    /// A new user from a valid registration and the account fields Flagstone set.
    fn create(registration: Self::Registration, account: Account) -> Result<Self>;
    /// The account fields.
    fn account(&self) -> &Account;
    /// The response view.
    fn view(&self) -> Self::View;
    /// The `$set` document for `changes` (field names as stored).
    fn changes(changes: Self::Changes) -> Result<Document>;
    /// Indexes beyond the unique `email_key` one (say, a unique username).
    fn indexes() -> Vec<Index> {
        Vec::new()
    }
}

/// The default user: an account and an optional unique username.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// Email, password hash, roles, verification, timestamps.
    #[serde(flatten)]
    pub account: Account,
    /// A public handle, unique when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// The registration body of the default [`User`].
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterUser {
    /// The email address; logins match it case-insensitively.
    #[validate(email)]
    pub email: String,
    /// The password (length per `auth.password_min_length` / `password_max_length`).
    #[schema(format = Password)]
    pub password: String,
    /// An optional public handle: letters, digits, `_`, `.` and `-`.
    #[validate(len(min = 3, max = 32), pattern = "^[A-Za-z0-9_.-]+$")]
    pub username: Option<String>,
}

impl Registration for RegisterUser {
    fn email(&self) -> &str {
        &self.email
    }

    fn password(&self) -> &str {
        &self.password
    }
}

/// What `PATCH /auth/me` may change on the default [`User`].
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    /// A new public handle.
    #[validate(len(min = 3, max = 32), pattern = "^[A-Za-z0-9_.-]+$")]
    pub username: Option<String>,
}

/// The default [`User`] as responses show it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[non_exhaustive]
pub struct UserView {
    /// The user's id.
    #[schema(value_type = String, pattern = "^[0-9a-fA-F]{24}$")]
    pub id: Id<User>,
    /// The email address.
    pub email: String,
    /// The public handle, if set.
    pub username: Option<String>,
    /// The user's roles.
    pub roles: Vec<String>,
    /// Whether the address is confirmed.
    pub email_verified: bool,
    /// When the account was created.
    pub created_at: Timestamp,
    /// When the account last changed.
    pub updated_at: Timestamp,
}

impl UserModel for User {
    type Registration = RegisterUser;
    type Changes = UserChanges;
    type View = UserView;

    fn create(registration: RegisterUser, account: Account) -> Result<Self> {
        Ok(Self {
            account,
            username: registration.username,
        })
    }

    fn account(&self) -> &Account {
        &self.account
    }

    fn view(&self) -> UserView {
        let a = &self.account;
        UserView {
            id: a.id.cast(),
            email: a.email.clone(),
            username: self.username.clone(),
            roles: a.roles.clone(),
            email_verified: a.email_verified,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }

    fn changes(changes: UserChanges) -> Result<Document> {
        let mut set = Document::new();
        if let Some(username) = changes.username {
            set.insert("username", username);
        }
        Ok(set)
    }

    fn indexes() -> Vec<Index> {
        vec![Index::new(doc! { "username": 1 }).unique().sparse()]
    }
}

/// `Id<User>` fields of models expand (`?expand=author`) to the user's public profile:
/// `{id, username}`, never the email address or roles.
impl crate::model::Referenced for User {
    const COLLECTION: &'static str = <User as UserModel>::COLLECTION;

    fn expanded(&self) -> Result<serde_json::Value> {
        Ok(serde_json::json!({
            "id": self.account.id.to_string(),
            "username": self.username,
        }))
    }
}

/// The normalised form of an address that logins and the unique index compare.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Creates an account without HTTP — for seeding, an admin command, an import: checks the
/// password policy (a validation error on `password`), hashes the password on the
/// hashing threads, and stores the user with `roles`. 409 `email_taken` when the address is
/// registered already. No session is started and no mail is sent.
///
/// ```no_run
/// use flagstone::auth::{Auth, User, account::{RegisterUser, create_account}};
/// # async fn seed(auth: Auth, store: flagstone::Store) -> flagstone::Result<()> {
/// let users = store.collection::<User>("users");
/// let registration = RegisterUser {
///     email: "editor@example.com".into(),
///     password: "a long enough password".into(),
///     username: Some("eddie".into()),
/// };
/// create_account(&auth, &users, registration, vec!["editor".into()]).await?;
/// # Ok(()) }
/// ```
pub async fn create_account<U: UserModel>(
    auth: &Auth,
    users: &Collection<U>,
    registration: U::Registration,
    roles: Vec<String>,
) -> Result<U> {
    let errors = auth
        .passwords()
        .policy_errors("password", registration.password());
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    let email = registration.email().trim().to_owned();
    let password_hash = auth.passwords().hash(registration.password()).await?;
    let now = Timestamp::now();
    let account = Account {
        id: Id::new(),
        email_key: email_key(&email),
        email,
        password_hash,
        roles,
        email_verified: false,
        created_at: now,
        updated_at: now,
    };
    let user = U::create(registration, account)?;
    if let Err(e) = users.insert_one(&user).await {
        // Servers differ in whether a duplicate-key error names the index; ask instead.
        let key = &user.account().email_key;
        let taken = e.kind() == crate::ErrorKind::Conflict
            && users.exists(doc! { "email_key": key }).await?;
        return Err(match taken {
            true => Error::conflict("an account with this email address already exists")
                .with_code("email_taken"),
            false => e,
        });
    }
    Ok(user)
}

/// What the account handlers share.
struct Ctx<U> {
    auth: Auth,
    users: Collection<U>,
    mailer: Mailer,
}

type Shared<U> = State<Arc<Ctx<U>>>;

/// Mounts the account routes for `U` and returns them with their OpenAPI paths (relative
/// to the API prefix). Creates the indexes first.
pub(crate) async fn routes<U: UserModel>(
    auth: Auth,
    store: &Store,
    mailer: Mailer,
) -> Result<(Router, OpenApi)> {
    let users: Collection<U> = store.collection(U::COLLECTION);
    let mut indexes = vec![Index::new(doc! { "email_key": 1 }).unique()];
    indexes.extend(U::indexes());
    users.sync_indexes(indexes).await?;
    auth.sync_indexes().await?;
    let limit = auth.config().rate_limit;
    let ctx = Arc::new(Ctx {
        auth,
        users,
        mailer,
    });
    let mut credentials = Router::new()
        .route("/auth/register", post(register::<U>))
        .route("/auth/login", post(login::<U>))
        .route("/auth/refresh", post(refresh::<U>))
        .route(
            "/auth/verify-email/request",
            post(request_verification::<U>),
        )
        .route("/auth/password-reset/request", post(request_reset::<U>));
    if limit > 0 {
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        credentials = credentials.layer(RateLimitLayer::new(limit, Duration::from_secs(60)));
    }
    let router = Router::new()
        .merge(credentials)
        .route("/auth/logout", post(logout::<U>))
        .route("/auth/logout-all", post(logout_all::<U>))
        .route("/auth/me", get(me::<U>).patch(update_me::<U>))
        .route("/auth/change-password", post(change_password::<U>))
        .route(
            "/auth/verify-email/confirm",
            post(confirm_verification::<U>),
        )
        .route("/auth/password-reset/confirm", post(confirm_reset::<U>))
        .with_state(ctx);
    Ok((router, openapi::<U>()))
}

/// A login or registration answer: the user, and the tokens when they travel in bodies.
#[derive(Serialize)]
struct Session<V> {
    user: V,
    #[serde(flatten)]
    tokens: Option<Tokens>,
}

/// `status` with `body` as JSON and the session cookies.
fn with_cookies(status: StatusCode, cookies: Vec<HeaderValue>, body: impl Serialize) -> Response {
    let mut response = (status, Json(body)).into_response();
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

impl<U: UserModel> Ctx<U> {
    /// The answer that hands `tokens` out: in the body and/or as cookies.
    fn session(&self, status: StatusCode, user: &U, tokens: Tokens) -> Response {
        let cookies = self.auth.set_cookies(&tokens);
        let body = Session {
            user: user.view(),
            tokens: self.auth.config().transport.bearer().then_some(tokens),
        };
        with_cookies(status, cookies, body)
    }

    async fn user(&self, caller: &AuthUser) -> Result<U> {
        self.users
            .find_by_id(caller.id::<U>())
            .await?
            .ok_or_else(|| {
                Error::not_found("the account no longer exists").with_code("account_missing")
            })
    }

    /// Password policy errors, as a validation problem on `field`.
    fn policy(&self, field: &str, password: &str) -> Result<()> {
        let errors = self.auth.passwords().policy_errors(field, password);
        match errors.is_empty() {
            true => Ok(()),
            false => Err(Error::validation(errors)),
        }
    }

    /// Mails a verification link for `account` (in the background).
    async fn send_verification(&self, account: &Account) -> Result<()> {
        let ttl = self.auth.config().verification_token_ttl;
        let token = self
            .auth
            .one_time_tokens()
            .issue(
                Purpose::VerifyEmail,
                &account.id.to_string(),
                &account.email,
                ttl,
            )
            .await?;
        let link = format!("{}/verify-email?token={token}", self.auth.app_url());
        let mail = self.mailer.render(
            "verify_email",
            &account.email,
            &[("link", &link), ("expires_in", &human(ttl))],
        )?;
        self.mailer.send(mail);
        Ok(())
    }
}

/// `30 minutes`, `24 hours`, `7 days`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = match s {
        s if s % 86_400 == 0 && s >= 86_400 => (s / 86_400, "day"),
        s if s % 3_600 == 0 && s >= 3_600 => (s / 3_600, "hour"),
        s if s >= 60 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

async fn register<U: UserModel>(
    State(ctx): Shared<U>,
    Valid(Json(registration)): Valid<Json<U::Registration>>,
) -> Result<Response> {
    let roles = ctx.auth.config().default_roles.clone();
    let user = create_account(&ctx.auth, &ctx.users, registration, roles).await?;
    let account = user.account();
    tracing::info!(user_id = %account.id, "account registered");
    // The account exists now: a mail that cannot go out must not turn that into an error
    // (the user can ask for a new link).
    if let Err(e) = ctx.send_verification(account).await {
        tracing::error!(user_id = %account.id, error = %e, "could not send the verification mail");
    }
    if ctx.auth.config().require_verified_email {
        // No session until the address is confirmed.
        let body = serde_json::json!({ "user": user.view() });
        return Ok((StatusCode::CREATED, Json(body)).into_response());
    }
    let tokens = ctx
        .auth
        .start_session(&account.id.to_string(), &account.roles)
        .await?;
    Ok(ctx.session(StatusCode::CREATED, &user, tokens))
}

/// The body of `POST /auth/login`.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
struct Login {
    /// The email address.
    #[validate(len(max = 254))]
    email: String,
    /// The password.
    #[schema(format = Password)]
    #[validate(len(max = 4096))]
    password: String,
}

fn invalid_credentials() -> Error {
    Error::unauthorized("invalid email or password").with_code("invalid_credentials")
}

async fn login<U: UserModel>(
    State(ctx): Shared<U>,
    ip: Option<Extension<ClientIp>>,
    Valid(Json(body)): Valid<Json<Login>>,
) -> Result<Response> {
    let ip: Option<IpAddr> = ip.map(|Extension(ClientIp(ip))| ip);
    let key = email_key(&body.email);
    ctx.auth.check_throttle(&key, ip)?;
    let user = ctx.users.find_one(doc! { "email_key": &key }).await?;
    let passwords = ctx.auth.passwords();
    let Some(user) = user else {
        // The same work as a wrong password, so timing does not reveal who is registered.
        passwords.verify_dummy(&body.password).await;
        ctx.auth.throttle().failure(&key, ip);
        return Err(invalid_credentials());
    };
    let account = user.account();
    let verification = passwords
        .verify(&body.password, &account.password_hash)
        .await?;
    if !verification.valid {
        ctx.auth.throttle().failure(&key, ip);
        tracing::info!(user_id = %account.id, "login failed: wrong password");
        return Err(invalid_credentials());
    }
    ctx.auth.throttle().success(&key);
    if verification.needs_rehash {
        // Raise the stored hash to the current parameters, off the request's path.
        let (passwords, users, id, password) = (
            passwords.clone(),
            ctx.users.clone(),
            account.id,
            body.password.clone(),
        );
        tokio::spawn(async move {
            let upgraded = match passwords.hash(&password).await {
                Ok(hash) => users
                    .update_one(
                        doc! { "_id": id },
                        doc! { "$set": { "password_hash": hash } },
                    )
                    .await
                    .map(drop),
                Err(e) => Err(e),
            };
            if let Err(e) = upgraded {
                tracing::warn!(user_id = %id, error = %e, "could not upgrade a password hash");
            }
        });
    }
    if ctx.auth.config().require_verified_email && !account.email_verified {
        return Err(
            Error::forbidden("confirm your email address before logging in")
                .with_code("email_not_verified"),
        );
    }
    let tokens = ctx
        .auth
        .start_session(&account.id.to_string(), &account.roles)
        .await?;
    tracing::info!(user_id = %account.id, "logged in");
    Ok(ctx.session(StatusCode::OK, &user, tokens))
}

/// The body of `POST /auth/refresh` (empty when the refresh token is in its cookie).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Refresh {
    /// The refresh token from login or the previous refresh.
    refresh_token: String,
}

/// New tokens for an existing session.
#[derive(Serialize, ToSchema)]
struct Refreshed {
    /// The new JWT access token.
    access_token: String,
    /// The new refresh token; the one presented no longer works.
    refresh_token: String,
    /// Always `Bearer`.
    token_type: String,
    /// Seconds until the access token expires.
    expires_in: u64,
}

async fn refresh<U: UserModel>(
    State(ctx): Shared<U>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let from_body = match body.iter().all(u8::is_ascii_whitespace) {
        true => None,
        false => Some(
            serde_json::from_slice::<Refresh>(&body)
                .map_err(|e| Error::bad_request(format!("invalid body: {e}")))?
                .refresh_token,
        ),
    };
    let token = match (from_body, ctx.auth.refresh_cookie(&headers)) {
        (Some(token), _) if ctx.auth.config().transport.bearer() => token,
        (_, Some(cookie)) => {
            ctx.auth.csrf_check(&headers)?;
            cookie.to_owned()
        }
        _ => {
            return Err(Error::unauthorized("a refresh token is required")
                .with_code("refresh_token_invalid"));
        }
    };
    let session = ctx.auth.rotate(&token).await?;
    let user = match bson::oid::ObjectId::parse_str(&session.user_id) {
        Ok(id) => ctx.users.find_by_id(id).await?,
        Err(_) => None,
    };
    let Some(user) = user else {
        ctx.auth.sessions().revoke(&session.id).await?;
        return Err(
            Error::unauthorized("the account no longer exists").with_code("refresh_token_invalid")
        );
    };
    if ctx.auth.config().require_verified_email && !user.account().email_verified {
        ctx.auth.sessions().revoke(&session.id).await?;
        return Err(
            Error::forbidden("confirm your email address before logging in")
                .with_code("email_not_verified"),
        );
    }
    // Roles come from the user as it is now: a role change shows at the next refresh.
    let tokens = ctx.auth.tokens(session, &user.account().roles)?;
    let cookies = ctx.auth.set_cookies(&tokens);
    let body = ctx.auth.config().transport.bearer().then(|| Refreshed {
        access_token: tokens.access_token.clone(),
        refresh_token: tokens.refresh_token.clone(),
        token_type: tokens.token_type.to_owned(),
        expires_in: tokens.expires_in,
    });
    Ok(match body {
        Some(body) => with_cookies(StatusCode::OK, cookies, body),
        None => with_cookies(
            StatusCode::OK,
            cookies,
            serde_json::json!({ "expires_in": tokens.expires_in }),
        ),
    })
}

fn no_content(cookies: Vec<HeaderValue>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

async fn logout<U: UserModel>(State(ctx): Shared<U>, caller: AuthUser) -> Result<Response> {
    if let Some(sid) = caller.session_id() {
        ctx.auth.sessions().revoke(sid).await?;
    }
    Ok(no_content(ctx.auth.clear_cookies()))
}

async fn logout_all<U: UserModel>(State(ctx): Shared<U>, caller: AuthUser) -> Result<Response> {
    let ended = ctx.auth.sessions().revoke_user(caller.sub(), None).await?;
    tracing::info!(
        user_id = caller.sub(),
        sessions = ended,
        "logged out everywhere"
    );
    Ok(no_content(ctx.auth.clear_cookies()))
}

async fn me<U: UserModel>(State(ctx): Shared<U>, caller: AuthUser) -> Result<Json<U::View>> {
    Ok(Json(ctx.user(&caller).await?.view()))
}

async fn update_me<U: UserModel>(
    State(ctx): Shared<U>,
    caller: AuthUser,
    Valid(Json(changes)): Valid<Json<U::Changes>>,
) -> Result<Json<U::View>> {
    let mut set = U::changes(changes)?;
    if set.is_empty() {
        return me(State(ctx), caller).await;
    }
    set.insert("updated_at", Timestamp::now());
    let user = ctx
        .users
        .find_one_and_update(doc! { "_id": caller.id::<U>() }, doc! { "$set": set })
        .await?
        .ok_or_else(|| {
            Error::not_found("the account no longer exists").with_code("account_missing")
        })?;
    Ok(Json(user.view()))
}

/// The body of `POST /auth/change-password`.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChangePassword {
    /// The password in use now.
    #[schema(format = Password)]
    #[validate(len(max = 4096))]
    current_password: String,
    /// The new password.
    #[schema(format = Password)]
    new_password: String,
}

async fn change_password<U: UserModel>(
    State(ctx): Shared<U>,
    ip: Option<Extension<ClientIp>>,
    caller: AuthUser,
    Valid(Json(body)): Valid<Json<ChangePassword>>,
) -> Result<Response> {
    let ip = ip.map(|Extension(ClientIp(ip))| ip);
    ctx.policy("new_password", &body.new_password)?;
    let user = ctx.user(&caller).await?;
    let account = user.account();
    ctx.auth.check_throttle(&account.email_key, ip)?;
    let passwords = ctx.auth.passwords();
    if !passwords
        .verify(&body.current_password, &account.password_hash)
        .await?
        .valid
    {
        ctx.auth.throttle().failure(&account.email_key, ip);
        return Err(Error::validation(vec![FieldError::new(
            "current_password",
            "incorrect",
            "is not the current password",
        )]));
    }
    let hash = passwords.hash(&body.new_password).await?;
    ctx.users
        .update_one(
            doc! { "_id": account.id },
            doc! { "$set": { "password_hash": hash, "updated_at": Timestamp::now() } },
        )
        .await?;
    let ended = ctx
        .auth
        .sessions()
        .revoke_user(caller.sub(), caller.session_id())
        .await?;
    ctx.auth
        .one_time_tokens()
        .revoke_user(Purpose::ResetPassword, caller.sub())
        .await?;
    ctx.auth.throttle().success(&account.email_key);
    tracing::info!(user_id = %account.id, other_sessions_ended = ended, "password changed");
    notify_password_changed(&ctx.mailer, &account.email);
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn notify_password_changed(mailer: &Mailer, to: &str) {
    match mailer.render("password_changed", to, &[]) {
        Ok(mail) => mailer.send(mail),
        Err(e) => tracing::warn!(error = %e, "could not render the password_changed mail"),
    }
}

/// The answer of the requests that mail a link.
#[derive(Serialize, ToSchema)]
struct Accepted {
    /// What happens next.
    message: &'static str,
}

async fn request_verification<U: UserModel>(
    State(ctx): Shared<U>,
    caller: AuthUser,
) -> Result<(StatusCode, Json<Accepted>)> {
    let user = ctx.user(&caller).await?;
    if user.account().email_verified {
        return Ok((
            StatusCode::OK,
            Json(Accepted {
                message: "the email address is already verified",
            }),
        ));
    }
    ctx.send_verification(user.account()).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            message: "a verification link has been sent",
        }),
    ))
}

/// A token from a mailed link.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
struct Confirm {
    /// The token from the link.
    #[validate(len(max = 128))]
    token: String,
}

fn invalid_link() -> Error {
    Error::bad_request("the link is invalid or has expired").with_code("token_invalid")
}

async fn confirm_verification<U: UserModel>(
    State(ctx): Shared<U>,
    Valid(Json(body)): Valid<Json<Confirm>>,
) -> Result<StatusCode> {
    let redeemed = ctx
        .auth
        .one_time_tokens()
        .redeem(Purpose::VerifyEmail, &body.token)
        .await?
        .ok_or_else(invalid_link)?;
    let id = bson::oid::ObjectId::parse_str(&redeemed.user_id).map_err(|_| invalid_link())?;
    // Only the address the token was sent to: a later change of address needs a new link.
    let result = ctx
        .users
        .update_one(
            doc! { "_id": id, "email": &redeemed.subject },
            doc! { "$set": { "email_verified": true, "updated_at": Timestamp::now() } },
        )
        .await?;
    match result.matched {
        0 => Err(invalid_link()),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

/// The body of `POST /auth/password-reset/request`.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    /// The address of the account.
    #[validate(len(max = 254))]
    email: String,
}

const RESET_ACCEPTED: &str =
    "if an account uses this address, a link to reset its password has been sent";

async fn request_reset<U: UserModel>(
    State(ctx): Shared<U>,
    Valid(Json(body)): Valid<Json<ResetRequest>>,
) -> (StatusCode, Json<Accepted>) {
    // The lookup runs after the answer, so neither body nor timing tells whether the
    // address is registered.
    tokio::spawn(async move {
        if let Err(e) = send_reset(&ctx, &body.email).await {
            tracing::error!(error = %e, "could not send a password reset mail");
        }
    });
    (
        StatusCode::ACCEPTED,
        Json(Accepted {
            message: RESET_ACCEPTED,
        }),
    )
}

async fn send_reset<U: UserModel>(ctx: &Ctx<U>, email: &str) -> Result<()> {
    let Some(user) = ctx
        .users
        .find_one(doc! { "email_key": email_key(email) })
        .await?
    else {
        return Ok(());
    };
    let account = user.account();
    let ttl = ctx.auth.config().reset_token_ttl;
    let token = ctx
        .auth
        .one_time_tokens()
        .issue(
            Purpose::ResetPassword,
            &account.id.to_string(),
            &account.email,
            ttl,
        )
        .await?;
    let link = format!("{}/reset-password?token={token}", ctx.auth.app_url());
    let mail = ctx.mailer.render(
        "reset_password",
        &account.email,
        &[("link", &link), ("expires_in", &human(ttl))],
    )?;
    ctx.mailer.send(mail);
    Ok(())
}

/// The body of `POST /auth/password-reset/confirm`.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetConfirm {
    /// The token from the link.
    #[validate(len(max = 128))]
    token: String,
    /// The new password.
    #[schema(format = Password)]
    new_password: String,
}

async fn confirm_reset<U: UserModel>(
    State(ctx): Shared<U>,
    Valid(Json(body)): Valid<Json<ResetConfirm>>,
) -> Result<StatusCode> {
    ctx.policy("new_password", &body.new_password)?;
    let redeemed = ctx
        .auth
        .one_time_tokens()
        .redeem(Purpose::ResetPassword, &body.token)
        .await?
        .ok_or_else(invalid_link)?;
    let id = bson::oid::ObjectId::parse_str(&redeemed.user_id).map_err(|_| invalid_link())?;
    let hash = ctx.auth.passwords().hash(&body.new_password).await?;
    // The link arrived by mail, which proves the address too.
    let result = ctx
        .users
        .update_one(
            doc! { "_id": id },
            doc! { "$set": {
                "password_hash": hash,
                "email_verified": true,
                "updated_at": Timestamp::now(),
            } },
        )
        .await?;
    if result.matched == 0 {
        return Err(invalid_link());
    }
    let ended = ctx
        .auth
        .sessions()
        .revoke_user(&redeemed.user_id, None)
        .await?;
    ctx.auth.throttle().success(&email_key(&redeemed.subject));
    tracing::info!(user_id = %redeemed.user_id, sessions_ended = ended, "password reset");
    notify_password_changed(&ctx.mailer, &redeemed.subject);
    Ok(StatusCode::NO_CONTENT)
}

// ---- OpenAPI ------------------------------------------------------------------------------

/// The account routes' operations; the generic handlers cannot carry `#[utoipa::path]`.
fn openapi<U: UserModel>() -> OpenApi {
    let mut doc = OpenApi::default();
    let mut schemas: Vec<(String, RefOr<Schema>)> = Vec::new();
    fn collect<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) -> String {
        T::schemas(schemas);
        let name = T::name().into_owned();
        schemas.push((name.clone(), T::schema()));
        name
    }
    let registration = collect::<U::Registration>(&mut schemas);
    let changes = collect::<U::Changes>(&mut schemas);
    let view = collect::<U::View>(&mut schemas);
    let login = collect::<Login>(&mut schemas);
    let refresh = collect::<Refresh>(&mut schemas);
    let refreshed = collect::<Refreshed>(&mut schemas);
    let change_password = collect::<ChangePassword>(&mut schemas);
    let accepted = collect::<Accepted>(&mut schemas);
    let confirm = collect::<Confirm>(&mut schemas);
    let reset_request = collect::<ResetRequest>(&mut schemas);
    let reset_confirm = collect::<ResetConfirm>(&mut schemas);
    let session = session_schema(&view);
    schemas.push(("AuthSession".to_owned(), session));

    let op = |path, method, summary, body, secured, status, description, response| Op {
        path,
        method,
        summary,
        body,
        secured,
        status,
        description,
        response,
    };
    let ops = [
        op(
            "/auth/register",
            HttpMethod::Post,
            "Create an account and log in",
            Some(registration.as_str()),
            false,
            201,
            "The new user and its tokens",
            Some("AuthSession"),
        ),
        op(
            "/auth/login",
            HttpMethod::Post,
            "Log in with email and password",
            Some(&login),
            false,
            200,
            "The user and its tokens",
            Some("AuthSession"),
        ),
        op(
            "/auth/refresh",
            HttpMethod::Post,
            "Exchange a refresh token for new tokens",
            Some(&refresh),
            false,
            200,
            "New tokens; the presented refresh token no longer works",
            Some(&refreshed),
        ),
        op(
            "/auth/logout",
            HttpMethod::Post,
            "End this session",
            None,
            true,
            204,
            "Logged out",
            None,
        ),
        op(
            "/auth/logout-all",
            HttpMethod::Post,
            "End every session of the user",
            None,
            true,
            204,
            "Logged out everywhere",
            None,
        ),
        op(
            "/auth/me",
            HttpMethod::Get,
            "The current user",
            None,
            true,
            200,
            "The user",
            Some(&view),
        ),
        op(
            "/auth/me",
            HttpMethod::Patch,
            "Change the current user's profile",
            Some(&changes),
            true,
            200,
            "The changed user",
            Some(&view),
        ),
        op(
            "/auth/change-password",
            HttpMethod::Post,
            "Change the password; ends the other sessions",
            Some(&change_password),
            true,
            204,
            "Changed",
            None,
        ),
        op(
            "/auth/verify-email/request",
            HttpMethod::Post,
            "Mail a new verification link",
            None,
            true,
            202,
            "Sent",
            Some(&accepted),
        ),
        op(
            "/auth/verify-email/confirm",
            HttpMethod::Post,
            "Confirm the email address with a mailed token",
            Some(&confirm),
            false,
            204,
            "Verified",
            None,
        ),
        op(
            "/auth/password-reset/request",
            HttpMethod::Post,
            "Mail a password reset link (the answer never tells whether the address is registered)",
            Some(&reset_request),
            false,
            202,
            "Accepted",
            Some(&accepted),
        ),
        op(
            "/auth/password-reset/confirm",
            HttpMethod::Post,
            "Set a new password with a mailed token; ends every session",
            Some(&reset_confirm),
            false,
            204,
            "Password set",
            None,
        ),
    ];
    for Op {
        path,
        method,
        summary,
        body,
        secured,
        status,
        description,
        response,
    } in ops
    {
        let mut response_builder = ResponseBuilder::new().description(description);
        if let Some(schema) = response {
            response_builder = response_builder.content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                        schema,
                    ))))
                    .build(),
            );
        }
        let mut op = OperationBuilder::new()
            .summary(Some(summary))
            .tag("auth")
            .operation_id(Some(operation_id(method.clone(), path)))
            .response(status.to_string(), response_builder.build());
        if let Some(schema) = body {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                                schema,
                            ))))
                            .build(),
                    )
                    .required(Some(match path {
                        "/auth/refresh" => Required::False,
                        _ => Required::True,
                    }))
                    .build(),
            ));
        }
        if matches!(path, "/auth/login" | "/auth/refresh") {
            // Not secured, but wrong credentials or a bad refresh token answer 401.
            op = op.response(
                "401",
                RefOr::Ref(utoipa::openapi::Ref::from_response_name("Unauthorized")),
            );
        }
        if secured {
            op = op.securities(Some([
                SecurityRequirement::new(crate::openapi::BEARER, Vec::<String>::new()),
                SecurityRequirement::new(crate::openapi::COOKIE, Vec::<String>::new()),
            ]));
        }
        let item = PathItem::new(method, op.build());
        match doc.paths.paths.get_mut(path) {
            Some(existing) => existing.merge_operations(item),
            None => {
                doc.paths.paths.insert(path.to_owned(), item);
            }
        }
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.schemas.extend(schemas);
    doc
}

/// One documented account operation.
struct Op<'a> {
    path: &'static str,
    method: HttpMethod,
    summary: &'static str,
    body: Option<&'a str>,
    secured: bool,
    status: u16,
    description: &'static str,
    response: Option<&'a str>,
}

fn operation_id(method: HttpMethod, path: &str) -> String {
    let method = match method {
        HttpMethod::Get => "get",
        HttpMethod::Patch => "patch",
        _ => "post",
    };
    let path = path.trim_start_matches('/').replace(['/', '-'], "_");
    format!("{method}_{path}")
}

/// `{user, access_token?, refresh_token?, token_type?, expires_in?}`.
fn session_schema(view: &str) -> RefOr<Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .property(
            "user",
            RefOr::Ref(utoipa::openapi::Ref::from_schema_name(view)),
        )
        .required("user")
        .property(
            "access_token",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("The JWT access token (bearer transport)")),
        )
        .property(
            "refresh_token",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("The opaque refresh token (bearer transport)")),
        )
        .property("token_type", ObjectBuilder::new().schema_type(Type::String))
        .property(
            "expires_in",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .description(Some("Seconds until the access token expires")),
        )
        .into()
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human(Duration::from_secs(1800)), "30 minutes");
        assert_eq!(human(Duration::from_secs(86_400)), "1 day");
        assert_eq!(human(Duration::from_secs(7_200)), "2 hours");
    }

    #[test]
    fn email_keys_ignore_case_and_spaces() {
        assert_eq!(email_key("  Ada@Example.COM "), "ada@example.com");
    }

    #[test]
    fn the_default_view_has_no_password_hash() {
        let schema = serde_json::to_value(UserView::schema()).unwrap();
        assert!(schema["properties"].get("password_hash").is_none());
    }
}
