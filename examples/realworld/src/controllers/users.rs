//! `POST /users`, `POST /users/login`, `GET /user`, `PUT /user`.

use flagstone::{http::ClientIp, prelude::*, validation::Valid};
use serde::Deserialize;

use crate::{
    models::UserEnvelope,
    services::{Conduit, Login, NewUser, UserChanges},
};

/// `{"user": {"username", "email", "password"}}`.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// The new account.
    #[validate(nested)]
    pub user: NewUser,
}

/// `{"user": {"email", "password"}}`.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The credentials.
    #[validate(nested)]
    pub user: Login,
}

/// `{"user": {...changes}}`.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// What to change.
    #[validate(nested)]
    pub user: UserChanges,
}

/// Registers a user.
#[utoipa::path(operation_id = "createUser", post, path = "/users", tag = "users", request_body = Registration,
               responses((status = 201, description = "The user, with a token", body = UserEnvelope)))]
pub async fn register(
    Extension(conduit): Extension<Conduit>,
    Valid(Json(body)): Valid<Json<Registration>>,
) -> flagstone::Result<(StatusCode, Json<UserEnvelope>)> {
    let user = conduit.register(body.user).await?;
    Ok((StatusCode::CREATED, Json(UserEnvelope { user })))
}

/// Logs in: the user with a token. Wrong credentials are a 401.
#[utoipa::path(operation_id = "login", post, path = "/users/login", tag = "users", request_body = Credentials,
               responses((status = 200, description = "The user, with a token", body = UserEnvelope),
                         (status = 401, description = "Wrong email or password")))]
pub async fn login(
    Extension(conduit): Extension<Conduit>,
    ip: Option<Extension<ClientIp>>,
    Valid(Json(body)): Valid<Json<Credentials>>,
) -> flagstone::Result<Json<UserEnvelope>> {
    let ip = ip.map(|Extension(ClientIp(ip))| ip);
    let user = conduit.login(body.user, ip).await?;
    Ok(Json(UserEnvelope { user }))
}

/// The current user, with the token they presented.
#[utoipa::path(operation_id = "getCurrentUser", get, path = "/user", tag = "users",
               responses((status = 200, description = "The user, with a token", body = UserEnvelope)),
               security(("bearer" = [])))]
pub async fn current(
    Extension(conduit): Extension<Conduit>,
    user: AuthUser,
) -> flagstone::Result<Json<UserEnvelope>> {
    let user = conduit.current(user.id(), user.token().to_owned()).await?;
    Ok(Json(UserEnvelope { user }))
}

/// Changes the current user's email, username, password, bio or image.
#[utoipa::path(operation_id = "updateCurrentUser", put, path = "/user", tag = "users", request_body = Settings,
               responses((status = 200, description = "The user, with a token", body = UserEnvelope)),
               security(("bearer" = [])))]
pub async fn update(
    Extension(conduit): Extension<Conduit>,
    user: AuthUser,
    Valid(Json(body)): Valid<Json<Settings>>,
) -> flagstone::Result<Json<UserEnvelope>> {
    let user = conduit
        .update_user(user.id(), body.user, user.token().to_owned())
        .await?;
    Ok(Json(UserEnvelope { user }))
}
